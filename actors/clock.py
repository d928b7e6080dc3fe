"""The one source of time for every actor: wall clock readings and timers.

Actors never call ``time.time()`` or start their own timer threads. They ask the clock for
the time and ask it to ``tell`` them a message later. Tests inject :class:`ManualClock`, so
an hour of charger life (heartbeats, meter intervals, back-off) runs in milliseconds, and a
trace replays the same timer firings in the same order.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Clock", "ManualClock", "SystemClock", "TimerHandle"]

log = logging.getLogger(__name__)

COMPACT_EVERY = 256
"""Pushes between clean-ups of the timer heap (dead timers otherwise pile up under live ones)."""


class Target(Protocol):
    """Anything a timer can deliver to: a pykka ``ActorRef`` has this method."""

    def tell(self, message: object) -> None: ...


@dataclass(eq=False)
class TimerHandle:
    """A scheduled delivery; pass it to :meth:`Clock.cancel` to call it off."""

    due: float
    """Clock seconds (``clock.monotonic()``) at which the message is delivered."""
    target: Target
    message: object
    interval: float | None = None
    """Seconds between repeated deliveries, or None for a one-shot timer."""
    cancelled: bool = False
    fired: bool = False
    """A one-shot timer that has been delivered."""
    seq: int = field(default_factory=itertools.count().__next__)

    def __lt__(self, other: TimerHandle) -> bool:
        return (self.due, self.seq) < (other.due, other.seq)


class Clock(Protocol):
    """What actors may ask of time."""

    def now(self) -> datetime:
        """The current UTC time (timezone-aware)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences are meaningful."""
        ...

    def call_later(self, delay: float, target: Target, message: object) -> TimerHandle:
        """Tell ``message`` to ``target`` once, ``delay`` seconds from now."""
        ...

    def call_every(self, interval: float, target: Target, message: object) -> TimerHandle:
        """Tell ``message`` to ``target`` every ``interval`` seconds, first after one interval."""
        ...

    def cancel(self, handle: TimerHandle | None) -> None:
        """Call off a timer; cancelling None or a fired one-shot timer is harmless."""
        ...


def _deliver(handle: TimerHandle) -> None:
    try:
        handle.target.tell(handle.message)
    except Exception:  # noqa: BLE001 - a dead target must not kill the clock
        log.debug("timer target gone, dropping %r", handle.message)


class _TimerHeap:
    """Due timers in order; shared by both clocks."""

    def __init__(self) -> None:
        self._heap: list[TimerHandle] = []
        self._pushes = 0

    def push(self, handle: TimerHandle) -> None:
        heapq.heappush(self._heap, handle)
        self._pushes += 1
        if self._pushes % COMPACT_EVERY == 0:  # cancelled and fired timers only leave from the top
            self._heap = [h for h in self._heap if not (h.cancelled or h.fired)]
            heapq.heapify(self._heap)

    def next_due(self) -> float | None:
        while self._heap and (self._heap[0].cancelled or self._heap[0].fired):
            heapq.heappop(self._heap)
        return self._heap[0].due if self._heap else None

    def pop_due(self, now: float) -> TimerHandle | None:
        due = self.next_due()
        if due is None or due > now:
            return None
        handle = heapq.heappop(self._heap)
        if handle.interval is not None:
            handle.due += handle.interval
            heapq.heappush(self._heap, handle)
        else:
            handle.fired = True
        return handle

    def pending(self) -> list[TimerHandle]:
        return sorted(h for h in self._heap if not (h.cancelled or h.fired))

    def soonest(self, match: Callable[[TimerHandle], bool]) -> TimerHandle | None:
        """The soonest live timer that ``match`` accepts, without sorting them all."""
        return min((h for h in self._heap if not (h.cancelled or h.fired) and match(h)), default=None)

    def take(self, handle: TimerHandle) -> None:
        """Fire this one timer out of turn: re-arm it if it repeats, else mark it fired."""
        if handle.interval is not None:
            handle.due += handle.interval
            heapq.heapify(self._heap)
        else:
            handle.fired = True


class _ClockBase:
    """Scheduling shared by both clocks; they differ in where time comes from and who fires."""

    def __init__(self) -> None:
        self._timers = _TimerHeap()
        self._cond = threading.Condition()

    def monotonic(self) -> float:
        raise NotImplementedError

    def call_later(self, delay: float, target: Target, message: object) -> TimerHandle:
        with self._cond:
            return self._schedule(TimerHandle(self.monotonic() + max(delay, 0.0), target, message))

    def call_every(self, interval: float, target: Target, message: object) -> TimerHandle:
        interval = max(interval, 0.001)
        with self._cond:
            return self._schedule(TimerHandle(self.monotonic() + interval, target, message, interval))

    def cancel(self, handle: TimerHandle | None) -> None:
        if handle is not None:
            with self._cond:
                handle.cancelled = True

    def _schedule(self, handle: TimerHandle) -> TimerHandle:
        self._timers.push(handle)
        self._cond.notify_all()
        return handle


class SystemClock(_ClockBase):
    """The real clock: one daemon thread delivers timers at their due time."""

    def __init__(self) -> None:
        super().__init__()
        self._thread = threading.Thread(target=self._run, name="clock", daemon=True)
        self._thread.start()

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    def _run(self) -> None:
        while True:
            with self._cond:
                handle = self._timers.pop_due(self.monotonic())
                if handle is None:
                    due = self._timers.next_due()
                    self._cond.wait(None if due is None else max(due - self.monotonic(), 0.0))
                    continue
            if not handle.cancelled:
                _deliver(handle)


class ManualClock(_ClockBase):
    """A clock that only moves when a test (or replay) says so.

    Timers fire from the thread that calls :meth:`advance`, in due order, each one a plain
    ``tell``: the receiving actors still handle them in their own threads.
    """

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__()
        self._start = start or datetime(2026, 1, 1, tzinfo=timezone.utc)
        self._elapsed = 0.0

    def now(self) -> datetime:
        with self._cond:
            return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        with self._cond:
            return self._elapsed

    def advance(self, seconds: float, *, fire: bool = True) -> int:
        """Move time forward, firing every timer that falls due on the way; returns how many.

        ``fire=False`` only moves the time: due timers wait for the next advance (replay fires
        timers where the trace says they fired, not where a clock reading falls)."""
        fired = 0
        with self._cond:
            end = self._elapsed + seconds
            if not fire:
                self._elapsed = max(self._elapsed, end)
                return 0
        while True:
            with self._cond:
                handle = self._timers.pop_due(end)
                if handle is None:
                    self._elapsed = end
                    return fired
                self._elapsed = max(self._elapsed, handle.due if handle.interval is None
                                    else handle.due - handle.interval)
            if not handle.cancelled:
                _deliver(handle)
                fired += 1

    def pending(self) -> list[TimerHandle]:
        """Scheduled, uncancelled timers, soonest first."""
        with self._cond:
            return self._timers.pending()

    def soonest(self, match: Callable[[TimerHandle], bool]) -> TimerHandle | None:
        """The soonest pending timer that ``match`` accepts, or None."""
        with self._cond:
            return self._timers.soonest(match)

    def fire(self, match: Callable[[TimerHandle], bool], at_least: float = 0.0) -> bool:
        """Fire only the soonest pending timer that ``match`` accepts, moving time to its due
        time (or to ``at_least``, if later); other due timers keep waiting. Replay uses it to
        fire each timer exactly where the trace recorded its firing. False if none matched."""
        with self._cond:
            handle = self._timers.soonest(match)
            if handle is None:
                self._elapsed = max(self._elapsed, at_least)
                return False
            self._elapsed = max(self._elapsed, handle.due, at_least)
            self._timers.take(handle)
        _deliver(handle)
        return True

    def wait_for_timer(self, match: Callable[[object], bool], timeout: float = 5.0) -> TimerHandle:
        """Block (in real time) until a timer whose message matches has been scheduled.

        Tests use it to know that an actor has reacted (e.g. armed its back-off timer)
        before they move time.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for handle in self._timers.pending():
                    if match(handle.message):
                        return handle
                left = deadline - time.monotonic()
                if left <= 0:
                    pending = [type(h.message).__name__ for h in self._timers.pending()]
                    msg = f"no matching timer scheduled within {timeout} s; pending: {pending}"
                    raise TimeoutError(msg)
                self._cond.wait(left)
