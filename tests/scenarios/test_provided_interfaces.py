"""The provided interfaces main and ocpp_generic as messages on the bus, and the external
websocket control (EnableExternalWebsocketControl)."""

from __future__ import annotations

import pytest

from conftest import CP_ID, settle, wait_idle, wait_until
from messages.configuration import EventData, MonitorConfigurationKeys, MonitoredKeyChanged
from messages.csms import ConnectionChanged, GetLinkStats, RegistrationChanged, WebsocketControl
from messages.provided import (
    ChangeAvailabilityCommand,
    GetVariables,
    OcppTransactionEvent,
    RestartOcpp,
    SecurityEvent,
    SetVariables,
    StopOcpp,
)
from scenarios.steps import booted, of_type, record, start_charging, wait_status
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(60)


def connected(app):
    return app.directory.ask("csms", GetLinkStats()).connected


def test_stop_and_restart_ocpp_keep_the_transaction(csms, clock, make_charge_point):
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    sim = SimController(app.directory)
    start_charging(csms, sim)
    settle(app)
    assert app.directory.ask("csms", StopOcpp()).done
    wait_until(lambda: not connected(app), what="the link closed")
    sim.swipe(1, "TAG1")  # the driver stops while OCPP is stopped
    settle(app)
    assert csms.count("StopTransaction") == 0
    assert not app.directory.ask("csms", StopOcpp()).done  # already stopped
    assert app.directory.ask("csms", RestartOcpp()).done
    wait_until(lambda: csms.count("BootNotification") == 2, what="a new registration")
    stop = csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "Local"


def test_external_websocket_control(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, options={"EnableExternalWebsocketControl": True})
    booted(csms, clock, app)
    app.directory.tell("csms", WebsocketControl(connect=False))
    wait_until(lambda: not connected(app), what="disconnected")
    clock.advance(600)  # no reconnect while held down
    settle(app)
    assert len(csms.connections) == 1
    app.directory.tell("csms", WebsocketControl(connect=True))
    wait_until(lambda: connected(app) and len(csms.connections) == 2, what="connected again")
    assert csms.count("BootNotification") == 1  # still registered: no second boot


def test_websocket_control_is_ignored_when_the_option_is_off(csms, clock, make_charge_point, caplog):
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    app.directory.tell("csms", WebsocketControl(connect=False))
    settle(app)
    assert connected(app)
    assert "EnableExternalWebsocketControl is off" in caplog.text


def test_security_events(csms, clock, make_charge_point):
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    app.directory.tell("station", SecurityEvent(type="TamperDetectionActivated", info="lid opened"))
    event = csms.wait_for("SecurityEventNotification")
    assert event.payload["type"] == "TamperDetectionActivated" and event.payload["techInfo"] == "lid opened"
    app.directory.tell("station", SecurityEvent(type="SomethingHarmless"))
    app.directory.tell("station", SecurityEvent(type="Custom", critical=True))
    wait_until(lambda: csms.count("SecurityEventNotification") == 2)
    assert [r.payload["type"] for r in csms.received if r.action == "SecurityEventNotification"] == [
        "TamperDetectionActivated", "Custom"]


def test_change_availability_and_variables_from_the_charger_side(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=2)
    booted(csms, clock, app, evses=2)
    assert app.directory.ask("station", ChangeAvailabilityCommand(operative=False, evse_id=2)).status == "Accepted"
    wait_status(csms, 2, "Unavailable")
    assert app.directory.ask("station", ChangeAvailabilityCommand(operative=True, evse_id=3)).status == "Rejected"
    got = app.directory.ask("configuration", GetVariables(names=("HeartbeatInterval", "Nope", "AuthorizationKey")))
    assert [(r.name, r.status) for r in got.results] == [
        ("HeartbeatInterval", "Accepted"), ("Nope", "UnknownVariable"), ("AuthorizationKey", "UnknownVariable")]
    assert got.results[0].value == "300"
    done = app.directory.ask("configuration", SetVariables(values=(
        ("HeartbeatInterval", "120"), ("Nope", "1"), ("NumberOfConnectors", "9"))))
    assert [r.status for r in done.results] == ["Accepted", "UnknownVariable", "Rejected"]


def test_vars_published_on_the_bus(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, start=False)
    seen = record(app, "test/bus", OcppTransactionEvent, MonitoredKeyChanged, EventData, ConnectionChanged,
                  RegistrationChanged)
    app.start()
    booted(csms, clock, app)
    assert of_type(seen, ConnectionChanged)[0].connected
    assert of_type(seen, RegistrationChanged)[0].csms_time is not None
    app.directory.tell("configuration", MonitorConfigurationKeys(keys=("MeterValueSampleInterval",),
                                                                 as_event_data=True))
    assert csms.call(CP_ID, "ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "60"}) == {
        "status": "Accepted"}
    wait_until(lambda: of_type(seen, EventData), what="event_data")
    assert of_type(seen, MonitoredKeyChanged)[0].key_value.value == "60"
    assert of_type(seen, EventData)[0].actual_value == "60"
    sim = SimController(app.directory)
    start_charging(csms, sim)
    sim.swipe(1, "TAG1")
    csms.wait_for("StopTransaction")
    settle(app)
    events = [(e.event, e.transaction_id is not None) for e in of_type(seen, OcppTransactionEvent)]
    assert events == [("Started", False), ("Updated", True), ("Ended", True)]
    wait_idle(app)
