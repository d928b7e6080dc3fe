"""The composite schedule: golden cases (OCTT TC_056/066/067/072, stacking, recurrence,
relative profiles, mixed units, connector 0), then properties against a per-instant reference."""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.smart_charging_logic import (
    all_composite_schedules,
    clear,
    composite_schedule,
    convert_limit,
    convert_schedule,
    install,
    limit_at,
)
from messages.charging_profiles import (
    ChargingProfile,
    ChargingSchedule,
    CompositeSchedule,
    InstalledProfile,
    SchedulePeriod,
    StationSettings,
)

UTC = timezone.utc
S = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # a Sunday
TWO = StationSettings(evse_count=2)
Periods = tuple[tuple[int, float] | tuple[int, float, int], ...]


def profile(pid: int, purpose: str, periods: Periods, *, stack: int = 0, kind: str = "Absolute",
            duration: int | None = None, start: datetime | None = S, unit: str = "A", **fields: object,
            ) -> ChargingProfile:
    schedule = ChargingSchedule(unit=unit, duration=duration, start_schedule=None if kind == "Relative" else start,
                                periods=tuple(SchedulePeriod(start_period=p[0], limit=p[1],
                                                             number_phases=p[2] if len(p) > 2 else None)  # noqa: PLR2004
                                              for p in periods))
    return replace(ChargingProfile(id=pid, stack_level=stack, purpose=purpose, kind=kind, schedule=schedule), **fields)


def table(*entries: tuple[int, ChargingProfile]) -> tuple[InstalledProfile, ...]:
    installed: tuple[InstalledProfile, ...] = ()
    for connector, p in entries:
        installed, _ = install(installed, InstalledProfile(connector_id=connector, profile=p))
    return installed


def periods(schedule: CompositeSchedule) -> list[tuple[float, ...]]:
    """(startPeriod, limit[, numberPhases]) as the golden cases write them."""
    return [(p.start_period, p.limit) if p.number_phases is None else (p.start_period, p.limit, p.number_phases)
            for p in schedule.periods]


def composite(installed: tuple[InstalledProfile, ...], connector: int, duration: int, *, start: datetime = S,
              unit: str = "A", transactions: dict[int, datetime] | None = None,
              station: StationSettings = TWO, offline: bool = False) -> list[tuple[float, ...]]:
    return periods(composite_schedule(installed, connector_id=connector, start=start, duration=duration, unit=unit,
                                      transactions=transactions or {}, settings=station, offline=offline))


# ------------------------------------------------------------------ OCTT

CP_MAX_10 = (0, profile(1, "ChargePointMaxProfile", ((0, 10),)))
TC_066_DEFAULT = (1, profile(2, "TxDefaultProfile", ((0, 6), (60, 10), (120, 8), (180, 25), (260, 8)), duration=300))
TC_066_TX = (1, profile(3, "TxProfile", ((0, 8), (50, 11), (140, 16), (200, 6), (240, 12)), duration=260,
                        transaction_id=1))
TC_066 = [(0, 8), (50, 10), (200, 6), (240, 10), (260, 8), (300, 10)]


def test_tc_066_get_composite_schedule() -> None:
    installed = table(CP_MAX_10, TC_066_DEFAULT, TC_066_TX)
    assert composite(installed, 1, 400, transactions={1: S}) == TC_066
    schedule = composite_schedule(installed, connector_id=1, start=S, duration=400, unit="A", transactions={1: S},
                                  settings=TWO)
    assert schedule.to_wire()["chargingSchedulePeriod"] == [{"startPeriod": a, "limit": b} for a, b in TC_066]
    assert (schedule.start, schedule.duration, schedule.unit) == (S, 400, "A")


def test_tc_066_with_a_relative_tx_profile_started_by_its_transaction() -> None:
    tx = (1, profile(3, "TxProfile", ((0, 8), (50, 11), (140, 16), (200, 6), (240, 12)), kind="Relative",
                     duration=260))
    installed = table(CP_MAX_10, TC_066_DEFAULT, tx)
    assert composite(installed, 1, 400, transactions={1: S}) == TC_066
    # 50 s into the transaction, the relative profile has moved on; the absolute ones have not.
    later = composite(installed, 1, 350, start=S + timedelta(seconds=50), transactions={1: S})
    assert later == [(0, 10), (150, 6), (190, 10), (210, 8), (250, 10)]


def test_tc_066_in_watts() -> None:
    got = composite(table(CP_MAX_10, TC_066_DEFAULT, TC_066_TX), 1, 400, unit="W", transactions={1: S})
    assert got == [(a, b * 230 * 3) for a, b in TC_066]


def test_tc_056_tx_default_profile_seen_later() -> None:
    installed = table((1, profile(1, "TxDefaultProfile", ((0, 6), (60, 10), (120, 8)), duration=300)))
    assert composite(installed, 1, 300) == [(0, 6), (60, 10), (120, 8)]
    elapsed = S + timedelta(seconds=10)
    assert composite(installed, 1, 300, start=elapsed, transactions={1: elapsed}) == [
        (0, 6), (50, 10), (110, 8), (290, 48)]  # after the profile: the default limit


def test_tc_067_cleared_profile_leaves_the_default() -> None:
    installed = table((1, profile(1, "TxDefaultProfile", ((0, 6),), duration=300)))
    remaining, removed = clear(installed, profile_id=1, connector_id=1, purpose="TxDefaultProfile", stack_level=0)
    assert len(removed) == 1
    assert composite(remaining, 1, 300) == [(0, 48)]
    assert composite(remaining, 1, 300, unit="W") == [(0, 33120)]


def test_tc_072_stacking() -> None:
    installed = table((1, profile(1, "TxDefaultProfile", ((0, 6), (50, 5), (100, 8), (200, 10)), duration=400)),
                      (1, profile(2, "TxDefaultProfile", ((0, 7), (100, 9)), stack=1, duration=150)))
    assert composite(installed, 1, 350) == [(0, 7), (100, 9), (150, 8), (200, 10)]


# ------------------------------------------------------------------ stacking and purposes

def test_a_higher_stack_wins_even_when_it_allows_more() -> None:
    installed = table((1, profile(1, "TxDefaultProfile", ((0, 6),))),
                      (1, profile(2, "TxDefaultProfile", ((0, 20),), stack=2, duration=100)))
    assert composite(installed, 1, 200) == [(0, 20), (100, 6)]


def test_a_connector_0_tx_default_applies_to_every_connector_unless_overridden() -> None:
    shared = (0, profile(1, "TxDefaultProfile", ((0, 10),), stack=1))
    same_level = (1, profile(2, "TxDefaultProfile", ((0, 12),), stack=1))
    lower = (2, profile(3, "TxDefaultProfile", ((0, 14),), stack=0))
    installed = table(shared, same_level, lower)
    assert composite(installed, 1, 60) == [(0, 12)]  # same level: the connector's own wins
    assert composite(installed, 2, 60) == [(0, 10)]  # connector 0's is higher
    assert composite(installed, 0, 60) == [(0, 22)]  # the sum


def test_tx_profile_over_tx_default_capped_by_cp_max() -> None:
    installed = table((0, profile(1, "ChargePointMaxProfile", ((0, 16), (100, 40)))),
                      (1, profile(2, "TxDefaultProfile", ((0, 32),), stack=5)),
                      (1, profile(3, "TxProfile", ((0, 20), (50, 24)), duration=150)))
    assert composite(installed, 1, 200, transactions={1: S}) == [(0, 16), (100, 24), (150, 32)]


def test_validity_window_clips_a_profile() -> None:
    installed = table((1, profile(1, "TxDefaultProfile", ((0, 10),), valid_from=S + timedelta(seconds=30),
                                  valid_to=S + timedelta(seconds=90))))
    assert composite(installed, 1, 120) == [(0, 48), (30, 10), (90, 48)]


def test_ignored_purposes_offline() -> None:
    installed = table(CP_MAX_10, TC_066_DEFAULT)
    station = replace(TWO, ignored_purposes_offline=("ChargePointMaxProfile",))
    assert composite(installed, 1, 400, station=station, offline=True) == [
        (0, 6), (60, 10), (120, 8), (180, 25), (260, 8), (300, 48)]
    assert composite(installed, 1, 400, station=station) == [
        (0, 6), (60, 10), (120, 8), (180, 10), (260, 8), (300, 10)]


# ------------------------------------------------------------------ recurrence

def test_daily_recurrence_across_midnight() -> None:
    daily = (1, profile(1, "TxDefaultProfile", ((0, 10), (3600, 20)), kind="Recurring", recurrency_kind="Daily",
                        duration=4 * 3600, start=datetime(2026, 1, 1, 22, 0, tzinfo=UTC)))
    installed = table(daily)
    evening = datetime(2026, 3, 1, 21, 30, tzinfo=UTC)
    assert composite(installed, 1, 6 * 3600, start=evening) == [(0, 48), (1800, 10), (5400, 20), (16200, 48)]
    after_midnight = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # inside the occurrence that began yesterday
    assert composite(installed, 1, 86400, start=after_midnight) == [(0, 20), (5400, 48), (77400, 10), (81000, 20)]


def test_weekly_recurrence_across_the_week_boundary() -> None:
    weekly = (1, profile(1, "TxDefaultProfile", ((0, 8), (4 * 3600, 12)), kind="Recurring", recurrency_kind="Weekly",
                         duration=12 * 3600, start=datetime(2026, 1, 4, 20, 0, tzinfo=UTC)))  # Sunday 20:00
    installed = table(weekly)
    sunday = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
    assert composite(installed, 1, 86400, start=sunday) == [(0, 48), (7200, 8), (21600, 12), (50400, 48)]
    saturday = datetime(2026, 3, 7, 0, 0, tzinfo=UTC)
    assert composite(installed, 1, 2 * 86400, start=saturday) == [(0, 48), (158400, 8)]
    wednesday = datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    assert composite(installed, 1, 86400, start=wednesday) == [(0, 48)]


def test_a_recurring_duration_longer_than_its_period_is_cut() -> None:
    daily = (1, profile(1, "TxDefaultProfile", ((0, 10), (80000, 20)), kind="Recurring", recurrency_kind="Daily",
                        duration=200000, start=datetime(2026, 1, 1, tzinfo=UTC)))
    midnight = datetime(2026, 3, 1, tzinfo=UTC)
    assert composite(table(daily), 1, 2 * 86400, start=midnight) == [
        (0, 10), (80000, 20), (86400, 10), (166400, 20)]


# ------------------------------------------------------------------ relative profiles and connector 0

def test_relative_profiles_start_with_their_transaction() -> None:
    shared = (0, profile(1, "TxDefaultProfile", ((0, 10), (60, 20)), kind="Relative", duration=120))
    installed = table(shared)
    tx = {1: S - timedelta(seconds=30)}
    assert composite(installed, 1, 300, transactions=tx) == [(0, 10), (30, 20), (90, 48)]
    assert composite(installed, 2, 300, transactions=tx) == [(0, 10), (60, 20), (120, 48)]  # no tx: starts now
    assert composite(installed, 0, 300, transactions=tx) == [(0, 20), (30, 30), (60, 40), (90, 68), (120, 96)]
    own = (1, profile(2, "TxProfile", ((0, 6), (200, 12)), kind="Relative", duration=300))
    tx = {1: S - timedelta(seconds=100)}
    assert composite(table(shared, own), 1, 300, transactions=tx) == [(0, 6), (100, 12), (200, 48)]


def test_connector_0_is_the_sum_capped_by_cp_max() -> None:
    three = StationSettings(evse_count=3)
    installed = table((0, profile(1, "TxDefaultProfile", ((0, 16),))),
                      (0, profile(2, "ChargePointMaxProfile", ((0, 40), (60, 100)))))
    assert composite(installed, 0, 120, station=three) == [(0, 40), (60, 48)]
    assert composite(installed, 3, 120, station=three) == [(0, 16)]
    assert composite((), 0, 120, station=three) == [(0, 144)]
    assert composite((), 0, 120, station=replace(three, evse_count=0)) == [(0, 48)]


# ------------------------------------------------------------------ units

def test_mixed_units_convert_at_the_fewest_phases() -> None:
    installed = table((0, profile(1, "ChargePointMaxProfile", ((0, 22080),), unit="W")),
                      (1, profile(2, "TxDefaultProfile", ((0, 40), (100, 16, 1)), duration=200)))
    assert composite(installed, 1, 300) == [(0, 32), (100, 16, 1), (200, 32)]
    assert composite(installed, 1, 300, unit="W") == [(0, 22080), (100, 3680, 1), (200, 22080)]
    watts = table((0, profile(1, "ChargePointMaxProfile", ((0, 16),))),
                  (1, profile(2, "TxDefaultProfile", ((0, 7360, 1),), unit="W")))
    assert composite(watts, 1, 60) == [(0, 16, 1)]
    assert composite(watts, 1, 60, unit="W") == [(0, 3680, 1)]
    odd = table((0, profile(1, "ChargePointMaxProfile", ((0, 11000),), unit="W")))
    assert composite(odd, 1, 60) == [(0, 15.9)]  # 15.94 A, floored to the schema's 0.1


def test_supply_voltage_and_default_phases() -> None:
    station = replace(TWO, supply_voltage=120, default_number_phases=1)
    installed = table((1, profile(1, "TxDefaultProfile", ((0, 30), (60, 30, 2)))))
    assert composite(installed, 1, 120, unit="W", station=station) == [(0, 3600), (60, 7200, 2)]
    assert convert_limit(3600, "W", "A", phases=None, settings=station) == 30
    assert convert_limit(16, "A", "A", phases=3, settings=station) == 16


def test_durations_and_limit_at() -> None:
    installed = table((1, profile(1, "TxDefaultProfile", ((0, 6), (60, 10)))))
    capped = composite_schedule(installed, connector_id=1, start=S, duration=10**9, unit="A", transactions={},
                                settings=replace(TWO, max_composite_duration=100))
    assert capped.duration == 100
    empty = composite_schedule(installed, connector_id=1, start=S + timedelta(microseconds=10), duration=0, unit="A",
                               transactions={}, settings=TWO)
    assert (empty.start, empty.duration, periods(empty)) == (S, 0, [(0, 6)])
    assert [limit_at(capped, S + timedelta(seconds=s)) for s in (-1, 0, 59, 60, 99, 100)] == [
        None, 6, 6, 10, 10, None]
    assert limit_at(empty, S) is None


# ------------------------------------------------------------------ properties: a per-instant reference

DAY, WEEK = 86400, 7 * 86400


def sec(t: datetime) -> int:
    return math.floor(t.timestamp())


def value_at(p: ChargingProfile, tx_start: int | None, window: int, t: int) -> tuple[float, str, int | None] | None:
    """What one profile says at instant t, straight from OCPP's words."""
    if (p.valid_from and t < sec(p.valid_from)) or (p.valid_to and t >= sec(p.valid_to)):
        return None
    s = p.schedule
    if p.kind == "Relative":
        begin, length = (window if tx_start is None else tx_start), s.duration
    else:
        assert s.start_schedule is not None
        begin, length = sec(s.start_schedule), s.duration
    if p.kind == "Recurring":
        every = DAY if p.recurrency_kind == "Daily" else WEEK
        begin += (t - begin) // every * every
        length = every if length is None else min(length, every)
    offset = t - begin
    if offset < 0 or (length is not None and offset >= length):
        return None
    period = [q for q in s.periods if q.start_period <= offset][-1]
    return float(period.limit), s.unit, period.number_phases


def top(candidates: list[tuple[tuple[int, ...], tuple[float, str, int | None] | None]]):  # noqa: ANN201
    live = [(rank, v) for rank, v in candidates if v is not None]
    return max(live, key=lambda item: item[0])[1] if live else None


def reference(installed, connector, t, window, unit, tx, station):  # noqa: ANN001, ANN201, PLR0913
    """(limit, numberPhases) for the connector (0 = the charge point) at instant t."""
    def own(c: int):  # noqa: ANN202
        txp = top([((e.profile.stack_level,), value_at(e.profile, tx.get(c), window, t)) for e in installed
                   if e.connector_id == c and e.profile.purpose == "TxProfile"])
        return txp or top([((e.profile.stack_level, e.connector_id == c), value_at(e.profile, tx.get(c), window, t))
                           for e in installed if e.connector_id in (0, c) and e.profile.purpose == "TxDefaultProfile"])

    def combine(constraints):  # noqa: ANN001, ANN202
        said = [ph for _, _, ph in constraints if ph is not None]
        phases = min(said) if said else None
        return min(convert_limit(v, u, unit, phases=phases, settings=station) for v, u, _ in constraints), phases

    cap = top([((e.profile.stack_level,), value_at(e.profile, None, window, t)) for e in installed
               if e.connector_id == 0 and e.profile.purpose == "ChargePointMaxProfile"])
    default = station.default_limit_watts if unit == "W" else station.default_limit_amps
    if connector == 0:
        terms = [own(c) for c in range(1, station.evse_count + 1)]
        total = sum(combine([v])[0] if v else default for v in terms)
        said = [v[2] for v in terms if v and v[2] is not None]
        used = max((v[2] or station.default_number_phases) if v else station.default_number_phases
                   for v in terms) if said else None
        base = (total, unit, used) if terms else (default, unit, None)
        return combine([base] + ([cap] if cap else []))
    constraints = [v for v in (own(connector), cap) if v]
    return combine(constraints) if constraints else (default, None)


def floor01(x: float) -> float:
    return math.floor(x * 10 + 1e-6) / 10


def period_at(schedule: CompositeSchedule, offset: int) -> SchedulePeriod:
    return schedule.periods[bisect_right([p.start_period for p in schedule.periods], offset) - 1]


@st.composite
def scenarios(draw: st.DrawFn):  # noqa: ANN201
    n = draw(st.integers(1, 3))
    voltage, phases = draw(st.sampled_from([230, 120, 240, 400])), draw(st.integers(1, 3))
    # The two default limits are separate keys; here they agree, as 48 A and 33120 W do at 230 V x 3.
    station = StationSettings(evse_count=n, supply_voltage=voltage, default_number_phases=phases,
                              default_limit_watts=48.0 * voltage * phases, max_stack_level=3)
    offsets = st.integers(-3000, 6000)
    entries = {}
    for pid in range(draw(st.integers(0, 7))):
        purpose = draw(st.sampled_from(["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"]))
        connector = {"ChargePointMaxProfile": 0, "TxDefaultProfile": draw(st.integers(0, n))}.get(
            purpose, draw(st.integers(1, n)))
        kinds = ["Absolute", "Recurring"] + ([] if purpose == "ChargePointMaxProfile" else ["Relative"])
        kind = draw(st.sampled_from(kinds))
        unit = draw(st.sampled_from(["A", "W"]))
        starts = sorted(draw(st.sets(st.integers(1, 4000), max_size=3)))
        top_limit = 640 if unit == "A" else 440_000
        rows = tuple((a, draw(st.integers(0, top_limit)) / 10, draw(st.sampled_from([None, 1, 2, 3])))
                     for a in (0, *starts))
        anchor = S + timedelta(seconds=draw(st.integers(-8 * DAY, 3000) if kind == "Recurring" else offsets))
        valid_from = draw(st.none() | offsets.map(lambda o: S + timedelta(seconds=o)))
        valid_to = draw(st.none() | offsets.map(lambda o: S + timedelta(seconds=o)))
        p = profile(pid, purpose, (), stack=draw(st.integers(0, 3)), kind=kind, unit=unit, start=anchor,
                    duration=draw(st.none() | st.integers(1, 5000)), valid_from=valid_from, valid_to=valid_to,
                    recurrency_kind=draw(st.sampled_from(["Daily", "Weekly"])) if kind == "Recurring" else None)
        p = replace(p, schedule=replace(p.schedule, periods=tuple(
            SchedulePeriod(start_period=a, limit=v, number_phases=ph) for a, v, ph in rows)))
        entries[(connector, purpose, p.stack_level)] = InstalledProfile(connector_id=connector, profile=p)
    tx = {c: S - timedelta(seconds=draw(st.integers(0, 5000)))
          for c in draw(st.sets(st.integers(1, n), max_size=n))}
    return tuple(entries.values()), tx, station, draw(st.integers(1, 2500))


def candidates(installed: tuple[InstalledProfile, ...], tx: dict[int, datetime], duration: int) -> list[int]:
    """Every instant (s after the window start) at which some profile may change, in the window."""
    out = {0}
    origins = [S, *tx.values()]
    for e in installed:
        p = e.profile
        for edge in (p.valid_from, p.valid_to):
            out.add(sec(edge) - sec(S) if edge else 0)
        bases = origins if p.kind == "Relative" else [p.schedule.start_schedule]
        for base in bases:
            assert base is not None
            every = {"Daily": DAY, "Weekly": WEEK}.get(p.recurrency_kind or "", 0)
            begin = sec(base) - sec(S)
            first = (0 - begin) // every - 1 if every else 0
            for k in range(first, first + (duration // every + 3 if every else 1)):
                origin = begin + k * every
                out.update(origin + q.start_period for q in p.schedule.periods)
                out.add(origin + min(p.schedule.duration or every or 10**9, every or 10**9))
    return sorted(o for o in out if 0 <= o < duration)


def all_ways(installed, tx, station, duration, unit):  # noqa: ANN001, ANN201
    return all_composite_schedules(installed, start=S, duration=duration, unit=unit, transactions=tx,
                                   settings=station)


@settings(max_examples=120, deadline=None)
@given(scenarios(), st.sampled_from(["A", "W"]))
def test_the_composite_matches_the_reference_at_every_instant(scenario, unit) -> None:  # noqa: ANN001
    installed, tx, station, duration = scenario
    starts = {c: sec(t) for c, t in tx.items()}
    for schedule in all_ways(installed, tx, station, duration, unit):
        for offset in candidates(installed, tx, duration):
            limit, phases = reference(installed, schedule.connector_id, sec(S) + offset, sec(S), unit, starts,
                                      station)
            got = period_at(schedule, offset)
            assert (got.limit, got.number_phases) == (pytest.approx(floor01(limit)), phases), (
                schedule.connector_id, offset)


@settings(max_examples=120, deadline=None)
@given(scenarios(), st.sampled_from(["A", "W"]))
def test_the_composite_never_exceeds_an_applicable_limit(scenario, unit) -> None:  # noqa: ANN001
    installed, tx, station, duration = scenario
    starts = {c: sec(t) for c, t in tx.items()}
    for schedule in all_ways(installed, tx, station, duration, unit):
        c = schedule.connector_id
        for offset in candidates(installed, tx, duration):
            t = sec(S) + offset
            got = period_at(schedule, offset)
            applicable = [top([((e.profile.stack_level,), value_at(e.profile, None, sec(S), t)) for e in installed
                               if e.connector_id == 0 and e.profile.purpose == "ChargePointMaxProfile"])]
            if c:
                tx_winner = top([((e.profile.stack_level,), value_at(e.profile, starts.get(c), sec(S), t))
                                 for e in installed if e.connector_id == c and e.profile.purpose == "TxProfile"])
                default = top([((e.profile.stack_level, e.connector_id == c), value_at(e.profile, starts.get(c),
                                                                                      sec(S), t))
                               for e in installed if e.connector_id in (0, c) and e.profile.purpose == "TxDefaultProfile"])
                applicable.append(tx_winner or default)
            for value in filter(None, applicable):
                bound = convert_limit(value[0], value[1], unit, phases=got.number_phases, settings=station)
                assert got.limit <= bound + 1e-9, (c, offset, value)


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.sampled_from(["A", "W"]))
def test_periods_are_ordered_and_do_not_overlap(scenario, unit) -> None:  # noqa: ANN001
    installed, tx, station, duration = scenario
    schedules = all_ways(installed, tx, station, duration, unit)
    assert [s.connector_id for s in schedules] == list(range(station.evse_count + 1))
    for schedule in schedules:
        starts = [p.start_period for p in schedule.periods]
        assert starts[0] == 0
        assert all(a < b for a, b in zip(starts, starts[1:], strict=False))
        assert starts[-1] < duration
        assert all(p.limit >= 0 and round(p.limit * 10) == pytest.approx(p.limit * 10) for p in schedule.periods)
        assert all((a.limit, a.number_phases) != (b.limit, b.number_phases)
                   for a, b in zip(schedule.periods, schedule.periods[1:], strict=False))
        alone = composite_schedule(installed, connector_id=schedule.connector_id, start=S, duration=duration,
                                   unit=unit, transactions=tx, settings=station)
        assert alone == schedule


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_the_installation_order(scenario, rnd) -> None:  # noqa: ANN001
    installed, tx, station, duration = scenario
    shuffled = list(installed)
    rnd.shuffle(shuffled)
    again: tuple[InstalledProfile, ...] = ()
    for entry in shuffled:
        again, replaced = install(again, entry)
        assert replaced == ()
    assert all_ways(again, tx, station, duration, "A") == all_ways(installed, tx, station, duration, "A")


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_amps_to_watts_to_amps_is_stable(scenario) -> None:  # noqa: ANN001
    installed, tx, station, duration = scenario
    in_amps = all_ways(installed, tx, station, duration, "A")
    in_watts = all_ways(installed, tx, station, duration, "W")
    for amps, watts in zip(in_amps, in_watts, strict=True):
        assert convert_schedule(convert_schedule(amps, "W", station), "A", station) == amps
        if amps.connector_id == 0:
            continue  # a sum over connectors with different phases has no single factor
        back = convert_schedule(watts, "A", station)
        for offset in candidates(installed, tx, duration):
            a, b = period_at(amps, offset), period_at(back, offset)
            assert a.number_phases == b.number_phases
            assert b.limit <= a.limit + 1e-9
            assert a.limit - b.limit <= 0.1 + 1e-9
