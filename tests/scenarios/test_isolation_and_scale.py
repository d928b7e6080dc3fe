"""Per-EVSE fault isolation, and 128 EVSEs charging at once (against both CSMS peers)."""

from __future__ import annotations

import pytest

from conftest import CP_ID, run_for, settle, wait_idle, wait_until
from messages.lifecycle import InjectCrash
from scenarios.steps import booted
from supervisor.sim_control import SimController

METERING = {"Core": {"MeterValueSampleInterval": 10, "MeterValuesSampledData": "Energy.Active.Import.Register"}}


def meter_values(csms, connector):
    return [r.payload for r in csms.received if r.action == "MeterValues" and r.payload["connectorId"] == connector]


@pytest.mark.timeout(60)
def test_crash_of_one_evse_during_a_transaction_touches_no_other(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=4, keys=METERING)
    booted(csms, clock, app, evses=4)
    sim = SimController(app.directory)
    for evse in range(1, 5):
        sim.plug_in(evse)
        sim.swipe(evse, f"TAG{evse}")
    wait_until(lambda: csms.count("StartTransaction") == 4)
    settle(app)
    tx_ids = {r.payload["connectorId"]: None for r in csms.received if r.action == "StartTransaction"}
    others = {name: app.ref(name).actor_urn for name in ("evse/1", "evse/3", "evse/4")}
    run_for(clock, app, 30)
    crashed = app.ref("evse/2").actor_urn
    app.ref("evse/2").tell(InjectCrash())
    wait_until(lambda: app.ref("evse/2") is not None and app.ref("evse/2").actor_urn != crashed)
    run_for(clock, app, 30)
    assert {name: app.ref(name).actor_urn for name in others} == others
    for connector in (1, 3, 4):
        assert len(meter_values(csms, connector)) == 6  # every 10 s for a minute: none missed
    assert len(meter_values(csms, 2)) >= 5  # at most the sample due during the crash is lost
    by_connector = {}
    for r in csms.received:
        if r.action == "StartTransaction":
            by_connector[r.payload["connectorId"]] = len(by_connector) + 1
    assert {mv["transactionId"] for mv in meter_values(csms, 2)} == {by_connector[2]}
    for evse in range(1, 5):
        sim.swipe(evse, f"TAG{evse}")
    wait_until(lambda: csms.count("StopTransaction") == 4)
    stops = {r.payload["transactionId"]: r.payload for r in csms.received if r.action == "StopTransaction"}
    assert sorted(stops) == [1, 2, 3, 4]
    assert stops[by_connector[2]]["reason"] == "Local"
    assert stops[by_connector[2]]["meterStop"] > 0
    assert len(tx_ids) == 4


def full_session_on_every_evse(peer_count, wait_for, sim, clock, app, evses):
    for evse in range(1, evses + 1):
        sim.plug_in(evse)
        sim.swipe(evse, f"T{evse}")
    wait_for("StartTransaction", evses)
    settle(app)
    run_for(clock, app, 20, step=5)
    for evse in range(1, evses + 1):
        sim.swipe(evse, f"T{evse}")
    wait_for("StopTransaction", evses)
    for evse in range(1, evses + 1):
        sim.plug_out(evse)
    settle(app)


@pytest.mark.timeout(120)
def test_128_evses_each_run_a_full_session_at_once(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=128, keys=METERING)
    booted(csms, clock, app, evses=128)
    sim = SimController(app.directory)
    wait = lambda action, n: wait_until(lambda: csms.count(action) == n, 30, f"{n} {action}")  # noqa: E731
    full_session_on_every_evse(None, wait, sim, clock, app, 128)
    starts = [r.payload for r in csms.received if r.action == "StartTransaction"]
    stops = [r.payload for r in csms.received if r.action == "StopTransaction"]
    assert sorted(s["connectorId"] for s in starts) == list(range(1, 129))
    assert sorted(s["transactionId"] for s in stops) == list(range(1, 129))
    assert all(s["reason"] == "Local" and s["meterStop"] > 0 for s in stops)
    assert csms.count("MeterValues") == 128 * 2
    wait_until(lambda: sum(1 for r in csms.received[-128:] if r.action == "StatusNotification"
                           and r.payload["status"] == "Available") == 128)
    assert not csms.failures


@pytest.mark.timeout(120)
def test_128_evses_against_the_strict_csms(strict_csms, clock, make_charge_point):
    app = make_charge_point(strict_csms.url, evses=128, keys=METERING)
    wait_until(lambda: len(strict_csms.calls_in("StatusNotification")) == 129, 30, "129 StatusNotifications")
    wait_idle(app)
    sim = SimController(app.directory)
    wait = lambda action, n: wait_until(lambda: len(strict_csms.calls_in(action)) == n, 30, f"{n} {action}")  # noqa: E731
    full_session_on_every_evse(None, wait, sim, clock, app, 128)
    assert len(strict_csms.calls_in("MeterValues")) == 128 * 2


@pytest.mark.timeout(60)
def test_local_and_remote_sessions_pass_strict_validation(strict_csms, clock, make_charge_point):
    app = make_charge_point(strict_csms.url, evses=2, keys={**METERING, "Core": {
        **METERING["Core"], "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import,"
                                                      "Current.Import,Voltage,Frequency,Current.Offered"}})
    wait_until(lambda: len(strict_csms.calls_in("StatusNotification")) == 3)
    wait_idle(app)
    sim = SimController(app.directory)
    sim.plug_in(1)
    sim.swipe(1, "TAG1")
    strict_csms.wait_for("StartTransaction")
    settle(app)
    assert strict_csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "REMOTE", "connectorId": 2})["status"] == "Accepted"
    sim.plug_in(2)
    wait_until(lambda: len(strict_csms.calls_in("StartTransaction")) == 2)
    settle(app)
    run_for(clock, app, 20, step=5)
    sim.swipe(1, "TAG1")
    tx2 = next(e["params"]["transactionId"] for e in strict_csms.calls_in("MeterValues")
               if e["params"]["connectorId"] == 2)
    assert strict_csms.call(CP_ID, "RemoteStopTransaction", {"transactionId": tx2})["status"] == "Accepted"
    wait_until(lambda: len(strict_csms.calls_in("StopTransaction")) == 2)
    sim.raise_error(1, "evse_manager/Inoperative", message="x")
    sim.clear_error(1)
    assert strict_csms.call(CP_ID, "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})["status"] in (
        "Accepted", "Scheduled")
    assert strict_csms.call(CP_ID, "UnlockConnector", {"connectorId": 1})["status"] == "Unlocked"
    settle(app)
