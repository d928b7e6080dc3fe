"""Messages between the Station (connector 0, the charge point as a whole) and the Evse
actors, and the view of each EVSE that they publish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from messages.payload import Json, freeze

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "ApplyAvailability",
    "AvailabilityApplied",
    "EvseStateChanged",
    "GetEvseState",
    "IdTagInfoReceived",
    "RequestStop",
    "ReservationUsed",
    "TriggerReport",
    "TriggerReportAnswer",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class EvseStateChanged:
    """Event (published by an Evse): what an operator sees of one EVSE now."""

    evse_id: int
    status: str
    """The OCPP status last decided (Available, Charging, Faulted, ...)."""
    error_code: str = "NoError"
    transaction_id: int | None = None
    """The CSMS's id of the running transaction, once known."""
    session_active: bool = False
    """A session (plugged or authorized) is under way."""
    transaction_active: bool = False
    stop_unconfirmed: bool = False
    """A StopTransaction is waiting for the CSMS's answer (it stays queued until it comes)."""
    energy_wh: float | None = None
    """Energy delivered in the running (or last) transaction."""
    last_action: str = ""
    """The last OCPP action this EVSE sent."""
    reserved_for: str = ""
    """The idTag a reservation holds this EVSE for, if any."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyAvailability:
    """Query (ask, Station → Evse → :class:`AvailabilityApplied`): ChangeAvailability for
    this EVSE; applied now, or scheduled for the end of the running session."""

    operative: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AvailabilityApplied:
    """Reply to :class:`ApplyAvailability`."""

    evse_id: int
    scheduled: bool
    """True when a session is under way and the change waits for its end."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestStop:
    """Command (Station → Evse): stop the running transaction (RemoteStopTransaction)."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetEvseState:
    """Query (ask, anyone → Evse → :class:`EvseStateChanged`): the EVSE's view now."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IdTagInfoReceived:
    """Event (tell, Evse → Auth): a StartTransaction.conf or StopTransaction.conf told us about
    an idTag; the cache keeps it (when it is enabled)."""

    id_tag: str
    id_tag_info: Mapping[str, Json]

    def __post_init__(self) -> None:
        object.__setattr__(self, "id_tag_info", freeze(self.id_tag_info))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationUsed:
    """Event (tell, Evse → Auth): a transaction started under this reservation, which is over."""

    reservation_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerReport:
    """Query (ask, Station → Evse → :class:`TriggerReportAnswer`): send ``action``
    (StatusNotification or MeterValues) now, because the CSMS asked with TriggerMessage."""

    action: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerReportAnswer:
    """Reply to :class:`TriggerReport`: False when there is nothing to send (no meter reading yet)."""

    evse_id: int
    sent: bool
