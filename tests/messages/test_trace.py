"""The trace codec: records and messages survive the round trip, and damage on disk (a torn
tail, a flipped byte, garbage) costs only the damaged part, reported, never an exception."""

from __future__ import annotations

import struct
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messages.csms import (AdoptQueuedCall, CallFailed, CallResultReceived, FailureKind, LinkStats,
                           Registration, RegistrationChanged, SendCall)
from messages.evse_manager import (EnableDisable, ErrorCleared, ErrorRaised, ForceUnlock, GetSessionState,
                                   MeterReading, PauseCharging, ProvideToken, ResumeCharging, SessionEvent,
                                   SessionEventType, SessionState, SimCommand, StopTransactionCommand,
                                   TokenValidated, ValidateToken)
from messages.lifecycle import ChildExited, ExitReason, InjectCrash, Ping
from messages.trace import FORMAT_VERSION, TraceWriter, decode_message, encode_message, read_trace

HEADER = {"charge_point_id": "CP001", "started_at": "2026-01-01T00:00:00.000Z"}
T0 = datetime(2026, 1, 1, 12, 30, 5, 123000, tzinfo=UTC)

EVSE_MANAGER_MESSAGES = [
    SessionEvent(evse_id=3, event=SessionEventType.TRANSACTION_STARTED, session_id="5f1c-uuid", timestamp=T0,
                 id_tag="TAG-1", meter_wh=1234.5, reason="Authorized", reservation_id=7),
    SessionEvent(evse_id=1, event=SessionEventType.SESSION_FINISHED),
    MeterReading(evse_id=2, timestamp=T0, energy_wh=15000.25, power_w=11040.0, current_a=(16.0, 16.0, 15.9),
                 voltage_v=(230.1, 229.8, 231.0), soc=42.5, offered_current_a=16.0),
    MeterReading(evse_id=2, timestamp=T0.astimezone(timezone(timedelta(hours=2))), energy_wh=0.0, power_w=0.0,
                 current_a=(0.0, 0.0, 0.0), voltage_v=(230.0, 230.0, 230.0)),
    ErrorRaised(evse_id=4, uuid="e-1", type="evse_manager/Inoperative", sub_type="x", message="m",
                description="d", vendor_id="v"),
    ErrorCleared(evse_id=4, uuid="e-1"),
    StopTransactionCommand(evse_id=1, reason="Remote"),
    PauseCharging(evse_id=1),
    ResumeCharging(evse_id=1),
    EnableDisable(evse_id=2, enable=False),
    ForceUnlock(evse_id=2),
    ProvideToken(id_tag="REMOTE", connectors=(1, 2, 3), prevalidated=True),
    ValidateToken(evse_id=1, id_tag="TAG-1", reply_to="evse/1", correlation="c-9"),
    TokenValidated(evse_id=1, id_tag="TAG-1", status="Accepted", parent_id_tag="P", correlation="c-9"),
    GetSessionState(evse_id=5),
    SessionState(evse_id=5, plugged=True, session_id="s-1", transaction_active=True, charging=False,
                 paused_by="EV", enabled=True),
    SimCommand(evse_id=1, command="swipe", args={"id_tag": "TAG-1", "extra": [1, {"a": None}]}),
    SimCommand(evse_id=1, command="plug_in"),
]
OTHER_MESSAGES = [
    ChildExited(child_id="evse/3", actor_urn="urn:uuid:1", reason=ExitReason.CRASH, detail="boom"),
    InjectCrash(in_on_start=True),
    Ping(),
    RegistrationChanged(status=Registration.ACCEPTED, interval=300, csms_time=T0),
    CallFailed(action="Heartbeat", correlation="h", kind=FailureKind.TIMEOUT),
    CallResultReceived(action="Authorize", correlation="a", payload=MappingProxyType({"idTagInfo": {"status": "x"}})),
    AdoptQueuedCall(call=SendCall(action="MeterValues", payload={"connectorId": 1, "meterValue": [{"v": 1}]},
                                  reply_to="evse/1", local_transaction_id=-3), queue_id=17),
    LinkStats(connected=True, registration=Registration.PENDING, connects=2, calls_sent=9, results_received=8,
              rtts=(0.01, 0.2), busy=False),
]


@pytest.mark.parametrize("msg", EVSE_MANAGER_MESSAGES + OTHER_MESSAGES, ids=lambda m: type(m).__name__)
def test_message_round_trip_through_a_trace(tmp_path: Path, msg: object) -> None:
    encoded = encode_message(msg)
    assert encoded["type"] == type(msg).__name__
    writer = TraceWriter(tmp_path, HEADER)
    writer.write({"k": "ev", "t": 1.5, "to": "evse/1", "msg": encoded})
    writer.close()
    (record,) = read_trace(tmp_path).records
    decoded = decode_message(record["msg"])
    assert decoded == msg
    assert type(decoded) is type(msg)


def test_encoded_message_is_readable() -> None:
    encoded = encode_message(EVSE_MANAGER_MESSAGES[0])
    assert encoded["event"] == {"$enum": "SessionEventType", "value": "TransactionStarted"}
    assert encoded["timestamp"] == {"$dt": T0.isoformat()}
    error = encode_message(EVSE_MANAGER_MESSAGES[4])
    assert error["type"] == "ErrorRaised" and error["type_"] == "evse_manager/Inoperative"
    decoded = decode_message(encode_message(EVSE_MANAGER_MESSAGES[2]))
    assert isinstance(decoded.current_a, tuple)  # type: ignore[attr-defined]


def test_decode_refuses_unknown_types_and_fields() -> None:
    with pytest.raises(ValueError, match="not a known message"):
        decode_message({"type": "Nope"})
    with pytest.raises(ValueError, match="no field"):
        decode_message({"type": "PauseCharging", "evse_id": 1, "speed": 3})
    with pytest.raises(TypeError):
        encode_message({"type": "PauseCharging"})


msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text() | st.integers(-1000, 1000), children, max_size=4),
    max_leaves=20,
)
records = st.dictionaries(st.text(max_size=8), msgpack_values, max_size=5)


@settings(max_examples=60, deadline=None)
@given(st.lists(records, max_size=8))
def test_any_msgpack_native_record_round_trips(batch: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        writer = TraceWriter(tmp, HEADER)
        for record in batch:
            writer.write(record)
        writer.close()
        trace = read_trace(tmp)
    assert trace.records == batch
    assert trace.problems == []
    assert trace.header == {**HEADER, "kind": "header", "version": FORMAT_VERSION, "segment": 1}


def _records(n: int) -> list[dict]:
    return [{"k": "out", "t": i / 10, "frame": f'[2,"{i}","Heartbeat",{{}}]'} for i in range(n)]


def test_segments_roll_over_each_with_its_header(tmp_path: Path) -> None:
    writer = TraceWriter(tmp_path, HEADER, segment_bytes=300)
    for record in _records(40):
        writer.write(record)
    writer.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) > 3 and files[0] == "segment-000001.cptrace" and files[2] == "segment-000003.cptrace"
    assert all(p.stat().st_size <= 300 for p in tmp_path.iterdir())
    trace = read_trace(tmp_path)
    assert trace.records == _records(40) and trace.problems == [] and trace.segments == len(files)
    third = read_trace(tmp_path / files[2])
    assert third.header is not None and third.header["segment"] == 3 and third.records


def test_a_record_larger_than_a_segment_gets_a_segment_of_its_own(tmp_path: Path) -> None:
    writer = TraceWriter(tmp_path, HEADER, segment_bytes=100)
    big = {"k": "in", "t": 0.0, "frame": "x" * 500}
    writer.write(big)
    writer.write(big)
    writer.close()
    assert read_trace(tmp_path).records == [big, big]
    assert len(list(tmp_path.iterdir())) == 2


def test_restarted_writer_appends_a_new_segment_on_the_same_time_base(tmp_path: Path) -> None:
    first = TraceWriter(tmp_path, HEADER)
    first.write({"k": "open", "t": 1.0})
    first.close()
    before = (tmp_path / "segment-000001.cptrace").read_bytes()
    second = TraceWriter(tmp_path, {**HEADER, "started_at": "2026-01-01T00:01:00.000Z"})
    assert second.path.name == "segment-000002.cptrace"
    second.write({"k": "open", "t": 2.0})
    second.close()
    assert (tmp_path / "segment-000001.cptrace").read_bytes() == before
    trace = read_trace(tmp_path)
    assert [r["t"] for r in trace.records] == [1.0, 62.0]
    assert trace.problems == [] and trace.header["started_at"] == HEADER["started_at"]


def test_writer_fills_in_started_at_and_elapsed(tmp_path: Path) -> None:
    writer = TraceWriter(tmp_path, {"charge_point_id": "CP001"})
    assert writer.started_at.endswith("Z")
    assert 0 <= writer.elapsed() < 5
    writer.close()
    writer.write({"k": "open", "t": 0.0})  # after close: ignored, not raised
    assert read_trace(tmp_path).records == []


def test_header_of_another_charge_point_is_a_problem(tmp_path: Path) -> None:
    TraceWriter(tmp_path, HEADER).close()
    other = TraceWriter(tmp_path, {**HEADER, "charge_point_id": "CP999"})
    other.write({"k": "open", "t": 0.0})
    other.close()
    trace = read_trace(tmp_path)
    assert len(trace.records) == 1
    assert trace.problems == ["segment-000002.cptrace: header of charge point 'CP999' does not match 'CP001'"]


def _write_one_segment(directory: str, n: int) -> tuple[Path, list[int]]:
    writer = TraceWriter(directory, HEADER)
    ends = [writer.path.stat().st_size]
    for record in _records(n):
        writer.write(record)
        ends.append(writer.path.stat().st_size)
    writer.close()
    return writer.path, ends


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.data())
def test_truncated_segment_reads_up_to_its_last_whole_record(n: int, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path, ends = _write_one_segment(tmp, n)
        cut = data.draw(st.integers(1, ends[-1] - 1))
        path.write_bytes(path.read_bytes()[:cut])
        trace = read_trace(path)
    whole = [end for end in ends if end <= cut]
    assert trace.records == _records(n)[: len(whole) - 1] if whole else trace.records == []
    last = whole[-1] if whole else 0
    if cut == last:
        assert trace.problems == []
    else:
        assert trace.problems == [f"{path.name}: truncated at offset {last} "
                                  f"(partial record of {cut - last} bytes ignored)"]


def _three_segments(directory: Path) -> list[list[dict]]:
    writer = TraceWriter(directory, HEADER, segment_bytes=400)
    for record in _records(30):
        writer.write(record)
    writer.close()
    return [read_trace(p).records for p in sorted(directory.iterdir())]


def test_corrupt_byte_skips_only_the_rest_of_its_segment(tmp_path: Path) -> None:
    per_segment = _three_segments(tmp_path)
    assert len(per_segment) >= 3
    second = tmp_path / "segment-000002.cptrace"
    data = bytearray(second.read_bytes())
    offsets = [0]
    while offsets[-1] < len(data):
        offsets.append(offsets[-1] + 8 + struct.unpack_from(">I", data, offsets[-1])[0])
    bad = offsets[3]  # the third record after the header
    data[bad + 8 + 5] ^= 0xFF
    second.write_bytes(bytes(data))
    trace = read_trace(tmp_path)
    assert trace.problems == [f"segment-000002.cptrace: corrupt record at offset {bad}; "
                              f"skipped the rest of the segment ({len(data) - bad} bytes)"]
    expected = per_segment[0] + per_segment[1][:2] + [r for seg in per_segment[2:] for r in seg]
    assert trace.records == expected


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_flipped_byte_costs_at_most_the_rest_of_its_segment(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        per_segment = _three_segments(directory)
        second = directory / "segment-000002.cptrace"
        raw = bytearray(second.read_bytes())
        raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        second.write_bytes(bytes(raw))
        trace = read_trace(directory)
    assert len(trace.problems) == 1 and trace.problems[0].startswith("segment-000002.cptrace: ")
    kept = len(trace.records) - len(per_segment[0]) - sum(len(s) for s in per_segment[2:])
    assert 0 <= kept < len(per_segment[1])
    assert trace.records == per_segment[0] + per_segment[1][:kept] + [r for s in per_segment[2:] for r in s]


def test_garbage_and_empty_files_are_problems_not_exceptions(tmp_path: Path) -> None:
    (tmp_path / "segment-000001.cptrace").write_bytes(b"hello, this is not a trace\n")
    (tmp_path / "segment-000002.cptrace").write_bytes(b"")
    trace = read_trace(tmp_path)
    assert trace.header is None and trace.records == [] and trace.segments == 2
    assert trace.problems == ["segment-000001.cptrace: corrupt record at offset 0; "
                              "skipped the rest of the segment (27 bytes)",
                              "segment-000002.cptrace: empty file"]


def test_a_framed_body_that_is_not_a_dict_is_corrupt(tmp_path: Path) -> None:
    import zlib

    import msgpack

    body = msgpack.packb([1, 2, 3])
    path = tmp_path / "x.cptrace"
    path.write_bytes(struct.pack(">II", len(body), zlib.crc32(body)) + body)
    assert read_trace(path).problems == ["x.cptrace: corrupt record at offset 0; "
                                         f"skipped the rest of the segment ({8 + len(body)} bytes)"]


def test_missing_path_raises_and_empty_directory_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_trace(tmp_path / "nope")
    trace = read_trace(tmp_path)
    assert trace.segments == 0 and len(trace.problems) == 1
