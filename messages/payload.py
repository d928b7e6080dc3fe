"""Immutable JSON payloads, so OCPP data can cross actor threads safely.

An OCPP payload travels between actors inside frozen message dataclasses. Dicts become
read-only mappings and lists become tuples; :func:`thaw` gives back plain JSON for the
wire and for schema validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Union

__all__ = ["Json", "Payload", "freeze", "thaw"]

Json = Union[None, bool, int, float, str, tuple["Json", ...], Mapping[str, "Json"]]
"""A frozen JSON value."""

Payload = Mapping[str, Json]
"""A frozen OCPP payload: the JSON object of a CALL or CALLRESULT, camelCase keys."""


def freeze(value: object) -> Json:
    """Deep-copy a JSON value into its read-only form (idempotent)."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value  # type: ignore[return-value]


def thaw(value: object) -> object:
    """Deep-copy a frozen JSON value back into plain dicts and lists."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value
