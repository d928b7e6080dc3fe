"""The EVerest bus codec: every mapping round-trips, topics parse back, and nothing malformed
gets past decode as anything but BusFormatError (docs/mqtt-bus.md is the contract)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages import everest as ev
from messages.charging_profiles import CompositeSchedule, SchedulePeriod
from messages.data_transfer import DataTransferRequest, DataTransferResult, DataTransferStatus
from messages.evse_manager import (
    CancelReserve, EnableDisable, ErrorCleared, ErrorRaised, ForceUnlock, GetSessionState, MeterReading,
    PauseCharging, ProvideToken, Reserve, ResumeCharging, SessionEvent, SessionEventType, SessionState,
    SimCommand, StopTransactionCommand, TokenValidated, ValidateToken,
)
from messages.payload import thaw
from messages.smart_charging import ExternalLimits
from messages.system import ResetKind, SystemReset

T = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)
E = SessionEventType


def wire(value: object) -> object:
    """What the other end sees: the value through a Var envelope and back."""
    return ev.decode(ev.encode(ev.Var(value=value))).value  # type: ignore[union-attr]


# --- topics and envelopes -----------------------------------------------------------------


@pytest.mark.parametrize(("topic", "expected"), [
    (ev.var_topic("sim", "evse_manager_1", "session_event"),
     ev.Topic(kind=ev.TopicKind.VAR, module="sim", impl="evse_manager_1", name="session_event")),
    (ev.cmd_topic("ocpp", "auth_validator", "validate_token"),
     ev.Topic(kind=ev.TopicKind.CMD, module="ocpp", impl="auth_validator", name="validate_token")),
    (ev.result_topic("sim", "system", "reset", "ocpp"),
     ev.Topic(kind=ev.TopicKind.RESULT, module="sim", impl="system", name="reset", origin="ocpp")),
    (ev.error_topic("sim", "evse_manager_2", "evse_manager/Inoperative"),
     ev.Topic(kind=ev.TopicKind.ERROR, module="sim", impl="evse_manager_2", name="evse_manager/Inoperative")),
    (ev.module_ready_topic("sim"), ev.Topic(kind=ev.TopicKind.MODULE_READY, module="sim")),
    (ev.GLOBAL_READY_TOPIC, ev.Topic(kind=ev.TopicKind.GLOBAL_READY)),
    (ev.sim_control_topic(12, "swipe"), ev.Topic(kind=ev.TopicKind.SIM_CONTROL, evse_id=12, name="swipe")),
])
def test_topics_parse_back(topic: str, expected: ev.Topic) -> None:
    assert ev.parse_topic(topic) == expected


def test_topic_spelling() -> None:
    assert ev.var_topic("sim", "evse_manager_1", "powermeter") == "everest/modules/sim/impl/evse_manager_1/var/powermeter"
    assert ev.result_topic("sim", "reservation", "reserve_now", "ocpp") == \
        "everest/modules/sim/impl/reservation/cmd/reserve_now/response/ocpp"
    assert ev.sim_control_topic(3, "plug_in") == "ocpp-cp/sim/3/plug_in"


def test_another_prefix() -> None:
    topic = ev.cmd_topic("sim", "system", "reset", prefix="site2/")
    assert topic == "site2/modules/sim/impl/system/cmd/reset"
    assert ev.parse_topic(topic, prefix="site2/") == ev.Topic(kind=ev.TopicKind.CMD, module="sim", impl="system",
                                                             name="reset")
    assert ev.parse_topic("site2/ready", prefix="site2/").kind is ev.TopicKind.GLOBAL_READY
    with pytest.raises(ev.BusFormatError):
        ev.parse_topic(topic)
    with pytest.raises(ev.BusFormatError):
        ev.parse_topic(ev.cmd_topic("sim", "system", "reset"), prefix="site2/")


@pytest.mark.parametrize("topic", [
    "", "everest", "everest/modules/sim", "everest/modules/sim/impl/x/var", "everest/modules/sim/impl/x/var/a/b",
    "everest/modules//impl/x/var/a", "everest/modules/sim/impl/x/cmd/a/response", "everest/modules/sim/impl/x/foo/a",
    "ocpp-cp/sim/0/plug_in", "ocpp-cp/sim/1/dance", "ocpp-cp/sim/01/plug_in", "ocpp-cp/sim/1/plug_in/x", "other/topic",
])
def test_foreign_topics_are_refused(topic: str) -> None:
    with pytest.raises(ev.BusFormatError):
        ev.parse_topic(topic)


@given(st.text() | st.builds("/".join, st.lists(st.sampled_from(
    ["everest", "modules", "sim", "impl", "x", "var", "cmd", "response", "error", "ready", "", "ocpp-cp", "1"]))))
def test_any_topic_parses_or_bus_format_error(topic: str) -> None:
    try:
        ev.parse_topic(topic)
    except ev.BusFormatError:
        pass


@given(st.sampled_from(ev.SIM_COMMANDS), st.binary())
def test_any_control_payload_decodes_or_bus_format_error(command: str, payload: bytes) -> None:
    try:
        ev.sim_command_from_mqtt(ev.sim_control_topic(1, command), payload)
    except ev.BusFormatError:
        pass


@pytest.mark.parametrize("bad", ["", "a/b", "+", "#"])
def test_builders_refuse_what_cannot_be_a_level(bad: str) -> None:
    with pytest.raises(ev.BusFormatError):
        ev.var_topic("sim", bad, "x")


@pytest.mark.parametrize("envelope", [
    ev.Var(value={"uuid": "s", "event": "Enabled", "list": [1, 2.5, None, True]}),
    ev.Var(value=None),
    ev.Cmd(id="c1", args={"request": {"reason": "Remote"}}, origin="ocpp"),
    ev.CmdResult(id="c1", origin="sim", retval=True),
    ev.CmdResult(id="c1", origin="sim", retval=None),
    ev.CmdResult(id="c2", origin="sim", error=ev.CmdError(event="HandlerException", msg="boom")),
    ev.ErrorEvent(cleared=False, error={"type": "evse_manager/Inoperative", "uuid": "u"}),
    ev.ErrorEvent(cleared=True, error={"type": "evse_manager/Inoperative", "uuid": "u"}),
    ev.ModuleReady(), ev.GlobalReady(), ev.ModuleReady(ready=False),
])
def test_envelopes_round_trip(envelope: ev.Envelope) -> None:
    assert ev.decode(ev.encode(envelope)) == envelope


def test_envelopes_are_everest_wire_form() -> None:
    assert json.loads(ev.encode(ev.Var(value=7))) == {"msg_type": "Var", "data": {"data": 7}}
    assert json.loads(ev.encode(ev.Cmd(id="i", args={}, origin="ocpp"))) == \
        {"msg_type": "Cmd", "data": {"id": "i", "args": {}, "origin": "ocpp"}}
    assert json.loads(ev.encode(ev.CmdResult(id="i", origin="sim", retval=False))) == \
        {"msg_type": "CmdResult", "data": {"type": "result", "data": {"id": "i", "origin": "sim", "retval": False}}}
    assert json.loads(ev.encode(ev.GlobalReady())) == {"msg_type": "GlobalReady", "data": True}


def test_a_flat_cmd_result_is_understood_too() -> None:
    flat = b'{"msg_type":"CmdResult","data":{"id":"i","origin":"sim","retval":3}}'
    assert ev.decode(flat) == ev.CmdResult(id="i", origin="sim", retval=3)


def test_timeout_error_names_the_call() -> None:
    error = ev.timeout_error("sim", "evse_manager_1", "stop_transaction", 10)
    assert error.event == "Timeout"
    assert "sim->evse_manager_1.stop_transaction" in error.msg and "10 s" in error.msg


@pytest.mark.parametrize("payload", [
    b"", b"not json", b"[]", b"{}", b'{"msg_type":"Var"}', b'{"msg_type":"Var","data":5}',
    b'{"msg_type":"Var","data":{}}', b'{"msg_type":"Cmd","data":{"args":{}}}',
    b'{"msg_type":"Cmd","data":{"id":1,"origin":"o"}}', b'{"msg_type":"Cmd","data":{"id":"1","origin":"o","args":[]}}',
    b'{"msg_type":"CmdResult","data":{"type":"result","data":{"retval":1}}}',
    b'{"msg_type":"CmdResult","data":{"id":"i","error":{"msg":"x"}}}',
    b'{"msg_type":"ModuleReady","data":"yes"}', b'{"msg_type":"Heartbeat","data":1}',
    b'{"msg_type":"Var","data":{"data":NaN}}', b"\xff\xfe\x00", b"[" * 100_000,
    b'{"msg_type":"RaiseError","data":[]}',
])
def test_malformed_envelopes(payload: bytes) -> None:
    with pytest.raises(ev.BusFormatError):
        ev.decode(payload)


@given(st.binary())
def test_any_bytes_decode_or_bus_format_error(payload: bytes) -> None:
    try:
        ev.decode(payload)
    except ev.BusFormatError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12)
envelope_like = st.fixed_dictionaries({"msg_type": st.sampled_from(
    ["Var", "Cmd", "CmdResult", "RaiseError", "ClearError", "ModuleReady", "GlobalReady", "Other"]),
    "data": json_values})


@given(envelope_like)
def test_any_envelope_shaped_json_decodes_or_bus_format_error(doc: dict) -> None:
    try:
        ev.decode(json.dumps(doc).encode())
    except ev.BusFormatError:
        pass


DECODERS = [
    lambda v: ev.session_event_from_everest(1, v),
    lambda v: ev.meter_reading_from_everest(1, v),
    lambda v: ev.offered_from_everest(v),
    lambda v: ev.soc_from_everest(v),
    lambda v: ev.error_from_everest(ev.ErrorEvent(cleared=False, error=v)) if isinstance(v, dict) else None,
    lambda v: ev.session_state_from_everest(1, v),
    lambda v: ev.external_limits_from_everest(1, v),
    lambda v: ev.validate_token_from_everest(v, reply_to="bus", correlation="c"),
    lambda v: ev.token_validated_from_everest(v, evse_id=1, id_tag="T"),
    lambda v: ev.provided_token_from_everest(v, evse_count=2),
    lambda v: ev.data_transfer_request_from_everest(v),
    lambda v: ev.data_transfer_result_from_everest(v),
    lambda v: ev.message_for("evse_manager", 1, "enable_disable", v),
    lambda v: ev.message_for("reservation", 0, "reserve_now", v),
    lambda v: ev.message_for("system", 0, "reset", v),
    lambda v: ev.resolve_connections(v, 1),
]


@given(st.sampled_from(range(len(DECODERS))), json_values)
def test_mapping_decoders_return_or_bus_format_error(which: int, value: object) -> None:
    try:
        DECODERS[which](wire(value))
    except ev.BusFormatError:
        pass


# --- session events, meter, errors ----------------------------------------------------------


SESSION_EVENTS = [
    SessionEvent(evse_id=2, event=E.SESSION_STARTED, session_id="s1", timestamp=T, reason="EVConnected"),
    SessionEvent(evse_id=2, event=E.SESSION_STARTED, session_id="s1", timestamp=T, reason="Authorized"),
    SessionEvent(evse_id=2, event=E.TRANSACTION_STARTED, session_id="s1", timestamp=T, id_tag="TAG1",
                 meter_wh=1234.5),
    SessionEvent(evse_id=2, event=E.TRANSACTION_STARTED, session_id="s1", timestamp=T, id_tag="TAG1",
                 meter_wh=0, reservation_id=42),
    SessionEvent(evse_id=2, event=E.CHARGING_STARTED, session_id="s1", timestamp=T),
    SessionEvent(evse_id=2, event=E.CHARGING_PAUSED_EV, session_id="s1", timestamp=T),
    SessionEvent(evse_id=2, event=E.CHARGING_PAUSED_EVSE, session_id="s1", timestamp=T),
    SessionEvent(evse_id=2, event=E.TRANSACTION_FINISHED, session_id="s1", timestamp=T, meter_wh=9999.0,
                 reason="Remote"),
    SessionEvent(evse_id=2, event=E.TRANSACTION_FINISHED, session_id="s1", timestamp=T, meter_wh=9999.0,
                 reason="Local", id_tag="TAG1"),
    SessionEvent(evse_id=2, event=E.SESSION_FINISHED, session_id="s1", timestamp=T),
    SessionEvent(evse_id=2, event=E.ENABLED, session_id="", timestamp=T),
    SessionEvent(evse_id=2, event=E.DISABLED, session_id="", timestamp=T),
    SessionEvent(evse_id=2, event=E.PLUGIN_TIMEOUT, session_id="s1", timestamp=T),
    SessionEvent(evse_id=2, event=E.SESSION_RESUMED, session_id="s1", timestamp=T),
    SessionEvent(evse_id=2, event=E.ENABLED, session_id=""),
]


@pytest.mark.parametrize("event", SESSION_EVENTS, ids=lambda e: e.event.value)
def test_session_events_round_trip(event: SessionEvent) -> None:
    assert ev.session_event_from_everest(2, wire(ev.session_event_to_everest(event))) == event


def test_reservation_events_take_the_reservation_they_belong_to() -> None:
    reserve = Reserve(evse_id=1, reservation_id=7, id_tag="RES", parent_id_tag="P")
    start = SessionEvent(evse_id=1, event=E.RESERVATION_START, session_id="", timestamp=T, reservation_id=7,
                         id_tag="RES")
    end = SessionEvent(evse_id=1, event=E.RESERVATION_END, session_id="", timestamp=T, reservation_id=7)
    for event in (start, end):
        assert ev.session_event_from_everest(1, wire(ev.session_event_to_everest(event)), reservation=reserve) == event


def test_transaction_started_is_everest_shaped() -> None:
    out = ev.session_event_to_everest(SESSION_EVENTS[3])
    assert out["transaction_started"] == {
        "timestamp": "2026-11-24T12:00:00Z", "reservation_id": 42,
        "id_tag": {"id_token": {"value": "TAG1", "type": "ISO14443"}, "authorization_type": "RFID"},
        "meter_value": {"timestamp": "2026-11-24T12:00:00Z", "energy_Wh_import": {"total": 0}}}
    assert out["timestamp"] == "2026-11-24T12:00:00Z" and out["uuid"] == "s1"


@pytest.mark.parametrize(("everest", "ocpp"), [
    ("EVDisconnected", "EVDisconnected"), ("SoftReset", "SoftReset"), ("DeAuthorized", "DeAuthorized"),
    ("EmergencyStop", "EmergencyStop"), ("Reboot", "Reboot"), ("UnlockCommand", "UnlockCommand"),
    ("StoppedByEV", "Other"), ("TimeLimitReached", "Other"), ("ReqEnergyTransferRejected", "Other"),
    ("SomethingNew", "Other"), (None, "Other"),
])
def test_stop_reasons(everest: str | None, ocpp: str) -> None:
    detail = {"timestamp": "2026-11-24T12:00:00Z", "meter_value": {"timestamp": "2026-11-24T12:00:00Z",
                                                                   "energy_Wh_import": {"total": 5}}}
    if everest is not None:
        detail["reason"] = everest
    event = ev.session_event_from_everest(1, {"uuid": "s", "event": "TransactionFinished",
                                              "transaction_finished": detail})
    assert event is not None and event.reason == ocpp


def test_events_ocpp_ignores_and_aliases() -> None:
    assert ev.session_event_from_everest(1, {"uuid": "s", "event": "PrepareCharging"}) is None
    assert ev.session_event_from_everest(1, {"uuid": "s", "event": "AuthRequired"}) is None
    resumed = ev.session_event_from_everest(1, {"uuid": "s", "event": "ChargingResumed"})
    assert resumed is not None and resumed.event is E.CHARGING_STARTED


@pytest.mark.parametrize("data", [
    {"event": "Enabled"}, {"uuid": "s"}, {"uuid": "s", "event": "TransactionStarted"},
    {"uuid": "s", "event": "TransactionStarted", "transaction_started": {"timestamp": "2026-11-24T12:00:00Z"}},
    {"uuid": "s", "event": "Enabled", "timestamp": "yesterday"},
    {"uuid": 5, "event": "Enabled"},
])
def test_malformed_session_events(data: dict) -> None:
    with pytest.raises(ev.BusFormatError):
        ev.session_event_from_everest(1, data)


def test_session_events_without_what_everest_requires_are_not_sent() -> None:
    with pytest.raises(ev.BusFormatError):
        ev.session_event_to_everest(SessionEvent(evse_id=1, event=E.TRANSACTION_STARTED, session_id="s", timestamp=T))
    with pytest.raises(ev.BusFormatError):
        ev.session_event_to_everest(SessionEvent(evse_id=1, event=E.SESSION_FINISHED, session_id="s"))


def test_meter_reading_round_trip() -> None:
    reading = MeterReading(evse_id=3, timestamp=T, energy_wh=1500.25, power_w=11040.0, current_a=(16.0, 16.0, 16.0),
                           voltage_v=(230.0, 231.0, 229.5), frequency_hz=49.9, soc=55.0, offered_current_a=16.0,
                           offered_power_w=11040.0)
    limits = ev.enforced_limits_to_everest(3, current_a=16.0, power_w=11040.0, valid_until=T + timedelta(seconds=60))
    offered_a, offered_w = ev.offered_from_everest(wire(limits))
    back = ev.meter_reading_from_everest(3, wire(ev.meter_reading_to_everest(reading)), soc=ev.soc_from_everest(
        {"soc": 55.0}), offered_current_a=offered_a, offered_power_w=offered_w)
    assert back == reading


def test_a_minimal_powermeter_is_enough() -> None:
    back = ev.meter_reading_from_everest(1, {"timestamp": "2026-11-24T12:00:00Z", "energy_Wh_import": {"total": 7}})
    assert (back.energy_wh, back.power_w, back.current_a, back.frequency_hz) == (7, 0.0, (0.0, 0.0, 0.0), 50.0)
    assert ev.offered_from_everest({"uuid": "x", "valid_until": "2026-11-24T12:00:00Z"}) == (None, None)
    assert ev.soc_from_everest({}) is None


def test_errors_round_trip() -> None:
    raised = ErrorRaised(evse_id=2, uuid="u1", type="evse_manager/Inoperative", sub_type="s", message="m",
                         description="d", vendor_id="v")
    data = ev.error_raised_to_everest(raised, module="sim", impl="evse_manager_2", at=T)
    assert data["origin"] == {"module_id": "sim", "implementation_id": "evse_manager_2", "mapping": {"evse": 2}}
    assert ev.error_from_everest(ev.decode(ev.encode(ev.ErrorEvent(cleared=False, error=data)))) == raised  # type: ignore[arg-type]
    cleared = ev.error_cleared_to_everest(raised, module="sim", impl="evse_manager_2", at=T)
    assert cleared["state"] == "ClearedByModule"
    assert ev.error_from_everest(ev.ErrorEvent(cleared=True, error=cleared)) == ErrorCleared(evse_id=2, uuid="u1")


def test_an_error_without_mapping_goes_where_the_caller_says() -> None:
    data = {"type": "powermeter/CommunicationFault", "uuid": "u", "origin": {"module_id": "m", "implementation_id": "i"}}
    assert ev.error_from_everest(ev.ErrorEvent(cleared=False, error=data), evse_id=4).evse_id == 4
    assert ev.error_from_everest(ev.ErrorEvent(cleared=False, error=data)).evse_id == 0


# --- commands ----------------------------------------------------------------------------


LIMITS_A = ExternalLimits(evse_id=2, schedule=CompositeSchedule(
    connector_id=2, start=T, duration=3600, unit="A", min_charging_rate=6.0,
    periods=(SchedulePeriod(start_period=0, limit=16.0, number_phases=3), SchedulePeriod(start_period=600, limit=8))))
LIMITS_W = ExternalLimits(evse_id=1, schedule=CompositeSchedule(
    connector_id=1, start=T, duration=86400, unit="W", periods=(SchedulePeriod(start_period=0, limit=11000.0),)))

COMMANDS = [
    (StopTransactionCommand(evse_id=2, reason="Remote"), "evse_manager", 2, "stop_transaction"),
    (StopTransactionCommand(evse_id=1, reason="UnlockCommand"), "evse_manager", 1, "stop_transaction"),
    (StopTransactionCommand(evse_id=1, reason="Other"), "evse_manager", 1, "stop_transaction"),
    (PauseCharging(evse_id=1), "evse_manager", 1, "pause_charging"),
    (ResumeCharging(evse_id=1), "evse_manager", 1, "resume_charging"),
    (EnableDisable(evse_id=3, enable=True), "evse_manager", 3, "enable_disable"),
    (EnableDisable(evse_id=3, enable=False), "evse_manager", 3, "enable_disable"),
    (ForceUnlock(evse_id=1), "evse_manager", 1, "force_unlock"),
    (GetSessionState(evse_id=4), "evse_manager", 4, "get_session_state"),
    (LIMITS_A, "evse_energy_sink", 2, "set_external_limits"),
    (LIMITS_W, "evse_energy_sink", 1, "set_external_limits"),
    (Reserve(evse_id=2, reservation_id=9, id_tag="RES", parent_id_tag="GRP"), "reservation", 0, "reserve_now"),
    (Reserve(evse_id=2, reservation_id=9, id_tag="RES"), "reservation", 0, "reserve_now"),
    (SystemReset(kind=ResetKind.HARD), "system", 0, "reset"),
    (ev.IsResetAllowed(kind=ResetKind.SOFT), "system", 0, "is_reset_allowed"),
    (ev.SetConnectionTimeout(seconds=45), "auth", 0, "set_connection_timeout"),
    (DataTransferRequest(vendor_id="v", message_id="m", data="d"), "data_transfer", 0, "data_transfer"),
    (DataTransferRequest(vendor_id="v"), "data_transfer", 0, "data_transfer"),
]


@pytest.mark.parametrize(("msg", "requirement", "evse_id", "cmd"), COMMANDS, ids=lambda v: type(v).__name__)
def test_commands_round_trip(msg: object, requirement: str, evse_id: int, cmd: str) -> None:
    call = ev.call_for(msg)
    assert (call.requirement, call.evse_id, call.cmd) == (requirement, evse_id, cmd)
    args = ev.decode(ev.encode(ev.Cmd(id="x", args=call.args, origin="ocpp"))).args  # type: ignore[union-attr]
    assert ev.message_for(requirement, call.evse_id, cmd, args) == msg


def test_cancel_reservation_names_no_evse() -> None:
    call = ev.call_for(CancelReserve(evse_id=2, reservation_id=9))
    assert call.args == {"reservation_id": 9}
    assert ev.message_for("reservation", 0, call.cmd, call.args) == CancelReserve(evse_id=0, reservation_id=9)


def test_command_shapes_are_everest_shaped() -> None:
    assert thaw(ev.call_for(EnableDisable(evse_id=1, enable=False)).args) == {
        "connector_id": 0, "cmd_source": {"enable_source": "CSMS", "enable_state": "Disable", "enable_priority": 5000}}
    assert thaw(ev.call_for(Reserve(evse_id=1, reservation_id=3, id_tag="A")).args) == {"request": {
        "reservation_id": 3, "id_token": "A", "evse_id": 1, "expiry_time": "9999-12-31T23:59:59Z"}}
    expiry = ev.call_for(Reserve(evse_id=1, reservation_id=3, id_tag="A"), expiry_time=T).args["request"]["expiry_time"]
    assert expiry == "2026-11-24T12:00:00Z"
    assert ev.call_for(GetSessionState(evse_id=1)).timeout_s == ev.SESSION_STATE_TIMEOUT_S
    assert ev.call_for(PauseCharging(evse_id=1)).timeout_s == ev.CMD_TIMEOUT_S
    with pytest.raises(TypeError):
        ev.call_for(object())


def test_unassigned_enable_state_enables() -> None:
    args = {"connector_id": 0, "cmd_source": {"enable_source": "LocalAPI", "enable_state": "Unassigned",
                                              "enable_priority": 1}}
    assert ev.message_for("evse_manager", 1, "enable_disable", args) == EnableDisable(evse_id=1, enable=True)


@pytest.mark.parametrize(("requirement", "cmd", "args"), [
    ("evse_manager", "dance", {}), ("system", "reset", {"type": "Medium"}), ("evse_manager", "stop_transaction", {}),
    ("reservation", "reserve_now", {"request": {"reservation_id": 1}}), ("auth", "set_connection_timeout", {}),
    ("evse_energy_sink", "set_external_limits", {"value": {"schedule_import": []}}),
    ("evse_manager", "enable_disable", {"cmd_source": {"enable_state": "Maybe"}}), ("system", "reset", []),
])
def test_malformed_commands(requirement: str, cmd: str, args: object) -> None:
    with pytest.raises(ev.BusFormatError):
        ev.message_for(requirement, 1, cmd, args)  # type: ignore[arg-type]


def test_external_limits_are_everest_shaped() -> None:
    value = thaw(ev.external_limits_to_everest(LIMITS_A))
    assert value["schedule_import"][1] == {
        "timestamp": "2026-11-24T12:10:00Z", "limits_to_root": {"ac_max_current_A": 8, "ac_min_current_A": 6.0},
        "limits_to_leaves": {"ac_max_current_A": 8, "ac_min_current_A": 6.0}}
    assert value["schedule_import"][-1] == {"timestamp": "2026-11-24T13:00:00Z", "limits_to_root": {},
                                           "limits_to_leaves": {}}


def test_everest_limits_without_an_end_hold_for_ever() -> None:
    value = {"schedule_import": [
        {"timestamp": "2026-11-24T12:00:00.250Z", "limits_to_root": {}, "limits_to_leaves": {"total_power_W": 7000}},
        {"timestamp": "2026-11-24T12:30:00Z", "limits_to_root": {"total_power_W": 3000, "ac_max_current_A": 4}}]}
    limits = ev.external_limits_from_everest(5, value)
    assert limits.schedule == CompositeSchedule(connector_id=5, start=T, duration=ev.OPEN_END_S, unit="W", periods=(
        SchedulePeriod(start_period=0, limit=7000), SchedulePeriod(start_period=1800, limit=3000)))


@pytest.mark.parametrize("entries", [
    [{"timestamp": "2026-11-24T12:00:00Z"}],
    [{"timestamp": "2026-11-24T12:00:00Z", "limits_to_root": {"ac_max_current_A": 6}},
     {"timestamp": "2026-11-24T12:00:00Z", "limits_to_root": {"ac_max_current_A": 7}}],
    [{"timestamp": "2026-11-24T12:00:00Z", "limits_to_root": {"ac_max_current_A": 6}},
     {"timestamp": "2026-11-24T12:10:00Z", "limits_to_root": {"total_power_W": 7}}],
    [{"timestamp": "2026-11-24T12:00:00Z", "limits_to_root": {"ac_max_current_A": 6}},
     {"timestamp": "2026-11-24T12:10:00Z", "limits_to_root": {}},
     {"timestamp": "2026-11-24T12:20:00Z", "limits_to_root": {"ac_max_current_A": 6}}],
])
def test_malformed_limits(entries: list) -> None:
    with pytest.raises(ev.BusFormatError):
        ev.external_limits_from_everest(1, {"schedule_import": entries})


@pytest.mark.parametrize("state", [
    SessionState(evse_id=1, plugged=True, session_id="s", transaction_active=True, charging=False, paused_by="EV",
                 enabled=True, reserved_for=""),
    SessionState(evse_id=1, plugged=False, session_id="", transaction_active=False, charging=False,
                 enabled=False, reserved_for="RES"),
])
def test_session_state_round_trip(state: SessionState) -> None:
    assert ev.session_state_from_everest(1, wire(ev.session_state_to_everest(state))) == state


def test_data_transfer_results_round_trip() -> None:
    for result in (DataTransferResult(status=DataTransferStatus.ACCEPTED, data="x"),
                   DataTransferResult(status=DataTransferStatus.OFFLINE)):
        assert ev.data_transfer_result_from_everest(wire(ev.data_transfer_result_to_everest(result))) == result
    with pytest.raises(ev.BusFormatError):
        ev.data_transfer_result_from_everest({"status": "Maybe"})


# --- tokens -------------------------------------------------------------------------------


def test_validate_token_round_trip() -> None:
    asked = ValidateToken(evse_id=3, id_tag="TAG", reply_to="bus", correlation="cmd-1")
    assert ev.validate_token_from_everest(wire(ev.validate_token_to_everest(asked)), reply_to="bus",
                                          correlation="cmd-1") == asked
    for answer in (TokenValidated(evse_id=3, id_tag="TAG", status="Accepted", parent_id_tag="GRP",
                                  correlation="c", reason="Accepted in the local list"),
                   TokenValidated(evse_id=3, id_tag="TAG", status="Invalid")):
        assert ev.token_validated_from_everest(wire(ev.token_validated_to_everest(answer)), evse_id=3, id_tag="TAG",
                                               correlation=answer.correlation) == answer


def test_a_short_reason_is_not_sent() -> None:
    answer = TokenValidated(evse_id=1, id_tag="T", status="Accepted", reason="ok")
    assert "reason" not in ev.token_validated_to_everest(answer)


def test_provided_token_round_trip() -> None:
    token = ProvideToken(id_tag="REMOTE", connectors=(2,), prevalidated=True)
    data = ev.provided_token_to_everest(token)
    assert data["id_token"] == {"value": "REMOTE", "type": "Central"} and data["authorization_type"] == "OCPP"
    assert ev.provided_token_from_everest(wire(data), evse_count=4) == token
    anywhere = {"id_token": {"value": "R", "type": "Central"}, "authorization_type": "OCPP"}
    assert ev.provided_token_from_everest(anywhere, evse_count=3) == ProvideToken(
        id_tag="R", connectors=(1, 2, 3), prevalidated=False)


# --- ids, connections, simulator control ---------------------------------------------------


def test_sim_ids() -> None:
    assert ev.sim_impls(2) == ("evse_manager_1", "energy_sink_1", "evse_manager_2", "energy_sink_2", "system",
                               "reservation", "auth")
    assert [ev.sim_impl(i) for i in ev.sim_impls(1)] == [("evse_manager", 1), ("evse_energy_sink", 1), ("system", 0),
                                                        ("reservation", 0), ("auth", 0)]
    with pytest.raises(ev.BusFormatError):
        ev.sim_impl("evse_manager_0")
    assert ev.client_id("ocpp") == "ocpp-cp-ocpp"


def test_default_connections() -> None:
    conns = ev.resolve_connections({}, 2)
    assert conns["evse_manager"] == (ev.Connection("sim", "evse_manager_1"), ev.Connection("sim", "evse_manager_2"))
    assert conns["evse_energy_sink"][1] == ev.Connection("sim", "energy_sink_2")
    assert conns["system"] == (ev.Connection("sim", "system"),)
    assert "security" not in conns and "data_transfer" not in conns
    assert ev.resolve_connections("", 1, "bench")["reservation"] == (ev.Connection("bench", "reservation"),)


def test_connections_override_per_requirement() -> None:
    option = json.dumps({"evse_manager": [{"module_id": "evse_a", "implementation_id": "evse"}],
                         "data_transfer": [{"module_id": "dt", "implementation_id": "main"}], "auth": []})
    conns = ev.resolve_connections(option, 1)
    assert conns["evse_manager"] == (ev.Connection("evse_a", "evse"),)
    assert conns["data_transfer"] == (ev.Connection("dt", "main"),)
    assert conns["system"] == (ev.Connection("sim", "system"),) and "auth" not in conns


@pytest.mark.parametrize("option", [
    {"evse_manager": [{"module_id": "a", "implementation_id": "b"}] * 3}, {"nonsense": []},
    {"system": {"module_id": "a"}}, {"system": [{"module_id": "a/b", "implementation_id": "x"}]}, "[1]", "{",
])
def test_bad_connections(option: object) -> None:
    with pytest.raises(ev.BusFormatError):
        ev.resolve_connections(option, 2)


@pytest.mark.parametrize("command", [
    SimCommand(evse_id=1, command="plug_in"), SimCommand(evse_id=12, command="swipe", args={"id_tag": "TAG"}),
    SimCommand(evse_id=1, command="raise_error", args={"type": "evse_manager/Inoperative", "message": "x"}),
    SimCommand(evse_id=128, command="power_loss"),
])
def test_sim_control_round_trip(command: SimCommand) -> None:
    assert ev.sim_command_from_mqtt(*ev.sim_command_to_mqtt(command)) == command


def test_sim_control_empty_payload() -> None:
    assert ev.sim_command_from_mqtt("ocpp-cp/sim/2/ev_pause", b"") == SimCommand(evse_id=2, command="ev_pause")


@pytest.mark.parametrize(("topic", "payload"), [
    ("ocpp-cp/sim/1/swipe", b"{}"), ("ocpp-cp/sim/1/swipe", b'{"id_tag": 5}'), ("ocpp-cp/sim/1/raise_error", b""),
    ("ocpp-cp/sim/1/plug_in", b"[]"), ("ocpp-cp/sim/1/plug_in", b"{"), ("everest/ready", b"{}"),
])
def test_malformed_sim_control(topic: str, payload: bytes) -> None:
    with pytest.raises(ev.BusFormatError):
        ev.sim_command_from_mqtt(topic, payload)


# --- the system's file transfers ------------------------------------------------------------

from messages.system import (  # noqa: E402
    DownloadFirmware, FirmwareDownloaded, FirmwareInstalled, InstallFirmware, LogsUploaded, LogType, TransferFailed,
    UploadLogs,
)


@pytest.mark.parametrize("request_", [
    DownloadFirmware(transfer_id="t1", url="ftp://u:p@host/fw.bin", reply_to=""),
    InstallFirmware(transfer_id="t2", path="/tmp/fw.bin", reply_to=""),
    UploadLogs(transfer_id="t3", location="http://host/up/", file_name="d.zip", log_type=LogType.SECURITY,
               reply_to="", since=datetime(2026, 1, 1, tzinfo=timezone.utc),
               until=datetime(2026, 1, 2, tzinfo=timezone.utc)),
])
def test_system_transfer_commands_round_trip(request_):
    call = ev.call_for(ev.SystemTransfer(request_id=7, request=request_))
    assert call.requirement == "system"
    args = json.loads(json.dumps(thaw(call.args)))
    assert ev.message_for("system", 0, call.cmd, args) == ev.SystemTransfer(request_id=7, request=request_)


def test_everest_shaped_transfer_commands_without_our_extras():
    download = ev.message_for("system", 0, "update_firmware",
                              {"firmware_update_request": {"request_id": 3, "location": "http://h/fw"}})
    assert download.request == DownloadFirmware(transfer_id="request-3", url="http://h/fw", reply_to="")
    install = ev.message_for("system", 0, "allow_firmware_installation", {})
    assert install.request.path == "" and install.request_id == 0
    with pytest.raises(ev.BusFormatError):
        ev.message_for("system", 0, "upload_logs", {"upload_logs_request": {"type": "DiagnosticsLog"}})


def test_transfer_statuses_and_the_answers_they_give():
    status = ev.TransferStatus(var="firmware_update_status", status="Downloaded", request_id=4, transfer_id="t",
                               path="/x/fw.bin", size=10)
    value = ev.transfer_status_to_everest(status)
    assert value == {"firmware_update_status": "Downloaded", "request_id": 4, "transfer_id": "t", "path": "/x/fw.bin",
                     "size": 10}
    assert ev.transfer_status_from_everest("firmware_update_status", value) == status
    assert ev.transfer_answer(status, "t") == FirmwareDownloaded(transfer_id="t", path="/x/fw.bin", size=10)
    assert ev.transfer_answer(status, "t", installing=True) is None

    def answer(var, kind, *, installing=False):
        key = ev.TRANSFER_VARS[var]
        return ev.transfer_answer(ev.transfer_status_from_everest(var, {key: kind, "request_id": 1}), "t",
                                  installing=installing)

    assert answer("firmware_update_status", "Downloading") is None
    assert isinstance(answer("firmware_update_status", "DownloadFailed"), TransferFailed)
    assert answer("firmware_update_status", "DownloadFailed", installing=True) is None
    assert answer("firmware_update_status", "Installed", installing=True) == FirmwareInstalled(transfer_id="t")
    assert isinstance(answer("firmware_update_status", "InstallationFailed", installing=True), TransferFailed)
    assert answer("log_status", "Uploading") is None
    assert answer("log_status", "Uploaded") == LogsUploaded(transfer_id="t", size=0)
    assert isinstance(answer("log_status", "UploadFailure"), TransferFailed)
    for var, value in (("log_status", {"log_status": "Nonsense", "request_id": 1}),
                       ("firmware_update_status", {"request_id": 1}), ("powermeter", {})):
        with pytest.raises(ev.BusFormatError):
            ev.transfer_status_from_everest(var, value)
