"""Reading CSMS frames, routing CSMS CALLs, and the book of CALLs we still owe an answer."""

from __future__ import annotations

import json

import pytest

from actors.incoming_calls import (
    AnswerAtOnce,
    DeliverTo,
    DropUnregistered,
    MalformedFrame,
    UnansweredCalls,
    read_frame,
    route_call,
)
from messages.csms import Registration
from messages.frames import CallFrame, CallResultFrame

ROUTES = {"RemoteStartTransaction": "evse", "GetConfiguration": "configuration"}


def call(action: str, payload: dict[str, object] | None = None, message_id: str = "m1") -> CallFrame:
    frame = read_frame(json.dumps([2, message_id, action, payload or {}]))
    assert isinstance(frame, CallFrame)
    return frame


# --- read_frame --------------------------------------------------------------------------

def test_a_valid_call_and_an_answer_are_read() -> None:
    assert call("GetConfiguration").action == "GetConfiguration"
    assert isinstance(read_frame('[3,"m2",{"currentTime":"2026-01-01T00:00:00Z"}]'), CallResultFrame)


def test_a_broken_call_is_owed_a_callerror_with_its_code() -> None:
    bad = read_frame('[2,"m3","RemoteStartTransaction",{}]')  # idTag missing
    assert isinstance(bad, MalformedFrame)
    assert bad.error_code == "OccurenceConstraintViolation"
    assert bad.call_error is not None
    assert json.loads(bad.call_error)[:3] == [4, "m3", "OccurenceConstraintViolation"]


def test_an_unknown_action_is_not_implemented() -> None:
    bad = read_frame('[2,"m4","MakeCoffee",{}]')
    assert isinstance(bad, MalformedFrame)
    assert bad.call_error is not None
    assert json.loads(bad.call_error)[:3] == [4, "m4", "NotImplemented"]


def test_a_frame_of_unknown_type_is_answered_under_the_unknown_id() -> None:
    bad = read_frame("not json")
    assert isinstance(bad, MalformedFrame)
    assert bad.call_error is not None
    assert json.loads(bad.call_error)[:3] == [4, "-1", "FormationViolation"]


def test_a_broken_answer_is_only_reported() -> None:
    bad = read_frame('[3,"m5",[]]')
    assert isinstance(bad, MalformedFrame)
    assert bad.call_error is None
    assert bad.error_code == "FormationViolation"


# --- route_call --------------------------------------------------------------------------

@pytest.mark.parametrize("registration", [Registration.UNKNOWN, Registration.REJECTED])
def test_nothing_is_answered_before_registration(registration: Registration) -> None:
    assert route_call(call("GetConfiguration"), registration, ROUTES) == DropUnregistered()


def test_pending_refuses_remote_start_and_stop_but_lets_configuration_through() -> None:
    route = route_call(call("RemoteStartTransaction", {"idTag": "T1"}), Registration.PENDING, ROUTES)
    assert isinstance(route, AnswerAtOnce)
    assert json.loads(route.frame) == [3, "m1", {"status": "Rejected"}]
    assert route_call(call("GetConfiguration"), Registration.PENDING, ROUTES) == DeliverTo("configuration")


def test_accepted_routes_to_the_owner() -> None:
    route = route_call(call("RemoteStartTransaction", {"idTag": "T1"}), Registration.ACCEPTED, ROUTES)
    assert route == DeliverTo("evse")


def test_an_action_without_an_owner_is_not_supported() -> None:
    route = route_call(call("ClearCache"), Registration.ACCEPTED, ROUTES)
    assert isinstance(route, AnswerAtOnce)
    assert json.loads(route.frame)[:3] == [4, "m1", "NotSupported"]


# --- UnansweredCalls ---------------------------------------------------------------------

def test_a_call_is_owed_until_settled() -> None:
    owed, timer = UnansweredCalls(), object()
    assert not owed
    owed.add("m1", "GetConfiguration", timer)  # type: ignore[arg-type]
    assert owed and "m1" in owed
    assert owed.action_of("m1") == "GetConfiguration"
    assert owed.settle("m1") is timer
    assert not owed and "m1" not in owed
    assert owed.settle("m1") is None  # a late second answer


def test_forget_all_hands_back_every_timer() -> None:
    owed = UnansweredCalls()
    timers = [object(), object()]
    owed.add("m1", "GetConfiguration", timers[0])  # type: ignore[arg-type]
    owed.add("m2", "ClearCache", timers[1])  # type: ignore[arg-type]
    assert owed.forget_all() == timers
    assert not owed
