"""ChangeAvailability (now, scheduled, station-wide, over a restart) and charger errors."""

from __future__ import annotations

import pytest

from conftest import CP_ID, settle, wait_idle, wait_until
from scenarios.steps import booted, start_charging, statuses, wait_status
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(60)


def change(csms, connector, kind):
    return csms.call(CP_ID, "ChangeAvailability", {"connectorId": connector, "type": kind})["status"]


def test_availability_scheduled_during_a_transaction_and_kept_over_a_restart(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=2)
    booted(csms, clock, app, evses=2)
    sim = SimController(app.directory)
    start_charging(csms, sim)
    wait_idle(app)
    assert change(csms, 1, "Inoperative") == "Scheduled"
    assert change(csms, 1, "Inoperative") == "Scheduled"  # asked twice: still one pending change
    assert statuses(csms, 1)[-1] == "Charging"
    sim.swipe(1, "TAG1")
    csms.wait_for("StopTransaction")
    sim.plug_out(1)
    wait_status(csms, 1, "Unavailable")
    assert statuses(csms, 1) == ["Available", "Preparing", "Charging", "Finishing", "Unavailable"]  # no Available in between
    wait_idle(app)
    app.stop()

    reborn = make_charge_point(csms.url, evses=2)
    csms.wait_for("BootNotification", after=len(csms.received))
    wait_until(lambda: statuses(csms, 1)[-1:] == ["Unavailable"] and len(statuses(csms, 1)) == 6)
    wait_idle(reborn)
    assert change(csms, 1, "Operative") == "Accepted"
    wait_status(csms, 1, "Available")


def test_station_wide_availability(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=2)
    booted(csms, clock, app, evses=2)
    sim = SimController(app.directory)
    sim.plug_in(2)
    wait_status(csms, 2, "Preparing")
    wait_idle(app)
    assert change(csms, 0, "Inoperative") == "Scheduled"  # connector 2 has a session
    wait_status(csms, 0, "Unavailable")
    wait_status(csms, 1, "Unavailable")
    sim.plug_out(2)
    wait_status(csms, 2, "Unavailable")
    wait_idle(app)
    assert change(csms, 0, "Operative") == "Accepted"
    for connector in range(3):
        wait_status(csms, connector, "Available")
    assert change(csms, 3, "Inoperative") == "Rejected"


def test_inoperative_error_faults_the_evse_and_clearing_restores_it(csms, clock, make_charge_point):
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    sim = SimController(app.directory)
    start_charging(csms, sim)
    sim.raise_error(1, "evse_manager/Inoperative", message="relay welded", description="E42", vendor_id="PyCP")
    fault = csms.wait_for("StatusNotification", lambda p: p["status"] == "Faulted").payload
    assert (fault["errorCode"], fault["info"], fault["vendorId"], fault["vendorErrorCode"]) == (
        "OtherError", "caused_by:relay welded", "PyCP", "E42")
    sim.clear_error(1)
    wait_status(csms, 1, "Charging")
    last = [r.payload for r in csms.received if r.action == "StatusNotification"][-1]
    assert last["errorCode"] == "NoError"


def test_informational_error_keeps_the_status(csms, clock, make_charge_point):
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    sim = SimController(app.directory)
    sim.raise_error(1, "evse_board_support/MREC6UnderVoltage")
    report = csms.wait_for("StatusNotification", lambda p: p["errorCode"] != "NoError").payload
    assert (report["status"], report["errorCode"], report["vendorErrorCode"]) == ("Available", "UnderVoltage", "CX006")
    sim.clear_error(1)
    csms.wait_for("StatusNotification", lambda p: p["errorCode"] == "NoError", after=len(csms.received) - 1)


def test_minimum_status_duration_swallows_short_lived_states(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys={"Core": {"MinimumStatusDuration": 5}})
    booted(csms, clock, app)
    sim = SimController(app.directory)
    sim.plug_in(1)
    sim.plug_out(1)  # Preparing for no time at all
    sim.plug_in(1)
    settle(app)
    clock.advance(5)
    wait_status(csms, 1, "Preparing")
    assert statuses(csms, 1) == ["Available", "Preparing"]
