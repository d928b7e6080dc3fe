"""MqttBus: the OCPP side's end of the EVerest MQTT bus (``docs/mqtt-bus.md``).

It owns the broker connection (an :class:`actors.mqtt_edge.MqttEdge`, client id
``ocpp-cp-<ModuleId>``, a persistent session), the subscriptions of the contract, our
ModuleReady after every connect, and the envelopes both ways. It does not know what a var
or a command means: inbound vars and errors of connected modules go to RemoteModules, commands
on our implementations go to ProvidedInterfaces, and the calls those actors make go out with a
fresh id and a timeout on the injected clock. A result that comes after its timeout is dropped.

Nothing from the broker can stop it: a payload or topic that does not decode is logged and
dropped. Its callbacks on paho's thread only ``tell`` this actor.

Accepts (tell): BusCall (→ BusCallAnswered / BusCallFailed to its ``reply_to``, or its
``waiter``), BusReply, BusPublishVar; from paho, through itself: _Received, _EdgeChanged; the
timer _CallTimedOut. Answers (ask): GetBusStats → BusStats.
Emits: BusVar (to RemoteModules, or the actor ``var_routes`` names for its requirement), BusError
(to RemoteModules); BusCommand (to ProvidedInterfaces; answered here
with NotReady when that actor is not running); BusConnectionChanged and BusPeerReady (published).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import pykka

from actors.base import SupervisedActor
from actors.bus_routing import PER_EVSE, Routes, subscriptions
from actors.mqtt_edge import MqttEdge
from messages import everest
from messages.bus import (
    BusCall,
    BusCallAnswered,
    BusCallFailed,
    BusCommand,
    BusConnectionChanged,
    BusError,
    BusPeerReady,
    BusPublishVar,
    BusReply,
    BusStats,
    BusVar,
    GetBusStats,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext
    from actors.clock import TimerHandle

__all__ = ["MqttBus", "bus_prefix"]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Received:
    """From paho's thread: a message on one of our subscriptions."""

    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class _EdgeChanged:
    """From paho's thread: connected (subscriptions acknowledged) or lost."""

    up: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class _CallTimedOut:
    """Timer: a call's result did not come in time."""

    id: str


@dataclass(slots=True)
class _Pending:
    request: BusCall
    target: everest.Connection
    timer: TimerHandle


def bus_prefix(option: object) -> str:
    """EVerest's ``mqtt_everest_prefix`` always ends with one slash."""
    text = str(option or everest.PREFIX)
    return text if text.endswith("/") else f"{text}/"


class MqttBus(SupervisedActor):
    """The broker connection and the envelopes (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        _Received: "_on_received",
        _EdgeChanged: "_on_edge_changed",
        _CallTimedOut: "_on_call_timed_out",
        BusCall: "_on_call",
        BusReply: "_on_reply",
        BusPublishVar: "_on_publish_var",
        GetBusStats: "_on_get_stats",
    }
    KINDS: ClassVar[Mapping[everest.TopicKind, tuple[type, str]]] = {
        everest.TopicKind.VAR: (everest.Var, "_var"),
        everest.TopicKind.CMD: (everest.Cmd, "_command"),
        everest.TopicKind.RESULT: (everest.CmdResult, "_result"),
        everest.TopicKind.ERROR: (everest.ErrorEvent, "_error"),
        everest.TopicKind.MODULE_READY: (everest.ModuleReady, "_module_ready"),
        everest.TopicKind.GLOBAL_READY: (everest.GlobalReady, "_global_ready"),
    }
    """Topic kind → the envelope it must carry, and its handler."""

    def __init__(self, ctx: ActorContext, name: str, *, evse_count: int, remote: str = "evse_manager",
                 provided: str = "provided", var_routes: Mapping[str, str] | None = None) -> None:
        """Args:
            var_routes: requirement → the actor its vars go to instead of ``remote`` (the
                system's transfer statuses go to RemoteSystem).
        """
        super().__init__(ctx, name)
        options = ctx.options
        self._module = str(options["ModuleId"])
        self._prefix = bus_prefix(options["MqttEverestPrefix"])
        self._routes = Routes(everest.resolve_connections(options["Connections"], evse_count))
        self._remote, self._provided = remote, provided
        self._var_routes = dict(var_routes or {})
        self._pending: dict[str, _Pending] = {}
        self._edge: MqttEdge | None = None
        self._up = False
        self._unsent: list[tuple[str, everest.Cmd]] = []
        """Commands called while the broker link is down: sent once our subscriptions (the
        response topics among them) are acknowledged again, or their results could be lost;
        sent even when their caller has given up meanwhile (a stop_transaction must still
        arrive), as paho would send what it queued."""

    def started(self) -> None:
        options = self.ctx.options
        host, port = str(options["MqttServerAddress"]), int(options["MqttServerPort"])  # type: ignore[call-overload]
        self._edge = MqttEdge(host, port, everest.client_id(self._module),
                              username=str(options["MqttUsername"]) or None,
                              password=str(options["MqttPassword"]) or None,
                              tls_ca=str(options["MqttCaFile"]) or None,
                              subscriptions=subscriptions(self._module, self._routes, prefix=self._prefix),
                              on_message=self._from_paho, on_connection=self._connection_from_paho)
        self.log.info("MQTT bus: module %s on %s:%d, prefix %s", self._module, host, port, self._prefix)
        self._edge.start()

    def stopping(self) -> None:
        self._stop_edge()
        for pending in self._pending.values():  # a waiter blocks its actor; the others stop with us
            if pending.request.waiter is not None:
                self._outcome(pending.request, BusCallFailed(
                    call=pending.request.call, correlation=pending.request.correlation, event="Shutdown",
                    message="Shutdown: the MQTT bus stopped"))
        self._pending.clear()

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        """A crash must not leave paho connected under our client id: the next incarnation
        would take over the session, and the two clients would throw each other off."""
        self._stop_edge()
        super().on_failure(exception_type, exception_value, traceback)

    def _stop_edge(self) -> None:
        edge, self._edge = self._edge, None
        if edge is not None:
            edge.stop()

    # --- paho's thread: parse nothing, only tell ----------------------------------------------

    def _from_paho(self, topic: str, payload: bytes) -> None:
        try:
            self.actor_ref.tell(_Received(topic=topic, payload=bytes(payload)))
        except pykka.ActorDeadError:
            pass  # stopping: the edge stops right after

    def _connection_from_paho(self, up: bool) -> None:  # noqa: FBT001
        try:
            self.actor_ref.tell(_EdgeChanged(up=up))
        except pykka.ActorDeadError:
            pass

    # --- inbound ------------------------------------------------------------------------------

    def _on_received(self, msg: _Received) -> None:
        try:
            topic = everest.parse_topic(msg.topic, prefix=self._prefix)
            envelope = everest.decode(msg.payload)
        except everest.BusFormatError as e:
            self.log.warning("dropped a malformed MQTT message on %s: %s", msg.topic, e.reason)
            return
        expected, method = self.KINDS.get(topic.kind, (type(None), ""))
        if not isinstance(envelope, expected):
            self.log.warning("dropped a %s on %s: the topic wants a %s", type(envelope).__name__, msg.topic,
                             expected.__name__)
            return
        try:
            getattr(self, method)(topic, envelope)
        except Exception:  # a bug here must not let one message restart the bus, over and over
            self.log.exception("dropped the message on %s", msg.topic)

    def _var(self, topic: everest.Topic, var: everest.Var) -> None:
        source = self._routes.source(topic.module, topic.impl)
        if source is None:
            self.log.debug("var %s of %s->%s: no connection of ours; dropped", topic.name, topic.module, topic.impl)
            return
        requirement, evse_id = source
        self.tell(self._var_routes.get(requirement, self._remote), BusVar(
            module=topic.module, impl=topic.impl, name=topic.name, requirement=requirement, evse_id=evse_id,
            value=var.value))

    def _error(self, topic: everest.Topic, error: everest.ErrorEvent) -> None:
        source = self._routes.source(topic.module, topic.impl)
        evse_id = source[1] if source is not None and source[0] in PER_EVSE else 0
        self.tell(self._remote, BusError(module=topic.module, impl=topic.impl, evse_id=evse_id, cleared=error.cleared,
                                         error=error.error))

    def _command(self, topic: everest.Topic, cmd: everest.Cmd) -> None:
        if topic.module != self._module:
            self.log.debug("a command for %s->%s.%s is not ours; dropped", topic.module, topic.impl, topic.name)
            return
        command = BusCommand(impl=topic.impl, cmd=topic.name, id=cmd.id, origin=cmd.origin, args=cmd.args)
        if self.ctx.directory.get(self._provided) is None or not self.tell(self._provided, command):
            self._on_reply(BusReply(command=command, error_event="NotReady",
                                    error_message=f"{self._module} is starting: {topic.impl}.{topic.name} not served yet"))

    def _result(self, topic: everest.Topic, result: everest.CmdResult) -> None:
        if topic.origin != self._module:
            return
        pending = self._pending.pop(result.id, None)
        if pending is None:
            self.log.debug("a result from %s->%s.%s came after its call gave up (or was never ours); dropped",
                           topic.module, topic.impl, topic.name)
            return
        self.ctx.clock.cancel(pending.timer)
        request = pending.request
        if result.error is not None:
            self._outcome(request, BusCallFailed(
                call=request.call, correlation=request.correlation, event=result.error.event,
                message=f"{result.error.event}: {topic.module}->{topic.impl}.{topic.name} failed: {result.error.msg}"))
        else:
            self._outcome(request, BusCallAnswered(call=request.call, correlation=request.correlation,
                                                   retval=result.retval))

    def _module_ready(self, topic: everest.Topic, ready: everest.ModuleReady) -> None:
        if topic.module == self._module or not ready.ready:
            return
        self.log.info("module %s is ready", topic.module)
        self.publish(BusPeerReady(module=topic.module))

    def _global_ready(self, _topic: everest.Topic, ready: everest.GlobalReady) -> None:
        self.log.info("EVerest's global ready seen (%s); nothing waits for it", ready.ready)

    def _on_edge_changed(self, msg: _EdgeChanged) -> None:
        self._up = msg.up
        if msg.up:
            self._publish(everest.module_ready_topic(self._module, prefix=self._prefix), everest.ModuleReady())
            self.log.info("MQTT bus up: module %s ready%s", self._module,
                          f"; {len(self._unsent)} command(s) sent now" if self._unsent else "")
            unsent, self._unsent = self._unsent, []
            for topic, cmd in unsent:
                self._publish(topic, cmd)
        else:
            self.log.warning("MQTT bus down: calls wait in memory until the broker is back")
        self.publish(BusConnectionChanged(connected=msg.up))

    # --- outbound -----------------------------------------------------------------------------

    def _on_call(self, msg: BusCall) -> None:
        call = msg.call
        target = self._routes.target(call.requirement, call.evse_id)
        if target is None:
            where = f" of EVSE {call.evse_id}" if call.requirement in PER_EVSE else ""
            self._outcome(msg, BusCallFailed(call=call, correlation=msg.correlation, event="NotConnected",
                                             message=f"NotConnected: no connection for requirement {call.requirement}"
                                                     f"{where}; {call.cmd} not sent"))
            return
        cmd_id = str(uuid.uuid4())
        topic = everest.cmd_topic(target.module_id, target.implementation_id, call.cmd, prefix=self._prefix)
        cmd = everest.Cmd(id=cmd_id, args=call.args, origin=self._module)
        if self._up:
            self._publish(topic, cmd)
        else:
            self._unsent.append((topic, cmd))
        # Not a traced timer (``self.after``): the bus is outside what a replay re-runs; what a
        # timeout changes reaches the Evses as inputs RemoteModules records.
        timer = self._own(self.ctx.clock.call_later(call.timeout_s, self.actor_ref, _CallTimedOut(id=cmd_id)))
        self._pending[cmd_id] = _Pending(request=msg, target=target, timer=timer)

    def _on_call_timed_out(self, msg: _CallTimedOut) -> None:
        pending = self._pending.pop(msg.id, None)
        if pending is None:
            return
        call, target = pending.request.call, pending.target
        error = everest.timeout_error(target.module_id, target.implementation_id, call.cmd, call.timeout_s)
        self._outcome(pending.request, BusCallFailed(call=call, correlation=pending.request.correlation,
                                                     event=error.event, message=f"{error.event}: {error.msg}"))

    def _outcome(self, request: BusCall, outcome: BusCallAnswered | BusCallFailed) -> None:
        if request.waiter is not None:
            request.waiter.set(outcome)
        elif request.reply_to:
            self.tell(request.reply_to, outcome)
        elif isinstance(outcome, BusCallFailed):
            self.log.warning("%s", outcome.message)

    def _on_reply(self, msg: BusReply) -> None:
        command = msg.command
        error = everest.CmdError(event=msg.error_event, msg=msg.error_message) if msg.error_event else None
        try:
            topic = everest.result_topic(self._module, command.impl, command.cmd, command.origin, prefix=self._prefix)
        except everest.BusFormatError as e:  # a caller whose name cannot be a topic level
            self.log.warning("cannot answer %s.%s of %r: %s", command.impl, command.cmd, command.origin, e.reason)
            return
        self._publish(topic, everest.CmdResult(id=command.id, origin=self._module, retval=msg.retval, error=error))

    def _on_get_stats(self, _msg: GetBusStats) -> BusStats:
        return BusStats(connected=self._up, pending=len(self._pending), unsent=len(self._unsent))

    def _on_publish_var(self, msg: BusPublishVar) -> None:
        self._publish(everest.var_topic(self._module, msg.impl, msg.name, prefix=self._prefix),
                      everest.Var(value=msg.value))

    def _publish(self, topic: str, envelope: everest.Envelope) -> None:
        try:
            payload = everest.encode(envelope)
        except everest.BusFormatError as e:
            self.log.error("cannot publish on %s: %s", topic, e.reason)
            return
        if self._edge is None or not self._edge.publish(topic, payload, everest.QOS):
            self.log.warning("MQTT refused a message on %s; dropped", topic)
