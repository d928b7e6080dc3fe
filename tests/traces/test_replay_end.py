"""A trace that ends with calls still queued on the CSMS link replays to a match, though the
replay's link may send them in another order than the recording's did (supervisor/replay.py,
"The end of a trace"); and a replay still reports a changed frame there, and a request the
recording never sent though its link was idle after it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conftest import settle, wait_until
from messages.trace import TraceWriter, read_trace
from scenarios.steps import booted, start_charging
from supervisor.local_csms import NO_REPLY
from supervisor.replay import replay_trace
from supervisor.sim_control import SimController

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(60)

KEYS = {"Core": {"MeterValueSampleInterval": 10}}


def _frame(record: dict[str, Any]) -> list[Any] | None:
    return json.loads(record["frame"]) if record["k"] in ("in", "out") else None


def _rewrite(trace: Path, to: Path, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Path:
    read = read_trace(trace)
    writer = TraceWriter(to, {k: v for k, v in read.header.items() if k not in ("kind", "version", "segment")})
    for record in edit(list(read.records)):
        writer.write(record)
    writer.close()
    return to


def _index(records: list[dict[str, Any]], match: Callable[[dict[str, Any]], bool]) -> int:
    return next(i for i, r in enumerate(records) if match(r))


def _sample_timer(evse: int) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["k"] == "timer" and r["to"] == f"evse/{evse}" and r["msg"] == "SampleDue"


def _meter_values(evse: int, kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: (r["k"] == kind and (f := _frame(r)) is not None and f[0] == 2 and f[2] == "MeterValues"
                      and f[3]["connectorId"] == evse)


@dataclass(frozen=True)
class Stopped:
    trace: Path
    answered: int
    """The EVSE whose MeterValues the recorded CSMS answered (the recording sent it first)."""
    unanswered: int
    """The EVSE whose MeterValues was in flight when the charge point stopped."""


@pytest.fixture
def stopped_with_calls_queued(csms, clock, make_charge_point, tmp_path):
    """Two EVSEs charging; at their first sample the CSMS answers the first MeterValues and never
    the second, EVSE 3 is plugged in behind it, and the charge point stops there: its trace ends
    with a MeterValues in flight and EVSE 3's StatusNotification queued."""
    trace = tmp_path / "trace"
    app = make_charge_point(csms.url, evses=3, keys=KEYS, options={"TracePath": trace})
    booted(csms, clock, app, evses=3)
    sim = SimController(app.directory)
    start_charging(csms, sim, 1, "TAG1")
    start_charging(csms, sim, 2, "TAG2")
    settle(app)
    answers = iter([{}])
    csms.set_reply("MeterValues", lambda _cp, _payload: next(answers, NO_REPLY))
    clock.advance(10)  # both samples fall due; which MeterValues goes first is the threads' race
    wait_until(lambda: csms.count("MeterValues") == 2, what="both MeterValues at the CSMS")
    sim.plug_in(3)
    app.wait_quiet()
    app.stop()
    sent = [f[3]["connectorId"] for r in read_trace(trace).records
            if r["k"] == "out" and (f := _frame(r))[0] == 2 and f[2] == "MeterValues"]
    assert sorted(sent) == [1, 2], sent
    return Stopped(trace, *sent)


def _unanswered_sample_first(stopped: Stopped) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """The race settled the other way: the timer of the EVSE whose MeterValues went unanswered
    fires first here, so the replay sends that one where the recording sent the other."""
    def edit(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        timer = records.pop(_index(records, _sample_timer(stopped.unanswered)))
        records.insert(_index(records, _sample_timer(stopped.answered)), timer)
        return records
    return edit


def _plug_in_first(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """EVSE 3's plug-in comes before both samples here (same time: the clock stood still)."""
    event = records.pop(_index(records, lambda r: r["k"] == "ev" and r["to"] == "evse/3"
                               and r["msg"].get("type") == "SessionEvent"))
    records.insert(min(_index(records, _sample_timer(1)), _index(records, _sample_timer(2))), event)
    return records


def test_a_trace_stopped_with_calls_queued_replays_to_a_match(stopped_with_calls_queued):
    result = replay_trace(stopped_with_calls_queued.trace)
    assert result.matched, "\n".join(result.report)


def test_calls_sent_in_another_order_at_the_end_replay_to_a_match(stopped_with_calls_queued, tmp_path):
    """The replay sends the MeterValues the trace never answers first; the one the recording sent
    (and got answered) waits in the replay's queue behind it, its recorded answer held."""
    stopped = stopped_with_calls_queued
    result = replay_trace(_rewrite(stopped.trace, tmp_path / "swapped", _unanswered_sample_first(stopped)))
    assert result.matched, "\n".join(result.report)
    assert "1 recorded frame(s) were still queued in this replay's link" in result.report[0]


def test_a_request_the_recording_never_sent_at_the_end_replays_to_a_match(stopped_with_calls_queued, tmp_path):
    """The replay sends EVSE 3's StatusNotification, which the recording still had queued when it
    stopped, and both MeterValues wait behind it."""
    result = replay_trace(_rewrite(stopped_with_calls_queued.trace, tmp_path / "plug-in-first", _plug_in_first))
    assert result.matched, "\n".join(result.report)
    assert "2 recorded frame(s) were still queued in this replay's link" in result.report[0]
    assert "1 request(s) this replay sent had no recorded answer" in result.report[0]


def test_a_changed_frame_still_queued_at_the_end_is_a_difference(stopped_with_calls_queued, tmp_path):
    stopped = stopped_with_calls_queued

    def change(records):
        records = _unanswered_sample_first(stopped)(records)
        out = _index(records, _meter_values(stopped.answered, "out"))
        frame = _frame(records[out])
        frame[3]["meterValue"][0]["sampledValue"][0]["value"] = "12345"
        records[out] = {**records[out], "frame": json.dumps(frame)}
        return records

    result = replay_trace(_rewrite(stopped.trace, tmp_path / "changed", change))
    assert not result.matched
    assert result.report[0].startswith(f"first difference: connector {stopped.answered}, ")
    assert "the recorded CSMS answered a request this replay never sent" in result.report[0]
    assert "12345" in result.report[1]
    assert "(still queued in this replay's link)" in result.report[2]


def test_a_request_the_recording_never_sent_before_its_link_idled_is_a_difference(stopped_with_calls_queued,
                                                                                   tmp_path):
    """As above, but the recorded CSMS answers the second MeterValues 5 s later and the recorded
    link then has nothing to send: it never had EVSE 3's StatusNotification, which this replay
    sent, so that is a difference, not the end of the trace."""
    stopped = stopped_with_calls_queued

    def then_idle(records):
        records = _plug_in_first(records)
        out = _frame(records[_index(records, _meter_values(stopped.unanswered, "out"))])
        records.append({"k": "in", "t": records[-1]["t"] + 5, "frame": json.dumps([3, out[1], {}])})
        return records

    result = replay_trace(_rewrite(stopped.trace, tmp_path / "idle", then_idle))
    assert not result.matched
    assert result.report[0].startswith("first difference: connector 3, ")
    assert "the recording never sent this request, though its link was idle" in result.report[0]


def test_many_evses_stopped_while_charging_replay_to_a_match(csms, clock, make_charge_point, tmp_path):
    """32 EVSEs start at once and charge; the charge point stops a moment after their samples
    fall due, with MeterValues and StatusNotifications still queued on its link, in whatever
    order its threads gave them."""
    evses = 32
    trace = tmp_path / "trace"
    app = make_charge_point(csms.url, evses=evses, keys={"Core": {"MeterValueSampleInterval": 1}},
                            options={"TracePath": trace})
    booted(csms, clock, app, evses=evses)
    sim = SimController(app.directory)
    for evse in range(1, evses + 1):
        sim.plug_in(evse)
        sim.swipe(evse, f"TAG{evse}")
    wait_until(lambda: csms.count("StartTransaction") == evses, what="every transaction started")
    settle(app)
    clock.advance(1)  # every EVSE samples: 32 MeterValues race for the link
    for evse in range(1, evses // 2 + 1):
        sim.swipe(evse, f"TAG{evse}")  # and half of them stop charging
    wait_until(lambda: csms.count("MeterValues") >= 8, what="the first MeterValues at the CSMS")
    app.stop()
    result = replay_trace(trace)
    assert result.matched, "\n".join(result.report)
