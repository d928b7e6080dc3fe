"""The evse_manager interface of the seed, as messages: what an EVSE manager (the simulator
in-process, an EVerest module over MQTT later) tells the OCPP side, and what it is told.

Names follow EVerest's interface (session events, powermeter, errors; stop_transaction,
force_unlock, enable_disable) and its auth_provider / auth_validator interfaces, so the MQTT
bridge only has to translate envelopes, not meanings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from messages.payload import Json, freeze

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = [
    "CancelReserve",
    "EnableDisable",
    "ErrorCleared",
    "ErrorRaised",
    "ForceUnlock",
    "GetSessionState",
    "MeterReading",
    "PauseCharging",
    "ProvideToken",
    "Reserve",
    "ResumeCharging",
    "SessionEvent",
    "SessionEventType",
    "SessionState",
    "SimCommand",
    "StopTransactionCommand",
    "TokenValidated",
    "ValidateToken",
]


class SessionEventType(enum.Enum):
    """The session_event var of EVerest's evse_manager interface (the ones OCPP 1.6 uses)."""

    ENABLED = "Enabled"
    DISABLED = "Disabled"
    SESSION_STARTED = "SessionStarted"
    TRANSACTION_STARTED = "TransactionStarted"
    CHARGING_STARTED = "ChargingStarted"
    CHARGING_PAUSED_EV = "ChargingPausedEV"
    CHARGING_PAUSED_EVSE = "ChargingPausedEVSE"
    TRANSACTION_FINISHED = "TransactionFinished"
    SESSION_FINISHED = "SessionFinished"
    RESERVATION_START = "ReservationStart"
    RESERVATION_END = "ReservationEnd"
    PLUGIN_TIMEOUT = "PluginTimeout"
    SESSION_RESUMED = "SessionResumed"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionEvent:
    """Event (EVSE manager → Evse ``evse/<id>``): something happened in a charging session."""

    evse_id: int
    event: SessionEventType
    session_id: str = ""
    """The EVSE manager's id of the session (a uuid), stable across OCPP restarts."""
    timestamp: datetime | None = None
    id_tag: str = ""
    """TransactionStarted: the token that authorized it; TransactionFinished: who stopped it."""
    meter_wh: float | None = None
    """TransactionStarted / TransactionFinished: the energy register in Wh."""
    reason: str = ""
    """SessionStarted: EVConnected or Authorized; TransactionFinished: the stop reason (OCPP spelling)."""
    reservation_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReading:
    """Event (EVSE manager → Evse): the powermeter var, the latest reading of the EVSE's meter."""

    evse_id: int
    timestamp: datetime
    energy_wh: float
    """Energy.Active.Import.Register."""
    power_w: float
    current_a: tuple[float, float, float]
    """Per phase L1..L3."""
    voltage_v: tuple[float, float, float]
    frequency_hz: float = 50.0
    soc: float | None = None
    """State of charge in percent, when the EV tells it."""
    offered_current_a: float | None = None
    offered_power_w: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorRaised:
    """Event (EVSE manager → Evse): an error of the charger (EVerest's error framework)."""

    evse_id: int
    uuid: str
    type: str
    """e.g. ``evse_manager/Inoperative``, ``connector_lock/MREC1ConnectorLockFailure``."""
    sub_type: str = ""
    message: str = ""
    description: str = ""
    vendor_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorCleared:
    """Event (EVSE manager → Evse): an error raised earlier is gone."""

    evse_id: int
    uuid: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StopTransactionCommand:
    """Command (Evse → EVSE manager): end the transaction, e.g. reason Remote or UnlockCommand."""

    evse_id: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseCharging:
    """Command (Evse → EVSE manager): suspend energy transfer (StartTransaction not Accepted)."""

    evse_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeCharging:
    """Command (Evse → EVSE manager): resume energy transfer."""

    evse_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EnableDisable:
    """Command (Evse → EVSE manager): make the EVSE operative or not (ChangeAvailability)."""

    evse_id: int
    enable: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ForceUnlock:
    """Command (Evse → EVSE manager): release the connector lock."""

    evse_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvideToken:
    """Event (auth_provider, OCPP → EVSE manager): a token from RemoteStartTransaction."""

    id_tag: str
    connectors: tuple[int, ...]
    """Where it may be used (one connector, or every free one)."""
    prevalidated: bool
    """True: start without asking us to validate it (AuthorizeRemoteTxRequests is false)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidateToken:
    """Command (auth_validator, EVSE manager → Auth): may this token charge? Answered by
    :class:`TokenValidated` told to ``reply_to``."""

    evse_id: int
    id_tag: str
    reply_to: str
    correlation: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenValidated:
    """Event (Auth → EVSE manager): the answer to :class:`ValidateToken`."""

    evse_id: int
    id_tag: str
    status: str
    """OCPP AuthorizationStatus: Accepted, Blocked, Expired, Invalid, ConcurrentTx."""
    parent_id_tag: str = ""
    correlation: str = ""
    reason: str = ""
    """Why, in words: e.g. "Accepted in the local authorization list", "answered by the CSMS"."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GetSessionState:
    """Query (ask, Evse → EVSE manager → :class:`SessionState`): the EVSE's session now.

    A restarted Evse asks this to learn what happened while it was gone."""

    evse_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionState:
    """Reply to :class:`GetSessionState`; also told to an Evse (event) when the EVSE manager
    re-synchronises after the bus came back (the Evse reconciles with it)."""

    evse_id: int
    plugged: bool
    session_id: str
    """Empty when no session."""
    transaction_active: bool
    charging: bool
    paused_by: str = ""
    """``EV`` or ``EVSE`` when energy transfer is suspended."""
    enabled: bool = True
    reserved_for: str = ""
    """The idTag a reservation holds the EVSE for; empty when not reserved."""
    known: bool = True
    """False when the EVSE manager has not told its state (on the MQTT bus: it has not answered
    get_session_state yet, or cannot); the other fields mean nothing then, and an Evse keeps
    what it has (an open transaction goes on) and goes by the session events."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SimCommand:
    """Command (test controller, demo or MQTT → Simulator): act on a simulated EVSE.

    ``command`` is one of plug_in, plug_out, swipe {id_tag}, ev_pause, ev_resume,
    raise_error {type}, clear_error, power_loss.
    """

    evse_id: int
    command: str
    args: Mapping[str, Json] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", freeze(self.args))


@dataclass(frozen=True, slots=True, kw_only=True)
class Reserve:
    """Command (reservation interface, Auth → EVSE manager): hold this EVSE for a token until
    the reservation is used or cancelled; the EVSE reports ReservationStart."""

    evse_id: int
    reservation_id: int
    id_tag: str
    parent_id_tag: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelReserve:
    """Command (reservation interface, Auth → EVSE manager): the reservation ended (expired or
    cancelled); the EVSE reports ReservationEnd if it still held it."""

    evse_id: int
    reservation_id: int
