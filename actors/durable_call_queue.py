"""The CSMS link's call queue together with its durable copy in Persistence.

:class:`actors.call_queue.CallQueue` orders the calls in memory. A durable call (a
transactional one, or any call with QueueAllMessages) is also a row in Persistence, and
this class is the one place that keeps the two in step, so the delivery guarantees can be
read together: a call is stored before it is queued; its failed attempts are recorded; its
row is deleted only when it is answered, given up or dropped; a StartTransaction's answer
maps the local transaction id to the CSMS's, in memory and on disk; and at start the queue
is rebuilt from the rows that a crash or power loss left. The link passes in the function
that asks Persistence and decides when each of these happens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.call_queue import CallQueue
from messages.csms import SendCall
from messages.persistence import DequeueCall, EnqueueCall, GetQueue, MapTransactionId, RecordAttempt

if TYPE_CHECKING:
    from collections.abc import Callable

    from actors.call_queue import Outgoing

__all__ = ["DurableCallQueue"]


class DurableCallQueue(CallQueue):
    """A :class:`CallQueue` whose durable calls are rows in Persistence."""

    def __init__(self, ask_persistence: Callable[[object], Any]) -> None:
        super().__init__()
        self._ask = ask_persistence

    def reload(self, *, keep_normal: bool) -> int:
        """Rebuild the queue from the stored rows, oldest first, with their attempts and the
        known transaction ids. Rows of non-transactional calls are deleted unless
        ``keep_normal`` (QueueAllMessages). Returns how many rows there were."""
        reply = self._ask(GetQueue())
        self.transaction_ids.update(dict(reply.transaction_ids))
        for queued in reply.calls:
            if not queued.transactional and not keep_normal:
                self._ask(DequeueCall(queue_id=queued.queue_id))
                continue
            call = SendCall(action=queued.action, payload=queued.payload, reply_to=queued.reply_to,
                            correlation=queued.correlation, local_transaction_id=queued.local_transaction_id)
            self.add(call, queue_id=queued.queue_id, attempts=queued.attempts)
        return len(reply.calls)

    def store(self, call: SendCall, *, transactional: bool) -> Outgoing:
        """Store ``call`` in Persistence, then queue it under its row."""
        stored = self._ask(EnqueueCall(
            action=call.action, payload=call.payload, reply_to=call.reply_to, correlation=call.correlation,
            transactional=transactional, local_transaction_id=call.local_transaction_id))
        return self.add(call, queue_id=stored.queue_id)

    def record_attempt(self, out: Outgoing) -> None:
        """Store how many attempts a durable call has used up."""
        self._ask(RecordAttempt(queue_id=out.queue_id, attempts=out.attempts))

    def forget(self, out: Outgoing) -> None:
        """Delete a durable call's row (answered, given up or dropped); nothing to do for a
        call that lives in memory only."""
        if out.durable:
            self._ask(DequeueCall(queue_id=out.queue_id))

    def map_transaction_id(self, local_id: int, real_id: int) -> None:
        """The CSMS gave the transaction started under ``local_id`` its id: queued calls that
        still carry the local one go out with ``real_id``, also after a restart."""
        self._ask(MapTransactionId(local_id=local_id, real_id=real_id))
        self.transaction_ids[local_id] = real_id
