"""Smoke test of the MQTT bus benchmark (issue #9): a --quick run completes and writes every figure.

No timing is asserted (the machine is noisy): only that every figure is a positive, finite
number, and that the benchmark measured what it says (100 samples of each round-trip series in
both TCP set-ups, 128 EVSEs, every session event of every wave and burst handled).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.smoke import check_summary, load_benchmark
from bench.smoke import figures as numbers_of

pytestmark = pytest.mark.timeout(180)

SERIES = ("ours_to_peer", "peer_to_ours", "raw_rr_qos2", "raw_rr_qos0", "raw_one_way_qos2", "raw_one_way_qos0")
MODES = ("bus", "bus_nodelay", "embedded")


COUNTS_THAT_MAY_BE_ZERO = (".set_external_limits_not_sent", "set_external_limits_not_sent_per_start_wave")
"""Counts of calls the charge point made and the bench refused: none, now that the schedule
publisher sends only changed schedules (a wave of starts used to send 128 x 128)."""


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bus.json"
    assert load_benchmark("bus.py").main(["--quick", "--json", str(out)]) == 0
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
    numbers = numbers_of({"round_trips": trips, "sessions": sessions, "nodelay_gain": figures["nodelay_gain"]})
    assert len(numbers) > 100
    for where, value in numbers:
        if where.endswith(COUNTS_THAT_MAY_BE_ZERO):
            assert math.isfinite(value) and value >= 0, f"{where} = {value!r}"
            continue
        assert math.isfinite(value) and value > 0, f"{where} = {value!r}"

    assert set(figures["round_trips"]) == {"shipped", "nodelay"}
    for setup, rt in figures["round_trips"].items():
        for series in SERIES:
            check_summary(f"{setup}.{series}", rt[series], n=100)
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
