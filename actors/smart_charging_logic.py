"""Smart charging as pure functions (issue #8): which profiles to accept, the profile table,
and the composite schedule. OCPP 1.6 §3.13, §5.16 SetChargingProfile, §5.5
ClearChargingProfile, §5.7 GetCompositeSchedule; libocpp's rules (reference §4) unless said.

The table is a tuple of :class:`InstalledProfile`, in installation order; the functions
that change it return a new one. None of them does I/O, logs, or raises on schema-valid
input. The actor calls, for SetChargingProfile: ``check_profile``, then ``normalise``, then
``install``; at a transaction's end ``without_transaction_profiles``; now and then
``expired``.

Decisions where OCPP is vague:

* **Validation** (``check_profile``) follows libocpp, and also rejects what libocpp accepts
  and then silently skips when it computes schedules: a first period not at 0, startPeriods
  that do not increase, no periods at all, a negative duration or minChargingRate, validTo
  not after validFrom, or validTo already past. MaxChargingProfilesInstalled is counted
  *after* replacement, so replacing works on a full table (libocpp counts before).
  A TxProfile whose transactionId names another transaction is rejected; while the id of
  the running transaction is not yet known (StartTransaction.conf pending) any id is taken.
  A RemoteStartTransaction profile must be a TxProfile on a connector; its transactionId,
  if any, is not checked (the transaction has no id yet).
* **Without startSchedule**: an Absolute or Recurring profile without one is rejected
  unless AllowChargingProfileWithoutStartSchedule; then ``normalise`` sets it to now (as
  libocpp). ``normalise`` also clamps a Recurring duration to its day or week. A profile that
  still has no anchor is anchored at validFrom, or else takes no part in schedules.
* **Replacement and clearing**: a new profile replaces one with the same id (any connector)
  and one with the same connector + stackLevel + purpose. ClearChargingProfile with an id
  matches the id only; without any field it clears all; otherwise it ANDs the given fields
  (connectorId 0 means profiles installed *on* connector 0).
* **Time**: all instants are floored to whole seconds (as libocpp), validTo is exclusive.
  Absolute profiles start at startSchedule. Relative ones start at the connector's
  transaction start, or, with no transaction, at the start of the requested window (libocpp
  simulates a transaction starting now). Recurring ones repeat every 24 h / 7 d from
  startSchedule, in both directions (startSchedule fixes the phase of the pattern; validFrom
  says from when it applies); an occurrence lasts ``duration`` (at most the period, for ever
  if absent).
* **Which profile counts**: within a purpose, the valid profile with the highest stackLevel
  wins at each instant (a TxDefaultProfile installed on the connector wins over one on
  connector 0 at the same level). On a connector a TxProfile wins wherever it has a limit,
  else the TxDefaultProfile; the ChargePointMaxProfile caps the result. A TxProfile counts
  whether a transaction runs or not: it is only installed with one (or with its
  RemoteStartTransaction) and removed when the transaction ends.
* **Units and phases**: A limits are per phase, W limits are totals; factor = SupplyVoltage x
  phases. At each instant the phases are the fewest that any applying period allows
  (``number_phases`` None if none says; CompositeScheduleDefaultNumberPhases is then assumed),
  and every limit is converted with that same count, so a W cap binds an A profile as it
  would on the wire (libocpp converts the same way, at the end). Results are floored to
  0.1 (the schema's multipleOf), so they never exceed a limit. ``minChargingRate`` is kept
  in profiles but is no limit: composite schedules leave it out.
* **Gaps**: where no profile applies at all, the default limit of the unit
  (CompositeScheduleDefaultLimitAmps/Watts) with no numberPhases. The default is not a cap:
  a ChargePointMaxProfile alone gives its own limit, even above the default (libocpp).
* **Connector 0** is the whole charge point: for every connector its TxProfile/
  TxDefaultProfile limit (gaps = the default limit, *not* capped by the ChargePointMax),
  summed, then capped by the ChargePointMaxProfile (libocpp). Its numberPhases is the most
  phases any connector uses, a connector whose periods do not say counting the default
  (None when no period of any connector says). A sum of A over connectors that use
  different numbers of phases has no single W equivalent, so only connectors 1..N convert
  exactly between units.
* **Offline**: with ``offline=True`` the IgnoredProfilePurposesOffline purposes are left out.

The composite works on period boundaries, never per second: each profile's occurrences are
cut to the window once, the layers of a connector are painted highest priority first, and
connectors with the same profiles (and relative anchor) share one computation.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_right
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from typing import TYPE_CHECKING

from messages.charging_profiles import (
    KINDS,
    PURPOSES,
    RECURRENCY_KINDS,
    UNITS,
    ChargingProfile,
    ChargingSchedule,
    CompositeSchedule,
    InstalledProfile,
    SchedulePeriod,
    StationSettings,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = ["all_composite_schedules", "check_profile", "clear", "composite_schedule", "convert_limit",
           "convert_schedule", "expired", "install", "limit_at", "normalise", "replaced_by",
           "without_transaction_profiles"]

DAY_S = 86_400
WEEK_S = 7 * DAY_S
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SECOND = timedelta(seconds=1)
CP_MAX, TX_DEFAULT, TX = PURPOSES

Value = tuple[float, str, "int | None"]
"""A period as it applies: (limit, unit, numberPhases)."""
Seg = tuple[int, int, Value]
"""[from, to) in epoch seconds, and its value."""
Piece = tuple[int, int, float, "int | None"]
"""[from, to), the limit in the requested unit, numberPhases."""


def _sec(instant: datetime) -> int:
    """Epoch seconds, floored (a naive datetime counts as UTC)."""
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=timezone.utc)
    return (aware - _EPOCH) // _SECOND


# --------------------------------------------------------------------------- the table

def _replaces(new: InstalledProfile, old: InstalledProfile) -> bool:
    a, b = new.profile, old.profile
    return a.id == b.id or (new.connector_id == old.connector_id and a.stack_level == b.stack_level
                            and a.purpose == b.purpose)


def replaced_by(installed: Sequence[InstalledProfile], new: InstalledProfile) -> tuple[InstalledProfile, ...]:
    """The installed profiles that ``new`` would replace."""
    return tuple(old for old in installed if _replaces(new, old))


def install(installed: Sequence[InstalledProfile], new: InstalledProfile,
            ) -> tuple[tuple[InstalledProfile, ...], tuple[InstalledProfile, ...]]:
    """(the new table, the profiles it replaced): same id, or same connector + stack + purpose."""
    kept = tuple(old for old in installed if not _replaces(new, old))
    return (*kept, new), tuple(old for old in installed if _replaces(new, old))


def clear(installed: Sequence[InstalledProfile], *, profile_id: int | None = None, connector_id: int | None = None,
          purpose: str | None = None, stack_level: int | None = None,
          ) -> tuple[tuple[InstalledProfile, ...], tuple[InstalledProfile, ...]]:
    """ClearChargingProfile: (remaining, removed). An id matches the id only; no field
    matches everything; otherwise every given field must match."""
    def hit(entry: InstalledProfile) -> bool:
        p = entry.profile
        if profile_id is not None:
            return p.id == profile_id
        return ((connector_id is None or entry.connector_id == connector_id)
                and (purpose is None or p.purpose == purpose)
                and (stack_level is None or p.stack_level == stack_level))
    return tuple(e for e in installed if not hit(e)), tuple(e for e in installed if hit(e))


def without_transaction_profiles(installed: Sequence[InstalledProfile], connector_id: int,
                                 ) -> tuple[InstalledProfile, ...]:
    """The table without the TxProfiles of ``connector_id`` (its transaction has ended)."""
    return tuple(e for e in installed if not (e.connector_id == connector_id and e.profile.purpose == TX))


def expired(installed: Sequence[InstalledProfile], now: datetime) -> tuple[InstalledProfile, ...]:
    """The profiles that can never apply again: validTo passed, or an Absolute schedule over."""
    def over(p: ChargingProfile) -> bool:
        if p.valid_to is not None and _sec(p.valid_to) <= _sec(now):
            return True
        s = p.schedule
        return (p.kind == "Absolute" and s.start_schedule is not None and s.duration is not None
                and _sec(s.start_schedule) + s.duration <= _sec(now))
    return tuple(e for e in installed if over(e.profile))


def normalise(profile: ChargingProfile, *, now: datetime, settings: StationSettings) -> ChargingProfile:
    """The profile as it is installed: a missing startSchedule of an Absolute or Recurring
    profile becomes ``now`` (when AllowChargingProfileWithoutStartSchedule), and a Recurring
    duration longer than its day or week is clamped to it."""
    schedule = profile.schedule
    if (profile.kind in ("Absolute", "Recurring") and schedule.start_schedule is None
            and settings.allow_without_start_schedule):
        schedule = replace(schedule, start_schedule=_EPOCH + _sec(now) * _SECOND)
    if profile.kind == "Recurring" and schedule.duration is not None:
        schedule = replace(schedule, duration=min(schedule.duration, _recurrence(profile)))
    return profile if schedule is profile.schedule else replace(profile, schedule=schedule)


def _recurrence(profile: ChargingProfile) -> int:
    return WEEK_S if profile.recurrency_kind == "Weekly" else DAY_S


def check_profile(profile: ChargingProfile, connector_id: int, installed: Sequence[InstalledProfile],  # noqa: C901, PLR0911, PLR0912 (one rule per line reads best)
                  settings: StationSettings, *, transaction_id: int | None = None,
                  transaction_running: bool | None = None, from_remote_start: bool = False,
                  now: datetime) -> str | None:
    """None when the profile may be installed on ``connector_id``, else why not (one line).

    Args:
        transaction_id: the CSMS's id of the transaction running on the connector, if known.
        transaction_running: whether one runs; by default, whether ``transaction_id`` is set.
        from_remote_start: the profile came with a RemoteStartTransaction.req.
        now: for validTo.
    """
    running = transaction_id is not None if transaction_running is None else transaction_running
    schedule, purpose, kind = profile.schedule, profile.purpose, profile.kind
    periods = schedule.periods
    if purpose not in PURPOSES or kind not in KINDS:
        return f"unknown purpose or kind {purpose!r}/{kind!r}"
    if not 0 <= connector_id <= settings.evse_count:
        return f"connector {connector_id} does not exist (0..{settings.evse_count})"
    if not 0 <= profile.stack_level <= settings.max_stack_level:
        return f"stackLevel {profile.stack_level} is outside 0..{settings.max_stack_level} (ChargeProfileMaxStackLevel)"
    if from_remote_start and (purpose != TX or connector_id == 0):
        return "the profile of a RemoteStartTransaction must be a TxProfile for one connector"
    if purpose == CP_MAX and connector_id != 0:
        return "a ChargePointMaxProfile is for connector 0 only"
    if purpose == CP_MAX and kind == "Relative":
        return "a ChargePointMaxProfile cannot be Relative"
    if purpose == TX and connector_id == 0:
        return "a TxProfile is for a connector, not 0"
    if purpose == TX and not from_remote_start and not running:
        return f"no transaction is running on connector {connector_id}"
    if (purpose == TX and not from_remote_start and None not in (transaction_id, profile.transaction_id)
            and profile.transaction_id != transaction_id):
        return f"transactionId {profile.transaction_id} is not the running transaction {transaction_id}"
    if kind != "Relative" and schedule.start_schedule is None and not settings.allow_without_start_schedule:
        return f"an {kind} profile needs a startSchedule (AllowChargingProfileWithoutStartSchedule is off)"
    if kind == "Recurring" and profile.recurrency_kind not in RECURRENCY_KINDS:
        return "a Recurring profile needs a recurrencyKind"
    if schedule.unit not in UNITS or schedule.unit not in settings.allowed_units:
        return f"chargingRateUnit {schedule.unit} is not allowed (ChargingScheduleAllowedChargingRateUnit)"
    if not periods:
        return "the schedule has no periods"
    if len(periods) > settings.max_periods:
        return f"{len(periods)} periods, more than ChargingScheduleMaxPeriods ({settings.max_periods})"
    if periods[0].start_period != 0 or any(b.start_period <= a.start_period for a, b in pairwise(periods)):
        return "startPeriods must begin at 0 and increase"
    if any(p.limit < 0 for p in periods) or (schedule.min_charging_rate or 0) < 0:
        return "a limit or the minChargingRate is negative"
    if any(p.number_phases is not None and not 1 <= p.number_phases <= 3 for p in periods):  # noqa: PLR2004
        return "numberPhases must be 1..3"
    if schedule.duration is not None and schedule.duration < 0:
        return "the duration is negative"
    if (profile.valid_from is not None and profile.valid_to is not None
            and _sec(profile.valid_to) <= _sec(profile.valid_from)):
        return "validTo is not after validFrom"
    if profile.valid_to is not None and _sec(profile.valid_to) <= _sec(now):
        return "validTo has passed"
    new = InstalledProfile(connector_id=connector_id, profile=profile)
    if len(installed) - len(replaced_by(installed, new)) >= settings.max_installed:
        return f"MaxChargingProfilesInstalled ({settings.max_installed}) profiles are installed"
    return None


# --------------------------------------------------------------------------- units

def convert_limit(value: float, from_unit: str, to_unit: str, *, phases: int | None,
                  settings: StationSettings) -> float:
    """A limit in another unit: W = A x SupplyVoltage x phases (None: the default phases)."""
    if from_unit == to_unit:
        return float(value)
    factor = settings.supply_voltage * (phases or settings.default_number_phases)
    factor = factor if factor > 0 else 1.0
    return value * factor if to_unit == "W" else value / factor


def _floor(value: float) -> float:
    """Down to the schema's multipleOf 0.1 (forgiving float noise below 1e-6)."""
    return round(math.floor(value * 10 + 1e-6) / 10, 1)


def _default(unit: str, settings: StationSettings) -> float:
    return settings.default_limit_watts if unit == "W" else settings.default_limit_amps


def _periods(pieces: Iterable[Piece], start: int) -> tuple[SchedulePeriod, ...]:
    out: list[SchedulePeriod] = []
    for a, _b, limit, phases in pieces:
        floored = _floor(limit)
        if not out or (out[-1].limit, out[-1].number_phases) != (floored, phases):
            out.append(SchedulePeriod(start_period=a - start, limit=floored, number_phases=phases))
    return tuple(out)


def convert_schedule(schedule: CompositeSchedule, unit: str, settings: StationSettings) -> CompositeSchedule:
    """The same schedule in ``unit``, each period with its own phases; equal neighbours merged."""
    pieces = ((p.start_period, 0, convert_limit(p.limit, schedule.unit, unit, phases=p.number_phases,
                                                settings=settings), p.number_phases) for p in schedule.periods)
    return replace(schedule, unit=unit, periods=_periods(pieces, 0))


def limit_at(schedule: CompositeSchedule, instant: datetime) -> float | None:
    """The limit at ``instant``; None outside [start, start + duration)."""
    offset = _sec(instant) - _sec(schedule.start)
    if not 0 <= offset < schedule.duration or not schedule.periods:
        return None
    index = bisect_right([p.start_period for p in schedule.periods], offset) - 1
    return schedule.periods[max(index, 0)].limit


# --------------------------------------------------------------------------- composite

def _segments(profile: ChargingProfile, anchor: int | None, lo: int, hi: int) -> list[Seg]:
    """The profile's periods as they apply in [lo, hi), in order."""
    if profile.valid_from is not None:
        lo = max(lo, _sec(profile.valid_from))
    if profile.valid_to is not None:
        hi = min(hi, _sec(profile.valid_to))
    schedule = profile.schedule
    starts = [p.start_period for p in schedule.periods]
    if anchor is None or lo >= hi or not starts or starts[0] < 0 or not all(map(operator.lt, starts, starts[1:])):
        return []
    length = schedule.duration
    out: list[Seg] = []
    if profile.kind != "Recurring":
        _cut(out, anchor, None if length is None else anchor + length, lo, hi, starts, schedule)
        return out
    if profile.recurrency_kind not in RECURRENCY_KINDS:
        return out
    every = _recurrence(profile)
    length = every if length is None else min(length, every)
    begin = anchor + (lo - anchor) // every * every
    while begin < hi:
        _cut(out, begin, begin + length, lo, hi, starts, schedule)
        begin += every
    return out


def _cut(out: list[Seg], t0: int, t1: int | None, lo: int, hi: int, starts: list[int],
         schedule: ChargingSchedule) -> None:
    """Append the periods of one occurrence [t0, t1), cut to [lo, hi)."""
    a, b = max(t0, lo), hi if t1 is None else min(t1, hi)
    i = max(bisect_right(starts, a - t0) - 1, 0)
    while a < b and i < len(starts):
        end = t0 + starts[i + 1] if i + 1 < len(starts) else b
        begin = max(t0 + starts[i], a)
        if begin < min(end, b):
            period = schedule.periods[i]
            phases = period.number_phases if period.number_phases in (1, 2, 3) else None
            out.append((begin, min(end, b), (float(period.limit), schedule.unit, phases)))
        if end >= b:
            break
        i += 1


def _paint(layers: Iterable[list[Seg]], lo: int, hi: int) -> list[Seg]:
    """Where the first layer (highest priority) has a value it wins, then the next, ..."""
    free, out = [(lo, hi)], []
    for segs in layers:
        if not free:
            break
        gaps, i = [], 0
        for fa, fb in free:
            cursor = fa
            while i < len(segs) and segs[i][1] <= fa:
                i += 1
            while i < len(segs) and segs[i][0] < fb:
                a, b, value = segs[i]
                a = max(a, cursor)
                if a > cursor:
                    gaps.append((cursor, a))
                if min(b, fb) > a:
                    out.append((a, min(b, fb), value))
                    cursor = min(b, fb)
                if b >= fb:
                    break
                i += 1
            if cursor < fb:
                gaps.append((cursor, fb))
        free = gaps
    out.sort(key=lambda seg: seg[0])
    return out


def _zip(first: list[Seg], second: list[Seg], lo: int, hi: int) -> list[tuple[int, int, Value | None, Value | None]]:
    """Both timelines on their common boundaries, None where one has no value."""
    points = sorted({lo, hi, *(t for a, b, _ in first for t in (a, b)), *(t for a, b, _ in second for t in (a, b))})
    out, i, j = [], 0, 0
    for a, b in pairwise(p for p in points if lo <= p <= hi):
        while i < len(first) and first[i][1] <= a:
            i += 1
        while j < len(second) and second[j][1] <= a:
            j += 1
        out.append((a, b, first[i][2] if i < len(first) and first[i][0] <= a else None,
                    second[j][2] if j < len(second) and second[j][0] <= a else None))
    return out


class _Round:
    """One computation over a window: caches shared by every connector of it."""

    def __init__(self, installed: Sequence[InstalledProfile], start: datetime, duration: int, unit: str,
                 transactions: Mapping[int, datetime], settings: StationSettings, *, offline: bool) -> None:
        self.settings, self.unit = settings, unit
        self.start = _sec(start)
        self.duration = max(0, min(duration, settings.max_composite_duration))
        self.end = self.start + max(self.duration, 1)
        ignored = settings.ignored_purposes_offline if offline else ()
        self.anchors = {c: _sec(t) for c, t in transactions.items()}
        self.shared: list[InstalledProfile] = []  # TxDefaultProfiles of connector 0
        self.own: dict[int, list[InstalledProfile]] = {}
        cp_max: list[InstalledProfile] = []
        for entry in installed:
            purpose = entry.profile.purpose
            if purpose in ignored or purpose not in PURPOSES:
                continue
            if purpose == CP_MAX:
                cp_max += [entry] if entry.connector_id == 0 else []
            elif purpose == TX_DEFAULT and entry.connector_id == 0:
                self.shared.append(entry)
            else:
                self.own.setdefault(entry.connector_id, []).append(entry)
        self.segs: dict[tuple[int, int | None], list[Seg]] = {}
        cp_max.sort(key=lambda e: (e.profile.stack_level, e.profile.id), reverse=True)
        self.cp_max = _paint((self._segs(e.profile, None) for e in cp_max), self.start, self.end)
        self.merged: dict[tuple[object, ...], list[Seg]] = {}
        self.keys: dict[int, tuple[object, ...]] = {}
        self.capped: dict[tuple[object, ...], list[Piece]] = {}

    def _segs(self, profile: ChargingProfile, tx_start: int | None) -> list[Seg]:
        relative = profile.kind == "Relative"
        key = (id(profile), (self.start if tx_start is None else tx_start) if relative else None)
        found = self.segs.get(key)
        if found is None:
            fixed = profile.schedule.start_schedule or profile.valid_from
            anchor = key[1] if relative else None if fixed is None else _sec(fixed)
            found = self.segs[key] = _segments(profile, anchor, self.start, self.end)
        return found

    def _layers(self, connector: int) -> tuple[tuple[object, ...], list[ChargingProfile]]:
        """The connector's TxProfiles and TxDefaultProfiles, highest priority first, and a key
        that is equal for connectors that would compute the same timeline."""
        own = self.own.get(connector, [])
        ranked = sorted(
            [((2, e.profile.stack_level, 1, e.profile.id), e.profile) for e in own if e.profile.purpose == TX]
            + [((1, e.profile.stack_level, 1, e.profile.id), e.profile) for e in own if e.profile.purpose == TX_DEFAULT]
            + [((1, e.profile.stack_level, 0, e.profile.id), e.profile) for e in self.shared],
            key=lambda item: item[0], reverse=True)
        profiles = [p for _, p in ranked]
        relative = any(p.kind == "Relative" for p in profiles)
        return (*map(id, profiles), self.anchors.get(connector) if relative else None), profiles

    def _merged(self, connector: int) -> tuple[tuple[object, ...], list[Seg]]:
        """The connector's Tx/TxDefault timeline (uncapped), and its key."""
        if connector not in self.keys:
            key, profiles = self._layers(connector)
            if key not in self.merged:
                tx_start = self.anchors.get(connector)
                self.merged[key] = _paint((self._segs(p, tx_start) for p in profiles), self.start, self.end)
            self.keys[connector] = key
        return self.keys[connector], self.merged[self.keys[connector]]

    def _limit(self, constraints: list[Value]) -> tuple[float, int | None]:
        """The lowest of the limits in the requested unit, all at the fewest phases allowed."""
        if len(constraints) == 1 and constraints[0][1] == self.unit:
            return constraints[0][0], constraints[0][2]
        said = [phases for _, _, phases in constraints if phases is not None]
        phases = min(said) if said else None
        return min(convert_limit(limit, unit, self.unit, phases=phases, settings=self.settings)
                   for limit, unit, _ in constraints), phases

    def _pieces(self, timeline: list[Seg], cap: list[Seg]) -> list[Piece]:
        out = []
        for a, b, value, cap_value in _zip(timeline, cap, self.start, self.end):
            constraints = [v for v in (value, cap_value) if v is not None]
            limit, phases = self._limit(constraints) if constraints else (_default(self.unit, self.settings), None)
            out.append((a, b, limit, phases))
        return out

    def connector(self, connector: int) -> list[Piece]:
        key, merged = self._merged(connector)
        if key not in self.capped:
            self.capped[key] = self._pieces(merged, self.cp_max)
        return self.capped[key]

    def station(self) -> list[Piece]:
        """Connector 0: the connectors' uncapped limits summed, then capped by ChargePointMax."""
        groups: dict[tuple[object, ...], tuple[list[Seg], int]] = {}
        for connector in range(1, self.settings.evse_count + 1):
            key, merged = self._merged(connector)
            groups[key] = (merged, groups.get(key, (merged, 0))[1] + 1)
        deltas: dict[int, list[float]] = {}  # instant -> [sum, phases 1, 2, 3 in use, periods that say]
        for merged, count in groups.values():
            for a, b, limit, phases in self._pieces(merged, []):
                effective = min(max(phases or self.settings.default_number_phases, 1), 3)
                for instant, sign in ((a, count), (b, -count)):
                    row = deltas.setdefault(instant, [0.0, 0, 0, 0, 0])
                    row[0] += sign * limit
                    row[effective] += sign
                    row[4] += sign if phases is not None else 0
        total, running, timeline = 0.0, [0, 0, 0, 0], []
        for a, b in pairwise(sorted(deltas)):
            row = deltas[a]
            total += row[0]
            running = [running[k] + int(row[k + 1]) for k in range(4)]
            phases = max(k for k in (1, 2, 3) if running[k - 1] > 0) if running[3] > 0 else None
            timeline.append((a, b, (round(total, 6), self.unit, phases)))
        if not timeline:  # no connectors: nothing to sum
            timeline = [(self.start, self.end, (_default(self.unit, self.settings), self.unit, None))]
        return self._pieces(timeline, self.cp_max)

    def schedule(self, connector: int) -> CompositeSchedule:
        pieces = self.station() if connector == 0 else self.connector(connector)
        return CompositeSchedule(connector_id=connector, start=_EPOCH + self.start * _SECOND,
                                 duration=self.duration, unit=self.unit, periods=_periods(pieces, self.start))


def composite_schedule(installed: Sequence[InstalledProfile], *, connector_id: int, start: datetime, duration: int,
                       unit: str, transactions: Mapping[int, datetime], settings: StationSettings,
                       offline: bool = False) -> CompositeSchedule:
    """The limits of ``connector_id`` (0 = the charge point) over [start, start + duration).

    Args:
        installed: the profile table (expired profiles may be in it; they do not apply).
        start: floored to the second; also the start of Relative profiles without a transaction.
        duration: seconds, capped at MaxCompositeScheduleDuration.
        unit: "A" or "W", the unit of the result.
        transactions: connector -> start of its running transaction.
        offline: leave out IgnoredProfilePurposesOffline.
    """
    return _Round(installed, start, duration, unit, transactions, settings, offline=offline).schedule(connector_id)


def all_composite_schedules(installed: Sequence[InstalledProfile], *, start: datetime, duration: int, unit: str,
                            transactions: Mapping[int, datetime], settings: StationSettings,
                            offline: bool = False) -> tuple[CompositeSchedule, ...]:
    """The composite schedules of connectors 0..N, sharing one computation (a publication round)."""
    round_ = _Round(installed, start, duration, unit, transactions, settings, offline=offline)
    return tuple(round_.schedule(connector) for connector in range(settings.evse_count + 1))
