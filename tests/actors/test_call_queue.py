"""The queue's policies: order, retry timing, overflow thinning, transaction id patching."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actors.call_queue import CallQueue, Outgoing, retry_delay, thin_meter_values
from messages.csms import SendCall


def call(action: str, **payload: object) -> SendCall:
    return SendCall(action=action, payload=payload)


def test_retry_delay_grows_with_each_attempt_from_the_last():
    assert [retry_delay(n, 10) for n in (1, 2, 3)] == [10, 20, 30]
    assert retry_delay(0, 10) == 10


def test_oldest_ready_head_goes_first_and_boot_before_everything():
    queue = CallQueue()
    queue.add(call("StartTransaction"), queue_id=1)
    queue.add(call("StatusNotification"))
    queue.add(call("BootNotification"), front=True)
    assert queue.next_ready(0, registered=False).call.action == "BootNotification"
    assert queue.next_ready(0, registered=False) is None  # nothing else before registration
    assert [queue.next_ready(0, registered=True).call.action for _ in range(2)] == [
        "StartTransaction", "StatusNotification"]


def test_a_head_waiting_for_its_retry_blocks_its_own_queue_only():
    queue = CallQueue()
    start = queue.add(call("StartTransaction"), queue_id=1)
    queue.add(call("StopTransaction"), queue_id=2)
    queue.add(call("Heartbeat"))
    queue.next_ready(0, registered=True)
    start.not_before = 30
    queue.put_back(start)
    assert queue.next_ready(0, registered=True).call.action == "Heartbeat"
    assert queue.next_ready(0, registered=True) is None  # the Stop waits behind its Start
    assert queue.next_retry() == 30
    assert queue.next_ready(30, registered=True) is start


def test_link_loss_keeps_durable_calls_only():
    queue = CallQueue()
    queue.add(call("MeterValues"), queue_id=1)
    queue.add(call("Heartbeat"))
    queue.add(call("StatusNotification"), queue_id=2)  # QueueAllMessages made it durable
    gone = queue.drain_volatile()
    assert [o.call.action for o in gone] == ["Heartbeat"]
    assert len(queue) == 2


def test_local_transaction_id_is_replaced_once_known():
    queue = CallQueue()
    stop = call("StopTransaction", transactionId=-7, meterStop=10, timestamp="2026-01-01T00:00:00Z")
    assert queue.with_transaction_id(stop) is stop
    queue.transaction_ids[-7] = 42
    assert queue.with_transaction_id(stop).payload["transactionId"] == 42
    assert queue.with_transaction_id(call("MeterValues", transactionId=5)).payload["transactionId"] == 5


ACTIONS = st.sampled_from(["StartTransaction", "StopTransaction", "MeterValues", "SecurityEventNotification",
                           "StatusNotification", "Heartbeat"])


@given(st.lists(ACTIONS, max_size=60), st.integers(min_value=0, max_value=80))
def test_thinning_never_drops_transaction_starts_or_stops(actions, excess):
    calls = [Outgoing(call(a), seq) for seq, a in enumerate(actions)]
    dropped = thin_meter_values(calls, excess)
    assert len(dropped) <= excess
    assert not {o.call.action for o in dropped} & {"StartTransaction", "StopTransaction", "SecurityEventNotification"}
    droppable = sum(a not in {"StartTransaction", "StopTransaction", "SecurityEventNotification"} for a in actions)
    assert len(dropped) == min(excess, droppable)
