"""Smart charging, the table side: the wire form, the settings, validation, install/replace,
clear, expiry (the composite schedule: test_composite_schedule.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.smart_charging_logic import (
    check_profile,
    clear,
    expired,
    install,
    normalise,
    replaced_by,
    without_transaction_profiles,
)
from messages.charging_profiles import (
    ChargingProfile,
    ChargingSchedule,
    CompositeSchedule,
    InstalledProfile,
    SchedulePeriod,
    StationSettings,
    format_time,
    parse_time,
)
from messages.validation import validate_request, validate_response

UTC = timezone.utc
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = StationSettings(evse_count=2, max_stack_level=5, max_periods=4, max_installed=3,
                           allowed_units=("A",))


def profile(pid: int = 1, purpose: str = "TxDefaultProfile", *, stack: int = 0, kind: str = "Absolute",
            periods: tuple[tuple[int, float], ...] = ((0, 16),), unit: str = "A", **fields: object) -> ChargingProfile:
    schedule = ChargingSchedule(unit=unit, periods=tuple(SchedulePeriod(start_period=a, limit=b) for a, b in periods),
                                start_schedule=None if kind == "Relative" else NOW)
    return replace(ChargingProfile(id=pid, stack_level=stack, purpose=purpose, kind=kind, schedule=schedule), **fields)


def on(connector: int, p: ChargingProfile) -> InstalledProfile:
    return InstalledProfile(connector_id=connector, profile=p)


# ------------------------------------------------------------------ the wire form

WIRE = {
    "chargingProfileId": 7, "transactionId": 3, "stackLevel": 2, "chargingProfilePurpose": "TxProfile",
    "chargingProfileKind": "Recurring", "recurrencyKind": "Weekly", "validFrom": "2026-03-01T10:00:00+00:00",
    "validTo": "2026-04-01T12:00:00.250+02:00",
    "chargingSchedule": {"duration": 3600, "startSchedule": "2026-03-01T00:00:00.000Z", "chargingRateUnit": "W",
                         "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000},
                                                    {"startPeriod": 600, "limit": 7400.5, "numberPhases": 1}],
                         "minChargingRate": 1400.0},
}


def test_a_full_profile_reads_as_the_data_model() -> None:
    p = ChargingProfile.from_wire(WIRE)
    assert (p.id, p.transaction_id, p.stack_level, p.purpose, p.kind, p.recurrency_kind) == (
        7, 3, 2, "TxProfile", "Recurring", "Weekly")
    assert p.valid_from == NOW - timedelta(hours=2)
    assert p.valid_to == datetime(2026, 4, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert p.schedule.start_schedule == datetime(2026, 3, 1, tzinfo=UTC)
    assert p.schedule.periods[1] == SchedulePeriod(start_period=600, limit=7400.5, number_phases=1)
    assert (p.schedule.duration, p.schedule.unit, p.schedule.min_charging_rate) == (3600, "W", 1400.0)


@pytest.mark.parametrize("wire", [
    WIRE,
    {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
     "chargingProfileKind": "Relative",
     "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0}]}},
    {"chargingProfileId": 2, "stackLevel": 1, "chargingProfilePurpose": "ChargePointMaxProfile",
     "chargingProfileKind": "Absolute", "validTo": "2026-03-02T00:00:00Z",
     "chargingSchedule": {"startSchedule": "2026-03-01T12:00:00.123456Z", "chargingRateUnit": "A",
                          "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 32.1, "numberPhases": 3}]}},
], ids=["full", "minimal", "microseconds"])
def test_the_round_trip_is_exact(wire: dict[str, object]) -> None:
    back = ChargingProfile.from_wire(wire).to_wire()
    assert back == wire
    assert json.dumps(back, sort_keys=True) == json.dumps(wire, sort_keys=True)
    validate_request("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": back})


def test_decimals_from_the_validator_become_floats() -> None:
    wire = json.loads(json.dumps(WIRE), parse_float=Decimal)
    p = ChargingProfile.from_wire(wire)
    assert p.schedule.periods[1].limit == 7400.5
    assert isinstance(p.schedule.periods[1].limit, float)
    assert p.schedule.periods[0].limit == 11000


def test_a_changed_instant_is_written_in_the_canonical_form() -> None:
    p = ChargingProfile.from_wire(WIRE)
    moved = replace(p, valid_from=NOW)
    assert moved.to_wire()["validFrom"] == "2026-03-01T12:00:00Z"
    assert moved.to_wire()["validTo"] == WIRE["validTo"]  # untouched, still as spelt
    assert ChargingProfile.from_wire(moved.to_wire()) == moved


def test_frozen_payloads_are_read_too() -> None:
    from messages.payload import freeze  # noqa: PLC0415 (the persisted form)
    assert ChargingProfile.from_wire(freeze(WIRE)).to_wire() == WIRE  # type: ignore[arg-type]


def test_times_format_and_parse() -> None:
    assert format_time(NOW) == "2026-03-01T12:00:00Z"
    assert format_time(NOW.replace(microsecond=5000)) == "2026-03-01T12:00:00.005Z"
    assert parse_time("2026-03-01T13:00:00+01:00") == NOW
    assert parse_time("2026-03-01T12:00:00") == NOW


_time = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
_spelt = st.one_of(_time.map(format_time), _time.map(datetime.isoformat),
                   _time.map(lambda t: t.astimezone(timezone(timedelta(hours=-5))).isoformat()))
_limit = st.integers(0, 10_000).map(lambda n: n / 10) | st.integers(0, 1000)
_period_wire = st.fixed_dictionaries({"startPeriod": st.integers(0, 10**6), "limit": _limit},
                                     optional={"numberPhases": st.integers(1, 3)})
_wire = st.fixed_dictionaries(
    {"chargingProfileId": st.integers(-(2**31), 2**31 - 1), "stackLevel": st.integers(0, 100),
     "chargingProfilePurpose": st.sampled_from(["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"]),
     "chargingProfileKind": st.sampled_from(["Absolute", "Recurring", "Relative"]),
     "chargingSchedule": st.fixed_dictionaries(
         {"chargingRateUnit": st.sampled_from(["A", "W"]), "chargingSchedulePeriod": st.lists(_period_wire, max_size=4)},
         optional={"duration": st.integers(0, 10**7), "startSchedule": _spelt, "minChargingRate": _limit})},
    optional={"transactionId": st.integers(), "recurrencyKind": st.sampled_from(["Daily", "Weekly"]),
              "validFrom": _spelt, "validTo": _spelt})


@settings(max_examples=150, deadline=None)
@given(_wire)
def test_every_schema_valid_profile_round_trips(wire: dict[str, object]) -> None:
    validate_request("SetChargingProfile", {"connectorId": 0, "csChargingProfiles": wire})
    p = ChargingProfile.from_wire(wire)
    assert p.to_wire() == wire
    assert ChargingProfile.from_wire(p.to_wire()) == p


def test_the_composite_is_a_valid_answer() -> None:
    schedule = CompositeSchedule(connector_id=1, start=NOW, duration=300, unit="A", periods=(
        SchedulePeriod(start_period=0, limit=15.9, number_phases=1), SchedulePeriod(start_period=60, limit=48.0)))
    conf = schedule.to_conf()
    validate_response("GetCompositeSchedule", conf)
    assert conf["chargingSchedule"] == {
        "duration": 300, "startSchedule": "2026-03-01T12:00:00Z", "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 15.9, "numberPhases": 1},
                                   {"startPeriod": 60, "limit": 48.0}]}
    assert (conf["connectorId"], conf["scheduleStart"]) == (1, "2026-03-01T12:00:00Z")


# ------------------------------------------------------------------ settings

def test_settings_read_the_keys_by_name() -> None:
    config = {"SupplyVoltage": "240", "CompositeScheduleDefaultLimitAmps": 32, "CompositeScheduleDefaultLimitWatts": 22080.5,
              "CompositeScheduleDefaultNumberPhases": 1, "ChargeProfileMaxStackLevel": 8,
              "ChargingScheduleMaxPeriods": "24", "MaxChargingProfilesInstalled": 20,
              "ChargingScheduleAllowedChargingRateUnit": "Power", "AllowChargingProfileWithoutStartSchedule": "true",
              "MaxCompositeScheduleDuration": 86400, "IgnoredProfilePurposesOffline": "TxProfile,Bogus"}
    got = StationSettings.from_config(lambda key, default: config.get(key, default), 4)
    assert got == StationSettings(evse_count=4, supply_voltage=240.0, default_limit_amps=32.0,
                                  default_limit_watts=22080.5, default_number_phases=1, max_stack_level=8,
                                  max_periods=24, max_installed=20, allowed_units=("W",),
                                  allow_without_start_schedule=True, max_composite_duration=86400,
                                  ignored_purposes_offline=("TxProfile",))


def test_settings_default_to_libocpp() -> None:
    got = StationSettings.from_config(lambda _key, default: default, 2)
    assert got == StationSettings(evse_count=2)
    assert (got.supply_voltage, got.default_limit_amps, got.default_limit_watts, got.default_number_phases) == (
        230.0, 48.0, 33120.0, 3)
    assert (got.max_periods, got.max_installed, got.allowed_units) == (1440, 500, ("A", "W"))
    broken = {"SupplyVoltage": "nan", "CompositeScheduleDefaultNumberPhases": 7, "ChargingScheduleMaxPeriods": "x"}
    assert StationSettings.from_config(lambda key, default: broken.get(key, default), 2) == got


# ------------------------------------------------------------------ validation

TX_RUNNING = {"transaction_id": 5}
CHECKS = [
    # (name, profile, connector, context, expected words in the reason; None = accepted)
    ("txdefault on 0", profile(), 0, {}, None),
    ("txdefault on a connector", profile(), 2, {}, None),
    ("cpmax on 0", profile(purpose="ChargePointMaxProfile"), 0, {}, None),
    ("tx with a transaction", profile(purpose="TxProfile"), 1, TX_RUNNING, None),
    ("tx naming it", profile(purpose="TxProfile", transaction_id=5), 1, TX_RUNNING, None),
    ("tx, id not known yet", profile(purpose="TxProfile", transaction_id=9), 1, {"transaction_running": True}, None),
    ("tx from remote start", profile(purpose="TxProfile", kind="Relative"), 1, {"from_remote_start": True}, None),
    ("relative without start", profile(kind="Relative"), 1, {}, None),
    ("recurring", profile(kind="Recurring", recurrency_kind="Daily"), 1, {}, None),
    ("max periods", profile(periods=((0, 1), (1, 2), (2, 3), (3, 4))), 1, {}, None),
    ("unknown connector", profile(), 3, {}, "connector 3"),
    ("negative connector", profile(), -1, {}, "connector -1"),
    ("stack too high", profile(stack=6), 1, {}, "ChargeProfileMaxStackLevel"),
    ("negative stack", profile(stack=-1), 1, {}, "stackLevel"),
    ("cpmax on a connector", profile(purpose="ChargePointMaxProfile"), 1, {}, "connector 0 only"),
    ("relative cpmax", profile(purpose="ChargePointMaxProfile", kind="Relative"), 0, {}, "Relative"),
    ("tx on 0", profile(purpose="TxProfile"), 0, TX_RUNNING, "not 0"),
    ("tx without transaction", profile(purpose="TxProfile"), 1, {}, "no transaction"),
    ("tx, wrong transaction", profile(purpose="TxProfile", transaction_id=3), 1, TX_RUNNING, "transactionId 3"),
    ("remote start, not tx", profile(), 1, {"from_remote_start": True}, "must be a TxProfile"),
    ("remote start on 0", profile(purpose="TxProfile"), 0, {"from_remote_start": True}, "must be a TxProfile"),
    ("absolute without start", replace(profile(), schedule=replace(profile().schedule, start_schedule=None)), 1, {},
     "startSchedule"),
    ("recurring without kind", profile(kind="Recurring"), 1, {}, "recurrencyKind"),
    ("unit not allowed", profile(unit="W"), 1, {}, "ChargingScheduleAllowedChargingRateUnit"),
    ("no periods", profile(periods=()), 1, {}, "no periods"),
    ("too many periods", profile(periods=((0, 1), (1, 2), (2, 3), (3, 4), (4, 5))), 1, {}, "ChargingScheduleMaxPeriods"),
    ("first not at 0", profile(periods=((10, 1),)), 1, {}, "begin at 0"),
    ("not increasing", profile(periods=((0, 1), (60, 2), (60, 3))), 1, {}, "increase"),
    ("negative limit", profile(periods=((0, -1),)), 1, {}, "negative"),
    ("negative min rate", replace(profile(), schedule=replace(profile().schedule, min_charging_rate=-1)), 1, {},
     "negative"),
    ("four phases", replace(profile(), schedule=replace(profile().schedule, periods=(
        SchedulePeriod(start_period=0, limit=1, number_phases=4),))), 1, {}, "numberPhases"),
    ("negative duration", replace(profile(), schedule=replace(profile().schedule, duration=-1)), 1, {}, "duration"),
    ("validTo before validFrom", profile(valid_from=NOW, valid_to=NOW), 1, {}, "validTo is not after"),
    ("validTo past", profile(valid_to=NOW - timedelta(seconds=1)), 1, {}, "validTo has passed"),
]


@pytest.mark.parametrize(("name", "p", "connector", "context", "words"), CHECKS, ids=[c[0] for c in CHECKS])
def test_check_profile(name: str, p: ChargingProfile, connector: int, context: dict[str, object],
                       words: str | None) -> None:
    reason = check_profile(p, connector, (), SETTINGS, now=NOW, **context)  # type: ignore[arg-type]
    if words is None:
        assert reason is None, name
    else:
        assert reason is not None, name
        assert words in reason
        assert "\n" not in reason


def test_without_start_is_accepted_when_allowed_and_then_starts_now() -> None:
    allowed = replace(SETTINGS, allow_without_start_schedule=True)
    bare = replace(profile(kind="Recurring", recurrency_kind="Daily"),
                   schedule=replace(profile().schedule, start_schedule=None, duration=100_000))
    assert check_profile(bare, 1, (), allowed, now=NOW) is None
    ready = normalise(bare, now=NOW.replace(microsecond=700), settings=allowed)
    assert ready.schedule.start_schedule == NOW
    assert ready.schedule.duration == 86_400  # clamped to the day
    assert normalise(profile(), now=NOW, settings=allowed) == profile()  # nothing to do: the same object
    assert normalise(bare, now=NOW, settings=SETTINGS).schedule.start_schedule is None


# ------------------------------------------------------------------ install, replace, the full table

def test_install_appends_and_replaces() -> None:
    table, gone = install((), on(1, profile(1)))
    assert (table, gone) == ((on(1, profile(1)),), ())
    table, gone = install(table, on(2, profile(2)))  # other connector, same stack + purpose: both stay
    assert len(table) == 2
    assert gone == ()
    table, gone = install(table, on(2, profile(1, stack=3)))  # same id, other connector: replaced
    assert gone == (on(1, profile(1)),)
    assert table == (on(2, profile(2)), on(2, profile(1, stack=3)))
    table, gone = install(table, on(2, profile(9)))  # same connector + stack + purpose as id 2
    assert gone == (on(2, profile(2)),)
    table, gone = install(table, on(2, profile(10, stack=3, purpose="TxProfile")))  # other purpose: stays
    assert gone == ()
    assert [e.profile.id for e in table] == [1, 9, 10]


def test_a_full_table_still_takes_replacements() -> None:
    table = (on(0, profile(1, "ChargePointMaxProfile")), on(1, profile(2)), on(2, profile(3)))
    assert len(table) == SETTINGS.max_installed
    new = profile(4)
    assert check_profile(new, 0, table, SETTINGS, now=NOW) is not None  # a fourth: no room
    assert "MaxChargingProfilesInstalled" in (check_profile(new, 0, table, SETTINGS, now=NOW) or "")
    same_id = profile(2, stack=4)
    same_slot = profile(8)
    assert check_profile(same_id, 1, table, SETTINGS, now=NOW) is None
    assert check_profile(same_slot, 2, table, SETTINGS, now=NOW) is None
    assert replaced_by(table, on(2, same_slot)) == (on(2, profile(3)),)
    after, _ = install(table, on(2, same_slot))
    assert len(after) == SETTINGS.max_installed


# ------------------------------------------------------------------ clear, expiry, transactions

TABLE = (on(0, profile(1, "ChargePointMaxProfile", stack=1)), on(0, profile(2, stack=0)), on(1, profile(3, stack=1)),
         on(1, profile(4, "TxProfile", stack=1)), on(2, profile(5, "TxProfile", stack=0)))


@pytest.mark.parametrize(("filters", "removed"), [
    ({}, [1, 2, 3, 4, 5]),
    ({"profile_id": 3}, [3]),
    ({"profile_id": 3, "connector_id": 2, "purpose": "TxProfile"}, [3]),  # an id matches the id only
    ({"profile_id": 99}, []),
    ({"connector_id": 0}, [1, 2]),
    ({"connector_id": 1}, [3, 4]),
    ({"purpose": "TxProfile"}, [4, 5]),
    ({"stack_level": 1}, [1, 3, 4]),
    ({"connector_id": 1, "stack_level": 1, "purpose": "TxDefaultProfile"}, [3]),
    ({"connector_id": 2, "purpose": "TxDefaultProfile"}, []),
])
def test_clear(filters: dict[str, object], removed: list[int]) -> None:
    remaining, gone = clear(TABLE, **filters)  # type: ignore[arg-type]
    assert [e.profile.id for e in gone] == removed
    assert [e.profile.id for e in remaining] == [e.profile.id for e in TABLE if e.profile.id not in removed]


def test_a_transaction_end_removes_its_tx_profiles_only() -> None:
    assert [e.profile.id for e in without_transaction_profiles(TABLE, 1)] == [1, 2, 3, 5]
    assert without_transaction_profiles(TABLE, 3) == TABLE


def test_expired_profiles() -> None:
    ends = profile(1, valid_to=NOW)
    later = profile(2, valid_to=NOW + timedelta(seconds=1))
    over = replace(profile(3), schedule=replace(profile().schedule, start_schedule=NOW - timedelta(hours=1),
                                                duration=3600))
    running = replace(over, id=4, schedule=replace(over.schedule, duration=3601))
    relative = replace(profile(5, kind="Relative"), schedule=replace(over.schedule, duration=1))
    recurring = replace(over, id=6, kind="Recurring", recurrency_kind="Daily")
    table = tuple(on(1, p) for p in (ends, later, over, running, relative, recurring))
    assert [e.profile.id for e in expired(table, NOW)] == [1, 3]
