"""Evse helpers: error mapping, configuration lists, clock alignment and meter values."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.evse_logic import (
    fit_transaction_data,
    ERROR_CODES,
    SUPPORTED_MEASURANDS,
    ErrorReport,
    iso,
    map_error,
    meter_value,
    next_clock_aligned,
    parse_csl,
    sampled_values,
    transaction_data,
)
from messages.evse_manager import MeterReading
from messages.validation import validate_request

UTC = timezone.utc
T0 = datetime(2026, 1, 1, 0, 14, 59, tzinfo=UTC)
CX = "https://chargex.inl.gov"

# ------------------------------------------------------------------ map_error

_MREC = [
    ("connector_lock/MREC1ConnectorLockFailure", "ConnectorLockFailure", "CX001"),
    ("evse_board_support/MREC2GroundFailure", "GroundFailure", "CX002"),
    ("ac_rcd/MREC2GroundFailure", "GroundFailure", "CX002"),
    ("evse_board_support/MREC3HighTemperature", "HighTemperature", "CX003"),
    ("evse_manager/MREC4OverCurrentFailure", "OverCurrentFailure", "CX004"),
    ("evse_board_support/MREC5OverVoltage", "OverVoltage", "CX005"),
    ("evse_board_support/MREC6UnderVoltage", "UnderVoltage", "CX006"),
    ("evse_board_support/MREC8EmergencyStop", "OtherError", "CX008"),
    ("evse_board_support/MREC10InvalidVehicleMode", "OtherError", "CX010"),
    ("isolation_monitor/MREC11CableCheckFault", "OtherError", "CX011"),
    ("evse_board_support/MREC14PilotFault", "OtherError", "CX014"),
    ("evse_board_support/MREC26CutCable", "OtherError", "CX026"),
]


@pytest.mark.parametrize(("error_type", "code", "cx"), _MREC)
def test_mrec_errors_get_their_chargex_code_and_do_not_fault(error_type: str, code: str, cx: str) -> None:
    report = map_error(error_type, "sub", "msg", "desc", "vendor", "mod->impl")
    assert report == ErrorReport(code, False, "", CX, cx)


def test_mrec_numbers_are_not_confused_by_prefixes() -> None:
    # MREC1 is a prefix of MREC10; MREC7 and MREC9 are not in the table and fall through.
    assert map_error("x/MREC10InvalidVehicleMode").vendor_error_code == "CX010"
    assert map_error("x/MREC7Something").vendor_id != CX
    assert map_error("x/MREC9Something").error_code == "OtherError"


def test_power_meter_communication_fault() -> None:
    report = map_error("powermeter/CommunicationFault", "timeout", "no answer")
    assert report.error_code == "PowerMeterFailure"
    assert not report.is_fault


def test_inoperative_is_the_only_fault() -> None:
    report = map_error("evse_manager/Inoperative", "", "connector_lock/Jammed", "lock jammed",
                       "ACME", "evse_manager->evse")
    assert report == ErrorReport("OtherError", True, "caused_by:connector_lock/Jammed", "ACME", "lock jammed")


def test_anything_else_is_described_for_a_person_to_look_up() -> None:
    report = map_error("evse_board_support/DiodeFault", "shorted", "CP diode shorted", "d", "v",
                       "yeti_driver->board_support")
    assert report == ErrorReport("OtherError", False, "yeti_driver->board_support",
                                 "CP diode shorted", "DiodeFault/shorted")


def test_a_type_without_interface_prefix_is_kept_whole() -> None:
    assert map_error("Weird", "x").vendor_error_code == "Weird/x"


def test_first_matching_rule_wins() -> None:
    # An MREC error raised by the evse_manager interface is MREC, not Inoperative.
    assert map_error("evse_manager/Inoperative/MREC4OverCurrentFailure").vendor_error_code == "CX004"


def test_fields_are_cut_to_status_notification_limits() -> None:
    report = map_error("evse_board_support/" + "T" * 80, "s" * 80, "m" * 400, "", "", "o" * 80)
    assert (len(report.info), len(report.vendor_id), len(report.vendor_error_code)) == (50, 255, 50)
    inop = map_error("evse_manager/Inoperative", "", "m" * 80, "d" * 80, "v" * 300)
    assert (len(inop.info), len(inop.vendor_id), len(inop.vendor_error_code)) == (50, 255, 50)


@given(st.text(), st.text(), st.text(), st.text(), st.text(), st.text())
def test_any_error_maps_to_a_valid_status_notification(type_: str, sub: str, msg: str, desc: str,
                                                       vendor: str, origin: str) -> None:
    report = map_error(type_, sub, msg, desc, vendor, origin)
    assert report.error_code in ERROR_CODES
    assert report.error_code != "NoError"
    assert len(report.info) <= 50
    assert len(report.vendor_id) <= 255
    assert len(report.vendor_error_code) <= 50
    validate_request("StatusNotification", {
        "connectorId": 1, "errorCode": report.error_code, "status": "Available",
        "info": report.info, "vendorId": report.vendor_id, "vendorErrorCode": report.vendor_error_code,
    })


def test_error_codes_are_the_16_enum() -> None:
    assert len(ERROR_CODES) == 16

# ------------------------------------------------------------------ parse_csl


@pytest.mark.parametrize(("text", "items"), [
    (None, ()),
    ("", ()),
    (" , ,", ()),
    ("Energy.Active.Import.Register", ("Energy.Active.Import.Register",)),
    (" SoC , Voltage,,Power.Offered ", ("SoC", "Voltage", "Power.Offered")),
])
def test_parse_csl(text: str | None, items: tuple[str, ...]) -> None:
    assert parse_csl(text) == items

# ------------------------------------------------------------------ time


def at(hms: str, day: int = 1) -> datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return datetime(2026, 1, day, h, m, s, tzinfo=UTC)


@pytest.mark.parametrize(("now", "interval", "expected"), [
    (at("00:14:59"), 900, at("00:15:00")),
    (at("00:15:00"), 900, at("00:30:00")),  # exactly on a boundary: the next one
    (at("00:15:00") + timedelta(microseconds=1), 900, at("00:30:00")),
    (at("23:50:00"), 900, at("00:00:00", day=2)),
    (at("20:59:59"), 7 * 3600, at("21:00:00")),
    (at("22:00:00"), 7 * 3600, at("00:00:00", day=2)),  # 7 h does not divide a day: restart at 00:00
    (at("00:00:00", day=2), 7 * 3600, at("07:00:00", day=2)),
    (at("12:00:00"), 2 * 86400, at("00:00:00", day=2)),
])
def test_next_clock_aligned(now: datetime, interval: int, expected: datetime) -> None:
    assert next_clock_aligned(now, interval) == expected


def test_next_clock_aligned_works_in_utc_whatever_the_zone() -> None:
    cet = timezone(timedelta(hours=1))
    now = datetime(2026, 1, 1, 0, 30, tzinfo=cet)  # 23:30 UTC the day before
    assert next_clock_aligned(now, 3600) == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("bad", [0, -900])
def test_next_clock_aligned_needs_a_positive_interval(bad: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        next_clock_aligned(T0, bad)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_clock_aligned(datetime(2026, 1, 1), 900)  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        iso(datetime(2026, 1, 1))  # noqa: DTZ001


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       st.integers(min_value=1, max_value=3 * 86400))
def test_next_clock_aligned_is_the_next_point_on_the_day_grid(now: datetime, interval: int) -> None:
    result = next_clock_aligned(now, interval)
    assert result > now
    assert result - now <= timedelta(seconds=interval)
    since_midnight = result - result.replace(hour=0, minute=0, second=0, microsecond=0)
    assert since_midnight % timedelta(seconds=interval) == timedelta(0)


def test_iso_is_utc_seconds_with_z() -> None:
    assert iso(at("00:15:00") + timedelta(microseconds=999_999)) == "2026-01-01T00:15:00Z"
    assert iso(datetime(2026, 1, 1, 1, 15, tzinfo=timezone(timedelta(hours=1)))) == "2026-01-01T00:15:00Z"

# ------------------------------------------------------------------ meter values


def reading(**kw: object) -> MeterReading:
    fields: dict = {"evse_id": 1, "timestamp": T0, "energy_wh": 1234.5, "power_w": 7400.0,
                    "current_a": (16.0, 16.0, 15.95), "voltage_v": (230.0, 230.1, 229.9),
                    "frequency_hz": 50.0}
    fields.update(kw)
    return MeterReading(**fields)


def sv(measurand: str, value: str, unit: str | None, phase: str | None = None,
       location: str = "Outlet", context: str = "Sample.Periodic") -> dict:
    out = {"value": value, "context": context, "format": "Raw", "measurand": measurand, "location": location}
    if phase:
        out["phase"] = phase
    if unit:
        out["unit"] = unit
    return out


@pytest.mark.parametrize(("measurand", "expected"), [
    ("Energy.Active.Import.Register", [sv("Energy.Active.Import.Register", "1235", "Wh")]),
    ("Power.Active.Import", [sv("Power.Active.Import", "7400", "W")]),
    ("Current.Import", [sv("Current.Import", "16", "A", "L1"), sv("Current.Import", "16", "A", "L2"),
                        sv("Current.Import", "15.95", "A", "L3")]),
    ("Voltage", [sv("Voltage", "230", "V", "L1-N"), sv("Voltage", "230.1", "V", "L2-N"),
                 sv("Voltage", "229.9", "V", "L3-N")]),
    ("Frequency", [sv("Frequency", "50", None)]),
    ("SoC", []),
    ("Current.Offered", []),
    ("Power.Offered", []),
    ("Temperature", []),
    ("Nonsense", []),
])
def test_sampled_values_for_each_measurand(measurand: str, expected: list[dict]) -> None:
    assert sampled_values(reading(), [measurand], "Sample.Periodic") == expected


def test_optional_values_appear_when_the_reading_has_them() -> None:
    r = reading(soc=80.0, offered_current_a=16.0, offered_power_w=11040.0)
    assert sampled_values(r, ["SoC", "Current.Offered", "Power.Offered"], "Trigger") == [
        sv("SoC", "80", "Percent", location="EV", context="Trigger"),
        sv("Current.Offered", "16", "A", context="Trigger"),
        sv("Power.Offered", "11040", "W", context="Trigger"),
    ]


def test_values_are_compact_and_energy_is_whole_wh() -> None:
    r = reading(energy_wh=1234.4999, power_w=7400.25, frequency_hz=49.9999)
    values = {s["measurand"]: s["value"] for s in sampled_values(r, SUPPORTED_MEASURANDS, "Sample.Clock")}
    assert values["Energy.Active.Import.Register"] == "1234"
    assert values["Power.Active.Import"] == "7400.25"
    assert values["Frequency"] == "50"
    assert sampled_values(reading(energy_wh=0.5), ["Energy.Active.Import.Register"], "Other")[0]["value"] == "1"


def test_measurands_come_in_the_order_asked_and_once() -> None:
    got = sampled_values(reading(), ["Frequency", "Power.Active.Import", "Frequency"], "Sample.Periodic")
    assert [s["measurand"] for s in got] == ["Frequency", "Power.Active.Import"]


def test_non_finite_values_are_left_out() -> None:
    assert sampled_values(reading(power_w=float("nan")), ["Power.Active.Import"], "Trigger") == []


@pytest.mark.parametrize("soc", [None, 42.5])
def test_meter_value_passes_the_meter_values_schema(soc: float | None) -> None:
    r = reading(soc=soc, offered_current_a=32.0, offered_power_w=22000.0)
    mv = meter_value(at("00:15:00"), sampled_values(r, SUPPORTED_MEASURANDS, "Sample.Clock"))
    assert mv["timestamp"] == "2026-01-01T00:15:00Z"
    assert len(mv["sampledValue"]) == 11 + (soc is not None)
    validate_request("MeterValues", {"connectorId": 1, "meterValue": [mv]})

# ------------------------------------------------------------------ transaction_data

E, P, V = "Energy.Active.Import.Register", "Power.Active.Import", "Voltage"


def mv_of(*values: dict) -> dict:
    return {"timestamp": "2026-01-01T00:15:00Z", "sampledValue": list(values)}


def test_clock_values_follow_aligned_data_and_others_sampled_data() -> None:
    data = [
        mv_of({"value": "1", "measurand": E, "context": "Transaction.Begin"}),
        mv_of({"value": "2", "measurand": E, "context": "Sample.Clock"},
              {"value": "3", "measurand": P, "context": "Sample.Clock"}),
        mv_of({"value": "4", "measurand": P, "context": "Sample.Periodic"},
              {"value": "5", "measurand": V, "context": "Sample.Periodic"}),
        mv_of({"value": "6", "measurand": V, "context": "Sample.Clock"}),
    ]
    assert transaction_data(data, [E, P], [E]) == [
        mv_of({"value": "1", "measurand": E, "context": "Transaction.Begin"}),
        mv_of({"value": "2", "measurand": E, "context": "Sample.Clock"}),
        mv_of({"value": "4", "measurand": P, "context": "Sample.Periodic"}),
    ]


def test_a_value_without_measurand_or_context_is_a_periodic_energy_reading() -> None:
    data = [mv_of({"value": "7"}), mv_of({"value": "8", "context": "Sample.Clock"})]
    assert transaction_data(data, [E], []) == [mv_of({"value": "7"})]
    assert transaction_data(data, [], [E]) == [mv_of({"value": "8", "context": "Sample.Clock"})]
    assert transaction_data(data, [], []) == []


_CONTEXTS = st.sampled_from(["Sample.Clock", "Sample.Periodic", "Transaction.Begin", "Transaction.End", "Trigger"])
_MEAS = st.sampled_from([*SUPPORTED_MEASURANDS, "Temperature"])
_SV = st.builds(lambda v, c, m: {"value": v, "context": c, **({"measurand": m} if m else {})},
                st.integers(0, 10**6).map(str), _CONTEXTS, st.none() | _MEAS)


@given(st.lists(st.lists(_SV, min_size=1, max_size=6).map(lambda vs: mv_of(*vs)), max_size=8),
       st.lists(_MEAS, max_size=4), st.lists(_MEAS, max_size=4))
def test_transaction_data_keeps_only_allowed_values(data: list[dict], sampled: list[str],
                                                    aligned: list[str]) -> None:
    out = transaction_data(data, sampled, aligned)
    values_in = sum(len(mv["sampledValue"]) for mv in data)
    values_out = sum(len(mv["sampledValue"]) for mv in out)
    assert values_out <= values_in
    assert len(out) <= len(data)
    for mv in out:
        assert mv["sampledValue"]
        for value in mv["sampledValue"]:
            allowed = aligned if value["context"] == "Sample.Clock" else sampled
            assert value.get("measurand", E) in allowed
    flat_in = iter([v for mv in data for v in mv["sampledValue"]])
    assert all(any(v == w for w in flat_in) for mv in out for v in mv["sampledValue"])  # order kept


def _sample(n: int) -> dict:
    return {"timestamp": f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z",
            "sampledValue": [{"value": str(1000 + n), "context": "Sample.Periodic"}]}


def test_transaction_data_that_fits_is_kept_whole():
    data = [_sample(n) for n in range(10)]
    assert fit_transaction_data({"transactionId": 1}, data, 65000) == data


@given(count=st.integers(min_value=1, max_value=400), max_size=st.integers(min_value=200, max_value=20000))
def test_transaction_data_is_cut_to_max_message_size(count, max_size):
    """The StopTransaction frame stays within MaxMessageSize; the first value is kept when
    anything is, then the newest; what is kept stays in order and is valid."""
    payload = {"transactionId": 1, "meterStop": 5, "timestamp": "2026-01-01T10:00:00Z", "reason": "Local"}
    data = [_sample(n) for n in range(count)]
    kept = fit_transaction_data(payload, data, max_size)
    frame = json.dumps([2, "0" * 36, "StopTransaction", {**payload, "transactionData": kept}], separators=(",", ":"))
    assert len(frame) <= max_size or not kept
    assert kept == sorted(kept, key=data.index)
    if kept and len(kept) < count:
        assert kept[0] == data[0] and (len(kept) == 1 or kept[-1] == data[-1])
    if kept:
        validate_request("StopTransaction", {**payload, "transactionData": kept})
