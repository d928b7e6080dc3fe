"""Benchmark of issue #8: the composite-schedule publication round for 128 connectors with the
table full (MaxChargingProfilesInstalled = 500), so that PublishChargingScheduleIntervalS = 1
stays cheap. The issue's target: the round costs under 5 % of one core at a 1 s interval.

Run from the repository root::

    .venv/bin/python tests/bench/schedules.py [--quick] [--json FILE]

One in-process charge point (ManualClock, LocalCsms on loopback, built like
``tests/bench/run.py`` builds them) with 128 EVSEs, the SmartCharging feature profile
(MaxChargingProfilesInstalled 500, ChargingScheduleMaxPeriods 24, ChargeProfileMaxStackLevel 10)
and PublishChargingScheduleIntervalS = 1 (PublishChargingScheduleDurationS and
RequestCompositeScheduleUnit at their defaults, 600 s and A). A transaction runs on every EVSE
(plug in + swipe). MeterValueSampleInterval is 0 and the heartbeat 1 day, so nothing goes to the
CSMS while the rounds are measured and ``app.wait_quiet`` sees the whole round.

1. Rounds with 0 profiles installed (the fixed cost of fanning out 129 schedules): the clock is
   advanced 1 s (which fires PublishDue, and the simulator's own 1 s meter tick) and the
   system left to go quiet, N times (200; 20 with ``--quick``) after a few warm-up rounds. Per
   round: the CPU of the SchedulePublisher's thread and of the Simulator's thread (per-thread
   CPU clocks), the CPU the Simulator spends in the 128 ExternalLimits (its ``on_receive`` timed
   with ``time.thread_time()`` for those messages only; the rest of its thread is the meter
   tick of 128 charging EVSEs), and the wall time from ``advance`` to quiet.
2. 500 profiles installed through the CSMS (SetChargingProfile over ``LocalCsms.call``):
   ChargePointMaxProfiles and TxDefaultProfiles on connector 0, TxDefaultProfiles and TxProfiles
   (with the running transaction's id) on every connector; Absolute, Recurring (Daily/Weekly) and
   Relative; A and W; 1-24 periods, most of them changing inside the 600 s window; every
   connector with a table of its own (no two compute the same timeline). Each accepted profile
   is one publication round as well; the round trip is context.
3. The same rounds as 1 on the full table: CPU % of one core at a 1 s interval = CPU per
   round / 1 s, the publisher alone and the publisher + the Simulator's ExternalLimits (the
   publication round, against the target); medians and p99, ratios to the rounds of 1. As
   context, the garbage collections Python ran in the publisher's thread during the rounds
   (``gc.callbacks``), and the publication less their CPU: a full (generation 2) collection scans
   the whole process's heap, so it costs what the process holds, not what the round does.
4. Baselines on the same table, in the same run:
   (a) the pure ``all_composite_schedules`` call (thread CPU), the part of the publisher's round
       that is computation rather than messaging; the same on an empty table;
   (b) the per-instant reference of ``tests/actors/test_composite_schedule.py`` (imported from
       there), made into a schedule the straightforward way: the limit at every second of the
       window, equal neighbours merged. Timed for a few connectors (and connector 0 on every
       k-th second, extrapolated), extrapolated to a round of 129 schedules: what a
       straightforward implementation costs. Its answers are also checked against ours.

``main(argv) -> int`` is the entry point for the smoke test as well
(``tests/bench/test_bench_schedules_smoke.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from actors.clock import ManualClock  # noqa: E402
from actors.simulator import Simulator  # noqa: E402
from actors.smart_charging_logic import all_composite_schedules  # noqa: E402
from messages.charging_profiles import ChargingProfile, InstalledProfile, StationSettings, parse_time  # noqa: E402
from messages.csms import HeartbeatDue  # noqa: E402
from messages.persistence import GetChargingProfiles, GetOpenTransaction  # noqa: E402
from messages.smart_charging import ExternalLimits, GetChargingSchedules  # noqa: E402
from messages.station import GetEvseState  # noqa: E402
from supervisor.local_csms import LocalCsms, utc_now  # noqa: E402
from supervisor.sim_control import SimController  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from messages.charging_profiles import CompositeSchedule
    from supervisor.app import ChargePointApp

__all__ = ["main"]

EVSES = 128
MAX_PROFILES = 500
MAX_PERIODS = 24
MAX_STACK = 10
INTERVAL_S = 1
TARGET_PERCENT = 5.0
"""Issue #8: the publication round for 128 connectors under 5 % of one core at a 1 s interval."""
WARMUP_ROUNDS = 5
SEED = 8
CP_ID = "BENCH-SCHEDULES"
SMART = {"Core": {"SupportedFeatureProfiles": "Core,SmartCharging", "MeterValueSampleInterval": 0},
         "SmartCharging": {"ChargeProfileMaxStackLevel": MAX_STACK, "ChargingScheduleMaxPeriods": MAX_PERIODS,
                           "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
                           "MaxChargingProfilesInstalled": MAX_PROFILES}}
CONNECTOR_0 = {"ChargePointMaxProfile": 5, "TxDefaultProfile": 5}
"""Profiles on connector 0, by purpose (stack levels 0..n-1); the rest go to connectors 1..128."""


def _load(name: str, path: Path) -> Any:
    """A module by path (tests/bench and tests/actors are no packages)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load("ocpp_cp_bench_run_helpers", Path(__file__).with_name("run.py"))
"""tests/bench/run.py: _build_app, _summary, _percentile, _wait_until, _wait_idle."""


def _reference_module() -> Any:
    return _load("ocpp_cp_composite_reference", REPO / "tests" / "actors" / "test_composite_schedule.py")


# --- the profiles ---------------------------------------------------------------------------------


def _iso(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _periods(rng: random.Random, unit: str) -> list[dict[str, Any]]:
    """1..24 periods; steps of 20..300 s, so most of a schedule falls into a 600 s window."""
    count = rng.randint(1, MAX_PERIODS)
    starts, at = [0], 0
    for _ in range(count - 1):
        at += rng.randint(20, 300)
        starts.append(at)
    out = []
    for start in starts:
        limit = rng.randint(60, 320) / 10 if unit == "A" else float(rng.randint(14, 221) * 100)
        period: dict[str, Any] = {"startPeriod": start, "limit": limit}
        if rng.random() < 0.2:  # noqa: PLR2004
            period["numberPhases"] = rng.choice((1, 3))
        out.append(period)
    return out


def _profile(rng: random.Random, profile_id: int, purpose: str, stack: int, now: datetime,
             transaction_id: int | None = None) -> dict[str, Any]:
    """One csChargingProfiles object, valid for longer than the benchmark runs (none expires)."""
    kinds = ["Absolute", "Recurring"] + ([] if purpose == "ChargePointMaxProfile" else ["Relative"])
    kind = rng.choice(kinds)
    unit = rng.choice(("A", "W"))
    periods = _periods(rng, unit)
    span = periods[-1]["startPeriod"]
    schedule: dict[str, Any] = {"chargingRateUnit": unit, "chargingSchedulePeriod": periods}
    body: dict[str, Any] = {"chargingProfileId": profile_id, "stackLevel": stack,
                            "chargingProfilePurpose": purpose, "chargingProfileKind": kind}
    if kind == "Absolute":
        # Its changes straddle the first rounds' windows; no duration, or one past the run.
        schedule["startSchedule"] = _iso(now - timedelta(seconds=rng.randint(0, max(span - 300, 0))))
        if rng.random() < 0.5:  # noqa: PLR2004
            schedule["duration"] = span + 7200
    elif kind == "Recurring":
        body["recurrencyKind"] = rng.choice(("Daily", "Weekly"))
        days = 1 if body["recurrencyKind"] == "Daily" else 7
        back = rng.randint(1, 30) * days * 86400 + rng.randint(0, max(span - 300, 0))
        schedule["startSchedule"] = _iso(now - timedelta(seconds=back))
        if rng.random() < 0.5:  # noqa: PLR2004
            schedule["duration"] = min(span + 3600, days * 86400)
    elif rng.random() < 0.5:  # noqa: PLR2004 (Relative: from the transaction's start)
        schedule["duration"] = span + 3600
    if rng.random() < 0.2:  # noqa: PLR2004
        body["validFrom"] = _iso(now - timedelta(days=1))
        body["validTo"] = _iso(now + timedelta(days=30))
    if transaction_id is not None:
        body["transactionId"] = transaction_id
    body["chargingSchedule"] = schedule
    return body


def _profile_plan(rng: random.Random, now: datetime, transaction_ids: dict[int, int]
                  ) -> list[tuple[int, dict[str, Any]]]:
    """(connectorId, csChargingProfiles) x MAX_PROFILES, none replacing another: a distinct
    (connector, purpose, stackLevel) each. Connector 0 gets CONNECTOR_0; connectors 1..N take
    the rest in turn, alternating TxDefaultProfile and TxProfile on distinct stack levels."""
    plan: list[tuple[int, dict[str, Any]]] = []
    for purpose, count in CONNECTOR_0.items():
        for stack in range(count):
            plan.append((0, _profile(rng, len(plan) + 1, purpose, stack, now)))
    levels = {(c, p): rng.sample(range(MAX_STACK + 1), MAX_STACK + 1)
              for c in range(1, EVSES + 1) for p in ("TxDefaultProfile", "TxProfile")}
    turn = 0
    while len(plan) < MAX_PROFILES:
        connector = turn % EVSES + 1
        purpose = ("TxDefaultProfile", "TxProfile")[turn // EVSES % 2]
        stack = levels[(connector, purpose)].pop()
        tx = transaction_ids[connector] if purpose == "TxProfile" else None
        plan.append((connector, _profile(rng, len(plan) + 1, purpose, stack, now, tx)))
        turn += 1
    return plan


# --- measuring ------------------------------------------------------------------------------------


def _actor_thread(prefix: str) -> threading.Thread:
    """The thread of the (one) actor whose thread name is ``prefix-<n>``."""
    found = [t for t in threading.enumerate() if t.name.rsplit("-", 1)[0] == prefix and t.is_alive()]
    if len(found) != 1:
        msg = f"expected one {prefix} thread, found {[t.name for t in found]}"
        raise RuntimeError(msg)
    return found[0]


def _thread_clock(thread: threading.Thread) -> Callable[[], float]:
    """That thread's CPU seconds so far (a per-thread CPU clock, ns resolution; as run.py's _thread_cpu_s)."""
    assert thread.ident is not None
    clock_id = time.pthread_getcpuclockid(thread.ident)
    return lambda: time.clock_gettime(clock_id)


@contextlib.contextmanager
def _timed_receive(cls: type, message_type: type) -> Iterator[list[float]]:
    """While inside: the thread CPU that ``cls`` actors spend receiving ``message_type`` (the
    whole ``on_receive``: dispatch, handler, activity count) adds up in ``[seconds, count]``."""
    own = cls.__dict__.get("on_receive")
    inner = cls.on_receive
    spent = [0.0, 0]

    def on_receive(self: Any, message: Any) -> Any:
        if type(message) is not message_type:
            return inner(self, message)
        t0 = time.thread_time()
        try:
            return inner(self, message)
        finally:
            spent[0] += time.thread_time() - t0
            spent[1] += 1

    cls.on_receive = on_receive  # type: ignore[attr-defined]
    try:
        yield spent
    finally:
        if own is None:
            del cls.on_receive  # type: ignore[attr-defined]
        else:
            cls.on_receive = own  # type: ignore[attr-defined]


@contextlib.contextmanager
def _gc_times() -> Iterator[dict[int, list[float]]]:
    """While inside: the thread CPU of Python's garbage collections by thread ident,
    ``{ident: [seconds, full (generation 2) collections]}`` (a collection runs in the thread
    whose allocation set it off, and scans the whole heap of the process)."""
    spent: dict[int, list[float]] = {}
    began: dict[int, float] = {}

    def callback(phase: str, info: dict[str, int]) -> None:
        ident = threading.get_ident()
        if phase == "start":
            began[ident] = time.thread_time()
        elif ident in began:
            row = spent.setdefault(ident, [0.0, 0])
            row[0] += time.thread_time() - began.pop(ident)
            row[1] += info["generation"] == 2  # noqa: PLR2004

    gc.callbacks.append(callback)
    try:
        yield spent
    finally:
        gc.callbacks.remove(callback)


def _rounds(app: ChargePointApp, clock: ManualClock, n: int, limits: list[float]) -> dict[str, Any]:
    """``n`` publication rounds (after WARMUP_ROUNDS): advance 1 s, wait for quiet; per round the
    CPU of the publisher's and the simulator's threads, the simulator's ExternalLimits, the wall;
    and the garbage collections in the publisher's thread."""
    publisher_thread = _actor_thread("SchedulePublisher")
    publisher = _thread_clock(publisher_thread)
    simulator = _thread_clock(_actor_thread("Simulator"))
    pub_s: list[float] = []
    sim_s: list[float] = []
    ext_s: list[float] = []
    wall_s: list[float] = []
    gc_s: list[float] = []
    full_gcs = 0
    with _gc_times() as collections:
        for i in range(WARMUP_ROUNDS + n):
            g0, f0 = collections.get(publisher_thread.ident or 0, [0.0, 0])
            p0, s0, e0, k0 = publisher(), simulator(), limits[0], limits[1]
            t0 = time.perf_counter()
            clock.advance(INTERVAL_S)
            app.wait_quiet(timeout=30)
            t1 = time.perf_counter()
            p1, s1, e1, k1 = publisher(), simulator(), limits[0], limits[1]
            g1, f1 = collections.get(publisher_thread.ident or 0, [0.0, 0])
            if k1 - k0 != EVSES:
                msg = f"round {i}: the simulator got {k1 - k0} ExternalLimits, not {EVSES}"
                raise RuntimeError(msg)
            if i >= WARMUP_ROUNDS:
                pub_s.append(p1 - p0)
                sim_s.append(s1 - s0)
                ext_s.append(e1 - e0)
                wall_s.append(t1 - t0)
                gc_s.append(g1 - g0)
                full_gcs += int(f1 - f0)
    publication = [p + e for p, e in zip(pub_s, ext_s, strict=True)]
    without_gc = [p - g for p, g in zip(publication, gc_s, strict=True)]
    return {
        "publisher_cpu": bench._summary(pub_s),
        "simulator_external_limits_cpu": bench._summary(ext_s),
        "publication_cpu": bench._summary(publication),
        "simulator_thread_cpu": bench._summary(sim_s),
        "publisher_and_simulator_threads_cpu": bench._summary([p + s for p, s in zip(pub_s, sim_s, strict=True)]),
        "wall": bench._summary(wall_s),
        "publisher_percent": _percent(pub_s),
        "publication_percent": _percent(publication),
        # Context, may be 0: the publisher thread's garbage collections during the measured rounds.
        "gc": {"publisher_gc_ms_total": sum(gc_s) * 1000, "publisher_full_collections": full_gcs,
               "rounds_with_gc": sum(1 for g in gc_s if g > 0),
               "publication_cpu_without_gc": bench._summary(without_gc),
               "publication_percent_without_gc": _percent(without_gc)},
    }


def _percent(cpu_s: Sequence[float]) -> dict[str, float]:
    """CPU per round over the interval: % of one core."""
    return {"median": statistics.median(cpu_s) / INTERVAL_S * 100,
            "p99": bench._percentile(cpu_s, 99) / INTERVAL_S * 100}


def _table_of(app: ChargePointApp) -> tuple[tuple[InstalledProfile, ...], dict[int, datetime], StationSettings]:
    """The publisher's inputs, read back the way it reads them at start: the stored profiles in
    installation order, the open transactions' starts, the settings."""
    ask = app.directory.ask
    stored = ask("persistence", GetChargingProfiles(), timeout=10).profiles
    installed = tuple(InstalledProfile(connector_id=p.connector_id, profile=ChargingProfile.from_wire(p.profile))
                      for p in stored)
    starts = {}
    for connector in range(1, EVSES + 1):
        record = ask("persistence", GetOpenTransaction(connector_id=connector), timeout=10).record
        if record is not None and not record.stopped:
            starts[connector] = parse_time(record.started_at)
    return installed, starts, StationSettings.from_config(app.ctx.config.get, EVSES)


def _pure(table: tuple[InstalledProfile, ...], starts: dict[int, datetime], settings: StationSettings,
          now: datetime, duration: int, unit: str, n: int) -> tuple[dict[str, Any], dict[str, Any],
                                                                      tuple[CompositeSchedule, ...]]:
    """``n`` timed calls of all_composite_schedules (after 3 untimed): (thread CPU, the same less
    the garbage collections it set off, the result)."""
    cpu: list[float] = []
    without_gc: list[float] = []
    result: tuple[CompositeSchedule, ...] = ()
    me = threading.get_ident()
    with _gc_times() as collections:
        for i in range(3 + n):
            g0 = collections.get(me, [0.0, 0])[0]
            c0 = time.thread_time()
            result = all_composite_schedules(table, start=now, duration=duration, unit=unit, transactions=starts,
                                             settings=settings)
            c1 = time.thread_time()
            g1 = collections.get(me, [0.0, 0])[0]
            if i >= 3:  # noqa: PLR2004
                cpu.append(c1 - c0)
                without_gc.append(c1 - c0 - (g1 - g0))
    return bench._summary(cpu), bench._summary(without_gc), result


def _naive(ref: Any, table: tuple[InstalledProfile, ...], starts: dict[int, datetime], settings: StationSettings,
           now: datetime, duration: int, unit: str, connectors: Sequence[int], station_step: int,
           ours: Sequence[CompositeSchedule]) -> dict[str, Any]:
    """The per-instant reference made into schedules: every second of the window for each of
    ``connectors``, every ``station_step``-th second for connector 0 (extrapolated to all);
    checked against ``ours`` at every instant it computed."""
    window = ref.sec(now)
    tx = {c: ref.sec(t) for c, t in starts.items()}
    mismatches = checked = 0

    def at(connector: int, offset: int) -> tuple[float, int | None]:
        nonlocal mismatches, checked
        checked += 1
        limit, phases = ref.reference(table, connector, window + offset, window, unit, tx, settings)
        limit = ref.floor01(limit)
        got = ref.period_at(ours[connector], offset)
        if not (math.isclose(got.limit, limit, abs_tol=1e-6) and got.number_phases == phases):
            mismatches += 1
        return limit, phases

    def schedule(connector: int, offsets: range) -> list[tuple[int, float, int | None]]:
        periods: list[tuple[int, float, int | None]] = []
        for offset in offsets:
            limit, phases = at(connector, offset)
            if not periods or periods[-1][1:] != (limit, phases):
                periods.append((offset, limit, phases))
        return periods

    per_connector: list[float] = []
    for connector in connectors:
        c0 = time.thread_time()
        schedule(connector, range(duration))
        per_connector.append(time.thread_time() - c0)
    c0 = time.thread_time()
    schedule(0, range(0, duration, station_step))
    station_s = (time.thread_time() - c0) * station_step
    mean = statistics.fmean(per_connector)
    return {"connectors": list(connectors), "instants_per_connector": duration,
            "station_step_s": station_step, "station_instants": len(range(0, duration, station_step)),
            "per_connector": bench._summary(per_connector),
            "connector_0_extrapolated_ms": station_s * 1000,
            "round_ms": (mean * EVSES + station_s) * 1000,
            "mismatches": mismatches, "checked": checked}


# --- the run --------------------------------------------------------------------------------------


def _boot_reply(_cp_id: str, _payload: object) -> dict[str, Any]:
    return {"status": "Accepted", "interval": 86400, "currentTime": utc_now()}


def _start_transactions(app: ChargePointApp, csms: LocalCsms) -> dict[int, int]:
    """Plug in and swipe on every EVSE; once all run and the link is idle: evse → transaction id."""
    sim = SimController(app.directory)
    starts0 = csms.count("StartTransaction", CP_ID)
    for evse in range(1, EVSES + 1):
        sim.plug_in(evse)
        sim.swipe(evse, f"T{evse}")
    bench._wait_until(lambda: csms.count("StartTransaction", CP_ID) >= starts0 + EVSES, 60,
                      f"{EVSES} StartTransactions")
    bench._wait_idle(app, 30)
    app.wait_quiet(timeout=30)
    ids = {evse: app.directory.ask(f"evse/{evse}", GetEvseState(), timeout=10).transaction_id
           for evse in range(1, EVSES + 1)}
    missing = [evse for evse, tx in ids.items() if tx is None]
    if missing:
        msg = f"no transaction id on EVSE(s) {missing}"
        raise RuntimeError(msg)
    return ids  # type: ignore[return-value]


def _install(app: ChargePointApp, csms: LocalCsms, plan: Sequence[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """SetChargingProfile for each, one at a time; every one must be Accepted."""
    took: list[float] = []
    t_all = time.perf_counter()
    for connector, body in plan:
        t0 = time.perf_counter()
        answer = csms.call(CP_ID, "SetChargingProfile", {"connectorId": connector, "csChargingProfiles": body},
                           timeout=30)
        took.append(time.perf_counter() - t0)
        if answer.get("status") != "Accepted":
            msg = f"profile {body['chargingProfileId']} on connector {connector}: {answer}"
            raise RuntimeError(msg)
    total = time.perf_counter() - t_all
    app.wait_quiet(timeout=60)
    bench._wait_idle(app, 30)
    return {"set_charging_profile": bench._summary(took), "profiles": len(plan), "total_s": total}


def _mix(plan: Sequence[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """What the table holds, by purpose, kind and unit; periods per profile."""
    count: dict[str, dict[str, int]] = {"purpose": {}, "kind": {}, "unit": {}}
    periods = []
    for _connector, body in plan:
        schedule = body["chargingSchedule"]
        for key, value in (("purpose", body["chargingProfilePurpose"]), ("kind", body["chargingProfileKind"]),
                           ("unit", schedule["chargingRateUnit"])):
            count[key][value] = count[key].get(value, 0) + 1
        periods.append(len(schedule["chargingSchedulePeriod"]))
    return {**count, "periods_total": sum(periods), "periods_median": statistics.median(periods),
            "periods_max": max(periods), "on_connector_0": sum(1 for c, _ in plan if c == 0)}


def run(workdir: Path, n_rounds: int, naive_connectors: Sequence[int], station_step: int, n_pure: int
        ) -> dict[str, Any]:
    clock = ManualClock()
    csms = LocalCsms().start()
    csms.set_reply("BootNotification", _boot_reply, cp_id=CP_ID)
    results: dict[str, Any] = {}
    try:
        app = bench._build_app(csms.url, CP_ID, workdir, clock, evses=EVSES, keys=SMART,
                               options={"PublishChargingScheduleIntervalS": INTERVAL_S})
        duration = int(app.options["PublishChargingScheduleDurationS"])
        unit = str(app.options["RequestCompositeScheduleUnit"])
        with _timed_receive(Simulator, ExternalLimits) as limits:
            app.start()
            try:
                clock.wait_for_timer(lambda m: isinstance(m, HeartbeatDue), timeout=30)
                bench._wait_until(lambda: csms.count("StatusNotification", CP_ID) >= EVSES + 1, 60,
                                  "the StatusNotifications")
                bench._wait_idle(app, 30)
                print(f"  {EVSES} transactions ...", flush=True)
                transaction_ids = _start_transactions(app, csms)

                print(f"  {n_rounds} rounds, no profile installed ...", flush=True)
                results["rounds_0"] = _rounds(app, clock, n_rounds, limits)
                empty, starts, settings = _table_of(app)
                assert empty == ()
                now = clock.now().replace(microsecond=0)
                pure_0, pure_0_no_gc, _ = _pure(empty, starts, settings, now, duration, unit, n_pure)

                plan = _profile_plan(random.Random(SEED), clock.now(), transaction_ids)
                print(f"  installing {len(plan)} profiles through the CSMS ...", flush=True)
                results["install"] = _install(app, csms, plan)
                results["table"] = _mix(plan)

                print(f"  {n_rounds} rounds, {len(plan)} profiles installed ...", flush=True)
                results["rounds_full"] = _rounds(app, clock, n_rounds, limits)

                print(f"  all_composite_schedules x{n_pure}, the naive reference for connectors "
                      f"{', '.join(map(str, naive_connectors))} and 0 ...", flush=True)
                table, starts, settings = _table_of(app)
                if len(table) != MAX_PROFILES:
                    msg = f"{len(table)} profiles stored, not {MAX_PROFILES}"
                    raise RuntimeError(msg)
                now = clock.now().replace(microsecond=0)
                pure, pure_no_gc, ours = _pure(table, starts, settings, now, duration, unit, n_pure)
                published = app.directory.ask("schedule_publisher", GetChargingSchedules(), timeout=30).schedules
                ref = _reference_module()
                results["naive"] = _naive(ref, table, starts, settings, now, duration, unit, naive_connectors,
                                          station_step, ours)
                results["pure"] = {"profiles_full": pure, "profiles_full_without_gc": pure_no_gc,
                                   "profiles_0": pure_0, "profiles_0_without_gc": pure_0_no_gc,
                                   "periods_out": sum(len(s.periods) for s in ours)}
                results["checks"] = {"pure_equals_publisher": tuple(ours) == tuple(published),
                                     "reference_mismatches": results["naive"].pop("mismatches"),
                                     "reference_instants_checked": results["naive"].pop("checked"),
                                     "external_limits_per_round": EVSES}
            finally:
                app.stop()
        results["meta_run"] = {"duration_s": duration, "unit": unit, "csms_failures": len(csms.failures)}
    finally:
        csms.stop()
    return results


def _derive(results: dict[str, Any]) -> None:
    """Ratios and the verdict, all from this run's figures."""
    full, zero, pure, naive = results["rounds_full"], results["rounds_0"], results["pure"], results["naive"]
    pub, ours_ms = full["publisher_cpu"]["median_ms"], pure["profiles_full"]["median_ms"]
    results["ratios"] = {
        "publisher_full_over_0": pub / zero["publisher_cpu"]["median_ms"],
        "publication_full_over_0": full["publication_cpu"]["median_ms"] / zero["publication_cpu"]["median_ms"],
        "computation_share_of_publisher": ours_ms / pub,
        "naive_over_ours": naive["round_ms"] / ours_ms,
        "naive_over_publication": naive["round_ms"] / full["publication_cpu"]["median_ms"],
    }
    results["target"] = {"percent": TARGET_PERCENT,
                         "met_median": full["publication_percent"]["median"] < TARGET_PERCENT,
                         "met_p99": full["publication_percent"]["p99"] < TARGET_PERCENT}


# --- the table ------------------------------------------------------------------------------------


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"  # noqa: PLR2004


def _table(results: dict[str, Any]) -> str:
    full, zero, pure, naive = results["rounds_full"], results["rounds_0"], results["pure"], results["naive"]
    ratios, target, install, mix = results["ratios"], results["target"], results["install"], results["table"]
    n_profiles = install["profiles"]

    def ms(s: dict[str, Any]) -> str:
        return f"p99 {s['p99_ms']:.2f} ms, max {s['max_ms']:.2f} ms"

    verdict = (f"target < {target['percent']:.0f} %: median {'met' if target['met_median'] else 'NOT met'}, "
               f"p99 {'met' if target['met_p99'] else 'NOT met'}")
    rows = [
        (f"publication round, {n_profiles} profiles: publisher + 128 ExternalLimits", full["publication_cpu"]["n"],
         full["publication_percent"]["median"], "% of a core", zero["publication_percent"]["median"],
         ratios["publication_full_over_0"],
         f"{verdict}; p99 {full['publication_percent']['p99']:.2f} % (baseline p99 "
         f"{zero['publication_percent']['p99']:.2f} %); baseline = the same round with 0 profiles; CPU per round / 1 s"),
        ("  the same, less the publisher thread's garbage collections", full["gc"]["publication_cpu_without_gc"]["n"],
         full["gc"]["publication_percent_without_gc"]["median"], "% of a core",
         zero["gc"]["publication_percent_without_gc"]["median"], None,
         f"p99 {full['gc']['publication_percent_without_gc']['p99']:.2f} %; context: {full['gc']['rounds_with_gc']} "
         f"rounds had a collection in that thread, {full['gc']['publisher_full_collections']} of them full "
         f"(generation 2, which scans the whole process), {full['gc']['publisher_gc_ms_total']:.0f} ms in all"),
        ("  publisher thread (SchedulePublisher)", full["publisher_cpu"]["n"], full["publisher_cpu"]["median_ms"],
         "ms CPU", zero["publisher_cpu"]["median_ms"], ratios["publisher_full_over_0"],
         f"{full['publisher_percent']['median']:.2f} % of a core; {ms(full['publisher_cpu'])}; "
         "compute 129 schedules, tell 128 ExternalLimits, publish ChargingSchedules"),
        ("  simulator: the 128 ExternalLimits", full["simulator_external_limits_cpu"]["n"],
         full["simulator_external_limits_cpu"]["median_ms"], "ms CPU",
         zero["simulator_external_limits_cpu"]["median_ms"],
         full["simulator_external_limits_cpu"]["median_ms"] / zero["simulator_external_limits_cpu"]["median_ms"],
         f"{ms(full['simulator_external_limits_cpu'])}; its on_receive of them (convert to W, follow the limit)"),
        ("  simulator thread, whole round", full["simulator_thread_cpu"]["n"], full["simulator_thread_cpu"]["median_ms"],
         "ms CPU", zero["simulator_thread_cpu"]["median_ms"],
         full["simulator_thread_cpu"]["median_ms"] / zero["simulator_thread_cpu"]["median_ms"],
         "context: the ExternalLimits + its own 1 s meter tick of 128 charging EVSEs (not publication)"),
        ("  wall, clock.advance(1 s) -> quiet", full["wall"]["n"], full["wall"]["median_ms"], "ms",
         zero["wall"]["median_ms"], full["wall"]["median_ms"] / zero["wall"]["median_ms"],
         f"{ms(full['wall'])}; every actor (the Evses take the meter tick), 2 noisy cores"),
        ("all_composite_schedules alone, same table", pure["profiles_full"]["n"], pure["profiles_full"]["median_ms"],
         "ms CPU", pure["profiles_0"]["median_ms"], pure["profiles_full"]["median_ms"] / pure["profiles_0"]["median_ms"],
         f"{ms(pure['profiles_full'])} (less its garbage collections p99 "
         f"{pure['profiles_full_without_gc']['p99_ms']:.2f} ms); baseline = empty table; {ratios['computation_share_of_publisher'] * 100:.0f} % "
         f"of the publisher's round is this computation, the rest messaging; {pure['periods_out']:,} periods out"),
        ("naive per-instant reference, per round (extrapolated)", len(naive["connectors"]) + 1, naive["round_ms"],
         "ms CPU", pure["profiles_full"]["median_ms"], ratios["naive_over_ours"],
         f"ratio = naive / all_composite_schedules; = {naive['round_ms'] / 10 / INTERVAL_S:.0f} % of a core at 1 s; "
         f"the limit at each of {naive['instants_per_connector']} s, merged; tests/actors/test_composite_schedule.py"
         f".reference"),
        ("  naive, one connector", naive["per_connector"]["n"], naive["per_connector"]["median_ms"], "ms CPU",
         None, None, f"connectors {', '.join(map(str, naive['connectors']))}, x {EVSES}; connector 0 every "
         f"{naive['station_step_s']} s, x {naive['station_step_s']} = {naive['connector_0_extrapolated_ms']:,.0f} ms"),
        (f"install {n_profiles} profiles: SetChargingProfile round trip", install["set_charging_profile"]["n"],
         install["set_charging_profile"]["median_ms"], "ms", None, None,
         f"context: {ms(install['set_charging_profile'])}; {install['total_s']:.1f} s in all (each one a stored "
         f"table + a publication round); table: {_mix_text(mix)}"),
    ]
    header = ("composite schedules (issue #8)", "n", "value", "unit", "baseline", "ratio", "note")
    cells = [header] + [(m, str(k), _num(v), u, _num(b), "-" if r is None else f"{r:.2f}", note)
                        for m, k, v, u, b, r, note in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    right = {1, 2, 4, 5}

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    out.append(f"{EVSES} EVSEs, a transaction on each; PublishChargingScheduleIntervalS = {INTERVAL_S}, window "
               f"{results['meta']['window_s']} s in {results['meta']['unit']}; medians; ratio = value / baseline; "
               "CPU = per-thread CPU clocks")
    return "\n".join(out)


def _mix_text(mix: dict[str, Any]) -> str:
    parts = [", ".join(f"{k} {v}" for k, v in sorted(mix[key].items())) for key in ("purpose", "kind", "unit")]
    return (f"{'; '.join(parts)}; {mix['on_connector_0']} on connector 0; periods {mix['periods_total']:,} "
            f"(median {mix['periods_median']:.0f}, max {mix['periods_max']})")


# --- entry point ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/bench/schedules.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (for the smoke test)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    args = parser.parse_args(argv)

    n_rounds = 20 if args.quick else 200
    n_pure = 10 if args.quick else 100
    naive_connectors = (1, 128) if args.quick else (1, 43, 86, 128)
    station_step = 100 if args.quick else 20

    began = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {"quick": args.quick, "python": platform.python_version(), "cpus": os.cpu_count(),
                 "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "evses": EVSES, "interval_s": INTERVAL_S, "rounds": n_rounds, "warmup_rounds": WARMUP_ROUNDS,
                 "seed": SEED, "units": "milliseconds of CPU unless said; percent = of one core at the interval"},
    }
    print(f"composite schedules, {EVSES} EVSEs, {'quick' if args.quick else 'full'} run", flush=True)
    with tempfile.TemporaryDirectory(prefix="ocpp-bench-schedules-") as tmp:
        out = run(Path(tmp), n_rounds, naive_connectors, station_step, n_pure)
    meta_run = out.pop("meta_run")
    results["meta"].update(window_s=meta_run["duration_s"], unit=meta_run["unit"],
                           csms_failures=meta_run["csms_failures"])
    results.update(out)
    _derive(results)
    results["meta"]["duration_s"] = time.perf_counter() - began

    print()
    print(_table(results))
    checks = results["checks"]
    print(f"\nchecks: all_composite_schedules {'equals' if checks['pure_equals_publisher'] else 'DIFFERS FROM'} "
          f"the publisher's round; the reference disagreed at {checks['reference_mismatches']} of "
          f"{checks['reference_instants_checked']:,} instant(s); "
          f"the CSMS saw {results['meta']['csms_failures']} invalid frame(s); "
          f"{results['meta']['duration_s']:.1f} s in all")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
