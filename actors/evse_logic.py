"""Pure helpers for the Evse actor: error mapping, meter values and clock alignment.

Kept apart from the actor so the rules that decide what goes on the wire (which errorCode
an EVerest error becomes, which measurands a reading yields, when the next clock-aligned
sample is due, what StopTransaction carries) can be tested without threads or timers.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from messages.evse_manager import MeterReading

__all__ = [
    "ERROR_CODES",
    "ErrorReport",
    "SUPPORTED_MEASURANDS",
    "iso",
    "last_energy_wh",
    "map_error",
    "meter_value",
    "next_clock_aligned",
    "parse_csl",
    "sampled_values",
    "transaction_data",
]

# --------------------------------------------------------------------------- errors

ERROR_CODES: frozenset[str] = frozenset({
    "ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature",
    "InternalError", "LocalListConflict", "NoError", "OtherError", "OverCurrentFailure",
    "PowerMeterFailure", "PowerSwitchFailure", "ReaderFailure", "ResetFailure",
    "UnderVoltage", "OverVoltage", "WeakSignal",
})
"""OCPP 1.6 ChargePointErrorCode: every errorCode we send is one of these."""

INFO_MAX, VENDOR_ID_MAX, VENDOR_ERROR_CODE_MAX = 50, 255, 50
"""StatusNotification.req field limits (CiString50 / 255 / 50)."""

MREC_VENDOR_ID = "https://chargex.inl.gov"
"""ChargeX publishes the Minimum Required Error Codes; CSMSs recognise CXnnn under this id."""

# MREC number → the 1.6 errorCode; the vendorErrorCode is CX plus the number in three digits.
_MREC_CODES: dict[int, str] = {
    1: "ConnectorLockFailure",
    2: "GroundFailure",
    3: "HighTemperature",
    4: "OverCurrentFailure",
    5: "OverVoltage",
    6: "UnderVoltage",
    **dict.fromkeys((8, 10, 11, 14, 15, 17, 18, 19, 20, 22, 23, 24, 25, 26), "OtherError"),
}
_MREC_NUMBER = re.compile(r"MREC(\d+)(?!\d)")  # MREC1 must not match inside MREC10
_POWERMETER_COMM = "powermeter/CommunicationFault"
_INOPERATIVE = "evse_manager/Inoperative"


@dataclass(frozen=True)
class ErrorReport:
    """The StatusNotification fields for one EVerest error, and whether it faults the connector."""

    error_code: str
    is_fault: bool
    info: str
    vendor_id: str
    vendor_error_code: str


def _report(code: str, *, is_fault: bool = False, info: str = "", vendor_id: str = "",
            vendor_error_code: str = "") -> ErrorReport:
    return ErrorReport(code, is_fault, info[:INFO_MAX], vendor_id[:VENDOR_ID_MAX],
                       vendor_error_code[:VENDOR_ERROR_CODE_MAX])


def _mrec(error_type: str) -> ErrorReport | None:
    for match in _MREC_NUMBER.finditer(error_type):
        number = int(match.group(1))
        if number in _MREC_CODES:
            return _report(_MREC_CODES[number], vendor_id=MREC_VENDOR_ID,
                           vendor_error_code=f"CX{number:03d}")
    return None


def map_error(type: str, sub_type: str = "", message: str = "", description: str = "",  # noqa: A002
              vendor_id: str = "", origin: str = "") -> ErrorReport:
    """How an EVerest error is reported in StatusNotification; the first rule that matches wins.

    1. An MREC error (``...MREC<n>...`` in the type): its own errorCode or OtherError, with the
       ChargeX vendorId and CXnnn code; informational, not a fault.
    2. A power meter communication fault: PowerMeterFailure, not a fault.
    3. ``evse_manager/Inoperative``: the only error that faults the connector; it says what
       made the EVSE inoperative.
    4. Anything else: OtherError, not a fault, with enough detail (origin, message, type)
       for a person at the CSMS to look it up.
    """
    mrec = _mrec(type)
    if mrec is not None:
        return mrec
    if _POWERMETER_COMM in type:
        return _report("PowerMeterFailure")
    if _INOPERATIVE in type:
        return _report("OtherError", is_fault=True, info="caused_by:" + message,
                       vendor_id=vendor_id, vendor_error_code=description)
    name = type.split("/", 1)[1] if "/" in type else type
    return _report("OtherError", info=origin, vendor_id=message,
                   vendor_error_code=f"{name}/{sub_type}" if sub_type else name)


# --------------------------------------------------------------------------- configuration


def parse_csl(text: str | None) -> tuple[str, ...]:
    """A comma separated list configuration value as its items (blanks and empties dropped)."""
    if not text:
        return ()
    return tuple(item for item in (part.strip() for part in text.split(",")) if item)


# --------------------------------------------------------------------------- time

_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None or ts.utcoffset() is None:
        msg = f"a timezone-aware datetime is required, got naive {ts!r}"
        raise ValueError(msg)
    return ts.astimezone(timezone.utc)


def iso(ts: datetime) -> str:
    """The wire form of a timestamp: UTC, whole seconds, ``Z`` (e.g. 2026-01-01T00:15:00Z)."""
    return _utc(ts).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_iso(text: str) -> datetime | None:
    """A wire timestamp back to a datetime (any ISO 8601 the CSMS sends), None if it is not one."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def next_clock_aligned(now: datetime, interval_s: int) -> datetime:
    """The first clock-aligned sample time strictly after ``now`` (ClockAlignedDataInterval).

    The grid is midnight UTC + k * interval and restarts every midnight, so an interval that
    does not divide a day still samples at 00:00 (a 7 h interval gives 00, 07, 14, 21, 00).
    """
    if interval_s <= 0:
        msg = f"interval must be positive, got {interval_s}"
        raise ValueError(msg)
    now = _utc(now)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    step = interval_s * 1_000_000
    elapsed = (now - midnight) // _MICROSECOND  # integer microseconds: no float rounding
    candidate = midnight + (elapsed // step + 1) * step * _MICROSECOND
    return min(candidate, midnight + _DAY)


# --------------------------------------------------------------------------- meter values

_ENERGY = "Energy.Active.Import.Register"
_OUTLET = "Outlet"


def _number(value: float) -> str:
    """Compact decimal text: 7.4, 230, 16 (at most three decimals, no exponent)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def _wh(value: float) -> str:
    """The energy register in whole Wh, halves away from zero (not Python's to-even)."""
    return str(int(math.copysign(math.floor(abs(value) + 0.5), value)))


_Sample = tuple[float, str | None, str]
"""(value, phase or None, location) read off a reading."""


def _one(value: float | None, location: str = _OUTLET) -> list[_Sample]:
    return [] if value is None else [(value, None, location)]


def _phases(values: Sequence[float], names: Sequence[str]) -> list[_Sample]:
    return [(v, phase, _OUTLET) for v, phase in zip(values, names)]


# measurand → (unit or None, formatter, how to read samples off a reading)
_MEASURANDS: dict[str, tuple[str | None, Callable[[float], str], Callable[[MeterReading], list[_Sample]]]] = {
    _ENERGY: ("Wh", _wh, lambda r: _one(r.energy_wh)),
    "Power.Active.Import": ("W", _number, lambda r: _one(r.power_w)),
    "Current.Import": ("A", _number, lambda r: _phases(r.current_a, ("L1", "L2", "L3"))),
    "Voltage": ("V", _number, lambda r: _phases(r.voltage_v, ("L1-N", "L2-N", "L3-N"))),
    # No unit: 1.6 as published has none for hertz (the schema's "Hertz" came later).
    "Frequency": (None, _number, lambda r: _one(r.frequency_hz)),
    "SoC": ("Percent", _number, lambda r: _one(r.soc, "EV")),
    "Current.Offered": ("A", _number, lambda r: _one(r.offered_current_a)),
    "Power.Offered": ("W", _number, lambda r: _one(r.offered_power_w)),
}

SUPPORTED_MEASURANDS: tuple[str, ...] = tuple(_MEASURANDS)
"""The measurands :func:`sampled_values` can produce (for MeterValuesSampledData checks)."""


def sampled_values(reading: MeterReading, measurands: Sequence[str], context: str) -> list[dict]:
    """SampledValue objects (wire form) for the asked measurands the reading can supply.

    Unknown measurands, and values the reading lacks (no SoC, no offered limits, a
    non-finite number), are left out rather than sent empty: the CSMS cannot use a
    placeholder and the schema would reject most of them.
    """
    out: list[dict] = []
    for measurand in dict.fromkeys(measurands):  # each once, in the order asked
        if measurand not in _MEASURANDS:
            continue
        unit, fmt, extract = _MEASURANDS[measurand]
        for value, phase, location in extract(reading):
            if not math.isfinite(value):
                continue
            sample: dict = {"value": fmt(value), "context": context, "format": "Raw", "measurand": measurand}
            if phase is not None:
                sample["phase"] = phase
            sample["location"] = location
            if unit is not None:
                sample["unit"] = unit
            out.append(sample)
    return out


def meter_value(timestamp: datetime, sampled: Sequence[dict]) -> dict:
    """One MeterValue object: the sampled values taken at ``timestamp``."""
    return {"timestamp": iso(timestamp), "sampledValue": [dict(s) for s in sampled]}


def transaction_data(meter_values: Sequence[Mapping], sampled_measurands: Sequence[str],
                     aligned_measurands: Sequence[str]) -> list[dict]:
    """StopTransaction.transactionData: the transaction's samples, cut to what was asked for.

    Clock-aligned values are kept by StopTxnAlignedData, all others by StopTxnSampledData; a
    value with no measurand counts as the energy register (the 1.6 default). MeterValues
    left empty are dropped, since the schema wants at least one value each.
    """
    aligned, sampled = frozenset(aligned_measurands), frozenset(sampled_measurands)
    out: list[dict] = []
    for mv in meter_values:
        kept = [
            dict(sv) for sv in mv.get("sampledValue", ())
            if sv.get("measurand", _ENERGY) in (aligned if sv.get("context") == "Sample.Clock" else sampled)
        ]
        if kept:
            out.append({**mv, "sampledValue": kept})
    return out


FRAME_OVERHEAD = 100
"""Characters of a CALL frame around its payload: type, a uuid message id, the action name."""


def fit_transaction_data(payload: Mapping[str, Any], data: Sequence[Mapping[str, Any]],
                         max_size: int) -> list[Mapping[str, Any]]:
    """The transactionData that lets a StopTransaction stay within MaxMessageSize characters
    (the frame around the payload counted generously): the first and the newest values,
    and as many before the newest as fit; samples in the middle of a long charge go first."""
    budget = max_size - len(json.dumps(payload, separators=(",", ":"))) - FRAME_OVERHEAD
    sizes = [len(json.dumps(mv, separators=(",", ":"))) + 1 for mv in data]
    if sum(sizes) <= budget:
        return list(data)
    kept: list[int] = []
    used = 0
    for index in (0, *range(len(data) - 1, 0, -1)):  # the start, then newest to oldest
        if used + sizes[index] > budget:
            break
        kept.append(index)
        used += sizes[index]
    return [data[i] for i in sorted(kept)]



def last_energy_wh(meter_values: Sequence[Mapping[str, Any]]) -> float | None:
    """The newest Energy.Active.Import.Register (in Wh) among stored MeterValue objects; what a
    transaction is stopped with when the charge point lost power during it."""
    for value in reversed(meter_values):
        for sampled in value.get("sampledValue", ()):
            if sampled.get("measurand", _ENERGY) == _ENERGY and sampled.get("unit", "Wh") in ("Wh", "kWh"):
                factor = 1000 if sampled.get("unit") == "kWh" else 1
                return float(sampled["value"]) * factor
    return None
