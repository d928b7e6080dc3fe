"""Messages of the Firmware actor (``actors/firmware.py``): the status reports others ask of it,
and its timers. What it tells the ``system`` is in :mod:`messages.system`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DownloadDue", "InstallDue", "RebootDue", "ReportTransferStatus", "TRANSFER_STATUS_ACTIONS", "UploadDue"]

TRANSFER_STATUS_ACTIONS = frozenset({"FirmwareStatusNotification", "DiagnosticsStatusNotification",
                                     "SignedFirmwareStatusNotification", "LogStatusNotification"})
"""The status notifications the Firmware actor sends, and reports again when asked."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportTransferStatus:
    """Command (tell, Station or whoever owns a trigger → Firmware): send ``action`` (one of
    :data:`TRANSFER_STATUS_ACTIONS`) now with the current status, as a triggered message
    (TriggerMessage, ExtendedTriggerMessage): the status of the update or upload under way,
    Idle when none is."""

    action: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadDue:
    """Timer: the retrieveDate of a firmware update came, or its retryInterval passed after a
    failed download."""

    update_id: str
    """The update it belongs to (a replaced update's timer finds another id and is dropped)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadDue:
    """Timer: the retryInterval of a failed log upload passed."""

    upload_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallDue:
    """Timer: the installDateTime of a signed firmware update came."""

    update_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RebootDue:
    """Timer: the Installed notification was not answered in time; reboot without the answer."""

    update_id: str
