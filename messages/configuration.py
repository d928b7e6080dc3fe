"""Messages of the Configuration actor: key changes, and the configuration part of the
provided interfaces (``main`` and ``ocpp_generic`` on the bus).

Keys are OCPP configuration keys (matched case-insensitively); values travel as the typed
JSON value stored in the config (int, bool, str, list, object), except where OCPP fixes a
string (the ``value`` of a :class:`KeyValue`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from messages.payload import Json, freeze

__all__ = [
    "ConfigurationChanged",
    "ConfigurationKeys",
    "EventData",
    "GetConfigurationKeys",
    "KeyValue",
    "MonitorConfigurationKeys",
    "MonitoredKeyChanged",
    "SetConfigurationKey",
    "ConfigurationKeySet",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigurationChanged:
    """Event (published by Configuration): a key changed and is live now.

    Actors whose timers or connections depend on a key re-arm them on this event; the rest
    read the live config when they next need the key."""

    profile: str
    key: str
    value: Json

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", freeze(self.value))


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyValue:
    """One configuration key as OCPP reports it (``value`` absent for write-only keys)."""

    key: str
    read_only: bool
    value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetConfigurationKeys:
    """Query (ask → :class:`ConfigurationKeys`): ``main.get_configuration_key``; no keys = all."""

    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigurationKeys:
    """Reply to :class:`GetConfigurationKeys`."""

    known: tuple[KeyValue, ...]
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SetConfigurationKey:
    """Command (ask → :class:`ConfigurationKeySet`): ``main.set_configuration_key``; the same
    rules, file write and side effects as a ChangeConfiguration from the CSMS."""

    key: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigurationKeySet:
    """Reply to :class:`SetConfigurationKey`: Accepted, Rejected, RebootRequired or NotSupported."""

    status: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorConfigurationKeys:
    """Command (tell): publish changes of these keys on the bus, as ``main.configuration_key``
    (:class:`MonitoredKeyChanged`) and, with ``as_event_data``, as ``ocpp_generic.event_data``
    (:class:`EventData`)."""

    keys: tuple[str, ...]
    as_event_data: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitoredKeyChanged:
    """Event (published): ``main.configuration_key`` — a monitored key changed."""

    key_value: KeyValue


@dataclass(frozen=True, slots=True, kw_only=True)
class EventData:
    """Event (published): ``ocpp_generic.event_data`` for a monitored variable (= config key)."""

    variable: str
    actual_value: str
    timestamp: str
    trigger: str = "Alerting"
    event_notification_type: str = "CustomMonitor"
    event_id: int = 0
    extra: dict[str, Json] = field(default_factory=dict)
