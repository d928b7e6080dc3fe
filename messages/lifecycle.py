"""Messages between the supervisor and its children."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["ChildExited", "ExitReason", "InjectCrash", "Ping", "Pong"]


class ExitReason(enum.Enum):
    """Why a child stopped; decides whether a transient child is restarted."""

    NORMAL = "normal"
    SHUTDOWN = "shutdown"
    CRASH = "crash"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildExited:
    """Event (tell, child → supervisor): a child actor has stopped or crashed."""

    child_id: str
    """The child spec id, e.g. ``evse/3``."""
    actor_urn: str
    """Which incarnation stopped, so reports from replaced children are ignored."""
    reason: ExitReason
    detail: str = ""
    """The exception text for a crash."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InjectCrash:
    """Command (tell, test → any actor): raise inside the handler, as a real bug would."""

    in_on_start: bool = False
    """Also crash in ``on_start`` of the next incarnation (tests the start-failure path)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    """Query (ask, anyone → any actor): answered by :class:`Pong` once the actor serves."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pong:
    """Reply to :class:`Ping`."""

    actor_urn: str
