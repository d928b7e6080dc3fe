"""Smoke test of the composite-schedule benchmark (issue #8): a --quick run completes and writes
every figure.

No timing is asserted (the machine is noisy): only that every figure is a positive, finite
number, and that the benchmark measured what it says (500 profiles, 128 ExternalLimits a round,
the same schedules as the publisher, no disagreement with the reference).
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(120)

SUMMARY_KEYS = {"n", "median_ms", "p99_ms", "min_ms", "max_ms"}
ROUND_SUMMARIES = ("publisher_cpu", "simulator_external_limits_cpu", "publication_cpu", "simulator_thread_cpu",
                   "publisher_and_simulator_threads_cpu", "wall")


def _load_benchmark() -> Any:
    path = Path(__file__).with_name("schedules.py")
    spec = importlib.util.spec_from_file_location("ocpp_cp_bench_schedules", path)
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


def _check_summary(what: str, summary: dict[str, Any], n: int | None = None) -> None:
    assert SUMMARY_KEYS <= summary.keys(), f"{what}: missing {SUMMARY_KEYS - summary.keys()}"
    assert summary["min_ms"] <= summary["median_ms"] <= summary["p99_ms"] <= summary["max_ms"], what
    if n is not None:
        assert summary["n"] == n, what


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "schedules.json"
    assert _load_benchmark().main(["--quick", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())

    assert {"meta", "rounds_0", "install", "table", "rounds_full", "naive", "pure", "checks", "ratios",
            "target"} <= figures.keys()
    # The garbage-collection counts are context and may be 0; everything else is a measured figure.
    measured = {k: {kk: vv for kk, vv in v.items() if kk != "gc"} if isinstance(v, dict) else v
                for k, v in figures.items() if k not in ("meta", "checks")}
    numbers = _figures(measured)
    assert len(numbers) > 50
    for where, value in numbers:
        assert math.isfinite(value) and value > 0, f"{where} = {value!r}"

    meta = figures["meta"]
    assert meta["quick"] is True
    assert (meta["evses"], meta["interval_s"], meta["rounds"]) == (128, 1, 20)
    assert meta["csms_failures"] == 0

    for rounds in ("rounds_0", "rounds_full"):
        for key in ROUND_SUMMARIES:
            _check_summary(f"{rounds}.{key}", figures[rounds][key], n=20)
        for key in ("publisher_percent", "publication_percent"):
            assert set(figures[rounds][key]) == {"median", "p99"}, (rounds, key)
        collections = figures[rounds]["gc"]
        _check_summary(f"{rounds}.gc.publication_cpu_without_gc", collections["publication_cpu_without_gc"], n=20)
        assert all(value > 0 for _, value in _figures(collections["publication_percent_without_gc"])), rounds
        for key in ("publisher_gc_ms_total", "publisher_full_collections", "rounds_with_gc"):
            assert math.isfinite(collections[key]) and collections[key] >= 0, (rounds, key)

    assert figures["install"]["profiles"] == 500
    _check_summary("install.set_charging_profile", figures["install"]["set_charging_profile"], n=500)
    table = figures["table"]
    assert sum(table["purpose"].values()) == sum(table["kind"].values()) == sum(table["unit"].values()) == 500
    assert set(table["kind"]) == {"Absolute", "Recurring", "Relative"} and set(table["unit"]) == {"A", "W"}
    assert table["periods_max"] <= 24

    for key in ("profiles_full", "profiles_full_without_gc", "profiles_0", "profiles_0_without_gc"):
        _check_summary(f"pure.{key}", figures["pure"][key], n=10)
    naive = figures["naive"]
    _check_summary("naive.per_connector", naive["per_connector"], n=len(naive["connectors"]))
    assert naive["instants_per_connector"] == meta["window_s"]

    assert figures["checks"] == {"pure_equals_publisher": True, "reference_mismatches": 0,
                                 "reference_instants_checked": figures["checks"]["reference_instants_checked"],
                                 "external_limits_per_round": 128}
    assert figures["checks"]["reference_instants_checked"] > 0
    target = figures["target"]
    assert target["percent"] == 5
    assert isinstance(target["met_median"], bool) and isinstance(target["met_p99"], bool)
