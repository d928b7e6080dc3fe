"""Smoke test of the composite-schedule benchmark (issue #8): a --quick run completes and writes
every figure.

No timing is asserted (the machine is noisy): only that every figure is a positive, finite
number, and that the benchmark measured what it says (500 profiles, 128 ExternalLimits a round,
the same schedules as the publisher, no disagreement with the reference).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.smoke import check_summary, load_benchmark
from bench.smoke import figures as numbers_of

pytestmark = pytest.mark.timeout(120)

ROUND_SUMMARIES = ("publisher_cpu", "simulator_external_limits_cpu", "publication_cpu", "simulator_thread_cpu",
                   "publisher_and_simulator_threads_cpu", "wall")


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "schedules.json"
    assert load_benchmark("schedules.py").main(["--quick", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())

    assert {"meta", "rounds_0", "install", "table", "rounds_full", "naive", "pure", "checks", "ratios",
            "target"} <= figures.keys()
    # The garbage-collection counts are context and may be 0; everything else is a measured figure.
    measured = {k: {kk: vv for kk, vv in v.items() if kk != "gc"} if isinstance(v, dict) else v
                for k, v in figures.items() if k not in ("meta", "checks")}
    numbers = numbers_of(measured)
    assert len(numbers) > 50
    for where, value in numbers:
        assert math.isfinite(value) and value > 0, f"{where} = {value!r}"

    meta = figures["meta"]
    assert meta["quick"] is True
    assert (meta["evses"], meta["interval_s"], meta["rounds"]) == (128, 1, 20)
    assert meta["csms_failures"] == 0

    for rounds in ("rounds_0", "rounds_full"):
        for key in ROUND_SUMMARIES:
            check_summary(f"{rounds}.{key}", figures[rounds][key], n=20)
        for key in ("publisher_percent", "publication_percent"):
            assert set(figures[rounds][key]) == {"median", "p99"}, (rounds, key)
        collections = figures[rounds]["gc"]
        check_summary(f"{rounds}.gc.publication_cpu_without_gc", collections["publication_cpu_without_gc"], n=20)
        assert all(value > 0 for _, value in numbers_of(collections["publication_percent_without_gc"])), rounds
        for key in ("publisher_gc_ms_total", "publisher_full_collections", "rounds_with_gc"):
            assert math.isfinite(collections[key]) and collections[key] >= 0, (rounds, key)

    assert figures["install"]["profiles"] == 500
    check_summary("install.set_charging_profile", figures["install"]["set_charging_profile"], n=500)
    table = figures["table"]
    assert sum(table["purpose"].values()) == sum(table["kind"].values()) == sum(table["unit"].values()) == 500
    assert set(table["kind"]) == {"Absolute", "Recurring", "Relative"} and set(table["unit"]) == {"A", "W"}
    assert table["periods_max"] <= 24

    for key in ("profiles_full", "profiles_full_without_gc", "profiles_0", "profiles_0_without_gc"):
        check_summary(f"pure.{key}", figures["pure"][key], n=10)
    naive = figures["naive"]
    check_summary("naive.per_connector", naive["per_connector"], n=len(naive["connectors"]))
    assert naive["instants_per_connector"] == meta["window_s"]

    assert figures["checks"] == {"pure_equals_publisher": True, "reference_mismatches": 0,
                                 "reference_instants_checked": figures["checks"]["reference_instants_checked"],
                                 "external_limits_per_round": 128}
    assert figures["checks"]["reference_instants_checked"] > 0
    target = figures["target"]
    assert target["percent"] == 5
    assert isinstance(target["met_median"], bool) and isinstance(target["met_p99"], bool)
