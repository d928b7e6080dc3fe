"""Smoke test of the MQTT bus benchmark (issue #9): a --quick run completes and writes every figure.

No timing is asserted (the machine is noisy): only that every figure is a positive, finite
number, and that the benchmark measured what it says (100 samples of each round-trip series in
both TCP set-ups, 128 EVSEs, every session event of every wave and burst handled).
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(180)

SUMMARY_KEYS = {"n", "median_ms", "p99_ms", "min_ms", "max_ms"}
SERIES = ("ours_to_peer", "peer_to_ours", "raw_rr_qos2", "raw_rr_qos0", "raw_one_way_qos2", "raw_one_way_qos0")
MODES = ("bus", "bus_nodelay", "embedded")


def _load_benchmark() -> Any:
    path = Path(__file__).with_name("bus.py")
    spec = importlib.util.spec_from_file_location("ocpp_cp_bench_bus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _figures(value: Any, where: str = "") -> list[tuple[str, float]]:
    """Every number in ``value`` (booleans are verdicts, not figures), with its path."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [(where, value)]
    if isinstance(value, dict):
        return [f for key, item in value.items() for f in _figures(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in _figures(item, f"{where}[{i}]")]
    return []


def _check_summary(what: str, summary: dict[str, Any], n: int) -> None:
    assert SUMMARY_KEYS <= summary.keys(), f"{what}: missing {SUMMARY_KEYS - summary.keys()}"
    assert summary["n"] == n, what
    assert summary["min_ms"] <= summary["median_ms"] <= summary["p99_ms"] <= summary["max_ms"], what


COUNTS_THAT_MAY_BE_ZERO = (".set_external_limits_not_sent", "set_external_limits_not_sent_per_start_wave")
"""Counts of calls the charge point made and the bench refused: none, now that the schedule
publisher sends only changed schedules (a wave of starts used to send 128 x 128)."""


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bus.json"
    assert _load_benchmark().main(["--quick", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())

    assert {"meta", "round_trips", "sessions", "nodelay_gain"} <= figures.keys()
    meta = figures["meta"]
    assert meta["quick"] is True and meta["evses"] == 128 and meta["round_trips"] == 100
    assert meta["csms_failures"] == 0

    # Everything measured is a positive, finite number; the CSMS failure counts (0) are checks, and
    # the differences to the floor (ours less the raw round trip) may have either sign.
    sessions = {k: v for k, v in figures["sessions"].items() if k not in ("checks", "csms_failures")}
    trips = {setup: {k: v for k, v in rt.items() if k not in ("csms_failures", "above_floor_ms")}
             for setup, rt in figures["round_trips"].items()}
    numbers = _figures({"round_trips": trips, "sessions": sessions, "nodelay_gain": figures["nodelay_gain"]})
    assert len(numbers) > 100
    for where, value in numbers:
        if where.endswith(COUNTS_THAT_MAY_BE_ZERO):
            assert math.isfinite(value) and value >= 0, f"{where} = {value!r}"
            continue
        assert math.isfinite(value) and value > 0, f"{where} = {value!r}"

    assert set(figures["round_trips"]) == {"shipped", "nodelay"}
    for setup, rt in figures["round_trips"].items():
        for series in SERIES:
            _check_summary(f"{setup}.{series}", rt[series], n=100)
        assert set(rt["ratios"]) == {"ours_to_peer", "peer_to_ours"}
        assert all(math.isfinite(d) for d in rt["above_floor_ms"].values()), setup
        assert rt["payload_bytes"]["request"] > 0 and rt["payload_bytes"]["reply"] > 0
        assert rt["csms_failures"] == 0

    s = figures["sessions"]
    assert s["rounds"] == 1 and s["cycles"] == 1 and s["energy_sinks_connected"] is False
    assert s["checks"]["events_as_expected"] is True
    assert s["csms_failures"] == 0
    for mode in MODES:
        summary = s[mode]
        assert (summary["start_events"], summary["stop_events"], summary["burst_events"]) == (384, 256, 640), mode
        assert len(s["runs"][mode]) == 1
    # No schedule changes in a wave of starts without profiles: no set_external_limits at all.
    assert s["bus"]["set_external_limits_not_sent_per_start_wave"] == 0
    assert set(s["raw_flood_messages_per_s"]) == {"shipped", "nodelay"}
