"""Recording a run and replaying it: a match, a difference at the right frame when the
configuration or a recorded answer changes, and the traces kept in tests/ replay in CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import CP_ID, run_for, settle, wait_until
from messages.lifecycle import InjectCrash
from messages.trace import TraceWriter, read_trace
from scenarios.steps import booted, start_charging
from supervisor.local_csms import LocalCsms
from supervisor.replay import replay_trace
from supervisor.sim_control import SimController
from traces.replays import assert_replays

pytestmark = pytest.mark.timeout(120)

RECORDED = Path(__file__).parent / "recorded"
KEYS = {"Core": {"MeterValueSampleInterval": 10, "AllowOfflineTxForUnknownId": True},
        "Internal": {"RetryBackoffWaitMinimum": 2, "RetryBackoffRandomRange": 0, "RetryBackoffRepeatTimes": 0}}


@pytest.fixture
def recorded_run(csms, clock, make_charge_point, tmp_path):
    """Three EVSEs: sessions local and remote, an offline period with a transaction in it, and a
    crashed EVSE actor in the middle of its transaction; all recorded."""
    trace = tmp_path / "trace"
    app = make_charge_point(csms.url, evses=3, keys=KEYS, options={"TracePath": trace})
    booted(csms, clock, app, evses=3)
    sim = SimController(app.directory)
    start_charging(csms, sim, 1, "TAG1")
    start_charging(csms, sim, 2, "TAG2")
    settle(app)
    run_for(clock, app, 20)
    app.ref("evse/2").tell(InjectCrash())
    wait_until(lambda: app.ref("evse/2") is not None)
    settle(app)
    run_for(clock, app, 20)
    csms.call(CP_ID, "RemoteStopTransaction", {"transactionId": 1})
    settle(app)
    port = csms.port
    csms.stop()  # offline: a transaction starts and stops while the CSMS is away
    run_for(clock, app, 3)
    sim.plug_in(3)
    sim.swipe(3, "TAG3")
    settle(app)
    run_for(clock, app, 20)
    sim.swipe(3, "TAG3")
    settle(app)
    back = LocalCsms(port=port).start()
    try:
        run_for(clock, app, 4)
        wait_until(lambda: back.count("StopTransaction") == 1)
        sim.swipe(2, "TAG2")
        wait_until(lambda: back.count("StopTransaction") == 2)
        for evse in (1, 2, 3):
            sim.plug_out(evse)
        settle(app)
        app.stop()
    finally:
        back.stop()
    return trace


def test_a_recorded_run_replays_to_a_match(recorded_run):
    result = replay_trace(recorded_run)
    assert result.matched, "\n".join(result.report)
    assert result.outputs > 30
    kinds = {r["k"] for r in read_trace(recorded_run).records}
    assert {"in", "out", "ev", "timer", "open", "close", "crash", "reply", "sim"} <= kinds


def test_a_changed_configuration_shows_at_the_first_meter_value(recorded_run):
    result = replay_trace(recorded_run, config_patch={"Core": {"MeterValueSampleInterval": 15}})
    assert not result.matched
    assert result.report[0].startswith("first difference: timer SampleDue of evse/1 fired at t=10.000 s")
    assert "due at t=15.000 s" in result.report[0]


def test_a_changed_csms_answer_shows_where_its_id_is_used(recorded_run, tmp_path):
    trace = read_trace(recorded_run)
    edited = tmp_path / "edited"
    writer = TraceWriter(edited, {k: v for k, v in trace.header.items() if k not in ("kind", "version", "segment")})
    changed = False
    for record in trace.records:
        frame = json.loads(record["frame"]) if record["k"] == "in" else None
        if not changed and frame and frame[0] == 3 and "transactionId" in frame[2]:
            frame[2]["transactionId"] = 77  # the CSMS gives the first transaction another id
            record = {**record, "frame": json.dumps(frame)}
            changed = True
        writer.write(record)
    writer.close()
    result = replay_trace(edited)
    assert not result.matched
    assert '"transactionId": 77' in result.report[2]  # "got:" carries the new id
    assert "MeterValues" in result.report[1] or "StopTransaction" in result.report[1]


def test_a_request_the_recording_never_sent_in_the_middle_is_a_difference(recorded_run, tmp_path):
    """The replay's Authorize for TAG2 has no recorded answer (deleted here, with its request), so
    its link waits from there on, as it may at the end of a trace; in the middle of one that is
    a difference all the same."""
    trace = read_trace(recorded_run)
    edited = tmp_path / "edited"
    writer = TraceWriter(edited, {k: v for k, v in trace.header.items() if k not in ("kind", "version", "segment")})
    authorize = None
    for record in trace.records:
        frame = json.loads(record["frame"]) if record["k"] in ("in", "out") else None
        if frame and frame[0] == 2 and frame[2] == "Authorize" and frame[3] == {"idTag": "TAG2"}:
            authorize = frame[1]
        if not (frame and frame[1] == authorize):
            writer.write(record)
    writer.close()
    assert authorize is not None
    result = replay_trace(edited)
    assert not result.matched
    assert result.report[0].startswith("first difference: ")


def test_a_truncated_trace_is_read_to_its_last_whole_record(recorded_run):
    segment = sorted(recorded_run.glob("*.cptrace"))[-1]
    data = segment.read_bytes()
    segment.write_bytes(data[: len(data) - 7])
    trace = read_trace(recorded_run)
    assert any("truncated" in p for p in trace.problems)
    assert trace.records


@pytest.mark.parametrize("trace", sorted(p.name for p in RECORDED.iterdir() if p.is_dir()) if RECORDED.exists() else [])
def test_recorded_traces_still_replay(trace):
    """Traces recorded from the demo and from fault runs, kept as regression tests."""
    assert_replays(RECORDED / trace)
