"""RemoteSystem: the ``system`` requirement's file transfers, served by a module on the MQTT bus.

On an MQTT charger whose ``Connections`` name a ``system`` module, this actor runs under the
name of the embedded SystemTransfers (``system_transfers``), so the Firmware actor is unchanged:
it tells DownloadFirmware, InstallFirmware and UploadLogs and is told the outcome. Each command
becomes EVerest's ``update_firmware``, ``allow_firmware_installation`` or ``upload_logs`` with a
fresh integer ``request_id`` (and our ``transfer_id`` as an extension argument); the outcome
comes back in the system's ``firmware_update_status`` / ``log_status`` vars with that
request_id (``docs/mqtt-bus.md``, codec ``messages.everest``). Steps on the way (Downloading,
Installing, Uploading) are only logged; the Firmware actor reports its own statuses.

A transfer fails (TransferFailed to its asker) when the command is refused or fails (a
timeout, an error result, no connection), when the system module sends ModuleReady (it
restarted: what it was doing is lost), or when no final status came within
``TRANSFER_WAIT_S`` on the injected clock. As the embedded actor, it keeps no state across a
restart: the Firmware actor starts an interrupted transfer again.

Accepts (tell): DownloadFirmware, InstallFirmware, UploadLogs; BusVar, BusCallAnswered,
BusCallFailed (from the bus); BusPeerReady (published); its timer _TransferTimedOut.
Emits: BusCall (to the bus); FirmwareDownloaded, FirmwareInstalled, LogsUploaded,
TransferFailed (to the command's ``reply_to``).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from actors.bus_routing import Routes
from messages import everest
from messages.bus import BusCall, BusCallAnswered, BusCallFailed, BusPeerReady, BusVar
from messages.system import DownloadFirmware, InstallFirmware, TransferFailed, UploadLogs

if TYPE_CHECKING:
    from actors.base import ActorContext
    from actors.clock import TimerHandle

__all__ = ["TRANSFER_WAIT_S", "RemoteSystem"]

TRANSFER_WAIT_S = 900.0
"""How long a transfer may take on the bus before it counts as failed (the embedded one is
bounded by its 60 s socket timeouts; a system module may retry and wait longer)."""
_ACCEPTED = ("Accepted", "AcceptedCanceled")


@dataclass(frozen=True, slots=True, kw_only=True)
class _TransferTimedOut:
    """Timer: no final status for a transfer in time."""

    request_id: int


@dataclass(slots=True)
class _Pending:
    request: DownloadFirmware | InstallFirmware | UploadLogs
    timer: TimerHandle


class RemoteSystem(SupervisedActor):
    """The system's transfers over the bus (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        DownloadFirmware: "_on_request",
        InstallFirmware: "_on_request",
        UploadLogs: "_on_request",
        BusVar: "_on_var",
        BusCallAnswered: "_on_answered",
        BusCallFailed: "_on_failed",
        BusPeerReady: "_on_peer_ready",
        _TransferTimedOut: "_on_timed_out",
    }
    SUBSCRIBES = (BusPeerReady,)

    def __init__(self, ctx: ActorContext, name: str, *, evse_count: int, bus: str = "bus") -> None:
        super().__init__(ctx, name)
        self._bus = bus
        self._system_modules = Routes(everest.resolve_connections(ctx.options["Connections"], evse_count)
                                      ).modules_of("system")
        self._pending: dict[int, _Pending] = {}

    def _on_request(self, msg: DownloadFirmware | InstallFirmware | UploadLogs) -> None:
        request_id = secrets.randbelow(2**31 - 2) + 1
        while request_id in self._pending:
            request_id = secrets.randbelow(2**31 - 2) + 1
        timer = self._own(self.ctx.clock.call_later(TRANSFER_WAIT_S, self.actor_ref,
                                                    _TransferTimedOut(request_id=request_id)))
        self._pending[request_id] = _Pending(request=msg, timer=timer)
        call = everest.call_for(everest.SystemTransfer(request_id=request_id, request=msg))
        self.log.info("%s (transfer %s) as request %d", call.cmd, msg.transfer_id, request_id)
        if not self.tell(self._bus, BusCall(call=call, reply_to=self.name, correlation=str(request_id))):
            self._fail(request_id, "the MQTT bus is not running")

    def _fail(self, request_id: int, reason: str) -> None:
        pending = self._pending.pop(request_id, None)
        if pending is None:
            return
        self.ctx.clock.cancel(pending.timer)
        self.log.warning("transfer %s failed: %s", pending.request.transfer_id, reason)
        self.tell(pending.request.reply_to, TransferFailed(transfer_id=pending.request.transfer_id, reason=reason))

    def _on_answered(self, msg: BusCallAnswered) -> None:
        request_id = int(msg.correlation)
        retval = msg.retval
        if msg.call.cmd == "upload_logs":
            retval = retval.get("upload_logs_status") if isinstance(retval, Mapping) else retval
        if msg.call.cmd != "allow_firmware_installation" and retval not in _ACCEPTED:
            self._fail(request_id, f"{msg.call.cmd} answered {retval!r}")

    def _on_failed(self, msg: BusCallFailed) -> None:
        self._fail(int(msg.correlation), msg.message)

    def _on_var(self, msg: BusVar) -> None:
        if msg.name not in everest.TRANSFER_VARS:
            self.log.debug("system var %s not used", msg.name)
            return
        try:
            status = everest.transfer_status_from_everest(msg.name, msg.value)
        except everest.BusFormatError as e:
            self.log.warning("dropped a malformed %s of %s->%s: %s", msg.name, msg.module, msg.impl, e.reason)
            return
        pending = self._pending.get(status.request_id)
        if pending is None or (status.transfer_id and status.transfer_id != pending.request.transfer_id):
            self.log.debug("%s %s for request %d: not a transfer of ours (any more)", msg.name, status.status,
                           status.request_id)
            return
        answer = everest.transfer_answer(status, pending.request.transfer_id,
                                         installing=isinstance(pending.request, InstallFirmware))
        if answer is None:
            self.log.info("transfer %s: %s", pending.request.transfer_id, status.status)
            return
        del self._pending[status.request_id]
        self.ctx.clock.cancel(pending.timer)
        self.tell(pending.request.reply_to, answer)

    def _on_peer_ready(self, msg: BusPeerReady) -> None:
        if msg.module in self._system_modules:
            for request_id in list(self._pending):
                self._fail(request_id, f"the system module {msg.module} restarted")

    def _on_timed_out(self, msg: _TransferTimedOut) -> None:
        self._fail(msg.request_id, f"no final status within {TRANSFER_WAIT_S:g} s")
