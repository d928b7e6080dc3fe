"""Benchmarks of issue #2: start-up, heartbeat round trip, actor restart.

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
3. actor restart: ``InjectCrash`` told to an actor → a new incarnation answers ``Ping``.

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
import signal
import statistics
import subprocess
import sys
import tempfile
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
"""app.start() → BootNotification received, for every in-process charge point of this run."""


@contextlib.contextmanager
def _charge_point(csms: LocalCsms, cp_id: str, workdir: Path, clock: ManualClock) -> Iterator[ChargePointApp]:
    """An in-process charge point built like the tests' ``make_charge_point``, stopped on exit."""
    user_config = workdir / f"{cp_id}-user_config.json"
    user_config.write_text(json.dumps({"Internal": {"CentralSystemURI": csms.url, "ChargePointId": cp_id}}))
    overrides = {"EvseCount": 1, "DatabasePath": workdir / f"{cp_id}-db",
                 "MessageLogPath": workdir / f"{cp_id}-log", "UserConfigPath": user_config}
    module = load_module_config(None, [f"{k}={v}" for k, v in overrides.items()])
    app = ChargePointApp(module, load_charge_point_config(module), clock=clock)
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
         None, None, "context: the apps of measures 2 and 3"),
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


# --- entry point -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/bench/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for the smoke test)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    args = parser.parse_args(argv)

    reps_start = 2 if args.quick else 5
    n_heartbeats = 200 if args.quick else 1000
    rounds = 2 if args.quick else 4
    reps_restart = 10 if args.quick else 50
    targets = ("configuration", "evse/1")

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
            print(f"[1/3] process start x{reps_start} ...", flush=True)
            results.update(bench_startup(csms, workdir, reps_start))
            print(f"[2/3] heartbeat x{n_heartbeats} (ours and baseline, {rounds} rounds) ...", flush=True)
            results["heartbeat"] = bench_heartbeat(csms, workdir, n_heartbeats, rounds)
            print(f"[3/3] actor restart x{reps_restart} ...", flush=True)
            results["restart"] = bench_restart(csms, workdir, reps_restart, targets)
            results["in_process_boot"] = _summary(IN_PROCESS_BOOT_S)
            failures = csms.failures
        finally:
            csms.stop()
    results["meta"]["duration_s"] = time.perf_counter() - began
    results["meta"]["csms_failures"] = len(failures)

    print()
    print(_table(results))
    print(f"\n{results['meta']['duration_s']:.1f} s in all; CSMS saw {len(failures)} invalid frame(s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
