"""SimBridge: the simulator's side of the EVerest MQTT bus, in the ``ocpp-cp sim`` process.

The Simulator actor stays exactly as it runs embedded: it tells ``evse/<id>`` and ``auth`` what
happens and is told commands. In its own process nobody else has those names, so this actor is
registered under them too and carries each message over the bus in the contract's shape
(``docs/mqtt-bus.md``, codec :mod:`messages.everest`): it plays EVerest's EvseManagers, energy
sinks, System, Reservation and Auth modules as module ``sim``, and calls the OCPP module's
``auth_validator``. It owns the MQTT connection (:class:`actors.mqtt_edge.MqttEdge`, client id
``ocpp-cp-<module>``, persistent session, QoS 2); paho's thread only tells it what arrived.

Accepts (tell): from the Simulator SessionEvent, MeterReading, ErrorRaised, ErrorCleared (as
``evse/<id>``) and ValidateToken (as ``auth``); from its edge MqttMessageReceived and
MqttConnectionChanged; its own ResultReady and timer ValidationTimedOut.
Answers (ask): GetBusStatus → BusStatus.
Emits (tell, to the Simulator): SimCommand (control topics ``ocpp-cp/sim/<evse>/<command>``),
ProvideToken (the OCPP module's provided_token var), TokenValidated (validate_token's result, or
a refusal when there is none within 65 s), and the commands of the simulator's implementations:
StopTransactionCommand, PauseCharging, ResumeCharging, EnableDisable, ForceUnlock, ExternalLimits,
Reserve, CancelReserve, SystemReset; (ask) GetSessionState, to answer commands with the state.
The system's transfer commands (update_firmware, allow_firmware_installation, upload_logs) go to
the SystemTransfers actor of this process as DownloadFirmware / InstallFirmware / UploadLogs;
its FirmwareDownloaded, FirmwareInstalled, LogsUploaded and TransferFailed (accepted, tell) are
published as the system's firmware_update_status / log_status vars. The ``security``
implementation's evse_security commands (``--certs-path``) are asked of the EvseSecurity store
of this process and answered with its reply.
A command's result is published after every event the Simulator emitted before it answered
(the result goes to the back of this actor's inbox), so queued events come before the answers.
Nothing malformed from the broker is fatal: it is answered with an error or logged and dropped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from actors.mqtt_edge import MqttEdge
from messages import everest
from messages.everest import BusFormatError, Cmd, CmdError, CmdResult, ErrorEvent, ModuleReady, TopicKind, Var
from messages.evse_manager import (
    CancelReserve, EnableDisable, ErrorCleared, ErrorRaised, ForceUnlock, GetSessionState, MeterReading,
    PauseCharging, Reserve, ResumeCharging, SessionEvent, SessionState, StopTransactionCommand, TokenValidated,
    ValidateToken,
)
from messages.payload import Json
from messages.smart_charging import ExternalLimits
from messages.system import (
    FirmwareDownloaded, FirmwareInstalled, InstallFirmware, LogsUploaded, SystemReset, TransferFailed, UploadLogs,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from actors.base import ActorContext
    from actors.clock import TimerHandle
    from messages.everest import Topic

__all__ = ["BusStatus", "GetBusStatus", "MqttConnectionChanged", "MqttMessageReceived", "ResultReady",
           "SimBridge", "ValidationTimedOut", "control_filters"]

ASK_TIMEOUT_S = 5.0
SECURITY_ASK_S = 4.0
"""How long a command of the ``security`` implementation waits for the store (the caller waits 4.5 s)."""
"""How long a command waits for the Simulator's state (it answers in microseconds)."""
ENFORCED_LIMITS_VALID_S = 60.0
"""valid_until of an enforced_limits var; it is published again when half of that has passed."""
REFUSED = "Invalid"
"""The status a token gets when auth_validator did not answer (or answered an error)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttMessageReceived:
    """Event (edge → bridge, from paho's thread): a message arrived."""

    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttConnectionChanged:
    """Event (edge → bridge): connected and subscribed (True), or the connection is lost."""

    up: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultReady:
    """Command (bridge → itself): publish a command's result, after what the Simulator emitted."""

    topic: str
    result: CmdResult


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationTimedOut:
    """Timer: auth_validator did not answer a validate_token in time."""

    command_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetBusStatus:
    """Query (ask → :class:`BusStatus`): how the bridge stands on the bus."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BusStatus:
    """Reply to :class:`GetBusStatus`."""

    connected: bool
    """Connected to the broker and subscribed."""
    pending_validations: int
    """validate_token calls without a result yet."""


def control_filters(module: str, ocpp_module: str, prefix: str) -> tuple[str, ...]:
    """The simulator's subscriptions (``docs/mqtt-bus.md``, Subscriptions)."""
    return (f"{prefix}modules/{module}/impl/+/cmd/+", f"{prefix}modules/+/impl/+/cmd/+/response/{module}",
            f"{prefix}modules/{ocpp_module}/impl/auth_provider/var/provided_token", f"{prefix}modules/+/ready",
            f"{everest.SIM_CONTROL_PREFIX}+/+")


class SimBridge(SupervisedActor):
    """The simulator on the MQTT bus (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        SessionEvent: "_on_session_event",
        MeterReading: "_on_meter_reading",
        ErrorRaised: "_on_error_raised",
        ErrorCleared: "_on_error_cleared",
        ValidateToken: "_on_validate_token",
        MqttMessageReceived: "_on_message",
        MqttConnectionChanged: "_on_connection",
        ResultReady: "_on_result_ready",
        ValidationTimedOut: "_on_validation_timed_out",
        GetBusStatus: "_on_get_bus_status",
        FirmwareDownloaded: "_on_transfer_outcome",
        FirmwareInstalled: "_on_transfer_outcome",
        LogsUploaded: "_on_transfer_outcome",
        TransferFailed: "_on_transfer_outcome",
    }

    def __init__(self, ctx: ActorContext, name: str, *, evse_count: int, host: str, port: int,  # noqa: PLR0913
                 module_id: str = everest.SIM_MODULE_ID, ocpp_module_id: str = everest.OCPP_MODULE_ID,
                 prefix: str = everest.PREFIX, simulator: str = "simulator",
                 aliases: Sequence[str] = (), system: str = "", security: str = "") -> None:
        """Args:
            aliases: the names the Simulator tells (``evse/<id>``, ``auth``): registered for this
                actor while it runs.
            system: the SystemTransfers actor that does the system's firmware and log transfers
                (empty: those commands fail with HandlerException).
            security: the EvseSecurity actor (certificate store) that serves the ``security``
                implementation's evse_security commands (empty: they fail with HandlerException).
        """
        super().__init__(ctx, name)
        self._evse_count = evse_count
        self._host, self._port = host, port
        self._module, self._ocpp, self._prefix = module_id, ocpp_module_id, prefix
        self._simulator = simulator
        self._aliases = tuple(aliases)
        self._edge: MqttEdge | None = None
        self._validations: dict[str, tuple[ValidateToken, TimerHandle]] = {}
        self._errors: dict[str, ErrorRaised] = {}
        """uuid → the error raised, repeated by its ClearError."""
        self._offered: dict[int, tuple[tuple[float | None, float | None], datetime]] = {}
        """EVSE → the offered (A, W) last published as enforced_limits, and its valid_until."""
        self._reservations: dict[int, int] = {}
        """EVSE → the reservation id sent to it (cancel_reservation names no EVSE)."""
        self._system = system
        self._security = security
        self._transfers: dict[str, tuple[int, str, bool]] = {}
        """transfer_id → (request_id, the status var, is an installation) of the transfers under way."""
        self._last_image = ""
        """The image downloaded last: what an allow_firmware_installation without a path installs."""
        self._commands: dict[type, Callable[[object], Json]] = {
            StopTransactionCommand: self._stop_transaction, GetSessionState: self._session_state,
            PauseCharging: self._obey, ResumeCharging: self._obey, ForceUnlock: self._obey,
            EnableDisable: self._enable_disable, ExternalLimits: self._external_limits,
            Reserve: self._reserve_now, CancelReserve: self._cancel_reservation, SystemReset: self._reset,
            everest.IsResetAllowed: lambda _msg: True, everest.SetConnectionTimeout: self._set_connection_timeout,
            everest.SystemTransfer: self._system_transfer,
            **dict.fromkeys(everest.SECURITY_REQUESTS, self._security_request),
        }

    # --- life cycle ---------------------------------------------------------------------------

    def started(self) -> None:
        for alias in self._aliases:
            self.ctx.directory.register(alias, self.actor_ref)
        ref = self.actor_ref
        self._edge = MqttEdge(
            self._host, self._port, everest.client_id(self._module),
            subscriptions=[(f, everest.QOS) for f in control_filters(self._module, self._ocpp, self._prefix)],
            on_message=lambda topic, payload: ref.tell(MqttMessageReceived(topic=topic, payload=payload)),
            on_connection=lambda up: ref.tell(MqttConnectionChanged(up=up)))
        self._edge.start()
        self.log.info("module %s with %d EVSE(s) connecting to MQTT %s:%d", self._module, self._evse_count,
                      self._host, self._port)

    def stopping(self) -> None:
        self._close()

    def on_failure(self, exception_type: object, exception_value: object, traceback: object) -> None:
        # A restarted bridge connects under the same client id: this one must be gone first, or
        # the broker would hand the session back and forth between the two.
        self._close()
        super().on_failure(exception_type, exception_value, traceback)

    def _close(self) -> None:
        edge, self._edge = self._edge, None
        if edge is not None:
            edge.stop()
        for alias in self._aliases:
            self.ctx.directory.unregister(alias, self.actor_urn)

    def _on_get_bus_status(self, _msg: GetBusStatus) -> BusStatus:
        return BusStatus(connected=self._connected, pending_validations=len(self._validations))

    @property
    def _connected(self) -> bool:
        return self._edge is not None and self._edge.connected

    def _publish(self, topic: str, payload: bytes) -> None:
        if self._edge is not None and not self._edge.publish(topic, payload, everest.QOS):
            self.log.warning("MQTT did not take the message for %s", topic)

    def _publish_var(self, impl: str, var: str, value: Json) -> None:
        self._publish(everest.var_topic(self._module, impl, var, prefix=self._prefix), everest.encode(Var(value=value)))

    def _on_connection(self, msg: MqttConnectionChanged) -> None:
        if msg.up:
            self._publish(everest.module_ready_topic(self._module, prefix=self._prefix), everest.encode(ModuleReady()))
            self.log.info("on the bus as module %s: ModuleReady published", self._module)
        else:
            self.log.warning("off the bus: session events wait for the reconnect, meter readings are dropped")

    # --- what the Simulator tells: published on the bus ---------------------------------------

    def _on_session_event(self, msg: SessionEvent) -> None:
        try:
            self._publish_var(everest.evse_manager_impl(msg.evse_id), "session_event",
                              everest.session_event_to_everest(msg))
        except BusFormatError as e:
            self.log.error("session event %s of EVSE %d not published: %s", msg.event.value, msg.evse_id, e.reason)

    def _on_meter_reading(self, msg: MeterReading) -> None:
        """enforced_limits when the offer changed (before the reading it goes with), always; the
        reading itself only while connected: a stale one is worthless (the contract)."""
        impl = everest.evse_manager_impl(msg.evse_id)
        offered = (msg.offered_current_a, msg.offered_power_w)
        last = self._offered.get(msg.evse_id)
        if last is None or last[0] != offered or msg.timestamp >= last[1] - timedelta(seconds=ENFORCED_LIMITS_VALID_S / 2):
            valid_until = msg.timestamp + timedelta(seconds=ENFORCED_LIMITS_VALID_S)
            self._offered[msg.evse_id] = (offered, valid_until)
            self._publish_var(impl, "enforced_limits", everest.enforced_limits_to_everest(
                msg.evse_id, current_a=offered[0], power_w=offered[1], valid_until=valid_until))
        if not self._connected:
            return
        self._publish_var(impl, "powermeter", everest.meter_reading_to_everest(msg))
        if msg.soc is not None:
            self._publish_var(impl, "ev_info", {"soc": msg.soc})

    def _on_error_raised(self, msg: ErrorRaised) -> None:
        impl = everest.evse_manager_impl(msg.evse_id)
        try:
            topic = everest.error_topic(self._module, impl, msg.type, prefix=self._prefix)
        except BusFormatError as e:
            self.log.error("error %r of EVSE %d cannot be published: %s", msg.type, msg.evse_id, e.reason)
            return
        self._errors[msg.uuid] = msg
        data = everest.error_raised_to_everest(msg, module=self._module, impl=impl, at=self.ctx.clock.now())
        self._publish(topic, everest.encode(ErrorEvent(cleared=False, error=data)))

    def _on_error_cleared(self, msg: ErrorCleared) -> None:
        raised = self._errors.pop(msg.uuid, None)
        if raised is None:
            self.log.warning("EVSE %d cleared error %s, which was never published", msg.evse_id, msg.uuid)
            return
        impl = everest.evse_manager_impl(raised.evse_id)
        data = everest.error_cleared_to_everest(raised, module=self._module, impl=impl, at=self.ctx.clock.now())
        self._publish(everest.error_topic(self._module, impl, raised.type, prefix=self._prefix),
                      everest.encode(ErrorEvent(cleared=True, error=data)))

    def _on_validate_token(self, msg: ValidateToken) -> None:
        """auth_validator.validate_token of the OCPP module; TokenValidated when it answers."""
        command_id = str(uuid.uuid4())
        timer = self.after(everest.VALIDATE_TOKEN_TIMEOUT_S, ValidationTimedOut(command_id=command_id))
        self._validations[command_id] = (msg, timer)
        cmd = Cmd(id=command_id, args=everest.validate_token_to_everest(msg), origin=self._module)
        self._publish(everest.cmd_topic(self._ocpp, "auth_validator", "validate_token", prefix=self._prefix),
                      everest.encode(cmd))

    def _on_validation_timed_out(self, msg: ValidationTimedOut) -> None:
        pending = self._validations.pop(msg.command_id, None)
        if pending is not None:
            error = everest.timeout_error(self._ocpp, "auth_validator", "validate_token",
                                          everest.VALIDATE_TOKEN_TIMEOUT_S)
            self._refuse(pending[0], f"{error.event}: {error.msg}")

    def _refuse(self, request: ValidateToken, reason: str) -> None:
        self.log.warning("token %s on EVSE %d refused: %s", request.id_tag, request.evse_id, reason)
        self.tell(request.reply_to, TokenValidated(evse_id=request.evse_id, id_tag=request.id_tag, status=REFUSED,
                                                   correlation=request.correlation, reason=reason))

    # --- what the broker delivers ------------------------------------------------------------

    def _on_message(self, msg: MqttMessageReceived) -> None:
        try:
            topic = everest.parse_topic(msg.topic, prefix=self._prefix)
            handler = {TopicKind.SIM_CONTROL: self._on_control, TopicKind.CMD: self._on_command,
                       TopicKind.RESULT: self._on_result, TopicKind.VAR: self._on_var,
                       TopicKind.MODULE_READY: self._on_ready, TopicKind.GLOBAL_READY: self._on_ready}[topic.kind]
            handler(topic, msg)
        except BusFormatError as e:
            self.log.warning("dropped the message on %s: %s", msg.topic, e.reason)

    def _on_control(self, _topic: Topic, msg: MqttMessageReceived) -> None:
        command = everest.sim_command_from_mqtt(msg.topic, msg.payload)
        if not 1 <= command.evse_id <= self._evse_count:
            raise BusFormatError(f"there is no EVSE {command.evse_id} (1..{self._evse_count})")
        self.log.info("EVSE %d: %s %s", command.evse_id, command.command, dict(command.args) or "")
        self.tell(self._simulator, command)

    def _on_ready(self, topic: Topic, _msg: MqttMessageReceived) -> None:
        if topic.kind is TopicKind.GLOBAL_READY:
            self.log.info("GlobalReady seen")
        elif topic.module != self._module:
            self.log.info("module %s is ready (started, or back)", topic.module)

    def _on_var(self, topic: Topic, msg: MqttMessageReceived) -> None:
        if (topic.module, topic.impl, topic.name) != (self._ocpp, "auth_provider", "provided_token"):
            self.log.debug("no use for %s", msg.topic)
            return
        envelope = everest.decode(msg.payload)
        if not isinstance(envelope, Var):
            raise BusFormatError(f"a {type(envelope).__name__} where a Var belongs")
        self.tell(self._simulator, everest.provided_token_from_everest(envelope.value, evse_count=self._evse_count))

    def _on_result(self, topic: Topic, msg: MqttMessageReceived) -> None:
        envelope = everest.decode(msg.payload)
        if not isinstance(envelope, CmdResult):
            raise BusFormatError(f"a {type(envelope).__name__} where a CmdResult belongs")
        pending = self._validations.pop(envelope.id, None) if topic.name == "validate_token" else None
        if pending is None:
            self.log.debug("dropped a late or unknown result on %s", msg.topic)
            return
        request, timer = pending
        self.ctx.clock.cancel(timer)
        if envelope.error is not None:
            self._refuse(request, f"{envelope.error.event}: {envelope.error.msg}")
            return
        try:
            answer = everest.token_validated_from_everest(envelope.retval, evse_id=request.evse_id,
                                                          id_tag=request.id_tag, correlation=request.correlation)
        except BusFormatError as e:
            self._refuse(request, f"unreadable result: {e.reason}")
            return
        self.tell(request.reply_to, answer)

    def _on_command(self, topic: Topic, msg: MqttMessageReceived) -> None:
        """A command on one of our implementations: run it, answer on the caller's response topic."""
        if topic.module != self._module:
            self.log.debug("not our command: %s", msg.topic)
            return
        cmd = everest.decode(msg.payload)
        if not isinstance(cmd, Cmd):
            raise BusFormatError(f"a {type(cmd).__name__} where a Cmd belongs")
        reply = everest.result_topic(self._module, topic.impl, topic.name, cmd.origin, prefix=self._prefix)
        try:
            requirement, evse_id = everest.sim_impl(topic.impl)
            if requirement in ("evse_manager", "evse_energy_sink") and not 1 <= evse_id <= self._evse_count:
                raise BusFormatError(f"the simulator has no implementation {topic.impl!r} ({self._evse_count} EVSEs)")
            message = everest.message_for(requirement, evse_id, topic.name, cmd.args)
        except BusFormatError as e:
            self.log.warning("command %s refused: %s", msg.topic, e.reason)
            self._answer(reply, CmdResult(id=cmd.id, origin=self._module,
                                          error=CmdError(event="MessageParsingFailed", msg=e.reason)))
            return
        try:
            retval = self._commands[type(message)](message)
        except Exception as e:  # noqa: BLE001 - the caller gets HandlerException; we live on
            self.log.exception("command %s failed", msg.topic)
            self._answer(reply, CmdResult(id=cmd.id, origin=self._module,
                                          error=CmdError(event="HandlerException", msg=f"{type(e).__name__}: {e}")))
            return
        self._answer(reply, CmdResult(id=cmd.id, origin=self._module, retval=retval))

    def _answer(self, topic: str, result: CmdResult) -> None:
        """To the back of the inbox: the Simulator's events told so far are published first."""
        self.actor_ref.tell(ResultReady(topic=topic, result=result))

    def _on_result_ready(self, msg: ResultReady) -> None:
        self._publish(msg.topic, everest.encode(msg.result))

    # --- the commands, carried to the Simulator -------------------------------------------------

    def _tell_simulator(self, message: object) -> None:
        if not self.tell(self._simulator, message):
            raise RuntimeError("the simulator is not running")

    def _state(self, evse_id: int) -> SessionState:
        return self.ctx.directory.ask(self._simulator, GetSessionState(evse_id=evse_id), timeout=ASK_TIMEOUT_S)

    def _stop_transaction(self, msg: StopTransactionCommand) -> Json:
        """True if a transaction was running (it is stopped now); false otherwise, doing nothing."""
        before = self._state(msg.evse_id)
        self._tell_simulator(msg)
        self._state(msg.evse_id)  # handled: its events are in our inbox before the result
        return before.transaction_active

    def _session_state(self, msg: GetSessionState) -> Json:
        return everest.session_state_to_everest(self._state(msg.evse_id))

    def _obey(self, msg: PauseCharging | ResumeCharging | ForceUnlock) -> Json:
        self._tell_simulator(msg)
        self._state(msg.evse_id)
        return True

    def _enable_disable(self, msg: EnableDisable) -> Json:
        """Whether the EVSE is enabled now."""
        self._tell_simulator(msg)
        return self._state(msg.evse_id).enabled

    def _external_limits(self, msg: ExternalLimits) -> Json:
        self._tell_simulator(msg)
        return None

    def _reserve_now(self, msg: Reserve) -> Json:
        """The simulated EVSE takes every reservation the OCPP side decided on (as embedded)."""
        if not 1 <= msg.evse_id <= self._evse_count:
            return "Rejected"
        self._tell_simulator(msg)
        self._reservations[msg.evse_id] = msg.reservation_id
        return "Accepted"

    def _cancel_reservation(self, msg: CancelReserve) -> Json:
        """Found by its id among the reservations sent; false when no EVSE holds it."""
        evse_id = next((e for e, r in self._reservations.items() if r == msg.reservation_id), None)
        if evse_id is None:
            return False
        del self._reservations[evse_id]
        self._tell_simulator(CancelReserve(evse_id=evse_id, reservation_id=msg.reservation_id))
        return True

    def _reset(self, msg: SystemReset) -> Json:
        self._tell_simulator(msg)
        return None

    def _set_connection_timeout(self, msg: everest.SetConnectionTimeout) -> Json:
        """ConnectionTimeOut of the simulated Auth module: the Simulator reads it from its config."""
        config = self.ctx.config.current
        self.ctx.config.replace(config.with_value(config.profile_of("ConnectionTimeOut") or "Core",
                                                  "ConnectionTimeOut", msg.seconds))
        self.log.info("ConnectionTimeOut is %d s", msg.seconds)
        return None

    # --- the evse_security commands, answered by the EvseSecurity store ---------------------------

    def _security_request(self, msg: object) -> Json:
        """Asked of the same certificate store the charge point embeds (its files under ``--certs-path``)."""
        if not self._security or self.ctx.directory.get(self._security) is None:
            raise RuntimeError("this simulator serves no security implementation (no --certs-path)")
        reply = self.ctx.directory.ask(self._security, msg, timeout=SECURITY_ASK_S)
        return everest.security_reply_to_everest(reply)

    # --- the system's file transfers, done by SystemTransfers ------------------------------------

    def _system_transfer(self, msg: everest.SystemTransfer) -> Json:
        """Start the transfer; its steps and outcome are published as firmware_update_status /
        log_status. The result is EVerest's: Accepted (update_firmware, upload_logs), or null."""
        request = replace(msg.request, reply_to=self.name)
        if isinstance(request, InstallFirmware) and not request.path:
            request = replace(request, path=self._last_image)
        var = "log_status" if isinstance(request, UploadLogs) else "firmware_update_status"
        installing = isinstance(request, InstallFirmware)
        if not self._system or not self.tell(self._system, request):
            raise RuntimeError("the system's transfers are not running")
        self._transfers[request.transfer_id] = (msg.request_id, var, installing)
        step = "Uploading" if var == "log_status" else "Installing" if installing else "Downloading"
        self._publish_transfer_status(everest.TransferStatus(var=var, status=step, request_id=msg.request_id,
                                                             transfer_id=request.transfer_id))
        if isinstance(request, UploadLogs):
            return {"upload_logs_status": "Accepted", "file_name": request.file_name}
        return None if installing else "Accepted"

    def _on_transfer_outcome(self, msg: FirmwareDownloaded | FirmwareInstalled | LogsUploaded | TransferFailed,
                             ) -> None:
        under_way = self._transfers.pop(msg.transfer_id, None)
        if under_way is None:
            self.log.warning("the outcome of an unknown transfer %s; dropped", msg.transfer_id)
            return
        request_id, var, installing = under_way
        status = everest.TransferStatus(var=var, status="", request_id=request_id, transfer_id=msg.transfer_id)
        if isinstance(msg, FirmwareDownloaded):
            self._last_image = msg.path
            status = replace(status, status="Downloaded", path=msg.path, size=msg.size)
        elif isinstance(msg, FirmwareInstalled):
            status = replace(status, status="Installed")
        elif isinstance(msg, LogsUploaded):
            status = replace(status, status="Uploaded", size=msg.size)
        else:
            failed = "UploadFailure" if var == "log_status" else "InstallationFailed" if installing else "DownloadFailed"
            status = replace(status, status=failed, reason=msg.reason)
        self._publish_transfer_status(status)

    def _publish_transfer_status(self, status: everest.TransferStatus) -> None:
        self.log.info("%s %s (request %d)", status.var, status.status, status.request_id)
        self._publish_var("system", status.var, everest.transfer_status_to_everest(status))
