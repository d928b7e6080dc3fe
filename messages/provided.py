"""The commands and vars of the provided interfaces ``main`` and ``ocpp_generic`` that are
not about configuration keys (those are in :mod:`messages.configuration`), as messages on
the bus. Whoever serves the interface (the in-process bus now, the MQTT bridge later) turns
EVerest's commands into these and publishes these events as the interface's vars.

| interface command / var | message | served by |
|---|---|---|
| main / ocpp_generic ``stop``, ``restart`` | :class:`StopOcpp`, :class:`RestartOcpp` | csms |
| main / ocpp_generic ``security_event`` | :class:`SecurityEvent` | station |
| ocpp_generic ``change_availability`` | :class:`ChangeAvailabilityCommand` | station |
| ocpp_generic ``get_variables`` / ``set_variables`` | :class:`GetVariables` / :class:`SetVariables` | configuration |
| ocpp_generic var ``ocpp_transaction_event`` | :class:`OcppTransactionEvent` | published by each Evse |
| ocpp_generic var ``is_connected`` | ``ConnectionChanged`` | published by csms |
| ocpp_generic var ``boot_notification_response`` | ``RegistrationChanged`` | published by csms |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "AvailabilityChangeResult",
    "ChangeAvailabilityCommand",
    "GetVariables",
    "OcppControlDone",
    "OcppTransactionEvent",
    "RestartOcpp",
    "SecurityEvent",
    "SetVariables",
    "StopOcpp",
    "VariableResult",
    "VariableResults",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class StopOcpp:
    """Command (ask → :class:`OcppControlDone`): close the CSMS link and keep it closed.

    Unlike EVerest, running transactions are not stopped: they go on and are reported, from
    the durable queue, after :class:`RestartOcpp`. Stopping OCPP should not end a driver's charge."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RestartOcpp:
    """Command (ask → :class:`OcppControlDone`): open the link again and register anew
    (a BootNotification), after :class:`StopOcpp`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OcppControlDone:
    """Reply to :class:`StopOcpp` / :class:`RestartOcpp`: False when there was nothing to do."""

    done: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityEvent:
    """Command (tell → station): a security event of the charger. Critical ones (the 1.6
    security whitepaper's list, unless ``critical`` says otherwise) become a
    SecurityEventNotification, queued durably, unless DisableSecurityEventNotifications."""

    type: str
    info: str = ""
    critical: bool | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeAvailabilityCommand:
    """Command (ask → :class:`AvailabilityChangeResult`): the charger side's ChangeAvailability,
    same rules and persistence as the CSMS's; ``evse_id`` None (or 0) = the whole station."""

    operative: bool
    evse_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AvailabilityChangeResult:
    """Reply: Accepted, Rejected or Scheduled."""

    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetVariables:
    """Query (ask → :class:`VariableResults`): variables by name; the name is the config key."""

    names: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SetVariables:
    """Command (ask → :class:`VariableResults`): (name, value) pairs, each set as a
    ChangeConfiguration would be."""

    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class VariableResult:
    """One variable's outcome, in the order asked: Accepted (with ``value`` for a get),
    Rejected, RebootRequired or UnknownVariable."""

    name: str
    status: str
    value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VariableResults:
    """Reply to :class:`GetVariables` and :class:`SetVariables`."""

    results: tuple[VariableResult, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OcppTransactionEvent:
    """Event (published by an Evse): ``ocpp_generic.ocpp_transaction_event`` — Started when the
    StartTransaction is queued (no id yet), Updated when the CSMS gave the id, Ended when the
    StopTransaction is queued."""

    event: str
    evse_id: int
    session_id: str
    timestamp: datetime
    """When it happened: for Started, the transaction's start (Relative charging profiles count from it)."""
    transaction_id: int | None = None
