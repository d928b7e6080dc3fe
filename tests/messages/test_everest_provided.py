"""Our provided interfaces' EVerest shapes: command arguments in, results and vars out, and
nothing malformed gets past as anything but BusFormatError."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from messages import everest_provided as p
from messages.charging_profiles import CompositeSchedule, SchedulePeriod
from messages.configuration import ConfigurationKeys, EventData, KeyValue, MonitorConfigurationKeys
from messages.csms import Registration, RegistrationChanged
from messages.data_transfer import (
    ChargingPrice, DataTransferAnswered, DataTransferStatus, DefaultPrice, IdlePrice, NextPeriod, PriceText,
    SessionCost, SessionCostStatus, TariffMessage,
)
from messages.everest import BusFormatError
from messages.provided import ChangeAvailabilityCommand, OcppTransactionEvent, VariableResult, VariableResults
from messages.smart_charging import ChargingSchedules

T = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)


def cv(name: str) -> dict:
    return {"component": {"name": ""}, "variable": {"name": name}}


def test_configuration_keys() -> None:
    assert p.get_configuration_keys_from_everest({"keys": ["A", "b"]}).keys == ("A", "b")
    assert p.get_configuration_keys_from_everest({}).keys == ()
    found = ConfigurationKeys(known=(KeyValue(key="A", read_only=True, value="1"), KeyValue(key="K", read_only=False)),
                              unknown=("b",))
    assert p.configuration_keys_to_everest(found) == {
        "configuration_keys": [{"key": "A", "read_only": True, "value": "1"}, {"key": "K", "read_only": False}],
        "unknown_keys": ["b"]}
    change = p.set_configuration_key_from_everest({"key": "A", "value": "2"})
    assert (change.key, change.value) == ("A", "2")
    assert p.monitor_keys_from_everest({"keys": ["A"]}) == MonitorConfigurationKeys(keys=("A",))


def test_variables() -> None:
    requests = [{"component_variable": cv("A")}, {"component_variable": cv("B"), "attribute_type": "Actual"}]
    query, echoed = p.get_variables_from_everest({"requests": requests})
    assert query.names == ("A", "B")
    results = VariableResults(results=(VariableResult(name="A", status="Accepted", value="1"),
                                       VariableResult(name="B", status="UnknownVariable")))
    assert p.variable_results_to_everest(echoed, results) == [
        {"status": "Accepted", "component_variable": cv("A"), "value": "1"},
        {"status": "UnknownVariable", "component_variable": cv("B"), "attribute_type": "Actual"}]
    change, _ = p.set_variables_from_everest({"requests": [{"component_variable": cv("A"), "value": "5"}],
                                              "source": "x"})
    assert change.values == (("A", "5"),)
    assert p.monitor_variables_from_everest({"component_variables": [cv("A")]}) == MonitorConfigurationKeys(
        keys=("A",), as_event_data=True)


def test_change_availability_and_security_events() -> None:
    assert p.change_availability_from_everest({"request": {"operational_status": "Inoperative", "evse": {"id": 2}}}) \
        == ChangeAvailabilityCommand(operative=False, evse_id=2)
    assert p.change_availability_from_everest({"request": {"operational_status": "Operative"}}) == \
        ChangeAvailabilityCommand(operative=True)
    event = p.security_event_from_everest({"event": {"type": "X" * 60, "critical": True,
                                                     "timestamp": "2026-11-24T12:00:00Z"}}, generic=True)
    assert (len(event.type), event.info, event.critical, event.timestamp) == (50, "", True, T)
    assert p.security_event_from_everest({"type": "Y", "info": "z"}, generic=False).info == "z"


@pytest.mark.parametrize(("decode", "args"), [
    (p.get_configuration_keys_from_everest, {"keys": "A"}),
    (p.get_configuration_keys_from_everest, {"keys": [1]}),
    (p.set_configuration_key_from_everest, {"key": "A"}),
    (p.get_variables_from_everest, {"requests": [{"component_variable": {"variable": {}}}]}),
    (p.get_variables_from_everest, []),
    (p.set_variables_from_everest, {"requests": [{"component_variable": cv("A")}]}),
    (p.change_availability_from_everest, {"request": {"operational_status": "Broken"}}),
    (p.change_availability_from_everest, {"request": {"operational_status": "Operative", "evse": {"id": "1"}}}),
    (lambda a: p.security_event_from_everest(a, generic=True), {"event": {"type": "T", "timestamp": "soon"}}),
    (lambda a: p.security_event_from_everest(a, generic=True), {"event": {"type": "T", "critical": "yes"}}),
    (lambda a: p.send_data_transfer_from_everest(a, reply_to="x", correlation="c"), {"request": {}}),
])
def test_malformed_arguments(decode: object, args: object) -> None:
    with pytest.raises(BusFormatError):
        decode(args)  # type: ignore[operator]


def test_ocpp_generic_vars() -> None:
    boot = RegistrationChanged(status=Registration.ACCEPTED, interval=300, csms_time=T)
    assert p.boot_notification_to_everest(boot, T) == {"status": "Accepted", "current_time": "2026-11-24T12:00:00Z",
                                                        "interval": 300}
    started = OcppTransactionEvent(event="Updated", evse_id=3, session_id="s", timestamp=T, transaction_id=42)
    assert p.transaction_event_to_everest(started) == {"transaction_event": "Updated", "evse": {"id": 3, "connector_id": 1},
                                                       "session_id": "s", "transaction_id": "42"}
    schedule = CompositeSchedule(connector_id=0, start=T, duration=600, unit="A", min_charging_rate=6.0,
                                 periods=(SchedulePeriod(start_period=0, limit=16.0, number_phases=3),))
    assert p.charging_schedules_to_everest(ChargingSchedules(schedules=(schedule,))) == {"schedules": [{
        "evse": 0, "charging_rate_unit": "A", "charging_schedule_period": [{"start_period": 0, "limit": 16.0,
                                                                           "number_phases": 3}],
        "duration": 600, "start_schedule": "2026-11-24T12:00:00Z", "min_charging_rate": 6.0}]}
    data = p.event_data_to_everest(EventData(variable="K", actual_value="1", timestamp="2026-11-24T12:00:00Z"))
    assert data["component_variable"] == cv("K") and data["trigger"] == "Alerting" and data["event_id"] == 0


def test_data_transfer() -> None:
    send = p.send_data_transfer_from_everest({"request": {"vendor_id": "v", "message_id": "m"}}, reply_to="provided",
                                             correlation="id1")
    assert (send.vendor_id, send.message_id, send.data, send.reply_to, send.correlation) == (
        "v", "m", None, "provided", "id1")
    assert p.data_transfer_answered_to_everest(DataTransferAnswered(status=DataTransferStatus.OFFLINE)) == {
        "status": "Offline"}
    assert p.data_transfer_answered_to_everest(DataTransferAnswered(status=DataTransferStatus.ACCEPTED, data="d")) == {
        "status": "Accepted", "data": "d"}


def test_session_cost() -> None:
    cost = SessionCost(status=SessionCostStatus.RUNNING, transaction_id=1, evse_id=1, session_id="s", cost=1234,
                       decimals=2, timestamp="2026-11-24T12:00:00Z", meter_value_wh=5000, state="Charging",
                       charging_price=(ChargingPrice(category="Energy", price=30),),
                       idle_price=IdlePrice(grace_minutes=10, hour_price=100),
                       next_period=NextPeriod(at_time="2026-11-24T13:00:00Z",
                                              charging_price=(ChargingPrice(category="Time", price=5),)),
                       price_text="12.34", price_text_extra=(PriceText(content="12,34", language="de"),),
                       qr_code_text="https://x")
    price = lambda v: {"currency": {"decimals": 2}, "value": {"value": v}}  # noqa: E731
    assert p.session_cost_to_everest(cost) == {
        "session_id": "s", "currency": {"decimals": 2}, "status": "Running",
        "cost_chunks": [{"cost": {"value": 1234}, "timestamp_to": "2026-11-24T12:00:00Z", "metervalue_to": 5000}],
        "charging_price": [{"category": "Energy", "price": price(30)}],
        "idle_price": {"grace_minutes": 10, "hour_price": price(100)},
        "next_period": {"timestamp_from": "2026-11-24T13:00:00Z", "charging_price": [{"category": "Time",
                                                                                      "price": price(5)}]},
        "message": [{"content": "12.34", "format": "UTF8"}, {"content": "12,34", "format": "UTF8", "language": "de"}],
        "qr_code": "https://x"}
    final = SessionCost(status=SessionCostStatus.FINISHED, transaction_id=1, evse_id=1, cost=1, decimals=3)
    assert p.session_cost_to_everest(final)["status"] == "Finished"
    idle = SessionCost(status=SessionCostStatus.RUNNING, transaction_id=1, evse_id=1, cost=1, decimals=3, state="Idle")
    assert p.session_cost_to_everest(idle)["status"] == "Idle"


def test_tariffs_and_the_default_price() -> None:
    bound = TariffMessage(id_tag="T", price_text="p", evse_id=1, session_id="s", transaction_id=9)
    assert p.tariff_message_to_everest(bound) == {"messages": [{"content": "p", "format": "UTF8"}],
                                                  "identifier_id": "s", "identifier_type": "SessionId",
                                                  "ocpp_transaction_id": "9"}
    assert p.tariff_message_to_everest(TariffMessage(id_tag="T", price_text="p"))["identifier_type"] == "IdToken"
    assert p.default_price_to_everest(DefaultPrice(online=True, price_text="0.30/kWh")) == {
        "messages": [{"content": "0.30/kWh", "format": "UTF8"}]}
