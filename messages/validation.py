"""Schema checks for OCPP 1.6 payloads, and the one table from failure kind to error code.

The schemas are the ones shipped by the ``ocpp`` package. We build our own validators on
them because the package's validator checks no formats (any string passes as a date-time)
and reports errors with OCPP 2.0 spellings.
"""

from __future__ import annotations

import decimal
import functools
import json
from datetime import datetime
from importlib import resources

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError

__all__ = [
    "ERROR_CODE_BY_RULE",
    "KNOWN_ACTIONS",
    "SchemaViolation",
    "validate_request",
    "validate_response",
]

_SCHEMAS = resources.files("ocpp") / "v16" / "schemas"  # without importing ocpp.v16 (~45 ms)

KNOWN_ACTIONS: frozenset[str] = frozenset(
    p.name.removesuffix(".json")
    for p in _SCHEMAS.iterdir()
    if p.name.endswith(".json") and not p.name.endswith("Response.json")
)
"""Every action OCPP 1.6 (with the security extension) defines."""

ERROR_CODE_BY_RULE: dict[str, str] = {
    # OCPP-J 1.6 §4.2.3, by what the payload breaks:
    "required": "OccurenceConstraintViolation",  # a field occurs fewer times than required
    "type": "TypeConstraintViolation",  # a field has the wrong data type
    "additionalProperties": "FormationViolation",  # does not conform to the PDU structure
    # Any other rule (enum, maxLength, format, multipleOf, ...): a field has an invalid value.
}
DEFAULT_ERROR_CODE = "PropertyConstraintViolation"

# Actions whose schemas hold decimal limits (multipleOf 0.1): validate them with Decimals,
# or 21.4 fails as 21.399999999999995.
_DECIMAL_ACTIONS = frozenset({"SetChargingProfile", "RemoteStartTransaction", "GetCompositeSchedule"})

_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return "T" in value.upper() and parsed is not None


@_formats.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or (":" in value and " " not in value.strip())


class SchemaViolation(Exception):
    """A payload breaks its schema; ``error_code`` is the 1.6 CALLERROR code to answer with."""

    def __init__(self, error_code: str, description: str) -> None:
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description


@functools.cache
def _validator(schema_name: str, decimals: bool) -> Draft4Validator:
    text = (_SCHEMAS / f"{schema_name}.json").read_text(encoding="utf-8-sig")
    schema = json.loads(text, parse_float=decimal.Decimal if decimals else float)
    return Draft4Validator(schema, format_checker=_formats)


def _check(schema_name: str, action: str, payload: object) -> None:
    decimals = action in _DECIMAL_ACTIONS
    if decimals:
        payload = json.loads(json.dumps(payload), parse_float=decimal.Decimal)
    try:
        error = _first_error(_validator(schema_name, decimals), payload)
    except (TypeError, ArithmeticError) as exc:
        # multipleOf on NaN, Infinity or a number beyond Decimal precision cannot be computed.
        raise SchemaViolation(DEFAULT_ERROR_CODE, f"{action}: number out of range: {exc!r}") from exc
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "payload"
        code = ERROR_CODE_BY_RULE.get(str(error.validator), DEFAULT_ERROR_CODE)
        raise SchemaViolation(code, f"{action}: {where}: {error.message}")


def _first_error(validator: Draft4Validator, payload: object) -> ValidationError | None:
    # The most relevant error first: a wrong top-level type before the details inside it.
    errors = sorted(validator.iter_errors(payload), key=lambda e: (len(e.absolute_path), e.path))
    return errors[0] if errors else None


def validate_request(action: str, payload: object) -> None:
    """Check a CALL payload; raises :class:`SchemaViolation`. ``action`` must be known."""
    _check(action, action, payload)


def validate_response(action: str, payload: object) -> None:
    """Check a CALLRESULT payload for ``action``; raises :class:`SchemaViolation`."""
    _check(f"{action}Response", action, payload)
