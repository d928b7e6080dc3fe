"""The simulator on the MQTT bus (``supervisor/sim_process.py``, ``actors/sim_bridge.py``) against
a real mosquitto and a scripted fake OCPP module: control topics, the simulator's commands, the
vars it publishes, validate_token, provided_token, and a broker restart. A manual clock moves
the meters and the timeouts."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import pykka
import pytest

from actors.clock import ManualClock
from conftest import wait_until
from messages import everest
from messages.charging_profiles import CompositeSchedule, SchedulePeriod
from messages.everest import CmdError, TopicKind
from messages.evse_manager import ErrorCleared, ErrorRaised, Reserve, SessionEventType, StopTransactionCommand
from messages.smart_charging import ExternalLimits
from peers.mosquitto_fixture import mosquitto  # noqa: F401
from sim.fake_ocpp import FakeOcpp
from supervisor.sim_control import SimController
from supervisor.sim_process import SimProcess, SimSettings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from peers.mosquitto import Mosquitto

pytestmark = pytest.mark.timeout(60)

EVSES = 2


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def ocpp(mosquitto: Mosquitto) -> Iterator[FakeOcpp]:  # noqa: F811
    peer = FakeOcpp(mosquitto.port).start()
    yield peer
    peer.stop()


@pytest.fixture
def sim(mosquitto: Mosquitto, ocpp: FakeOcpp, clock: ManualClock) -> Iterator[SimProcess]:  # noqa: F811
    process = SimProcess(SimSettings(host="127.0.0.1", port=mosquitto.port, evse_count=EVSES), clock=clock).start()
    try:
        ocpp.wait(lambda: ocpp.readies("sim") >= 1, "the simulator's ModuleReady")
        yield process
    finally:
        process.stop()
        pykka.ActorRegistry.stop_all(timeout=5)


def session_events(ocpp: FakeOcpp, evse_id: int) -> list[everest.SessionEvent]:
    return [everest.session_event_from_everest(evse_id, v) for v in ocpp.vars(evse_id, "session_event")]


def start_charging(ocpp: FakeOcpp, evse_id: int = 1, tag: str = "TAG1") -> None:
    ocpp.control(evse_id, "plug_in")
    ocpp.control(evse_id, "swipe", f'{{"id_tag": "{tag}"}}'.encode())
    ocpp.wait_events(evse_id, "SessionStarted", "TransactionStarted", "ChargingStarted")


def test_module_ready_on_connect(sim: SimProcess, ocpp: FakeOcpp) -> None:
    assert sim.bus_status().connected
    ready = [s for s in ocpp.seen if s.kind is TopicKind.MODULE_READY and s.module == "sim"]
    assert ready and ready[0].envelope == everest.ModuleReady(ready=True)


def test_plug_in_and_swipe_start_a_transaction_validated_by_the_ocpp_module(sim: SimProcess, ocpp: FakeOcpp) -> None:
    start_charging(ocpp, 1, "TAG1")
    assert ocpp.events(1) == ["SessionStarted", "TransactionStarted", "ChargingStarted"]
    assert ocpp.validations == [{"provided_token": {"id_token": {"value": "TAG1", "type": "ISO14443"},
                                                    "authorization_type": "RFID", "connectors": [1]}}]
    started, transaction, _charging = session_events(ocpp, 1)
    assert started.reason == "EVConnected"
    assert (transaction.id_tag, transaction.meter_wh, transaction.session_id) == ("TAG1", 0.0, started.session_id)
    assert ocpp.events(2) == []


def test_refused_token_starts_nothing(sim: SimProcess, ocpp: FakeOcpp) -> None:
    ocpp.validator = lambda _args: {"authorization_status": "Blocked"}
    ocpp.control(1, "plug_in")
    ocpp.control(1, "swipe", b'{"id_tag": "BAD"}')
    ocpp.wait(lambda: len(ocpp.validations) == 1, "validate_token")
    wait_until(lambda: sim.bus_status().pending_validations == 0, what="the answer to be taken")
    assert ocpp.events(1) == ["SessionStarted"]


def test_stop_transaction_command_finishes_the_transaction(sim: SimProcess, ocpp: FakeOcpp) -> None:
    start_charging(ocpp)
    call = everest.call_for(StopTransactionCommand(evse_id=1, reason="Remote"))
    result = ocpp.call("evse_manager_1", call.cmd, call.args)
    assert (result.retval, result.error, result.origin) == (True, None, "sim")
    finished = session_events(ocpp, 1)[-1]
    assert (finished.event, finished.reason) == (SessionEventType.TRANSACTION_FINISHED, "Remote")
    # the event was published before the result
    order = [s.kind for s in ocpp.seen if s.kind in (TopicKind.VAR, TopicKind.RESULT) and s.name != "powermeter"]
    assert order[-1] is TopicKind.RESULT
    again = ocpp.call("evse_manager_1", call.cmd, call.args)
    assert again.retval is False


def test_get_session_state_answers(sim: SimProcess, ocpp: FakeOcpp) -> None:
    idle = ocpp.call("evse_manager_2", "get_session_state", {})
    assert everest.session_state_from_everest(2, idle.retval).plugged is False
    start_charging(ocpp, 2, "TAG2")
    state = everest.session_state_from_everest(2, ocpp.call("evse_manager_2", "get_session_state", {}).retval)
    assert (state.plugged, state.transaction_active, state.charging, state.paused_by) == (True, True, True, "")
    assert state.session_id == session_events(ocpp, 2)[0].session_id


def test_set_external_limits_makes_the_power_follow(sim: SimProcess, ocpp: FakeOcpp, clock: ManualClock) -> None:
    start_charging(ocpp)
    clock.advance(1)
    ocpp.wait(lambda: any(v["power_W"]["total"] == 11040 for v in ocpp.vars(1, "powermeter")), "full power")
    schedule = CompositeSchedule(connector_id=1, start=clock.now() - timedelta(seconds=1), duration=3600, unit="W",
                                 periods=(SchedulePeriod(start_period=0, limit=3680.0),))
    call = everest.call_for(ExternalLimits(evse_id=1, schedule=schedule))
    result = ocpp.call(everest.energy_sink_impl(1), call.cmd, call.args)
    assert (result.retval, result.error) == (None, None)
    clock.advance(1)
    ocpp.wait(lambda: ocpp.vars(1, "powermeter")[-1]["power_W"]["total"] == 3680, "the limited power")
    reading = everest.meter_reading_from_everest(1, ocpp.vars(1, "powermeter")[-1])
    assert reading.current_a == pytest.approx((3680 / 3 / 230,) * 3)
    offered = [everest.offered_from_everest(v) for v in ocpp.vars(1, "enforced_limits")]
    assert offered[-1][0] == pytest.approx(3680 / 3 / 230)
    assert offered[0][0] == pytest.approx(16.0)


def test_malformed_control_payloads_and_unknown_commands_are_logged_and_dropped(
        sim: SimProcess, ocpp: FakeOcpp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    bridge = sim.directory.get("bridge")
    for topic, payload in (("ocpp-cp/sim/1/swipe", b"not json"), ("ocpp-cp/sim/1/swipe", b"[1]"),
                           ("ocpp-cp/sim/1/swipe", b"{}"), ("ocpp-cp/sim/1/swipe", b'{"id_tag": 7}'),
                           ("ocpp-cp/sim/1/plug_in", b"\xff\xfe"), ("ocpp-cp/sim/1/dance", b"{}"),
                           ("ocpp-cp/sim/9/plug_in", b"{}"), ("ocpp-cp/sim/0/plug_in", b"{}"),
                           ("ocpp-cp/sim/x/plug_in", b"{}"),
                           ("everest/modules/ocpp/impl/auth_provider/var/provided_token", b'{"msg_type": "Var"}'),
                           ("everest/modules/sim/impl/evse_manager_1/cmd/stop_transaction", b"{]")):
        ocpp.publish_raw(topic, payload)
    ocpp.control(1, "plug_in")
    ocpp.wait_events(1, "SessionStarted")
    assert ocpp.events(1) == ["SessionStarted"] and ocpp.validations == []
    assert sim.directory.get("bridge") is bridge and sim.directory.get("simulator") is not None
    dropped = [r.getMessage() for r in caplog.records if "dropped the message" in r.getMessage()]
    assert len(dropped) == 11
    assert any("ocpp-cp/sim/1/dance" in line for line in dropped)
    assert any("there is no EVSE 9" in line for line in dropped)


def test_bad_commands_get_message_parsing_failed(sim: SimProcess, ocpp: FakeOcpp) -> None:
    for impl, cmd, args, reason in (("evse_manager_1", "fly", {}, "no command 'fly'"),
                                    ("evse_manager_1", "stop_transaction", {}, "request is missing"),
                                    ("evse_manager_3", "get_session_state", {}, "evse_manager_3"),
                                    ("energy_sink_1", "set_external_limits", {"value": {"schedule_import": []}},
                                     "empty schedule"),
                                    ("charger", "get_session_state", {}, "'charger'")):
        result = ocpp.call(impl, cmd, args)
        assert isinstance(result.error, CmdError) and result.error.event == "MessageParsingFailed", result
        assert reason in result.error.msg
    assert ocpp.call("evse_manager_1", "get_session_state", {}).error is None


def test_unanswered_validate_token_is_refused_after_its_timeout(
        sim: SimProcess, ocpp: FakeOcpp, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    ocpp.validator = lambda _args: None
    ocpp.control(1, "plug_in")
    ocpp.control(1, "swipe", b'{"id_tag": "SLOW"}')
    ocpp.wait(lambda: len(ocpp.validations) == 1, "validate_token")
    wait_until(lambda: sim.bus_status().pending_validations == 1, what="the call to be pending")
    clock.advance(everest.VALIDATE_TOKEN_TIMEOUT_S - 1)
    assert sim.bus_status().pending_validations == 1
    clock.advance(1)
    wait_until(lambda: sim.bus_status().pending_validations == 0, what="the timeout")
    wait_until(lambda: any("token SLOW on EVSE 1 refused: Timeout: no result from ocpp->auth_validator."
                           "validate_token within 65 s" in r.getMessage() for r in caplog.records), what="the log line")
    assert ocpp.events(1) == ["SessionStarted"]


def test_validate_token_error_or_nonsense_is_a_refusal(
        sim: SimProcess, ocpp: FakeOcpp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    ocpp.validator = lambda _args: CmdError(event="HandlerException", msg="auth is down")
    ocpp.control(1, "plug_in")
    ocpp.control(1, "swipe", b'{"id_tag": "ERR"}')
    ocpp.wait(lambda: len(ocpp.validations) == 1, "validate_token")
    wait_until(lambda: any("token ERR on EVSE 1 refused: HandlerException: auth is down" in r.getMessage()
                           for r in caplog.records), what="the refusal")
    ocpp.validator = lambda _args: {"authorization_status": 3}
    ocpp.control(1, "swipe", b'{"id_tag": "ODD"}')
    wait_until(lambda: any("token ODD on EVSE 1 refused: unreadable result" in r.getMessage()
                           for r in caplog.records), what="the refusal")
    assert ocpp.events(1) == ["SessionStarted"]
    assert sim.bus_status().pending_validations == 0


def test_provided_token_starts_a_transaction(sim: SimProcess, ocpp: FakeOcpp) -> None:
    ocpp.control(2, "plug_in")
    ocpp.wait_events(2, "SessionStarted")
    ocpp.provide_token({"id_token": {"value": "REMOTE", "type": "Central"}, "authorization_type": "OCPP",
                        "connectors": [2], "prevalidated": True})
    ocpp.wait_events(2, "TransactionStarted", "ChargingStarted")
    assert session_events(ocpp, 2)[1].id_tag == "REMOTE"
    assert ocpp.validations == []
    ocpp.control(1, "plug_in")
    ocpp.provide_token({"id_token": {"value": "ASKED", "type": "Central"}, "authorization_type": "OCPP",
                        "prevalidated": False})  # no connectors: any EVSE; validated first
    ocpp.wait_events(1, "SessionStarted", "TransactionStarted")
    assert [v["provided_token"]["id_token"]["value"] for v in ocpp.validations] == ["ASKED"]  # type: ignore[index]


def test_errors_are_raised_and_cleared(sim: SimProcess, ocpp: FakeOcpp) -> None:
    ocpp.control(2, "raise_error", b'{"type": "evse_manager/Inoperative", "message": "broken"}')
    ocpp.wait(lambda: len(ocpp.errors()) == 1, "RaiseError")
    raised = [s for s in ocpp.seen if s.kind is TopicKind.ERROR][0]
    assert (raised.impl, raised.name) == ("evse_manager_2", "evse_manager/Inoperative")
    error = everest.error_from_everest(ocpp.errors()[0])
    assert isinstance(error, ErrorRaised) and (error.evse_id, error.type, error.message) == (2, "evse_manager/Inoperative",
                                                                                            "broken")
    ocpp.control(2, "clear_error")
    ocpp.wait(lambda: len(ocpp.errors()) == 2, "ClearError")
    cleared = everest.error_from_everest(ocpp.errors()[1])
    assert cleared == ErrorCleared(evse_id=2, uuid=error.uuid)


def test_reservation_system_and_auth_commands(sim: SimProcess, ocpp: FakeOcpp, clock: ManualClock) -> None:
    reserve = everest.call_for(Reserve(evse_id=1, reservation_id=7, id_tag="R1"))
    assert ocpp.call("reservation", reserve.cmd, reserve.args).retval == "Accepted"
    ocpp.wait_events(1, "ReservationStart")
    assert everest.session_state_from_everest(1, ocpp.call("evse_manager_1", "get_session_state", {}).retval
                                              ).reserved_for == "R1"
    assert ocpp.call("reservation", "cancel_reservation", {"reservation_id": 7}).retval is True
    ocpp.wait_events(1, "ReservationStart", "ReservationEnd")
    assert ocpp.call("reservation", "cancel_reservation", {"reservation_id": 7}).retval is False
    elsewhere = everest.call_for(Reserve(evse_id=5, reservation_id=8, id_tag="R2"))
    assert ocpp.call("reservation", elsewhere.cmd, elsewhere.args).retval == "Rejected"

    assert ocpp.call("system", "is_reset_allowed", {"type": "Soft"}).retval is True
    assert ocpp.call("system", "reset", {"type": "Hard", "scheduled": False}).error is None
    disable = ocpp.call("evse_manager_2", "enable_disable", {"connector_id": 0, "cmd_source": {
        "enable_source": "CSMS", "enable_state": "Disable", "enable_priority": 5000}})
    assert disable.retval is False
    ocpp.wait_events(2, "Disabled")
    for cmd in ("pause_charging", "resume_charging", "force_unlock"):
        assert ocpp.call("evse_manager_1", cmd, {"connector_id": 1} if cmd == "force_unlock" else {}).retval is True

    assert ocpp.call("auth", "set_connection_timeout", {"connection_timeout": 5}).error is None
    ocpp.control(1, "swipe", b'{"id_tag": "EARLY"}')
    ocpp.wait_events(1, "SessionStarted")
    wait_until(lambda: sim.bus_status().pending_validations == 0, what="the token to be accepted")
    clock.advance(4)
    assert "SessionFinished" not in ocpp.events(1)
    clock.advance(1)
    ocpp.wait_events(1, "SessionStarted", "SessionFinished")


def test_a_transaction_started_while_the_broker_is_down_arrives_after_its_restart(
        sim: SimProcess, ocpp: FakeOcpp, mosquitto: Mosquitto) -> None:  # noqa: F811
    ocpp.control(1, "swipe", b'{"id_tag": "TAG1"}')  # authorized, waiting for the cable
    ocpp.wait_events(1, "SessionStarted")
    wait_until(lambda: sim.bus_status().pending_validations == 0, what="the token to be accepted")
    assert mosquitto.stop() == 0  # SIGTERM: the broker saves the sessions
    wait_until(lambda: not sim.bus_status().connected, 15, "the simulator to notice")
    SimController(sim.directory).plug_in(1)  # no broker: the plug goes in-process
    wait_until(lambda: sim.directory.ask("simulator", everest.message_for(
        "evse_manager", 1, "get_session_state", {})).transaction_active, what="the transaction")
    mosquitto.start()
    ocpp.wait_events(1, "SessionStarted", "TransactionStarted", "ChargingStarted")
    wait_until(lambda: sim.bus_status().connected, 15, "the simulator to reconnect")
    assert ocpp.events(1) == ["SessionStarted", "TransactionStarted", "ChargingStarted"]
    ocpp.wait(lambda: ocpp.readies("sim") >= 2, "ModuleReady again after the reconnect")


def test_other_module_ids_and_prefix(mosquitto: Mosquitto, clock: ManualClock) -> None:  # noqa: F811
    ocpp = FakeOcpp(mosquitto.port, module="cp", sim="sim2", prefix="site/a/").start()
    process = SimProcess(SimSettings(host="127.0.0.1", port=mosquitto.port, evse_count=1, module_id="sim2",
                                     ocpp_module_id="cp", prefix="site/a/"), clock=clock).start()
    try:
        ocpp.wait(lambda: ocpp.readies("sim2") >= 1, "ModuleReady of sim2")
        start_charging(ocpp, 1, "TAG9")
        assert len(ocpp.validations) == 1
        assert ocpp.call("evse_manager_1", "get_session_state", {}).origin == "sim2"
    finally:
        process.stop()
        ocpp.stop()
