"""The charge point on the MQTT bus (docs/mqtt-bus.md): charging sessions driven only by the
session events of a scripted EVSE manager on a real mosquitto, commands from the CSMS that
become commands on the bus, and a broker that goes away in the middle of a transaction."""

from __future__ import annotations

import json
import logging

import pytest

from bus.fake_peer import booted_on_bus, calls_in_flight, idle, mqtt_options, peer  # noqa: F401
from conftest import CP_ID, settle, wait_until
from messages.bus import GetBusStats
from messages.evse_manager import SessionEventType as E
from messages.evse_manager import SessionState
from messages.station import GetEvseState
from peers.mosquitto_fixture import mosquitto  # noqa: F401
from scenarios.steps import wait_status
from supervisor.replay import replay_trace

pytestmark = pytest.mark.timeout(90)


def charging(app, peer, csms, *, tag="TAG1", meter=1000.0, evse=1):
    """Plug in, validate the token through our auth_validator, start, charge: all on the bus."""
    peer.session_event(evse, E.SESSION_STARTED, reason="EVConnected")
    wait_status(csms, evse, "Preparing")
    result = peer.ask("auth_validator", "validate_token", {"provided_token": {
        "id_token": {"value": tag, "type": "ISO14443"}, "authorization_type": "RFID", "connectors": [evse]}})
    assert result.error is None and result.retval["authorization_status"] == "Accepted"
    peer.session_event(evse, E.TRANSACTION_STARTED, id_tag=tag, meter_wh=meter)
    peer.session_event(evse, E.CHARGING_STARTED)
    start = csms.wait_for("StartTransaction", lambda p: p["connectorId"] == evse)
    wait_status(csms, evse, "Charging")
    return start


def test_a_session_from_bus_events_reaches_the_csms(csms, clock, make_charge_point, peer, mosquitto):  # noqa: F811
    app = make_charge_point(csms.url, keys={"Core": {"MeterValueSampleInterval": 60,
                                                     "MeterValuesSampledData": "Energy.Active.Import.Register"}},
                            options=mqtt_options(mosquitto))
    booted_on_bus(csms, clock, app)
    peer.wait_command("get_session_state", "evse_manager_1")  # the resync at connect
    start = charging(app, peer, csms)
    assert start.payload["idTag"] == "TAG1" and start.payload["meterStart"] == 1000
    assert csms.count("Authorize") == 1

    peer.powermeter(1, 1500.0)
    wait_until(lambda: app.directory.ask("evse/1", GetEvseState()).energy_wh == 500.0, what="the reading")
    wait_until(lambda: calls_in_flight(app) == 0, what="every bus call answered")  # none times out below
    clock.advance(60)
    meter = csms.wait_for("MeterValues", lambda p: "transactionId" in p)
    assert meter.payload["meterValue"][0]["sampledValue"][0]["value"] == "1500"

    peer.session_event(1, E.TRANSACTION_FINISHED, reason="Local", meter_wh=2000.0, id_tag="TAG1")
    stop = csms.wait_for("StopTransaction")
    assert stop.payload["meterStop"] == 2000 and stop.payload["reason"] == "Local"
    wait_status(csms, 1, "Finishing")
    peer.session_event(1, E.SESSION_FINISHED)
    wait_status(csms, 1, "Available")


def test_remote_start_and_stop_become_bus_traffic(csms, clock, make_charge_point, peer, mosquitto):  # noqa: F811
    app = make_charge_point(csms.url, options=mqtt_options(mosquitto))
    booted_on_bus(csms, clock, app)
    assert csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "REMOTE1", "connectorId": 1}) == {"status": "Accepted"}
    token = peer.wait_var("auth_provider", "provided_token")
    assert token["id_token"]["value"] == "REMOTE1" and token["connectors"] == [1] and token["prevalidated"]
    peer.on_command["stop_transaction"] = lambda seen: (
        peer.session_event(1, E.TRANSACTION_FINISHED, reason=seen.args["request"]["reason"], meter_wh=1200.0))
    peer.session_event(1, E.SESSION_STARTED, reason="Authorized")
    peer.session_event(1, E.TRANSACTION_STARTED, id_tag="REMOTE1", meter_wh=1000.0)
    started = csms.wait_for("StartTransaction")
    wait_until(lambda: app.directory.ask("evse/1", GetEvseState()).transaction_id is not None, what="the id")
    tid = app.directory.ask("evse/1", GetEvseState()).transaction_id
    assert started.payload["idTag"] == "REMOTE1"

    assert csms.call(CP_ID, "RemoteStopTransaction", {"transactionId": tid}) == {"status": "Accepted"}
    command = peer.wait_command("stop_transaction", "evse_manager_1")
    assert command.args == {"request": {"reason": "Remote"}} and command.origin == "ocpp"
    stop = csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "Remote" and stop.payload["transactionId"] == tid


def test_the_broker_goes_away_during_a_transaction(csms, clock, make_charge_point, peer, mosquitto):  # noqa: F811
    app = make_charge_point(csms.url, options=mqtt_options(mosquitto))
    booted_on_bus(csms, clock, app)
    peer.wait_command("get_session_state", "evse_manager_1")
    peer.session_event(1, E.SESSION_STARTED, reason="EVConnected")
    wait_status(csms, 1, "Preparing")

    mosquitto.stop()  # SIGTERM: it saves the sessions
    peer.wait(lambda: peer.connections[-1:] == [False], "the peer to notice")
    peer.session_event(1, E.TRANSACTION_STARTED, id_tag="TAG1", meter_wh=100.0)  # queued in the peer's paho
    peer.session_event(1, E.CHARGING_STARTED)
    peer.session_states[1] = SessionState(evse_id=1, plugged=True, session_id="s1", transaction_active=True,
                                          charging=True)
    assert csms.count("StartTransaction") == 0
    mosquitto.start()
    start = csms.wait_for("StartTransaction", timeout=20)
    assert start.payload["meterStart"] == 100
    wait_status(csms, 1, "Charging", timeout=10)
    peer.wait_command("get_session_state", "evse_manager_1", count=2)  # re-synchronised after the reconnect

    mosquitto.stop()
    peer.wait(lambda: peer.connections[-1:] == [False], "the peer to notice")
    peer.session_event(1, E.TRANSACTION_FINISHED, reason="EVDisconnected", meter_wh=900.0)
    peer.session_event(1, E.SESSION_FINISHED)
    peer.session_states[1] = idle()
    mosquitto.start()
    stop = csms.wait_for("StopTransaction", timeout=20)
    assert stop.payload["meterStop"] == 900 and stop.payload["reason"] == "EVDisconnected"
    wait_status(csms, 1, "Available", timeout=10)
    peer.wait_command("get_session_state", "evse_manager_1", count=3)
    assert csms.count("StartTransaction") == 1 and csms.count("StopTransaction") == 1


def test_a_peer_that_restarted_is_re_read(csms, clock, make_charge_point, peer, mosquitto, caplog):  # noqa: F811
    """The EVSE manager died with its TransactionFinished unsent: its ModuleReady brings a
    get_session_state, and the answer ends the transaction (as a restarted Evse would)."""
    app = make_charge_point(csms.url, options=mqtt_options(mosquitto))
    booted_on_bus(csms, clock, app)
    peer.session_states[1] = SessionState(evse_id=1, plugged=True, session_id="s1", transaction_active=True,
                                          charging=True)
    charging(app, peer, csms)
    asked = len(peer.seen("get_session_state"))
    peer.session_states[1] = idle()
    caplog.set_level(logging.WARNING)
    peer.start()  # connects again (same session) and sends ModuleReady, as a restarted simulator does
    peer.wait_command("get_session_state", "evse_manager_1", count=asked + 1)
    stop = csms.wait_for("StopTransaction", timeout=10)
    assert stop.payload["reason"] == "Other"
    wait_status(csms, 1, "Available")
    assert "ended while the EVSE manager was out of reach" in caplog.text


def test_a_required_data_transfer_on_the_bus(csms, clock, make_charge_point, peer, mosquitto):  # noqa: F811
    connections = {"data_transfer": [{"module_id": "sim", "implementation_id": "vendor"}]}
    app = make_charge_point(csms.url, options=mqtt_options(mosquitto, Connections=json.dumps(connections)))
    booted_on_bus(csms, clock, app)
    peer.answers["data_transfer"] = {"status": "Accepted", "data": "pong"}
    answer = csms.call(CP_ID, "DataTransfer", {"vendorId": "acme", "messageId": "ping", "data": "x"})
    assert answer == {"status": "Accepted", "data": "pong"}
    command = peer.wait_command("data_transfer", "vendor")
    assert command.args == {"request": {"vendor_id": "acme", "message_id": "ping", "data": "x"}}
    peer.answers["data_transfer"] = {"status": "Bogus"}
    assert csms.call(CP_ID, "DataTransfer", {"vendorId": "acme"}) == {"status": "Rejected"}



def test_a_run_on_the_bus_replays_without_it(csms, clock, make_charge_point, peer, mosquitto, tmp_path):  # noqa: F811
    """What the EVSE managers told over the bus is recorded like the simulator's events: the
    trace replays on the embedded system, no broker needed."""
    trace = tmp_path / "trace"
    app = make_charge_point(csms.url, keys={"Core": {"MeterValueSampleInterval": 30}},
                            options=mqtt_options(mosquitto, TracePath=trace))
    booted_on_bus(csms, clock, app)
    charging(app, peer, csms)
    peer.powermeter(1, 1400.0)
    wait_until(lambda: app.directory.ask("evse/1", GetEvseState()).energy_wh == 400.0, what="the reading")
    wait_until(lambda: calls_in_flight(app) == 0, what="every bus call answered")
    clock.advance(30)
    csms.wait_for("MeterValues")
    peer.session_event(1, E.TRANSACTION_FINISHED, reason="EVDisconnected", meter_wh=1500.0)
    peer.session_event(1, E.SESSION_FINISHED)
    csms.wait_for("StopTransaction")
    wait_status(csms, 1, "Available")
    app.stop()
    result = replay_trace(trace)
    assert result.matched, "\n".join(result.report)
    assert result.outputs >= 8


def test_a_restart_while_the_broker_is_away_keeps_the_transaction(csms, clock, make_charge_point, peer,  # noqa: F811
                                                                   mosquitto):  # noqa: F811
    """The charge point restarts with no broker: its EVSE manager's state is unknown, so the
    open transaction goes on (no PowerLoss stop); the bus comes back and the session ends normally."""
    app = make_charge_point(csms.url, options=mqtt_options(mosquitto))
    booted_on_bus(csms, clock, app)
    peer.session_states[1] = SessionState(evse_id=1, plugged=True, session_id="s1", transaction_active=True,
                                          charging=True)
    charging(app, peer, csms)
    wait_until(lambda: app.directory.ask("evse/1", GetEvseState()).transaction_id is not None, what="the id")
    tid = app.directory.ask("evse/1", GetEvseState()).transaction_id
    app.stop()
    mosquitto.stop()
    reborn = make_charge_point(csms.url, options=mqtt_options(mosquitto))
    csms.wait_for("BootNotification", after=len(csms.received))
    settle(reborn)
    state = reborn.directory.ask("evse/1", GetEvseState())
    assert state.transaction_active and state.transaction_id == tid
    assert csms.count("StopTransaction") == 0

    mosquitto.start()
    wait_until(lambda: reborn.directory.ask("bus", GetBusStats()).connected, timeout=20, what="the bus back")
    peer.wait_command("get_session_state", "evse_manager_1", count=2)  # the new incarnation's resync
    wait_until(lambda: calls_in_flight(reborn) == 0, what="the resync answered")
    assert reborn.directory.ask("evse/1", GetEvseState()).transaction_active  # the answer agrees: it goes on
    peer.session_event(1, E.TRANSACTION_FINISHED, reason="Local", meter_wh=3000.0, id_tag="TAG1")
    stop = csms.wait_for("StopTransaction", timeout=10)
    assert stop.payload["transactionId"] == tid and stop.payload["reason"] == "Local"
