"""The same life cycle, checked by code nobody here wrote: ocpp-rpc in strict mode.

The ``strict_csms`` fixture fails the test on any strict validation failure, in either
direction, so every frame the charge point sends and every answer it gives is checked.
"""

from __future__ import annotations

import pytest

from conftest import CP_ID, wait_idle, wait_until
from messages.csms import ConnectDue, GetLinkStats, HeartbeatDue

pytestmark = pytest.mark.timeout(60)


def test_boot_status_heartbeat_and_configuration_pass_strict_validation(strict_csms, clock, make_charge_point):
    app = make_charge_point(strict_csms.url, evses=3, keys={"Core": {"HeartbeatInterval": 30}})
    strict_csms.wait_for("BootNotification", cp=CP_ID)
    for connector in range(4):
        strict_csms.wait_for("StatusNotification", lambda p, c=connector: p["connectorId"] == c)
    clock.wait_for_timer(lambda m: isinstance(m, HeartbeatDue))
    wait_idle(app)
    for n in range(3):
        clock.advance(300)  # the strict CSMS answers Boot with interval 300
        strict_csms.wait_for("Heartbeat", after=0 if n == 0 else len(strict_csms.events) - 1)
        wait_idle(app)
    configuration = strict_csms.call(CP_ID, "GetConfiguration", {})
    assert len(configuration["configurationKey"]) > 20
    assert all("value" not in k for k in configuration["configurationKey"] if k["key"] == "AuthorizationKey")


def test_unsupported_call_is_answered_with_a_callerror_the_strict_csms_accepts(strict_csms, make_charge_point):
    from peers.strict import CsmsCallError
    app = make_charge_point(strict_csms.url)
    strict_csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1)
    wait_idle(app)
    with pytest.raises(CsmsCallError) as refused:
        strict_csms.call(CP_ID, "GetDiagnostics", {"location": "ftp://127.0.0.1/diagnostics/"})  # issue 10
    assert refused.value.code == "NotSupported"


def test_reconnects_to_the_strict_csms_after_a_drop(strict_csms, clock, make_charge_point):
    app = make_charge_point(strict_csms.url, keys={"Internal": {"RetryBackoffRandomRange": 0}})
    strict_csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1)
    wait_idle(app)
    strict_csms.drop(CP_ID)
    timer = clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
    clock.advance(timer.due - clock.monotonic())
    strict_csms.wait_event("connected", after=1)
    assert len(strict_csms.calls_in("BootNotification")) == 1
    wait_until(lambda: app.directory.ask("csms", GetLinkStats()).connects == 2)


def test_station_management_passes_strict_validation(strict_csms, clock, make_charge_point):
    """Issue 7 over the strict CSMS: configuration, triggers, and a soft reset during a
    transaction whose StopTransaction (reason SoftReset) is answered before the restart."""
    from supervisor.sim_control import SimController
    app = make_charge_point(strict_csms.url, evses=2)
    strict_csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 2)
    wait_idle(app)
    change = {"key": "MeterValueSampleInterval", "value": "30"}
    assert strict_csms.call(CP_ID, "ChangeConfiguration", change) == {"status": "Accepted"}
    assert strict_csms.call(CP_ID, "ChangeConfiguration", {"key": "Nope", "value": "1"}) == {"status": "NotSupported"}
    got = strict_csms.call(CP_ID, "GetConfiguration", {"key": ["MeterValueSampleInterval", "Nope"]})
    assert got["configurationKey"][0]["value"] == "30" and got["unknownKey"] == ["Nope"]
    for message in ("StatusNotification", "Heartbeat", "BootNotification", "DiagnosticsStatusNotification",
                    "FirmwareStatusNotification"):
        after = len(strict_csms.events)
        assert strict_csms.call(CP_ID, "TriggerMessage", {"requestedMessage": message, "connectorId": 1}
                                if message == "StatusNotification" else {"requestedMessage": message}) == {
            "status": "Accepted"}
        strict_csms.wait_for(message, after=after)
        wait_idle(app)
    sim = SimController(app.directory)
    sim.plug_in(2)
    sim.swipe(2, "TAG2")
    strict_csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 2 and p["status"] == "Charging")
    wait_idle(app)
    after = len(strict_csms.events)
    assert strict_csms.call(CP_ID, "Reset", {"type": "Soft"}) == {"status": "Accepted"}
    assert strict_csms.wait_for("StopTransaction", after=after)["reason"] == "SoftReset"
    wait_until(app.reset_done.is_set, what="the soft reset")
    strict_csms.wait_for("BootNotification", after=after)


def test_pending_boot_passes_strict_validation(strict_csms, clock, make_charge_point):
    """OCTT TC_002 over the strict CSMS: configured and triggered while Pending, remote start
    refused, then Accepted after the interval."""
    from messages.csms import BootDue
    strict_csms.set_reply(CP_ID, "BootNotification", {"status": "Pending", "interval": 10,
                                                      "currentTime": "2026-01-01T00:00:00Z"})
    app = make_charge_point(strict_csms.url)
    strict_csms.wait_for("BootNotification")
    clock.wait_for_timer(lambda m: isinstance(m, BootDue))
    assert len(strict_csms.call(CP_ID, "GetConfiguration", {})["configurationKey"]) > 20
    assert strict_csms.call(CP_ID, "ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "10"}) == {
        "status": "Accepted"}
    assert strict_csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "TAG1"}) == {"status": "Rejected"}
    assert strict_csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}) == {
        "status": "Accepted"}
    strict_csms.wait_for("StatusNotification")
    strict_csms.set_reply(CP_ID, "BootNotification", None)
    after = len(strict_csms.events)
    clock.advance(10)
    strict_csms.wait_for("BootNotification", after=after)
    strict_csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 0, after=after)
    wait_idle(app)
