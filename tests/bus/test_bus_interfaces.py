"""Our provided interfaces answered on the MQTT bus, our vars published there, malformed
messages dropped without harm, and a module that does not answer (docs/mqtt-bus.md)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from bus.fake_peer import booted_on_bus, calls_in_flight, mqtt_options, peer  # noqa: F401
from conftest import CP_ID, wait_until
from messages import everest
from messages.evse_manager import SessionEventType as E
from peers.mosquitto_fixture import mosquitto  # noqa: F401
from scenarios.steps import wait_status

pytestmark = pytest.mark.timeout(90)
RESERVATION = {"Core": {"SupportedFeatureProfiles": "Core,Reservation"}}


def variable(name: str) -> dict:
    return {"component": {"name": ""}, "variable": {"name": name}}


def test_configuration_and_variables_are_served(csms, clock, make_charge_point, peer, mosquitto):  # noqa: F811
    app = make_charge_point(csms.url, options=mqtt_options(mosquitto))
    booted_on_bus(csms, clock, app)
    got = peer.ask("main", "get_configuration_key", {"keys": ["HeartbeatInterval", "Nope"]})
    assert got.error is None
    assert got.retval == {"configuration_keys": [{"key": "HeartbeatInterval", "read_only": False, "value": "300"}],
                          "unknown_keys": ["Nope"]}
    assert peer.ask("main", "set_configuration_key", {"key": "MeterValueSampleInterval", "value": "30"}).retval == \
        "Accepted"
    assert peer.ask("main", "set_configuration_key", {"key": "NumberOfConnectors", "value": "3"}).retval == "Rejected"

    got = peer.ask("ocpp_generic", "get_variables", {"requests": [
        {"component_variable": variable("MeterValueSampleInterval")},
        {"component_variable": variable("Nope"), "attribute_type": "Actual"}]})
    assert got.retval == [
        {"status": "Accepted", "component_variable": variable("MeterValueSampleInterval"), "value": "30"},
        {"status": "UnknownVariable", "component_variable": variable("Nope"), "attribute_type": "Actual"}]
    done = peer.ask("ocpp_generic", "set_variables", {"source": "test", "requests": [
        {"component_variable": variable("HeartbeatInterval"), "value": "120"}]})
    assert done.retval == [{"status": "Accepted", "component_variable": variable("HeartbeatInterval")}]

    peer.ask("ocpp_generic", "monitor_variables", {"component_variables": [variable("ConnectionTimeOut")]})
    peer.ask("main", "monitor_configuration_keys", {"keys": ["ConnectionTimeOut"]})
    assert csms.call(CP_ID, "ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "45"}) == {"status": "Accepted"}
    assert peer.wait_var("main", "configuration_key") == {"key": "ConnectionTimeOut", "read_only": False, "value": "45"}
    event = peer.wait_var("ocpp_generic", "event_data")
    assert event["component_variable"] == variable("ConnectionTimeOut") and event["actual_value"] == "45"
    assert peer.wait_command("set_connection_timeout", "auth", count=2).args == {"connection_timeout": 45}


def test_vars_and_commands_of_ocpp_generic(csms, clock, make_charge_point, peer, mosquitto):  # noqa: F811
    app = make_charge_point(csms.url, evses=2, options=mqtt_options(mosquitto))
    booted_on_bus(csms, clock, app, evses=2)
    assert peer.wait_var("ocpp_generic", "is_connected", lambda v: v is True)
    boot = peer.wait_var("ocpp_generic", "boot_notification_response")
    assert boot["status"] == "Accepted" and boot["interval"] == 300
    schedules = peer.wait_var("ocpp_generic", "charging_schedules")
    assert [s["evse"] for s in schedules["schedules"]] == [0, 1, 2]

    answer = peer.ask("ocpp_generic", "change_availability", {"request": {"operational_status": "Inoperative",
                                                                          "evse": {"id": 2}}})
    assert answer.retval == {"status": "Accepted"}
    command = peer.wait_command("enable_disable", "evse_manager_2")
    assert command.args["cmd_source"]["enable_state"] == "Disable"
    wait_status(csms, 2, "Unavailable")

    peer.ask("ocpp_generic", "security_event", {"event": {"type": "TamperDetectionActivated", "info": "lid"}})
    assert csms.wait_for("SecurityEventNotification").payload["techInfo"] == "lid"

    sent = peer.ask("data_transfer", "data_transfer", {"request": {"vendor_id": "acme", "data": "hello"}})
    assert sent.retval == {"status": "Accepted"}
    assert csms.wait_for("DataTransfer").payload == {"vendorId": "acme", "data": "hello"}

    peer.session_event(1, E.SESSION_STARTED, reason="EVConnected")
    peer.session_event(1, E.TRANSACTION_STARTED, id_tag="TAG1", meter_wh=0.0)
    events = lambda: [v["transaction_event"] for v in peer.var_values("ocpp_generic", "ocpp_transaction_event")]  # noqa: E731
    peer.wait(lambda: events() == ["Started", "Updated"], "Started and Updated")
    updated = peer.var_values("ocpp_generic", "ocpp_transaction_event")[1]
    assert updated["evse"] == {"id": 1, "connector_id": 1} and updated["session_id"] == "s1"
    assert updated["transaction_id"].isdigit()

    assert peer.ask("main", "stop", {}).retval is True
    assert peer.wait_var("ocpp_generic", "is_connected", lambda v: v is False) is False
    assert peer.ask("ocpp_generic", "stop", {}).retval is False  # already stopped
    assert peer.ask("ocpp_generic", "restart", {}).retval is True
    wait_until(lambda: csms.count("BootNotification") == 2, what="a new registration")


def test_malformed_messages_are_dropped_and_the_bus_serves_on(csms, clock, make_charge_point, peer, mosquitto,  # noqa: F811
                                                              caplog):
    caplog.set_level(logging.DEBUG, logger="ocpp_cp")
    app = make_charge_point(csms.url, options=mqtt_options(mosquitto))
    booted_on_bus(csms, clock, app)
    our_cmd = everest.cmd_topic("ocpp", "main", "get_configuration_key")
    session_event = everest.var_topic("sim", "evse_manager_1", "session_event")
    for topic, payload in [
        (our_cmd, b"not json"),
        (our_cmd, b'{"msg_type": "Cmd", "data": {"id": 5}}'),
        (our_cmd, everest.encode(everest.Var(value=1))),  # a var on a command topic
        (session_event, b"\xff\xfe"),
        (session_event, everest.encode(everest.Var(value={"uuid": "s1", "event": "TransactionStarted"}))),
        (session_event, everest.encode(everest.Var(value=[1, 2]))),
        (everest.var_topic("sim", "evse_manager_1", "powermeter"), everest.encode(everest.Var(value={"x": 1}))),
        (everest.error_topic("sim", "evse_manager_1", "evse_manager/Inoperative"), b'{"msg_type":"RaiseError","data":{}}'),
        (everest.module_ready_topic("sim"), b'{"msg_type": "ModuleReady", "data": "yes"}'),
        (everest.result_topic("sim", "system", "reset", "ocpp"), b'{"msg_type": "CmdResult", "data": {}}'),
        ("everest/modules/sim/impl/evse_manager_1/var/session_event/extra", b"{}"),
    ]:
        peer.publish_raw(topic, payload)
    bad_args = peer.ask("main", "get_configuration_key", {"keys": 5})
    assert bad_args.error is not None and bad_args.error.event == "MessageParsingFailed"
    unknown = peer.ask("main", "dance", {})
    assert unknown.error.event == "MessageParsingFailed" and "dance" in unknown.error.msg
    assert peer.ask("session_cost", "session_cost", {}).error.event == "MessageParsingFailed"
    bad_token = peer.ask("auth_validator", "validate_token", {"provided_token": {"id_token": {}}})
    assert bad_token.error.event == "MessageParsingFailed"
    assert "dropped a malformed MQTT message" in caplog.text
    assert "dropped a malformed session_event" in caplog.text and "dropped a malformed powermeter" in caplog.text
    assert "dropped a malformed error" in caplog.text

    good = peer.ask("main", "get_configuration_key", {"keys": ["HeartbeatInterval"]})
    assert good.retval["configuration_keys"][0]["value"] == "300"
    peer.session_event(1, E.SESSION_STARTED, reason="EVConnected")
    wait_status(csms, 1, "Preparing")
    assert app.ref("bus") is not None and not app.gave_up.is_set()


def test_a_module_that_does_not_answer_times_out(csms, clock, make_charge_point, peer, mosquitto, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    app = make_charge_point(csms.url, options=mqtt_options(mosquitto))
    booted_on_bus(csms, clock, app)
    peer.silent.add("enable_disable")
    answer = csms.call(CP_ID, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    assert answer == {"status": "Accepted"}
    peer.wait_command("enable_disable", "evse_manager_1")
    wait_status(csms, 1, "Unavailable")
    assert calls_in_flight(app) == 1
    clock.advance(9)
    assert "enable_disable within" not in caplog.text
    clock.advance(1)
    wait_until(lambda: "Timeout: no result from sim->evse_manager_1.enable_disable within 10 s" in caplog.text,
               what="the timeout's log line")
    assert calls_in_flight(app) == 0
    assert [r.levelname for r in caplog.records if "no result from" in r.getMessage()] == ["ERROR"]
    late = everest.CmdResult(id=peer.seen("enable_disable")[0].id, origin="sim", retval=True)
    peer.publish(everest.result_topic("sim", "evse_manager_1", "enable_disable", "ocpp"), late)
    wait_until(lambda: "came after its call gave up" in caplog.text, what="the late result dropped")


def test_a_requirement_that_is_not_connected(csms, clock, make_charge_point, peer, mosquitto, caplog):  # noqa: F811
    app = make_charge_point(csms.url, keys=RESERVATION,
                            options=mqtt_options(mosquitto, Connections=json.dumps({"reservation": []})))
    booted_on_bus(csms, clock, app)
    expiry = (clock.now() + timedelta(hours=1)).isoformat()
    answer = csms.call(CP_ID, "ReserveNow", {"connectorId": 1, "expiryDate": expiry, "idTag": "TAG1",
                                             "reservationId": 7})
    assert answer == {"status": "Accepted"}
    wait_until(lambda: "no connection for requirement reservation; reserve_now not sent" in caplog.text,
               what="the log line")
    assert not peer.seen("reserve_now")


def test_a_reservation_on_the_bus(csms, clock, make_charge_point, peer, mosquitto):  # noqa: F811
    app = make_charge_point(csms.url, keys=RESERVATION, options=mqtt_options(mosquitto))
    booted_on_bus(csms, clock, app)
    expiry = (clock.now() + timedelta(hours=1)).replace(microsecond=0)
    answer = csms.call(CP_ID, "ReserveNow", {"connectorId": 1, "expiryDate": expiry.isoformat(), "idTag": "TAG1",
                                             "reservationId": 7})
    assert answer == {"status": "Accepted"}
    request = peer.wait_command("reserve_now", "reservation").args["request"]
    assert (request["reservation_id"], request["id_token"], request["evse_id"]) == (7, "TAG1", 1)
    peer.session_event(1, E.RESERVATION_START)  # EVerest's event names no reservation: ours fills it in
    wait_status(csms, 1, "Reserved")
    peer.session_event(1, E.SESSION_STARTED, reason="Authorized")
    peer.session_event(1, E.TRANSACTION_STARTED, id_tag="TAG1", meter_wh=0.0, reservation_id=7)
    assert csms.wait_for("StartTransaction").payload["reservationId"] == 7
    assert csms.call(CP_ID, "CancelReservation", {"reservationId": 7}) == {"status": "Rejected"}  # used up
