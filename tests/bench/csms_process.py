"""A LocalCsms in a process of its own, for benchmarks that measure the CPU of the charge point's
process (``time.process_time()`` would otherwise count the CSMS as well).

Run as ``python tests/bench/csms_process.py``. It prints ``PORT <n>`` once it listens on
127.0.0.1, then answers one line of JSON per command line on stdin:

* ``counts [T0 T1]`` → ``{action: number}`` of the CALLs received, all or those whose
  ``Received.at`` lies in [T0, T1] (``time.monotonic()`` seconds: CLOCK_MONOTONIC is the same
  clock in every process of the machine, so the caller's readings can be used);
* ``gaps ACTION T0 T1`` → per connector, the time between consecutive such CALLs received in
  [T0, T1] (the payloads' own timestamps have whole seconds only, too coarse for a lag), in ms:
  ``{"n", "median_ms", "max_ms", "connectors", "min_per_connector", "max_per_connector"}``;
* ``times ACTION`` → the ``Received.at`` of every such CALL, oldest first;
* ``last ACTION`` → ``{connectorId: Received.at}`` of the latest such CALL of each connector;
* ``failures`` → ``{"failures": number}`` of invalid frames;
* ``quit`` (or end of input) stops the server and exits.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from supervisor.local_csms import LocalCsms  # noqa: E402


def _in_window(at: float, bounds: list[str]) -> bool:
    return not bounds or float(bounds[0]) <= at <= float(bounds[1])


def _gaps(csms: LocalCsms, action: str, bounds: list[str]) -> dict[str, float]:
    arrivals: dict[object, list[float]] = defaultdict(list)
    for r in csms.received:
        if r.action == action and _in_window(r.at, bounds):
            arrivals[r.payload.get("connectorId")].append(r.at)
    gaps = [(b - a) * 1000 for times in arrivals.values() for a, b in zip(times, times[1:])]
    counts = [len(times) for times in arrivals.values()] or [0]
    return {"n": len(gaps), "median_ms": statistics.median(gaps) if gaps else 0.0,
            "max_ms": max(gaps, default=0.0), "connectors": len(arrivals),
            "min_per_connector": min(counts), "max_per_connector": max(counts)}


def main() -> int:
    csms = LocalCsms().start()
    try:
        print(f"PORT {csms.port}", flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                break
            if words[0] == "counts":
                answer: object = dict(Counter(r.action for r in csms.received if _in_window(r.at, words[1:])))
            elif words[0] == "gaps":
                answer = _gaps(csms, words[1], words[2:])
            elif words[0] == "times":
                answer = [r.at for r in csms.received if r.action == words[1]]
            elif words[0] == "last":
                answer = {r.payload.get("connectorId"): r.at for r in csms.received if r.action == words[1]}
            elif words[0] == "failures":
                answer = {"failures": len(csms.failures)}
            else:
                answer = {"error": f"unknown command {words[0]!r}"}
            print(json.dumps(answer), flush=True)
    finally:
        csms.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
