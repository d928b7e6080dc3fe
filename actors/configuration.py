"""Configuration: owner of the OCPP configuration keys, as the CSMS and the charger see them.

GetConfiguration and ChangeConfiguration from the CSMS, and the same two operations from
the charger side (``main.get_configuration_key`` / ``set_configuration_key``), go through
one path. A change is decided by the pure rules of :mod:`actors.configuration_rules`,
written to the user config through Persistence (atomically; a refused or unwritable value
changes nothing), then made live by replacing the shared config snapshot, and announced as
:class:`ConfigurationChanged` so timers that depend on the key are re-armed. Keys that only
apply at the next start are written but not made live (RebootRequired).

AuthorizationKey is write-only: listed without its value, and its value never logged.

Accepts (tell): CallReceived(GetConfiguration | ChangeConfiguration), MonitorConfigurationKeys.
Answers (ask): GetConfigurationKeys → ConfigurationKeys, SetConfigurationKey → ConfigurationKeySet,
GetVariables / SetVariables (``ocpp_generic``, names = keys) → VariableResults.
Emits: SendCallResult / SendCallError to the CSMS connection; ConfigurationChanged,
MonitoredKeyChanged and EventData (published).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from actors.configuration_rules import ChangeStatus, decide_change, supported_feature_profiles
from actors.evse_logic import iso
from messages.configuration import (
    ConfigurationChanged,
    ConfigurationKeys,
    ConfigurationKeySet,
    EventData,
    GetConfigurationKeys,
    KeyValue,
    MonitorConfigurationKeys,
    MonitoredKeyChanged,
    SetConfigurationKey,
)
from messages.csms import CallReceived, SendCallError, SendCallResult
from messages.persistence import UserConfigWriteFailed, WriteUserConfigKey
from messages.provided import GetVariables, SetVariables, VariableResult, VariableResults
from actors.base import SupervisedActor
from supervisor.config import load_schema

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from actors.base import ActorContext
    from supervisor.config import ChargePointConfig

__all__ = ["ALWAYS_LISTED_PROFILES", "Configuration", "format_value"]

VALUE_MAX_LENGTH = 500
PERSISTENCE_TIMEOUT_S = 10.0
ALWAYS_LISTED_PROFILES = frozenset({"Internal", "Security", "CostAndPrice", "PnC", "Custom"})
"""Config objects that are not OCPP feature profiles: their keys are listed whenever present."""


def format_value(value: object) -> str:
    """A configuration value as OCPP 1.6 reports it: always a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, dict) or hasattr(value, "items"):
        return json.dumps(dict(value), separators=(",", ":"), default=_plain)  # type: ignore[call-overload]
    return str(value)


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "items"):
        return dict(value)  # type: ignore[call-overload]
    raise TypeError(type(value).__name__)


def listed_keys(config: ChargePointConfig) -> list[KeyValue]:
    """Every key the charge point reports, in file order: the supported feature profiles' keys
    and the non-profile objects'; SupportedFeatureProfiles as what works, write-only keys bare."""
    supported = supported_feature_profiles(config)
    entries = []
    for profile, key, value in config.keys():
        if profile not in supported and profile not in ALWAYS_LISTED_PROFILES:
            continue
        if key == "SupportedFeatureProfiles":
            value = ",".join(supported)
        shown = None if config.is_write_only(key) else format_value(value)[:VALUE_MAX_LENGTH]
        entries.append(KeyValue(key=key, read_only=config.is_read_only(key), value=shown))
    return entries


class Configuration(SupervisedActor):
    """The configuration keys (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        CallReceived: "_on_call",
        GetConfigurationKeys: "_on_get_keys",
        SetConfigurationKey: "_on_set_key",
        MonitorConfigurationKeys: "_on_monitor_keys",
        GetVariables: "_on_get_variables",
        SetVariables: "_on_set_variables",
    }

    def __init__(self, ctx: ActorContext, name: str, *, csms: str = "csms",
                 persistence: str = "persistence") -> None:
        super().__init__(ctx, name)
        self._csms, self._persistence = csms, persistence
        self._schema: dict[str, Any] = {}
        self._monitored: dict[str, bool] = {}
        """Lower-case key → also published as ocpp_generic event_data."""

    def started(self) -> None:
        self._schema = load_schema()

    # --- the CSMS ----------------------------------------------------------------------------

    def _on_call(self, msg: CallReceived) -> None:
        if msg.action == "GetConfiguration":
            self._get_configuration(msg)
        elif msg.action == "ChangeConfiguration":
            status, changed = self._change(str(msg.payload["key"]), str(msg.payload["value"]))
            self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action,
                                                 payload={"status": status.value}))
            self._announce(changed)  # after the answer: a new AuthorizationKey reconnects the link
        else:
            self.tell(self._csms, SendCallError(message_id=msg.message_id, error_code="NotSupported"))

    def _get_configuration(self, msg: CallReceived) -> None:
        wanted = tuple(str(k) for k in msg.payload.get("key") or ())  # type: ignore[union-attr]
        limit = int(self.ctx.config.get("GetConfigurationMaxKeys", 0) or 0)
        if limit and len(wanted) > limit:
            self.tell(self._csms, SendCallError(
                message_id=msg.message_id, error_code="OccurenceConstraintViolation",
                description=f"{len(wanted)} keys requested, GetConfigurationMaxKeys is {limit}"))
            return
        found = self._on_get_keys(GetConfigurationKeys(keys=wanted))
        payload: dict[str, object] = {"configurationKey": [
            {"key": k.key, "readonly": k.read_only, **({"value": k.value} if k.value is not None else {})}
            for k in found.known]}
        if found.unknown:
            payload["unknownKey"] = list(found.unknown)
        self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action, payload=payload))

    # --- the charger side (main / ocpp_generic) ----------------------------------------------

    def _on_get_keys(self, msg: GetConfigurationKeys) -> ConfigurationKeys:
        entries = {k.key.lower(): k for k in listed_keys(self.ctx.config.current)}
        if not msg.keys:
            return ConfigurationKeys(known=tuple(entries.values()))
        known = [entries[k.lower()] for k in msg.keys if k.lower() in entries]
        unknown = [k for k in msg.keys if k.lower() not in entries]
        return ConfigurationKeys(known=tuple(known), unknown=tuple(unknown))

    def _on_set_key(self, msg: SetConfigurationKey) -> ConfigurationKeySet:
        status, changed = self._change(msg.key, msg.value)
        self._announce(changed)
        return ConfigurationKeySet(status=status.value)

    def _on_get_variables(self, msg: GetVariables) -> VariableResults:
        found = {k.key.lower(): k for k in self._on_get_keys(GetConfigurationKeys(keys=msg.names)).known}
        return VariableResults(results=tuple(
            VariableResult(name=name, status="Accepted", value=found[name.lower()].value)
            if name.lower() in found and found[name.lower()].value is not None
            else VariableResult(name=name, status="UnknownVariable") for name in msg.names))

    def _on_set_variables(self, msg: SetVariables) -> VariableResults:
        results = []
        for name, value in msg.values:
            status = self._on_set_key(SetConfigurationKey(key=name, value=value)).status
            results.append(VariableResult(name=name, status="UnknownVariable" if status == "NotSupported" else status))
        return VariableResults(results=tuple(results))

    def _on_monitor_keys(self, msg: MonitorConfigurationKeys) -> None:
        for key in msg.keys:
            self._monitored[key.lower()] = msg.as_event_data or self._monitored.get(key.lower(), False)

    # --- one change ---------------------------------------------------------------------------

    def _change(self, key: str, value: str) -> tuple[ChangeStatus, ConfigurationChanged | None]:
        """Decide, write, make live; the change to announce is returned, so that the caller
        can answer first."""
        config = self.ctx.config.current
        decision = decide_change(config, self._schema, key, value)
        shown = "(hidden)" if decision.key and config.is_write_only(decision.key) else repr(value)
        if decision.status not in (ChangeStatus.ACCEPTED, ChangeStatus.REBOOT_REQUIRED):
            self.log.info("change of %s to %s: %s (%s)", key, shown, decision.status.value, decision.reason)
            return decision.status, None
        assert decision.profile is not None and decision.key is not None
        written = self.ctx.directory.ask(self._persistence, WriteUserConfigKey(
            profile=decision.profile, key=decision.key, value=decision.value), timeout=PERSISTENCE_TIMEOUT_S)
        if isinstance(written, UserConfigWriteFailed):
            return ChangeStatus.REJECTED, None
        self.log.info("%s.%s set to %s (%s)", decision.profile, decision.key, shown, decision.status.value)
        if decision.status is ChangeStatus.REBOOT_REQUIRED:
            return decision.status, None
        self.ctx.config.replace(config.with_value(decision.profile, decision.key, decision.value))
        return decision.status, ConfigurationChanged(profile=decision.profile, key=decision.key,
                                                     value=decision.value)

    def _announce(self, changed: ConfigurationChanged | None) -> None:
        if changed is None:
            return
        self.publish(changed)
        as_event_data = self._monitored.get(changed.key.lower())
        if as_event_data is None:
            return
        entry = next(iter(_matching(listed_keys(self.ctx.config.current), changed.key)), None)
        if entry is None:
            return
        self.publish(MonitoredKeyChanged(key_value=entry))
        if as_event_data:
            self.publish(EventData(variable=entry.key, actual_value=entry.value or "",
                                   timestamp=iso(self.ctx.clock.now())))


def _matching(entries: Iterable[KeyValue], key: str) -> Iterable[KeyValue]:
    return (e for e in entries if e.key.lower() == key.lower())
