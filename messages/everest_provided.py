"""Our provided interfaces on the EVerest bus, as data: command arguments → our messages, and our
answers and events → EVerest's result and var shapes (``docs/mqtt-bus.md``, and the OCPP
module's manifest: ``../shared/reference/everest-ocpp-module.md`` §6).

The companion of :mod:`messages.everest` (which carries the required interfaces and the
envelopes); pure like it, and failing only with :class:`messages.everest.BusFormatError`.

| implementation (interface) | command → our message | var ← our event |
|---|---|---|
| ``main`` (ocpp_1_6_charge_point) | get/set_configuration_key, monitor_configuration_keys, security_event, stop, restart | ``configuration_key`` ← MonitoredKeyChanged |
| ``ocpp_generic`` (ocpp) | get/set_variables, change_availability, monitor_variables, security_event, stop, restart | ``is_connected``, ``boot_notification_response``, ``ocpp_transaction_event``, ``charging_schedules``, ``event_data`` |
| ``auth_validator`` (auth_token_validator) | validate_token (codec in :mod:`messages.everest`) | |
| ``auth_provider`` (auth_token_provider) | | ``provided_token`` (codec in :mod:`messages.everest`) |
| ``data_transfer`` (ocpp_data_transfer) | data_transfer → SendDataTransfer | |
| ``session_cost`` (session_cost) | | ``session_cost`` ← SessionCost, ``tariff_message`` ← TariffMessage and DefaultPrice |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from messages.charging_profiles import format_time
from messages.configuration import GetConfigurationKeys, MonitorConfigurationKeys, SetConfigurationKey
from messages.data_transfer import SendDataTransfer, SessionCostStatus
from messages.everest import BusFormatError, data_transfer_request_from_everest
from messages.provided import ChangeAvailabilityCommand, GetVariables, SecurityEvent, SetVariables

if TYPE_CHECKING:
    from datetime import datetime

    from messages.configuration import ConfigurationKeys, EventData, KeyValue
    from messages.csms import RegistrationChanged
    from messages.data_transfer import (
        ChargingPrice, DataTransferAnswered, DefaultPrice, IdlePrice, PriceText, SessionCost, TariffMessage,
    )
    from messages.payload import Json
    from messages.provided import AvailabilityChangeResult, OcppTransactionEvent, VariableResults
    from messages.smart_charging import ChargingSchedules

__all__ = [
    "availability_result_to_everest", "boot_notification_to_everest", "change_availability_from_everest",
    "charging_schedules_to_everest", "configuration_keys_to_everest", "data_transfer_answered_to_everest",
    "default_price_to_everest", "event_data_to_everest", "get_configuration_keys_from_everest",
    "get_variables_from_everest", "key_value_to_everest", "monitor_keys_from_everest",
    "monitor_variables_from_everest", "security_event_from_everest", "send_data_transfer_from_everest",
    "session_cost_to_everest", "set_configuration_key_from_everest", "set_variables_from_everest",
    "tariff_message_to_everest", "transaction_event_to_everest", "variable_results_to_everest",
]


# --- readers (every one raises BusFormatError, nothing else) ---------------------------------


def _obj(value: object, what: str) -> Mapping[str, Json]:
    if not isinstance(value, Mapping):
        raise BusFormatError(f"{what}: expected an object")
    return value


def _list(value: object, what: str) -> tuple[Json, ...]:
    if not isinstance(value, (list, tuple)):
        raise BusFormatError(f"{what}: expected a list")
    return tuple(value)


def _text(obj: Mapping[str, Json], key: str, what: str, default: str | None = None) -> str:
    if key not in obj and default is None:
        raise BusFormatError(f"{what}: {key} is missing")
    value = obj.get(key, default)
    if not isinstance(value, str):
        raise BusFormatError(f"{what}: {key} must be a string")
    return value


def _texts(value: object, what: str) -> tuple[str, ...]:
    items = _list(value, what)
    if not all(isinstance(item, str) for item in items):
        raise BusFormatError(f"{what}: expected strings")
    return items  # type: ignore[return-value]


# --- main (ocpp_1_6_charge_point) -------------------------------------------------------------


def get_configuration_keys_from_everest(args: Json) -> GetConfigurationKeys:
    """get_configuration_key ``{keys: [..]}`` (none: every key)."""
    return GetConfigurationKeys(keys=_texts(_obj(args, "get_configuration_key").get("keys", ()), "keys"))


def key_value_to_everest(entry: KeyValue) -> dict[str, object]:
    """types/ocpp KeyValue (also the ``configuration_key`` var)."""
    return {"key": entry.key, "read_only": entry.read_only, **({"value": entry.value} if entry.value is not None else {})}


def configuration_keys_to_everest(found: ConfigurationKeys) -> dict[str, object]:
    """GetConfigurationResponse."""
    return {"configuration_keys": [key_value_to_everest(k) for k in found.known], "unknown_keys": list(found.unknown)}


def set_configuration_key_from_everest(args: Json) -> SetConfigurationKey:
    args = _obj(args, "set_configuration_key")
    return SetConfigurationKey(key=_text(args, "key", "set_configuration_key"),
                               value=_text(args, "value", "set_configuration_key"))


def monitor_keys_from_everest(args: Json) -> MonitorConfigurationKeys:
    """monitor_configuration_keys ``{keys}``: published as ``configuration_key``."""
    return MonitorConfigurationKeys(keys=_texts(_obj(args, "monitor_configuration_keys").get("keys", ()), "keys"))


def security_event_from_everest(args: Json, *, generic: bool) -> SecurityEvent:
    """main.security_event ``{type, info}``, or ocpp_generic.security_event ``{event: {type,
    info?, critical?, timestamp?}}``; type and info cut to 50 and 255 as EVerest does."""
    from messages.charging_profiles import parse_time  # noqa: PLC0415 (only this command needs it)

    what = "security_event"
    event = _obj(_obj(args, what).get("event"), what) if generic else _obj(args, what)
    critical = event.get("critical")
    if critical is not None and not isinstance(critical, bool):
        raise BusFormatError(f"{what}: critical must be true or false")
    at = None
    if "timestamp" in event:
        try:
            at = parse_time(_text(event, "timestamp", what))
        except ValueError as e:
            raise BusFormatError(f"{what}: timestamp: {e}") from None
    return SecurityEvent(type=_text(event, "type", what)[:50], info=_text(event, "info", what, "")[:255],
                         critical=critical, timestamp=at)


# --- ocpp_generic (ocpp) ----------------------------------------------------------------------


def _variable_name(request: Json, what: str) -> str:
    """The configuration key of a ComponentVariable: OCPP 1.6 uses only ``variable.name``."""
    variable = _obj(_obj(_obj(request, what).get("component_variable"), what).get("variable"), what)
    return _text(variable, "name", what)


def get_variables_from_everest(args: Json) -> tuple[GetVariables, tuple[Json, ...]]:
    """get_variables ``{requests: [GetVariableRequest]}`` → our query, and the requests (each
    result echoes its request's component_variable)."""
    requests = _list(_obj(args, "get_variables").get("requests"), "requests")
    return GetVariables(names=tuple(_variable_name(r, "GetVariableRequest") for r in requests)), requests


def set_variables_from_everest(args: Json) -> tuple[SetVariables, tuple[Json, ...]]:
    """set_variables ``{requests: [SetVariableRequest], source}`` (``source`` is not used)."""
    requests = _list(_obj(args, "set_variables").get("requests"), "requests")
    values = tuple((_variable_name(r, "SetVariableRequest"), _text(_obj(r, "SetVariableRequest"), "value",
                                                                    "SetVariableRequest")) for r in requests)
    return SetVariables(values=values), requests


def variable_results_to_everest(requests: tuple[Json, ...], results: VariableResults) -> list[dict[str, object]]:
    """GetVariableResult / SetVariableResult list, in request order, echoing each request."""
    out = []
    for request, result in zip(requests, results.results):
        request = _obj(request, "request")
        entry: dict[str, object] = {"status": result.status, "component_variable": request["component_variable"]}
        if "attribute_type" in request:
            entry["attribute_type"] = request["attribute_type"]
        if result.value is not None:
            entry["value"] = result.value
        out.append(entry)
    return out


def monitor_variables_from_everest(args: Json) -> MonitorConfigurationKeys:
    """monitor_variables ``{component_variables}``: published as ``event_data``."""
    variables = _list(_obj(args, "monitor_variables").get("component_variables"), "component_variables")
    names = tuple(_variable_name({"component_variable": v}, "ComponentVariable") for v in variables)
    return MonitorConfigurationKeys(keys=names, as_event_data=True)


def change_availability_from_everest(args: Json) -> ChangeAvailabilityCommand:
    """change_availability ``{request: {operational_status, evse?: {id}}}``; no EVSE: the station."""
    what = "ChangeAvailabilityRequest"
    request = _obj(_obj(args, "change_availability").get("request"), what)
    status = _text(request, "operational_status", what)
    if status not in ("Operative", "Inoperative"):
        raise BusFormatError(f"{what}: operational_status {status!r}")
    evse_id = None
    if "evse" in request:
        value = _obj(request["evse"], what).get("id")
        if isinstance(value, bool) or not isinstance(value, int):
            raise BusFormatError(f"{what}: evse.id must be an integer")
        evse_id = value
    return ChangeAvailabilityCommand(operative=status == "Operative", evse_id=evse_id)


def availability_result_to_everest(result: AvailabilityChangeResult) -> dict[str, object]:
    return {"status": result.status}


def boot_notification_to_everest(event: RegistrationChanged, now: datetime) -> dict[str, object]:
    """The ``boot_notification_response`` var (the CSMS's time, else ours)."""
    return {"status": event.status.value, "current_time": format_time(event.csms_time or now),
            "interval": event.interval}


def transaction_event_to_everest(event: OcppTransactionEvent) -> dict[str, object]:
    """The ``ocpp_transaction_event`` var: the EVSE with connector 1, the id as a string."""
    out: dict[str, object] = {"transaction_event": event.event, "evse": {"id": event.evse_id, "connector_id": 1},
                              "session_id": event.session_id}
    if event.transaction_id is not None:
        out["transaction_id"] = str(event.transaction_id)
    return out


def charging_schedules_to_everest(event: ChargingSchedules) -> dict[str, object]:
    """The ``charging_schedules`` var: one ChargingSchedule per connector, 0 first."""
    schedules = []
    for schedule in event.schedules:
        periods = []
        for period in schedule.periods:
            entry: dict[str, object] = {"start_period": period.start_period, "limit": period.limit}
            if period.number_phases is not None:
                entry["number_phases"] = period.number_phases
            periods.append(entry)
        item: dict[str, object] = {"evse": schedule.connector_id, "charging_rate_unit": schedule.unit,
                                   "charging_schedule_period": periods, "duration": schedule.duration,
                                   "start_schedule": format_time(schedule.start)}
        if schedule.min_charging_rate is not None:
            item["min_charging_rate"] = schedule.min_charging_rate
        schedules.append(item)
    return {"schedules": schedules}


def event_data_to_everest(event: EventData) -> dict[str, object]:
    """The ``event_data`` var of a monitored variable (the legacy 1.6 form: an empty component)."""
    return {"component_variable": {"component": {"name": ""}, "variable": {"name": event.variable}},
            "event_id": event.event_id, "timestamp": event.timestamp, "trigger": event.trigger,
            "actual_value": event.actual_value, "event_notification_type": event.event_notification_type}


# --- data_transfer (ocpp_data_transfer) -------------------------------------------------------


def send_data_transfer_from_everest(args: Json, *, reply_to: str, correlation: str) -> SendDataTransfer:
    """data_transfer ``{request: DataTransferRequest}``: a DataTransfer.req to the CSMS."""
    request = data_transfer_request_from_everest(_obj(args, "data_transfer").get("request"))
    return SendDataTransfer(vendor_id=request.vendor_id, message_id=request.message_id, data=request.data,
                            reply_to=reply_to, correlation=correlation)


def data_transfer_answered_to_everest(answer: DataTransferAnswered) -> dict[str, object]:
    """DataTransferResponse; no answer from the CSMS is ``Offline`` (EVerest has that status too)."""
    return {"status": answer.status.value, **({"data": answer.data} if answer.data is not None else {})}


# --- session_cost -----------------------------------------------------------------------------


def _texts_out(texts: tuple[PriceText, ...], first: str = "") -> list[dict[str, object]]:
    """MessageContent list: ``first`` (the station's default language) and then the others."""
    out: list[dict[str, object]] = [{"content": first, "format": "UTF8"}] if first else []
    for text in texts:
        entry: dict[str, object] = {"content": text.content, "format": text.format or "UTF8"}
        if text.language:
            entry["language"] = text.language
        out.append(entry)
    return out


def _price(value: int, decimals: int) -> dict[str, object]:
    return {"currency": {"decimals": decimals}, "value": {"value": value}}


def _charging_price(prices: tuple[ChargingPrice, ...], decimals: int) -> list[dict[str, object]]:
    return [{"category": p.category, "price": _price(p.price, decimals)} for p in prices]


def _idle_price(idle: IdlePrice, decimals: int) -> dict[str, object]:
    out: dict[str, object] = {}
    if idle.grace_minutes is not None:
        out["grace_minutes"] = idle.grace_minutes
    if idle.hour_price is not None:
        out["hour_price"] = _price(idle.hour_price, decimals)
    return out


def session_cost_to_everest(cost: SessionCost) -> dict[str, object]:
    """types/session_cost SessionCost: one cost chunk per message; the currency code is left
    unset (the whitepaper carries none), its decimals are NumberOfDecimalsForCostValues."""
    status = "Finished" if cost.status is SessionCostStatus.FINISHED else "Idle" if cost.state == "Idle" else "Running"
    chunk: dict[str, object] = {"cost": {"value": cost.cost}}
    if cost.timestamp:
        chunk["timestamp_to"] = cost.timestamp
    if cost.meter_value_wh is not None:
        chunk["metervalue_to"] = cost.meter_value_wh
    out: dict[str, object] = {"session_id": cost.session_id, "currency": {"decimals": cost.decimals},
                              "status": status, "cost_chunks": [chunk]}
    if cost.charging_price:
        out["charging_price"] = _charging_price(cost.charging_price, cost.decimals)
    if cost.idle_price is not None:
        out["idle_price"] = _idle_price(cost.idle_price, cost.decimals)
    if cost.next_period is not None:
        period: dict[str, object] = {"timestamp_from": cost.next_period.at_time,
                                     "charging_price": _charging_price(cost.next_period.charging_price, cost.decimals)}
        if cost.next_period.idle_price is not None:
            period["idle_price"] = _idle_price(cost.next_period.idle_price, cost.decimals)
        out["next_period"] = period
    messages = _texts_out(cost.price_text_extra, cost.price_text)
    if messages:
        out["message"] = messages
    if cost.qr_code_text:
        out["qr_code"] = cost.qr_code_text
    return out


def tariff_message_to_everest(tariff: TariffMessage) -> dict[str, object]:
    """types/session_cost TariffMessage: bound to the session when a transaction of the token
    runs, else to the token."""
    out: dict[str, object] = {"messages": _texts_out(tariff.price_text_extra, tariff.price_text)}
    if tariff.session_id:
        out.update(identifier_id=tariff.session_id, identifier_type="SessionId")
    else:
        out.update(identifier_id=tariff.id_tag, identifier_type="IdToken")
    if tariff.transaction_id is not None:
        out["ocpp_transaction_id"] = str(tariff.transaction_id)
    return out


def default_price_to_everest(price: DefaultPrice) -> dict[str, object]:
    """The default price as a TariffMessage bound to nobody (EVerest's session_cost interface has
    no var of its own for it)."""
    return {"messages": _texts_out(price.price_text_extra, price.price_text)}
