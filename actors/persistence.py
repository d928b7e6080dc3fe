"""Persistence: the only SQLite connection of the charge point.

One file ``<DatabasePath>/<ChargePointId>.db`` in WAL mode, versioned by ``user_version``
and brought up to date by the numbered migrations below at start. Other actors reach it
only by request/reply messages; it never calls them.

Answers (ask): GetAvailability → AvailabilityReply; StoreAvailability → Stored.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from messages.persistence import AvailabilityReply, GetAvailability, StoreAvailability, Stored

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MIGRATIONS", "Persistence", "database_file"]

MIGRATIONS: tuple[str, ...] = (
    # 1: connector availability (Operative unless the CSMS said otherwise); 0 = the station.
    """
    CREATE TABLE connector (
        id INTEGER PRIMARY KEY,
        operative INTEGER NOT NULL DEFAULT 1
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
