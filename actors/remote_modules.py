"""RemoteModules: our required interfaces, served by other modules on the MQTT bus.

In MQTT mode it stands where the simulator stands in-process (the ``evse_manager`` and
``system`` the other actors are given): every command they tell the EVSE manager, the
reservation, the system and the energy sinks becomes a command on the connection the
``Connections`` option names (``messages.everest.call_for``); a RemoteStartTransaction's token
becomes our ``auth_provider.provided_token`` var. The other way, the EVSE managers' vars
(session_event, powermeter with the latest enforced_limits and ev_info merged in) and every
module's errors become SessionEvent / MeterReading / ErrorRaised / ErrorCleared for ``evse/<id>``.

Session state. It answers an Evse's GetSessionState from what it has told that Evse: the last
get_session_state answer (our extension), moved on by the session events since. It calls
get_session_state on every EVSE when the bus (re)connects and on the EVSEs of a peer that
sends ModuleReady, and tells each answer to its Evse, which reconciles with it. Until an EVSE
manager has answered, its state is unknown (``SessionState.known`` False), and so it stays
with a manager that does not know the extension: the Evse then keeps what it has.

Nothing is told to an Evse that is not running (starting, or restarting after a crash): what
comes for it meanwhile is held, in order, and handed over once it runs again (it publishes an
EvseStateChanged when it has started), after it was answered the state it had before.

Accepts (tell): StopTransactionCommand, PauseCharging, ResumeCharging, EnableDisable,
ForceUnlock, Reserve, CancelReserve, ExternalLimits, SystemReset, ProvideToken; BusVar,
BusError, BusCallAnswered, BusCallFailed (from the bus); BusConnectionChanged, BusPeerReady,
EvseStateChanged, ConfigurationChanged (published). Answers (ask): GetSessionState → SessionState.
Emits: BusCall, BusPublishVar (to the bus); SessionEvent, MeterReading, ErrorRaised,
ErrorCleared, SessionState (to ``evse/<id>``, recorded as trace inputs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from actors.bus_routing import Routes, advance_session_state, unknown_session_state
from messages import everest
from messages.bus import (
    BusCall,
    BusCallAnswered,
    BusCallFailed,
    BusConnectionChanged,
    BusError,
    BusPeerReady,
    BusPublishVar,
    BusVar,
)
from messages.configuration import ConfigurationChanged
from messages.evse_manager import (
    CancelReserve,
    EnableDisable,
    ForceUnlock,
    GetSessionState,
    MeterReading,
    PauseCharging,
    ProvideToken,
    Reserve,
    ResumeCharging,
    SessionEvent,
    SessionEventType,
    SessionState,
    StopTransactionCommand,
)
from messages.smart_charging import ExternalLimits
from messages.station import EvseStateChanged
from messages.system import SystemReset

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from actors.base import ActorContext

__all__ = ["RemoteModules"]

_COMMANDS = (StopTransactionCommand, PauseCharging, ResumeCharging, EnableDisable, ForceUnlock, CancelReserve,
             ExternalLimits, SystemReset)
DEFAULT_CONNECTION_TIMEOUT_S = 30


class RemoteModules(SupervisedActor):
    """Our requirements over the bus (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        **dict.fromkeys(_COMMANDS, "_on_command"),
        Reserve: "_on_reserve",
        ProvideToken: "_on_provide_token",
        GetSessionState: "_on_get_session_state",
        BusVar: "_on_var",
        BusError: "_on_error",
        BusCallAnswered: "_on_answered",
        BusCallFailed: "_on_failed",
        BusConnectionChanged: "_on_bus_connection",
        BusPeerReady: "_on_peer_ready",
        EvseStateChanged: "_on_evse_state",
        ConfigurationChanged: "_on_configuration_changed",
    }
    SUBSCRIBES = (BusConnectionChanged, BusPeerReady, EvseStateChanged, ConfigurationChanged)
    VARS: ClassVar[Mapping[str, str]] = {
        "session_event": "_session_event",
        "powermeter": "_powermeter",
        "enforced_limits": "_enforced_limits",
        "ev_info": "_ev_info",
    }
    """The evse_manager vars we read; the others (ready, ...) are not needed by OCPP 1.6 here."""

    def __init__(self, ctx: ActorContext, name: str, *, evse_count: int, bus: str = "bus") -> None:
        super().__init__(ctx, name)
        self._bus = bus
        self._routes = Routes(everest.resolve_connections(ctx.options["Connections"], evse_count))
        self._states = {i: unknown_session_state(i) for i in range(1, evse_count + 1)}
        """Per EVSE: the session state as told to its Evse."""
        self._held: dict[int, list[object]] = {}
        self._reservations: dict[int, Reserve] = {}
        """The last Reserve sent per EVSE: EVerest's ReservationStart/End carry no reservation."""
        self._soc: dict[int, float | None] = {}
        self._offered: dict[int, tuple[float | None, float | None]] = {}

    # --- commands of the other actors -------------------------------------------------------

    def _on_command(self, msg: object) -> None:
        self._call(everest.call_for(msg), type(msg).__name__)

    def _on_reserve(self, msg: Reserve) -> None:
        self._reservations[msg.evse_id] = msg
        self._call(everest.call_for(msg), "Reserve")

    def _on_provide_token(self, msg: ProvideToken) -> None:
        self.tell(self._bus, BusPublishVar(impl="auth_provider", name="provided_token",
                                           value=everest.provided_token_to_everest(msg)))

    def _call(self, call: everest.Call, correlation: str) -> None:
        if not self.tell(self._bus, BusCall(call=call, reply_to=self.name, correlation=correlation)):
            self.log.error("the MQTT bus is not running: %s for %s %d not sent", call.cmd, call.requirement,
                           call.evse_id)

    def _on_answered(self, msg: BusCallAnswered) -> None:
        call = msg.call
        if call.cmd == "get_session_state":
            try:
                state = everest.session_state_from_everest(call.evse_id, msg.retval)
            except everest.BusFormatError as e:
                self.log.warning("EVSE %d: unreadable session state (%s); going by the session events",
                                 call.evse_id, e.reason)
                return
            self._deliver(call.evse_id, state)
        elif call.cmd == "reserve_now" and msg.retval != "Accepted":
            self.log.warning("reserve_now answered %r", msg.retval)
        elif msg.retval is False:
            self.log.info("%s for %s %d answered false", call.cmd, call.requirement, call.evse_id)

    def _on_failed(self, msg: BusCallFailed) -> None:
        if msg.call.cmd == "get_session_state":  # a real EvseManager has no such command
            self.log.info("EVSE %d: no session state (%s); going by the session events", msg.call.evse_id,
                          msg.message)
            return
        self.log.error("%s (for %s)", msg.message, msg.correlation)

    # --- the EVSE managers' vars and everyone's errors ----------------------------------------

    def _on_var(self, msg: BusVar) -> None:
        method = self.VARS.get(msg.name) if msg.requirement == "evse_manager" else None
        if method is None:
            self.log.debug("var %s of %s->%s not used", msg.name, msg.module, msg.impl)
            return
        try:
            getattr(self, method)(msg.evse_id, msg.value)
        except everest.BusFormatError as e:
            self.log.warning("dropped a malformed %s of %s->%s: %s", msg.name, msg.module, msg.impl, e.reason)
        except Exception:  # the codec's promise broken: still no reason to lose what is held
            self.log.exception("dropped the %s of %s->%s", msg.name, msg.module, msg.impl)

    def _session_event(self, evse_id: int, value: object) -> None:
        event = everest.session_event_from_everest(evse_id, value, reservation=self._reservations.get(evse_id))
        if event is None:
            return
        if event.event is SessionEventType.SESSION_FINISHED:
            self._soc.pop(evse_id, None)
        self._deliver(evse_id, event)

    def _powermeter(self, evse_id: int, value: object) -> None:
        current, power = self._offered.get(evse_id, (None, None))
        self._deliver(evse_id, everest.meter_reading_from_everest(
            evse_id, value, soc=self._soc.get(evse_id), offered_current_a=current, offered_power_w=power))

    def _enforced_limits(self, evse_id: int, value: object) -> None:
        self._offered[evse_id] = everest.offered_from_everest(value)

    def _ev_info(self, evse_id: int, value: object) -> None:
        self._soc[evse_id] = everest.soc_from_everest(value)

    def _on_error(self, msg: BusError) -> None:
        try:
            error = everest.error_from_everest(everest.ErrorEvent(cleared=msg.cleared, error=msg.error),
                                               evse_id=msg.evse_id)
        except everest.BusFormatError as e:
            self.log.warning("dropped a malformed error of %s->%s: %s", msg.module, msg.impl, e.reason)
            return
        except Exception:
            self.log.exception("dropped an error of %s->%s", msg.module, msg.impl)
            return
        if error.evse_id not in self._states:
            self.log.info("error %s of %s->%s is no EVSE's (EVSE %d); not reported", error.uuid, msg.module,
                          msg.impl, error.evse_id)
            return
        self._deliver(error.evse_id, error)

    # --- what the Evses are told, in order --------------------------------------------------------

    def _deliver(self, evse_id: int, message: object) -> None:
        held = self._held.setdefault(evse_id, [])
        if isinstance(message, MeterReading) and held and isinstance(held[-1], MeterReading):
            held[-1] = message  # only the latest reading matters
        else:
            held.append(message)
        self._flush(evse_id)

    def _flush(self, evse_id: int) -> None:
        held = self._held.get(evse_id)
        name = f"evse/{evse_id}"
        while held and self.ctx.directory.get(name) is not None:
            message = held[0]
            self.ctx.trace.message("ev", message, to=name)
            if not self.tell(name, message):
                return  # it stopped meanwhile: keep the rest for its next incarnation
            held.pop(0)
            if isinstance(message, SessionEvent):
                self._states[evse_id] = advance_session_state(self._states[evse_id], message)
            elif isinstance(message, SessionState):
                self._states[evse_id] = message
        if held == []:
            del self._held[evse_id]

    def _on_evse_state(self, msg: EvseStateChanged) -> None:
        if msg.evse_id in self._held:
            self._flush(msg.evse_id)

    def _on_get_session_state(self, msg: GetSessionState) -> SessionState:
        state = self._states.get(msg.evse_id) or unknown_session_state(msg.evse_id)
        self.ctx.trace.message("reply", state)
        return state

    # --- re-synchronisation -----------------------------------------------------------------------

    def _on_bus_connection(self, msg: BusConnectionChanged) -> None:
        if msg.connected:
            self._resync(self._states)
            self._set_connection_timeout()

    def _on_peer_ready(self, msg: BusPeerReady) -> None:
        self._resync(self._routes.evses_of(msg.module))
        if msg.module in self._routes.modules_of("auth"):
            self._set_connection_timeout()

    def _resync(self, evse_ids: Iterable[int]) -> None:
        for evse_id in evse_ids:
            self._call(everest.call_for(GetSessionState(evse_id=evse_id)), "resync")

    def _on_configuration_changed(self, msg: ConfigurationChanged) -> None:
        if msg.key.lower() == "connectiontimeout":
            self._set_connection_timeout()

    def _set_connection_timeout(self) -> None:
        """EVerest's OCPP module gives the Auth module ConnectionTimeOut, at start and on change."""
        if self._routes.target("auth", 0) is None:
            return
        value = self.ctx.config.get("ConnectionTimeOut", DEFAULT_CONNECTION_TIMEOUT_S)
        try:
            seconds = int(value)
        except (TypeError, ValueError):
            seconds = DEFAULT_CONNECTION_TIMEOUT_S
        self._call(everest.call_for(everest.SetConnectionTimeout(seconds=seconds)), "ConnectionTimeOut")
