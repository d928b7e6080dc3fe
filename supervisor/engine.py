"""The supervisor's decisions as a pure function of (state, exit, now).

One-for-one: only the child that stopped is restarted. Every restart is counted; more
than ``intensity`` of them within ``period`` seconds means something is wrong that
restarting will not fix, so the supervisor stops everything and gives up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from messages.lifecycle import ExitReason
from supervisor.spec import Restart

if TYPE_CHECKING:
    from supervisor.spec import ChildSpec, SupFlags

__all__ = ["Decision", "EngineState", "on_exit"]


@dataclass(frozen=True, slots=True)
class EngineState:
    """What the engine remembers: restart times still inside the intensity window."""

    flags: SupFlags
    restarts: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do about one exit."""

    restart: bool = False
    give_up: bool = False
    reason: str = ""


def on_exit(state: EngineState, spec: ChildSpec, reason: ExitReason, now: float,
            ) -> tuple[EngineState, Decision]:
    """Decide about a child that stopped with ``reason`` at clock time ``now``."""
    if reason is ExitReason.SHUTDOWN:
        return state, Decision()
    wanted = spec.restart is Restart.PERMANENT or (
        spec.restart is Restart.TRANSIENT and reason is ExitReason.CRASH)
    if not wanted:
        return state, Decision()
    window = tuple(t for t in state.restarts if now - t < state.flags.period) + (now,)
    state = replace(state, restarts=window)
    if len(window) > state.flags.intensity:
        return state, Decision(give_up=True, reason=(
            f"restart intensity exceeded: {len(window)} restarts within "
            f"{state.flags.period:g} s (limit {state.flags.intensity}), last by {spec.id}"))
    return state, Decision(restart=True)
