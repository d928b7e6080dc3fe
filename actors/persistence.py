"""Persistence: the only SQLite connection of the charge point.

One file ``<DatabasePath>/<ChargePointId>.db`` in WAL mode, versioned by ``user_version``
and brought up to date by the numbered migrations below at start. Other actors reach it
only by request/reply messages; it never calls them.

Answers (ask): GetAvailability → AvailabilityReply, GetOpenTransaction → OpenTransactionReply,
BeginTransaction → TransactionBegun, EnqueueCall → CallEnqueued, GetQueue → QueueReply;
StoreAvailability, SetTransactionId, AppendMeterValue, EndTransaction, CloseTransaction,
RecordAttempt, DequeueCall, MapTransactionId → Stored. Every answer comes after the commit.
It also owns the writes of the user config overlay: WriteUserConfigKey → Stored, or
UserConfigWriteFailed (the file is replaced atomically, or not at all).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from supervisor.config import ConfigError, write_user_config_key
from messages.payload import freeze, thaw
from messages.persistence import (
    AppendMeterValue,
    AuthDataReply,
    AuthEntry,
    AvailabilityReply,
    ClearAuthCache,
    DeleteReservation,
    GetAuthData,
    ReservationRecord,
    StoreReservation,
    StoreCacheEntry,
    StoreLocalList,
    BeginTransaction,
    CallEnqueued,
    DequeueCall,
    EnqueueCall,
    GetQueue,
    MapTransactionId,
    QueuedCall,
    QueueReply,
    RecordAttempt,
    TransactionBegun,
    UserConfigWriteFailed,
    WriteUserConfigKey,
    ChargingProfilesReply,
    GetChargingProfiles,
    ReplaceChargingProfiles,
    StoredChargingProfile,
    CloseTransaction,
    EndTransaction,
    GetAvailability,
    GetOpenTransaction,
    OpenTransactionReply,
    SetTransactionId,
    StoreAvailability,
    Stored,
    TransactionRecord,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["MIGRATIONS", "Persistence", "database_file"]

MIGRATIONS: tuple[str, ...] = (
    # 1: connector availability (Operative unless the CSMS said otherwise); 0 = the station.
    """
    CREATE TABLE connector (
        id INTEGER PRIMARY KEY,
        operative INTEGER NOT NULL DEFAULT 1
    );
    """,
    # 2: transactions, until the CSMS acknowledged their StopTransaction; their meter values.
    """
    CREATE TABLE txn (
        session_id TEXT PRIMARY KEY,
        connector_id INTEGER NOT NULL,
        id_tag TEXT NOT NULL,
        meter_start INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        reservation_id INTEGER,
        transaction_id INTEGER,
        stopped INTEGER NOT NULL DEFAULT 0,
        meter_stop INTEGER,
        stopped_at TEXT,
        stop_reason TEXT,
        stop_id_tag TEXT,
        closed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX txn_open ON txn (connector_id) WHERE closed = 0;
    CREATE TABLE txn_meter_value (
        session_id TEXT NOT NULL REFERENCES txn (session_id),
        seq INTEGER NOT NULL,
        meter_value TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    );
    """,
    # 3: the durable queue of CALLs, and the ids of transactions started offline.
    """
    ALTER TABLE txn ADD COLUMN local_id INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE call_queue (
        queue_id INTEGER PRIMARY KEY AUTOINCREMENT,
        action TEXT NOT NULL,
        payload TEXT NOT NULL,
        reply_to TEXT,
        correlation TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        transactional INTEGER NOT NULL DEFAULT 1,
        local_transaction_id INTEGER
    );
    CREATE TABLE transaction_id_map (
        local_id INTEGER PRIMARY KEY,
        real_id INTEGER NOT NULL
    );
    """,
    # 4: authorization: the local list (and its version) and the cache; idTags compare without case.
    """
    CREATE TABLE auth_list (
        id_tag TEXT PRIMARY KEY COLLATE NOCASE,
        status TEXT NOT NULL,
        expiry TEXT,
        parent_id_tag TEXT
    );
    CREATE TABLE auth_cache (
        id_tag TEXT PRIMARY KEY COLLATE NOCASE,
        status TEXT NOT NULL,
        expiry TEXT,
        parent_id_tag TEXT
    );
    CREATE TABLE auth_list_version (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        version INTEGER NOT NULL
    );
    INSERT INTO auth_list_version (id, version) VALUES (0, 0);
    CREATE TABLE reservation (
        reservation_id INTEGER PRIMARY KEY,
        connector_id INTEGER NOT NULL,
        id_tag TEXT NOT NULL,
        parent_id_tag TEXT NOT NULL DEFAULT '',
        expiry TEXT NOT NULL
    );
    """,
    # 5: installed charging profiles (SmartCharging), as the CSMS sent them (OCPP JSON).
    """
    CREATE TABLE charging_profile (
        profile_id INTEGER PRIMARY KEY,
        connector_id INTEGER NOT NULL,
        profile TEXT NOT NULL
    );
    """,
)
"""Schema migrations in order; migration N brings ``user_version`` from N-1 to N. Append only."""


def database_file(database_path: str, charge_point_id: str) -> Path:
    return Path(database_path) / f"{charge_point_id}.db"


def migrate(db: sqlite3.Connection) -> int:
    """Apply the migrations the database lacks, each in its own transaction; returns the version."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        msg = f"database schema version {version} is newer than this software ({len(MIGRATIONS)})"
        raise RuntimeError(msg)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


class Persistence(SupervisedActor):
    """Owns the SQLite database (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        GetAvailability: "_on_get_availability",
        StoreAvailability: "_on_store_availability",
        BeginTransaction: "_on_begin_transaction",
        SetTransactionId: "_on_set_transaction_id",
        AppendMeterValue: "_on_append_meter_value",
        EndTransaction: "_on_end_transaction",
        CloseTransaction: "_on_close_transaction",
        GetOpenTransaction: "_on_get_open_transaction",
        EnqueueCall: "_on_enqueue_call",
        RecordAttempt: "_on_record_attempt",
        DequeueCall: "_on_dequeue_call",
        MapTransactionId: "_on_map_transaction_id",
        GetQueue: "_on_get_queue",
        GetAuthData: "_on_get_auth_data",
        StoreLocalList: "_on_store_local_list",
        StoreCacheEntry: "_on_store_cache_entry",
        ClearAuthCache: "_on_clear_auth_cache",
        StoreReservation: "_on_store_reservation",
        DeleteReservation: "_on_delete_reservation",
        WriteUserConfigKey: "_on_write_user_config_key",
        GetChargingProfiles: "_on_get_charging_profiles",
        ReplaceChargingProfiles: "_on_replace_charging_profiles",
    }

    def started(self) -> None:
        path = database_file(self.ctx.options["DatabasePath"], self.ctx.config.charge_point_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        version = migrate(self._db)
        self.log.info("database %s at schema version %d", path, version)

    def stopping(self) -> None:
        self._db.close()

    def _on_get_availability(self, msg: GetAvailability) -> AvailabilityReply:
        row = self._db.execute("SELECT operative FROM connector WHERE id = ?", (msg.connector_id,)).fetchone()
        return AvailabilityReply(connector_id=msg.connector_id, operative=bool(row[0]) if row else True)

    def _on_store_availability(self, msg: StoreAvailability) -> Stored:
        self._db.execute(
            "INSERT INTO connector (id, operative) VALUES (?, ?) "
            "ON CONFLICT(id) DO UPDATE SET operative = excluded.operative",
            (msg.connector_id, int(msg.operative)))
        return Stored()

    def _on_begin_transaction(self, msg: BeginTransaction) -> TransactionBegun:
        r = msg.record
        with self._transaction():
            cursor = self._db.execute(
                "INSERT OR REPLACE INTO txn (session_id, connector_id, id_tag, meter_start, started_at, "
                "reservation_id) VALUES (?, ?, ?, ?, ?, ?)",
                (r.session_id, r.connector_id, r.id_tag, r.meter_start, r.started_at, r.reservation_id))
            local_id = -int(cursor.lastrowid or 0)  # negative: never taken for an id the CSMS gave
            self._db.execute("UPDATE txn SET local_id = ? WHERE session_id = ?", (local_id, r.session_id))
            queue_id = self._enqueue(replace(msg.start_call, local_transaction_id=local_id))
        return TransactionBegun(local_id=local_id, queue_id=queue_id)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One atomic write: all of it is on disk, or none of it."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _on_enqueue_call(self, msg: EnqueueCall) -> CallEnqueued:
        return CallEnqueued(queue_id=self._enqueue(msg))

    def _enqueue(self, msg: EnqueueCall) -> int:
        cursor = self._db.execute(
            "INSERT INTO call_queue (action, payload, reply_to, correlation, transactional, local_transaction_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (msg.action, json.dumps(thaw(msg.payload)), msg.reply_to, msg.correlation, int(msg.transactional),
             msg.local_transaction_id))
        return int(cursor.lastrowid or 0)

    def _on_record_attempt(self, msg: RecordAttempt) -> Stored:
        self._db.execute("UPDATE call_queue SET attempts = ? WHERE queue_id = ?", (msg.attempts, msg.queue_id))
        return Stored()

    def _on_dequeue_call(self, msg: DequeueCall) -> Stored:
        self._db.execute("DELETE FROM call_queue WHERE queue_id = ?", (msg.queue_id,))
        return Stored()

    def _on_map_transaction_id(self, msg: MapTransactionId) -> Stored:
        self._db.execute("INSERT OR REPLACE INTO transaction_id_map (local_id, real_id) VALUES (?, ?)",
                         (msg.local_id, msg.real_id))
        return Stored()

    def _on_get_queue(self, _msg: GetQueue) -> QueueReply:
        calls = tuple(
            QueuedCall(queue_id=row[0], action=row[1], payload=freeze(json.loads(row[2])),  # type: ignore[arg-type]
                       reply_to=row[3], correlation=row[4], attempts=row[5], transactional=bool(row[6]),
                       local_transaction_id=row[7])
            for row in self._db.execute("SELECT queue_id, action, payload, reply_to, correlation, attempts, "
                                        "transactional, local_transaction_id FROM call_queue ORDER BY queue_id"))
        ids = tuple((int(a), int(b)) for a, b in self._db.execute("SELECT local_id, real_id FROM transaction_id_map"))
        return QueueReply(calls=calls, transaction_ids=ids)

    def _on_set_transaction_id(self, msg: SetTransactionId) -> Stored:
        self._db.execute("UPDATE txn SET transaction_id = ? WHERE session_id = ?", (msg.transaction_id, msg.session_id))
        return Stored()

    def _on_append_meter_value(self, msg: AppendMeterValue) -> CallEnqueued:
        with self._transaction():
            self._db.execute(
                "INSERT INTO txn_meter_value (session_id, seq, meter_value) VALUES "
                "(?, (SELECT COALESCE(MAX(seq), -1) + 1 FROM txn_meter_value WHERE session_id = ?), ?)",
                (msg.session_id, msg.session_id, json.dumps(thaw(msg.meter_value))))
            return CallEnqueued(queue_id=self._enqueue(msg.call))

    def _on_end_transaction(self, msg: EndTransaction) -> CallEnqueued:
        with self._transaction():
            self._db.execute(
                "UPDATE txn SET stopped = 1, meter_stop = ?, stopped_at = ?, stop_reason = ?, stop_id_tag = ? "
                "WHERE session_id = ?", (msg.meter_stop, msg.stopped_at, msg.reason, msg.id_tag, msg.session_id))
            return CallEnqueued(queue_id=self._enqueue(msg.stop_call))

    def _on_close_transaction(self, msg: CloseTransaction) -> Stored:
        with self._transaction():
            self._db.execute("UPDATE txn SET closed = 1 WHERE session_id = ?", (msg.session_id,))
            self._db.execute("DELETE FROM txn_meter_value WHERE session_id = ?", (msg.session_id,))
        return Stored()

    def _on_get_open_transaction(self, msg: GetOpenTransaction) -> OpenTransactionReply:
        columns = [f.name for f in fields(TransactionRecord) if f.name != "meter_values"]
        row = self._db.execute(
            f"SELECT {', '.join(columns)} FROM txn WHERE connector_id = ? AND closed = 0 "  # noqa: S608 - fixed names
            "ORDER BY rowid DESC LIMIT 1", (msg.connector_id,)).fetchone()
        if row is None:
            return OpenTransactionReply(record=None)
        values = dict(zip(columns, row, strict=True))
        values["stopped"] = bool(values["stopped"])
        meter_values = tuple(freeze(json.loads(text)) for (text,) in self._db.execute(
            "SELECT meter_value FROM txn_meter_value WHERE session_id = ? ORDER BY seq", (values["session_id"],)))
        return OpenTransactionReply(record=TransactionRecord(**values, meter_values=meter_values))

    def _auth_entries(self, table: str) -> tuple[AuthEntry, ...]:
        return tuple(AuthEntry(id_tag=row[0], status=row[1], expiry=row[2], parent_id_tag=row[3])
                     for row in self._db.execute(f"SELECT id_tag, status, expiry, parent_id_tag FROM {table}"))  # noqa: S608

    def _on_get_auth_data(self, _msg: GetAuthData) -> AuthDataReply:
        version = self._db.execute("SELECT version FROM auth_list_version").fetchone()[0]
        reservations = tuple(ReservationRecord(reservation_id=r[0], connector_id=r[1], id_tag=r[2], parent_id_tag=r[3],
                                               expiry=r[4]) for r in self._db.execute(
            "SELECT reservation_id, connector_id, id_tag, parent_id_tag, expiry FROM reservation"))
        return AuthDataReply(list_version=version, local_list=self._auth_entries("auth_list"),
                             cache=self._auth_entries("auth_cache"), reservations=reservations)

    def _on_store_reservation(self, msg: StoreReservation) -> Stored:
        r = msg.reservation
        self._db.execute("INSERT OR REPLACE INTO reservation (reservation_id, connector_id, id_tag, parent_id_tag, "
                         "expiry) VALUES (?, ?, ?, ?, ?)", (r.reservation_id, r.connector_id, r.id_tag,
                                                            r.parent_id_tag, r.expiry))
        return Stored()

    def _on_delete_reservation(self, msg: DeleteReservation) -> Stored:
        self._db.execute("DELETE FROM reservation WHERE reservation_id = ?", (msg.reservation_id,))
        return Stored()

    def _upsert(self, table: str, entry: AuthEntry) -> None:
        self._db.execute(f"INSERT OR REPLACE INTO {table} (id_tag, status, expiry, parent_id_tag) "  # noqa: S608
                         "VALUES (?, ?, ?, ?)", (entry.id_tag, entry.status, entry.expiry, entry.parent_id_tag))

    def _on_store_local_list(self, msg: StoreLocalList) -> Stored:
        with self._transaction():
            if msg.full:
                self._db.execute("DELETE FROM auth_list")
            for id_tag in msg.removed:
                self._db.execute("DELETE FROM auth_list WHERE id_tag = ?", (id_tag,))
            for entry in msg.entries:
                self._upsert("auth_list", entry)
            self._db.execute("UPDATE auth_list_version SET version = ?", (msg.version,))
        return Stored()

    def _on_store_cache_entry(self, msg: StoreCacheEntry) -> Stored:
        self._upsert("auth_cache", msg.entry)
        return Stored()

    def _on_clear_auth_cache(self, _msg: ClearAuthCache) -> Stored:
        self._db.execute("DELETE FROM auth_cache")
        return Stored()

    def _on_write_user_config_key(self, msg: WriteUserConfigKey) -> Stored | UserConfigWriteFailed:
        try:
            write_user_config_key(self.ctx.config.user_config_path, msg.profile, msg.key, msg.value)
        except ConfigError as exc:
            self.log.error("cannot write the user config: %s", exc)
            return UserConfigWriteFailed(reason=str(exc))
        return Stored()

    def _on_get_charging_profiles(self, _msg: GetChargingProfiles) -> ChargingProfilesReply:
        rows = self._db.execute("SELECT connector_id, profile FROM charging_profile ORDER BY profile_id").fetchall()
        return ChargingProfilesReply(profiles=tuple(
            StoredChargingProfile(connector_id=connector, profile=freeze(json.loads(text)))  # type: ignore[arg-type]
            for connector, text in rows))

    def _on_replace_charging_profiles(self, msg: ReplaceChargingProfiles) -> Stored:
        with self._transaction():
            self._db.executemany("DELETE FROM charging_profile WHERE profile_id = ?",
                                 [(profile_id,) for profile_id in msg.deleted])
            self._db.executemany(
                "INSERT OR REPLACE INTO charging_profile (profile_id, connector_id, profile) VALUES (?, ?, ?)",
                [(int(p.profile["chargingProfileId"]), p.connector_id, json.dumps(thaw(p.profile)))  # type: ignore[call-overload]
                 for p in msg.added])
        return Stored()
