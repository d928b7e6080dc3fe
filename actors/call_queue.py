"""The order in which the CSMS link sends CALLs, and what happens when one fails.

Transactional calls (StartTransaction, StopTransaction, MeterValues,
SecurityEventNotification) are durable: the link stores them through Persistence before
they are queued here and deletes them only when answered, so none is lost to a network
outage or a crash. Only the head of the transactional queue may go, which keeps every
transaction's messages in order across restarts. Other calls wait in a second queue and are
dropped when the link goes down (unless QueueAllMessages makes them durable too).

This module holds the queues and the policies as plain code; the actor does the I/O.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from messages.payload import freeze, thaw

if TYPE_CHECKING:
    from actors.clock import TimerHandle
    from messages.csms import SendCall

__all__ = ["TRANSACTIONAL", "Outgoing", "CallQueue", "retry_delay", "thin_meter_values"]

TRANSACTIONAL = frozenset({"StartTransaction", "StopTransaction", "MeterValues", "SecurityEventNotification"})
NEVER_DROPPED = frozenset({"StartTransaction", "StopTransaction", "SecurityEventNotification", "BootNotification"})


def retry_delay(attempts: int, interval: float) -> float:
    """Seconds from a failed attempt to the next: TransactionMessageRetryInterval × attempts so
    far, counted from the last attempt (libocpp counts from the first)."""
    return interval * max(attempts, 1)


@dataclass(slots=True)
class Outgoing:
    """A CALL waiting to go, or in flight."""

    call: SendCall
    seq: int
    """Order of arrival; the oldest ready call goes first."""
    queue_id: int | None = None
    """Its row in the durable queue, or None when it lives in memory only."""
    attempts: int = 0
    not_before: float = 0.0
    """Clock time before which it must not be retried."""
    message_id: str = ""
    sent_at: float = 0.0
    timer: TimerHandle | None = field(default=None, repr=False)

    @property
    def durable(self) -> bool:
        return self.queue_id is not None


def thin_meter_values(calls: list[Outgoing], excess: int) -> list[Outgoing]:
    """Which queued calls to drop to remove ``excess`` of them: every other MeterValues from
    the oldest on (so the energy curve keeps its shape), then the oldest droppable others.
    StartTransaction, StopTransaction and SecurityEventNotification are never dropped."""
    meters = [c for c in calls if c.call.action == "MeterValues"]
    dropped = meters[::2][:excess]
    if len(dropped) < excess:
        rest = [c for c in calls if c.call.action not in NEVER_DROPPED and c not in dropped]
        dropped += rest[: excess - len(dropped)]
    return dropped


class CallQueue:
    """Both queues, the local → CSMS transaction id map, and the pick of the next call."""

    def __init__(self) -> None:
        self.transactional: deque[Outgoing] = deque()
        self.normal: deque[Outgoing] = deque()
        self.transaction_ids: dict[int, int] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self.transactional) + len(self.normal)

    def add(self, call: SendCall, *, queue_id: int | None = None, attempts: int = 0,
            front: bool = False) -> Outgoing:
        self._seq += 1
        out = Outgoing(call, self._seq, queue_id, attempts)
        target = self.transactional if call.action in TRANSACTIONAL else self.normal
        if front:
            out.seq = -self._seq  # BootNotification: ahead of everything
            target.appendleft(out)
        else:
            target.append(out)
        return out

    def put_back(self, out: Outgoing) -> None:
        """A call that went out but must go again (link lost, or a retry) returns to the front."""
        (self.transactional if out.call.action in TRANSACTIONAL else self.normal).appendleft(out)

    def next_ready(self, now: float, *, registered: bool) -> Outgoing | None:
        """Take the call to send now: the oldest ready one of the two queue heads. Before
        registration only BootNotification and triggered messages may go."""
        heads = [q[0] for q in (self.transactional, self.normal) if q and q[0].not_before <= now]
        if not registered:
            heads = [h for h in heads if h.call.action == "BootNotification" or h.call.triggered]
        if not heads:
            return None
        out = min(heads, key=lambda o: o.seq)
        (self.transactional if self.transactional and self.transactional[0] is out else self.normal).popleft()
        return out

    def next_retry(self) -> float | None:
        """When the soonest waiting head may go, if one is waiting."""
        times = [q[0].not_before for q in (self.transactional, self.normal) if q]
        return min(times) if times else None

    def drain_volatile(self) -> list[Outgoing]:
        """Remove and return the calls that do not survive a lost link (the non-durable ones)."""
        gone = [o for o in self.normal if not o.durable]
        self.normal = deque(o for o in self.normal if o.durable)
        return gone

    def remove(self, doomed: list[Outgoing]) -> None:
        ids = {id(o) for o in doomed}
        self.transactional = deque(o for o in self.transactional if id(o) not in ids)
        self.normal = deque(o for o in self.normal if id(o) not in ids)

    def with_transaction_id(self, call: SendCall) -> SendCall:
        """The call as it must go out: a local transaction id replaced by the CSMS's, if known."""
        local = call.payload.get("transactionId")
        if isinstance(local, int) and local < 0 and local in self.transaction_ids:
            payload = thaw(call.payload)
            assert isinstance(payload, dict)
            payload["transactionId"] = self.transaction_ids[local]
            return replace(call, payload=freeze(payload))  # type: ignore[arg-type]
        return call
