"""RemoteModules without a broker: what it tells an Evse that is not running is held and handed
over in order once it runs, its GetSessionState answers follow what the Evse was told, and
the other actors' commands become bus calls (docs/mqtt-bus.md)."""

from __future__ import annotations

import time

import pykka
import pytest

from actors.base import ActorContext, Directory
from actors.clock import ManualClock
from actors.remote_modules import RemoteModules
from messages import everest
from messages.bus import BusCall, BusCallAnswered, BusConnectionChanged, BusPublishVar, BusVar
from messages.charging_profiles import parse_time
from messages.evse_manager import (
    GetSessionState, MeterReading, ProvideToken, SessionEvent, SessionEventType, SessionState, StopTransactionCommand,
)
from messages.station import EvseStateChanged
from supervisor.config import load_module_config

E = SessionEventType
T = "2026-11-24T12:00:00Z"


class Recorder(pykka.ThreadingActor):
    def __init__(self, seen: list[object]) -> None:
        super().__init__()
        self.seen = seen

    def on_receive(self, message: object) -> None:
        self.seen.append(message)


class _Config:
    def get(self, key: str, default: object = None) -> object:
        return default


@pytest.fixture
def remote():
    directory = Directory()
    options = load_module_config(None, ["EvseCount=2", "MqttServerAddress=127.0.0.1"])
    ctx = ActorContext(clock=ManualClock(), directory=directory, options=options, config=_Config())  # type: ignore[arg-type]
    bus: list[object] = []
    directory.register("bus", Recorder.start(bus))
    ref = RemoteModules.start(ctx, "evse_manager", evse_count=2)
    directory.register("evse_manager", ref)
    yield ref, directory, bus
    pykka.ActorRegistry.stop_all(timeout=5)


def var(name: str, value: object, evse_id: int = 1) -> BusVar:
    return BusVar(module="sim", impl=everest.evse_manager_impl(evse_id), name=name, requirement="evse_manager",
                  evse_id=evse_id, value=value)


def session_event(kind: SessionEventType, **fields: object) -> BusVar:
    event = SessionEvent(evse_id=1, event=kind, session_id="s1", timestamp=parse_time(T), **fields)  # type: ignore[arg-type]
    return var("session_event", everest.session_event_to_everest(event))


def powermeter(wh: float) -> BusVar:
    return var("powermeter", {"timestamp": T, "energy_Wh_import": {"total": wh}})


def wait(condition, what: str) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def test_events_for_an_evse_that_is_not_running_are_held(remote) -> None:
    ref, directory, _bus = remote
    known = SessionState(evse_id=1, plugged=False, session_id="", transaction_active=False, charging=False)
    ref.tell(BusCallAnswered(call=everest.call_for(GetSessionState(evse_id=1)), correlation="resync",
                             retval=everest.session_state_to_everest(known)))
    ref.tell(session_event(E.SESSION_STARTED, reason="EVConnected"))
    ref.tell(powermeter(10.0))
    ref.tell(powermeter(20.0))  # only the latest reading is kept while held
    ref.tell(var("session_event", {"uuid": "s1", "event": "TransactionStarted"}))  # malformed: dropped
    ref.tell(session_event(E.TRANSACTION_STARTED, id_tag="T", meter_wh=20.0))
    answer = ref.ask(GetSessionState(evse_id=1))
    assert answer == SessionState(evse_id=1, plugged=False, session_id="", transaction_active=False, charging=False,
                                  known=False)  # nothing delivered yet: not even the resync's answer

    seen: list[object] = []
    directory.register("evse/1", Recorder.start(seen))
    ref.tell(EvseStateChanged(evse_id=1, status="Available"))  # an Evse publishes this once it has started
    wait(lambda: len(seen) == 4, "the held messages")
    assert isinstance(seen[0], SessionState) and seen[0].known
    assert [m.event for m in seen[1:] if isinstance(m, SessionEvent)] == [E.SESSION_STARTED, E.TRANSACTION_STARTED]
    assert [m.energy_wh for m in seen if isinstance(m, MeterReading)] == [20.0]
    after = ref.ask(GetSessionState(evse_id=1))
    assert after.known and after.transaction_active and after.session_id == "s1" and after.plugged


def test_commands_become_calls_and_a_token_a_var(remote) -> None:
    ref, _directory, bus = remote
    ref.tell(StopTransactionCommand(evse_id=2, reason="Remote"))
    ref.tell(ProvideToken(id_tag="R1", connectors=(2,), prevalidated=True))
    ref.tell(BusConnectionChanged(connected=True))
    wait(lambda: len(bus) >= 5, "the calls")
    calls = [m.call for m in bus if isinstance(m, BusCall)]
    assert calls[0] == everest.call_for(StopTransactionCommand(evse_id=2, reason="Remote"))
    assert [(c.cmd, c.evse_id) for c in calls[1:]] == [("get_session_state", 1), ("get_session_state", 2),
                                                       ("set_connection_timeout", 0)]
    token = next(m for m in bus if isinstance(m, BusPublishVar))
    assert (token.impl, token.name, token.value["id_token"]["value"]) == ("auth_provider", "provided_token", "R1")
