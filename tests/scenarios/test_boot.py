"""Registration: BootNotification Accepted / Pending / Rejected, status reports, heartbeat."""

from __future__ import annotations

import pytest

from conftest import CP_ID, wait_idle, wait_until
from messages.csms import BootDue, ConnectDue, GetLinkStats, HeartbeatDue, Registration
from supervisor.local_csms import utc_now

pytestmark = pytest.mark.timeout(60)


def boot_reply(status: str, interval: int) -> dict:
    return {"status": status, "interval": interval, "currentTime": utc_now()}


def test_accepted_boot_reports_every_connector(csms, make_charge_point):
    make_charge_point(csms.url, evses=3)
    boot = csms.wait_for("BootNotification")
    assert boot.payload["chargePointVendor"] and boot.payload["chargePointModel"]
    connectors = {csms.wait_for("StatusNotification", lambda p, c=c: p["connectorId"] == c).payload["status"]
                  for c in range(4)}
    assert connectors == {"Available"}
    assert csms.connections[0].subprotocol == "ocpp1.6"
    assert not csms.failures


def test_heartbeat_follows_the_injected_clock(csms, clock, make_charge_point):
    csms.set_reply("BootNotification", boot_reply("Accepted", 60))
    app = make_charge_point(csms.url)
    clock.wait_for_timer(lambda m: isinstance(m, HeartbeatDue))
    wait_until(lambda: csms.count("StatusNotification") == 2)
    wait_idle(app)
    clock.advance(59)
    assert csms.count("Heartbeat") == 0
    for n in range(1, 61):  # an hour of charger life
        clock.advance(1 if n == 1 else 60)
        wait_until(lambda n=n: csms.count("Heartbeat") == n)
        wait_idle(app)
    assert csms.count("Heartbeat") == 60
    assert app.directory.ask("csms", GetLinkStats()).results_received == 1 + 2 + 60


def test_pending_boot_answers_configuration_refuses_remote_start_then_retries(csms, clock, make_charge_point):
    csms.queue_reply("BootNotification", boot_reply("Pending", 30))
    app = make_charge_point(csms.url)
    csms.wait_for("BootNotification")
    clock.wait_for_timer(lambda m: isinstance(m, BootDue))
    assert app.directory.ask("csms", GetLinkStats()).registration is Registration.PENDING

    keys = csms.call(CP_ID, "GetConfiguration", {"key": ["HeartbeatInterval", "NoSuchKey"]})
    assert [k["key"] for k in keys["configurationKey"]] == ["HeartbeatInterval"]
    assert keys["unknownKey"] == ["NoSuchKey"]
    assert csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "TAG1"}) == {"status": "Rejected"}
    assert csms.count("StatusNotification") == 0

    clock.advance(29)
    assert csms.count("BootNotification") == 1
    clock.advance(1)
    csms.wait_for("BootNotification", after=1)
    csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1)


def test_rejected_boot_sends_nothing_until_the_interval(csms, clock, make_charge_point):
    csms.queue_reply("BootNotification", boot_reply("Rejected", 120))
    make_charge_point(csms.url)
    csms.wait_for("BootNotification")
    clock.wait_for_timer(lambda m: isinstance(m, BootDue))
    frames_before = len(csms.frames)
    csms.send_raw(CP_ID, '[2,"r1","GetConfiguration",{}]')  # not registered: no answer either
    clock.advance(119)
    assert [f for f in csms.frames[frames_before:] if f.direction == "in"] == []
    clock.advance(1)
    csms.wait_for("BootNotification", after=1)
    csms.wait_for("StatusNotification")


def test_boot_answered_by_callerror_is_retried(csms, clock, make_charge_point):
    from supervisor.local_csms import CallErrorReply
    csms.queue_reply("BootNotification", CallErrorReply("InternalError", "try later"))
    make_charge_point(csms.url)
    csms.wait_for("BootNotification")
    clock.wait_for_timer(lambda m: isinstance(m, BootDue))
    clock.advance(60)
    csms.wait_for("StatusNotification")


def test_delay_ocpp_start_holds_the_connection(csms, clock, make_charge_point):
    make_charge_point(csms.url, options={"DelayOcppStart": 2500})
    clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
    assert csms.connections == []
    clock.advance(2.5)
    csms.wait_for("BootNotification")
