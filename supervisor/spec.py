"""Child specifications and supervisor flags, as plain data (after Erlang/OTP's supervisor)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pykka

__all__ = ["ChildSpec", "Restart", "SupFlags", "check_specs"]


class Restart(enum.Enum):
    """When a stopped child is started again."""

    PERMANENT = "permanent"
    """Always."""
    TRANSIENT = "transient"
    """Only after a crash, not after a normal exit."""
    TEMPORARY = "temporary"
    """Never."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildSpec:
    """One child of a supervisor."""

    id: str
    """Unique among siblings; also the name peers use to reach the child."""
    start: Callable[[], pykka.ActorRef[pykka.Actor]]
    """Starts a fresh incarnation and returns its reference."""
    restart: Restart = Restart.PERMANENT
    shutdown: float = 5.0
    """Seconds to wait for a graceful stop before the child is abandoned (threads can't be killed)."""
    start_timeout: float = 10.0
    """Seconds to wait for the child to finish starting before the next one starts."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SupFlags:
    """Restart intensity: more than ``intensity`` restarts within ``period`` seconds and the
    supervisor gives up, stops every child and escalates (the process exits non-zero)."""

    intensity: int = 3
    period: float = 5.0


def check_specs(specs: Sequence[ChildSpec], flags: SupFlags) -> None:
    """Refuse a tree that cannot work, before anything starts."""
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            msg = f"duplicate child id {spec.id!r}"
            raise ValueError(msg)
        seen.add(spec.id)
        if spec.shutdown <= 0 or spec.start_timeout <= 0:
            msg = f"child {spec.id!r}: shutdown and start timeouts must be > 0"
            raise ValueError(msg)
    if flags.intensity < 0 or flags.period <= 0:
        msg = "restart intensity must be >= 0 and its period > 0"
        raise ValueError(msg)
