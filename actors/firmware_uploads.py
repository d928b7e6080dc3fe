"""The log half of the Firmware actor: GetDiagnostics and GetLog (kept in a module of its own
so that neither half grows past a screenful of screens; the handlers are the Firmware actor's,
listed in its HANDLERS table, and run in its thread).

GetDiagnostics (and GetLog) answers the archive's file name at once; the ``system`` packs the
log and uploads it (Uploading, then Uploaded; or UploadFailed and another attempt after
retryInterval, 1 + retries attempts in all, each reported Uploading then UploadFailed as
EVerest does). A new request replaces the one under way (GetLog answers AcceptedCanceled
then); the old one's late answer and retry timer are recognised by their ids and dropped.
Uploads are kept in memory only: a restart forgets them, as libocpp does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from actors.evse_logic import parse_iso
from actors.firmware_state import (
    DEFAULT_RETRIES,
    DEFAULT_RETRY_INTERVAL_S,
    LEGACY_REQUEST_ID,
    LogUpload,
    log_file_name,
    new_id,
    upload_status_call,
)
from messages.csms import SendCall
from messages.firmware import UploadDue
from messages.system import LogsUploaded, LogType, UploadLogs

if TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    from actors.base import ActorContext
    from actors.clock import TimerHandle
    from messages.csms import CallReceived

__all__ = ["LogUploads"]


class LogUploads:
    """Mixin of the Firmware actor: its GetDiagnostics / GetLog handlers and their state."""

    ctx: ActorContext
    log: logging.Logger
    name: str
    _csms: str
    _system: str
    _upload: LogUpload | None
    _upload_timer: TimerHandle | None

    if TYPE_CHECKING:  # what the Firmware actor (a SupervisedActor) provides
        def tell(self, name: str, message: object) -> bool: ...
        def after(self, delay: float, message: object) -> TimerHandle: ...
        def _answer(self, msg: CallReceived, payload: dict[str, Any]) -> None: ...

    def _get_diagnostics(self, msg: CallReceived) -> None:
        name = log_file_name("diagnostics", self.ctx.config.charge_point_id, self.ctx.clock.now())
        self._answer(msg, {"fileName": name})
        self._begin_upload(msg.payload, str(msg.payload["location"]), name, LogType.DIAGNOSTICS,
                           msg.payload.get("startTime"), msg.payload.get("stopTime"), LEGACY_REQUEST_ID)

    def _get_log(self, msg: CallReceived) -> None:
        log: Mapping[str, Any] = msg.payload["log"]  # type: ignore[assignment]
        log_type = LogType(msg.payload["logType"])
        kind = "security-log" if log_type is LogType.SECURITY else "diagnostics-log"
        name = log_file_name(kind, self.ctx.config.charge_point_id, self.ctx.clock.now())
        self._answer(msg, {"status": "AcceptedCanceled" if self._upload is not None else "Accepted", "filename": name})
        self._begin_upload(msg.payload, str(log["remoteLocation"]), name, log_type, log.get("oldestTimestamp"),
                           log.get("latestTimestamp"), int(msg.payload["requestId"]))  # type: ignore[call-overload]

    def _begin_upload(self, payload: Mapping[str, Any], location: str, name: str, log_type: LogType,
                      since: object, until: object, request_id: int) -> None:
        if self._upload is not None:
            self.log.warning("upload of %s replaced by a new request", self._upload.file_name)
            self.ctx.clock.cancel(self._upload_timer)
        self._upload = LogUpload(
            upload_id=new_id(), request_id=request_id, location=location, file_name=name, log_type=log_type,
            since=parse_iso(str(since)) if since else None, until=parse_iso(str(until)) if until else None,
            attempts_left=1 + int(payload.get("retries", DEFAULT_RETRIES)),
            retry_interval=int(payload.get("retryInterval", DEFAULT_RETRY_INTERVAL_S)))
        self._upload_now()

    def _notify_upload(self, status: str) -> None:
        """Send an upload status of the upload under way, and keep it as its last."""
        assert self._upload is not None
        self._upload = upload = replace(self._upload, last_status=status)
        action, payload = upload_status_call(upload, status, security=upload.request_id != LEGACY_REQUEST_ID)
        self.tell(self._csms, SendCall(action=action, payload=payload, reply_to=self.name,
                                       correlation=f"upload:{status}"))

    def _upload_trigger(self, action: str) -> tuple[str, dict[str, object]]:
        """The triggered notification: the last status of the upload under way, else Idle."""
        security = action == "LogStatusNotification"
        upload = self._upload
        running = (upload if upload is not None and (upload.request_id != LEGACY_REQUEST_ID) == security
                   and upload.last_status else None)
        return upload_status_call(running, running.last_status if running else "Idle", security=security)

    def _upload_now(self) -> None:
        assert self._upload is not None
        self._upload = upload = replace(self._upload, transfer_id=new_id(),
                                        attempts_left=self._upload.attempts_left - 1)
        self._notify_upload("Uploading")
        self.tell(self._system, UploadLogs(transfer_id=upload.transfer_id, location=upload.location,
                                           file_name=upload.file_name, log_type=upload.log_type,
                                           reply_to=self.name, since=upload.since, until=upload.until))

    def _on_uploaded(self, msg: LogsUploaded) -> None:
        if self._upload is None or self._upload.transfer_id != msg.transfer_id:
            return
        self.log.info("%s uploaded (%d bytes)", self._upload.file_name, msg.size)
        self._notify_upload("Uploaded")
        self._upload = None

    def _upload_failed(self, reason: str) -> None:
        """The system's TransferFailed for the upload under way."""
        assert self._upload is not None
        upload = self._upload
        self.log.warning("upload of %s failed (%d attempt(s) left): %s", upload.file_name, upload.attempts_left,
                         reason)
        self._notify_upload("UploadFailed")
        if upload.attempts_left <= 0:
            self._upload = None
            return
        self._upload = replace(self._upload, transfer_id="")
        self._upload_timer = self.after(upload.retry_interval, UploadDue(upload_id=upload.upload_id))

    def _on_upload_due(self, msg: UploadDue) -> None:
        if self._upload is not None and self._upload.upload_id == msg.upload_id and not self._upload.transfer_id:
            self._upload_now()
