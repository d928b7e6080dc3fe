"""Messages to and from the CSMS connection actor (the OCPP-J link).

Every actor that owns an OCPP operation talks to the CSMS only through these: it asks the
link to send a CALL and gets the answer back as an event, and it receives the CALLs the
CSMS makes for operations it owns.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from messages.payload import Payload, freeze

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "AdoptQueuedCall",
    "AnswerOverdue",
    "BootDue",
    "CallTimedOut",
    "ConnectDue",
    "ConnectTimedOut",
    "FrameReceived",
    "HeartbeatDue",
    "QueueDue",
    "ReconnectLink",
    "SocketClosed",
    "SocketOpened",
    "CallFailed",
    "CallReceived",
    "CallResultReceived",
    "ConnectionChanged",
    "FailureKind",
    "GetLinkStats",
    "LinkStats",
    "Registration",
    "RegistrationChanged",
    "SendCall",
    "SendCallError",
    "SendCallResult",
    "TriggerLinkMessage",
    "WebsocketControl",
]


def _frozen(payload: object) -> Payload:
    return freeze(payload)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True, kw_only=True)
class SendCall:
    """Command (tell, any actor → CsmsConnection): send a CALL to the CSMS.

    The answer comes back to ``reply_to`` as :class:`CallResultReceived` or
    :class:`CallFailed`, carrying the same ``correlation``.
    """

    action: str
    """OCPP action, e.g. ``StatusNotification``."""
    payload: Payload = field(default_factory=dict)  # type: ignore[assignment]
    """The request payload in wire form (camelCase)."""
    reply_to: str | None = None
    """Name of the actor that wants the answer, or None when nobody does."""
    correlation: str = ""
    """Opaque to the link; lets the sender match the answer to its request."""
    local_transaction_id: int | None = None
    """For a StartTransaction: the local id of the transaction, which the answer maps to the
    CSMS's id in every queued call that still carries the local one."""
    triggered: bool = False
    """Sent because the CSMS asked with TriggerMessage: goes ahead of the queue, also while the
    registration is Pending, and is never stored (it reports the present, not a transaction)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", _frozen(self.payload))


@dataclass(frozen=True, slots=True, kw_only=True)
class AdoptQueuedCall:
    """Command (tell, any actor → CsmsConnection): send a CALL that the sender already stored
    in the durable queue (together with its own state, in one database transaction).

    If the link is not running yet it loses nothing: it reloads the queue when it starts."""

    call: SendCall
    queue_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallResultReceived:
    """Event (tell, CsmsConnection → sender): the CSMS answered a CALL."""

    action: str
    correlation: str
    payload: Payload
    rtt: float = 0.0
    """Seconds from send to answer, measured (not scheduled) on the wall clock."""


class FailureKind(enum.Enum):
    """Why a CALL got no CALLRESULT."""

    CALL_ERROR = "CallError"
    TIMEOUT = "Timeout"
    OFFLINE = "Offline"
    INVALID = "Invalid"
    """Our own payload failed schema validation, so it was never sent."""
    GIVEN_UP = "GivenUp"
    """A queued call failed TransactionMessageAttempts times and was dropped."""
    DROPPED = "Dropped"
    """The queue was over MessageQueueSizeThreshold and this call made room."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFailed:
    """Event (tell, CsmsConnection → sender): a CALL got no CALLRESULT."""

    action: str
    correlation: str
    kind: FailureKind
    error_code: str = ""
    """The CALLERROR code when ``kind`` is CALL_ERROR."""
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallReceived:
    """Command (tell, CsmsConnection → owning actor): the CSMS sent a valid CALL.

    The owner must answer with :class:`SendCallResult` or :class:`SendCallError` carrying
    the same ``message_id``.
    """

    message_id: str
    action: str
    payload: Payload

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", _frozen(self.payload))


@dataclass(frozen=True, slots=True, kw_only=True)
class SendCallResult:
    """Command (tell, owning actor → CsmsConnection): answer a CSMS CALL."""

    message_id: str
    action: str
    payload: Payload = field(default_factory=dict)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", _frozen(self.payload))


@dataclass(frozen=True, slots=True, kw_only=True)
class SendCallError:
    """Command (tell, owning actor → CsmsConnection): refuse a CSMS CALL with a CALLERROR."""

    message_id: str
    error_code: str
    """An OCPP-J 1.6 error code, e.g. ``NotSupported``."""
    description: str = ""


class Registration(enum.Enum):
    """Where the charge point stands with the CSMS (BootNotification status)."""

    UNKNOWN = "Unknown"
    """No BootNotification answered yet."""
    PENDING = "Pending"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationChanged:
    """Event (published by CsmsConnection): the BootNotification status changed."""

    status: Registration
    interval: int
    """Heartbeat (Accepted) or retry (Pending/Rejected) interval in seconds."""
    csms_time: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionChanged:
    """Event (published by CsmsConnection): the websocket went up or down."""

    connected: bool
    reconnect: bool = False
    """True when this is a re-connection after a loss, not the first connection."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerLinkMessage:
    """Command (tell, Station → CsmsConnection): send the link's own triggered message now,
    ``BootNotification`` or ``Heartbeat`` (the TriggerMessage answer has gone first)."""

    action: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconnectLink:
    """Command (tell, any actor → CsmsConnection): close the websocket and open it again at
    once (not after a back-off), e.g. to present a renewed client certificate. Sent after the
    answer to the CSMS's CALL, which therefore goes out first. Ignored while not connected (the
    next attempt uses the new settings anyway)."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WebsocketControl:
    """Command (tell, bus or command line → CsmsConnection): take the websocket down and keep
    it down (``connect=False``), or bring it up again. Honoured only with the module option
    EnableExternalWebsocketControl; ignored with a log line otherwise."""

    connect: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class GetLinkStats:
    """Query (ask, anyone → CsmsConnection): counters of the link, for tests and benchmarks."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkStats:
    """Reply to :class:`GetLinkStats`."""

    connected: bool
    registration: Registration
    connects: int
    """Successful websocket openings so far."""
    calls_sent: int
    results_received: int
    rtts: tuple[float, ...]
    """Round trips of the last answered CALLs, seconds, oldest first."""
    busy: bool
    """A CALL is in flight or ready to go, or a CSMS CALL is still unanswered."""
    queued: int = 0
    """Calls waiting in the queue, including those waiting for a retry or the link."""


# --- Inputs of the CSMS connection from its edge: websocket thread and timers ------------
# They cross into the actor from outside the actor system, so traces record them.


@dataclass(frozen=True, slots=True, kw_only=True)
class SocketOpened:
    """Event (websocket thread → CsmsConnection): the handshake succeeded."""

    attempt: int
    """Which connection attempt; events of an older attempt are stale."""
    subprotocol: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameReceived:
    """Event (websocket thread → CsmsConnection): one text frame arrived."""

    attempt: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SocketClosed:
    """Event (websocket thread → CsmsConnection): the attempt ended (closed, refused, lost)."""

    attempt: int
    reason: str
    http_status: int | None = None
    """The HTTP status when the handshake was refused, e.g. 401 for bad credentials."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectDue:
    """Timer: time to (re)connect."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectTimedOut:
    """Timer: a connection attempt has not finished its handshake in time (a black hole)."""

    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BootDue:
    """Timer: time to send (or re-send) BootNotification."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatDue:
    """Timer: HeartbeatInterval has passed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTimedOut:
    """Timer: the CALL in flight got no answer in time."""

    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueDue:
    """Timer: a queued call's retry time has come, or the resume delay after a reconnect ended."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerOverdue:
    """Timer: the owner of a CSMS CALL did not answer it in time."""

    message_id: str
