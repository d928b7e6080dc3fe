"""The OCPP-J 1.6 frame codec: the only place that knows the wire format.

Pure functions. Decoding never raises anything but :class:`FrameError`, which carries the
CALLERROR to answer with (code, description and the message id to answer to, ``"-1"``
when the frame is too broken to tell). We send the 1.6 spellings of error codes and accept
every spelling when reading.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from messages.payload import freeze, thaw
from messages.validation import KNOWN_ACTIONS, SchemaViolation, validate_request, validate_response

if TYPE_CHECKING:
    from messages.payload import Payload

__all__ = [
    "redact",
    "CALL",
    "CALLERROR",
    "CALLRESULT",
    "CallErrorFrame",
    "CallFrame",
    "CallResultFrame",
    "Frame",
    "FrameError",
    "decode",
    "encode_call",
    "encode_call_error",
    "encode_call_result",
    "normalise_error_code",
    "validate_call",
]

CALL, CALLRESULT, CALLERROR = 2, 3, 4
UNKNOWN_ID = "-1"

_ERROR_CODE_SPELLINGS = {
    # OCPP 2.0 spellings, which peers built on 2.0 libraries send, to their 1.6 names.
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}


def normalise_error_code(code: str) -> str:
    """The 1.6 name of a CALLERROR code, whichever spelling the peer used."""
    return _ERROR_CODE_SPELLINGS.get(code, code)


@dataclass(frozen=True, slots=True)
class CallFrame:
    """``[2, id, action, payload]``."""

    message_id: str
    action: str
    payload: Payload


@dataclass(frozen=True, slots=True)
class CallResultFrame:
    """``[3, id, payload]``; the action is known only to whoever sent the CALL."""

    message_id: str
    payload: Payload


@dataclass(frozen=True, slots=True)
class CallErrorFrame:
    """``[4, id, code, description, details]``."""

    message_id: str
    error_code: str
    description: str
    details: Payload


Frame = CallFrame | CallResultFrame | CallErrorFrame


class FrameError(Exception):
    """An incoming frame that must be answered with a CALLERROR (or, for a broken
    CALLRESULT/CALLERROR, only logged: OCPP-J never answers those)."""

    def __init__(self, error_code: str, description: str, message_id: str = UNKNOWN_ID,
                 message_type: int | None = None) -> None:
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description
        self.message_id = message_id
        self.message_type = message_type


_ID_IN_BROKEN_FRAME = re.compile(r'^\s*\[\s*[234]\s*,\s*"([^"\\]{1,36})"')


def decode(text: str | bytes) -> Frame:
    """Parse one websocket text frame into a frame object (payload not yet schema-checked)."""
    try:
        return _decode(text)
    except RecursionError as exc:
        match = _ID_IN_BROKEN_FRAME.match(text) if isinstance(text, str) else None
        raise FrameError("FormationViolation", "frame is nested too deeply",
                         match.group(1) if match else UNKNOWN_ID) from exc


def _decode(text: str | bytes) -> Frame:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FrameError("FormationViolation", f"frame is not UTF-8: {exc}") from exc
    try:
        value = json.loads(text)
    except ValueError as exc:
        match = _ID_IN_BROKEN_FRAME.match(text)
        raise FrameError("FormationViolation", f"frame is not JSON: {exc}",
                         match.group(1) if match else UNKNOWN_ID) from exc
    if not isinstance(value, list) or not value:
        raise FrameError("FormationViolation", "frame is not a JSON array with a message type")
    message_type = value[0]
    message_id = value[1] if len(value) > 1 and isinstance(value[1], str) else UNKNOWN_ID
    # Only a JSON integer is a message type: not 2.0, not true, not an (unhashable) list.
    is_int = isinstance(message_type, int) and not isinstance(message_type, bool)
    expected = {CALL: 4, CALLRESULT: 3, CALLERROR: 5}.get(message_type) if is_int else None
    if expected is None:
        raise FrameError("FormationViolation", f"unknown message type {message_type!r}", message_id)
    if len(value) != expected:
        raise FrameError("FormationViolation",
                         f"message type {message_type} needs {expected} elements, got {len(value)}",
                         message_id, message_type)
    if not isinstance(value[1], str) or not 0 < len(value[1]) <= 36:
        raise FrameError("FormationViolation", "message id must be a string of 1..36 characters",
                         UNKNOWN_ID, message_type)
    if message_type == CALL:
        return _decode_call(value)
    if message_type == CALLRESULT:
        if not isinstance(value[2], dict):
            raise FrameError("FormationViolation", "CALLRESULT payload must be an object",
                             message_id, message_type)
        return CallResultFrame(message_id, freeze(value[2]))  # type: ignore[arg-type]
    code, description, details = value[2], value[3], value[4]
    if not isinstance(code, str) or not isinstance(description, str) or not isinstance(details, dict):
        raise FrameError("FormationViolation", "malformed CALLERROR", message_id, message_type)
    return CallErrorFrame(message_id, normalise_error_code(code), description,
                          freeze(details))  # type: ignore[arg-type]


def _decode_call(value: list[object]) -> CallFrame:
    message_id, action, payload = value[1], value[2], value[3]
    assert isinstance(message_id, str)
    if not isinstance(action, str):
        raise FrameError("FormationViolation", "action must be a string", message_id, CALL)
    if not isinstance(payload, dict):
        raise FrameError("FormationViolation", f"{action}: payload must be a JSON object",
                         message_id, CALL)
    return CallFrame(message_id, action, freeze(payload))  # type: ignore[arg-type]


def validate_call(frame: CallFrame) -> None:
    """Schema-check an incoming CALL; raises :class:`FrameError` with the code to answer."""
    if frame.action not in KNOWN_ACTIONS:
        raise FrameError("NotImplemented", f"unknown action {frame.action!r}", frame.message_id, CALL)
    try:
        validate_request(frame.action, thaw(frame.payload))
    except SchemaViolation as exc:
        raise FrameError(exc.error_code, exc.description, frame.message_id, CALL) from exc
    except RecursionError as exc:
        raise FrameError("FormationViolation", f"{frame.action}: payload is nested too deeply",
                         frame.message_id, CALL) from exc


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encode_call(message_id: str, action: str, payload: Payload) -> str:
    """Build a CALL frame, checking our own payload first (raises SchemaViolation)."""
    plain = thaw(payload)
    validate_request(action, plain)
    return _dumps([CALL, message_id, action, plain])


def encode_call_result(message_id: str, action: str, payload: Payload) -> str:
    """Build the CALLRESULT answering a CALL of ``action`` (raises SchemaViolation)."""
    plain = thaw(payload)
    validate_response(action, plain)
    return _dumps([CALLRESULT, message_id, plain])


def encode_call_error(message_id: str, error_code: str, description: str = "",
                      details: Payload | None = None) -> str:
    """Build a CALLERROR frame with the 1.6 spelling of the code."""
    return _dumps([CALLERROR, message_id, normalise_error_code(error_code),
                   description[:255], thaw(details or {})])


SECRET_KEYS = frozenset({"authorizationkey"})
"""Configuration keys whose values never reach a log or a trace."""
_SECRET_HINT = re.compile("authorizationkey", re.IGNORECASE)


def redact(text: str) -> str:
    """The frame as logs and traces may keep it: the value of a ChangeConfiguration of a secret
    key replaced by asterisks. Anything that does not parse is left as it is (it was refused)."""
    if not _SECRET_HINT.search(text):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if (isinstance(value, list) and len(value) == 4 and value[0] == 2 and value[2] == "ChangeConfiguration"
            and isinstance(value[3], dict) and str(value[3].get("key", "")).lower() in SECRET_KEYS):
        value[3] = {**value[3], "value": "********"}
        return _dumps(value)
    return text
