"""A scripted stand-in for the OCPP module on the bus, for the simulator's tests.

It is an :class:`MqttEdge` under the OCPP module's client id (``ocpp-cp-ocpp``, persistent
session), built only from the codec in :mod:`messages.everest`: it calls the simulator's
commands, serves ``auth_validator/cmd/validate_token`` by a policy the test sets, publishes
``auth_provider/var/provided_token``, and records every var, error, result and ModuleReady in
arrival order.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors.mqtt_edge import MqttEdge
from messages import everest
from messages.everest import Cmd, CmdError, CmdResult, ErrorEvent, ModuleReady, TopicKind, Var
from messages.payload import thaw

if TYPE_CHECKING:
    from collections.abc import Callable

    from messages.payload import Json

__all__ = ["FakeOcpp", "Seen"]

WAIT_S = 15.0
ACCEPT: Callable[[Json], Json] = lambda _args: {"authorization_status": "Accepted"}  # noqa: E731


@dataclass(frozen=True, slots=True)
class Seen:
    """One message as the fake OCPP module got it."""

    kind: TopicKind
    module: str
    impl: str
    name: str
    """Var name, error type, command name, or "" (ready)."""
    envelope: object


class FakeOcpp:
    """The OCPP side of the bus, scripted by a test."""

    def __init__(self, port: int, *, module: str = everest.OCPP_MODULE_ID, sim: str = everest.SIM_MODULE_ID,
                 prefix: str = everest.PREFIX) -> None:
        self.module, self.sim, self.prefix = module, sim, prefix
        self.validator: Callable[[Json], Json | CmdError | None] = ACCEPT
        """validate_token's args → its retval, or an error; None: do not answer."""
        self.validations: list[Json] = []
        """The args of every validate_token call, in order."""
        self.seen: list[Seen] = []
        self.connections: list[bool] = []
        self._cond = threading.Condition()
        p = prefix
        self.edge = MqttEdge("127.0.0.1", port, everest.client_id(module), subscriptions=[
            (f"{p}modules/{sim}/impl/+/var/+", 2), (f"{p}modules/{sim}/impl/+/error/#", 2),
            (f"{p}modules/{module}/impl/+/cmd/+", 2), (f"{p}modules/+/impl/+/cmd/+/response/{module}", 2),
            (f"{p}modules/+/ready", 2)], on_message=self._on_message, on_connection=self._on_connection)

    def start(self) -> FakeOcpp:
        self.edge.start()
        self.wait(lambda: bool(self.connections) and self.connections[-1], "the fake OCPP module to connect")
        return self

    def stop(self) -> None:
        self.edge.stop()

    # --- paho's thread ------------------------------------------------------------------------

    def _on_connection(self, up: bool) -> None:  # noqa: FBT001
        with self._cond:
            self.connections.append(up)
            self._cond.notify_all()

    def _on_message(self, topic: str, payload: bytes) -> None:
        parsed = everest.parse_topic(topic, prefix=self.prefix)
        envelope = everest.decode(payload)
        if parsed.kind is TopicKind.CMD and parsed.name == "validate_token":
            assert isinstance(envelope, Cmd)
            with self._cond:
                self.validations.append(thaw(envelope.args))
                self._cond.notify_all()
            retval = self.validator(envelope.args)
            if isinstance(retval, CmdError):
                self.answer(parsed.impl, parsed.name, envelope, error=retval)
            elif retval is not None:
                self.answer(parsed.impl, parsed.name, envelope, retval)
            return
        with self._cond:
            self.seen.append(Seen(parsed.kind, parsed.module, parsed.impl, parsed.name, envelope))
            self._cond.notify_all()

    # --- what a test does ---------------------------------------------------------------------

    def answer(self, impl: str, cmd: str, call: Cmd, retval: Json = None, error: CmdError | None = None) -> None:
        topic = everest.result_topic(self.module, impl, cmd, call.origin, prefix=self.prefix)
        self.edge.publish(topic, everest.encode(CmdResult(id=call.id, origin=self.module, retval=retval, error=error)), 2)

    def send_cmd(self, impl: str, cmd: str, args: Json) -> str:
        """Publish a command to the simulator; its id."""
        command_id = str(uuid.uuid4())
        topic = everest.cmd_topic(self.sim, impl, cmd, prefix=self.prefix)
        self.edge.publish(topic, everest.encode(Cmd(id=command_id, args=args, origin=self.module)), 2)
        return command_id

    def call(self, impl: str, cmd: str, args: Json) -> CmdResult:
        """A command and its result."""
        return self.result(self.send_cmd(impl, cmd, args))

    def result(self, command_id: str) -> CmdResult:
        found: list[CmdResult] = []

        def answered() -> bool:
            found[:] = [s.envelope for s in self.seen if s.kind is TopicKind.RESULT
                        and isinstance(s.envelope, CmdResult) and s.envelope.id == command_id]
            return bool(found)

        self.wait(answered, f"the result of {command_id}")
        return found[0]

    def provide_token(self, data: Json) -> None:
        topic = everest.var_topic(self.module, "auth_provider", "provided_token", prefix=self.prefix)
        self.edge.publish(topic, everest.encode(Var(value=data)), 2)

    def control(self, evse_id: int, command: str, payload: bytes = b"{}") -> None:
        self.edge.publish(f"{everest.SIM_CONTROL_PREFIX}{evse_id}/{command}", payload, 2)

    def publish_raw(self, topic: str, payload: bytes) -> None:
        self.edge.publish(topic, payload, 2)

    # --- what it saw --------------------------------------------------------------------------

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
        with self._cond:
            if not self._cond.wait_for(condition, timeout):
                raise AssertionError(f"timed out waiting for {what}; saw {self.seen}")

    def vars(self, evse_id: int, var: str) -> list[Json]:
        impl = everest.evse_manager_impl(evse_id)
        with self._cond:
            return [thaw(s.envelope.value) for s in self.seen if s.kind is TopicKind.VAR and s.impl == impl
                    and s.name == var and isinstance(s.envelope, Var)]

    def events(self, evse_id: int) -> list[str]:
        """The session events of one EVSE, by name, in arrival order."""
        return [v["event"] for v in self.vars(evse_id, "session_event")]  # type: ignore[index]

    def wait_events(self, evse_id: int, *names: str) -> None:
        """Until ``names`` arrived, in this order, among EVSE ``evse_id``'s session events."""
        def arrived() -> bool:
            got = iter(self.events(evse_id))
            return all(name in got for name in names)
        self.wait(arrived, f"session events {names} on EVSE {evse_id}")

    def errors(self) -> list[ErrorEvent]:
        with self._cond:
            return [s.envelope for s in self.seen if isinstance(s.envelope, ErrorEvent)]

    def readies(self, module: str) -> int:
        with self._cond:
            return sum(1 for s in self.seen if isinstance(s.envelope, ModuleReady) and s.module == module)
