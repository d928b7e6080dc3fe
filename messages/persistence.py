"""Requests to the Persistence actor (always ``ask`` with a timeout) and its replies.

Whatever must survive a crash or power loss goes through these before it is acknowledged
anywhere; a restarted actor rebuilds its state by asking them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from messages.payload import Payload

__all__ = [
    "AppendMeterValue",
    "AvailabilityReply",
    "BeginTransaction",
    "CloseTransaction",
    "EndTransaction",
    "GetAvailability",
    "GetOpenTransaction",
    "OpenTransactionReply",
    "SetTransactionId",
    "StoreAvailability",
    "Stored",
    "TransactionRecord",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class GetAvailability:
    """Query (ask → :class:`AvailabilityReply`): the persisted availability of a connector."""

    connector_id: int
    """0 = the whole charge point."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AvailabilityReply:
    """Reply to :class:`GetAvailability`."""

    connector_id: int
    operative: bool
    """False when the CSMS made it Inoperative; connectors are Operative until told otherwise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreAvailability:
    """Request (ask → :class:`Stored`): remember a connector's availability durably."""

    connector_id: int
    operative: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Stored:
    """Reply: the write is committed to disk."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionRecord:
    """A transaction as persisted: enough to resume it, or to stop it, after any crash."""

    session_id: str
    connector_id: int
    id_tag: str
    meter_start: int
    """Wh, rounded as sent in StartTransaction."""
    started_at: str
    """The StartTransaction timestamp (ISO 8601, UTC)."""
    reservation_id: int | None = None
    transaction_id: int | None = None
    """The CSMS's id, once StartTransaction.conf arrived."""
    stopped: bool = False
    """StopTransaction has been built (the transaction is over on our side)."""
    meter_stop: int | None = None
    stopped_at: str | None = None
    stop_reason: str | None = None
    stop_id_tag: str | None = None
    meter_values: tuple[Payload, ...] = ()
    """MeterValue objects (wire form) sampled during the transaction, for transactionData."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BeginTransaction:
    """Request (ask → Stored): a transaction started on a connector."""

    record: TransactionRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class SetTransactionId:
    """Request (ask → Stored): the CSMS gave the transaction its id."""

    session_id: str
    transaction_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendMeterValue:
    """Request (ask → Stored): a MeterValue sampled during the transaction."""

    session_id: str
    meter_value: Payload


@dataclass(frozen=True, slots=True, kw_only=True)
class EndTransaction:
    """Request (ask → Stored): the transaction is over on our side; StopTransaction follows."""

    session_id: str
    meter_stop: int
    stopped_at: str
    reason: str
    id_tag: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseTransaction:
    """Request (ask → Stored): the CSMS acknowledged StopTransaction; nothing more to do."""

    session_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetOpenTransaction:
    """Query (ask → :class:`OpenTransactionReply`): the unfinished transaction of a connector."""

    connector_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenTransactionReply:
    """Reply to :class:`GetOpenTransaction`."""

    record: TransactionRecord | None
