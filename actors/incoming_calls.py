"""What the CSMS link decides about the frames and CALLs the CSMS sends, before any I/O.

A frame is decoded and, if it is a CALL, schema-checked: a broken CALL is owed a CALLERROR,
a broken answer only a log line (OCPP-J never answers those). A valid CALL is then dropped
(not registered), answered at once (refused while Pending, or not supported), or handed to
the actor that owns its action; until that actor answers, the link remembers it here and
sends no CALL of its own. This module holds those decisions and that book as plain code;
the actor sends the frames, sets the timers and logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from messages.csms import Registration
from messages.frames import CallFrame, FrameError, decode, encode_call_error, encode_call_result, validate_call

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.clock import TimerHandle
    from messages.frames import Frame

__all__ = [
    "REFUSED_WHILE_PENDING",
    "AnswerAtOnce",
    "DeliverTo",
    "DropUnregistered",
    "MalformedFrame",
    "UnansweredCalls",
    "read_frame",
    "route_call",
]

REFUSED_WHILE_PENDING = frozenset({"RemoteStartTransaction", "RemoteStopTransaction"})
"""While Pending, the CSMS may configure us but not start or stop charging (OCPP 1.6 §4.2)."""


@dataclass(frozen=True, slots=True)
class MalformedFrame:
    """A frame from the CSMS that could not be decoded or failed its schema."""

    error_code: str
    description: str
    call_error: str | None
    """The CALLERROR frame it is owed (a broken CALL, or a frame of unknown type), or None for
    a broken CALLRESULT/CALLERROR, which is only logged."""


def read_frame(text: str) -> Frame | MalformedFrame:
    """Decode one text frame from the CSMS, schema-checking a CALL."""
    try:
        frame = decode(text)
        if isinstance(frame, CallFrame):
            validate_call(frame)
    except FrameError as err:
        owed = err.message_type in (2, None)
        return MalformedFrame(err.error_code, err.description,
                              encode_call_error(err.message_id, err.error_code, err.description) if owed else None)
    return frame


@dataclass(frozen=True, slots=True)
class DropUnregistered:
    """Not registered (no BootNotification accepted or pending): OCPP 1.6 §4.2 lets us send
    nothing, answers included."""


@dataclass(frozen=True, slots=True)
class AnswerAtOnce:
    """The link answers the CALL itself, with this frame."""

    frame: str


@dataclass(frozen=True, slots=True)
class DeliverTo:
    """The CALL goes to the actor that owns its action."""

    owner: str


def route_call(frame: CallFrame, registration: Registration,
               routes: Mapping[str, str]) -> DropUnregistered | AnswerAtOnce | DeliverTo:
    """Who answers a valid CSMS CALL, given the registration and the route table (action → owner)."""
    if registration in (Registration.UNKNOWN, Registration.REJECTED):
        return DropUnregistered()
    if registration is Registration.PENDING and frame.action in REFUSED_WHILE_PENDING:
        return AnswerAtOnce(encode_call_result(frame.message_id, frame.action, {"status": "Rejected"}))
    owner = routes.get(frame.action)
    if owner is None:
        return AnswerAtOnce(encode_call_error(frame.message_id, "NotSupported",
                                              f"{frame.action} is not supported by this charge point"))
    return DeliverTo(owner)


class UnansweredCalls:
    """The CSMS CALLs handed to their owner and not answered yet, each with its overdue timer."""

    def __init__(self) -> None:
        self._calls: dict[str, tuple[str, TimerHandle]] = {}

    def __bool__(self) -> bool:
        return bool(self._calls)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._calls

    def add(self, message_id: str, action: str, overdue: TimerHandle) -> None:
        self._calls[message_id] = (action, overdue)

    def action_of(self, message_id: str) -> str:
        return self._calls[message_id][0]

    def settle(self, message_id: str) -> TimerHandle | None:
        """Forget an answered CALL; returns its overdue timer (to cancel), None if unknown."""
        _action, overdue = self._calls.pop(message_id, ("", None))
        return overdue

    def forget_all(self) -> list[TimerHandle]:
        """Forget every CALL (the link is gone, and with it the chance to answer); returns
        their overdue timers."""
        timers = [overdue for _action, overdue in self._calls.values()]
        self._calls.clear()
        return timers
