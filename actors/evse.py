"""Evse: one EVSE and its connector (OCPP connectorId = EVSE id), isolated from the others.

It turns the EVSE manager's session events into OCPP: the status machine and its
StatusNotifications, StartTransaction / StopTransaction, sampled and clock-aligned
MeterValues, error reports, and availability. Everything a restart needs is in Persistence
(the transaction, its meter values, the availability) or in the EVSE manager (the session
itself), so a crashed Evse comes back with the same transaction id and carries on.

Accepts (tell): SessionEvent, MeterReading, ErrorRaised, ErrorCleared, SessionState (a
re-synchronisation; from the EVSE manager);
RegistrationChanged (published); CallResultReceived / CallFailed (answers to its CALLs);
RequestStop and CallReceived(UnlockConnector) (from the Station); ConfigurationChanged
(published; re-arms the meter timers); timers SampleDue, AlignedDue, StatusSettled.
Answers (ask): ApplyAvailability → AvailabilityApplied, GetEvseState → EvseStateChanged,
TriggerReport → TriggerReportAnswer.
Emits: SendCall (StatusNotification, StartTransaction, StopTransaction, MeterValues) and
SendCallResult to the CSMS connection; evse_manager commands to the EVSE manager;
EvseStateChanged and OcppTransactionEvent (published).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from actors.base import SupervisedActor
from actors.evse_logic import (
    ErrorReport,
    iso,
    last_energy_wh,
    map_error,
    meter_value,
    next_clock_aligned,
    parse_csl,
    sampled_values,
    fit_transaction_data,
    transaction_data,
)
from actors.status_machine import Status, StatusEvent, reconciled_status, reported_status, transition
from messages.configuration import ConfigurationChanged
from messages.csms import (
    AdoptQueuedCall,
    CallFailed,
    CallReceived,
    CallResultReceived,
    ConnectionChanged,
    GetLinkStats,
    Registration,
    RegistrationChanged,
    SendCall,
    SendCallResult,
)
from messages.evse_manager import (
    EnableDisable,
    ErrorCleared,
    ErrorRaised,
    ForceUnlock,
    GetSessionState,
    MeterReading,
    PauseCharging,
    SessionEvent,
    SessionEventType,
    SessionState,
    StopTransactionCommand,
)
from messages.persistence import (
    AppendMeterValue,
    BeginTransaction,
    CloseTransaction,
    EndTransaction,
    EnqueueCall,
    GetAvailability,
    GetOpenTransaction,
    SetTransactionId,
    StoreAvailability,
    TransactionRecord,
)
from messages.provided import OcppTransactionEvent
from messages.station import (
    ApplyAvailability,
    AvailabilityApplied,
    EvseStateChanged,
    GetEvseState,
    IdTagInfoReceived,
    RequestStop,
    ReservationUsed,
    TriggerReport,
    TriggerReportAnswer,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext
    from actors.clock import TimerHandle

__all__ = ["AlignedDue", "Evse", "SampleDue", "StatusSettled"]

ASK_TIMEOUT_S = 5.0

_STATUS_EVENTS = {
    SessionEventType.SESSION_STARTED: StatusEvent.USAGE_INITIATED,
    SessionEventType.CHARGING_STARTED: StatusEvent.START_CHARGING,
    SessionEventType.CHARGING_PAUSED_EV: StatusEvent.PAUSE_EV,
    SessionEventType.CHARGING_PAUSED_EVSE: StatusEvent.PAUSE_EVSE,
    SessionEventType.RESERVATION_START: StatusEvent.RESERVE,
    SessionEventType.RESERVATION_END: StatusEvent.RESERVATION_END,
}
"""Session events that only move the status machine."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleDue:
    """Timer: MeterValueSampleInterval passed during a transaction."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlignedDue:
    """Timer: a ClockAlignedDataInterval boundary."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusSettled:
    """Timer: the status has been stable for MinimumStatusDuration."""


class Evse(SupervisedActor):
    """One EVSE (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        SessionEvent: "_on_session_event",
        MeterReading: "_on_meter_reading",
        ErrorRaised: "_on_error_raised",
        ErrorCleared: "_on_error_cleared",
        SessionState: "_on_session_state",
        RegistrationChanged: "_on_registration_changed",
        ConnectionChanged: "_on_connection_changed",
        CallResultReceived: "_on_call_answered",
        CallFailed: "_on_call_answered",
        RequestStop: "_on_request_stop",
        CallReceived: "_on_csms_call",
        ApplyAvailability: "_on_apply_availability",
        GetEvseState: "_on_get_state",
        SampleDue: "_on_sample_due",
        AlignedDue: "_on_aligned_due",
        StatusSettled: "_on_status_settled",
        TriggerReport: "_on_trigger_report",
        ConfigurationChanged: "_on_configuration_changed",
    }
    SUBSCRIBES = (RegistrationChanged, ConnectionChanged, ConfigurationChanged)

    def __init__(self, ctx: ActorContext, name: str, *, evse_id: int, csms: str = "csms",
                 persistence: str = "persistence", evse_manager: str = "simulator", auth: str = "auth") -> None:
        super().__init__(ctx, name)
        self.evse_id = evse_id
        self._csms, self._persistence, self._manager, self._auth = csms, persistence, evse_manager, auth
        self._base = Status.AVAILABLE
        self._errors: dict[str, ErrorReport] = {}
        self._registered = False
        self._last_reported: tuple[str, ...] | None = None
        self._operative = True
        self._pending_operative: bool | None = None
        self._session_id = ""
        self._tx: TransactionRecord | None = None
        self._tx_meter_values: list[Mapping[str, Any]] = []
        """The transaction's sampled MeterValue objects, for its transactionData (a list: the
        record would be copied on every sample of a long transaction)."""
        self._reading: MeterReading | None = None
        self._last_action = ""
        self._reserved_for = ""
        self._sample_timer: TimerHandle | None = None
        self._aligned_timer: TimerHandle | None = None
        self._settle_timer: TimerHandle | None = None

    # --- rebuilding after a start or restart ------------------------------------------------

    def started(self) -> None:
        self._operative = self._ask(self._persistence, GetAvailability(connector_id=self.evse_id)).operative
        self._tx = self._ask(self._persistence, GetOpenTransaction(connector_id=self.evse_id)).record
        self._tx_meter_values = list(self._tx.meter_values) if self._tx else []
        session = self._ask(self._manager, GetSessionState(evse_id=self.evse_id))
        if not session.known:  # the EVSE manager has not told us (yet): keep what we have
            running = self._tx is not None and not self._tx.stopped
            session = SessionState(evse_id=self.evse_id, plugged=running, transaction_active=running, charging=running,
                                   session_id=self._tx.session_id if running and self._tx else "")
        self._session_id = session.session_id
        if session.transaction_active:
            self._base = (Status.CHARGING if session.charging else
                          Status.SUSPENDED_EV if session.paused_by == "EV" else Status.SUSPENDED_EVSE)
        elif session.session_id:
            self._base = Status.FINISHING if self._tx is not None else Status.PREPARING
        elif session.reserved_for:
            self._base, self._reserved_for = Status.RESERVED, session.reserved_for
        else:
            self._base = Status.AVAILABLE if self._operative else Status.UNAVAILABLE
        if not self._operative:
            if session.session_id:
                self._pending_operative = False
            else:
                self.tell(self._manager, EnableDisable(evse_id=self.evse_id, enable=False))
        link = self._ask(self._csms, GetLinkStats()) if self.ctx.directory.get(self._csms) else None
        self._resume_transaction(session.transaction_active, process_restart=link is None)
        if link is not None and link.registration is Registration.ACCEPTED:
            self._on_registered()
        self._publish_state()

    def _resume_transaction(self, still_running: bool, *, process_restart: bool) -> None:
        """A transaction the database says is open: resume it if the EVSE manager still runs
        its session, else stop it now with the last meter value we stored (PowerLoss when the
        whole charge point went down). A stopped one only waits for its StopTransaction answer."""
        tx = self._tx
        if tx is None or tx.stopped:
            return
        if still_running:
            self.log.info("resuming transaction %s (session %s)", tx.transaction_id or tx.local_id, tx.session_id)
            self._start_sampling()
            return
        meter = last_energy_wh(self._tx_meter_values) if self._tx_meter_values else None
        self.log.warning("transaction %s ended while we were down; stopping it", tx.transaction_id or tx.local_id)
        self._end_transaction("PowerLoss" if process_restart else "Other",
                              tx.meter_start if meter is None else meter, self.ctx.clock.now(), None)

    def _ask(self, name: str, message: object) -> Any:
        return self.ctx.directory.ask(name, message, timeout=ASK_TIMEOUT_S)

    # --- status -------------------------------------------------------------------------

    def _apply(self, event: StatusEvent) -> None:
        new = transition(self._base, event)
        if new is None:
            self.log.debug("no transition from %s on %s; ignored", self._base.value, event.name)
            return
        if new != self._base:
            self._base = new
            self._status_changed()

    def _status_changed(self) -> None:
        self._publish_state()
        minimum = int(self.ctx.config.get("MinimumStatusDuration", 0) or 0)
        if minimum > 0:
            self.ctx.clock.cancel(self._settle_timer)
            self._settle_timer = self.after(minimum, StatusSettled())
        else:
            self._report_status()

    def _on_status_settled(self, _msg: StatusSettled) -> None:
        self._settle_timer = None
        self._report_status()

    def _latest_error(self) -> ErrorReport | None:
        return next(reversed(self._errors.values()), None)

    def _status(self) -> Status:
        return reported_status(self._base, any(e.is_fault for e in self._errors.values()))

    def _report_status(self, *, force: bool = False, triggered: bool = False) -> None:
        status, error = self._status(), self._latest_error()
        payload: dict[str, Any] = {"connectorId": self.evse_id, "errorCode": error.error_code if error else "NoError",
                                   "status": status.value, "timestamp": iso(self.ctx.clock.now())}
        if error is not None:
            payload.update({k: v for k, v in (("info", error.info), ("vendorId", error.vendor_id),
                                               ("vendorErrorCode", error.vendor_error_code)) if v})
        key = tuple(str(v) for k, v in sorted(payload.items()) if k != "timestamp")
        if not triggered and (not self._registered or (key == self._last_reported and not force)):
            return
        self._last_reported = key
        self._send("StatusNotification", payload, "status", triggered=triggered)

    def _on_registration_changed(self, msg: RegistrationChanged) -> None:
        if msg.status is Registration.ACCEPTED:
            self._on_registered()

    def _on_connection_changed(self, msg: ConnectionChanged) -> None:
        if msg.connected and msg.reconnect and self._registered:
            self._report_status()  # only if it changed while we were offline

    def _on_registered(self) -> None:
        if self._registered:
            return  # a restarted Evse may learn it from the link and from the event
        self._registered = True
        self._report_status(force=True)
        self._arm_aligned_timer()

    # --- session events -------------------------------------------------------------------

    def _on_session_event(self, msg: SessionEvent) -> None:
        kind = msg.event
        if kind is SessionEventType.SESSION_STARTED:
            self._session_id = msg.session_id
        if kind is SessionEventType.RESERVATION_START:
            self._reserved_for = msg.id_tag
        elif kind in (SessionEventType.RESERVATION_END, SessionEventType.TRANSACTION_STARTED):
            self._reserved_for = ""
        if kind in _STATUS_EVENTS:
            self._apply(_STATUS_EVENTS[kind])
        elif kind is SessionEventType.ENABLED and not self._session_id:
            self._apply(StatusEvent.BECOME_AVAILABLE)
        elif kind is SessionEventType.DISABLED:
            self._apply(StatusEvent.BECOME_UNAVAILABLE)
        elif kind is SessionEventType.TRANSACTION_STARTED:
            self._begin_transaction(msg)
        elif kind is SessionEventType.TRANSACTION_FINISHED:
            self._on_transaction_finished(msg)
        elif kind is SessionEventType.SESSION_FINISHED:
            self._on_session_finished()

    def _on_session_state(self, state: SessionState) -> None:
        """The EVSE manager's account of the session after the bus came back (events may have
        been lost with a peer that died): reconcile with it, as a restarted Evse would."""
        if not state.known:
            return
        tx = self._tx
        if tx is not None and not tx.stopped and not state.transaction_active:
            self.log.warning("transaction %s ended while the EVSE manager was out of reach; stopping it",
                             tx.transaction_id or tx.local_id)
            stored = last_energy_wh(self._tx_meter_values) if self._tx_meter_values else None
            meter = self._reading.energy_wh if self._reading is not None else (
                tx.meter_start if stored is None else stored)
            self._end_transaction("Other", meter, self.ctx.clock.now(), None)
        elif state.transaction_active and (tx is None or tx.stopped):
            self.log.warning("the EVSE manager runs a transaction (session %s) we were never told of",
                             state.session_id)
        if self._session_id and not state.session_id and self._pending_operative is not None:
            self._operative, self._pending_operative = self._pending_operative, None
            self.tell(self._manager, EnableDisable(evse_id=self.evse_id, enable=self._operative))
        self._session_id = state.session_id
        self._reserved_for = "" if state.transaction_active else state.reserved_for
        new = reconciled_status(self._base, transaction_active=state.transaction_active, charging=state.charging,
                                paused_by=state.paused_by, session=bool(state.session_id),
                                reserved=bool(state.reserved_for), available=self._operative and state.enabled,
                                stopped_transaction=self._tx is not None and self._tx.stopped)
        if new != self._base:
            self._base = new
            self._status_changed()
        else:
            self._publish_state()

    def _begin_transaction(self, msg: SessionEvent) -> None:
        started = msg.timestamp or self.ctx.clock.now()
        record = TransactionRecord(session_id=msg.session_id, connector_id=self.evse_id, id_tag=msg.id_tag[:20],
                                   meter_start=round(msg.meter_wh or 0), started_at=iso(started),
                                   reservation_id=msg.reservation_id)
        payload: dict[str, Any] = {"connectorId": self.evse_id, "idTag": record.id_tag,
                                   "meterStart": record.meter_start, "timestamp": record.started_at}
        if record.reservation_id is not None:
            payload["reservationId"] = record.reservation_id
        start = self._durable_call("StartTransaction", payload, f"start:{record.session_id}")
        begun = self._ask(self._persistence, BeginTransaction(record=record, start_call=start))
        self._tx = replace(record, local_id=begun.local_id)
        self._tx_meter_values = []
        self._adopt(start, begun.queue_id, local_transaction_id=begun.local_id)
        self.publish(OcppTransactionEvent(event="Started", evse_id=self.evse_id, session_id=record.session_id,
                                          timestamp=started))
        if record.reservation_id is not None:
            self.tell(self._auth, ReservationUsed(reservation_id=record.reservation_id))
        self._start_sampling()

    def _on_transaction_finished(self, msg: SessionEvent) -> None:
        if self._tx is None or self._tx.stopped:
            self.log.warning("TransactionFinished without a running transaction; ignored")
            return
        meter = msg.meter_wh if msg.meter_wh is not None else (
            self._reading.energy_wh if self._reading else self._tx.meter_start)
        self._end_transaction(msg.reason or "Other", meter, msg.timestamp or self.ctx.clock.now(),
                              msg.id_tag or None)
        if msg.reason == "EVDisconnected":
            if self.ctx.config.get("UnlockConnectorOnEVSideDisconnect", True):
                self.tell(self._manager, ForceUnlock(evse_id=self.evse_id))
        else:
            self._apply(StatusEvent.TX_STOPPED_USER_ACTION)

    def _end_transaction(self, reason: str, meter_wh: float, at: Any, id_tag: str | None) -> None:
        assert self._tx is not None
        self._stop_sampling()
        tx = self._tx = replace(self._tx, stopped=True, meter_stop=round(meter_wh), stopped_at=iso(at),
                                stop_reason=reason, stop_id_tag=id_tag)
        payload: dict[str, Any] = {"transactionId": self._wire_transaction_id(), "meterStop": tx.meter_stop,
                                   "timestamp": tx.stopped_at, "reason": reason}
        if id_tag:
            payload["idTag"] = id_tag[:20]
        data = transaction_data(self._tx_meter_values, parse_csl(self.ctx.config.get("StopTxnSampledData")),
                                parse_csl(self.ctx.config.get("StopTxnAlignedData")))
        if data:
            fitted = fit_transaction_data(payload, data, int(self.ctx.config.get("MaxMessageSize", 65000) or 65000))
            if len(fitted) < len(data):
                self.log.warning("transactionData cut from %d to %d values to fit MaxMessageSize",
                                 len(data), len(fitted))
            if fitted:
                payload["transactionData"] = fitted
        stop = self._durable_call("StopTransaction", payload, f"stop:{tx.session_id}")
        queued = self._ask(self._persistence, EndTransaction(
            session_id=tx.session_id, meter_stop=tx.meter_stop, stopped_at=tx.stopped_at, reason=reason,
            id_tag=id_tag, stop_call=stop))
        self._adopt(stop, queued.queue_id)
        self.publish(OcppTransactionEvent(event="Ended", evse_id=self.evse_id, session_id=tx.session_id,
                                          timestamp=at, transaction_id=tx.transaction_id))

    def _on_session_finished(self) -> None:
        self._session_id = ""
        if self._pending_operative is not None:
            self._operative, self._pending_operative = self._pending_operative, None
            self.tell(self._manager, EnableDisable(evse_id=self.evse_id, enable=self._operative))
        self._apply(StatusEvent.BECOME_AVAILABLE if self._operative else StatusEvent.BECOME_UNAVAILABLE)

    # --- answers from the CSMS ------------------------------------------------------------

    def _on_call_answered(self, msg: CallResultReceived | CallFailed) -> None:
        if isinstance(msg, CallFailed):
            self.log.warning("%s failed: %s %s", msg.action, msg.kind.value, msg.description)
            if msg.action == "StatusNotification":
                self._last_reported = None  # not delivered: report again when the link is back
            return
        kind, _, session_id = msg.correlation.partition(":")
        tx = self._tx
        if tx is None or tx.session_id != session_id:
            return
        info = msg.payload.get("idTagInfo")
        id_tag = tx.id_tag if kind == "start" else tx.stop_id_tag
        if info is not None and id_tag:
            self.tell(self._auth, IdTagInfoReceived(id_tag=id_tag, id_tag_info=info))  # type: ignore[arg-type]
        if kind == "start":
            self._on_start_answered(tx, msg)
        elif kind == "stop":
            self._ask(self._persistence, CloseTransaction(session_id=session_id))
            self._tx = None
            self._publish_state()

    def _on_start_answered(self, tx: TransactionRecord, msg: CallResultReceived) -> None:
        transaction_id = int(msg.payload["transactionId"])  # type: ignore[call-overload]
        self._ask(self._persistence, SetTransactionId(session_id=tx.session_id, transaction_id=transaction_id))
        self._tx = replace(tx, transaction_id=transaction_id)
        self.publish(OcppTransactionEvent(event="Updated", evse_id=self.evse_id, session_id=tx.session_id,
                                          timestamp=self.ctx.clock.now(), transaction_id=transaction_id))
        status = msg.payload["idTagInfo"]["status"]  # type: ignore[index]
        if status != "Accepted" and not tx.stopped:
            self.log.warning("transaction %d not accepted for %s: %s", transaction_id, tx.id_tag, status)
            self.tell(self._manager, PauseCharging(evse_id=self.evse_id))
            if self.ctx.config.get("StopTransactionOnInvalidId", True):
                self.tell(self._manager, StopTransactionCommand(evse_id=self.evse_id, reason="DeAuthorized"))
        self._publish_state()

    # --- the Station's requests -------------------------------------------------------------

    def _on_request_stop(self, msg: RequestStop) -> None:
        if self._tx is not None and not self._tx.stopped:
            self.tell(self._manager, StopTransactionCommand(evse_id=self.evse_id, reason=msg.reason))

    def _on_csms_call(self, msg: CallReceived) -> None:
        """UnlockConnector, handed over by the Station that owns the action."""
        self._on_request_stop(RequestStop(reason="UnlockCommand"))
        self.tell(self._manager, ForceUnlock(evse_id=self.evse_id))
        self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action,
                                             payload={"status": "Unlocked"}))

    def _on_apply_availability(self, msg: ApplyAvailability) -> AvailabilityApplied:
        self._ask(self._persistence, StoreAvailability(connector_id=self.evse_id, operative=msg.operative))
        if self._session_id or (self._tx is not None and not self._tx.stopped):
            self._pending_operative = None if msg.operative == self._operative else msg.operative
            return AvailabilityApplied(evse_id=self.evse_id, scheduled=self._pending_operative is not None)
        if msg.operative != self._operative:
            self._operative = msg.operative
            self.tell(self._manager, EnableDisable(evse_id=self.evse_id, enable=msg.operative))
            self._apply(StatusEvent.BECOME_AVAILABLE if msg.operative else StatusEvent.BECOME_UNAVAILABLE)
        return AvailabilityApplied(evse_id=self.evse_id, scheduled=False)

    def _on_get_state(self, _msg: GetEvseState) -> EvseStateChanged:
        return self._state()

    # --- errors ---------------------------------------------------------------------------

    def _on_error_raised(self, msg: ErrorRaised) -> None:
        self._errors[msg.uuid] = map_error(msg.type, msg.sub_type, msg.message, msg.description, msg.vendor_id,
                                           origin=self._manager)
        self._publish_state()
        self._report_status(force=True)  # every new error is reported, even with the same status

    def _on_error_cleared(self, msg: ErrorCleared) -> None:
        if self._errors.pop(msg.uuid, None) is not None:
            self._publish_state()
            self._report_status(force=True)

    # --- meter values ---------------------------------------------------------------------

    def _on_meter_reading(self, msg: MeterReading) -> None:
        self._reading = msg

    def _start_sampling(self) -> None:
        interval = int(self.ctx.config.get("MeterValueSampleInterval", 0) or 0)
        self.ctx.clock.cancel(self._sample_timer)
        self._sample_timer = self.every(interval, SampleDue()) if interval > 0 else None

    def _stop_sampling(self) -> None:
        self.ctx.clock.cancel(self._sample_timer)
        self._sample_timer = None

    def _arm_aligned_timer(self) -> None:
        interval = int(self.ctx.config.get("ClockAlignedDataInterval", 0) or 0)
        self.ctx.clock.cancel(self._aligned_timer)
        self._aligned_timer = None
        if interval > 0:
            now = self.ctx.clock.now()
            self._aligned_timer = self.after((next_clock_aligned(now, interval) - now).total_seconds(), AlignedDue())

    def _on_sample_due(self, _msg: SampleDue) -> None:
        if self._tx is not None and not self._tx.stopped:
            self._send_meter_values("MeterValuesSampledData", "Sample.Periodic")

    def _on_aligned_due(self, _msg: AlignedDue) -> None:
        self._send_meter_values("MeterValuesAlignedData", "Sample.Clock")
        self._arm_aligned_timer()

    def _send_meter_values(self, measurands_key: str, context: str, *, triggered: bool = False) -> bool:
        """Send the measurands of ``measurands_key`` as they are now; False if there are none."""
        if self._reading is None:
            return False
        values = sampled_values(self._reading, parse_csl(self.ctx.config.get(measurands_key)), context)
        if not values:
            return False
        value = meter_value(self.ctx.clock.now(), values)
        payload: dict[str, Any] = {"connectorId": self.evse_id, "meterValue": [value]}
        tx = self._tx
        if tx is not None and not tx.stopped and triggered:
            payload["transactionId"] = self._wire_transaction_id()  # reported, not part of the transaction's data
        if tx is None or tx.stopped or triggered:
            self._send("MeterValues", payload, "meter", triggered=triggered)
            return True
        payload["transactionId"] = self._wire_transaction_id()
        call = self._durable_call("MeterValues", payload, "meter")
        queued = self._ask(self._persistence, AppendMeterValue(session_id=tx.session_id, meter_value=value, call=call))
        self._tx_meter_values.append(value)
        self._adopt(call, queued.queue_id)
        return True

    # --- the CSMS's triggers and configuration changes ------------------------------------

    def _on_trigger_report(self, msg: TriggerReport) -> TriggerReportAnswer:
        if msg.action == "StatusNotification":
            self._report_status(triggered=True)
            return TriggerReportAnswer(evse_id=self.evse_id, sent=True)
        sent = self._send_meter_values("MeterValuesSampledData", "Trigger", triggered=True)
        return TriggerReportAnswer(evse_id=self.evse_id, sent=sent)

    def _on_configuration_changed(self, msg: ConfigurationChanged) -> None:
        key = msg.key.lower()
        if key == "metervaluesampleinterval" and self._tx is not None and not self._tx.stopped:
            self._start_sampling()
        elif key == "clockaligneddatainterval" and self._registered:
            self._arm_aligned_timer()

    # --- helpers --------------------------------------------------------------------------

    def _wire_transaction_id(self) -> int:
        """The CSMS's id if we know it, else our local one (the link swaps it when it can)."""
        assert self._tx is not None
        return self._tx.transaction_id if self._tx.transaction_id is not None else self._tx.local_id

    def _durable_call(self, action: str, payload: dict[str, Any], correlation: str) -> EnqueueCall:
        return EnqueueCall(action=action, payload=payload, reply_to=self.name, correlation=correlation)

    def _adopt(self, call: EnqueueCall, queue_id: int, local_transaction_id: int | None = None) -> None:
        """Hand a call we stored in the durable queue to the link (it reloads it if it is down)."""
        self._last_action = call.action
        if self.ctx.directory.get(self._csms) is None:
            self.log.debug("%s stays queued until the link starts", call.action)  # it reloads the queue
            self._publish_state()
            return
        self.tell(self._csms, AdoptQueuedCall(queue_id=queue_id, call=SendCall(
            action=call.action, payload=call.payload, reply_to=call.reply_to, correlation=call.correlation,
            local_transaction_id=local_transaction_id)))
        self._publish_state()

    def _send(self, action: str, payload: dict[str, Any], correlation: str, *, triggered: bool = False) -> None:
        self._last_action = action
        self.tell(self._csms, SendCall(action=action, payload=payload, reply_to=self.name, correlation=correlation,
                                       triggered=triggered))
        self._publish_state()

    def _state(self) -> EvseStateChanged:
        tx, reading = self._tx, self._reading
        energy = None
        if tx is not None and reading is not None:
            energy = (tx.meter_stop if tx.stopped and tx.meter_stop is not None else reading.energy_wh) - tx.meter_start
        error = self._latest_error()
        return EvseStateChanged(evse_id=self.evse_id, status=self._status().value,
                                error_code=error.error_code if error else "NoError",
                                transaction_id=tx.transaction_id if tx else None,
                                session_active=bool(self._session_id),
                                transaction_active=tx is not None and not tx.stopped,
                                stop_unconfirmed=tx is not None and tx.stopped,
                                energy_wh=energy, last_action=self._last_action, reserved_for=self._reserved_for)

    def _publish_state(self) -> None:
        self.publish(self._state())
