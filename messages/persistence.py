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
    "AuthDataReply",
    "AuthEntry",
    "ClearAuthCache",
    "DeleteReservation",
    "GetAuthData",
    "StoreCacheEntry",
    "StoreLocalList",
    "StoreReservation",
    "CallEnqueued",
    "DequeueCall",
    "EnqueueCall",
    "GetQueue",
    "MapTransactionId",
    "QueueReply",
    "QueuedCall",
    "ReservationRecord",
    "RecordAttempt",
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
    "TransactionBegun",
    "TransactionRecord",
    "ChargingProfilesReply",
    "GetChargingProfiles",
    "ReplaceChargingProfiles",
    "StoredChargingProfile",
    "UserConfigWriteFailed",
    "WriteUserConfigKey",
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
    local_id: int = 0
    """Our own (negative) id of the transaction, used in queued calls until the CSMS's id is known."""
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
    """Request (ask → :class:`TransactionBegun`): a transaction started on a connector; its
    StartTransaction goes into the durable queue in the same database transaction."""

    record: TransactionRecord
    start_call: EnqueueCall


@dataclass(frozen=True, slots=True, kw_only=True)
class SetTransactionId:
    """Request (ask → Stored): the CSMS gave the transaction its id."""

    session_id: str
    transaction_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendMeterValue:
    """Request (ask → :class:`CallEnqueued`): a MeterValue sampled during the transaction, and
    its MeterValues call, stored together."""

    session_id: str
    meter_value: Payload
    call: EnqueueCall


@dataclass(frozen=True, slots=True, kw_only=True)
class EndTransaction:
    """Request (ask → :class:`CallEnqueued`): the transaction is over on our side; its
    StopTransaction goes into the durable queue in the same database transaction."""

    session_id: str
    meter_stop: int
    stopped_at: str
    reason: str
    id_tag: str | None = None
    stop_call: EnqueueCall


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


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedCall:
    """A CALL in the durable queue: stored before it is sent, deleted once answered."""

    queue_id: int
    """Row id; also the order in which the calls were made."""
    action: str
    payload: Payload
    reply_to: str | None
    correlation: str
    attempts: int = 0
    """Sends that ended in a CALLERROR or a timeout (a send while offline does not count)."""
    transactional: bool = True
    """False for a non-transactional call kept only because QueueAllMessages is set."""
    local_transaction_id: int | None = None
    """For a StartTransaction: the local id its answer gives a real id to."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EnqueueCall:
    """Request (ask → :class:`CallEnqueued`): store a CALL before it is sent."""

    action: str
    payload: Payload
    reply_to: str | None
    correlation: str
    transactional: bool = True
    local_transaction_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnqueued:
    """Reply to :class:`EnqueueCall`."""

    queue_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordAttempt:
    """Request (ask → Stored): a queued CALL failed once more (CALLERROR or timeout)."""

    queue_id: int
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DequeueCall:
    """Request (ask → Stored): the CALL was answered (or finally given up)."""

    queue_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MapTransactionId:
    """Request (ask → Stored): a transaction started offline under ``local_id`` is ``real_id``
    at the CSMS; queued calls that still say ``local_id`` are sent with ``real_id``."""

    local_id: int
    real_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GetQueue:
    """Query (ask → :class:`QueueReply`): everything the durable queue holds, at start."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueReply:
    """Reply to :class:`GetQueue`."""

    calls: tuple[QueuedCall, ...]
    """Oldest first."""
    transaction_ids: tuple[tuple[int, int], ...]
    """(local id, real id) pairs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionBegun:
    """Reply to :class:`BeginTransaction`: the local id the transaction goes by until the
    CSMS gives it one, and the queue row of its StartTransaction."""

    local_id: int
    queue_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthEntry:
    """An idTag and what is known of it, in the local authorization list or the cache."""

    id_tag: str
    status: str
    """OCPP AuthorizationStatus."""
    expiry: str | None = None
    """ISO 8601 UTC, or None for no expiry."""
    parent_id_tag: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetAuthData:
    """Query (ask → :class:`AuthDataReply`): the local list, its version and the cache, at start."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthDataReply:
    """Reply to :class:`GetAuthData`."""

    list_version: int
    """0 when no list was ever sent."""
    local_list: tuple[AuthEntry, ...]
    cache: tuple[AuthEntry, ...]
    reservations: tuple[ReservationRecord, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreLocalList:
    """Request (ask → Stored): a SendLocalList, applied in one database transaction: ``full``
    replaces the list; otherwise ``entries`` are added or replaced and ``removed`` deleted."""

    version: int
    full: bool
    entries: tuple[AuthEntry, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreCacheEntry:
    """Request (ask → Stored): remember what the CSMS said of an idTag."""

    entry: AuthEntry


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearAuthCache:
    """Request (ask → Stored): forget every cached idTag (ClearCache)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationRecord:
    """A reservation as persisted (libocpp keeps none: they are lost on a restart)."""

    reservation_id: int
    connector_id: int
    id_tag: str
    expiry: str
    """ISO 8601 UTC."""
    parent_id_tag: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreReservation:
    """Request (ask → Stored): keep a reservation (replacing one with the same id)."""

    reservation: ReservationRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteReservation:
    """Request (ask → Stored): a reservation was used, cancelled or expired."""

    reservation_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteUserConfigKey:
    """Request (ask → :class:`Stored`, or :class:`UserConfigWriteFailed`): set
    ``[profile][key] = value`` in the user config file atomically (temp file + rename)."""

    profile: str
    key: str
    value: object


@dataclass(frozen=True, slots=True, kw_only=True)
class UserConfigWriteFailed:
    """Reply: the user config could not be written; nothing changed on disk."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredChargingProfile:
    """An installed charging profile: its connector and the csChargingProfiles object as sent."""

    connector_id: int
    profile: Payload


@dataclass(frozen=True, slots=True, kw_only=True)
class GetChargingProfiles:
    """Request (ask → :class:`ChargingProfilesReply`): every installed charging profile."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingProfilesReply:
    """Reply: the installed profiles, in the order they were first stored."""

    profiles: tuple[StoredChargingProfile, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceChargingProfiles:
    """Request (ask → :class:`Stored`): in one transaction, delete the profiles with these ids
    and store (or overwrite, by id) the added ones."""

    deleted: tuple[int, ...] = ()
    added: tuple[StoredChargingProfile, ...] = ()
