"""The call queue kept in step with its rows in Persistence (a fake Persistence here)."""

from __future__ import annotations

from actors.durable_call_queue import DurableCallQueue
from messages.csms import SendCall
from messages.persistence import CallEnqueued, QueuedCall, QueueReply  # what the fake Persistence answers
from messages.persistence import DequeueCall, EnqueueCall, GetQueue, MapTransactionId, RecordAttempt


class FakePersistence:
    """Answers the queue's requests and remembers them."""

    def __init__(self, rows: tuple[QueuedCall, ...] = (), transaction_ids: tuple[tuple[int, int], ...] = ()) -> None:
        self.rows, self.transaction_ids = rows, transaction_ids
        self.asked: list[object] = []

    def __call__(self, message: object) -> object:
        self.asked.append(message)
        if isinstance(message, GetQueue):
            return QueueReply(calls=self.rows, transaction_ids=self.transaction_ids)
        if isinstance(message, EnqueueCall):
            return CallEnqueued(queue_id=41 + len(self.asked))
        return None


def row(queue_id: int, action: str, *, transactional: bool = True, attempts: int = 0, **payload: object) -> QueuedCall:
    return QueuedCall(queue_id=queue_id, action=action, payload=payload, reply_to="evse-1", correlation=f"c{queue_id}",
                      attempts=attempts, transactional=transactional)


def test_a_call_is_stored_before_it_is_queued_under_its_row() -> None:
    persistence = FakePersistence()
    queue = DurableCallQueue(persistence)
    out = queue.store(SendCall(action="StatusNotification", correlation="c"), transactional=False)
    assert persistence.asked == [EnqueueCall(action="StatusNotification", payload=out.call.payload, reply_to=None,
                                             correlation="c", transactional=False)]
    assert (out.queue_id, out.durable, len(queue)) == (42, True, 1)


def test_reload_keeps_transactional_rows_and_deletes_the_others_unless_kept() -> None:
    rows = (row(1, "StartTransaction", attempts=2), row(2, "StatusNotification", transactional=False))
    persistence = FakePersistence(rows, transaction_ids=((-1, 7),))
    queue = DurableCallQueue(persistence)
    assert queue.reload(keep_normal=False) == 2
    assert persistence.asked == [GetQueue(), DequeueCall(queue_id=2)]
    assert [(o.queue_id, o.attempts, o.call.reply_to) for o in queue.transactional] == [(1, 2, "evse-1")]
    assert len(queue) == 1
    assert queue.transaction_ids == {-1: 7}

    kept = DurableCallQueue(FakePersistence(rows))
    kept.reload(keep_normal=True)
    assert len(kept) == 2


def test_attempts_and_answers_reach_the_rows_of_durable_calls_only() -> None:
    persistence = FakePersistence()
    queue = DurableCallQueue(persistence)
    durable = queue.store(SendCall(action="MeterValues"), transactional=True)
    volatile = queue.add(SendCall(action="Heartbeat"))
    durable.attempts = 1
    queue.record_attempt(durable)
    queue.forget(durable)
    queue.forget(volatile)
    assert persistence.asked[1:] == [RecordAttempt(queue_id=42, attempts=1), DequeueCall(queue_id=42)]


def test_a_mapped_transaction_id_is_stored_and_used() -> None:
    persistence = FakePersistence()
    queue = DurableCallQueue(persistence)
    queue.map_transaction_id(-3, 99)
    assert persistence.asked == [MapTransactionId(local_id=-3, real_id=99)]
    assert queue.with_transaction_id(SendCall(action="StopTransaction", payload={"transactionId": -3})).payload[
        "transactionId"] == 99
