"""Configuration: owner of the OCPP configuration keys as the CSMS sees them.

Answers GetConfiguration from the charge point config loaded at start. AuthorizationKey is
write-only: it is listed, never with its value.

Accepts (tell): CallReceived(GetConfiguration). Emits: SendCallResult to the CSMS connection.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from messages.csms import CallReceived, SendCallError, SendCallResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext

__all__ = ["Configuration", "format_value"]

VALUE_MAX_LENGTH = 500


def format_value(value: object) -> str:
    """A configuration value as OCPP 1.6 reports it: always a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class Configuration(SupervisedActor):
    """The configuration keys (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {CallReceived: "_on_call"}

    def __init__(self, ctx: ActorContext, name: str, *, csms: str = "csms") -> None:
        super().__init__(ctx, name)
        self._csms = csms

    def _on_call(self, msg: CallReceived) -> None:
        if msg.action != "GetConfiguration":
            self.tell(self._csms, SendCallError(message_id=msg.message_id, error_code="NotSupported"))
            return
        self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action,
                                             payload=self._get_configuration(msg.payload.get("key"))))

    def _get_configuration(self, wanted: object) -> dict[str, object]:
        cfg = self.ctx.config
        entries = {key.lower(): (key, value) for _profile, key, value in cfg.keys()}
        names = [str(k) for k in wanted] if isinstance(wanted, tuple) and wanted else [k for k, _ in entries.values()]
        known, unknown = [], []
        for name in names:
            found = entries.get(name.lower())
            if found is None:
                unknown.append(name)
                continue
            key, value = found
            entry: dict[str, object] = {"key": key, "readonly": cfg.is_read_only(key)}
            if not cfg.is_write_only(key):
                entry["value"] = format_value(value)[:VALUE_MAX_LENGTH]
            known.append(entry)
        payload: dict[str, object] = {"configurationKey": known}
        if unknown:
            payload["unknownKey"] = unknown
        return payload
