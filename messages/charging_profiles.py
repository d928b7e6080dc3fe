"""The OCPP 1.6 smart-charging data model, as immutable records with their exact wire form.

``ChargingProfile`` is the ``csChargingProfiles`` object of SetChargingProfile.req (and the
``chargingProfile`` of RemoteStartTransaction.req); ``CompositeSchedule`` is what
GetCompositeSchedule.conf and the schedule publisher hand out. Datetimes are tz-aware UTC.

Wire round trip: ``ChargingProfile.from_wire(p).to_wire() == p`` for every schema-valid,
JSON-decoded payload. Numbers keep the type they came with (``6`` stays an int, ``6.0`` a
float; a ``Decimal`` from the ``ocpp`` package's validation becomes a float), and a timestamp
keeps the spelling it arrived in (``+00:00`` or ``Z``, fractions, another offset) for as long
as the record holds the same instant; a changed or new instant is written as
``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "KINDS",
    "PURPOSES",
    "RECURRENCY_KINDS",
    "UNITS",
    "ChargingProfile",
    "ChargingSchedule",
    "CompositeSchedule",
    "InstalledProfile",
    "SchedulePeriod",
    "StationSettings",
    "format_time",
    "parse_time",
]

PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")
"""ChargingProfilePurposeType."""
KINDS = ("Absolute", "Recurring", "Relative")
"""ChargingProfileKindType."""
RECURRENCY_KINDS = ("Daily", "Weekly")
"""RecurrencyKindType."""
UNITS = ("A", "W")
"""ChargingRateUnitType."""

_UTC = timezone.utc
_Spellings = tuple[tuple[str, datetime, str], ...]
"""(field, instant, text): how a timestamp was spelt on the wire."""


def parse_time(text: str) -> datetime:
    """A wire timestamp as a UTC datetime (no offset means UTC); ValueError if it is none."""
    parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=_UTC)).astimezone(_UTC)


def format_time(value: datetime) -> str:
    """The canonical wire form: UTC, ``Z``, a fraction only when there is one."""
    utc = (value if value.tzinfo is not None else value.replace(tzinfo=_UTC)).astimezone(_UTC)
    spec = "seconds" if not utc.microsecond else "milliseconds" if not utc.microsecond % 1000 else "microseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _read_time(wire: Mapping[str, object], name: str, spellings: list[tuple[str, datetime, str]]) -> datetime | None:
    raw = wire.get(name)
    if raw is None:
        return None
    value = parse_time(str(raw))
    spellings.append((name, value, str(raw)))
    return value


def _write_time(name: str, value: datetime, spellings: _Spellings) -> str:
    """As it was spelt, if the field still holds that instant; else canonical."""
    return next((text for field_, seen, text in spellings if field_ == name and seen == value), None) \
        or format_time(value)


def _number(raw: object) -> float:
    """A JSON number as it came (int or float); a Decimal becomes an int or a float."""
    if isinstance(raw, Decimal):
        return int(raw) if raw == raw.to_integral_value() and raw.as_tuple().exponent == 0 else float(raw)
    return raw if isinstance(raw, (int, float)) and not isinstance(raw, bool) else float(str(raw))


def _int(raw: object) -> int:
    return int(raw) if isinstance(raw, (int, float, Decimal)) else int(str(raw))


def _optional_int(raw: object) -> int | None:
    return None if raw is None else _int(raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulePeriod:
    """ChargingSchedulePeriod: from ``start_period`` on, at most ``limit``."""

    start_period: int
    """Seconds from the start of the schedule."""
    limit: float
    """In the schedule's unit (A per phase, or W)."""
    number_phases: int | None = None
    """Phases that may be used; None: not said (CompositeScheduleDefaultNumberPhases is assumed)."""

    @classmethod
    def from_wire(cls, wire: Mapping[str, object]) -> SchedulePeriod:
        return cls(start_period=_int(wire["startPeriod"]), limit=_number(wire["limit"]),
                   number_phases=_optional_int(wire.get("numberPhases")))

    def to_wire(self) -> dict[str, object]:
        wire: dict[str, object] = {"startPeriod": self.start_period, "limit": self.limit}
        if self.number_phases is not None:
            wire["numberPhases"] = self.number_phases
        return wire


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingSchedule:
    """ChargingSchedule."""

    unit: str
    """chargingRateUnit: "A" or "W"."""
    periods: tuple[SchedulePeriod, ...]
    """chargingSchedulePeriod, in wire order."""
    duration: int | None = None
    """Seconds; None: the last period lasts for ever (or until validTo)."""
    start_schedule: datetime | None = None
    min_charging_rate: float | None = None
    spellings: _Spellings = field(default=(), compare=False, repr=False)
    """How the timestamps were spelt on the wire (see the module docstring)."""

    @classmethod
    def from_wire(cls, wire: Mapping[str, object]) -> ChargingSchedule:
        spellings: list[tuple[str, datetime, str]] = []
        raw_periods = wire["chargingSchedulePeriod"]
        periods = raw_periods if isinstance(raw_periods, Sequence) else ()
        rate = wire.get("minChargingRate")
        return cls(unit=str(wire["chargingRateUnit"]),
                   periods=tuple(SchedulePeriod.from_wire(p) for p in periods if isinstance(p, Mapping)),
                   duration=_optional_int(wire.get("duration")),
                   start_schedule=_read_time(wire, "startSchedule", spellings),
                   min_charging_rate=None if rate is None else _number(rate), spellings=tuple(spellings))

    def to_wire(self) -> dict[str, object]:
        wire: dict[str, object] = {}
        if self.duration is not None:
            wire["duration"] = self.duration
        if self.start_schedule is not None:
            wire["startSchedule"] = _write_time("startSchedule", self.start_schedule, self.spellings)
        wire["chargingRateUnit"] = self.unit
        wire["chargingSchedulePeriod"] = [p.to_wire() for p in self.periods]
        if self.min_charging_rate is not None:
            wire["minChargingRate"] = self.min_charging_rate
        return wire


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingProfile:
    """ChargingProfile (``csChargingProfiles``)."""

    id: int
    """chargingProfileId."""
    stack_level: int
    purpose: str
    """chargingProfilePurpose: one of :data:`PURPOSES`."""
    kind: str
    """chargingProfileKind: one of :data:`KINDS`."""
    schedule: ChargingSchedule
    recurrency_kind: str | None = None
    """"Daily" or "Weekly" (Recurring profiles)."""
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: int | None = None
    """TxProfile only: the transaction it belongs to."""
    spellings: _Spellings = field(default=(), compare=False, repr=False)
    """How validFrom / validTo were spelt on the wire."""

    @classmethod
    def from_wire(cls, wire: Mapping[str, object]) -> ChargingProfile:
        """From the JSON object (plain or frozen); raises only on a schema-invalid one."""
        spellings: list[tuple[str, datetime, str]] = []
        schedule = wire["chargingSchedule"]
        if not isinstance(schedule, Mapping):
            msg = "chargingSchedule is not an object"
            raise TypeError(msg)
        recurrency = wire.get("recurrencyKind")
        return cls(id=_int(wire["chargingProfileId"]), stack_level=_int(wire["stackLevel"]),
                   purpose=str(wire["chargingProfilePurpose"]), kind=str(wire["chargingProfileKind"]),
                   schedule=ChargingSchedule.from_wire(schedule),
                   recurrency_kind=None if recurrency is None else str(recurrency),
                   valid_from=_read_time(wire, "validFrom", spellings),
                   valid_to=_read_time(wire, "validTo", spellings),
                   transaction_id=_optional_int(wire.get("transactionId")), spellings=tuple(spellings))

    def to_wire(self) -> dict[str, object]:
        """The camelCase JSON object, optional fields left out when None."""
        wire: dict[str, object] = {"chargingProfileId": self.id}
        if self.transaction_id is not None:
            wire["transactionId"] = self.transaction_id
        wire.update(stackLevel=self.stack_level, chargingProfilePurpose=self.purpose,
                    chargingProfileKind=self.kind)
        if self.recurrency_kind is not None:
            wire["recurrencyKind"] = self.recurrency_kind
        if self.valid_from is not None:
            wire["validFrom"] = _write_time("validFrom", self.valid_from, self.spellings)
        if self.valid_to is not None:
            wire["validTo"] = _write_time("validTo", self.valid_to, self.spellings)
        wire["chargingSchedule"] = self.schedule.to_wire()
        return wire


@dataclass(frozen=True, slots=True, kw_only=True)
class InstalledProfile:
    """A profile as installed: on the connector it was sent for (0 = the charge point)."""

    connector_id: int
    profile: ChargingProfile


@dataclass(frozen=True, slots=True, kw_only=True)
class CompositeSchedule:
    """The limits a connector (0 = the whole charge point) must keep over a window."""

    connector_id: int
    start: datetime
    """scheduleStart, whole seconds, UTC."""
    duration: int
    """Seconds."""
    unit: str
    periods: tuple[SchedulePeriod, ...]
    """Ordered, the first at 0; never empty."""
    min_charging_rate: float | None = None

    def to_wire(self) -> dict[str, object]:
        """The ``chargingSchedule`` object of GetCompositeSchedule.conf."""
        return ChargingSchedule(unit=self.unit, periods=self.periods, duration=self.duration,
                                start_schedule=self.start, min_charging_rate=self.min_charging_rate).to_wire()

    def to_conf(self) -> dict[str, object]:
        """The whole GetCompositeSchedule.conf payload (status Accepted)."""
        return {"status": "Accepted", "connectorId": self.connector_id, "scheduleStart": format_time(self.start),
                "chargingSchedule": self.to_wire()}


def _as_float(value: object, default: float) -> float:
    try:
        number = float(str(value))
    except ValueError:
        return default
    return number if number == number and abs(number) != float("inf") else default  # noqa: PLR0124 (NaN)


def _as_int(value: object, default: int) -> int:
    number = _as_float(value, float(default))
    return int(number) if number == int(number) else default


def _as_list(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


@dataclass(frozen=True, slots=True, kw_only=True)
class StationSettings:
    """The configuration the smart-charging rules depend on (defaults: libocpp's)."""

    evse_count: int
    """Connectors 1..N (0 is the charge point)."""
    supply_voltage: float = 230.0
    """SupplyVoltage: V per phase, for A <-> W."""
    default_limit_amps: float = 48.0
    """CompositeScheduleDefaultLimitAmps: the limit where no profile applies, in A."""
    default_limit_watts: float = 33120.0
    """CompositeScheduleDefaultLimitWatts: the same in W."""
    default_number_phases: int = 3
    """CompositeScheduleDefaultNumberPhases: assumed when a period does not say."""
    max_stack_level: int = 10
    """ChargeProfileMaxStackLevel (a required key; 10 when it is missing)."""
    max_periods: int = 1440
    """ChargingScheduleMaxPeriods."""
    max_installed: int = 500
    """MaxChargingProfilesInstalled."""
    allowed_units: tuple[str, ...] = UNITS
    """ChargingScheduleAllowedChargingRateUnit as units: Current -> "A", Power -> "W"."""
    allow_without_start_schedule: bool = False
    """AllowChargingProfileWithoutStartSchedule."""
    max_composite_duration: int = 31536000
    """MaxCompositeScheduleDuration, s."""
    ignored_purposes_offline: tuple[str, ...] = ()
    """IgnoredProfilePurposesOffline."""

    @classmethod
    def from_config(cls, get: Callable[[str, object], object], evse_count: int) -> StationSettings:
        """Read the keys by name through ``get(key, default)`` (e.g. ``ChargePointConfig.get``);
        a missing or unreadable value gives the default."""
        base = cls(evse_count=evse_count)
        flag = get("AllowChargingProfileWithoutStartSchedule", False)
        phases = _as_int(get("CompositeScheduleDefaultNumberPhases", 3), 3)
        return cls(
            evse_count=evse_count,
            supply_voltage=_as_float(get("SupplyVoltage", 230), base.supply_voltage),
            default_limit_amps=_as_float(get("CompositeScheduleDefaultLimitAmps", 48), base.default_limit_amps),
            default_limit_watts=_as_float(get("CompositeScheduleDefaultLimitWatts", 33120), base.default_limit_watts),
            default_number_phases=phases if 1 <= phases <= 3 else 3,  # noqa: PLR2004 (1..3 phases)
            max_stack_level=_as_int(get("ChargeProfileMaxStackLevel", base.max_stack_level), base.max_stack_level),
            max_periods=_as_int(get("ChargingScheduleMaxPeriods", 1440), base.max_periods),
            max_installed=_as_int(get("MaxChargingProfilesInstalled", 500), base.max_installed),
            allowed_units=_units(get("ChargingScheduleAllowedChargingRateUnit", "Current,Power")),
            allow_without_start_schedule=flag.strip().lower() == "true" if isinstance(flag, str) else flag is True,
            max_composite_duration=_as_int(get("MaxCompositeScheduleDuration", 31536000),
                                           base.max_composite_duration),
            ignored_purposes_offline=tuple(p for p in _as_list(get("IgnoredProfilePurposesOffline", ""))
                                           if p in PURPOSES))


def _units(value: object) -> tuple[str, ...]:
    names = {"current": "A", "a": "A", "power": "W", "w": "W"}
    found = tuple(dict.fromkeys(names[item.lower()] for item in _as_list(value) if item.lower() in names))
    return found or UNITS
