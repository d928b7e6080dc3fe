"""Benchmarks of issues #2, #3, #4 and #5: start-up, heartbeat round trip, actor restart; 128 EVSEs;
draining an offline backlog; recording overhead and replay speed.

Run from the repository root::

    .venv/bin/python tests/bench/run.py [--quick] [--json FILE]

Everything runs on 127.0.0.1 on free ports against the project's LocalCsms; every process
and actor system started here is stopped again. The machine is noisy, so each figure comes
with its spread and is set against a baseline measured in the same run:

1. process start → BootNotification received by the CSMS (``ocpp-cp run`` as a subprocess),
   next to the wall time of a bare ``python -c "import ocpp, websocket"``;
2. heartbeat round trip inside the charge point's CSMS link (in-process, manual clock),
   next to a bare asyncio client built on ``ocpp.v16.ChargePoint`` + ``websockets``;
   the two are measured in alternating rounds so that a noisy phase hits both;
3. actor restart: ``InjectCrash`` told to an actor → a new incarnation answers ``Ping``;
4. process start → a StatusNotification of every connector received and answered, with 128
   EVSEs (129 of them) next to 1 EVSE (2), ``ocpp-cp run`` as a subprocess; the resident memory
   and thread count of both processes at that moment;
5. RemoteStartTransaction → StartTransaction with the cable already plugged in (in-process,
   manual clock), timed on the LocalCsms's own frame and CALL timestamps;
6. CPU per second of wall time in steady state: 128 EVSEs charging with
   MeterValueSampleInterval = 1 (in-process on the real clock, the CSMS in a child process,
   tests/bench/csms_process.py), next to the same 128 EVSEs idle; MeterValues per second;
7. (run before 6) an offline backlog of 10,000 MeterValues (2,000 with ``--quick``): an in-process
   charge point on a manual clock loses its LocalCsms, is told the calls while offline (each stored
   through Persistence before it is queued; the fill rate is context), gets a LocalCsms back on the
   same port and drains the queue one CALL in flight at a time; messages per second from the link
   connected to the queue empty, next to a bare ``ocpp.v16.ChargePoint`` client sending the same
   calls one at a time to the same LocalCsms (and, as context, with ASYNC_VALIDATION off);
8. (after 6) recording overhead: measure 6's loaded window with recording off and on (TracePath set
   to a temporary directory), alternately, a fresh charge point each (off, on, off, on, off, on: 3
   windows each, 1 with ``--quick``); CPU % of one core both ways, the ratio, the overhead in %
   (issue #5's target: under 10 %), and the trace's growth in bytes and records per second while on;
   as context, the recorder's own cost per record with no actors around it;
9. replay speed: the last charge point of 8 keeps charging, and recording, until its trace holds
   100,000 records (10,000 with ``--quick``; ``--replay-records N``), then every EVSE is unplugged
   (between two of its samples) and the link left to go quiet, so the trace ends with nothing
   queued or unanswered; ``replay_trace`` of it, timed:
   recorded events per second of replay, the replay's wall time against the time the trace covers,
   whether it matched (if not, the report's first lines are printed and the table says so), and the
   rate in each tenth of the records.

Rows marked "context" explain the figures: the wall time of ``python -c`` importing our own
modules, app.start() → BootNotification in-process, the heartbeat seen from outside the link
(the link's own round trip starts only after the frame has been sent), and the baseline
client with the ocpp package's thread-pool validation switched off.

``main(argv) -> int`` is the entry point for the smoke test as well.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pykka  # noqa: E402

from actors.clock import ManualClock  # noqa: E402
from messages.csms import GetLinkStats, HeartbeatDue, LinkStats  # noqa: E402
from messages.lifecycle import InjectCrash, Ping, Pong  # noqa: E402
from supervisor.app import ChargePointApp  # noqa: E402
from supervisor.config import load_charge_point_config, load_module_config  # noqa: E402
from supervisor.local_csms import LocalCsms, utc_now  # noqa: E402
from supervisor.sim_control import SimController  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

__all__ = ["main"]

RESTART_TARGET_MS = 100.0
HEARTBEAT_INTERVAL_S = 60
WARMUP_CALLS = 10
"""Heartbeats sent (and not counted) before each measured round, ours and the baseline's."""
POLL_S = 0.0002
"""Sleep between polls. Never spin: a busy loop holds the GIL and slows the threads measured."""


# --- small helpers ------------------------------------------------------------------------------


def _percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _summary(samples_s: Sequence[float]) -> dict[str, Any]:
    """Figures in milliseconds."""
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "median_ms": statistics.median(ms),
        "p99_ms": _percentile(ms, 99),
        "min_ms": min(ms),
        "max_ms": max(ms),
    }


def _wait_until(condition: Callable[[], object], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout} s waiting for {what}"
            raise TimeoutError(msg)
        time.sleep(POLL_S)


def _link_stats(app: ChargePointApp) -> LinkStats:
    return app.directory.ask("csms", GetLinkStats(), timeout=5)


def _wait_idle(app: ChargePointApp, timeout: float = 10.0) -> LinkStats:
    """Nothing queued or in flight on the CSMS link, so moving the manual clock times nothing out."""
    def idle() -> LinkStats | None:
        stats = _link_stats(app)
        return None if stats.busy else stats
    return _wait_until(idle, timeout, "an idle CSMS link")


def _boot_reply(_cp_id: str, _payload: object) -> dict[str, Any]:
    return {"status": "Accepted", "interval": HEARTBEAT_INTERVAL_S, "currentTime": utc_now()}


IN_PROCESS_BOOT_S: list[float] = []
"""app.start() → BootNotification received, for every manual-clock in-process charge point of this run."""


def _user_config(path: Path, url: str, cp_id: str, keys: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write a user config pointing at ``url`` as ``cp_id``, patched with ``keys`` ({profile: {key: value}})."""
    patch: dict[str, dict[str, Any]] = {"Internal": {"CentralSystemURI": url, "ChargePointId": cp_id}}
    for profile, values in (keys or {}).items():
        patch.setdefault(profile, {}).update(values)
    path.write_text(json.dumps(patch))
    return path


def _build_app(url: str, cp_id: str, workdir: Path, clock: ManualClock | None, *, evses: int = 1,
               keys: dict[str, dict[str, Any]] | None = None, options: dict[str, Any] | None = None
               ) -> ChargePointApp:
    """An in-process charge point built like the tests' ``make_charge_point`` (not started).

    ``clock=None`` gives the app its real SystemClock; ``options`` are more module options
    (e.g. ``{"TracePath": dir}``).
    """
    user_config = _user_config(workdir / f"{cp_id}-user_config.json", url, cp_id, keys)
    overrides = {"EvseCount": evses, "DatabasePath": workdir / f"{cp_id}-db",
                 "MessageLogPath": workdir / f"{cp_id}-log", "UserConfigPath": user_config, **(options or {})}
    module = load_module_config(None, [f"{k}={v}" for k, v in overrides.items()])
    return ChargePointApp(module, load_charge_point_config(module), clock=clock)


@contextlib.contextmanager
def _charge_point(csms: LocalCsms, cp_id: str, workdir: Path, clock: ManualClock,
                  keys: dict[str, dict[str, Any]] | None = None) -> Iterator[ChargePointApp]:
    """An in-process one-EVSE charge point on a manual clock, registered and idle; stopped on exit."""
    app = _build_app(csms.url, cp_id, workdir, clock, keys=keys)
    t0 = time.monotonic()
    app.start()
    try:
        IN_PROCESS_BOOT_S.append(csms.wait_for("BootNotification", cp_id=cp_id, timeout=10).at - t0)
        # Registered, heartbeat armed, both StatusNotifications answered.
        clock.wait_for_timer(lambda m: isinstance(m, HeartbeatDue), timeout=10)
        _wait_until(lambda: csms.count("StatusNotification", cp_id) >= 2, 10, "the StatusNotifications")
        _wait_idle(app)
        yield app
    finally:
        app.stop()


@contextlib.contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Silence loggers for crashes we cause on purpose (each would print a traceback)."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _ocpp_cp_command() -> list[str]:
    """The installed console script next to this interpreter, else the repo's venv."""
    for candidate in (Path(sys.executable).parent / "ocpp-cp", REPO / ".venv" / "bin" / "ocpp-cp"):
        if candidate.exists():
            return [str(candidate)]
    return [sys.executable, "-m", "supervisor.cli"]


def _stop_process(proc: subprocess.Popen[bytes]) -> tuple[float, int | None]:
    """SIGTERM, wait (kill after 15 s); returns (seconds to exit, exit code)."""
    if proc.poll() is not None:
        return 0.0, proc.returncode
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
        return time.monotonic() - t0, None
    return time.monotonic() - t0, code


# --- 1. process start → BootNotification ------------------------------------------------------------


FLOOR_CODE = "import ocpp, websocket"
OUR_IMPORTS_CODE = "import supervisor.cli, supervisor.app"


def _start_once(csms: LocalCsms, workdir: Path, i: int, command: list[str]) -> tuple[float, float, float, int | None]:
    """One ``ocpp-cp run``: (s from Popen to BootNotification received, s from there to the last
    StatusNotification, s from SIGTERM to exit, exit code)."""
    cp_id = f"BENCH-START-{i}"
    rundir = workdir / f"start-{i}"
    rundir.mkdir()
    user_config = rundir / "user_config.json"
    user_config.write_text(json.dumps({"Internal": {"CentralSystemURI": csms.url, "ChargePointId": cp_id}}))
    argv = [*command, "--log-level", "WARNING", "run",
            "--set", f"UserConfigPath={user_config}",
            "--set", f"DatabasePath={rundir / 'db'}",
            "--set", f"MessageLogPath={rundir / 'log'}"]
    stderr_path = rundir / "stderr.txt"
    with stderr_path.open("wb") as stderr:
        t0 = time.monotonic()  # the same clock as LocalCsms's Received.at
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                cwd=rundir)
        try:
            try:
                boot = csms.wait_for("BootNotification", cp_id=cp_id, timeout=30)
                last = csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1,
                                     cp_id=cp_id, timeout=10)
            except AssertionError as exc:
                tail = stderr_path.read_text(errors="replace")[-2000:]
                msg = f"ocpp-cp did not boot (exit code {proc.poll()}): {exc}\n{tail}"
                raise RuntimeError(msg) from None
        finally:
            took, code = _stop_process(proc)
    return boot.at - t0, last.at - boot.at, took, code


def _interpreter_once(code: str) -> float:
    """Wall time of ``python -c code``, from just before Popen to its exit."""
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30, cwd=REPO,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def bench_startup(csms: LocalCsms, workdir: Path, reps: int) -> dict[str, Any]:
    """The charge point's start, interleaved with the two interpreter-only processes."""
    command = _ocpp_cp_command()
    floor: list[float] = []
    imports: list[float] = []
    boot_s: list[float] = []
    status_s: list[float] = []
    stop_s: list[float] = []
    exit_codes: list[int | None] = []
    for i in range(reps):
        floor.append(_interpreter_once(FLOOR_CODE))
        imports.append(_interpreter_once(OUR_IMPORTS_CODE))
        boot, status, stop, code = _start_once(csms, workdir, i, command)
        boot_s.append(boot)
        status_s.append(status)
        stop_s.append(stop)
        exit_codes.append(code)
    return {
        "startup": {"boot": _summary(boot_s), "boot_to_status": _summary(status_s),
                    "sigterm_to_exit": _summary(stop_s), "exit_codes": exit_codes,
                    "samples_ms": [s * 1000 for s in boot_s], "command": command},
        "import_floor": {**_summary(floor), "samples_ms": [s * 1000 for s in floor], "code": FLOOR_CODE},
        "import_ours": {**_summary(imports), "samples_ms": [s * 1000 for s in imports], "code": OUR_IMPORTS_CODE},
    }


# --- 2. heartbeat round trip ---------------------------------------------------------------------


def _our_heartbeats(app: ChargePointApp, clock: ManualClock, n: int) -> tuple[list[float], list[float]]:
    """``n`` heartbeats, one at a time, each answered before the clock moves.

    Returns the round trips measured inside the link (LinkStats.rtts: from after the frame was
    sent to after the answer was validated, in the actor) and, from out here, the time from
    ``clock.advance`` to seeing the answer counted (adds the timer delivery, encoding and
    validation of the CALL, and the polling granularity).
    """
    stats = _wait_idle(app)
    start = stats.results_received
    outside: list[float] = []
    for _ in range(n):
        before = stats.results_received
        t0 = time.perf_counter()
        clock.advance(HEARTBEAT_INTERVAL_S)
        stats = _wait_until(lambda before=before: (s := _link_stats(app)).results_received > before and s,
                            10, "a heartbeat answer")
        outside.append(time.perf_counter() - t0)
        if stats.busy:
            stats = _wait_idle(app)
    answered = stats.results_received - start
    if answered != n:
        msg = f"expected {n} heartbeat answers, got {answered}"
        raise RuntimeError(msg)
    return list(stats.rtts[-n:]), outside


async def _baseline_heartbeats(url: str, cp_id: str, n: int, warmup: int) -> list[float]:
    import websockets
    from ocpp.v16 import ChargePoint, call

    async with websockets.connect(url + cp_id, subprotocols=["ocpp1.6"]) as ws:
        cp = ChargePoint(cp_id, ws)
        reader = asyncio.create_task(cp.start())
        try:
            rtts: list[float] = []
            for i in range(warmup + n):
                t0 = time.perf_counter()
                await cp.call(call.Heartbeat(), suppress=False)
                if i >= warmup:
                    rtts.append(time.perf_counter() - t0)
            return rtts
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


@contextlib.contextmanager
def _ocpp_sync_validation() -> Iterator[None]:
    import ocpp.messages

    saved = ocpp.messages.ASYNC_VALIDATION
    ocpp.messages.ASYNC_VALIDATION = False
    try:
        yield
    finally:
        ocpp.messages.ASYNC_VALIDATION = saved


def bench_heartbeat(csms: LocalCsms, workdir: Path, n: int, rounds: int) -> dict[str, Any]:
    cp_id = "BENCH-HB"
    csms.set_reply("BootNotification", _boot_reply, cp_id=cp_id)
    clock = ManualClock()
    ours: list[float] = []
    base: list[float] = []
    base_sync: list[float] = []
    ours_outside: list[float] = []
    per_round: list[dict[str, float]] = []
    sizes = [n // rounds + (1 if r < n % rounds else 0) for r in range(rounds)]
    t_ours = t_base = 0.0
    with _charge_point(csms, cp_id, workdir, clock) as app:
        for size in sizes:  # alternate, so a noisy phase of the machine hits both sides
            _our_heartbeats(app, clock, WARMUP_CALLS)  # not counted
            t0 = time.perf_counter()
            mine, seen = _our_heartbeats(app, clock, size)
            ours_outside += seen
            t_ours += time.perf_counter() - t0
            t0 = time.perf_counter()
            theirs = asyncio.run(_baseline_heartbeats(csms.url, "BASE1", size, WARMUP_CALLS))
            t_base += time.perf_counter() - t0
            with _ocpp_sync_validation():
                base_sync += asyncio.run(_baseline_heartbeats(csms.url, "BASE2", size, WARMUP_CALLS))
            ours += mine
            base += theirs
            per_round.append({"ours_median_ms": statistics.median(mine) * 1000,
                              "baseline_median_ms": statistics.median(theirs) * 1000,
                              "ratio_median": statistics.median(mine) / statistics.median(theirs)})
    result_ours, result_base = _summary(ours), _summary(base)
    return {
        "ours": result_ours,
        "baseline": result_base,
        "ratio_median": result_ours["median_ms"] / result_base["median_ms"],
        "ratio_p99": result_ours["p99_ms"] / result_base["p99_ms"],
        # Context: the same client with ocpp.messages.ASYNC_VALIDATION = False, i.e. without
        # the two thread-pool hops per call that the library's default validation costs.
        "baseline_sync_validation": _summary(base_sync),
        # Context: ours seen from outside, clock.advance -> answer counted (polled every ~0.2 ms).
        "ours_end_to_end": _summary(ours_outside),
        "rounds": per_round,
        # Wall time per heartbeat of the whole loop (clock.advance + polling GetLinkStats
        # for ours; includes the connect for the baseline); context only.
        "loop_ms_per_call": {"ours": t_ours / n * 1000, "baseline": t_base / n * 1000},
    }


# --- 3. actor restart ----------------------------------------------------------------------------


def _restart_once(app: ChargePointApp, name: str) -> tuple[float, float]:
    """Crash ``name``; returns (s until a new incarnation is registered, s until it answers Ping)."""
    old = app.ref(name)
    if old is None:
        msg = f"no actor {name} to crash"
        raise RuntimeError(msg)
    old_urn = old.actor_urn
    t0 = time.perf_counter()
    old.tell(InjectCrash())
    registered: float | None = None
    deadline = t0 + 10
    while True:
        ref = app.ref(name)
        if ref is not None and ref.actor_urn != old_urn:
            if registered is None:
                registered = time.perf_counter() - t0
            try:
                pong = ref.ask(Ping(), timeout=2)
            except (pykka.ActorDeadError, pykka.Timeout):
                pong = None
            if isinstance(pong, Pong) and pong.actor_urn == ref.actor_urn:
                return registered, time.perf_counter() - t0
        if app.gave_up.is_set():
            msg = f"supervisor gave up: {app.give_up_reason}"
            raise RuntimeError(msg)
        if time.perf_counter() > deadline:
            msg = f"{name} did not come back within 10 s"
            raise TimeoutError(msg)
        time.sleep(POLL_S)


def bench_restart(csms: LocalCsms, workdir: Path, reps: int, targets: Sequence[str]) -> dict[str, Any]:
    cp_id = "BENCH-RESTART"
    clock = ManualClock()
    serving: list[float] = []
    registered: list[float] = []
    by_actor: dict[str, list[float]] = {name: [] for name in targets}
    with _quiet("pykka", "ocpp_cp"), _charge_point(csms, cp_id, workdir, clock) as app:
        for i in range(reps):
            name = targets[i % len(targets)]
            reg, up = _restart_once(app, name)
            registered.append(reg)
            serving.append(up)
            by_actor[name].append(up)
            # Stay under the restart intensity (3 in 5 s on the injected clock); let the link
            # settle first so that moving the clock cannot time a CALL out.
            _wait_idle(app)
            clock.advance(10)
        if app.gave_up.is_set():
            msg = f"supervisor gave up: {app.give_up_reason}"
            raise RuntimeError(msg)
    summary = _summary(serving)
    return {**summary, "registered": _summary(registered),
            "by_actor": {name: _summary(s) for name, s in by_actor.items() if s},
            "target_ms": RESTART_TARGET_MS, "target_met": summary["max_ms"] < RESTART_TARGET_MS}


# --- 4. 128 EVSEs: process start → every StatusNotification answered; memory and threads ----------


def _proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (kB) and Threads of a live process, from /proc/<pid>/status."""
    wanted = {"VmRSS": "rss_kb", "VmHWM": "hwm_kb", "Threads": "threads"}
    figures: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in wanted:
            figures[wanted[key]] = int(value.split()[0])
    return figures


def _answer_frame_at(csms: LocalCsms, cp_id: str, message_id: str, timeout: float = 5.0) -> float:
    """``.at`` of the CSMS's answer to the CALL ``message_id`` (recorded just before it is sent)."""
    def find() -> float | None:
        for f in reversed(csms.frames):
            if f.cp_id == cp_id and f.direction == "out" and f.text.startswith("[3,"):
                if json.loads(f.text)[1] == message_id:
                    return f.at
        return None
    return _wait_until(find, timeout, f"the answer to {message_id}")


def _statuses_once(csms: LocalCsms, workdir: Path, evses: int, i: int, command: list[str]) -> dict[str, Any]:
    """One ``ocpp-cp run --set EvseCount=evses``, stopped once a StatusNotification of every
    connector (0..evses) has been received and answered."""
    cp_id = f"BENCH-N{evses}-{i}"
    rundir = workdir / f"statuses-{evses}-{i}"
    rundir.mkdir()
    user_config = _user_config(rundir / "user_config.json", csms.url, cp_id)
    argv = [*command, "--log-level", "WARNING", "run",
            "--set", f"EvseCount={evses}",
            "--set", f"UserConfigPath={user_config}",
            "--set", f"DatabasePath={rundir / 'db'}",
            "--set", f"MessageLogPath={rundir / 'log'}"]
    wanted = set(range(evses + 1))
    stderr_path = rundir / "stderr.txt"
    with stderr_path.open("wb") as stderr:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                cwd=rundir)
        try:
            firsts: dict[int, Any] = {}
            deadline = t0 + 60
            while not wanted <= firsts.keys():
                for r in csms.received:
                    if r.cp_id == cp_id and r.action == "StatusNotification":
                        firsts.setdefault(r.payload["connectorId"], r)
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = stderr_path.read_text(errors="replace")[-2000:]
                    msg = (f"ocpp-cp with {evses} EVSEs sent StatusNotifications for {len(firsts)} of "
                           f"{len(wanted)} connectors (exit code {proc.poll()})\n{tail}")
                    raise RuntimeError(msg)
                time.sleep(0.01)  # the figures come from the CSMS's own timestamps, not from this loop
            resources = _proc_status(proc.pid)
            boot = csms.wait_for("BootNotification", cp_id=cp_id, timeout=5)
            last = max((firsts[c] for c in wanted), key=lambda r: r.at)
            answered = _answer_frame_at(csms, cp_id, last.message_id)
            sent = sum(1 for r in csms.received if r.cp_id == cp_id and r.action == "StatusNotification")
        finally:
            took, code = _stop_process(proc)
    return {"answered_s": answered - t0, "received_s": last.at - t0, "boot_s": boot.at - t0,
            "boot_to_last_s": last.at - boot.at, "stop_s": took, "exit_code": code,
            "status_notifications": sent, **resources}


def bench_statuses(workdir: Path, reps: int, evses: int = 128) -> dict[str, Any]:
    """``evses`` EVSEs against one, alternating, each against a LocalCsms of its own (so that the
    polling here scans only this measure's traffic)."""
    command = _ocpp_cp_command()
    runs: dict[int, list[dict[str, Any]]] = {1: [], evses: []}
    with LocalCsms() as csms:
        for i in range(reps):
            for n in (1, evses):
                runs[n].append(_statuses_once(csms, workdir, n, i, command))
        failures = len(csms.failures)

    def figures(n: int) -> dict[str, Any]:
        samples = runs[n]
        return {
            "evses": n,
            "answered": _summary([s["answered_s"] for s in samples]),
            "received": _summary([s["received_s"] for s in samples]),
            "boot": _summary([s["boot_s"] for s in samples]),
            "boot_to_last": _summary([s["boot_to_last_s"] for s in samples]),
            "sigterm_to_exit": _summary([s["stop_s"] for s in samples]),
            "exit_codes": [s["exit_code"] for s in samples],
            "status_notifications": [s["status_notifications"] for s in samples],
            "samples_ms": [s["answered_s"] * 1000 for s in samples],
        }

    def memory(n: int) -> dict[str, Any]:
        samples = runs[n]
        return {"evses": n, "n": len(samples),
                "rss_kb": statistics.median(s["rss_kb"] for s in samples),
                "hwm_kb": statistics.median(s["hwm_kb"] for s in samples),
                "threads": statistics.median(s["threads"] for s in samples),
                "samples": [{k: s[k] for k in ("rss_kb", "hwm_kb", "threads")} for s in samples]}

    return {
        "statuses_128": figures(evses),
        "statuses_1": figures(1),
        "memory": {"evses_128": memory(evses), "evses_1": memory(1), "csms_failures": failures},
    }


# --- 5. RemoteStartTransaction → StartTransaction, cable already plugged --------------------------


def _status_after(csms: LocalCsms, cp_id: str, after: int, status: str) -> None:
    csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == status,
                  timeout=10, after=after, cp_id=cp_id)


def _call_until_accepted(csms: LocalCsms, cp_id: str, action: str, payload: dict[str, Any]) -> int:
    """Send the CALL until the charge point accepts it (its Station may not yet have seen the
    EVSE's latest state); returns how many were rejected first."""
    rejected = 0
    deadline = time.monotonic() + 10
    while csms.call(cp_id, action, payload)["status"] != "Accepted":
        rejected += 1
        if time.monotonic() > deadline:
            msg = f"{action} {payload} still rejected after 10 s"
            raise RuntimeError(msg)
        time.sleep(0.001)
    return rejected


def bench_remote_start(csms: LocalCsms, workdir: Path, n: int, warmup: int = 3) -> dict[str, Any]:
    """Plugged-in EVSE (Preparing); RemoteStartTransaction → StartTransaction, ``n`` times.

    Between rounds: RemoteStopTransaction, StopTransaction, Finishing, unplug (Available), plug
    in again (Preparing), link idle. Every time is a LocalCsms timestamp (``time.monotonic()``).
    """
    cp_id = "BENCH-REMOTE"
    issued: list[int] = []
    counter = iter(range(1, 1 << 30))

    def start_reply(_cp_id: str, _payload: object) -> dict[str, Any]:
        issued.append(next(counter))
        return {"transactionId": issued[-1], "idTagInfo": {"status": "Accepted"}}

    csms.set_reply("StartTransaction", start_reply, cp_id=cp_id)
    clock = ManualClock()
    sent_to_start: list[float] = []
    sent_to_start_frame: list[float] = []
    issued_to_start: list[float] = []
    sent_to_answer: list[float] = []
    stop_accepted: list[float] = []
    rejected = {"RemoteStartTransaction": 0, "RemoteStopTransaction": 0}
    with _charge_point(csms, cp_id, workdir, clock) as app:
        sim = SimController(app.directory)
        after = len(csms.received)
        sim.plug_in(1)
        _status_after(csms, cp_id, after, "Preparing")
        _wait_idle(app)
        for i in range(warmup + n):
            after, frames_after = len(csms.received), len(csms.frames)
            t_issued = time.monotonic()
            rejected["RemoteStartTransaction"] += _call_until_accepted(
                csms, cp_id, "RemoteStartTransaction", {"idTag": f"R{i}", "connectorId": 1})
            start = csms.wait_for("StartTransaction", timeout=10, after=after, cp_id=cp_id)
            frames = csms.frames[frames_after:]
            call_out = next(f for f in reversed(frames) if f.cp_id == cp_id and f.direction == "out"
                            and '"RemoteStartTransaction"' in f.text)
            call_id = json.loads(call_out.text)[1]
            answer_in = next(f for f in frames if f.cp_id == cp_id and f.direction == "in"
                             and f.text.startswith("[3,") and json.loads(f.text)[1] == call_id)
            start_in = next(f for f in frames if f.direction == "in" and f.text == start.frame)
            if i >= warmup:
                sent_to_start.append(start.at - call_out.at)
                sent_to_start_frame.append(start_in.at - call_out.at)
                issued_to_start.append(start.at - t_issued)
                sent_to_answer.append(answer_in.at - call_out.at)
            # Stop it, unplug, plug in again: the next round starts from Preparing once more.
            _wait_until(lambda: len(issued) == i + 1, 10, "the StartTransaction answer")
            after, frames_after = len(csms.received), len(csms.frames)
            rejected["RemoteStopTransaction"] += _call_until_accepted(
                csms, cp_id, "RemoteStopTransaction", {"transactionId": issued[-1]})
            stop_out = next(f for f in reversed(csms.frames[frames_after:]) if f.cp_id == cp_id
                            and f.direction == "out" and '"RemoteStopTransaction"' in f.text)
            if i >= warmup:
                start_answered = _answer_frame_at(csms, cp_id, start.message_id)
                stop_accepted.append(stop_out.at - start_answered)
            csms.wait_for("StopTransaction", timeout=10, after=after, cp_id=cp_id)
            _status_after(csms, cp_id, after, "Finishing")
            after = len(csms.received)
            sim.plug_out(1)
            _status_after(csms, cp_id, after, "Available")
            after = len(csms.received)
            sim.plug_in(1)
            _status_after(csms, cp_id, after, "Preparing")
            _wait_idle(app)
    return {**_summary(sent_to_start),
            "to_start_frame": _summary(sent_to_start_frame),
            "from_call_issued": _summary(issued_to_start),
            "call_answered": _summary(sent_to_answer),
            # StartTransaction answered -> the RemoteStopTransaction that was accepted sent; the
            # ones sent before were rejected (transaction id not yet known to the Station).
            "stop_accepted_after_start_answered": _summary(stop_accepted),
            "warmup_rounds": warmup, "rejected_first": rejected}


# --- 6. CPU in steady state: 128 EVSEs charging, MeterValueSampleInterval = 1 -----------------------

METERING_1S = {"Core": {"MeterValueSampleInterval": 1,
                        "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import,Current.Import"}}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_cpu_s(path: str) -> float:
    """utime + stime of a /proc/.../stat file, in seconds."""
    rest = Path(path).read_text().rpartition(")")[2].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


class _CsmsProcess:
    """tests/bench/csms_process.py: a LocalCsms in a child process, asked over its stdin/stdout."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("csms_process.py"))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.close()
            msg = f"csms_process.py did not start: {line!r}"
            raise RuntimeError(msg)
        self.url = f"ws://127.0.0.1:{int(line.split()[1])}/"

    def ask(self, *words: object) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(" ".join(map(str, words)) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def count(self, action: str) -> int:
        return self.ask("counts").get(action, 0)

    def cpu_s(self) -> float:
        return _stat_cpu_s(f"/proc/{self.proc.pid}/stat")

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _thread_cpu_s() -> dict[int, tuple[str, float]]:
    """CPU seconds of every Python thread of this process: ident → (name, seconds).

    Per-thread CPU clocks (ns resolution): /proc/<pid>/task/*/stat counts 10 ms ticks, which
    lose the 128 Evse threads entirely (each runs well under a tick per second).
    """
    out: dict[int, tuple[str, float]] = {}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        with contextlib.suppress(OSError, ValueError):
            out[thread.ident] = (thread.name, time.clock_gettime(time.pthread_getcpuclockid(thread.ident)))
    return out


def _thread_group(name: str) -> str:
    """Evse-17 → Evse, websocket-1 → websocket, LocalCsms-40993 → LocalCsms."""
    return re.sub(r"-\d+$", "", name)


def _cpu_window(csms: _CsmsProcess, seconds: float) -> dict[str, Any]:
    """CPU of this whole process and of the CSMS's over ``seconds`` of wall time; what the CSMS got.
    ``t0``/``t1`` are the window's bounds on ``time.monotonic()``."""
    threads0 = _thread_cpu_s()
    csms0 = csms.cpu_s()
    t0, c0 = time.monotonic(), time.process_time()
    time.sleep(seconds)
    t1, c1 = time.monotonic(), time.process_time()
    csms1 = csms.cpu_s()
    threads1 = _thread_cpu_s()
    wall = t1 - t0
    by_group: dict[str, float] = {}
    for tid, (name, cpu) in threads1.items():
        before = threads0.get(tid, (name, 0.0))[1]
        group = _thread_group(name)
        by_group[group] = by_group.get(group, 0.0) + (cpu - before)
    counts = csms.ask("counts", t0, t1)
    gaps = csms.ask("gaps", "MeterValues", t0, t1)
    meter_values = counts.get("MeterValues", 0)
    return {
        "wall_s": wall,
        "cpu_s": c1 - c0,
        "cpu_percent": (c1 - c0) / wall * 100,
        "csms_cpu_percent": (csms1 - csms0) / wall * 100,
        "meter_values": meter_values,
        "meter_values_per_s": meter_values / wall,
        "calls_per_s": sum(counts.values()) / wall,
        "calls": counts,
        "meter_value_gaps": gaps,
        "threads_cpu_percent": {g: v / wall * 100 for g, v in sorted(by_group.items(), key=lambda kv: -kv[1])
                                if v > 0},
        "unattributed_cpu_percent": ((c1 - c0) - sum(by_group.values())) / wall * 100,
        "threads": threading.active_count(),
        "t0": t0, "t1": t1,
    }


def _steady_run(csms: _CsmsProcess, workdir: Path, cp_id: str, evses: int, window_s: float, settle_s: float,
                *, trace: bool = False, idle: bool = False,
                then: Callable[[ChargePointApp, Path | None], Any] | None = None) -> dict[str, Any]:
    """One in-process charge point on the real clock against ``csms`` (which may have served
    earlier ones: every count here is taken from this app's start on): boot, optionally an
    idle window, plug in and swipe on every EVSE, once all are charging wait ``settle_s``, the
    loaded window, then ``then(app, trace_dir)`` while it still runs; stopped on the way out.

    ``trace=True`` records (TracePath = ``workdir/<cp_id>-trace``).
    """
    trace_dir = workdir / f"{cp_id}-trace" if trace else None
    statuses0 = csms.count("StatusNotification")
    starts0 = csms.count("StartTransaction")
    t_built = time.monotonic()  # the trace's records count from a few hundred microseconds later
    app = _build_app(csms.url, cp_id, workdir, None, evses=evses, keys=METERING_1S,
                     options={"TracePath": trace_dir} if trace_dir is not None else None)
    t0 = time.monotonic()
    app.start()
    out: dict[str, Any] = {"cp_id": cp_id, "trace": trace, "t_built": t_built}
    try:
        _wait_until(lambda: csms.count("StatusNotification") >= statuses0 + evses + 1 or None, 60,
                    f"{evses + 1} StatusNotifications")
        out["start_to_statuses_s"] = sorted(t for t in csms.ask("times", "StatusNotification") if t >= t0)[evses] - t0
        _wait_idle(app, 30)
        if idle:
            time.sleep(1.0)
            out["idle"] = _cpu_window(csms, window_s)
        sim = SimController(app.directory)
        t_plug = time.monotonic()
        for evse in range(1, evses + 1):
            sim.plug_in(evse)
            sim.swipe(evse, f"T{evse}")
        _wait_until(lambda: csms.count("StartTransaction") >= starts0 + evses or None, 60,
                    f"{evses} StartTransactions")
        out["plug_to_all_started_s"] = sorted(t for t in csms.ask("times", "StartTransaction")
                                              if t >= t_plug)[evses - 1] - t_plug
        time.sleep(settle_s)
        out["loaded"] = _cpu_window(csms, window_s)
        if then is not None:
            out["then"] = then(app, trace_dir)
    finally:
        app.stop()
    out["trace_dir"] = trace_dir
    return out


def bench_steady_state(workdir: Path, window_s: float, evses: int = 128, settle_s: float = 3.0) -> dict[str, Any]:
    """In-process charge point on the real clock, the CSMS in a child process. Idle window first,
    then plug in and swipe on every EVSE and, once all are charging, the loaded window."""
    csms = _CsmsProcess()
    try:
        run = _steady_run(csms, workdir, "BENCH-STEADY", evses, window_s, settle_s, idle=True)
        failures = csms.ask("failures")["failures"]
    finally:
        csms.close()
    idle, loaded = run["idle"], run["loaded"]
    return {"evses": evses, "window_s": window_s, "settle_s": settle_s,
            "sample_interval_s": METERING_1S["Core"]["MeterValueSampleInterval"],
            "measurands": METERING_1S["Core"]["MeterValuesSampledData"],
            "idle": idle, "loaded": loaded,
            "cpu_ratio": loaded["cpu_percent"] / idle["cpu_percent"] if idle["cpu_percent"] > 0 else None,
            "start_to_statuses_ms": run["start_to_statuses_s"] * 1000,
            "plug_to_all_started_ms": run["plug_to_all_started_s"] * 1000,
            "csms_failures": failures}


# --- 8. recording overhead (issue #5): the same steady state with TracePath set and without ---------

TRACE_OVERHEAD_TARGET_PERCENT = 10.0
"""Issue #5: recording must cost under 10 % more CPU than not recording."""
RECORDER_THREADS = ("Simulator", "clock")
"""Thread groups where recording on adds nothing but the recorder's own work: the EVSE manager's
events (``ev``) and timer firings (``timer``) are recorded in these threads."""


def _trace_bytes(trace_dir: Path) -> int:
    """Bytes of every segment on disk (so far as the writer has flushed them)."""
    total = 0
    for path in trace_dir.glob("*.cptrace"):
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def _wait_settled(app: ChargePointApp, csms: _CsmsProcess, quiet_s: float = 0.5, timeout: float = 30.0) -> None:
    """The CSMS got no CALL for ``quiet_s`` and the link has nothing queued or in flight."""
    deadline = time.monotonic() + timeout
    seen = -1
    while True:
        count = sum(csms.ask("counts").values())
        if count == seen and not _link_stats(app).busy:
            return
        if time.monotonic() > deadline:
            msg = f"the CSMS link did not settle within {timeout} s"
            raise TimeoutError(msg)
        seen = count
        time.sleep(quiet_s)


def _unplug_between_samples(app: ChargePointApp, csms: _CsmsProcess, evses: int) -> None:
    """Unplug every EVSE half a sample interval after its last MeterValues reached the CSMS.

    An unplug cancels the EVSE's sample timer; one that fires at that very moment is delivered
    (and recorded) all the same, after the transaction ended, while in a replay the cancel comes
    first and the timer is gone: a difference that says nothing about replay speed. Midway between
    two samples no timer of that EVSE is near."""
    interval = float(METERING_1S["Core"]["MeterValueSampleInterval"])
    last = {int(c): at for c, at in csms.ask("last", "MeterValues").items() if c not in (None, "null")}
    start = time.monotonic() + 0.05
    plan = []
    for evse in range(1, evses + 1):
        midway = last.get(evse, start) + interval / 2
        plan.append((midway + max(0, math.ceil((start - midway) / interval)) * interval, evse))
    sim = SimController(app.directory)
    for at, evse in sorted(plan):
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sim.plug_out(evse)


def _record_until(target: int, limit_s: float, csms: _CsmsProcess, evses: int
                  ) -> Callable[[ChargePointApp, Path | None], dict[str, Any]]:
    """A ``then`` for :func:`_steady_run`: keep the app charging, and recording, until its trace
    holds ``target`` records (counted with read_trace, which is not cheap: checked a few times);
    then unplug every EVSE (between two of its samples) and wait until the link is quiet, so that
    the trace ends with no CALL queued or unanswered (see ``ended_cleanly`` in :func:`bench_replay`)."""
    from messages.trace import read_trace

    def then(app: ChargePointApp, trace_dir: Path | None) -> dict[str, Any]:
        assert trace_dir is not None
        t0 = time.monotonic()
        checks = 0
        previous: tuple[float, int] | None = None
        while True:
            checks += 1
            now = time.monotonic()
            count = len(read_trace(trace_dir).records)  # a torn last record is just not counted
            if count >= target:
                break
            if now - t0 > limit_s:
                msg = f"the trace holds {count:,} records after {limit_s:.0f} s more, not {target:,}"
                raise TimeoutError(msg)
            rate = ((count - previous[1]) / (now - previous[0])
                    if previous is not None and count > previous[1] else None)
            previous = (now, count)
            wait = (target - count) / rate * 1.02 if rate else 2.0
            time.sleep(min(max(wait, 0.5), 30.0))
        extended = time.monotonic() - t0
        stops0 = csms.count("StopTransaction")
        _unplug_between_samples(app, csms, evses)
        _wait_until(lambda: csms.count("StopTransaction") >= stops0 + evses or None, 60,
                    f"{evses} StopTransactions")
        _wait_settled(app, csms)
        return {"extended_s": extended, "records_at_target": count, "checks": checks,
                "wind_down_s": time.monotonic() - t0 - extended}

    return then


def _window_records(records: Sequence[dict[str, Any]], run: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a trace written inside the run's loaded window. A record's ``t`` counts
    from Trace.start, a few hundred microseconds after ``t_built``."""
    lo, hi = run["loaded"]["t0"] - run["t_built"], run["loaded"]["t1"] - run["t_built"]
    return [r for r in records if lo <= r["t"] <= hi]


def _framed_size(record: dict[str, Any]) -> int:
    """Bytes a record takes in a segment: length and CRC32 (4 bytes each), then its msgpack body."""
    import msgpack

    return 8 + len(msgpack.packb(record, use_bin_type=True))


def _record_cost(records: Sequence[dict[str, Any]], directory: Path) -> dict[str, Any]:
    """Context: the recorder's own cost per record, no actors around it. The given records
    (a steady-state window's) are written again through ``actors.trace.Trace`` into a fresh
    directory, one thread, messages re-encoded as the recorder does (``Trace.message``);
    CPU time of that thread."""
    from actors.trace import Trace
    from messages.trace import decode_message

    calls: list[tuple[str, object | None, dict[str, Any]]] = []
    for r in records:
        fields = {k: v for k, v in r.items() if k not in ("k", "t")}
        message = decode_message(fields.pop("msg")) if r["k"] in ("ev", "reply") else None
        calls.append((r["k"], message, fields))
    trace = Trace.start(str(directory), ManualClock(), charge_point_id="BENCH-RECORD-COST", software="bench",
                        options={}, config={})
    try:
        c0, t0 = time.thread_time(), time.perf_counter()
        for kind, message, fields in calls:
            if message is not None:
                trace.message(kind, message, **fields)
            else:
                trace.record(kind, **fields)
        cpu_s, wall_s = time.thread_time() - c0, time.perf_counter() - t0
    finally:
        trace.close()
    n = max(len(calls), 1)
    return {"records": len(calls), "cpu_us_per_record": cpu_s / n * 1e6, "wall_us_per_record": wall_s / n * 1e6,
            "bytes": _trace_bytes(directory)}


def _pooled(windows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    cpu, wall = sum(w["cpu_s"] for w in windows), sum(w["wall_s"] for w in windows)
    return {"n": len(windows), "cpu_s": cpu, "wall_s": wall, "cpu_percent": cpu / wall * 100,
            "cpu_percent_windows": [w["cpu_percent"] for w in windows],
            "csms_cpu_percent": statistics.mean(w["csms_cpu_percent"] for w in windows),
            "meter_values_per_s": sum(w["meter_values"] for w in windows) / wall,
            "calls_per_s": statistics.mean(w["calls_per_s"] for w in windows)}


def bench_trace_overhead(workdir: Path, window_s: float, pairs: int, replay_records: int, evses: int = 128,
                         settle_s: float = 3.0) -> tuple[dict[str, Any], Path, dict[str, Any]]:
    """Issue #5. Measure 6's loaded window, alternately without and with recording (off, on, off,
    on, ...; a fresh charge point for each, all against one CSMS process). The last charge point
    with recording on then keeps charging until its trace holds ``replay_records`` records: that
    trace is measure 9's. Returns (figures, that trace's directory, how it was made)."""
    from messages.trace import read_trace

    csms = _CsmsProcess()
    runs: list[dict[str, Any]] = []
    try:
        for i in range(pairs):
            for trace in (False, True):
                last = trace and i == pairs - 1
                cp_id = f"BENCH-TRACE-{'ON' if trace else 'OFF'}-{i + 1}"
                runs.append(_steady_run(csms, workdir, cp_id, evses, window_s, settle_s, trace=trace,
                                        then=_record_until(replay_records, 600.0, csms, evses) if last else None))
        failures = csms.ask("failures")["failures"]
    finally:
        csms.close()

    windows: list[dict[str, Any]] = []
    window_records: list[dict[str, Any]] = []
    for run in runs:
        w = {"cp_id": run["cp_id"], "trace": run["trace"], **{k: v for k, v in run["loaded"].items()
                                                              if k not in ("t0", "t1")}}
        if run["trace"]:
            records = read_trace(run["trace_dir"]).records
            mine = _window_records(records, run)
            kinds: dict[str, int] = {}
            for r in mine:
                kinds[r["k"]] = kinds.get(r["k"], 0) + 1
            count = len(mine)
            window_records = window_records or mine
            # The bytes these records take in the segments (each framed as the writer frames it):
            # exact, whereas a file's size depends on when the writer last flushed.
            grown = sum(_framed_size(r) for r in mine)
            w["trace"] = {"bytes": grown, "bytes_per_s": grown / w["wall_s"], "records": count,
                          "records_per_s": count / w["wall_s"],
                          "kinds": dict(sorted(kinds.items(), key=lambda kv: -kv[1]))}
            w["trace_on"] = True
        else:
            w["trace"], w["trace_on"] = None, False
        windows.append(w)
    off = _pooled([w for w in windows if not w["trace_on"]])
    on = _pooled([w for w in windows if w["trace_on"]])
    ons = [w for w in windows if w["trace_on"]]
    wall_on = sum(w["wall_s"] for w in ons)
    ratio = on["cpu_percent"] / off["cpu_percent"]
    overhead = (ratio - 1) * 100
    pair_ratios = [windows[2 * i + 1]["cpu_percent"] / windows[2 * i]["cpu_percent"] for i in range(pairs)]
    # Context: the CSMS process does the same work in every window, so its CPU tracks how fast
    # the machine was; ours over its, on against off, takes that common noise out (and with it
    # any share of recording's cost the machine charged to the CSMS, e.g. kernel write-back).
    per_csms = {"on": on["cpu_percent"] / on["csms_cpu_percent"], "off": off["cpu_percent"] / off["csms_cpu_percent"]}
    per_csms["ratio"] = per_csms["on"] / per_csms["off"]
    # Context: threads whose only extra work with recording on is the recorder's (the EVSE
    # manager's events are recorded in the Simulator's thread, timer firings in the clock's).
    recorder_threads = {}
    for side, group in (("on", ons), ("off", [w for w in windows if not w["trace_on"]])):
        wall = sum(w["wall_s"] for w in group)
        recorder_threads[side] = {
            name: sum(w["threads_cpu_percent"].get(name, 0.0) * w["wall_s"] for w in group) / wall
            for name in RECORDER_THREADS}
    growth = {"bytes_per_s": sum(w["trace"]["bytes"] for w in ons) / wall_on,
              "records_per_s": sum(w["trace"]["records"] for w in ons) / wall_on}
    growth["bytes_per_record"] = growth["bytes_per_s"] / growth["records_per_s"] if growth["records_per_s"] else None
    kinds_per_s = {k: sum(w["trace"]["kinds"].get(k, 0) for w in ons) / wall_on
                   for k in {k for w in ons for k in w["trace"]["kinds"]}}
    growth["kinds_per_s"] = dict(sorted(kinds_per_s.items(), key=lambda kv: -kv[1]))
    cost = _record_cost(window_records, workdir / "record-cost-trace")
    # What writing the records of one second costs, in % of a core, and against the off CPU.
    cost["percent_of_core"] = cost["cpu_us_per_record"] * growth["records_per_s"] / 1e4
    cost["percent_of_off"] = cost["percent_of_core"] / off["cpu_percent"] * 100
    last_run = runs[-1]
    made = {"cp_id": last_run["cp_id"], "evses": evses, "window_s": window_s, "settle_s": settle_s,
            **last_run["then"]}
    figures = {"evses": evses, "window_s": window_s, "settle_s": settle_s, "pairs": pairs,
               "order": ["on" if w["trace_on"] else "off" for w in windows],
               "sample_interval_s": METERING_1S["Core"]["MeterValueSampleInterval"],
               "off": off, "on": on, "ratio": ratio, "overhead_percent": overhead, "pair_ratios": pair_ratios,
               "per_csms_cpu": per_csms, "recorder_threads_cpu_percent": recorder_threads,
               "target_percent": TRACE_OVERHEAD_TARGET_PERCENT,
               "target_met": overhead < TRACE_OVERHEAD_TARGET_PERCENT,
               "trace_growth": growth, "record_cost": cost, "windows": windows, "csms_failures": failures}
    return figures, last_run["trace_dir"], made


# --- 9. replay speed (issue #5): a recorded 128-EVSE trace through replay_trace ----------------------

REPLAY_PROGRESS_MARKS = 10


@contextlib.contextmanager
def _replay_progress(total: int) -> Iterator[list[float]]:
    """``time.perf_counter()`` when the replay driver starts on each tenth of the ``total``
    records, and when it is through them all (before the replay's app stops): wraps
    ``supervisor.replay._Replay._take`` and ``run`` (not changed, only timed) for the duration.
    If those private methods are gone the list stays empty and only the totals are given."""
    import supervisor.replay as replay_module

    marks: list[float] = []
    cls = getattr(replay_module, "_Replay", None)
    take, run = getattr(cls, "_take", None), getattr(cls, "run", None)
    if cls is None or take is None or run is None:
        yield marks
        return
    step = max(1, total // REPLAY_PROGRESS_MARKS)
    taken = 0

    def timed_take(self: Any, record: dict[str, Any]) -> Any:
        nonlocal taken
        if taken % step == 0 and taken // step < REPLAY_PROGRESS_MARKS:
            marks.append(time.perf_counter())
        taken += 1
        return take(self, record)

    def timed_run(self: Any) -> Any:
        result = run(self)
        marks.append(time.perf_counter())
        return result

    cls._take, cls.run = timed_take, timed_run
    try:
        yield marks
    finally:
        cls._take, cls.run = take, run


def _tenths(marks: Sequence[float], total: int) -> list[float]:
    """Records per second in each tenth of the records (the last tenth takes the remainder);
    empty unless every mark is there (a replay that stopped early at a difference)."""
    step = max(1, total // REPLAY_PROGRESS_MARKS)
    if total < REPLAY_PROGRESS_MARKS or len(marks) != REPLAY_PROGRESS_MARKS + 1:
        return []
    counts = [step] * (REPLAY_PROGRESS_MARKS - 1) + [total - step * (REPLAY_PROGRESS_MARKS - 1)]
    return [n / (b - a) for n, a, b in zip(counts, marks, marks[1:])]


def bench_replay(trace_dir: Path, made: dict[str, Any], target: int) -> dict[str, Any]:
    """``replay_trace(trace_dir)`` timed: recorded events per second of replay, the replay's wall
    time against the time the trace covers, whether it matched."""
    from messages.trace import read_trace
    from supervisor.replay import replay_trace

    t0 = time.perf_counter()
    trace = read_trace(trace_dir)
    read_s = time.perf_counter() - t0
    records = trace.records
    kinds: dict[str, int] = {}
    for r in records:
        kinds[r["k"]] = kinds.get(r["k"], 0) + 1
    recorded_s = max(float(r["t"]) for r in records)
    # CALLs either side sent that the trace holds no answer to. A trace that stops while the
    # link still has calls to send cannot replay exactly: which of the queued calls goes next
    # is up to the threads, and the one the replay sends may be one the recording never sent.
    calls: dict[tuple[str, str], int] = {}
    for r in records:
        if r["k"] in ("in", "out") and r["frame"].startswith("[2,"):
            calls[(r["k"], json.loads(r["frame"])[1])] = 1
    for r in records:
        if r["k"] in ("in", "out") and r["frame"][:3] in ("[3,", "[4,"):
            calls.pop(("out" if r["k"] == "in" else "in", json.loads(r["frame"])[1]), None)
    warnings: list[str] = []
    with _replay_progress(len(records)) as marks:
        c0, t0 = time.process_time(), time.perf_counter()
        result = replay_trace(trace_dir, warn=warnings.append)
        replay_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    tenths = _tenths(marks, len(records)) if result.matched else []
    return {
        "target_records": target, "records": len(records), "kinds": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
        "bytes": _trace_bytes(trace_dir), "segments": trace.segments, "problems": trace.problems,
        "recorded_s": recorded_s, "evses": made["evses"], "recorded_by": made,
        "unanswered_calls": len(calls), "ended_cleanly": not calls,
        "read_s": read_s,
        "replay_s": replay_s, "replay_cpu_percent": cpu_s / replay_s * 100,
        "records_per_s": len(records) / replay_s,
        "speedup": recorded_s / replay_s,
        "matched": result.matched, "inputs": result.inputs, "outputs": result.outputs,
        "report_head": result.report[:12], "warnings": warnings[:12],
        "setup_s": (marks[0] - t0) if marks else None,
        "records_per_s_by_tenth": tenths,
        # The first tenth holds the boot and the plug-ins; from the second on it is steady state.
        "slowdown_second_to_last_tenth": tenths[1] / tenths[-1] if len(tenths) > 2 else None,
    }


# --- 7. offline backlog: 10,000 transactional CALLs stored offline, drained after a reconnect ------

BACKLOG_POLL_S = 0.01
"""Poll interval of GetLinkStats while the backlog drains: each ask lands in the link's own mailbox
(and copies up to 4096 round trips), so it is not polled as tightly as elsewhere; the drain takes
seconds, so 10 ms of granularity is well under 1 % of it."""
BACKLOG_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
DB_FLOOR_PAIRS = 1000


def _backlog_payloads(n: int) -> list[dict[str, Any]]:
    """``n`` valid MeterValues requests for connector 1, one Energy.Active.Import.Register sample each,
    one second apart, the register rising by 1 Wh each (so the CSMS side can check the order)."""
    out = []
    for i in range(n):
        at = datetime.fromtimestamp(BACKLOG_START.timestamp() + i, timezone.utc)
        out.append({"connectorId": 1, "meterValue": [{
            "timestamp": at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "sampledValue": [{"value": str(1000 + i), "context": "Sample.Periodic",
                              "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]})
    return out


def _rate(n: int, seconds: float) -> dict[str, float]:
    return {"s": seconds, "msgs_per_s": n / seconds, "ms_per_msg": seconds / n * 1000}


def _queue_rows(db_path: Path) -> int:
    """Rows of the durable queue as a separate reader sees them (WAL: committed rows only)."""
    import sqlite3

    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM call_queue").fetchone()[0])
    finally:
        db.close()


def _db_floor(workdir: Path, pairs: int) -> dict[str, float]:
    """Context: a bare INSERT and DELETE (autocommit each) on the same disk, WAL, synchronous=FULL,
    like the Persistence actor's EnqueueCall and DequeueCall, without any actor around them."""
    import sqlite3

    db = sqlite3.connect(workdir / "db-floor.db", isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, payload TEXT)")
        text = json.dumps(_backlog_payloads(1)[0])
        t0 = time.perf_counter()
        ids = [db.execute("INSERT INTO q (payload) VALUES (?)", (text,)).lastrowid for _ in range(pairs)]
        t1 = time.perf_counter()
        for row in ids:
            db.execute("DELETE FROM q WHERE id = ?", (row,))
        t2 = time.perf_counter()
    finally:
        db.close()
    return {"pairs": pairs, "insert_ms": (t1 - t0) / pairs * 1000, "delete_ms": (t2 - t1) / pairs * 1000,
            "pair_ms": (t2 - t0) / pairs * 1000}


def _frame_split(frames: Sequence[Any], cp_id: str, n: int) -> dict[str, Any]:
    """From the LocalCsms's own frame timestamps, for the last ``n`` MeterValues CALLs of ``cp_id``:
    CALL received → its CALLRESULT sent (the CSMS's share of a message) and CALLRESULT sent → the
    next CALL received (the client's share: reading the answer, the next send, the wire both ways)."""
    calls: list[tuple[float, str]] = []
    answers: dict[str, float] = {}
    for f in frames:
        if f.cp_id != cp_id:
            continue
        msg = json.loads(f.text)
        if f.direction == "in" and msg[0] == 2 and msg[2] == "MeterValues":
            calls.append((f.at, msg[1]))
        elif f.direction == "out" and msg[0] == 3:
            answers[msg[1]] = f.at
    calls = calls[-n:]
    csms_side = [answers[mid] - at for at, mid in calls if mid in answers]
    client_side = [calls[i + 1][0] - answers[calls[i][1]] for i in range(len(calls) - 1) if calls[i][1] in answers]
    return {"csms_side": _summary(csms_side), "client_side": _summary(client_side)}


async def _baseline_backlog(url: str, cp_id: str, payloads: Sequence[dict[str, Any]], warmup: int
                            ) -> tuple[float, list[float]]:
    """The same MeterValues, one at a time (each awaited), from a bare ``ocpp.v16.ChargePoint``.
    Returns (s for all of them after the warm-up, per-call round trips)."""
    import websockets
    from ocpp.v16 import ChargePoint, call

    async with websockets.connect(url + cp_id, subprotocols=["ocpp1.6"]) as ws:
        cp = ChargePoint(cp_id, ws)
        reader = asyncio.create_task(cp.start())
        try:
            for p in payloads[:warmup]:
                await cp.call(call.MeterValues(connector_id=1, meter_value=p["meterValue"]), suppress=False)
            rtts: list[float] = []
            t0 = time.perf_counter()
            for p in payloads:
                t1 = time.perf_counter()
                await cp.call(call.MeterValues(connector_id=1, meter_value=p["meterValue"]), suppress=False)
                rtts.append(time.perf_counter() - t1)
            return time.perf_counter() - t0, rtts
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


def _energy_in_order(csms: LocalCsms, cp_id: str) -> tuple[int, bool]:
    """(MeterValues received from ``cp_id``, whether their registers rise one by one)."""
    values = [int(r.payload["meterValue"][0]["sampledValue"][0]["value"]) for r in csms.received
              if r.cp_id == cp_id and r.action == "MeterValues"]
    return len(values), values == list(range(1000, 1000 + len(values)))


def bench_backlog(workdir: Path, n: int) -> dict[str, Any]:
    """Issue #4. A registered in-process charge point on a ManualClock (no timer fires unless the
    clock is moved, so no heartbeat or call timeout interferes) loses its CSMS; ``n`` MeterValues
    are told to its link while offline (each stored through Persistence, then queued); a LocalCsms
    comes back on the same port, the clock is moved to the reconnect timer, and the backlog drains
    one CALL in flight at a time. Then the bare ``ocpp`` client sends the same ``n`` to that CSMS."""
    from actors.persistence import database_file
    from messages.csms import ConnectDue, SendCall

    cp_id = "BENCH-BACKLOG"
    payloads = _backlog_payloads(n)
    clock = ManualClock()
    first = LocalCsms().start()
    first.set_reply("BootNotification", _boot_reply, cp_id=cp_id)
    port = first.port
    revived: LocalCsms | None = None
    try:
        with _charge_point(first, cp_id, workdir, clock) as app:
            db_path = database_file(str(workdir / f"{cp_id}-db"), cp_id)  # as _build_app sets DatabasePath
            # Offline: the CSMS goes away; the link notices and arms its reconnect timer.
            with _quiet("ocpp_cp.csms"):  # "connection to CSMS lost": on purpose
                first.stop()
                _wait_until(lambda: not _link_stats(app).connected, 10, "the link to notice the CSMS gone")
            reconnect = clock.wait_for_timer(lambda m: isinstance(m, ConnectDue), timeout=10)
            # Fill: n SendCalls told; the GetLinkStats asked after them is answered once all are handled.
            t0 = time.perf_counter()
            for p in payloads:
                app.directory.tell("csms", SendCall(action="MeterValues", payload=p, reply_to=None))
            stats = app.directory.ask("csms", GetLinkStats(), timeout=max(60.0, n / 50))
            fill_s = time.perf_counter() - t0
            if stats.queued != n:
                msg = f"expected {n} queued MeterValues offline, LinkStats.queued = {stats.queued}"
                raise RuntimeError(msg)
            rows_after_fill = _queue_rows(db_path)
            results_before = stats.results_received
            # Back: a new LocalCsms on the same port; the clock moved to the reconnect time.
            revived = LocalCsms(port=port)
            revived.set_reply("BootNotification", _boot_reply, cp_id=cp_id)
            revived.start()
            t_advance = time.monotonic()
            clock.advance(reconnect.due - clock.monotonic())

            def drained() -> LinkStats | None:
                s = _link_stats(app)
                return s if s.queued == 0 and not s.busy else None

            deadline = time.monotonic() + max(60.0, n / 20)
            while (stats := drained()) is None:
                if time.monotonic() > deadline:
                    msg = f"backlog not drained within {deadline - t_advance:.0f} s: {_link_stats(app).queued} left"
                    raise TimeoutError(msg)
                time.sleep(BACKLOG_POLL_S)
            t_end = time.monotonic()
            connections = [c for c in revived.connections if c.cp_id == cp_id]
            if not connections:
                msg = "the link drained without a connection to the revived CSMS"
                raise RuntimeError(msg)
            t_connected = connections[0].at
            received, in_order = _energy_in_order(revived, cp_id)
            if received != n:
                msg = f"the revived CSMS received {received} MeterValues, not {n}"
                raise RuntimeError(msg)
            mine = [r for r in revived.received if r.cp_id == cp_id and r.action == "MeterValues"]
            answered = stats.results_received - results_before
            rtts = list(stats.rtts[-min(n, answered, len(stats.rtts)):])
            rows_after_drain = _queue_rows(db_path)
            boots_after = revived.count("BootNotification", cp_id)
        # Baseline: the bare ocpp client, against the same revived LocalCsms.
        base_s, base_rtts = asyncio.run(_baseline_backlog(revived.url, "BASE1", payloads, WARMUP_CALLS))
        with _ocpp_sync_validation():
            sync_s, sync_rtts = asyncio.run(_baseline_backlog(revived.url, "BASE2", payloads, WARMUP_CALLS))
        frames = revived.frames
        failures = len(revived.failures)
    finally:
        first.stop()
        if revived is not None:
            revived.stop()

    drain = {**_rate(n, t_end - t_connected),
             "advance_to_connected_ms": (t_connected - t_advance) * 1000,
             "connected_to_first_received_ms": (mine[0].at - t_connected) * 1000,
             "connected_to_last_received_ms": (mine[-1].at - t_connected) * 1000,
             "received": received, "in_order": in_order, "answered": answered,
             "boot_notifications": boots_after, "poll_s": BACKLOG_POLL_S}
    base, sync = _rate(n, base_s), _rate(n, sync_s)
    link_rtt = _summary(rtts)
    ours_split = _frame_split(frames, cp_id, n)
    return {
        "n": n,
        "clock": "ManualClock",
        "fill": {**_rate(n, fill_s), "queue_rows_after": rows_after_fill},
        "drain": drain,
        # The link's own round trip of the drained calls (frame sent -> answer validated, in the actor).
        "link_rtt": link_rtt,
        "ours_split": ours_split,
        "baseline": {**base, "rtt": _summary(base_rtts), "split": _frame_split(frames, "BASE1", n)},
        "baseline_sync_validation": {**sync, "rtt": _summary(sync_rtts), "split": _frame_split(frames, "BASE2", n)},
        "ratio_msgs_per_s": drain["msgs_per_s"] / base["msgs_per_s"],
        "ratio_ms_per_msg": drain["ms_per_msg"] / base["ms_per_msg"],
        # One CALL in flight: a message cannot take less than its round trip. Share of the
        # per-message time that is the link's median round trip (1.0 = at the limit).
        "rtt_share": link_rtt["median_ms"] / drain["ms_per_msg"],
        "db_commits_per_msg": 2,
        "db_rows": {"after_fill": rows_after_fill, "after_drain": rows_after_drain},
        "db_floor": _db_floor(workdir, DB_FLOOR_PAIRS),
        "csms_failures": failures,
    }


# --- report ----------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(results: dict[str, Any]) -> str:
    start, floor, hb, rs = (results["startup"], results["import_floor"], results["heartbeat"],
                            results["restart"])
    boot = start["boot"]
    hbs = hb["baseline_sync_validation"]
    imp, ipb = results["import_ours"], results["in_process_boot"]
    hbe = hb["ours_end_to_end"]
    rows = [
        ("process start -> BootNotification", boot["n"], boot["median_ms"], None, boot["max_ms"],
         floor["median_ms"], boot["median_ms"] / floor["median_ms"],
         f"min {boot['min_ms']:.0f}; baseline = python -c 'import ocpp, websocket'"),
        ("  python -c 'import supervisor.cli, supervisor.app'", imp["n"], imp["median_ms"], None, imp["max_ms"],
         None, imp["median_ms"] / floor["median_ms"], "context: our imports alone"),
        ("  in-process app.start() -> BootNotification", ipb["n"], ipb["median_ms"], None, ipb["max_ms"],
         None, None, "context: the apps of measures 2, 3 and 5"),
        ("  BootNotification -> last StatusNotification", start["boot_to_status"]["n"],
         start["boot_to_status"]["median_ms"], None, start["boot_to_status"]["max_ms"], None, None, "context"),
        ("  SIGTERM -> process exit", start["sigterm_to_exit"]["n"], start["sigterm_to_exit"]["median_ms"],
         None, start["sigterm_to_exit"]["max_ms"], None, None, f"exit codes {sorted(set(start['exit_codes']), key=str)}"),
        ("heartbeat round trip (CSMS link)", hb["ours"]["n"], hb["ours"]["median_ms"], hb["ours"]["p99_ms"],
         hb["ours"]["max_ms"], hb["baseline"]["median_ms"], hb["ratio_median"],
         f"p99 ratio {hb['ratio_p99']:.2f}; per-round median ratios "
         + "/".join(f"{r['ratio_median']:.2f}" for r in hb["rounds"])),
        ("  ours, clock.advance -> answer counted", hbe["n"], hbe["median_ms"], hbe["p99_ms"], hbe["max_ms"],
         None, hbe["median_ms"] / hb["baseline"]["median_ms"], "context: adds timer delivery and polling"),
        ("  baseline: ocpp.v16.ChargePoint + websockets", hb["baseline"]["n"], hb["baseline"]["median_ms"],
         hb["baseline"]["p99_ms"], hb["baseline"]["max_ms"], None, None, "asyncio, same LocalCsms"),
        ("  same, ASYNC_VALIDATION = False", hbs["n"], hbs["median_ms"], hbs["p99_ms"], hbs["max_ms"], None,
         hb["ours"]["median_ms"] / hbs["median_ms"], "context: no thread-pool hops; ratio = ours / this"),
        ("actor restart (crash -> Pong)", rs["n"], rs["median_ms"], rs["p99_ms"], rs["max_ms"],
         None, None, f"target < {rs['target_ms']:.0f} ms (every sample): {'met' if rs['target_met'] else 'NOT met'}"),
        *((f"  {name}", s["n"], s["median_ms"], s["p99_ms"], s["max_ms"], None, None, "")
          for name, s in rs["by_actor"].items()),
        ("  crash -> new incarnation registered", rs["registered"]["n"], rs["registered"]["median_ms"],
         rs["registered"]["p99_ms"], rs["registered"]["max_ms"], None, None, ""),
        *_scale_rows(results),
    ]
    header = ("measure", "n", "median ms", "p99 ms", "max ms", "baseline ms", "ratio", "note")
    cells = [header] + [
        (m, str(n), _fmt(med), _fmt(p99) if n > 100 else "-", _fmt(mx), _fmt(b), _fmt(r), note)
        for m, n, med, p99, mx, b, r, note in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    right = {1, 2, 3, 4, 5, 6}

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    out.append("p99 is nearest-rank and shown for n > 100 only (below that it is the max); "
               "ratio = ours / baseline, from this run")
    return "\n".join(out)


def _scale_rows(results: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Timing rows of issue #3 (measures 4-6), in the columns of :func:`_table`."""
    big, one, rem, steady = (results["statuses_128"], results["statuses_1"], results["remote_start"],
                             results["steady_state"])
    n_big = big["evses"]
    ans, ans1 = big["answered"], one["answered"]
    stop = rem["stop_accepted_after_start_answered"]
    return [
        (f"process start -> {n_big + 1} StatusNotifications answered ({n_big} EVSEs)", ans["n"], ans["median_ms"],
         None, ans["max_ms"], ans1["median_ms"], ans["median_ms"] / ans1["median_ms"],
         f"min {ans['min_ms']:.0f}; baseline = 1 EVSE (2 StatusNotifications); answer = CALLRESULT "
         f"recorded just before it is sent"),
        ("  same, receipt of the last StatusNotification", big["received"]["n"], big["received"]["median_ms"],
         None, big["received"]["max_ms"], one["received"]["median_ms"], None,
         f"StatusNotifications sent: {sorted(set(big['status_notifications']))} "
         f"(1 EVSE: {sorted(set(one['status_notifications']))})"),
        (f"  {n_big} EVSEs: process start -> BootNotification", big["boot"]["n"], big["boot"]["median_ms"], None,
         big["boot"]["max_ms"], one["boot"]["median_ms"], big["boot"]["median_ms"] / one["boot"]["median_ms"],
         "context"),
        (f"  {n_big} EVSEs: BootNotification -> last StatusNotification", big["boot_to_last"]["n"],
         big["boot_to_last"]["median_ms"], None, big["boot_to_last"]["max_ms"], one["boot_to_last"]["median_ms"],
         None, "context"),
        (f"  {n_big} EVSEs: SIGTERM -> process exit", big["sigterm_to_exit"]["n"],
         big["sigterm_to_exit"]["median_ms"], None, big["sigterm_to_exit"]["max_ms"],
         one["sigterm_to_exit"]["median_ms"], None,
         f"exit codes {sorted(set(big['exit_codes'] + one['exit_codes']), key=str)}"),
        (f"  {n_big} EVSEs in-process, SystemClock: app.start() -> last StatusNotification", 1,
         steady["start_to_statuses_ms"], None, steady["start_to_statuses_ms"], None, None, "context (measure 6)"),
        (f"  {n_big} EVSEs in-process: plug in + swipe all -> last StartTransaction", 1,
         steady["plug_to_all_started_ms"], None, steady["plug_to_all_started_ms"], None, None,
         f"context: {n_big} Authorize + {n_big} StartTransaction round trips on one link"),
        ("RemoteStart CALL sent -> StartTransaction received (plugged in)", rem["n"], rem["median_ms"],
         rem["p99_ms"], rem["max_ms"], None, None,
         "LocalCsms timestamps: outgoing frame -> CALL received and validated; manual clock"),
        ("  same, up to the StartTransaction frame (before CSMS validation)", rem["to_start_frame"]["n"],
         rem["to_start_frame"]["median_ms"], rem["to_start_frame"]["p99_ms"], rem["to_start_frame"]["max_ms"],
         None, None, "context"),
        ("  csms.call() issued -> StartTransaction received", rem["from_call_issued"]["n"],
         rem["from_call_issued"]["median_ms"], rem["from_call_issued"]["p99_ms"], rem["from_call_issued"]["max_ms"],
         None, None, "context: adds validation and the hop onto the CSMS loop"),
        ("  RemoteStart CALL sent -> its CALLRESULT received", rem["call_answered"]["n"],
         rem["call_answered"]["median_ms"], rem["call_answered"]["p99_ms"], rem["call_answered"]["max_ms"],
         None, None, "context"),
        ("  StartTransaction answered -> RemoteStop accepted (sent)", stop["n"], stop["median_ms"], stop["p99_ms"],
         stop["max_ms"], None, None,
         f"context: RemoteStops sent right after the answer are rejected until the Station knows the id "
         f"(retried every ~1 ms); rejected: {rem['rejected_first']['RemoteStopTransaction']} stops, "
         f"{rem['rejected_first']['RemoteStartTransaction']} starts in {rem['n'] + rem['warmup_rounds']} rounds"),
    ]


def _resources_table(results: dict[str, Any]) -> str:
    """Memory, threads and CPU (issue #3, measures 5 and 6) in a table of their own: not milliseconds."""
    mem, steady = results["memory"], results["steady_state"]
    big, one = mem["evses_128"], mem["evses_1"]
    n_big = results["statuses_128"]["evses"]
    loaded, idle = steady["loaded"], steady["idle"]
    per_evse_kb = (big["rss_kb"] - one["rss_kb"]) / (n_big - 1)

    def busiest(window: dict[str, Any], k: int = 4) -> str:
        return ", ".join(f"{g} {v:.2f}" for g, v in list(window["threads_cpu_percent"].items())[:k])

    gaps = loaded["meter_value_gaps"]
    rows = [
        (f"RSS, all statuses in ({n_big} EVSEs)", big["n"], big["rss_kb"] / 1024, "MB", one["rss_kb"] / 1024,
         big["rss_kb"] / one["rss_kb"], f"baseline = 1 EVSE; {per_evse_kb:.0f} kB more per EVSE"),
        ("  peak RSS (VmHWM)", big["n"], big["hwm_kb"] / 1024, "MB", one["hwm_kb"] / 1024,
         big["hwm_kb"] / one["hwm_kb"], ""),
        ("  threads", big["n"], big["threads"], "", one["threads"], big["threads"] / one["threads"],
         "from /proc/<pid>/status"),
        (f"CPU, {n_big} EVSEs charging, MeterValueSampleInterval=1", 1, loaded["cpu_percent"], "% of a core",
         idle["cpu_percent"], None,
         f"baseline = same {n_big} EVSEs idle; over {loaded['wall_s']:.1f} s; "
         f"CSMS (own process) {loaded['csms_cpu_percent']:.1f} %"),
        ("  MeterValues received by the CSMS", 1, loaded["meter_values_per_s"], "/s", idle["meter_values_per_s"],
         None, f"expected {n_big / steady['sample_interval_s']:.0f}/s; {loaded['meter_values']} in the window "
         f"from {gaps['connectors']} connectors ({gaps['min_per_connector']}-{gaps['max_per_connector']} each); "
         f"gap between two of one connector median {gaps['median_ms']:.0f} ms, max {gaps['max_ms']:.0f} ms"),
        ("  all CALLs received by the CSMS", 1, loaded["calls_per_s"], "/s", idle["calls_per_s"], None, ""),
        ("  busiest threads, charging", 1, sum(loaded["threads_cpu_percent"].values()), "% of a core", None, None,
         busiest(loaded)),
        ("  busiest threads, idle", 1, sum(idle["threads_cpu_percent"].values()), "% of a core", None, None,
         busiest(idle)),
    ]
    header = ("resource", "n", "value", "unit", "baseline", "ratio", "note")
    def num(value: float | None) -> str:
        return _fmt(value, 2 if value is not None and abs(value) < 1 else 1)

    cells = [header] + [(m, str(n), num(v), unit, num(b), _fmt(r), note)
                        for m, n, v, unit, b, r, note in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    right = {1, 2, 4, 5}

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    out.append("CPU = process CPU seconds / wall seconds (runner process = the charge point only); "
               "thread groups by name, % of a core")
    return "\n".join(out)


def _backlog_table(results: dict[str, Any]) -> str:
    """Issue #4 (measure 7) in a table of its own: rates, not latencies."""
    b = results["backlog"]
    n, drain, base, sync, fill = b["n"], b["drain"], b["baseline"], b["baseline_sync_validation"], b["fill"]
    rtt, split, bsplit = b["link_rtt"], b["ours_split"], b["baseline"]["split"]
    floor = b["db_floor"]
    gap = drain["ms_per_msg"] - rtt["median_ms"]
    rows = [
        (f"offline backlog drain after reconnect ({n:,} MeterValues)", n, drain["msgs_per_s"], "msgs/s",
         base["msgs_per_s"], b["ratio_msgs_per_s"],
         f"link connected (CSMS handshake) -> queued == 0, nothing in flight, CSMS has all {drain['received']:,} "
         f"({'in order' if drain['in_order'] else 'OUT OF ORDER'}); {drain['s']:.2f} s; baseline = bare ocpp "
         f"ChargePoint + websockets, same LocalCsms, each call awaited"),
        ("  per message", n, drain["ms_per_msg"], "ms", base["ms_per_msg"], b["ratio_ms_per_msg"],
         f"{b['db_commits_per_msg']} DB commits each (INSERT offline, DELETE on the answer; WAL, synchronous=FULL)"),
        ("  link round trip during the drain (median)", rtt["n"], rtt["median_ms"], "ms", base["rtt"]["median_ms"],
         rtt["median_ms"] / base["rtt"]["median_ms"],
         f"ours: frame sent -> answer validated, in the actor; baseline: the whole awaited cp.call. Limit "
         f"{1000 / rtt['median_ms']:.0f} msgs/s; the round trip is {b['rtt_share'] * 100:.0f} % of our "
         f"per-message time, ~{gap:.3f} ms from answer to next send"),
        ("  CSMS side: CALL in -> CALLRESULT out (median)", split["csms_side"]["n"], split["csms_side"]["median_ms"],
         "ms", bsplit["csms_side"]["median_ms"], None, "LocalCsms frame timestamps; the same server for both"),
        ("  client side: CALLRESULT out -> next CALL in (median)", split["client_side"]["n"],
         split["client_side"]["median_ms"], "ms", bsplit["client_side"]["median_ms"],
         split["client_side"]["median_ms"] / bsplit["client_side"]["median_ms"],
         "read answer, dequeue (DB commit), encode + validate + send the next"),
        ("  baseline with ASYNC_VALIDATION = False", n, sync["msgs_per_s"], "msgs/s", None,
         drain["msgs_per_s"] / sync["msgs_per_s"], f"context: {sync['ms_per_msg']:.3f} ms/msg; ratio = ours / this"),
        ("  filling offline: SendCall -> stored + queued", n, fill["msgs_per_s"], "msgs/s", None, None,
         f"context (store-before-send): {fill['ms_per_msg']:.3f} ms/msg, {fill['s']:.2f} s; "
         f"queue rows in the DB {b['db_rows']['after_fill']:,} after filling, {b['db_rows']['after_drain']} after the drain"),
        ("  bare sqlite INSERT + DELETE, WAL, synchronous=FULL", floor["pairs"], floor["pair_ms"], "ms", None, None,
         f"context: the DB floor of a message on this disk (insert {floor['insert_ms']:.3f} + "
         f"delete {floor['delete_ms']:.3f} ms), no actors"),
        ("  clock.advance -> link connected; -> first MeterValues in", 1, drain["advance_to_connected_ms"], "ms",
         None, None, f"context: then {drain['connected_to_first_received_ms']:.1f} ms to the first MeterValues; "
         f"BootNotifications on reconnect: {drain['boot_notifications']}; ManualClock"),
    ]
    header = ("backlog (issue #4)", "n", "value", "unit", "baseline", "ratio", "note")

    def num(value: float | None) -> str:
        if value is None:
            return "-"
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"

    cells = [header] + [(m, str(k), num(v), unit, num(bl), _fmt(r), note) for m, k, v, unit, bl, r, note in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    right = {1, 2, 4, 5}

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    out.append("ratio = ours / baseline (for msgs/s higher is better, for ms lower); one CALL in flight, so a "
               "message cannot take less than its round trip")
    return "\n".join(out)


def _trace_table(results: dict[str, Any]) -> str:
    """Issue #5 (measures 8 and 9) in a table of its own: CPU with and without recording, the
    trace's growth, replay speed."""
    ov, rp = results["trace_overhead"], results["replay"]
    on, off, growth, cost = ov["on"], ov["off"], ov["trace_growth"], ov["record_cost"]
    rt = ov["recorder_threads_cpu_percent"]
    ev_timer_per_s = growth["kinds_per_s"].get("ev", 0.0) + growth["kinds_per_s"].get("timer", 0.0)
    n_evses = ov["evses"]
    target_note = (f"target < {ov['target_percent']:.0f} %: {'met' if ov['target_met'] else 'NOT met'}")
    per_s = ", ".join(f"{k} {v:.0f}" for k, v in growth["kinds_per_s"].items())
    matched = "matched" if rp["matched"] else "*** DID NOT MATCH *** (report printed above)"
    tenths = rp["records_per_s_by_tenth"]
    quick_note = " (--quick: a small trace)" if results["meta"]["quick"] else ""
    rows = [
        (f"CPU, {n_evses} EVSEs charging, recording on (TracePath set)", on["n"], on["cpu_percent"], "% of a core",
         off["cpu_percent"], ov["ratio"],
         f"overhead {ov['overhead_percent']:+.1f} % ({target_note}); baseline = the same, recording off; "
         f"{'/'.join(ov['order'])} interleaved, {ov['window_s']:.0f} s windows each, a fresh charge point each; "
         f"per-pair ratios {'/'.join(f'{r:.3f}' for r in ov['pair_ratios'])}"),
        ("  each window, recording on / off", on["n"], statistics.median(on["cpu_percent_windows"]), "% of a core",
         statistics.median(off["cpu_percent_windows"]), None,
         "medians; on " + "/".join(f"{v:.1f}" for v in on["cpu_percent_windows"]) + ", off "
         + "/".join(f"{v:.1f}" for v in off["cpu_percent_windows"])
         + f"; CSMS (own process) {on['csms_cpu_percent']:.1f} / {off['csms_cpu_percent']:.1f} %"),
        ("  CPU over the CSMS process's CPU, on / off", on["n"], ov["per_csms_cpu"]["on"], "x", ov["per_csms_cpu"]["off"],
         ov["per_csms_cpu"]["ratio"],
         f"context: {(ov['per_csms_cpu']['ratio'] - 1) * 100:+.1f} %; the CSMS does the same work in every window, "
         f"so this takes out the machine's common noise (and any cost of recording charged to the CSMS)"),
        ("  " + " + ".join(RECORDER_THREADS) + " threads, on / off", on["n"], sum(rt["on"].values()), "% of a core",
         sum(rt["off"].values()), sum(rt["on"].values()) / sum(rt["off"].values()),
         f"context: where ev and timer records are written, nothing else changes: "
         f"{sum(rt['on'].values()) - sum(rt['off'].values()):+.2f} % of a core for "
         f"{ev_timer_per_s:.0f} records/s = {(sum(rt['on'].values()) - sum(rt['off'].values())) * 1e4 / ev_timer_per_s:.0f} "
         f"us per record (" + ", ".join(f"{k} {rt['on'][k]:.2f}/{rt['off'][k]:.2f}" for k in RECORDER_THREADS) + ")"),
        ("  MeterValues received by the CSMS, on / off", on["n"], on["meter_values_per_s"], "/s",
         off["meter_values_per_s"], on["meter_values_per_s"] / off["meter_values_per_s"],
         f"the same load both ways (expected {n_evses / ov['sample_interval_s']:.0f}/s)"),
        ("  trace growth while recording", on["n"], growth["bytes_per_s"] / 1024, "kB/s", None, None,
         f"{growth['bytes_per_record']:.0f} B per record; "
         f"{growth['bytes_per_s'] * 3600 / 1024 ** 3:.2f} GB per hour of this load"),
        ("  trace records while recording", on["n"], growth["records_per_s"], "records/s", None, None,
         f"by kind, per s: {per_s}"),
        ("  writing one record (actors.trace.Trace, no actors)", cost["records"], cost["cpu_us_per_record"], "us CPU",
         None, None,
         f"context: the recorder's own cost; x {growth['records_per_s']:.0f} records/s = "
         f"{cost['percent_of_core']:.2f} % of a core, {cost['percent_of_off']:+.1f} % of the CPU recording off "
         f"(the records of the first window on, written again in one thread; wall {cost['wall_us_per_record']:.1f} us)"),
        (f"replay of a recorded trace ({rp['records']:,} records){quick_note}", 1, rp["records_per_s"],
         "records/s", None, None,
         f"{matched}: {rp['inputs']:,} inputs fed, {rp['outputs']:,} frames sent; replay_trace() of "
         f"{n_evses} EVSEs charging, then all unplugged, {rp['bytes'] / 1024 ** 2:.1f} MB in {rp['segments']} "
         f"segment(s); target >= {rp['target_records']:,} records; "
         + ("no CALL left unanswered at the end" if rp["ended_cleanly"]
            else f"{rp['unanswered_calls']} CALL(s) left unanswered at the end")),
        ("  replay wall time vs time the trace covers", 1, rp["replay_s"], "s", rp["recorded_s"],
         rp["replay_s"] / rp["recorded_s"],
         f"speed-up x{rp['speedup']:.2f} (recorded / replay); replay CPU {rp['replay_cpu_percent']:.0f} % of a core "
         f"(this process, all threads)"),
    ]
    if len(tenths) > 2:
        rows.append(("  replay rate, last vs second tenth of the records", 1, tenths[-1], "records/s", tenths[1],
                     tenths[-1] / tenths[1],
                     "per tenth: " + "/".join(f"{v:.0f}" for v in tenths) + " (the first holds the boot and the "
                     "plug-ins, the last the unplugging); a ratio under 1 = slower as the trace goes on"))
    rows.append(("  read_trace of the whole trace; replay set-up", 1, rp["read_s"], "s", None, None,
                 "context" + (f"; replay_trace() -> first record fed {rp['setup_s']:.2f} s (read, decode, start "
                              f"{n_evses} EVSEs)" if rp["setup_s"] is not None else "")))
    header = ("recording and replay (issue #5)", "n", "value", "unit", "baseline", "ratio", "note")

    def num(value: float | None) -> str:
        if value is None:
            return "-"
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"

    cells = [header] + [(m, str(k), num(v), unit, num(bl), _fmt(r, 3), note)
                        for m, k, v, unit, bl, r, note in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    right = {1, 2, 4, 5}

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    out.append("ratio = value / baseline; CPU = process CPU seconds / wall seconds of the runner (the charge point; "
               "the CSMS is a child process); n = windows with recording on (as many off)")
    return "\n".join(out)


# --- entry point -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/bench/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for the smoke test)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    parser.add_argument("--replay-records", metavar="N", type=int, default=None,
                        help="records of the trace replayed in measure 9 (default 100,000; 10,000 with --quick)")
    parser.add_argument("--keep-trace", metavar="DIR", help="copy measure 9's trace to DIR (e.g. to profile a replay)")
    args = parser.parse_args(argv)

    reps_start = 2 if args.quick else 5
    n_heartbeats = 200 if args.quick else 1000
    rounds = 2 if args.quick else 4
    reps_restart = 10 if args.quick else 50
    targets = ("configuration", "evse/1")
    reps_statuses = 1 if args.quick else 3
    n_remote = 30 if args.quick else 200
    window_s = 5.0 if args.quick else 10.0
    n_backlog = 2000 if args.quick else 10_000
    trace_pairs = 1 if args.quick else 3
    replay_records = args.replay_records or (10_000 if args.quick else 100_000)

    began = time.perf_counter()
    IN_PROCESS_BOOT_S.clear()
    results: dict[str, Any] = {
        "meta": {"quick": args.quick, "python": platform.python_version(), "cpus": os.cpu_count(),
                 "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "units": "milliseconds; ratio = ours / baseline"},
    }
    with tempfile.TemporaryDirectory(prefix="ocpp-bench-") as tmp:
        workdir = Path(tmp)
        csms = LocalCsms().start()
        try:
            print(f"LocalCsms at {csms.url}; {'quick' if args.quick else 'full'} run", flush=True)
            print(f"[1/9] process start x{reps_start} ...", flush=True)
            results.update(bench_startup(csms, workdir, reps_start))
            print(f"[2/9] heartbeat x{n_heartbeats} (ours and baseline, {rounds} rounds) ...", flush=True)
            results["heartbeat"] = bench_heartbeat(csms, workdir, n_heartbeats, rounds)
            print(f"[3/9] actor restart x{reps_restart} ...", flush=True)
            results["restart"] = bench_restart(csms, workdir, reps_restart, targets)
            print(f"[4/9] process start with 128 and with 1 EVSE x{reps_statuses} ...", flush=True)
            results.update(bench_statuses(workdir, reps_statuses))
            print(f"[5/9] RemoteStartTransaction -> StartTransaction x{n_remote} ...", flush=True)
            results["remote_start"] = bench_remote_start(csms, workdir, n_remote)
            results["in_process_boot"] = _summary(IN_PROCESS_BOOT_S)
            failures = csms.failures
        finally:
            csms.stop()
        print(f"[6/9] offline backlog of {n_backlog:,} MeterValues drained after a reconnect ...", flush=True)
        results["backlog"] = bench_backlog(workdir, n_backlog)
        # Last: their apps run on the real clock, whose thread outlives the app.
        print(f"[7/9] CPU, 128 EVSEs idle then charging, {window_s:.0f} s windows ...", flush=True)
        results["steady_state"] = bench_steady_state(workdir, window_s)
        print(f"[8/9] CPU, 128 EVSEs charging, recording off/on x{trace_pairs}, {window_s:.0f} s windows; then "
              f"recording on until the trace holds {replay_records:,} records ...", flush=True)
        results["trace_overhead"], trace_dir, made = bench_trace_overhead(workdir, window_s, trace_pairs,
                                                                          replay_records)
        print(f"[9/9] replay of that trace ({made['records_at_target']:,}+ records) ...", flush=True)
        results["replay"] = bench_replay(trace_dir, made, replay_records)
        if args.keep_trace:
            import shutil

            shutil.copytree(trace_dir, args.keep_trace, dirs_exist_ok=True)
            print(f"trace of measure 9 copied to {args.keep_trace}", flush=True)
        if not results["replay"]["matched"]:
            print("REPLAY DID NOT MATCH; the first lines of its report:", *results["replay"]["report_head"],
                  sep="\n  ", flush=True)
    failures_total = (len(failures) + results["memory"]["csms_failures"] + results["steady_state"]["csms_failures"]
                      + results["backlog"]["csms_failures"] + results["trace_overhead"]["csms_failures"])
    results["meta"]["duration_s"] = time.perf_counter() - began
    results["meta"]["csms_failures"] = failures_total

    print()
    print(_table(results))
    print()
    print(_resources_table(results))
    print()
    print(_backlog_table(results))
    print()
    print(_trace_table(results))
    print(f"\n{results['meta']['duration_s']:.1f} s in all; the CSMSs saw {failures_total} invalid frame(s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
