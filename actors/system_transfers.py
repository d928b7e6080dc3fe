"""SystemTransfers: the embedded ``system`` module's file transfers (firmware and logs).

EVerest's system module downloads and installs firmware and uploads logs for the OCPP module
(``update_firmware``, ``allow_firmware_installation``, ``upload_logs``). Embedded, this actor
does it for real: each transfer runs in a worker thread of its own (:mod:`actors.transfer_io`:
urllib for HTTP(S), ftplib for FTP), never in the actor's thread, and the worker tells the
asker the outcome by name. It keeps no state: one command is one attempt, and retries,
schedules and statuses belong to the asker (the Firmware actor).

Why an actor of its own and not the Simulator, which plays the system's reset: the simulator
stands for the EVSE hardware (and runs in its own process on MQTT), while transfers need a
working directory, TLS settings and threads; and this way the firmware and log flows work
the same whether the EVSE managers are simulated or on the bus.

The same actor runs inside ``ocpp-cp sim``, where SimBridge serves the bus's ``system``
transfer commands with it (``docs/mqtt-bus.md``).

Files live under ``<DatabasePath>/system/``: ``downloads/`` (images until installed) and
``installed/`` (the image "installed" last, with ``INSTALLED.json`` describing it). The
embedded installation moves the image there (installing it again is a no-op); an empty image
fails to install (the tests use that for InstallationFailed). HTTPS servers are verified against the system CA
store (with ``Internal.UseSslDefaultVerifyPaths``, default true) and the CSMS root bundle of
the certificate store (``actors/certificates.py``), TLS 1.2 at least. Socket timeouts are
real seconds (``TRANSFER_TIMEOUT_S``): they bound network I/O, they are not charger timers.

A transfer's answer is not recorded in a trace: a replay does not reproduce firmware or log
transfers yet.

Accepts (tell): DownloadFirmware, InstallFirmware, UploadLogs.
Emits (tell, to the command's ``reply_to``, from the worker thread): FirmwareDownloaded,
FirmwareInstalled, LogsUploaded, TransferFailed.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from actors.certificates import CertificateStore
from actors.evse_logic import iso
from actors.transfer_io import TransferError, download, log_archive, public_url, upload
from messages.system import (
    DownloadFirmware,
    FirmwareDownloaded,
    FirmwareInstalled,
    InstallFirmware,
    LogsUploaded,
    LogType,
    TransferFailed,
    UploadLogs,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from actors.base import ActorContext

__all__ = ["TRANSFER_TIMEOUT_S", "SystemTransfers"]

TRANSFER_TIMEOUT_S = 60.0
"""Socket timeout of every network operation of a transfer."""


class SystemTransfers(SupervisedActor):
    """The embedded system's downloads, installations and uploads (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        DownloadFirmware: "_on_download",
        InstallFirmware: "_on_install",
        UploadLogs: "_on_upload",
    }

    def __init__(self, ctx: ActorContext, name: str, *, directory: str | None = None,
                 timeout: float = TRANSFER_TIMEOUT_S, log_file: str | None = None) -> None:
        """Args:
            directory: where the files live (default ``<DatabasePath>/system``).
            log_file: the log an upload packs (default ``<MessageLogPath>/<ChargePointId>.log``;
                ``ocpp-cp sim`` passes its ``--log-file``).
        """
        super().__init__(ctx, name)
        self._root = Path(directory) if directory else Path(ctx.options["DatabasePath"]) / "system"
        self._timeout = timeout
        self._log_file = Path(log_file) if log_file else None

    def _ssl_context(self) -> ssl.SSLContext:
        """Built for every transfer from the live config and the store, as the CSMS link does."""
        if self.ctx.config.get("UseSslDefaultVerifyPaths", True):
            context = ssl.create_default_context()
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        bundle = CertificateStore.for_config(self.ctx.config.current).csms_root_bundle
        if bundle.is_file():
            try:
                context.load_verify_locations(cafile=str(bundle))
            except (ssl.SSLError, OSError) as exc:
                self.log.warning("the CSMS root bundle %s does not load: %s", bundle, exc)
        return context

    def _run(self, transfer_id: str, reply_to: str, what: str, work: Callable[[], object]) -> None:
        """Run ``work`` in a worker thread; tell ``reply_to`` its answer, or TransferFailed."""
        log = self.log
        directory = self.ctx.directory

        def worker() -> None:
            try:
                answer = work()
            except TransferError as exc:
                log.warning("%s failed: %s", what, exc)
                answer = TransferFailed(transfer_id=transfer_id, reason=str(exc))
            except Exception as exc:  # noqa: BLE001 - a bug in a transfer must still be answered
                log.exception("%s failed", what)
                answer = TransferFailed(transfer_id=transfer_id, reason=f"{type(exc).__name__}: {exc}")
            directory.tell(reply_to, answer)

        self.log.info("%s", what)
        threading.Thread(target=worker, name=f"transfer-{transfer_id}", daemon=True).start()

    def _on_download(self, msg: DownloadFirmware) -> None:
        context, timeout, directory = self._ssl_context(), self._timeout, self._root / "downloads"

        def work() -> FirmwareDownloaded:
            path = download(msg.url, directory, ssl_context=context, timeout=timeout)
            return FirmwareDownloaded(transfer_id=msg.transfer_id, path=str(path), size=path.stat().st_size)

        self._run(msg.transfer_id, msg.reply_to, f"download of {public_url(msg.url)}", work)

    def _on_install(self, msg: InstallFirmware) -> None:
        installed, at = self._root / "installed", iso(self.ctx.clock.now())

        def work() -> FirmwareInstalled:
            image, target = Path(msg.path), installed / Path(msg.path).name
            if not image.exists() and target.exists():  # installed already (the answer got lost)
                return FirmwareInstalled(transfer_id=msg.transfer_id)
            try:
                data = image.read_bytes()
            except OSError as exc:
                raise TransferError(f"the image {image.name} cannot be read: {exc.strerror}") from None
            if not data:
                raise TransferError(f"the image {image.name} is empty")
            installed.mkdir(parents=True, exist_ok=True)
            record = {"image": image.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                      "installed_at": at}
            part = installed / "INSTALLED.json.part"
            part.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
            image.replace(target)  # moved, not copied: a charger's flash holds one image, not two
            part.replace(installed / "INSTALLED.json")
            return FirmwareInstalled(transfer_id=msg.transfer_id)

        self._run(msg.transfer_id, msg.reply_to, f"installation of {Path(msg.path).name}", work)

    def _on_upload(self, msg: UploadLogs) -> None:
        context, timeout = self._ssl_context(), self._timeout
        charge_point_id = self.ctx.config.charge_point_id
        log_file = self._log_file or Path(self.ctx.options["MessageLogPath"]) / f"{charge_point_id}.log"
        summary = {"charge_point_id": charge_point_id, "log_type": msg.log_type.value,
                   "firmware_version": self.ctx.config.get("FirmwareVersion"), "software": _software(),
                   "evse_count": int(self.ctx.options["EvseCount"]), "packed_at": iso(self.ctx.clock.now())}

        def work() -> LogsUploaded:
            data = log_archive(log_file, summary, since=msg.since, until=msg.until,
                               security_only=msg.log_type is LogType.SECURITY)
            upload(msg.location, msg.file_name, data, ssl_context=context, timeout=timeout)
            return LogsUploaded(transfer_id=msg.transfer_id, size=len(data))

        self._run(msg.transfer_id, msg.reply_to, f"upload of {msg.file_name} to {public_url(msg.location)}", work)


def _software() -> str:
    try:
        return metadata.version("ocpp-chargepoint")
    except metadata.PackageNotFoundError:
        return "unknown"
