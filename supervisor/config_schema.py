"""JSON-schema and JSON-value helpers for configuration loading.

Kept apart from `supervisor.config` so that the loader reads as a sequence of steps, while the
details of draft-07 (strict integers, defaults, turning validator errors into one-line rules an
operator can act on) live here.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Sequence

from jsonschema import Draft7Validator, validators

DEPLOY_DIR = Path(__file__).resolve().parent.parent / "deploy"
SCHEMA_PATH = DEPLOY_DIR / "charge-point-config.schema.json"


def _is_strict_integer(_checker: Any, instance: Any) -> bool:
    # Draft-07 calls 1.0 an integer and Python calls True one; a config value of either would
    # reach timers and counters as the wrong type, so both are refused.
    return isinstance(instance, int) and not isinstance(instance, bool)


StrictDraft7Validator = validators.extend(
    Draft7Validator,
    type_checker=Draft7Validator.TYPE_CHECKER.redefine("integer", _is_strict_integer),
)


@dataclass(frozen=True)
class Problem:
    """One schema violation: where (path of keys) and which rule, in operator words."""

    path: tuple[str | int, ...]
    rule: str


def dotted(path: Sequence[str | int]) -> str:
    """`("Internal", "SupportedCiphers12", 1)` -> `Internal.SupportedCiphers12[1]`; `()` -> `-`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "-"


def describe(schema: Mapping[str, Any]) -> str:
    """What a value must be, e.g. 'an integer >= 0' or 'a string of at most 25 characters'."""
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        text = "an integer" if kind == "integer" else "a number"
        if low is not None and high is not None:
            return f"{text} between {low} and {high}"
        if low is not None:
            return f"{text} >= {low}"
        return f"{text} <= {high}" if high is not None else text
    if kind == "string":
        low, high = schema.get("minLength"), schema.get("maxLength")
        text = "a string"
        if low is not None and low == high:
            text += f" of exactly {low} characters"
        elif low is not None and high is not None:
            text += f" of {low} to {high} characters"
        elif high is not None:
            text += f" of at most {high} characters"
        elif low is not None:
            text += f" of at least {low} characters"
        if "pattern" in schema:
            text += f" matching {schema['pattern']}"
        return text
    if kind == "boolean":
        return "a boolean (true or false)"
    if kind == "array":
        return "a list of " + ("strings" if schema.get("items", {}).get("type") == "string" else "values")
    if kind == "object":
        return "an object"
    return "valid"


def _shown(value: Any, schema: Mapping[str, Any]) -> str:
    """The offending value for an error line; secrets are described, never echoed."""
    if schema.get("writeOnly"):
        return "a secret value (not shown)"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(name: str, known: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(name, known, n=1) or [
        k for k in known if k.lower() == name.lower()
    ]
    return f"unknown {what} (did you mean {close[0]!r}?)" if close else f"unknown {what}"


def problems(schema: Mapping[str, Any], instance: Any, what: str = "key") -> list[Problem]:
    """Every violation of `schema` by `instance`, sorted by path so reports are deterministic.

    `what` names a top-level unknown property ("profile", "module option"); deeper ones are keys.
    """
    found: set[Problem] = set()
    for error in StrictDraft7Validator(schema).iter_errors(instance):
        found.update(_explain(error, what))
    return sorted(found, key=lambda p: (dotted(p.path), p.rule))


def _explain(error: Any, what: str) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    if error.validator == "required":
        for name in error.validator_value:
            if isinstance(error.instance, dict) and name not in error.instance:
                yield Problem(path + (name,), "required key is missing")
    elif error.validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        kind = what if not path else "key"
        for name in error.instance:
            if name not in known:
                yield Problem(path + (name,), _suggest(name, known, kind))
    elif error.validator in ("type", "minimum", "maximum", "minLength", "maxLength", "enum", "pattern"):
        rule = f"must be {describe(error.schema)}, got {_shown(error.instance, error.schema)}"
        yield Problem(path, rule)
    else:
        yield Problem(path, error.message)


def apply_defaults(schema: Mapping[str, Any], config: dict[str, Any]) -> None:
    """Fill absent keys of the profiles present with their schema defaults (in place).

    Only profiles that exist get defaults: an absent optional profile means "not supported".
    """
    for profile, profile_schema in schema.get("properties", {}).items():
        section = config.get(profile)
        if not isinstance(section, dict):
            continue
        for key, key_schema in profile_schema.get("properties", {}).items():
            if key not in section and "default" in key_schema:
                section[key] = json.loads(json.dumps(key_schema["default"]))


def flagged_keys(schema: Mapping[str, Any], flag: str) -> frozenset[str]:
    """Lower-cased names of every key whose schema carries `flag` ("readOnly"/"writeOnly")."""
    return frozenset(
        key.lower()
        for profile_schema in schema.get("properties", {}).values()
        for key, key_schema in profile_schema.get("properties", {}).items()
        if key_schema.get(flag)
    )


def patch_touches(patch: Mapping[str, Any], path: Sequence[str | int]) -> bool:
    """Did the patch set (or delete) the value at `path`, or an ancestor of it, wholesale?"""
    node: Any = patch
    for part in path:
        if not isinstance(node, dict):
            return True  # the patch replaced this whole subtree with a scalar or list
        if part not in node:
            return False
        node = node[part]
    return True


def freeze(value: Any) -> Any:
    """Read-only view of a JSON value (objects -> mappingproxy, lists -> tuples): config is shared
    between actor threads, so nobody may change it in place."""
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain, independent JSON value from a frozen one (the inverse of `freeze`)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value
