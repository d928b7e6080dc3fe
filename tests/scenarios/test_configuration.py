"""GetConfiguration / ChangeConfiguration (OCTT TC_019, TC_021, TC_040_1/2, TC_042_1, TC_070,
TC_073): statuses, the user config on disk, and changes that take effect at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import CP_ID, settle, wait_idle, wait_until
from messages.configuration import GetConfigurationKeys, SetConfigurationKey
from messages.csms import GetLinkStats, HeartbeatDue
from scenarios.steps import booted, start_charging
from supervisor.local_csms import CsmsCallError
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(120)


def change(csms, key, value):
    return csms.call(CP_ID, "ChangeConfiguration", {"key": key, "value": value})["status"]


def get(csms, *keys):
    return csms.call(CP_ID, "GetConfiguration", {"key": list(keys)} if keys else {})


def value_of(csms, key):
    return {k["key"]: k.get("value") for k in get(csms, key)["configurationKey"]}.get(key)


def user_config(app):
    return json.loads(app.ctx.config.user_config_path.read_text())


def test_get_all_keys_hides_the_authorization_key(csms, clock, make_charge_point):
    """TC_019: more than 20 keys; AuthorizationKey listed without its value."""
    app = make_charge_point(csms.url, keys={"Security": {"AuthorizationKey": "0123456789abcdef"}})
    booted(csms, clock, app)
    keys = {k["key"]: k for k in get(csms)["configurationKey"]}
    assert len(keys) > 20
    assert "value" not in keys["AuthorizationKey"]
    assert keys["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True, "value": "1"}
    assert "0123456789abcdef" not in json.dumps(get(csms))
    assert keys["SupportedFeatureProfiles"]["value"].split(",")[0] == "Core"


def test_change_is_written_and_reported(csms, clock, make_charge_point):
    """TC_021: MeterValueSampleInterval=15 → Accepted, then reported as 15, and on disk."""
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    assert change(csms, "MeterValueSampleInterval", "15") == "Accepted"
    assert value_of(csms, "MeterValueSampleInterval") == "15"
    assert user_config(app)["Core"]["MeterValueSampleInterval"] == 15
    assert change(csms, "metervaluesampleinterval", "16") == "Accepted"  # keys are case-insensitive
    assert value_of(csms, "MeterValueSampleInterval") == "16"


def test_refusals_change_nothing(csms, clock, make_charge_point):
    """TC_040_1 / TC_040_2 / read-only / unsupported profile (TC_042_1)."""
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    before = user_config(app)
    assert change(csms, "NoSuchKey", "1") == "NotSupported"
    assert change(csms, "MeterValueSampleInterval", "-1") == "Rejected"
    assert change(csms, "NumberOfConnectors", "3") == "Rejected"
    assert change(csms, "MeterValuesSampledData", "Energy.Active.Import.Register,Bogus") == "Rejected"
    assert change(csms, "LocalAuthListEnabled", "true") == "NotSupported"
    assert user_config(app) == before
    assert value_of(csms, "MeterValueSampleInterval") == "0"


def test_get_configuration_max_keys(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys={"Core": {"GetConfigurationMaxKeys": 2}})
    booted(csms, clock, app)
    assert len(get(csms, "HeartbeatInterval", "NoSuchKey")["configurationKey"]) == 1
    with pytest.raises(CsmsCallError) as refused:
        get(csms, "HeartbeatInterval", "MeterValueSampleInterval", "ResetRetries")
    assert refused.value.code == "OccurenceConstraintViolation"


def test_heartbeat_interval_applies_at_once(csms, clock, make_charge_point):
    """TC_001: ChangeConfiguration HeartbeatInterval → the next Heartbeat within that interval."""
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    assert change(csms, "HeartbeatInterval", "20") == "Accepted"
    clock.wait_for_timer(lambda m: isinstance(m, HeartbeatDue) and True)
    wait_idle(app)
    clock.advance(20)
    wait_until(lambda: csms.count("Heartbeat") == 1)
    wait_idle(app)
    clock.advance(20)
    wait_until(lambda: csms.count("Heartbeat") == 2)


def test_meter_sample_interval_applies_to_a_running_transaction(csms, clock, make_charge_point):
    """TC_070: sampled measurands and interval changed during a transaction."""
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    start_charging(csms, SimController(app.directory))
    settle(app)
    assert change(csms, "MeterValuesSampledData", "Energy.Active.Import.Register,Current.Offered,SoC") == "Accepted"
    assert change(csms, "MeterValueSampleInterval", "10") == "Accepted"
    settle(app)
    for n in range(1, 5):
        clock.advance(10)
        wait_until(lambda n=n: csms.count("MeterValues") == n)
        settle(app)
    sampled = [r.payload["meterValue"][0]["sampledValue"] for r in csms.received if r.action == "MeterValues"]
    assert all(v[0]["context"] == "Sample.Periodic" for v in sampled)
    assert {s.get("measurand", "Energy.Active.Import.Register") for s in sampled[-1]} >= {
        "Energy.Active.Import.Register", "Current.Offered"}


def test_authorization_key_change_reconnects_with_the_new_password(csms, clock, make_charge_point):
    """TC_073: the answer first, then a new connection with the new Basic-auth password."""
    app = make_charge_point(csms.url, keys={"Security": {"SecurityProfile": 1,
                                                        "AuthorizationKey": "0123456789abcdef"}})
    booted(csms, clock, app)
    assert len(csms.connections) == 1
    assert change(csms, "AuthorizationKey", "fedcba9876543210") == "Accepted"
    wait_until(lambda: len(csms.connections) == 2, what="a reconnect")
    assert csms.connections[-1].password == "fedcba9876543210"
    assert get(csms, "HeartbeatInterval")["configurationKey"]
    settle(app)
    logged = "".join(p.read_text() for p in Path(str(app.options["MessageLogPath"])).rglob("*") if p.is_file())
    assert "ChangeConfiguration" in logged and "fedcba9876543210" not in logged


def test_charger_side_get_and_set_configuration_key(csms, clock, make_charge_point):
    """The main interface's get/set_configuration_key go through the same rules and file."""
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    answer = app.directory.ask("configuration", SetConfigurationKey(key="HeartbeatInterval", value="42"))
    assert answer.status == "Accepted"
    keys = app.directory.ask("configuration", GetConfigurationKeys(keys=("HeartbeatInterval", "Nope")))
    assert [(k.key, k.value) for k in keys.known] == [("HeartbeatInterval", "42")] and keys.unknown == ("Nope",)
    assert value_of(csms, "HeartbeatInterval") == "42"


KEYS = ["HeartbeatInterval", "MeterValueSampleInterval", "MeterValuesSampledData", "NumberOfConnectors",
        "AuthorizationKey", "LocalAuthorizeOffline", "WebSocketPingInterval", "ConnectorPhaseRotation",
        "SupportedFeatureProfiles", "NoSuchKey", "ClockAlignedDataInterval", "StopTxnSampledData"]


def test_change_configuration_fuzz(csms, clock, make_charge_point):
    """For any key and any string: one of the four statuses, the charge point keeps serving, and
    a refused value leaves the user config file byte for byte as it was."""
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    path = app.ctx.config.user_config_path

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(key=st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=50)),
           value=st.text(max_size=500))
    def one_change(key, value):
        # A key that reconnects the link (AuthorizationKey, WebSocketPingInterval, ...) may have
        # been accepted just before: wait until the charge point is back.
        wait_until(lambda: app.directory.ask("csms", GetLinkStats()).connected and csms.connected(CP_ID),
                   what="the charge point connected")
        before = path.read_bytes()
        try:
            status = change(csms, key, value)
        except (ConnectionError, TimeoutError):  # the link was just then reconnecting for the last change
            assume(False)
        except CsmsCallError as err:  # e.g. a key the schema itself refuses; never a crash
            assert err.code in ("FormationViolation", "PropertyConstraintViolation",
                                      "TypeConstraintViolation", "OccurenceConstraintViolation")
            return
        assert status in ("Accepted", "Rejected", "RebootRequired", "NotSupported")
        if status in ("Rejected", "NotSupported"):
            assert path.read_bytes() == before

    one_change()
    settle(app)
    assert get(csms, "HeartbeatInterval")["configurationKey"]
    assert not app.gave_up.is_set()
