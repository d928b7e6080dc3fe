"""Smart charging end to end (issue 8; OCTT TC_056 .. TC_066): profiles installed, cleared and
persisted, the composite schedule over the wire, and the simulator charging at its limit."""

from __future__ import annotations

import pytest

from conftest import CP_ID, run_for, settle, wait_until
from messages.smart_charging import ChargingSchedules, GetChargingSchedules
from messages.station import GetEvseState
from scenarios.steps import booted, of_type, record, start_charging
from supervisor.local_csms import CsmsCallError
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(60)

SMART = {"Core": {"SupportedFeatureProfiles": "Core,SmartCharging",
                  "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import",
                  "MeterValueSampleInterval": 60},
         "SmartCharging": {"ChargeProfileMaxStackLevel": 10, "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
                           "ChargingScheduleMaxPeriods": 24, "MaxChargingProfilesInstalled": 4}}


def profile(profile_id, purpose, limit, *, stack=0, kind="Relative", unit="A", transaction_id=None, periods=None,
            start="2020-01-01T00:00:00Z"):
    schedule = {"chargingRateUnit": unit,
                "chargingSchedulePeriod": periods or [{"startPeriod": 0, "limit": limit}]}
    if kind == "Absolute":
        schedule["startSchedule"] = start
    body = {"chargingProfileId": profile_id, "stackLevel": stack, "chargingProfilePurpose": purpose,
            "chargingProfileKind": kind, "chargingSchedule": schedule}
    if transaction_id is not None:
        body["transactionId"] = transaction_id
    return body


def set_profile(csms, connector, body):
    return csms.call(CP_ID, "SetChargingProfile", {"connectorId": connector, "csChargingProfiles": body})["status"]


def composite(csms, connector, duration=3600, unit=None):
    payload = {"connectorId": connector, "duration": duration}
    if unit:
        payload["chargingRateUnit"] = unit
    return csms.call(CP_ID, "GetCompositeSchedule", payload)


def first_limit(answer):
    return answer["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]


@pytest.fixture
def smart(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=2, keys=SMART)
    booted(csms, clock, app, evses=2)
    return app


def test_not_supported_without_the_feature_profile(csms, clock, make_charge_point):
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    with pytest.raises(CsmsCallError) as refused:
        set_profile(csms, 0, profile(1, "TxDefaultProfile", 16))
    assert refused.value.code == "NotSupported"


def test_default_profile_and_station_maximum_in_the_composite(csms, smart):
    assert set_profile(csms, 0, profile(1, "TxDefaultProfile", 20, kind="Absolute")) == "Accepted"
    assert set_profile(csms, 0, profile(2, "ChargePointMaxProfile", 30, kind="Absolute")) == "Accepted"
    one = composite(csms, 1, unit="A")
    assert one["status"] == "Accepted" and first_limit(one) == 20
    station = composite(csms, 0, unit="A")
    assert first_limit(station) == 30  # two connectors of 20 A, capped by the station's 30 A
    watts = composite(csms, 1, unit="W")
    assert first_limit(watts) == pytest.approx(20 * 230 * 3)
    assert composite(csms, 3)["status"] == "Rejected"


def test_rules_of_set_and_clear(csms, smart):
    """TC_058_1: a TxProfile without a transaction; ChargePointMax on a connector; Relative max."""
    assert set_profile(csms, 1, profile(3, "TxProfile", 10)) == "Rejected"
    assert set_profile(csms, 1, profile(4, "ChargePointMaxProfile", 10, kind="Absolute")) == "Rejected"
    assert set_profile(csms, 0, profile(5, "ChargePointMaxProfile", 10)) == "Rejected"  # Relative
    assert set_profile(csms, 0, profile(6, "TxDefaultProfile", 10, stack=11)) == "Rejected"  # over the max stack
    assert set_profile(csms, 0, profile(7, "TxDefaultProfile", 10)) == "Accepted"
    assert set_profile(csms, 0, profile(7, "TxDefaultProfile", 12)) == "Accepted"  # same id: replaced
    assert first_limit(composite(csms, 1, unit="A")) == 12
    assert csms.call(CP_ID, "ClearChargingProfile", {"id": 99})["status"] == "Unknown"
    assert csms.call(CP_ID, "ClearChargingProfile", {"id": 7})["status"] == "Accepted"
    assert csms.call(CP_ID, "ClearChargingProfile", {})["status"] == "Unknown"


def test_a_full_table_still_accepts_a_replacement(csms, smart):
    for n in range(1, 5):
        assert set_profile(csms, 0, profile(n, "TxDefaultProfile", 10 + n, stack=n)) == "Accepted"
    assert set_profile(csms, 0, profile(5, "TxDefaultProfile", 9, stack=5)) == "Rejected"  # MaxChargingProfilesInstalled
    assert set_profile(csms, 0, profile(4, "TxDefaultProfile", 8, stack=4)) == "Accepted"


def test_tx_profile_during_a_transaction_limits_the_charger_and_ends_with_it(csms, clock, smart):
    """TC_056-ish: the CSMS limits a running transaction; the simulated EV charges at that
    limit; the TxProfile goes when the transaction ends (TC_058_2: a wrong transaction id)."""
    seen = record(smart, "test/schedules", ChargingSchedules)
    sim = SimController(smart.directory)
    start_charging(csms, sim, 1)
    settle(smart)
    real_id = smart.directory.ask("evse/1", GetEvseState()).transaction_id
    assert set_profile(csms, 1, profile(10, "TxProfile", 8, transaction_id=real_id + 1)) == "Rejected"
    assert set_profile(csms, 1, profile(10, "TxProfile", 8, transaction_id=real_id)) == "Accepted"
    settle(smart)
    assert first_limit(composite(csms, 1, unit="A")) == 8
    run_for(clock, smart, 60, step=5)  # the meters tick on while the minute passes
    meter = csms.wait_for("MeterValues", lambda p: any(s.get("measurand") == "Power.Active.Import"
                                                       for s in p["meterValue"][0]["sampledValue"]))
    power = [float(s["value"]) for s in meter.payload["meterValue"][0]["sampledValue"]
             if s.get("measurand") == "Power.Active.Import"][0]
    assert power == pytest.approx(8 * 230 * 3, rel=0.01)
    assert of_type(seen, ChargingSchedules)
    sim.swipe(1, "TAG1")
    csms.wait_for("StopTransaction")
    settle(smart)
    assert first_limit(composite(csms, 1, unit="A")) != 8  # the TxProfile went with its transaction
    assert csms.call(CP_ID, "ClearChargingProfile", {"id": 10})["status"] == "Unknown"


def test_remote_start_with_a_tx_profile(csms, smart):
    """TC_059 / TC_060."""
    body = profile(20, "TxProfile", 6)
    assert csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "TAG1", "connectorId": 2,
                                                       "chargingProfile": body})["status"] == "Accepted"
    SimController(smart.directory).plug_in(2)
    csms.wait_for("StartTransaction")
    settle(smart)
    assert first_limit(composite(csms, 2, unit="A")) == 6
    wrong = profile(21, "TxDefaultProfile", 6)
    assert csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "TAG1", "connectorId": 1,
                                                       "chargingProfile": wrong})["status"] == "Rejected"


def test_profiles_survive_a_restart(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys=SMART)
    booted(csms, clock, app)
    assert set_profile(csms, 0, profile(1, "TxDefaultProfile", 11, kind="Absolute")) == "Accepted"
    settle(app)
    app.stop()
    again = make_charge_point(csms.url, keys=SMART)
    wait_until(lambda: csms.count("BootNotification") == 2)
    settle(again)
    assert first_limit(composite(csms, 1, unit="A")) == 11
    schedules = again.directory.ask("schedule_publisher", GetChargingSchedules())
    assert [s.connector_id for s in schedules.schedules] == [0, 1]


def test_composite_schedule_over_the_strict_csms(strict_csms, clock, make_charge_point):
    app = make_charge_point(strict_csms.url, keys=SMART)
    strict_csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1)
    settle(app)
    assert strict_csms.call(CP_ID, "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": profile(
        1, "TxDefaultProfile", 16, kind="Absolute", start="2026-01-01T00:00:00Z",  # the manual clock's start
        periods=[{"startPeriod": 0, "limit": 16}, {"startPeriod": 600, "limit": 10}])}) == {
        "status": "Accepted"}
    answer = strict_csms.call(CP_ID, "GetCompositeSchedule", {"connectorId": 1, "duration": 1200,
                                                              "chargingRateUnit": "A"})
    assert answer["status"] == "Accepted"
    periods = answer["chargingSchedule"]["chargingSchedulePeriod"]
    assert [(p["startPeriod"], p["limit"]) for p in periods] == [(0, 16), (600, 10)]
    assert strict_csms.call(CP_ID, "ClearChargingProfile", {"id": 1}) == {"status": "Accepted"}


@pytest.mark.parametrize("interval", [0, 30])
def test_publication_on_change_and_every_interval(interval, csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=2, keys=SMART, start=False,
                            options={"PublishChargingScheduleIntervalS": interval,
                                     "PublishChargingScheduleDurationS": 900, "RequestCompositeScheduleUnit": "W"})
    seen = record(app, "test/schedules", ChargingSchedules)
    app.start()
    booted(csms, clock, app, evses=2)
    wait_until(lambda: of_type(seen, ChargingSchedules), what="the publication at start")
    first = of_type(seen, ChargingSchedules)[0].schedules
    assert [(s.connector_id, s.duration, s.unit) for s in first] == [(0, 900, "W"), (1, 900, "W"), (2, 900, "W")]
    assert set_profile(csms, 2, profile(1, "TxDefaultProfile", 4000, unit="W")) == "Accepted"
    wait_until(lambda: len(of_type(seen, ChargingSchedules)) == 2, what="a publication on change")
    assert of_type(seen, ChargingSchedules)[-1].schedules[2].periods[0].limit == 4000
    run_for(clock, app, 90, step=10)
    assert len(of_type(seen, ChargingSchedules)) == 2 + (90 // interval if interval else 0)
