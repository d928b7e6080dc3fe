"""Steps the scenarios share: a registered charge point, a charging EVSE, status history."""

from __future__ import annotations

import pykka

from conftest import wait_idle, wait_until
from messages.csms import HeartbeatDue


def statuses(csms, connector):
    return [r.payload["status"] for r in csms.received
            if r.action == "StatusNotification" and r.payload["connectorId"] == connector]


def wait_status(csms, connector, status, timeout=5.0):
    wait_until(lambda: statuses(csms, connector)[-1:] == [status], timeout,
               f"connector {connector} {status} (saw {statuses(csms, connector)})")


def start_charging(csms, sim, evse=1, tag="TAG1"):
    """Plug in and swipe, and wait until the CSMS has the transaction and the EVSE charges."""
    sim.plug_in(evse)
    sim.swipe(evse, tag)
    csms.wait_for("StartTransaction", lambda p: p["connectorId"] == evse)
    wait_status(csms, evse, "Charging")


def booted(csms, clock, app, evses=1):
    clock.wait_for_timer(lambda m: isinstance(m, HeartbeatDue))
    wait_until(lambda: csms.count("StatusNotification") >= evses + 1)
    wait_idle(app)


class Recorder(pykka.ThreadingActor):
    """Keeps every message it is told (events it subscribed to, answers sent to it)."""

    def __init__(self, seen: list[object]) -> None:
        super().__init__()
        self.seen = seen

    def on_receive(self, message: object) -> None:
        self.seen.append(message)


def record(app, name, *event_types):
    """Start a Recorder under ``name``, subscribed to ``event_types``; its list of messages."""
    seen: list[object] = []
    app.directory.register(name, Recorder.start(seen))
    for event_type in event_types:
        app.directory.subscribe(event_type, name)
    return seen


def of_type(seen, kind):
    return [m for m in list(seen) if isinstance(m, kind)]
