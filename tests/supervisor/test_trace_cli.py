"""``ocpp-cp trace show``: every record kind as one readable line, answers named after their
CALL, filters, ``--json``, and exit codes that tell a script what happened."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from messages.evse_manager import MeterReading, SessionEvent, SessionEventType, SessionState
from messages.trace import TraceWriter, encode_message
from supervisor.cli import main
from supervisor.trace_cli import show

HEADER = {"charge_point_id": "CP001", "started_at": "2026-01-01T00:00:00.000Z"}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _frame(*parts: object) -> str:
    return json.dumps(list(parts))


RECORDS = [
    {"k": "open", "t": 0.5},
    {"k": "out", "t": 1.0, "frame": _frame(2, "1", "BootNotification", {"chargePointVendor": "V"})},
    {"k": "in", "t": 1.1, "frame": _frame(3, "1", {"status": "Accepted", "interval": 300})},
    {"k": "sim", "t": 2.0, "evse": 1, "command": "plug_in", "args": {}},
    {"k": "ev", "t": 2.1, "to": "evse/1", "msg": encode_message(
        SessionEvent(evse_id=1, event=SessionEventType.SESSION_STARTED, timestamp=T0, reason="EVConnected"))},
    {"k": "out", "t": 5.123, "frame": _frame(2, "2", "StartTransaction", {"connectorId": 1, "idTag": "T"})},
    {"k": "in", "t": 5.2, "frame": _frame(3, "2", {"transactionId": 42, "idTagInfo": {"status": "Accepted"}})},
    {"k": "in", "t": 6.0, "frame": _frame(2, "c1", "RemoteStopTransaction", {"transactionId": 42})},
    {"k": "out", "t": 6.1, "frame": _frame(3, "c1", {"status": "Accepted"})},
    {"k": "in", "t": 7.0, "frame": _frame(2, "c2", "Reset", {"type": "Hard"})},
    {"k": "out", "t": 7.1, "frame": _frame(4, "c2", "NotSupported", "no", {})},
    {"k": "reply", "t": 8.0, "msg": encode_message(
        SessionState(evse_id=2, plugged=True, session_id="s", transaction_active=False, charging=False))},
    {"k": "timer", "t": 9.0, "to": "evse/3", "msg": "HeartbeatDue"},
    {"k": "crash", "t": 10.0, "actor": "evse/3", "in_on_start": False},
    {"k": "ev", "t": 10.5, "to": "evse/2", "msg": encode_message(MeterReading(
        evse_id=2, timestamp=T0, energy_wh=1.0, power_w=2.0, current_a=(1.0, 2.0, 3.0),
        voltage_v=(230.0, 230.0, 230.0), soc=50.0, offered_current_a=32.0, offered_power_w=22000.0))},
    {"k": "close", "t": 11.0, "reason": "connection lost", "http": None},
]


@pytest.fixture
def trace_dir(tmp_path: Path) -> Path:
    writer = TraceWriter(tmp_path / "trace", HEADER)
    for record in RECORDS:
        writer.write(record)
    writer.close()
    return tmp_path / "trace"


def run(path: Path, **filters: object) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    options = {"evse": None, "action": None, "since": None, "until": None, "as_json": False, **filters}
    code = show(path, out=out, err=err, **options)  # type: ignore[arg-type]
    return code, out.getvalue().splitlines(), err.getvalue()


def columns(line: str) -> list[str]:
    return line.split(None, 4)


def test_every_kind_is_one_readable_line(trace_dir: Path) -> None:
    code, lines, err = run(trace_dir)
    assert code == 0 and err == ""
    assert len(lines) == len(RECORDS)
    shown = [columns(line)[:4] for line in lines]
    assert shown == [
        ["2026-01-01T00:00:00.500Z", "-", "open", "-"],
        ["2026-01-01T00:00:01.000Z", "-", "out", "BootNotification"],
        ["2026-01-01T00:00:01.100Z", "-", "in", "BootNotification.conf"],
        ["2026-01-01T00:00:02.000Z", "1", "sim", "plug_in"],
        ["2026-01-01T00:00:02.100Z", "1", "ev", "SessionEvent.SessionStarted"],
        ["2026-01-01T00:00:05.123Z", "1", "out", "StartTransaction"],
        ["2026-01-01T00:00:05.200Z", "1", "in", "StartTransaction.conf"],
        ["2026-01-01T00:00:06.000Z", "1", "in", "RemoteStopTransaction"],
        ["2026-01-01T00:00:06.100Z", "1", "out", "RemoteStopTransaction.conf"],
        ["2026-01-01T00:00:07.000Z", "-", "in", "Reset"],
        ["2026-01-01T00:00:07.100Z", "-", "out", "Reset.error"],
        ["2026-01-01T00:00:08.000Z", "2", "reply", "SessionState"],
        ["2026-01-01T00:00:09.000Z", "3", "timer", "HeartbeatDue"],
        ["2026-01-01T00:00:10.000Z", "3", "crash", "-"],
        ["2026-01-01T00:00:10.500Z", "2", "ev", "MeterReading"],
        ["2026-01-01T00:00:11.000Z", "-", "close", "-"],
    ]
    payloads = [columns(line)[4] for line in lines]
    assert json.loads(payloads[5]) == {"connectorId": 1, "idTag": "T"}
    assert json.loads(payloads[10]) == {"errorCode": "NotSupported", "errorDescription": "no", "errorDetails": {}}
    assert '"event":"SessionStarted"' in payloads[4] and '"timestamp":"2026-01-01T00:00:00+00:00"' in payloads[4]
    assert json.loads(payloads[15]) == {"reason": "connection lost", "http": None}
    assert len(payloads[14]) == 160 and payloads[14].endswith("…")


def test_answer_to_an_unknown_call_is_still_shown(tmp_path: Path) -> None:
    writer = TraceWriter(tmp_path, HEADER)
    writer.write({"k": "in", "t": 0.0, "frame": _frame(3, "zz", {})})
    writer.write({"k": "in", "t": 0.1, "frame": "not json"})
    writer.close()
    code, lines, _ = run(tmp_path)
    assert code == 0
    assert [columns(line)[3] for line in lines] == ["?.conf", "?"]


@pytest.mark.parametrize(("filters", "expected"), [
    ({"evse": 1}, [3, 4, 5, 6, 7, 8]),
    ({"evse": 3}, [12, 13]),
    ({"action": "starttransaction"}, [5, 6]),
    ({"action": "StartTransaction.conf"}, [6]),
    ({"action": "Reset.error"}, [10]),
    ({"action": "SessionEvent"}, [4]),
    ({"action": "sessionstarted"}, [4]),
    ({"action": "PLUG_IN"}, [3]),
    ({"action": "HeartbeatDue"}, [12]),
    ({"since": 6.0, "until": 8.0}, [7, 8, 9, 10, 11]),
    ({"since": 10.6}, [15]),
    ({"evse": 1, "action": "RemoteStopTransaction", "until": 6.05}, [7]),
])
def test_filters(trace_dir: Path, filters: dict, expected: list[int]) -> None:
    code, lines, _ = run(trace_dir, **filters)
    assert code == 0
    everything = run(trace_dir)[1]
    assert lines == [everything[i] for i in expected]


def test_json_lines_are_the_records_plus_what_was_derived(trace_dir: Path) -> None:
    code, lines, _ = run(trace_dir, as_json=True)
    assert code == 0
    objects = [json.loads(line) for line in lines]
    assert [{k: v for k, v in o.items() if k not in ("time", "action") and not (k == "evse" and "evse" not in r)}
            for o, r in zip(objects, RECORDS, strict=True)] == RECORDS
    assert objects[6]["action"] == "StartTransaction.conf" and objects[6]["evse"] == 1
    assert objects[6]["time"] == "2026-01-01T00:00:05.200Z"
    assert objects[0]["action"] is None and objects[0]["evse"] is None
    assert [o["k"] for o in [json.loads(line) for line in run(trace_dir, as_json=True, evse=2)[1]]] == ["reply", "ev"]


def test_damaged_trace_reports_problems_and_shows_the_rest(trace_dir: Path) -> None:
    segment = trace_dir / "segment-000001.cptrace"
    segment.write_bytes(segment.read_bytes()[:-3])
    code, lines, err = run(trace_dir)
    assert code == 0
    assert len(lines) == len(RECORDS) - 1
    assert err.splitlines() == [f"ocpp-cp trace: segment-000001.cptrace: truncated at offset "
                                f"{segment.stat().st_size + 3 - _last_record_size(trace_dir)} "
                                f"(partial record of {_last_record_size(trace_dir) - 3} bytes ignored)"]


def _last_record_size(trace_dir: Path) -> int:
    probe = TraceWriter(trace_dir.parent / "probe", HEADER)
    before = probe.path.stat().st_size
    probe.write(RECORDS[-1])
    probe.close()
    return probe.path.stat().st_size - before


def test_exit_codes(tmp_path: Path) -> None:
    assert run(tmp_path / "missing")[0] == 2
    garbage = tmp_path / "garbage.cptrace"
    garbage.write_bytes(b"\x00\x00")
    code, lines, err = run(garbage)
    assert code == 1 and lines == [] and "truncated at offset 0" in err and "no readable record" in err
    header_only = tmp_path / "empty"
    TraceWriter(header_only, HEADER).close()
    assert run(header_only)[:2] == (0, [])


def test_cli_wiring(trace_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "show", str(trace_dir), "--evse", "1", "--action", "StartTransaction"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["trace", "show", str(trace_dir / "segment-000001.cptrace"), "--json", "--since", "10.6"]) == 0
    assert json.loads(capsys.readouterr().out)["k"] == "close"
    assert main(["trace", "show", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err
    for argv in (["trace", "--help"], ["trace", "show", "--help"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 0
    assert "--evse" in capsys.readouterr().out
