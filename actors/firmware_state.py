"""What the Firmware actor knows about the update and the upload under way, the file that keeps
the update across restarts, and the OCPP spellings of their statuses.

The update is kept in a small JSON file, ``<DatabasePath>/<ChargePointId>.firmware.json``,
replaced atomically (temp file, fsync, rename) on every change of phase: one record, written
by one actor, read once at its start, so it needs none of what SQLite gives, and no schema
migration has to be coordinated with the rest of the database. Log uploads are not kept: a
restart forgets them, as libocpp does (the CSMS asks again).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from messages.system import LogType

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_RETRY_INTERVAL_S",
    "LEGACY_REQUEST_ID",
    "FirmwareUpdate",
    "LogUpload",
    "Phase",
    "StateFile",
    "log_file_name",
    "new_id",
    "status_call",
    "upload_status_call",
]

DEFAULT_RETRIES = 1
"""Retries when a request gives none (OCPP leaves it to the charge point): two attempts."""
DEFAULT_RETRY_INTERVAL_S = 60
LEGACY_REQUEST_ID = -1
"""EVerest's request id of the plain 1.6 messages (UpdateFirmware, GetDiagnostics); any other
id is a security-whitepaper request (SignedUpdateFirmware, GetLog)."""


class Phase:
    """Where an update is; the values are what the state file holds."""

    SCHEDULED = "scheduled"
    """Waiting for retrieveDate, or for retryInterval after a failed download."""
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    """Downloaded (and verified, when signed); waiting until no transaction runs."""
    INSTALLING = "installing"
    INSTALLED = "installed"
    """Installed; the reboot is due (or done, when found at a process start)."""
    REBOOTED = "rebooted"
    """Rebooted after the installation; FirmwareUpdated is still to be reported."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FirmwareUpdate:
    """One UpdateFirmware or SignedUpdateFirmware, from the request to the reboot."""

    update_id: str
    request_id: int = LEGACY_REQUEST_ID
    location: str
    due_at: str
    """ISO time of the next download attempt (retrieveDate, then after each failure + retryInterval)."""
    attempts_left: int
    """Download attempts still allowed, the one under way not counted."""
    retry_interval: int
    phase: str = Phase.SCHEDULED
    transfer_id: str = ""
    """The system's transfer under way (download or installation), if any."""
    path: str = ""
    """The downloaded image."""
    last_status: str = ""
    """The last status notified; empty before the first (a trigger then reports Idle)."""
    signing_certificate: str = ""
    signature: str = ""
    install_at: str = ""
    """SignedUpdateFirmware's installDateTime: not installed before then (ISO; empty: at once)."""

    @property
    def signed(self) -> bool:
        return self.request_id != LEGACY_REQUEST_ID

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> FirmwareUpdate:
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True, slots=True, kw_only=True)
class LogUpload:
    """One GetDiagnostics or GetLog, until it is uploaded or out of attempts (memory only)."""

    upload_id: str
    request_id: int = LEGACY_REQUEST_ID
    location: str
    file_name: str
    log_type: LogType
    since: datetime | None
    until: datetime | None
    attempts_left: int
    retry_interval: int
    transfer_id: str = ""
    last_status: str = ""


class StateFile:
    """The update's file: load at start, save on every change, clear when the update is over."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> FirmwareUpdate | None:
        """The update in the file; None when there is none (or it cannot be read: logged by
        the caller, who starts without it rather than not at all)."""
        try:
            return FirmwareUpdate.from_json(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def save(self, update: FirmwareUpdate) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        part = self.path.with_name(self.path.name + ".part")
        with part.open("w", encoding="utf-8") as out:
            out.write(update.to_json())
            out.flush()
            os.fsync(out.fileno())
        part.replace(self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def log_file_name(kind: str, charge_point_id: str, now: datetime) -> str:
    """The archive's name: ``<kind>-<charge point id>-<UTC time>.zip``, file-system safe, at
    most 255 characters (GetDiagnostics.conf fileName)."""
    name = f"{kind}-{_UNSAFE.sub('_', charge_point_id)}-{now.strftime('%Y%m%dT%H%M%SZ')}.zip"
    return name if len(name) <= 255 else name[-255:]  # noqa: PLR2004


def status_call(update: FirmwareUpdate | None, status: str, *, signed: bool) -> tuple[str, dict[str, object]]:
    """The notification of a firmware status: FirmwareStatusNotification for UpdateFirmware,
    SignedFirmwareStatusNotification (with the requestId) for SignedUpdateFirmware."""
    if not signed:
        return "FirmwareStatusNotification", {"status": status}
    payload: dict[str, object] = {"status": status}
    if update is not None and update.signed:
        payload["requestId"] = update.request_id
    return "SignedFirmwareStatusNotification", payload


_LOG_STATUS = {"UploadFailed": "UploadFailure"}
"""LogStatusNotification spells one status differently (EVerest renames it the other way)."""


def upload_status_call(upload: LogUpload | None, status: str, *, security: bool) -> tuple[str, dict[str, object]]:
    """The notification of an upload status: DiagnosticsStatusNotification for GetDiagnostics,
    LogStatusNotification (with the requestId) for GetLog."""
    if not security:
        return "DiagnosticsStatusNotification", {"status": status}
    payload: dict[str, object] = {"status": _LOG_STATUS.get(status, status)}
    if upload is not None and upload.request_id != LEGACY_REQUEST_ID:
        payload["requestId"] = upload.request_id
    return "LogStatusNotification", payload
