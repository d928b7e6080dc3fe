"""Smoke test of the benchmark runner: a --quick run completes and writes every figure.

No timing is asserted (the machine is noisy); only that each measure produced positive numbers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench.smoke import load_benchmark

pytestmark = pytest.mark.timeout(120)

SUMMARY_KEYS = {"n", "median_ms", "p99_ms", "min_ms", "max_ms"}


def _check_summary(what: str, summary: dict[str, Any]) -> None:
    assert SUMMARY_KEYS <= summary.keys(), f"{what}: missing {SUMMARY_KEYS - summary.keys()}"
    assert summary["n"] > 0, what
    for key in SUMMARY_KEYS - {"n"}:
        value = summary[key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, f"{what}.{key} = {value!r}"
    assert summary["min_ms"] <= summary["median_ms"] <= summary["max_ms"], what


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert load_benchmark("run.py").main(["--quick", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())

    assert {"meta", "startup", "import_floor", "import_ours", "in_process_boot", "heartbeat",
            "restart", "statuses_128", "statuses_1", "memory", "remote_start", "steady_state",
            "backlog", "trace_overhead", "replay"} <= figures.keys()
    assert figures["meta"]["quick"] is True

    startup = figures["startup"]
    for key in ("boot", "boot_to_status", "sigterm_to_exit"):
        _check_summary(f"startup.{key}", startup[key])
    assert startup["boot"]["n"] == 2
    assert startup["exit_codes"] == [0, 0], "ocpp-cp should exit 0 after SIGTERM"
    _check_summary("import_floor", figures["import_floor"])
    _check_summary("import_ours", figures["import_ours"])
    _check_summary("in_process_boot", figures["in_process_boot"])

    heartbeat = figures["heartbeat"]
    for key in ("ours", "baseline", "baseline_sync_validation", "ours_end_to_end"):
        _check_summary(f"heartbeat.{key}", heartbeat[key])
        assert heartbeat[key]["n"] == 200, key
    for key in ("ratio_median", "ratio_p99"):
        assert heartbeat[key] > 0, key
    assert heartbeat["rounds"] and all(r["ratio_median"] > 0 for r in heartbeat["rounds"])

    restart = figures["restart"]
    _check_summary("restart", restart)
    assert restart["n"] == 10
    _check_summary("restart.registered", restart["registered"])
    assert set(restart["by_actor"]) == {"configuration", "evse/1"}
    for name, summary in restart["by_actor"].items():
        _check_summary(f"restart.by_actor.{name}", summary)
    assert restart["target_ms"] == 100
    assert isinstance(restart["target_met"], bool)
    assert figures["meta"]["csms_failures"] == 0

    # Issue #3: 128 EVSEs.
    for key, evses in (("statuses_128", 128), ("statuses_1", 1)):
        statuses = figures[key]
        assert statuses["evses"] == evses
        for part in ("answered", "received", "boot", "boot_to_last", "sigterm_to_exit"):
            _check_summary(f"{key}.{part}", statuses[part])
            assert statuses[part]["n"] == 1, (key, part)
        assert statuses["exit_codes"] == [0], f"{key}: ocpp-cp should exit 0 after SIGTERM"
        assert all(n >= evses + 1 for n in statuses["status_notifications"]), key
    memory = figures["memory"]
    for key in ("evses_128", "evses_1"):
        for part in ("rss_kb", "hwm_kb", "threads"):
            assert memory[key][part] > 0, (key, part)

    remote = figures["remote_start"]
    _check_summary("remote_start", remote)
    assert remote["n"] == 30
    for key in ("to_start_frame", "from_call_issued", "call_answered", "stop_accepted_after_start_answered"):
        _check_summary(f"remote_start.{key}", remote[key])

    steady = figures["steady_state"]
    assert steady["evses"] == 128
    for key in ("start_to_statuses_ms", "plug_to_all_started_ms"):
        assert steady[key] > 0, key
    for window in ("idle", "loaded"):
        assert steady[window]["wall_s"] > 0, window
        assert steady[window]["cpu_percent"] >= 0, window
        assert steady[window]["threads_cpu_percent"] is not None, window
    loaded = steady["loaded"]
    for key in ("cpu_s", "cpu_percent", "csms_cpu_percent", "meter_values", "meter_values_per_s", "calls_per_s"):
        assert loaded[key] > 0, f"steady_state.loaded.{key} = {loaded[key]!r}"
    assert loaded["meter_value_gaps"]["n"] > 0

    # Issue #4: an offline backlog drained after a reconnect (2,000 MeterValues with --quick).
    backlog = figures["backlog"]
    assert backlog["n"] == 2000
    assert backlog["clock"] == "ManualClock"
    for key in ("fill", "drain", "baseline", "baseline_sync_validation"):
        for part in ("s", "msgs_per_s", "ms_per_msg"):
            assert backlog[key][part] > 0, f"backlog.{key}.{part} = {backlog[key][part]!r}"
    drain = backlog["drain"]
    assert drain["received"] == 2000 and drain["answered"] == 2000
    assert drain["in_order"] is True
    assert drain["boot_notifications"] == 0, "a reconnect is not a reboot"
    for key in ("advance_to_connected_ms", "connected_to_first_received_ms", "connected_to_last_received_ms"):
        assert drain[key] > 0, key
    _check_summary("backlog.link_rtt", backlog["link_rtt"])
    for key in ("baseline", "baseline_sync_validation"):
        _check_summary(f"backlog.{key}.rtt", backlog[key]["rtt"])
        assert backlog[key]["rtt"]["n"] == 2000, key
    for what, split in (("ours_split", backlog["ours_split"]), ("baseline.split", backlog["baseline"]["split"]),
                        ("baseline_sync_validation.split", backlog["baseline_sync_validation"]["split"])):
        for part in ("csms_side", "client_side"):
            _check_summary(f"backlog.{what}.{part}", split[part])
    for key in ("ratio_msgs_per_s", "ratio_ms_per_msg", "rtt_share"):
        assert backlog[key] > 0, key
    assert backlog["fill"]["queue_rows_after"] == 2000
    assert backlog["db_commits_per_msg"] == 2
    assert backlog["db_rows"] == {"after_fill": 2000, "after_drain": 0}
    for key in ("insert_ms", "delete_ms", "pair_ms"):
        assert backlog["db_floor"][key] > 0, key
    assert backlog["csms_failures"] == 0

    # Issue #5: recording overhead (1 window off, 1 on, with --quick) and replay speed (>= 10,000 records).
    overhead = figures["trace_overhead"]
    assert overhead["evses"] == 128 and overhead["pairs"] == 1
    assert overhead["order"] == ["off", "on"]
    assert [w["trace_on"] for w in overhead["windows"]] == [False, True]
    for side in ("off", "on"):
        assert overhead[side]["n"] == 1, side
        for key in ("cpu_s", "wall_s", "cpu_percent", "meter_values_per_s", "calls_per_s"):
            assert overhead[side][key] > 0, f"trace_overhead.{side}.{key} = {overhead[side][key]!r}"
    for key in ("ratio", "overhead_percent"):
        assert isinstance(overhead[key], float) and math.isfinite(overhead[key]), key
    assert overhead["ratio"] > 0
    assert len(overhead["pair_ratios"]) == 1
    for key in ("on", "off", "ratio"):
        assert overhead["per_csms_cpu"][key] > 0, key
    for side in ("on", "off"):
        assert set(overhead["recorder_threads_cpu_percent"][side]) == {"Simulator", "clock"}, side
        assert sum(overhead["recorder_threads_cpu_percent"][side].values()) > 0, side
    assert overhead["target_percent"] == 10
    assert isinstance(overhead["target_met"], bool)
    growth = overhead["trace_growth"]
    for key in ("bytes_per_s", "records_per_s", "bytes_per_record"):
        assert growth[key] > 0, f"trace_overhead.trace_growth.{key} = {growth[key]!r}"
    assert {"ev", "timer", "out", "in"} <= growth["kinds_per_s"].keys()
    cost = overhead["record_cost"]
    assert cost["records"] == overhead["windows"][1]["trace"]["records"]
    for key in ("cpu_us_per_record", "wall_us_per_record", "bytes", "percent_of_core", "percent_of_off"):
        assert cost[key] > 0, f"trace_overhead.record_cost.{key} = {cost[key]!r}"
    on_window = overhead["windows"][1]
    assert on_window["trace"]["records"] > 0
    assert isinstance(on_window["trace"]["bytes"], int) and on_window["trace"]["bytes"] > 0
    assert overhead["windows"][0]["trace"] is None
    assert overhead["csms_failures"] == 0

    replay = figures["replay"]
    assert replay["target_records"] == 10_000
    assert replay["records"] >= 10_000
    assert replay["problems"] == []
    assert replay["matched"] is True, "\n".join(replay["report_head"])
    assert replay["inputs"] > 0 and replay["outputs"] > 0
    for key in ("bytes", "recorded_s", "read_s", "replay_s", "replay_cpu_percent", "records_per_s", "speedup"):
        assert replay[key] > 0, f"replay.{key} = {replay[key]!r}"
    assert replay["segments"] >= 1
    assert replay["recorded_by"]["records_at_target"] >= 10_000
    assert replay["ended_cleanly"] is True
    assert len(replay["records_per_s_by_tenth"]) == 10
    assert all(v > 0 for v in replay["records_per_s_by_tenth"])
    assert replay["slowdown_second_to_last_tenth"] > 0
