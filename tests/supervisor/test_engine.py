"""The supervisor's restart decisions, as a pure function of (state, exit, now)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages.lifecycle import ExitReason
from supervisor.engine import Decision, EngineState, on_exit
from supervisor.spec import ChildSpec, Restart, SupFlags

CRASH, NORMAL, SHUTDOWN = ExitReason.CRASH, ExitReason.NORMAL, ExitReason.SHUTDOWN


def _not_started() -> None:
    msg = "the engine only decides; it must not start children"
    raise AssertionError(msg)


def child(restart: Restart = Restart.PERMANENT, id_: str = "evse/1") -> ChildSpec:
    return ChildSpec(id=id_, start=_not_started, restart=restart)  # type: ignore[arg-type]


def fresh(intensity: int = 3, period: float = 5.0) -> EngineState:
    return EngineState(flags=SupFlags(intensity=intensity, period=period))


def exits_at(times: list[float], state: EngineState | None = None,
             spec: ChildSpec | None = None) -> list[Decision]:
    """Feed one crash per time to the engine; the decisions, in order."""
    state = state or fresh()
    decisions = []
    for now in times:
        state, decision = on_exit(state, spec or child(), CRASH, now)
        decisions.append(decision)
    return decisions


# --- which exits restart -------------------------------------------------------------------


@pytest.mark.parametrize(("restart", "reason", "restarted"), [
    (Restart.PERMANENT, CRASH, True),
    (Restart.PERMANENT, NORMAL, True),
    (Restart.PERMANENT, SHUTDOWN, False),
    (Restart.TRANSIENT, CRASH, True),
    (Restart.TRANSIENT, NORMAL, False),
    (Restart.TRANSIENT, SHUTDOWN, False),
    (Restart.TEMPORARY, CRASH, False),
    (Restart.TEMPORARY, NORMAL, False),
    (Restart.TEMPORARY, SHUTDOWN, False),
])
def test_restart_policy(restart: Restart, reason: ExitReason, restarted: bool) -> None:
    _, decision = on_exit(fresh(), child(restart), reason, now=0.0)
    assert decision == Decision(restart=restarted)


@pytest.mark.parametrize(("restart", "reason"), [
    (Restart.PERMANENT, SHUTDOWN), (Restart.TRANSIENT, NORMAL), (Restart.TEMPORARY, CRASH)])
def test_exits_that_restart_nothing_do_not_count(restart: Restart, reason: ExitReason) -> None:
    state = fresh(intensity=0)
    for now in range(100):
        state, decision = on_exit(state, child(restart), reason, float(now))
        assert not decision.give_up
    assert state.restarts == ()


# --- restart intensity ---------------------------------------------------------------------


def test_fourth_restart_within_the_period_gives_up_naming_the_child() -> None:
    decisions = exits_at([0.0, 1.0, 2.0, 3.0], spec=child(id_="csms"))
    assert [d.restart for d in decisions] == [True, True, True, False]
    assert decisions[-1].give_up
    assert "csms" in decisions[-1].reason
    assert "4 restarts within 5 s" in decisions[-1].reason


def test_restarts_spaced_more_than_a_period_apart_never_give_up() -> None:
    decisions = exits_at([n * 5.1 for n in range(100)])
    assert all(d.restart and not d.give_up for d in decisions)


def test_a_restart_exactly_one_period_ago_has_left_the_window() -> None:
    decisions = exits_at([0.0, 0.0, 0.0, 5.0])
    assert not decisions[-1].give_up


def test_restarts_of_different_children_share_one_budget() -> None:
    state = fresh()
    for now, name in zip([0.0, 1.0, 2.0], ["a", "b", "c"], strict=True):
        state, _ = on_exit(state, child(id_=name), CRASH, now)
    _, decision = on_exit(state, child(id_="d"), NORMAL, 3.0)
    assert decision.give_up
    assert "by d" in decision.reason


def test_zero_intensity_gives_up_on_the_first_restart() -> None:
    assert exits_at([0.0], fresh(intensity=0))[0].give_up


def test_state_keeps_only_restarts_inside_the_window() -> None:
    state = fresh()
    for now in (0.0, 1.0, 2.0, 6.0):
        state, _ = on_exit(state, child(), CRASH, now)
    assert state.restarts == (2.0, 6.0)


gaps = st.lists(st.floats(min_value=0, max_value=4, allow_nan=False), min_size=1, max_size=30)


@given(gaps=gaps, intensity=st.integers(min_value=0, max_value=5),
       period=st.floats(min_value=0.5, max_value=10))
def test_gives_up_exactly_when_a_window_holds_too_many_restarts(
        gaps: list[float], intensity: int, period: float) -> None:
    """At each restart, the window is the half-open period that ends at it."""
    times = list(itertools.accumulate(gaps))
    decisions = exits_at(times, fresh(intensity, period))
    for k, (now, decision) in enumerate(zip(times, decisions, strict=True)):
        in_window = sum(1 for t in times[:k + 1] if now - t < period)
        assert decision.give_up == (in_window > intensity)
        assert decision.restart == (not decision.give_up)
    too_many = any(sum(1 for t in times[:k + 1] if now - t < period) > intensity
                   for k, now in enumerate(times))
    assert any(d.give_up for d in decisions) == too_many
