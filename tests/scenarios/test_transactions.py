"""The Core transaction life cycle, driven through the simulator like a person at the charger
(OCTT TC_003, TC_004, TC_005, TC_010-012, TC_026-028, TC_070, TC_071 in spirit)."""

from __future__ import annotations

import pytest

from conftest import CP_ID, run_for, wait_idle, wait_until
from scenarios.steps import booted, start_charging, statuses, wait_status
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(60)

METERING = {"Core": {"MeterValueSampleInterval": 60,
                     "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import,Current.Import",
                     "StopTxnSampledData": "Energy.Active.Import.Register"}}


@pytest.fixture
def charger(csms, clock, make_charge_point):
    """A one-EVSE charge point, registered, with sampled meter values every 60 s."""
    app = make_charge_point(csms.url, keys=METERING)
    booted(csms, clock, app)
    return app, SimController(app.directory)


def test_local_session_plug_first(csms, clock, charger):
    app, sim = charger
    sim.plug_in(1)
    wait_status(csms, 1, "Preparing")
    sim.swipe(1, "TAG1")
    assert csms.wait_for("Authorize").payload == {"idTag": "TAG1"}
    start = csms.wait_for("StartTransaction").payload
    assert (start["connectorId"], start["idTag"], start["meterStart"]) == (1, "TAG1", 0)
    wait_status(csms, 1, "Charging")
    wait_idle(app)
    run_for(clock, app, 180)  # three samples, a minute apart, energy rising
    assert csms.count("MeterValues") == 3
    samples = [r.payload for r in csms.received if r.action == "MeterValues"]
    assert all(s["transactionId"] == 1 for s in samples)
    energy = [float(next(v["value"] for v in s["meterValue"][0]["sampledValue"]
                         if v["measurand"] == "Energy.Active.Import.Register")) for s in samples]
    assert energy == sorted(energy) and energy[0] > 0
    assert {v["measurand"] for v in samples[0]["meterValue"][0]["sampledValue"]} == {
        "Energy.Active.Import.Register", "Power.Active.Import", "Current.Import"}
    sim.swipe(1, "TAG1")
    stop = csms.wait_for("StopTransaction").payload
    assert (stop["transactionId"], stop["reason"], stop["idTag"]) == (1, "Local", "TAG1")
    assert stop["meterStop"] >= energy[-1]
    assert len(stop["transactionData"]) == 3
    assert all(v["measurand"] == "Energy.Active.Import.Register"
               for mv in stop["transactionData"] for v in mv["sampledValue"])
    wait_status(csms, 1, "Finishing")
    sim.plug_out(1)
    wait_status(csms, 1, "Available")
    assert statuses(csms, 1) == ["Available", "Preparing", "Charging", "Finishing", "Available"]
    assert not csms.failures


def test_identification_first_then_plug(csms, charger):
    _app, sim = charger
    sim.swipe(1, "TAG1")
    csms.wait_for("Authorize")
    wait_status(csms, 1, "Preparing")
    sim.plug_in(1)
    csms.wait_for("StartTransaction")
    wait_status(csms, 1, "Charging")


def test_remote_session_cable_first(csms, charger):
    app, sim = charger
    sim.plug_in(1)
    wait_status(csms, 1, "Preparing")
    wait_idle(app)
    assert csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "REMOTE1", "connectorId": 1}) == {"status": "Accepted"}
    start = csms.wait_for("StartTransaction").payload
    assert start["idTag"] == "REMOTE1"
    assert csms.count("Authorize") == 0  # AuthorizeRemoteTxRequests is false: the token is prevalidated
    wait_status(csms, 1, "Charging")
    wait_idle(app)
    assert csms.call(CP_ID, "RemoteStopTransaction", {"transactionId": 1}) == {"status": "Accepted"}
    stop = csms.wait_for("StopTransaction").payload
    assert (stop["transactionId"], stop["reason"]) == (1, "Remote")
    wait_status(csms, 1, "Finishing")
    sim.plug_out(1)
    wait_status(csms, 1, "Available")


def test_remote_start_first_with_authorization_and_no_connector(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=2, keys={"Core": {"AuthorizeRemoteTxRequests": True}})
    booted(csms, clock, app, evses=2)
    sim = SimController(app.directory)
    assert csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "REMOTE1"}) == {"status": "Accepted"}
    csms.wait_for("Authorize")
    wait_status(csms, 1, "Preparing")  # the first free connector
    sim.plug_in(1)
    assert csms.wait_for("StartTransaction").payload["connectorId"] == 1


def test_remote_start_times_out_without_a_cable(csms, clock, charger):
    app, _sim = charger
    csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "REMOTE1", "connectorId": 1})
    wait_status(csms, 1, "Preparing")
    wait_idle(app)
    clock.advance(30)  # ConnectionTimeOut of the embedded config
    wait_status(csms, 1, "Available")
    assert csms.count("StartTransaction") == 0


def test_remote_start_and_stop_rejections(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=3)
    booted(csms, clock, app, evses=3)
    sim = SimController(app.directory)
    call = lambda action, payload: csms.call(CP_ID, action, payload)["status"]  # noqa: E731
    assert call("RemoteStartTransaction", {"idTag": "T", "connectorId": 0}) == "Rejected"
    assert call("RemoteStartTransaction", {"idTag": "T", "connectorId": 9}) == "Rejected"
    start_charging(csms, sim)
    assert call("RemoteStartTransaction", {"idTag": "T", "connectorId": 1}) == "Rejected"  # busy
    assert call("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}) == "Accepted"
    wait_status(csms, 2, "Unavailable")
    assert call("RemoteStartTransaction", {"idTag": "T", "connectorId": 2}) == "Rejected"  # unavailable
    sim.raise_error(3)
    wait_status(csms, 3, "Faulted")
    assert call("RemoteStartTransaction", {"idTag": "T", "connectorId": 3}) == "Rejected"  # faulted
    assert call("RemoteStartTransaction", {"idTag": "T"}) == "Rejected"  # no free connector left
    assert call("RemoteStopTransaction", {"transactionId": 3}) == "Rejected"  # unknown transaction
    profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Relative", "chargingSchedule": {
                   "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}]}}
    assert call("RemoteStartTransaction", {"idTag": "T", "connectorId": 1, "chargingProfile": profile}) == "Rejected"


def test_ev_side_disconnect_stops_the_transaction(csms, charger):
    _app, sim = charger
    start_charging(csms, sim)
    sim.plug_out(1)
    assert csms.wait_for("StopTransaction").payload["reason"] == "EVDisconnected"
    wait_status(csms, 1, "Available")
    assert "Finishing" not in statuses(csms, 1)


def test_ev_side_disconnect_without_stop_keeps_the_transaction(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys={"Core": {"StopTransactionOnEVSideDisconnect": False}})
    booted(csms, clock, app)
    sim = SimController(app.directory)
    start_charging(csms, sim)
    sim.plug_out(1)
    wait_status(csms, 1, "SuspendedEV")
    wait_idle(app)
    assert csms.count("StopTransaction") == 0
    csms.call(CP_ID, "RemoteStopTransaction", {"transactionId": 1})
    assert csms.wait_for("StopTransaction").payload["reason"] == "Remote"
    wait_status(csms, 1, "Available")


def test_start_not_accepted_suspends_and_deauthorizes(csms, charger):
    _app, sim = charger
    csms.set_reply("StartTransaction", {"transactionId": 7, "idTagInfo": {"status": "Blocked"}})
    sim.plug_in(1)
    sim.swipe(1, "TAG1")
    stop = csms.wait_for("StopTransaction").payload
    assert (stop["transactionId"], stop["reason"]) == (7, "DeAuthorized")
    assert "SuspendedEVSE" in statuses(csms, 1) or "Finishing" in statuses(csms, 1)
    wait_status(csms, 1, "Finishing")


def test_invalid_token_starts_nothing(csms, charger):
    app, sim = charger
    csms.set_reply("Authorize", {"idTagInfo": {"status": "Invalid"}})
    sim.plug_in(1)
    sim.swipe(1, "BAD")
    csms.wait_for("Authorize")
    wait_idle(app)
    assert csms.count("StartTransaction") == 0
    assert statuses(csms, 1)[-1] == "Preparing"


def test_unlock_connector_during_a_transaction_stops_it(csms, charger):
    app, sim = charger
    start_charging(csms, sim)
    wait_idle(app)
    assert csms.call(CP_ID, "UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    assert csms.wait_for("StopTransaction").payload["reason"] == "UnlockCommand"
    assert csms.call(CP_ID, "UnlockConnector", {"connectorId": 2}) == {"status": "NotSupported"}


def test_clock_aligned_meter_values_fall_on_the_quarter_hour(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys={"Core": {"ClockAlignedDataInterval": 900}})
    booted(csms, clock, app)
    sim = SimController(app.directory)
    sim.plug_in(1)
    sim.swipe(1, "TAG1")
    csms.wait_for("StartTransaction")
    wait_idle(app)
    for n in range(1, 3):
        clock.advance(900)
        wait_until(lambda n=n: csms.count("MeterValues") == n)
        wait_idle(app)
    aligned = [r.payload["meterValue"][0] for r in csms.received if r.action == "MeterValues"]
    assert [mv["timestamp"][11:] for mv in aligned] == ["00:15:00Z", "00:30:00Z"]
    assert {v["context"] for mv in aligned for v in mv["sampledValue"]} == {"Sample.Clock"}
