"""The clock: ManualClock moves only when told; SystemClock delivers on its own thread."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.clock import ManualClock, SystemClock
from conftest import wait_until

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


class Inbox:
    """A timer target that records each message with the clock reading at delivery."""

    def __init__(self, clock: ManualClock | SystemClock) -> None:
        self.clock = clock
        self.received: list[tuple[object, float]] = []

    def tell(self, message: object) -> None:
        self.received.append((message, self.clock.monotonic()))

    @property
    def messages(self) -> list[object]:
        return [message for message, _ in self.received]


class DeadTarget:
    """A target whose actor has stopped: pykka raises ActorDeadError from tell."""

    def tell(self, message: object) -> None:
        raise RuntimeError(f"dead, dropping {message!r}")


@pytest.fixture
def manual() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def inbox(manual: ManualClock) -> Inbox:
    return Inbox(manual)


# --- ManualClock: time ---------------------------------------------------------------------


def test_now_starts_at_the_given_datetime(manual: ManualClock) -> None:
    assert manual.now() == START
    assert manual.monotonic() == 0.0


def test_advance_moves_now_and_monotonic(manual: ManualClock) -> None:
    manual.advance(90)
    manual.advance(0.5)
    assert manual.now() == START + timedelta(seconds=90.5)
    assert manual.monotonic() == 90.5


def test_default_start_is_timezone_aware() -> None:
    assert ManualClock().now().tzinfo is not None


# --- ManualClock: one-shot timers ----------------------------------------------------------


def test_call_later_fires_once_at_its_due_time(manual: ManualClock, inbox: Inbox) -> None:
    manual.call_later(10, inbox, "ping")
    assert manual.advance(9.999) == 0
    assert inbox.received == []
    assert manual.advance(0.001) == 1
    manual.advance(1000)
    assert inbox.messages == ["ping"]


def test_target_sees_the_due_time_during_delivery(manual: ManualClock, inbox: Inbox) -> None:
    """One long advance still stamps each firing with its own due time."""
    manual.call_later(10, inbox, "a")
    manual.call_later(25, inbox, "b")
    manual.advance(100)
    assert inbox.received == [("a", 10.0), ("b", 25.0)]
    assert manual.monotonic() == 100.0


def test_several_timers_fire_in_due_order(manual: ManualClock, inbox: Inbox) -> None:
    manual.call_later(30, inbox, "third")
    manual.call_later(10, inbox, "first")
    manual.call_later(20, inbox, "second")
    assert manual.advance(60) == 3
    assert inbox.messages == ["first", "second", "third"]


def test_timers_due_together_fire_in_scheduling_order(manual: ManualClock, inbox: Inbox) -> None:
    for name in ("a", "b", "c"):
        manual.call_later(5, inbox, name)
    manual.advance(5)
    assert inbox.messages == ["a", "b", "c"]


def test_delay_counts_from_when_the_timer_was_armed(manual: ManualClock, inbox: Inbox) -> None:
    manual.advance(100)
    manual.call_later(10, inbox, "x")
    manual.advance(9)
    assert inbox.received == []
    manual.advance(1)
    assert inbox.received == [("x", 110.0)]


def test_negative_delay_fires_on_the_next_advance(manual: ManualClock, inbox: Inbox) -> None:
    manual.call_later(-5, inbox, "late")
    manual.advance(0)
    assert inbox.messages == ["late"]


def test_timer_armed_by_a_delivery_fires_in_the_same_advance(manual: ManualClock) -> None:
    fired: list[float] = []

    class Rearming:
        def tell(self, message: object) -> None:
            fired.append(manual.monotonic())
            if len(fired) < 3:
                manual.call_later(10, self, message)

    manual.call_later(10, Rearming(), "tick")
    manual.advance(100)
    assert fired == [10.0, 20.0, 30.0]


# --- ManualClock: repeating timers ---------------------------------------------------------


def test_call_every_fires_every_interval(manual: ManualClock, inbox: Inbox) -> None:
    manual.call_every(60, inbox, "meter")
    assert manual.advance(3600) == 60
    assert [t for _, t in inbox.received] == [60.0 * n for n in range(1, 61)]


def test_call_every_first_fires_after_one_interval(manual: ManualClock, inbox: Inbox) -> None:
    manual.call_every(60, inbox, "meter")
    manual.advance(59)
    assert inbox.received == []
    manual.advance(1)
    assert inbox.messages == ["meter"]


def test_repeating_and_one_shot_timers_interleave(manual: ManualClock, inbox: Inbox) -> None:
    manual.call_every(10, inbox, "tick")
    manual.call_later(25, inbox, "once")
    manual.advance(40)
    assert inbox.messages == ["tick", "tick", "once", "tick", "tick"]


# --- ManualClock: cancelling ---------------------------------------------------------------


def test_cancelled_one_shot_never_fires(manual: ManualClock, inbox: Inbox) -> None:
    handle = manual.call_later(10, inbox, "x")
    manual.cancel(handle)
    assert manual.advance(100) == 0
    assert inbox.received == []
    assert manual.pending() == []


def test_cancel_stops_a_repeating_timer(manual: ManualClock, inbox: Inbox) -> None:
    handle = manual.call_every(10, inbox, "tick")
    manual.advance(35)
    manual.cancel(handle)
    manual.advance(100)
    assert inbox.messages == ["tick"] * 3


def test_cancelling_none_or_a_fired_timer_is_harmless(manual: ManualClock, inbox: Inbox) -> None:
    handle = manual.call_later(1, inbox, "x")
    manual.advance(2)
    manual.cancel(handle)
    manual.cancel(None)
    manual.call_later(1, inbox, "y")
    manual.advance(1)
    assert inbox.messages == ["x", "y"]


def test_timer_cancelled_by_an_earlier_delivery_does_not_fire(manual: ManualClock, inbox: Inbox) -> None:
    later = manual.call_later(20, inbox, "later")

    class Canceller:
        def tell(self, message: object) -> None:
            manual.cancel(later)

    manual.call_later(10, Canceller(), "cancel it")
    manual.advance(30)
    assert inbox.received == []


def test_pending_lists_live_timers_soonest_first(manual: ManualClock, inbox: Inbox) -> None:
    manual.call_later(30, inbox, "c")
    dropped = manual.call_later(10, inbox, "dropped")
    manual.call_later(20, inbox, "b")
    manual.cancel(dropped)
    assert [h.message for h in manual.pending()] == ["b", "c"]


# --- ManualClock: robustness ---------------------------------------------------------------


def test_target_that_raises_does_not_break_the_clock(manual: ManualClock, inbox: Inbox) -> None:
    manual.call_later(1, DeadTarget(), "lost")
    manual.call_every(2, DeadTarget(), "lost again")
    manual.call_later(3, inbox, "still delivered")
    manual.advance(5)
    assert inbox.messages == ["still delivered"]
    assert manual.monotonic() == 5.0


# --- ManualClock: wait_for_timer -----------------------------------------------------------


def test_wait_for_timer_finds_a_scheduled_timer(manual: ManualClock, inbox: Inbox) -> None:
    manual.call_later(10, inbox, "other")
    wanted = manual.call_later(20, inbox, ("backoff", 3))
    found = manual.wait_for_timer(lambda m: isinstance(m, tuple) and m[0] == "backoff", timeout=1)
    assert found is wanted


def test_wait_for_timer_times_out_when_nothing_matches(manual: ManualClock, inbox: Inbox) -> None:
    manual.call_later(10, inbox, "other")
    with pytest.raises(TimeoutError, match="no matching timer"):
        manual.wait_for_timer(lambda m: m == "never", timeout=0.05)


def test_wait_for_timer_ignores_cancelled_timers(manual: ManualClock, inbox: Inbox) -> None:
    manual.cancel(manual.call_later(10, inbox, "x"))
    with pytest.raises(TimeoutError):
        manual.wait_for_timer(lambda m: m == "x", timeout=0.05)


# --- ManualClock: property ------------------------------------------------------------------

delays = st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), max_size=20)
steps = st.lists(st.floats(min_value=0, max_value=400, allow_nan=False), max_size=10)


@given(delays=delays, steps=steps)
def test_one_shots_fire_once_in_due_order_when_time_passes_their_delay(
        delays: list[float], steps: list[float]) -> None:
    clock = ManualClock(START)
    inbox = Inbox(clock)
    for index, delay in enumerate(delays):
        clock.call_later(delay, inbox, index)
    total = 0.0
    for step in steps:
        clock.advance(step)
        total += step
        due = sorted((delay, index) for index, delay in enumerate(delays) if delay <= total)
        assert inbox.messages == [index for _, index in due]
        assert [t for _, t in inbox.received] == [delay for delay, _ in due]


# --- SystemClock (the one test module allowed a thread: the clock's own) --------------------


def test_system_clock_delivers_and_cancel_prevents_delivery() -> None:
    clock = SystemClock()
    assert clock.now().utcoffset() == timedelta(0)
    inbox = Inbox(clock)
    clock.call_later(0.01, inbox, "soon")
    wait_until(lambda: inbox.messages == ["soon"], timeout=2, what="a 10 ms timer")

    cancelled = clock.call_later(0.05, inbox, "cancelled")
    clock.cancel(cancelled)
    clock.call_later(0.1, inbox, "after")
    # Timers fire in due order on one thread, so once "after" arrives, "cancelled" had its turn.
    wait_until(lambda: "after" in inbox.messages, timeout=2, what="the timer after the cancelled one")
    assert inbox.messages == ["soon", "after"]
