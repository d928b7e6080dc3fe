"""TriggerMessage (OCTT TC_054 / TC_055): the answer first, then the message; per connector."""

from __future__ import annotations

import pytest

from conftest import CP_ID, settle, wait_until
from messages.csms import BootDue
from scenarios.steps import booted, start_charging
from supervisor.local_csms import utc_now
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(60)


def trigger(csms, message, connector=None):
    payload = {"requestedMessage": message}
    if connector is not None:
        payload["connectorId"] = connector
    return csms.call(CP_ID, "TriggerMessage", payload)["status"]


def frames_after(csms, text):
    """The frames after the one containing ``text``: what came once the CSMS had the answer."""
    frames = csms.frames
    index = max(i for i, f in enumerate(frames) if text in f.text)
    return frames[index + 1:]


@pytest.mark.parametrize(("message", "expected"), [
    ("Heartbeat", {}),
    ("BootNotification", {}),
    ("DiagnosticsStatusNotification", {"status": "Idle"}),
    ("FirmwareStatusNotification", {"status": "Idle"}),
])
def test_triggered_station_messages(message, expected, csms, clock, make_charge_point):
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    before = csms.count(message)
    assert trigger(csms, message) == "Accepted"
    wait_until(lambda: csms.count(message) == before + 1, what=f"the triggered {message}")
    last = [r for r in csms.received if r.action == message][-1]
    assert expected.items() <= last.payload.items()
    settle(app)


def test_triggered_status_and_meter_values_per_connector(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=2)
    booted(csms, clock, app, evses=2)
    sim = SimController(app.directory)
    start_charging(csms, sim, 2)
    settle(app)

    before = csms.count("StatusNotification")
    assert trigger(csms, "StatusNotification", 2) == "Accepted"
    wait_until(lambda: csms.count("StatusNotification") == before + 1)
    assert [r.payload for r in csms.received if r.action == "StatusNotification"][-1]["status"] == "Charging"

    before = csms.count("StatusNotification")
    assert trigger(csms, "StatusNotification") == "Accepted"  # no connector: 0, 1 and 2
    wait_until(lambda: csms.count("StatusNotification") == before + 3)
    reported = {r.payload["connectorId"] for r in csms.received[-3:]}
    assert reported == {0, 1, 2}

    assert trigger(csms, "MeterValues", 2) == "Accepted"
    meter = csms.wait_for("MeterValues", lambda p: p["meterValue"][0]["sampledValue"][0].get("context") == "Trigger")
    assert meter.payload["connectorId"] == 2 and "transactionId" in meter.payload
    settle(app)


def test_trigger_rejected_and_not_implemented(csms, clock, make_charge_point):
    """TC_055: a connector that does not exist is Rejected."""
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    assert trigger(csms, "MeterValues", 2) == "Rejected"
    assert trigger(csms, "StatusNotification", 5) == "Rejected"
    assert trigger(csms, "MeterValues", 0) == "Rejected"
    assert trigger(csms, "MeterValues", 1) == "Rejected"  # no meter reading yet: nothing to send
    settle(app)


def test_trigger_while_pending_sends_the_message(csms, clock, make_charge_point):
    csms.queue_reply("BootNotification", {"status": "Pending", "interval": 30, "currentTime": utc_now()})
    app = make_charge_point(csms.url)
    csms.wait_for("BootNotification")
    clock.wait_for_timer(lambda m: isinstance(m, BootDue))
    assert trigger(csms, "StatusNotification", 1) == "Accepted"
    status = csms.wait_for("StatusNotification")
    assert status.payload["connectorId"] == 1
    assert trigger(csms, "BootNotification") == "Accepted"
    wait_until(lambda: csms.count("BootNotification") == 2, what="the triggered BootNotification")
    settle(app)
