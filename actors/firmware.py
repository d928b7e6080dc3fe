"""Firmware: UpdateFirmware and GetDiagnostics (and the security whitepaper's
SignedUpdateFirmware and GetLog), from the CSMS's request to the last status notification.

**Firmware update.** Answered at once; at retrieveDate (a timer on the injected clock) the
``system`` downloads the image (Downloading); a failed download (DownloadFailed) is tried
again after retryInterval, 1 + retries attempts in all (EVerest's count). Once Downloaded,
the update waits until no transaction runs: every free EVSE is made unavailable at once and
every busy one as soon as its transaction has ended and its StopTransaction was answered.
When every EVSE reports Unavailable (or Faulted), the system installs the image (Installing,
then Installed or InstallationFailed), and after Installed has been answered we reboot: a soft
reset of the charge point (``ctx.request_reset``), which starts every actor, and the EVSE
manager, anew from the database. A new update while one waits replaces it; one that comes
while an image is being installed is ignored (logged).

**Availability** (``actors/firmware_hold.py``). The EVSEs are made unavailable through the
EVSE manager's enable_disable, as ChangeAvailability does, but the operator's availability in
the database is not touched: it is what every EVSE has after the reboot, or again at once
when no reboot follows (libocpp #360 loses it).

**Restarts.** The update is kept in a JSON file (``actors/firmware_state.py``) on every change
of phase: after a restart a scheduled update is re-armed, an interrupted download starts
again (the attempt is counted once), a downloaded or interrupted installation waits for the
transactions again and installs again, and an update found Installed at a process start was
installed before the reboot: it is reported to the station as the security event
FirmwareUpdated once the link is registered, and forgotten. Log uploads are not kept.

**Logs.** GetDiagnostics and GetLog: ``actors/firmware_uploads.py``.

UpdateFirmware and GetDiagnostics need the FirmwareManagement feature profile declared in
Core.SupportedFeatureProfiles; without it they are answered CALLERROR NotSupported.

Accepts (tell): CallReceived (UpdateFirmware, GetDiagnostics, SignedUpdateFirmware, GetLog),
FirmwareDownloaded / FirmwareInstalled / LogsUploaded / TransferFailed (from the system),
EvseStateChanged (subscribed at the first hold), RegistrationChanged (subscribed after the
reboot of an installation), CallResultReceived / CallFailed, ReportTransferStatus, timers
DownloadDue, InstallDue, UploadDue, RebootDue.
Emits: SendCallResult / SendCallError / SendCall (the status notifications) to the CSMS
connection; DownloadFirmware, InstallFirmware, UploadLogs to the system; EnableDisable to the
EVSE manager; SecurityEvent to the station. Asks: GetEvseState (Evses), GetAvailability
(Persistence), VerifyCertificate (the evse_security requirement: a SignedUpdateFirmware's
signing certificate against the manufacturer roots, as libocpp asks ``verify_certificate``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pykka

from actors.base import SupervisedActor
from actors.evse_logic import iso, parse_csl, parse_iso
from actors.firmware_signature import SignatureProblem, check_signed_image
from actors.firmware_hold import EvseHold
from actors.firmware_state import (
    DEFAULT_RETRIES,
    DEFAULT_RETRY_INTERVAL_S,
    FirmwareUpdate,
    LogUpload,
    Phase,
    StateFile,
    new_id,
    status_call,
)
from actors.firmware_uploads import LogUploads
from messages.csms import (
    CallFailed,
    CallReceived,
    CallResultReceived,
    GetLinkStats,
    Registration,
    RegistrationChanged,
    SendCall,
    SendCallError,
    SendCallResult,
)
from messages.firmware import DownloadDue, InstallDue, RebootDue, ReportTransferStatus, UploadDue
from messages.provided import SecurityEvent
from messages.security import SECURITY_REQUIREMENT, CaCertificateType, InstallResult, VerifyCertificate
from messages.station import EvseStateChanged
from messages.system import (
    DownloadFirmware,
    FirmwareDownloaded,
    FirmwareInstalled,
    InstallFirmware,
    LogsUploaded,
    ResetKind,
    TransferFailed,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext
    from actors.clock import TimerHandle

__all__ = ["Firmware", "REBOOT_WAIT_S"]

ASK_TIMEOUT_S = 5.0
REBOOT_WAIT_S = 40.0
"""How long the reboot waits for the CSMS to answer Installed (the link gives up after 30 s)."""


class Firmware(LogUploads, EvseHold, SupervisedActor):
    """Firmware updates and log uploads (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        CallReceived: "_on_call",
        FirmwareDownloaded: "_on_downloaded",
        FirmwareInstalled: "_on_installed",
        LogsUploaded: "_on_uploaded",
        TransferFailed: "_on_transfer_failed",
        EvseStateChanged: "_on_evse_state",
        RegistrationChanged: "_on_registration_changed",
        CallResultReceived: "_on_status_answered",
        CallFailed: "_on_status_answered",
        ReportTransferStatus: "_on_report_status",
        DownloadDue: "_on_download_due",
        InstallDue: "_on_install_due",
        UploadDue: "_on_upload_due",
        RebootDue: "_on_reboot_due",
    }
    OPERATIONS: ClassVar[Mapping[str, str]] = {
        "UpdateFirmware": "_update_firmware",
        "SignedUpdateFirmware": "_signed_update_firmware",
        "GetDiagnostics": "_get_diagnostics",
        "GetLog": "_get_log",
    }
    NEEDS_FIRMWARE_MANAGEMENT = frozenset({"UpdateFirmware", "GetDiagnostics"})

    def __init__(self, ctx: ActorContext, name: str, *, evse_count: int, csms: str = "csms",
                 persistence: str = "persistence", evse_manager: str = "simulator",
                 system: str = "system_transfers", station: str = "station", security: str = SECURITY_REQUIREMENT,
                 state_file: str | None = None) -> None:
        super().__init__(ctx, name)
        self._evse_count = evse_count
        self._csms, self._persistence, self._manager = csms, persistence, evse_manager
        self._system, self._station, self._security = system, station, security
        self._store = StateFile(Path(state_file) if state_file else
                                Path(ctx.options["DatabasePath"]) / f"{ctx.config.charge_point_id}.firmware.json")
        self._update: FirmwareUpdate | None = None
        self._upload: LogUpload | None = None
        self._init_hold()
        self._update_timer: TimerHandle | None = None
        self._upload_timer: TimerHandle | None = None
        self._rebooting = False
        self._rebooted_image = ""
        """Started after the reboot of an installation: FirmwareUpdated (for this image) goes
        out once the link is registered."""

    # --- start and restart -------------------------------------------------------------------

    def started(self) -> None:
        try:
            update = self._store.load()
        except (OSError, ValueError, TypeError) as exc:
            self.log.error("the firmware update in %s cannot be read (%s); it is dropped", self._store.path, exc)
            self._store.clear()
            return
        if update is None:
            return
        process_start = self.ctx.directory.get(self._csms) is None  # the link starts last
        self._update = update
        self.log.warning("firmware update %s found in phase %s", update.update_id, update.phase)
        if update.phase == Phase.REBOOTED or (update.phase == Phase.INSTALLED and process_start):
            self._after_reboot(update, link_up=not process_start)
        elif update.phase == Phase.SCHEDULED:
            self._arm_download()
        elif update.phase == Phase.DOWNLOADING:
            self._download(count_attempt=False)
        elif update.phase in (Phase.DOWNLOADED, Phase.INSTALLING):
            self._save(replace(update, phase=Phase.DOWNLOADED, transfer_id=""))
            self._hold_at_install_time()
        else:  # Installed, and we are a restarted actor: the reboot is still to come
            self._reboot()

    def _after_reboot(self, update: FirmwareUpdate, *, link_up: bool) -> None:
        """The installation is done and running: the update slot is free again, and the CSMS
        hears FirmwareUpdated as soon as the link is registered (the record stays until then)."""
        self._save(replace(update, phase=Phase.REBOOTED))
        self._update = None
        self._rebooted_image = Path(update.path).name
        self.ctx.directory.subscribe(RegistrationChanged, self.name)  # idempotent
        if link_up and self.ctx.directory.ask(self._csms, GetLinkStats(), timeout=ASK_TIMEOUT_S).registration \
                is Registration.ACCEPTED:
            self._on_registration_changed(RegistrationChanged(status=Registration.ACCEPTED, interval=0))

    def _on_registration_changed(self, msg: RegistrationChanged) -> None:
        if msg.status is Registration.ACCEPTED and self._rebooted_image:
            self.tell(self._station, SecurityEvent(type="FirmwareUpdated", info=f"image {self._rebooted_image}"))
            self._rebooted_image = ""
            if self._update is None:  # else the file holds a newer update
                self._store.clear()

    # --- the CSMS's requests -----------------------------------------------------------------

    def _on_call(self, msg: CallReceived) -> None:
        if msg.action in self.NEEDS_FIRMWARE_MANAGEMENT and "FirmwareManagement" not in parse_csl(
                self.ctx.config.get("SupportedFeatureProfiles")):
            self.tell(self._csms, SendCallError(message_id=msg.message_id, error_code="NotSupported",
                                                description="the FirmwareManagement feature profile is not enabled"))
            return
        getattr(self, self.OPERATIONS[msg.action])(msg)

    def _answer(self, msg: CallReceived, payload: dict[str, Any]) -> None:
        self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action, payload=payload))

    def _update_firmware(self, msg: CallReceived) -> None:
        self._answer(msg, {})
        self._begin_update(msg.payload, str(msg.payload["location"]), str(msg.payload["retrieveDate"]))

    def _signed_update_firmware(self, msg: CallReceived) -> None:
        firmware: Mapping[str, Any] = msg.payload["firmware"]  # type: ignore[assignment]
        problem = self._signing_certificate_problem(str(firmware["signingCertificate"]))
        if problem:
            self.log.warning("SignedUpdateFirmware refused: %s", problem)
            self._answer(msg, {"status": "InvalidCertificate"})
            self.tell(self._station, SecurityEvent(type="InvalidFirmwareSigningCertificate", info=problem))
            return
        if self._update is not None and self._update.phase in (Phase.INSTALLING, Phase.INSTALLED):
            self._answer(msg, {"status": "Rejected"})
            return
        self._answer(msg, {"status": "AcceptedCanceled" if self._update is not None else "Accepted"})
        self._begin_update(msg.payload, str(firmware["location"]), str(firmware["retrieveDateTime"]),
                           request_id=int(msg.payload["requestId"]),  # type: ignore[call-overload]
                           signing_certificate=str(firmware["signingCertificate"]),
                           signature=str(firmware["signature"]), install_at=str(firmware.get("installDateTime", "")))

    def _signing_certificate_problem(self, pem: str) -> str:
        """Why the evse_security requirement refuses a firmware signing certificate (it must
        chain to a manufacturer root and be valid); empty when it accepts it."""
        try:
            verified = self.ctx.directory.ask(self._security, VerifyCertificate(
                certificate_chain=pem, certificate_type=CaCertificateType.MF), timeout=ASK_TIMEOUT_S)
        except (pykka.Timeout, pykka.ActorDeadError) as exc:
            return f"the certificate store did not answer ({type(exc).__name__})"
        return "" if verified.result is InstallResult.ACCEPTED else f"{verified.result.value}: {verified.detail}"

    def _begin_update(self, payload: Mapping[str, Any], location: str, retrieve: str, **signed: Any) -> None:
        if self._update is not None:
            if self._update.phase in (Phase.INSTALLING, Phase.INSTALLED):
                self.log.warning("a firmware update arrived while one is being installed; ignored")
                return
            self.log.warning("firmware update %s replaced by a new request", self._update.update_id)
            self._end_update(restore=True)
        when = parse_iso(retrieve) or self.ctx.clock.now()
        self._update = FirmwareUpdate(
            update_id=new_id(), location=location, due_at=iso(when),
            attempts_left=1 + int(payload.get("retries", DEFAULT_RETRIES)),
            retry_interval=int(payload.get("retryInterval", DEFAULT_RETRY_INTERVAL_S)), **signed)
        self._save(self._update)
        self._arm_download()

    # --- status notifications ----------------------------------------------------------------

    def _notify(self, status: str) -> None:
        """Send a firmware status of the update under way, and keep it as its last."""
        assert self._update is not None
        self._save(update := replace(self._update, last_status=status))
        action, payload = status_call(update, status, signed=update.signed)
        self.tell(self._csms, SendCall(action=action, payload=payload, reply_to=self.name,
                                       correlation=f"firmware:{status}"))

    def _on_report_status(self, msg: ReportTransferStatus) -> None:
        """A trigger: the status of what runs now; Idle when nothing does."""
        update = self._update
        if msg.action in ("FirmwareStatusNotification", "SignedFirmwareStatusNotification"):
            signed = msg.action == "SignedFirmwareStatusNotification"
            current = update if update is not None and update.signed == signed and update.last_status else None
            action, payload = status_call(current, current.last_status if current else "Idle", signed=signed)
        else:
            action, payload = self._upload_trigger(msg.action)
        self.tell(self._csms, SendCall(action=action, payload=payload, reply_to=self.name, correlation="trigger",
                                       triggered=True))

    def _on_status_answered(self, msg: CallResultReceived | CallFailed) -> None:
        if isinstance(msg, CallFailed):
            self.log.warning("%s not delivered: %s %s", msg.action, msg.kind.value, msg.description)
        update = self._update
        if msg.correlation == "firmware:Installed" and update is not None and update.phase == Phase.INSTALLED:
            self._reboot()

    # --- the download ------------------------------------------------------------------------

    def _arm_download(self) -> None:
        assert self._update is not None
        due = parse_iso(self._update.due_at) or self.ctx.clock.now()
        delay = (due - self.ctx.clock.now()).total_seconds()
        self.ctx.clock.cancel(self._update_timer)
        if delay > 0:
            if self._update.signed and not self._update.last_status:
                self._notify("DownloadScheduled")
            self._update_timer = self.after(delay, DownloadDue(update_id=self._update.update_id))
        else:
            self._download(count_attempt=True)

    def _on_download_due(self, msg: DownloadDue) -> None:
        if self._update is not None and self._update.update_id == msg.update_id \
                and self._update.phase == Phase.SCHEDULED:
            self._download(count_attempt=True)

    def _download(self, *, count_attempt: bool) -> None:
        update = self._update
        assert update is not None
        update = replace(update, phase=Phase.DOWNLOADING, transfer_id=new_id(),
                         attempts_left=update.attempts_left - 1 if count_attempt else update.attempts_left)
        self._save(update)
        self._notify("Downloading")
        self.tell(self._system, DownloadFirmware(transfer_id=update.transfer_id, url=update.location,
                                                 reply_to=self.name))

    def _on_downloaded(self, msg: FirmwareDownloaded) -> None:
        update = self._update
        if update is None or update.transfer_id != msg.transfer_id:
            self.log.info("download %s is not wanted any more", msg.transfer_id)
            return
        self.log.info("firmware downloaded: %s (%d bytes)", msg.path, msg.size)
        self._save(replace(update, phase=Phase.DOWNLOADED, transfer_id="", path=msg.path))
        self._notify("Downloaded")
        if update.signed:
            try:
                check_signed_image(Path(msg.path), update.signing_certificate, update.signature)
            except SignatureProblem as problem:
                self.log.warning("firmware signature refused: %s", problem)
                self._notify("InvalidSignature")
                self.tell(self._station, SecurityEvent(type="InvalidFirmwareSignature", info=str(problem)))
                Path(msg.path).unlink(missing_ok=True)
                self._end_update(restore=False)
                return
            self._notify("SignatureVerified")
        self._hold_at_install_time()

    def _on_transfer_failed(self, msg: TransferFailed) -> None:
        update, upload = self._update, self._upload
        if upload is not None and upload.transfer_id == msg.transfer_id:
            self._upload_failed(msg.reason)
        elif update is not None and update.transfer_id == msg.transfer_id:
            if update.phase == Phase.INSTALLING:
                self.log.error("firmware installation failed: %s", msg.reason)
                self._notify("InstallationFailed")
                self._end_update(restore=True)
                return
            self.log.warning("firmware download failed (%d attempt(s) left): %s", update.attempts_left, msg.reason)
            self._notify("DownloadFailed")
            if update.attempts_left <= 0:
                self._end_update(restore=False)
                return
            self._save(replace(self._update, phase=Phase.SCHEDULED, transfer_id="",  # type: ignore[type-var]
                               due_at=iso(self.ctx.clock.now() + timedelta(seconds=update.retry_interval))))
            self._arm_download()
        else:
            self.log.info("transfer %s is not wanted any more (%s)", msg.transfer_id, msg.reason)

    # --- waiting for the transactions, and the installation -------------------------------------

    def _hold_at_install_time(self) -> None:
        """Hold the EVSEs now, or at a signed update's installDateTime (InstallScheduled)."""
        update = self._update
        assert update is not None
        install_at = parse_iso(update.install_at) if update.install_at else None
        if install_at is not None and install_at > self.ctx.clock.now():
            if update.last_status != "InstallScheduled":
                self._notify("InstallScheduled")
            self.ctx.clock.cancel(self._update_timer)
            self._update_timer = self.after((install_at - self.ctx.clock.now()).total_seconds(),
                                            InstallDue(update_id=update.update_id))
            return
        self._hold()

    def _on_install_due(self, msg: InstallDue) -> None:
        if self._update is not None and self._update.update_id == msg.update_id \
                and self._update.phase == Phase.DOWNLOADED:
            self._hold()

    def _install_when_ready(self) -> None:
        update = self._update
        if update is None or update.phase != Phase.DOWNLOADED or not self._all_held():
            return
        self._save(replace(update, phase=Phase.INSTALLING, transfer_id=new_id()))
        self._notify("Installing")
        self.tell(self._system, InstallFirmware(transfer_id=self._update.transfer_id,  # type: ignore[union-attr]
                                                path=update.path, reply_to=self.name))

    def _on_installed(self, msg: FirmwareInstalled) -> None:
        update = self._update
        if update is None or update.transfer_id != msg.transfer_id:
            return
        self._save(replace(update, phase=Phase.INSTALLED, transfer_id=""))
        self._notify("Installed")
        self.after(REBOOT_WAIT_S, RebootDue(update_id=update.update_id))

    def _on_reboot_due(self, msg: RebootDue) -> None:
        if self._update is not None and self._update.update_id == msg.update_id:
            self._reboot()

    def _reboot(self) -> None:
        if self._rebooting:
            return
        self._rebooting = True
        self.log.warning("firmware installed: rebooting (soft reset)")
        self.ctx.request_reset(ResetKind.SOFT)

    def _end_update(self, *, restore: bool) -> None:
        """The update is over without a reboot: give the EVSEs we hold back, forget it."""
        self.ctx.clock.cancel(self._update_timer)
        self._release(restore=restore)
        self._forget_update()

    def _forget_update(self) -> None:
        self._update = None
        self._store.clear()

    def _save(self, update: FirmwareUpdate) -> None:
        self._update = update
        self._store.save(update)
