"""Delivery guarantees: the durable queue across outages, retries, a reconnect's resume delay,
and restart recovery (OCTT TC_036-TC_039 and EVerest's message_queue cases in spirit)."""

from __future__ import annotations

import pytest

from conftest import CP_ID, run_for, settle, wait_idle, wait_until
from messages.csms import ConnectDue, GetLinkStats, QueueDue
from scenarios.steps import booted, statuses, wait_status
from supervisor.local_csms import CallErrorReply, LocalCsms
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(60)

OFFLINE_OK = {
    "Core": {"AllowOfflineTxForUnknownId": True, "MeterValueSampleInterval": 60},
    "Internal": {"RetryBackoffWaitMinimum": 3, "RetryBackoffRandomRange": 0, "RetryBackoffRepeatTimes": 0},
}


def actions(csms):
    return [(r.action, r.payload.get("transactionId")) for r in csms.received
            if r.action in ("StartTransaction", "MeterValues", "StopTransaction")]


def go_offline(csms, clock):
    port = csms.port
    csms.stop()
    clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
    return port


def come_back(port, clock, app, **replies):
    revived = LocalCsms(port=port)
    for action, reply in replies.items():
        revived.set_reply(action, reply)
    revived.start()
    wait_until(lambda: (run_for(clock, app, 3), app.directory.ask("csms", GetLinkStats()).connected)[1],
               what="the link back")
    return revived


def test_a_transaction_made_offline_arrives_in_order_under_the_csms_id(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys=OFFLINE_OK)
    booted(csms, clock, app)
    sim = SimController(app.directory)
    port = go_offline(csms, clock)
    sim.plug_in(1)
    sim.swipe(1, "OFFLINE1")  # Authorize fails at once: offline, and unknown ids are allowed
    settle(app)
    run_for(clock, app, 120)  # two samples while offline
    sim.swipe(1, "OFFLINE1")
    settle(app)
    assert app.directory.ask("csms", GetLinkStats()).queued == 4
    revived = come_back(port, clock, app, StartTransaction={"transactionId": 99, "idTagInfo": {"status": "Accepted"}})
    try:
        wait_until(lambda: revived.count("StopTransaction") == 1)
        assert actions(revived) == [("StartTransaction", None), ("MeterValues", 99), ("MeterValues", 99),
                                    ("StopTransaction", 99)]
        assert revived.count("BootNotification") == 0
        wait_until(lambda: app.directory.ask("csms", GetLinkStats()).queued == 0)
    finally:
        revived.stop()


def test_retries_are_timed_from_the_last_attempt(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys={"Core": {"TransactionMessageAttempts": 3,
                                                     "TransactionMessageRetryInterval": 10}})
    booted(csms, clock, app)
    csms.queue_reply("StartTransaction", CallErrorReply("InternalError", "busy"))
    csms.queue_reply("StartTransaction", CallErrorReply("InternalError", "still busy"))
    sim = SimController(app.directory)
    sim.plug_in(1)
    sim.swipe(1, "TAG1")
    waits = []
    for attempt in (1, 2):
        wait_until(lambda attempt=attempt: csms.count("StartTransaction") == attempt)
        timer = clock.wait_for_timer(lambda m: isinstance(m, QueueDue))
        waits.append(timer.due - clock.monotonic())
        settle(app)
        clock.advance(waits[-1])
    wait_until(lambda: csms.count("StartTransaction") == 3)
    assert waits == [10, 20]
    wait_status(csms, 1, "Charging")
    sim.swipe(1, "TAG1")
    stop = csms.wait_for("StopTransaction").payload
    assert stop["transactionId"] == 1  # the id the third attempt got


def test_a_call_that_keeps_failing_is_given_up_and_the_queue_moves_on(csms, clock, make_charge_point, caplog):
    app = make_charge_point(csms.url, keys={"Core": {"TransactionMessageAttempts": 2, "MeterValueSampleInterval": 60,
                                                     "TransactionMessageRetryInterval": 5}})
    booted(csms, clock, app)
    csms.set_reply("MeterValues", CallErrorReply("InternalError", "never"))
    sim = SimController(app.directory)
    sim.plug_in(1)
    sim.swipe(1, "TAG1")
    csms.wait_for("StartTransaction")
    settle(app)
    run_for(clock, app, 60)
    assert csms.count("MeterValues") == 1
    run_for(clock, app, 5)
    assert csms.count("MeterValues") == 2
    sim.swipe(1, "TAG1")
    assert csms.wait_for("StopTransaction").payload["transactionId"] == 1
    assert "giving up MeterValues after 2 attempt(s)" in caplog.text
    wait_until(lambda: app.directory.ask("csms", GetLinkStats()).queued == 0)


def test_other_calls_fail_at_once_offline_unless_all_are_queued(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys={"Internal": {**OFFLINE_OK["Internal"], "QueueAllMessages": True}})
    booted(csms, clock, app)
    sim = SimController(app.directory)
    port = go_offline(csms, clock)
    sim.plug_in(1)
    sim.plug_out(1)
    settle(app)
    revived = come_back(port, clock, app)
    try:
        wait_until(lambda: [r.payload["status"] for r in revived.received if r.action == "StatusNotification"
                            and r.payload["connectorId"] == 1] == ["Preparing", "Available"])
    finally:
        revived.stop()


def test_status_changed_offline_is_reported_after_the_reconnect(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=2, keys={"Internal": OFFLINE_OK["Internal"]})
    booted(csms, clock, app, evses=2)
    sim = SimController(app.directory)
    port = go_offline(csms, clock)
    sim.plug_in(1)  # its StatusNotification fails at once: nothing is queued without QueueAllMessages
    settle(app)
    revived = come_back(port, clock, app)
    try:
        revived.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Preparing")
        settle(app)
        assert [r.payload["connectorId"] for r in revived.received if r.action == "StatusNotification"] == [1]
    finally:
        revived.stop()


def test_queue_waits_the_resume_delay_after_a_reconnect_but_answers_the_csms(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys=OFFLINE_OK, options={"MessageQueueResumeDelay": 30})
    booted(csms, clock, app)
    sim = SimController(app.directory)
    port = go_offline(csms, clock)
    sim.plug_in(1)
    sim.swipe(1, "OFFLINE1")
    settle(app)
    revived = come_back(port, clock, app)
    try:
        assert revived.call(CP_ID, "GetConfiguration", {"key": ["HeartbeatInterval"]})["configurationKey"]
        assert revived.count("StartTransaction") == 0
        timer = clock.wait_for_timer(lambda m: isinstance(m, QueueDue))
        assert timer.due - clock.monotonic() > 25  # MessageQueueResumeDelay, less the reconnect steps
        clock.advance(timer.due - clock.monotonic() - 1)
        settle(app)
        assert revived.count("StartTransaction") == 0
        clock.advance(1)
        revived.wait_for("StartTransaction")
    finally:
        revived.stop()


def test_restart_stops_an_interrupted_transaction_with_power_loss(csms, clock, make_charge_point):
    metering = {"Core": {"MeterValueSampleInterval": 60}}
    app = make_charge_point(csms.url, keys=metering)
    booted(csms, clock, app)
    sim = SimController(app.directory)
    sim.plug_in(1)
    sim.swipe(1, "TAG1")
    csms.wait_for("StartTransaction")
    settle(app)
    run_for(clock, app, 120)
    samples = [r.payload for r in csms.received if r.action == "MeterValues"]
    assert len(samples) == 2
    last_sample = samples[-1]["meterValue"][0]["sampledValue"][0]["value"]
    app.stop()  # the charger loses power: the next process has no session on the EVSE

    make_charge_point(csms.url, keys=metering)
    stop = csms.wait_for("StopTransaction").payload
    assert (stop["transactionId"], stop["reason"], stop["meterStop"]) == (1, "PowerLoss", int(last_sample))
    wait_until(lambda: statuses(csms, 1)[-1:] == ["Available"])


def test_restart_sends_what_was_queued_first_in_order(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys=OFFLINE_OK)
    booted(csms, clock, app)
    sim = SimController(app.directory)
    port = go_offline(csms, clock)
    sim.plug_in(1)
    sim.swipe(1, "OFFLINE1")
    settle(app)
    run_for(clock, app, 60)
    app.stop()  # power lost while offline, with the start and a sample still queued

    revived = LocalCsms(port=port).start()
    try:
        reborn = make_charge_point(revived.url, keys=OFFLINE_OK)
        wait_until(lambda: revived.count("StopTransaction") == 1)
        assert [a for a, _ in actions(revived)] == ["StartTransaction", "MeterValues", "StopTransaction"]
        assert revived.wait_for("StopTransaction").payload["reason"] == "PowerLoss"
        assert {tx for a, tx in actions(revived) if a != "StartTransaction"} == {1}
        wait_idle(reborn)
    finally:
        revived.stop()
