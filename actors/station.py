"""Station: connector 0, the charge point as a whole, and the CSMS operations that span EVSEs.

It owns RemoteStartTransaction, RemoteStopTransaction, UnlockConnector, ChangeAvailability
and TriggerMessage: it picks or checks the connector from its view of every EVSE (kept up
to date by their EvseStateChanged events, and rebuilt by asking them after a restart), then
hands the work to that Evse, the EVSE manager or the link. Its own status is Available or
Unavailable (persisted).

Accepts (tell): CallReceived (the five actions above), EvseStateChanged and
RegistrationChanged (published), CallResultReceived / CallFailed, SecurityEvent (the
charger's, sent on as SecurityEventNotification when critical). Answers (ask):
ChangeAvailabilityCommand → AvailabilityChangeResult.
Emits: SendCallResult / SendCall(StatusNotification, triggered status notifications) and
TriggerLinkMessage to the CSMS connection, ProvideToken to the EVSE manager, InstallTxProfile
(the TxProfile of a RemoteStartTransaction) to the SchedulePublisher, RequestStop /
CallReceived / ApplyAvailability / TriggerReport (ask) to the Evses, ReportTransferStatus
(triggered Diagnostics/FirmwareStatusNotification) to the Firmware actor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pykka

from actors.base import SupervisedActor
from actors.evse_logic import iso
from messages.csms import (
    CallFailed,
    CallReceived,
    CallResultReceived,
    GetLinkStats,
    Registration,
    RegistrationChanged,
    SendCall,
    SendCallResult,
    TriggerLinkMessage,
)
from messages.evse_manager import ProvideToken
from messages.firmware import ReportTransferStatus
from messages.provided import AvailabilityChangeResult, ChangeAvailabilityCommand, SecurityEvent
from messages.smart_charging import InstallTxProfile
from messages.persistence import GetAvailability, StoreAvailability
from messages.station import ApplyAvailability, EvseStateChanged, GetEvseState, RequestStop, TriggerReport

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from actors.base import ActorContext

__all__ = ["Station"]

ASK_TIMEOUT_S = 5.0
_NOT_STARTABLE = frozenset({"Unavailable", "Faulted", "Finishing"})
_TRANSFER_STATUS_NOTIFICATIONS = frozenset({"DiagnosticsStatusNotification", "FirmwareStatusNotification"})
CRITICAL_SECURITY_EVENTS = frozenset({
    "FirmwareUpdated", "FailedToAuthenticateAtCentralSystem", "CentralSystemFailedToAuthenticate",
    "SettingSystemTime", "StartupOfTheDevice", "ResetOrReboot", "SecurityLogWasCleared",
    "ReconfigurationOfSecurityParameters", "MemoryExhaustion", "InvalidMessages", "AttemptedReplayAttacks",
    "TamperDetectionActivated", "InvalidFirmwareSignature", "InvalidFirmwareSigningCertificate",
    "InvalidCentralSystemCertificate", "InvalidChargePointCertificate", "InvalidTLSVersion",
    "InvalidTLSCipherSuite"})
"""The OCPP 1.6 security whitepaper's critical events: only these reach the CSMS."""


class Station(SupervisedActor):
    """Connector 0 and the station-wide operations (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        CallReceived: "_on_call",
        EvseStateChanged: "_on_evse_state",
        RegistrationChanged: "_on_registration_changed",
        CallResultReceived: "_on_status_answered",
        CallFailed: "_on_status_answered",
        ChangeAvailabilityCommand: "_on_change_availability_command",
        SecurityEvent: "_on_security_event",
    }
    SUBSCRIBES = (EvseStateChanged, RegistrationChanged)
    OPERATIONS: ClassVar[Mapping[str, str]] = {
        "RemoteStartTransaction": "_remote_start",
        "RemoteStopTransaction": "_remote_stop",
        "UnlockConnector": "_unlock_connector",
        "ChangeAvailability": "_change_availability",
        "TriggerMessage": "_trigger_message",
    }

    def __init__(self, ctx: ActorContext, name: str, *, evse_count: int, csms: str = "csms",
                 persistence: str = "persistence", evse_manager: str = "simulator",
                 schedules: str = "schedule_publisher", firmware: str = "firmware") -> None:
        super().__init__(ctx, name)
        self._firmware = firmware
        self._evse_count = evse_count
        self._csms, self._persistence, self._manager, self._schedules = csms, persistence, evse_manager, schedules
        self._evses: dict[int, EvseStateChanged] = {}
        self._operative = True
        self._registered = False

    def started(self) -> None:
        self._operative = self._ask(self._persistence, GetAvailability(connector_id=0)).operative
        for evse_id in range(1, self._evse_count + 1):  # after a restart of ours; at first start they are not up
            if self.ctx.directory.get(self._evse(evse_id)) is not None:
                self._evses[evse_id] = self._ask(self._evse(evse_id), GetEvseState())
        if self.ctx.directory.get(self._csms) is not None:  # a restart: the link may be registered already
            if self._ask(self._csms, GetLinkStats()).registration is Registration.ACCEPTED:
                self._on_registration_changed(RegistrationChanged(status=Registration.ACCEPTED, interval=0))

    def _ask(self, name: str, message: object) -> Any:
        return self.ctx.directory.ask(name, message, timeout=ASK_TIMEOUT_S)

    @staticmethod
    def _evse(evse_id: int) -> str:
        return f"evse/{evse_id}"

    # --- our own status -----------------------------------------------------------------

    def _on_registration_changed(self, msg: RegistrationChanged) -> None:
        if msg.status is Registration.ACCEPTED and not self._registered:
            self._registered = True
            self._report_status()

    def _report_status(self, *, triggered: bool = False) -> None:
        if self._registered or triggered:
            self.tell(self._csms, SendCall(action="StatusNotification", reply_to=self.name, correlation="status",
                                           payload={"connectorId": 0, "errorCode": "NoError",
                                                    "status": "Available" if self._operative else "Unavailable",
                                                    "timestamp": iso(self.ctx.clock.now())}, triggered=triggered))

    def _on_status_answered(self, msg: CallResultReceived | CallFailed) -> None:
        if isinstance(msg, CallFailed):
            self.log.warning("%s failed: %s %s", msg.action, msg.kind.value, msg.description)

    def _on_evse_state(self, msg: EvseStateChanged) -> None:
        self._evses[msg.evse_id] = msg

    # --- CSMS operations ------------------------------------------------------------------

    def _on_call(self, msg: CallReceived) -> None:
        method = self.OPERATIONS.get(msg.action)
        if method is None:
            msg_text = f"Station does not own {msg.action}"
            raise TypeError(msg_text)
        answer = getattr(self, method)(msg)
        if answer is not None:
            self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action, payload=answer))

    def _startable(self, evse_id: int, id_tag: str) -> bool:
        view = self._evses.get(evse_id)
        if view is None or view.transaction_active or view.status in _NOT_STARTABLE:
            return False
        return view.status != "Reserved" or view.reserved_for.lower() == id_tag.lower()

    def _remote_start(self, msg: CallReceived) -> dict[str, Any]:
        connector = msg.payload.get("connectorId")
        profile = msg.payload.get("chargingProfile")
        if profile is not None and (connector is None or profile.get("chargingProfilePurpose") != "TxProfile"):  # type: ignore[union-attr]
            return {"status": "Rejected"}
        if connector is not None:
            candidates = (int(connector),) if 0 < int(connector) <= self._evse_count else ()  # type: ignore[call-overload]
        else:
            candidates = tuple(range(1, self._evse_count + 1))
        usable = tuple(c for c in candidates if self._startable(c, str(msg.payload["idTag"])))
        if not usable or not self._operative:
            return {"status": "Rejected"}
        prevalidated = not self.ctx.config.get("AuthorizeRemoteTxRequests", False)
        if profile is not None:  # installed before the token: the transaction starts under it
            self.tell(self._schedules, InstallTxProfile(connector_id=usable[0], profile=profile))  # type: ignore[arg-type]
        self.tell(self._manager, ProvideToken(id_tag=str(msg.payload["idTag"]), connectors=usable,
                                              prevalidated=prevalidated))
        return {"status": "Accepted"}

    def _remote_stop(self, msg: CallReceived) -> dict[str, Any]:
        wanted = msg.payload["transactionId"]
        evse_id = self._find_transaction(wanted)
        if evse_id is None:
            # The CSMS may stop a transaction the moment it answered StartTransaction, before
            # its Evse told us the id: ask the EVSEs with a transaction for their state now.
            self._refresh(evse for evse, view in self._evses.items() if view.transaction_active)
            evse_id = self._find_transaction(wanted)
        if evse_id is None:
            return {"status": "Rejected"}
        self.tell(self._evse(evse_id), RequestStop(reason="Remote"))
        return {"status": "Accepted"}

    def _find_transaction(self, transaction_id: object) -> int | None:
        return next((evse_id for evse_id, view in self._evses.items()
                     if view.transaction_active and view.transaction_id == transaction_id), None)

    def _refresh(self, evse_ids: Iterable[int]) -> None:
        futures = {evse_id: ref.ask(GetEvseState(), block=False) for evse_id in evse_ids
                   if (ref := self.ctx.directory.get(self._evse(evse_id))) is not None}
        for evse_id, future in futures.items():
            try:
                self._evses[evse_id] = future.get(timeout=ASK_TIMEOUT_S)
            except (pykka.Timeout, pykka.ActorDeadError):
                self.log.warning("EVSE %d did not answer", evse_id)

    def _unlock_connector(self, msg: CallReceived) -> dict[str, Any] | None:
        connector = int(msg.payload["connectorId"])  # type: ignore[call-overload]
        if not 0 < connector <= self._evse_count or not self.tell(self._evse(connector), msg):
            return {"status": "NotSupported"}
        return None  # the Evse answers: it knows whether a transaction had to stop first

    def _change_availability(self, msg: CallReceived) -> dict[str, Any]:
        return {"status": self._set_availability(int(msg.payload["connectorId"]),  # type: ignore[call-overload]
                                                 msg.payload["type"] == "Operative")}

    def _on_change_availability_command(self, msg: ChangeAvailabilityCommand) -> AvailabilityChangeResult:
        """ocpp_generic.change_availability: the charger side's way to the same rules."""
        return AvailabilityChangeResult(status=self._set_availability(msg.evse_id or 0, msg.operative))

    def _set_availability(self, connector: int, operative: bool) -> str:
        """Accepted, Scheduled (a session runs: applied when it ends) or Rejected; persisted."""
        if not 0 <= connector <= self._evse_count:
            return "Rejected"
        targets = [connector] if connector else list(range(1, self._evse_count + 1))
        if connector == 0:
            self._ask(self._persistence, StoreAvailability(connector_id=0, operative=operative))
            if operative != self._operative:
                self._operative = operative
                self._report_status()
        futures = []
        for evse_id in targets:
            ref = self.ctx.directory.get(self._evse(evse_id))
            if ref is None:
                return "Rejected"
            futures.append(ref.ask(ApplyAvailability(operative=operative), block=False))
        try:
            applied = pykka.get_all(futures, timeout=ASK_TIMEOUT_S)
        except (pykka.Timeout, pykka.ActorDeadError):
            self.log.exception("ChangeAvailability could not reach every EVSE")
            return "Rejected"
        return "Scheduled" if any(a.scheduled for a in applied) else "Accepted"

    # --- security events ---------------------------------------------------------------------

    def _on_security_event(self, msg: SecurityEvent) -> None:
        critical = msg.type in CRITICAL_SECURITY_EVENTS if msg.critical is None else msg.critical
        self.log.warning("security event %s%s%s", msg.type, f": {msg.info}" if msg.info else "",
                         "" if critical else " (not critical: not sent)")
        if not critical or self.ctx.config.get("DisableSecurityEventNotifications", False):
            return
        payload: dict[str, Any] = {"type": msg.type[:50], "timestamp": iso(msg.timestamp or self.ctx.clock.now())}
        if msg.info:
            payload["techInfo"] = msg.info[:255]
        self.tell(self._csms, SendCall(action="SecurityEventNotification", payload=payload, reply_to=self.name,
                                       correlation="security"))

    def _trigger_message(self, msg: CallReceived) -> dict[str, Any]:
        """TriggerMessage: the answer goes first (the link sends nothing before it), then the
        message. Connector-bound messages go to connector 0 (us) and the Evses named."""
        wanted = str(msg.payload["requestedMessage"])
        connector = msg.payload.get("connectorId")
        if connector is not None and not 0 <= int(connector) <= self._evse_count:  # type: ignore[call-overload]
            return {"status": "Rejected"}
        if wanted in ("BootNotification", "Heartbeat"):
            self.tell(self._csms, TriggerLinkMessage(action=wanted))
        elif wanted in _TRANSFER_STATUS_NOTIFICATIONS:
            # The Firmware actor knows the update or upload under way; without it, none runs.
            if not self.tell(self._firmware, ReportTransferStatus(action=wanted)):
                self.tell(self._csms, SendCall(action=wanted, payload={"status": "Idle"}, reply_to=self.name,
                                               correlation="trigger", triggered=True))
        elif wanted == "StatusNotification":
            if connector in (None, 0):
                self._report_status(triggered=True)
            if connector != 0:
                self._trigger_evses(wanted, (int(connector),) if connector else range(1, self._evse_count + 1))  # type: ignore[call-overload]
        elif wanted == "MeterValues":
            if connector == 0:
                return {"status": "Rejected"}  # no station-wide meter
            sent = self._trigger_evses(wanted, (int(connector),) if connector else range(1, self._evse_count + 1))  # type: ignore[call-overload]
            if not sent:
                return {"status": "Rejected"}
        else:
            return {"status": "NotImplemented"}
        return {"status": "Accepted"}

    def _trigger_evses(self, action: str, evse_ids: Iterable[int]) -> bool:
        """Ask the Evses to report now; True if at least one had something to send."""
        futures = [ref.ask(TriggerReport(action=action), block=False) for evse_id in evse_ids
                   if (ref := self.ctx.directory.get(self._evse(evse_id))) is not None]
        try:
            return any(answer.sent for answer in pykka.get_all(futures, timeout=ASK_TIMEOUT_S))
        except (pykka.Timeout, pykka.ActorDeadError):
            self.log.warning("an EVSE did not answer a TriggerMessage")
            return False
