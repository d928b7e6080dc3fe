"""What the sender of a CALL is told: a CALLERROR, an invalid answer, or giving up."""

from __future__ import annotations

from actors.call_outcomes import answer_failure, call_failed, given_up
from messages.csms import FailureKind, SendCall
from messages.frames import CallErrorFrame, CallResultFrame

HEARTBEAT = SendCall(action="Heartbeat", correlation="c1")


def test_a_failure_is_addressed_by_action_and_correlation() -> None:
    failure = call_failed(HEARTBEAT, FailureKind.TIMEOUT, "no answer")
    assert (failure.action, failure.correlation, failure.kind, failure.description, failure.error_code) == (
        "Heartbeat", "c1", FailureKind.TIMEOUT, "no answer", "")


def test_a_valid_callresult_is_no_failure() -> None:
    assert answer_failure(HEARTBEAT, CallResultFrame("m1", {"currentTime": "2026-01-01T00:00:00Z"})) is None


def test_a_callerror_fails_with_its_code() -> None:
    failure = answer_failure(HEARTBEAT, CallErrorFrame("m1", "InternalError", "boom", {}))
    assert failure == call_failed(HEARTBEAT, FailureKind.CALL_ERROR, "boom", "InternalError")


def test_a_callresult_that_breaks_the_schema_is_invalid() -> None:
    failure = answer_failure(HEARTBEAT, CallResultFrame("m1", {}))
    assert failure is not None
    assert failure.kind is FailureKind.INVALID
    assert "currentTime" in failure.description


def test_giving_up_says_what_the_last_attempt_met() -> None:
    last = call_failed(SendCall(action="StopTransaction"), FailureKind.CALL_ERROR, "boom", "InternalError")
    final = given_up(last, 3)
    assert final.kind is FailureKind.GIVEN_UP
    assert final.description == "CallError InternalError boom (3 attempts)"
    assert (final.action, final.error_code) == ("StopTransaction", "InternalError")
