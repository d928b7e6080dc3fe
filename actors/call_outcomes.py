"""How a CALL of ours ends, as plain decisions: what its sender is told.

The CSMS answers with a CALLRESULT (valid against the action's response schema, or it
counts as a failure) or a CALLERROR; or nothing comes in time; or the link goes down; or
the queue drops the call. Each failure is a :class:`CallFailed` for the sender; a durable
call that fails TransactionMessageAttempts times is given up. The CSMS link keeps the queue
(:mod:`actors.call_queue`) and does the I/O; this module builds what it reports.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from messages.csms import CallFailed, FailureKind
from messages.frames import CallErrorFrame
from messages.payload import thaw
from messages.validation import SchemaViolation, validate_response

if TYPE_CHECKING:
    from messages.csms import SendCall
    from messages.frames import CallResultFrame

__all__ = ["answer_failure", "call_failed", "given_up"]


def call_failed(call: SendCall, kind: FailureKind, description: str = "", error_code: str = "") -> CallFailed:
    """The failure of ``call``, addressed by its action and correlation."""
    return CallFailed(action=call.action, correlation=call.correlation, kind=kind, error_code=error_code,
                      description=description)


def answer_failure(call: SendCall, frame: CallResultFrame | CallErrorFrame) -> CallFailed | None:
    """Why the CSMS's answer to ``call`` does not count as a result (a CALLERROR, or a
    CALLRESULT that breaks the response schema); None for a valid CALLRESULT."""
    if isinstance(frame, CallErrorFrame):
        return call_failed(call, FailureKind.CALL_ERROR, frame.description, frame.error_code)
    try:
        validate_response(call.action, thaw(frame.payload))
    except SchemaViolation as exc:
        return call_failed(call, FailureKind.INVALID, str(exc))
    return None


def given_up(failure: CallFailed, attempts: int) -> CallFailed:
    """The final failure of a durable call after its last attempt, saying what the last one met."""
    return replace(failure, kind=FailureKind.GIVEN_UP,
                   description=f"{failure.kind.value} {failure.error_code} {failure.description} "
                               f"({attempts} attempts)".strip())
