"""Messages of the ``system`` requirement (the charger's operating system side) and of the
reset sequence the supervisor runs.

The embedded simulator plays the system module's reset; the embedded SystemTransfers actor
(``actors/system_transfers.py``) plays its file transfers (EVerest's ``update_firmware``,
``allow_firmware_installation`` and ``upload_logs``); on MQTT the system is another EVerest
module, and RemoteSystem (``actors/remote_system.py``) carries the transfers to it when one is
connected. Every transfer command carries a ``transfer_id`` that its answer repeats, so an answer
to a transfer the asker has since given up (a cancelled update, an actor restarted meanwhile)
is recognised and dropped.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "DownloadFirmware",
    "FirmwareDownloaded",
    "FirmwareInstalled",
    "InstallFirmware",
    "LogType",
    "LogsUploaded",
    "ResetDelayOver",
    "ResetKind",
    "ResetWaitOver",
    "SystemReset",
    "TransferFailed",
    "UploadLogs",
]


class ResetKind(enum.Enum):
    """OCPP 1.6 ResetType; the StopTransaction reason of a reset is ``<value>Reset``."""

    SOFT = "Soft"
    HARD = "Hard"


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemReset:
    """Command (tell, reset sequence → system): reset the charger now (hard reset: the system
    reboots the hardware; this process exits for systemd to start it again)."""

    kind: ResetKind


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetWaitOver:
    """Timer: WaitForStopTransactionsOnResetTimeout passed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetDelayOver:
    """Timer: ResetStopDelay passed; the reset happens now."""


# --- file transfers (firmware and logs) -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadFirmware:
    """Command (tell, Firmware → system): fetch the firmware image at ``url`` (``http``,
    ``https`` or ``ftp``; credentials may be in the URL). Answered :class:`FirmwareDownloaded`
    or :class:`TransferFailed`; one attempt per command (the asker owns retries)."""

    transfer_id: str
    url: str
    reply_to: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FirmwareDownloaded:
    """Event (tell, system → asker): the image is on the charger."""

    transfer_id: str
    path: str
    """Where the system keeps the image until it installs it."""
    size: int
    """Bytes downloaded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallFirmware:
    """Command (tell, Firmware → system): install the downloaded image now (EVerest's
    ``allow_firmware_installation``: every connector is unavailable and no transaction runs).
    Answered :class:`FirmwareInstalled` or :class:`TransferFailed`; the reboot that follows
    an installation is the asker's to order."""

    transfer_id: str
    path: str
    reply_to: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FirmwareInstalled:
    """Event (tell, system → asker): the image was installed; it runs after a reboot."""

    transfer_id: str


class LogType(enum.Enum):
    """Which log an upload carries (OCPP 1.6 security whitepaper LogEnumType; GetDiagnostics
    uploads the diagnostics log)."""

    DIAGNOSTICS = "DiagnosticsLog"
    SECURITY = "SecurityLog"


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadLogs:
    """Command (tell, Firmware → system): pack the log of ``log_type`` between ``since`` and
    ``until`` (None: no bound) into the archive ``file_name`` and upload it to the directory
    URL ``location`` (``ftp``: stored there under ``file_name``; ``http``/``https``: PUT to
    ``location/file_name``, or to ``location`` itself when it has a query string). Answered
    :class:`LogsUploaded` or :class:`TransferFailed`; one attempt per command."""

    transfer_id: str
    location: str
    file_name: str
    log_type: LogType
    reply_to: str
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LogsUploaded:
    """Event (tell, system → asker): the archive is at the location."""

    transfer_id: str
    size: int
    """Bytes uploaded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferFailed:
    """Event (tell, system → asker): a download, an installation or an upload failed."""

    transfer_id: str
    reason: str
    """One line for the log (no credentials in it)."""
