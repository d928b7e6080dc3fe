"""The OCPP-J frame codec: what each malformed frame is answered with, and what we send."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages.frames import (
    CallErrorFrame,
    CallFrame,
    CallResultFrame,
    FrameError,
    decode,
    encode_call,
    encode_call_error,
    encode_call_result,
    normalise_error_code,
    validate_call,
)
from messages.payload import freeze
from messages.validation import KNOWN_ACTIONS, SchemaViolation

FORMATION = "FormationViolation"
PROPERTY = "PropertyConstraintViolation"

LIMIT_PROFILE = {
    "connectorId": 1,
    "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {"chargingRateUnit": "A",
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}]},
    },
}


def call(action: str, payload: object, message_id: str = "m1") -> str:
    return json.dumps([2, message_id, action, payload])


def answer_to(text: str | bytes) -> tuple[str, str]:
    """The (error code, message id) of the CALLERROR that answers an incoming ``text``."""
    with pytest.raises(FrameError) as info:
        frame = decode(text)
        assert isinstance(frame, CallFrame), f"decoded into {frame!r}"
        validate_call(frame)
    return info.value.error_code, info.value.message_id


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# --- malformed incoming CALLs -------------------------------------------------------------

MALFORMED = [
    # (why, frame text, error code, message id answered to)
    ("not JSON", "{not json", FORMATION, "-1"),
    ("cut-off JSON with a readable id", '[2,"abc","Heartbeat",{', FORMATION, "abc"),
    ("not UTF-8", b'[2,"m1","Heartbeat",{}]\xff', FORMATION, "-1"),
    ("not an array", '{"messageTypeId":2}', FORMATION, "-1"),
    ("a bare string", '"hello"', FORMATION, "-1"),
    ("empty array", "[]", FORMATION, "-1"),
    ("unknown message type", '[5,"m1","Heartbeat",{}]', FORMATION, "m1"),
    ("message type as a string", '["2","m1","Heartbeat",{}]', FORMATION, "m1"),
    ("message type true", '[true,"m1","Heartbeat",{}]', FORMATION, "m1"),
    ("message type 2.0", '[2.0,"m1","Heartbeat",{}]', FORMATION, "m1"),
    ("message type a list", '[[2],"m1","Heartbeat",{}]', FORMATION, "m1"),
    ("message type an object", '[{"t":2},"m1"]', FORMATION, "m1"),
    ("CALL with 3 elements", '[2,"m1","Heartbeat"]', FORMATION, "m1"),
    ("CALL with 5 elements", '[2,"m1","Heartbeat",{},{}]', FORMATION, "m1"),
    ("numeric message id", '[2,17,"Heartbeat",{}]', FORMATION, "-1"),
    ("empty message id", '[2,"","Heartbeat",{}]', FORMATION, "-1"),
    ("message id over 36 characters", call("Heartbeat", {}, "x" * 37), FORMATION, "-1"),
    ("action not a string", '[2,"m1",7,{}]', FORMATION, "m1"),
    ("unknown action", call("Teleport", {}), "NotImplemented", "m1"),
    ("response schema name as action", call("HeartbeatResponse", {}), "NotImplemented", "m1"),
    ("payload an array", call("Heartbeat", []), FORMATION, "m1"),
    ("payload null", call("Heartbeat", None), FORMATION, "m1"),
    ("missing required field", call("ChangeAvailability", {"connectorId": 1}),
     "OccurenceConstraintViolation", "m1"),
    ("wrong type", call("ChangeAvailability", {"connectorId": "1", "type": "Operative"}),
     "TypeConstraintViolation", "m1"),
    ("extra property", call("ChangeAvailability", {"connectorId": 1, "type": "Operative", "x": 1}),
     FORMATION, "m1"),
    ("bad enum value", call("ChangeAvailability", {"connectorId": 1, "type": "Sometimes"}),
     PROPERTY, "m1"),
    ("string too long", call("ChangeConfiguration", {"key": "k" * 51, "value": "1"}), PROPERTY, "m1"),
    ("bad date-time", call("ReserveNow", {"connectorId": 1, "expiryDate": "tomorrow",
                                          "idTag": "A", "reservationId": 1}), PROPERTY, "m1"),
    ("date without time", call("ReserveNow", {"connectorId": 1, "expiryDate": "2026-01-01",
                                              "idTag": "A", "reservationId": 1}), PROPERTY, "m1"),
    ("limit NaN", call("SetChargingProfile", LIMIT_PROFILE).replace("21.4", "NaN"), PROPERTY, "m1"),
    ("array nested beyond the recursion limit", "[" * 100_000, FORMATION, "-1"),
    ("payload nested beyond the recursion limit", call("DataTransfer", {}).replace("{}", nested(5000)),
     FORMATION, "m1"),
    ("payload parsable but too deep to freeze", call("DataTransfer", {}).replace("{}", nested(700)),
     FORMATION, "m1"),
]


@pytest.mark.parametrize(("text", "code", "message_id"), [case[1:] for case in MALFORMED],
                         ids=[case[0] for case in MALFORMED])
def test_malformed_call_is_answered_with(text: str | bytes, code: str, message_id: str) -> None:
    assert answer_to(text) == (code, message_id)


def test_errors_in_a_call_are_marked_for_an_answer() -> None:
    """The link answers FrameErrors of type CALL (2) or unknown (None) with a CALLERROR."""
    for text in ("[]", '[2,"m1","Heartbeat",[]]', call("Teleport", {})):
        with pytest.raises(FrameError) as info:
            validate_call(decode(text))  # type: ignore[arg-type]
        assert info.value.message_type in (2, None)


def test_validate_call_survives_a_payload_too_deep_to_thaw() -> None:
    """Built without recursion, as the actor's stack may be deeper than the decoder's."""
    payload: object = 1
    for _ in range(5000):
        payload = MappingProxyType({"a": payload})
    frame = CallFrame("m1", "DataTransfer", MappingProxyType({"vendorId": "v", "data": payload}))
    with pytest.raises(FrameError) as info:
        validate_call(frame)
    assert (info.value.error_code, info.value.message_id) == (FORMATION, "m1")


# --- well-formed frames ----------------------------------------------------------------------


def test_valid_call_decodes_into_a_frozen_payload() -> None:
    frame = decode(call("ChangeAvailability", {"connectorId": 1, "type": "Operative"}))
    assert frame == CallFrame("m1", "ChangeAvailability",
                              freeze({"connectorId": 1, "type": "Operative"}))  # type: ignore[arg-type]
    validate_call(frame)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        frame.payload["type"] = "Inoperative"  # type: ignore[index]


def test_bytes_decode_like_text() -> None:
    assert decode(call("Heartbeat", {}).encode()) == decode(call("Heartbeat", {}))


def test_call_result_decodes() -> None:
    frame = decode('[3,"m1",{"currentTime":"2026-01-01T00:00:00Z"}]')
    assert frame == CallResultFrame("m1", freeze({"currentTime": "2026-01-01T00:00:00Z"}))  # type: ignore[arg-type]


def test_call_error_decodes() -> None:
    frame = decode('[4,"m1","NotSupported","no such thing",{"hint":[1]}]')
    assert frame == CallErrorFrame("m1", "NotSupported", "no such thing", freeze({"hint": [1]}))  # type: ignore[arg-type]


@pytest.mark.parametrize(("spelled", "read_as"), [
    ("FormatViolation", "FormationViolation"),
    ("OccurrenceConstraintViolation", "OccurenceConstraintViolation"),
    ("FormationViolation", "FormationViolation"),
    ("GenericError", "GenericError"),
])
def test_error_codes_are_read_in_their_1_6_spelling(spelled: str, read_as: str) -> None:
    frame = decode(json.dumps([4, "m1", spelled, "", {}]))
    assert isinstance(frame, CallErrorFrame)
    assert frame.error_code == read_as
    assert normalise_error_code(spelled) == read_as


@pytest.mark.parametrize(("text", "message_type"), [
    ('[3,"m1",[]]', 3),
    ('[3,"m1",{},{}]', 3),
    ('[4,"m1",7,"",{}]', 4),
    ('[4,"m1","GenericError","",[]]', 4),
    ('[4,"m1","GenericError"]', 4),
])
def test_broken_answers_are_marked_as_answers_so_they_are_only_logged(
        text: str, message_type: int) -> None:
    with pytest.raises(FrameError) as info:
        decode(text)
    assert info.value.message_type == message_type
    assert info.value.message_id == "m1"


# --- encoding -------------------------------------------------------------------------------


def test_encode_call_writes_compact_json() -> None:
    payload = freeze({"chargePointVendor": "Acme", "chargePointModel": "Ü1"})
    assert encode_call("m1", "BootNotification", payload) == (  # type: ignore[arg-type]
        '[2,"m1","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"Ü1"}]')


def test_encode_call_refuses_an_invalid_payload() -> None:
    with pytest.raises(SchemaViolation) as info:
        encode_call("m1", "BootNotification", freeze({"chargePointVendor": "Acme"}))  # type: ignore[arg-type]
    assert info.value.error_code == "OccurenceConstraintViolation"


def test_decimal_limit_encodes_as_the_same_float() -> None:
    text = encode_call("m1", "SetChargingProfile", freeze(LIMIT_PROFILE))  # type: ignore[arg-type]
    assert '"limit":21.4}' in text
    limit = json.loads(text)[3]["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
    assert isinstance(limit, float)
    assert limit == 21.4


def test_decimal_limit_in_an_incoming_call_validates() -> None:
    validate_call(decode(call("SetChargingProfile", LIMIT_PROFILE)))  # type: ignore[arg-type]


def test_encode_call_result_checks_the_response_schema() -> None:
    assert encode_call_result("m1", "ChangeAvailability", freeze({"status": "Accepted"})) == (  # type: ignore[arg-type]
        '[3,"m1",{"status":"Accepted"}]')
    with pytest.raises(SchemaViolation):
        encode_call_result("m1", "ChangeAvailability", freeze({"status": "Maybe"}))  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["FormatViolation", "FormationViolation"])
def test_encode_call_error_always_writes_the_1_6_spelling(code: str) -> None:
    assert encode_call_error("m1", code, "bad") == '[4,"m1","FormationViolation","bad",{}]'


def test_encode_call_error_spelling_of_occurence() -> None:
    text = encode_call_error("m1", "OccurrenceConstraintViolation")
    assert json.loads(text)[2] == "OccurenceConstraintViolation"


def test_encode_call_error_caps_the_description_and_keeps_details() -> None:
    frame = json.loads(encode_call_error("m1", "GenericError", "x" * 300, freeze({"why": ["a"]})))  # type: ignore[arg-type]
    assert frame == [4, "m1", "GenericError", "x" * 255, {"why": ["a"]}]


@pytest.mark.parametrize("text", [
    '[2,"m1","Heartbeat",{}]',
    '[3,"m1",{"currentTime":"2026-01-01T00:00:00Z"}]',
    '[4,"m1","GenericError","oops",{}]',
])
def test_decode_then_encode_round_trips(text: str) -> None:
    frame = decode(text)
    if isinstance(frame, CallFrame):
        assert encode_call(frame.message_id, frame.action, frame.payload) == text
    elif isinstance(frame, CallResultFrame):
        assert encode_call_result(frame.message_id, "Heartbeat", frame.payload) == text
    else:
        assert encode_call_error(frame.message_id, frame.error_code, frame.description,
                                 frame.details) == text


# --- decode never crashes -------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children,
                                                                       max_size=5),
    max_leaves=25,
)
frame_like = st.tuples(
    st.sampled_from([2, 3, 4]),
    st.text(max_size=40) | json_values,
    st.sampled_from(sorted(KNOWN_ACTIONS)) | json_values,
    st.lists(json_values, max_size=3),
).map(lambda t: [t[0], t[1], t[2], *t[3]])


def decode_and_validate(text: str | bytes) -> None:
    """What the CSMS link does with every frame: only FrameError may come out."""
    try:
        frame = decode(text)
        if isinstance(frame, CallFrame):
            validate_call(frame)
    except FrameError:
        pass


@given(st.text())
def test_arbitrary_text_raises_only_frame_error(text: str) -> None:
    decode_and_validate(text)


@given(st.binary())
def test_arbitrary_bytes_raise_only_frame_error(data: bytes) -> None:
    decode_and_validate(data)


@given(json_values | frame_like)
def test_arbitrary_json_raises_only_frame_error(value: object) -> None:
    decode_and_validate(json.dumps(value))
