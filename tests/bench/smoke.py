"""What the benchmarks' smoke tests share: loading a benchmark script by path, and reading the
figures it wrote (no timing is asserted: the machine is noisy)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

SUMMARY_KEYS = {"n", "median_ms", "p99_ms", "min_ms", "max_ms"}


def load_benchmark(file_name: str) -> Any:
    """The benchmark script ``tests/bench/<file_name>`` as a module (it is not a package)."""
    path = Path(__file__).with_name(file_name)
    spec = importlib.util.spec_from_file_location(f"ocpp_cp_bench_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def figures(value: Any, where: str = "") -> list[tuple[str, float]]:
    """Every number in ``value`` (booleans are verdicts, not figures), with its path."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [(where, value)]
    if isinstance(value, dict):
        return [f for key, item in value.items() for f in figures(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in figures(item, f"{where}[{i}]")]
    return []


def check_summary(what: str, summary: dict[str, Any], n: int | None = None) -> None:
    """A median/p99 summary has every key, its quantiles in order, and (if given) n samples."""
    assert SUMMARY_KEYS <= summary.keys(), f"{what}: missing {SUMMARY_KEYS - summary.keys()}"
    assert summary["min_ms"] <= summary["median_ms"] <= summary["p99_ms"] <= summary["max_ms"], what
    if n is not None:
        assert summary["n"] == n, what
