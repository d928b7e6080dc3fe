"""A scripted stand-in for the simulator on the MQTT bus: module ``sim`` with the conventional
implementations (``evse_manager_N``, ``energy_sink_N``, ``system``, ``reservation``, ``auth``),
built on the same MqttEdge and codec (messages/everest.py) as the real thing.

The test decides everything: which session events and meter readings it publishes, what it
answers to each command (``answers``, per command name; ``silent`` commands get no answer at
all), what get_session_state says (``session_states``; None: no answer), and hooks run on a
command (``on_command``). It records every command and every var of the OCPP module it sees.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest

from actors.mqtt_edge import MqttEdge
from messages import everest
from messages.bus import GetBusStats
from messages.evse_manager import MeterReading, SessionEvent, SessionEventType, SessionState
from messages.payload import thaw

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

WAIT_S = 20.0
HOST = "127.0.0.1"


@dataclass(frozen=True)
class SeenCommand:
    impl: str
    cmd: str
    args: dict
    id: str
    origin: str


@dataclass(frozen=True)
class SeenResult:
    """A CmdResult, its retval as plain JSON."""

    retval: Any
    error: everest.CmdError | None


def idle(evse_id: int = 1) -> SessionState:
    return SessionState(evse_id=evse_id, plugged=False, session_id="", transaction_active=False, charging=False)


class FakePeer:
    """The other end of the bus (see the module docstring)."""

    def __init__(self, port: int, *, module: str = "sim", ocpp: str = "ocpp") -> None:
        self.module, self.ocpp = module, ocpp
        self.commands: list[SeenCommand] = []
        self.vars: list[tuple[str, str, Any]] = []
        """(our implementation, var, value) of everything the OCPP module published."""
        self.results: dict[str, SeenResult] = {}
        self.ready_seen: list[str] = []
        self.connections: list[bool] = []
        self.answers: dict[str, Any] = {"stop_transaction": True, "enable_disable": True, "pause_charging": True,
                                        "resume_charging": True, "force_unlock": True, "reserve_now": "Accepted",
                                        "cancel_reservation": True, "is_reset_allowed": True}
        self.silent: set[str] = set()
        self.session_states: dict[int, SessionState | None] = {}
        self.on_command: dict[str, Callable[[SeenCommand], None]] = {}
        self._cond = threading.Condition()
        self.edge = MqttEdge(HOST, port, everest.client_id(module), on_message=self._message,
                             on_connection=self._connection, subscriptions=[
                                 (f"everest/modules/{module}/impl/+/cmd/+", 2),
                                 (f"everest/modules/+/impl/+/cmd/+/response/{module}", 2),
                                 (f"everest/modules/{ocpp}/impl/+/var/+", 2),
                                 ("everest/modules/+/ready", 2)])

    def start(self) -> FakePeer:
        self.edge.start()
        self.wait(lambda: self.connections[-1:] == [True], "the fake peer to connect")
        self.publish(everest.module_ready_topic(self.module), everest.ModuleReady())
        return self

    def stop(self) -> None:
        self.edge.stop()

    # --- waiting ------------------------------------------------------------------------------

    def wait(self, condition: Callable[[], object], what: str, timeout: float = WAIT_S) -> Any:
        with self._cond:
            result = self._cond.wait_for(condition, timeout)
            if not result:
                raise AssertionError(f"timed out waiting for {what}; commands {[(c.impl, c.cmd) for c in self.commands]}"
                                     f", vars {[(i, n) for i, n, _ in self.vars]}")
            return result

    def seen(self, cmd: str, impl: str | None = None) -> list[SeenCommand]:
        with self._cond:
            return [c for c in self.commands if c.cmd == cmd and impl in (None, c.impl)]

    def wait_command(self, cmd: str, impl: str | None = None, count: int = 1) -> SeenCommand:
        self.wait(lambda: len(self.seen(cmd, impl)) >= count, f"{count} x {cmd} on {impl or 'any'}")
        return self.seen(cmd, impl)[count - 1]

    def var_values(self, impl: str, name: str) -> list[Any]:
        with self._cond:
            return [v for i, n, v in self.vars if i == impl and n == name]

    def wait_var(self, impl: str, name: str, predicate: Callable[[Any], bool] = lambda _v: True) -> Any:
        found = self.wait(lambda: [v for v in self.var_values(impl, name) if predicate(v)][:1], f"var {impl}.{name}")
        return found[0]

    # --- publishing ---------------------------------------------------------------------------

    def publish(self, topic: str, envelope: everest.Envelope) -> None:
        self.publish_raw(topic, everest.encode(envelope))

    def publish_raw(self, topic: str, payload: bytes) -> None:
        assert self.edge.publish(topic, payload, everest.QOS)

    def session_event(self, evse_id: int, kind: SessionEventType, *, session_id: str = "s1", **fields: Any) -> None:
        fields.setdefault("timestamp", datetime.now(timezone.utc).replace(microsecond=0))
        event = SessionEvent(evse_id=evse_id, event=kind, session_id=session_id, **fields)
        self.publish(everest.var_topic(self.module, everest.evse_manager_impl(evse_id), "session_event"),
                     everest.Var(value=everest.session_event_to_everest(event)))

    def powermeter(self, evse_id: int, energy_wh: float, power_w: float = 11000.0) -> None:
        reading = MeterReading(evse_id=evse_id, timestamp=datetime.now(timezone.utc).replace(microsecond=0),
                               energy_wh=energy_wh, power_w=power_w, current_a=(16.0,) * 3, voltage_v=(230.0,) * 3)
        self.publish(everest.var_topic(self.module, everest.evse_manager_impl(evse_id), "powermeter"),
                     everest.Var(value=everest.meter_reading_to_everest(reading)))

    def call(self, impl: str, cmd: str, args: dict) -> str:
        """Call a command of the OCPP module; the id to wait for with :meth:`wait_result`."""
        cmd_id = str(uuid.uuid4())
        self.publish(everest.cmd_topic(self.ocpp, impl, cmd), everest.Cmd(id=cmd_id, args=args, origin=self.module))
        return cmd_id

    def wait_result(self, cmd_id: str) -> SeenResult:
        return self.wait(lambda: self.results.get(cmd_id), f"the result of {cmd_id}")

    def ask(self, impl: str, cmd: str, args: dict) -> SeenResult:
        return self.wait_result(self.call(impl, cmd, args))

    # --- paho's thread ------------------------------------------------------------------------

    def _connection(self, up: bool) -> None:  # noqa: FBT001
        with self._cond:
            self.connections.append(up)
            self._cond.notify_all()

    def _message(self, topic: str, payload: bytes) -> None:
        try:
            parsed = everest.parse_topic(topic)
            envelope = everest.decode(payload)
        except everest.BusFormatError:
            return  # what the tests send to the OCPP side on purpose
        with self._cond:
            if parsed.kind is everest.TopicKind.CMD:
                assert isinstance(envelope, everest.Cmd)
                seen = SeenCommand(impl=parsed.impl, cmd=parsed.name, args=thaw(envelope.args), id=envelope.id,
                                   origin=envelope.origin)
                self.commands.append(seen)
                self._answer(seen)
            elif parsed.kind is everest.TopicKind.RESULT:
                assert isinstance(envelope, everest.CmdResult)
                self.results[envelope.id] = SeenResult(retval=thaw(envelope.retval), error=envelope.error)
            elif parsed.kind is everest.TopicKind.VAR:
                assert isinstance(envelope, everest.Var)
                self.vars.append((parsed.impl, parsed.name, thaw(envelope.value)))
            elif parsed.kind is everest.TopicKind.MODULE_READY:
                self.ready_seen.append(parsed.module)
            self._cond.notify_all()
        hook = self.on_command.get(parsed.name) if parsed.kind is everest.TopicKind.CMD else None
        if hook is not None:
            hook(seen)

    def _answer(self, seen: SeenCommand) -> None:
        if seen.cmd in self.silent:
            return
        retval = self.answers.get(seen.cmd)
        if seen.cmd == "get_session_state":
            _requirement, evse_id = everest.sim_impl(seen.impl)
            state = self.session_states.get(evse_id, idle(evse_id))
            if state is None:
                return
            retval = everest.session_state_to_everest(state)
        topic = everest.result_topic(self.module, seen.impl, seen.cmd, seen.origin)
        self.publish(topic, everest.CmdResult(id=seen.id, origin=self.module, retval=retval))


def calls_in_flight(app: Any) -> int:
    """How many of the charge point's bus calls wait for a result."""
    return app.directory.ask("bus", GetBusStats()).pending


def booted_on_bus(csms: Any, clock: Any, app: Any, evses: int = 1) -> None:
    """Registered at the CSMS, and every call of the start (the resync among them) answered."""
    from conftest import wait_until  # noqa: PLC0415 (the tests' shared helpers)
    from scenarios.steps import booted  # noqa: PLC0415

    booted(csms, clock, app, evses=evses)
    wait_until(lambda: calls_in_flight(app) == 0, what="the start-up calls answered")


def mqtt_options(broker: Any, **extra: Any) -> dict[str, Any]:
    """Module options that put the charge point on ``broker`` (a tests.peers Mosquitto)."""
    return {"MqttServerAddress": HOST, "MqttServerPort": broker.port, **extra}


@pytest.fixture
def peer(mosquitto: Any) -> Iterator[FakePeer]:
    """A connected fake simulator on the test's broker."""
    fake = FakePeer(mosquitto.port).start()
    try:
        yield fake
    finally:
        fake.stop()
