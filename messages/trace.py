"""The on-disk trace of a charge point (issue #5): what crossed its edges, for ``trace show``
and replay.

Plain msgpack streams cannot resync after one bad byte, so every record is framed:
4-byte big-endian body length, 4-byte big-endian CRC32 of the body, the body (msgpack of a
dict of msgpack-native values). A torn tail and a corrupt byte are both detected, and only
the rest of the damaged segment is lost. Segments (``segment-000001.cptrace``, ...) each
start with a header, so every file reads on its own.

Record kinds (``t``: seconds since the header's ``started_at``, ISO 8601 UTC):

- header: ``{"kind": "header", "version", "segment", "started_at", "charge_point_id", ...}``
- ``{"k": "in", "t", "frame": str}``: a frame received from the CSMS
- ``{"k": "out", "t", "frame": str}``: a frame the charge point sent
- ``{"k": "open", "t"}`` / ``{"k": "close", "t", "reason": str, "http": int | None}``
- ``{"k": "ev", "t", "to": str, "msg": dict}``: an event of the EVSE manager into the
  system (``to``: actor name, e.g. ``evse/3``, ``auth``); ``msg`` from :func:`encode_message`
- ``{"k": "reply", "t", "msg": dict}``: the EVSE manager's answer to a query
- ``{"k": "sim", "t", "evse": int, "command": str, "args": dict}``: a simulator command
- ``{"k": "timer", "t", "to": str, "msg": str}``: a timer fired (message type name)
- ``{"k": "crash", "t", "actor": str, "in_on_start": bool}``
- ``{"k": "reset", "t", "type": "Soft" | "Hard"}``: the CSMS's Reset was accepted (context
  for a reader; a replay does not yet follow the restart that comes after it)

Encoded messages are ``{"type": ClassName, **fields}``; datetimes ``{"$dt": iso}``, enums
``{"$enum": EnumName, "value": v}``, nested messages ``{"$msg": {...}}``, tuples lists,
mappings dicts. A field named ``type`` is stored as ``type_`` (the key holds the class).
"""

from __future__ import annotations

import dataclasses
import enum
import re
import struct
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgpack

from messages import csms, evse_manager, lifecycle, station
from messages.payload import freeze

__all__ = ["FORMAT_VERSION", "TraceRead", "TraceWriter", "decode_message", "encode_message", "read_trace"]

FORMAT_VERSION = 1
MAX_RECORD = 64 * 1024 * 1024
_FRAME = struct.Struct(">II")
_SEGMENT = re.compile(r"segment-(\d+)\.cptrace")


def _frame(record: dict) -> bytes:
    body = msgpack.packb(record, use_bin_type=True)
    return _FRAME.pack(len(body), zlib.crc32(body)) + body


FLUSH_INTERVAL_S = 0.1


def _segment_name(n: int) -> str:
    return f"segment-{n:06d}.cptrace"


class TraceWriter:
    """Appends framed records to segments in ``directory``; thread-safe.

    Writes are flushed at least every FLUSH_INTERVAL_S (a flush per record cost more than the
    recording itself), so a kill -9 loses at most that last moment; what is on disk still reads
    up to its last whole record. A writer
    on a directory that already has segments starts a new one after the highest, so the
    trace of an earlier run is never touched.
    """

    def __init__(self, directory: str | Path, header: dict, segment_bytes: int = 4_000_000) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.header = dict(header)
        self.header.setdefault("started_at", datetime.now(UTC).isoformat(timespec="milliseconds")
                               .replace("+00:00", "Z"))
        self.started_at: str = self.header["started_at"]
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        started = _parse_time(self.started_at)
        self._elapsed_at_start = (datetime.now(UTC) - started).total_seconds() if started else 0.0
        self._t0 = time.monotonic()
        existing = [int(m.group(1)) for p in self.directory.iterdir() if (m := _SEGMENT.fullmatch(p.name))]
        self._segment = max(existing, default=0)
        self._file = None
        self._size = 0
        self._records_in_segment = 0
        self._flushed = time.monotonic()
        self._open_next()

    def elapsed(self) -> float:
        """``t`` for a record written now: seconds since ``started_at`` (monotonic clock)."""
        return self._elapsed_at_start + time.monotonic() - self._t0

    def _open_next(self) -> None:
        if self._file is not None:
            self._file.close()
        self._segment += 1
        self.path = self.directory / _segment_name(self._segment)
        self._file = self.path.open("xb")
        head = _frame({**self.header, "kind": "header", "version": FORMAT_VERSION, "segment": self._segment})
        self._file.write(head)
        self._file.flush()
        self._size = len(head)
        self._records_in_segment = 0

    def write(self, record: dict) -> None:
        """Append one record (msgpack-native values only; TypeError otherwise). A no-op
        after :meth:`close`, so a late recorder hook cannot crash its actor."""
        data = _frame(record)
        with self._lock:
            if self._file is None:
                return
            if self._records_in_segment and self._size + len(data) > self.segment_bytes:
                self._open_next()
            self._file.write(data)
            now = time.monotonic()
            if now - self._flushed >= FLUSH_INTERVAL_S:
                self._file.flush()
                self._flushed = now
            self._size += len(data)
            self._records_in_segment += 1

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


@dataclass(frozen=True)
class TraceRead:
    """A trace as read back. ``t`` of every record is relative to ``header["started_at"]``:
    segments of a later run (a restarted charge point) are shifted onto that time base."""

    header: dict | None
    records: list[dict]
    problems: list[str]
    segments: int


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _read_segment(path: Path, problems: list[str]) -> list[dict]:
    """Every whole, intact record of one segment, up to the first damage."""
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as err:
        problems.append(f"{name}: unreadable ({err.strerror or err})")
        return []
    if not data:
        problems.append(f"{name}: empty file")
        return []
    records: list[dict] = []
    offset, size = 0, len(data)
    while offset < size:
        rest = size - offset
        if rest < _FRAME.size:
            problems.append(f"{name}: truncated at offset {offset} (partial record of {rest} bytes ignored)")
            break
        length, crc = _FRAME.unpack_from(data, offset)
        body = data[offset + _FRAME.size: offset + _FRAME.size + length]
        if length <= MAX_RECORD and len(body) < length:
            problems.append(f"{name}: truncated at offset {offset} (partial record of {rest} bytes ignored)")
            break
        record = None
        if length <= MAX_RECORD and zlib.crc32(body) == crc:
            try:
                record = msgpack.unpackb(body, raw=False, strict_map_key=False)
            except Exception:  # noqa: BLE001 - any undecodable body is corruption
                record = None
        if not isinstance(record, dict):
            problems.append(f"{name}: corrupt record at offset {offset}; "
                            f"skipped the rest of the segment ({rest} bytes)")
            break
        records.append(record)
        offset += _FRAME.size + length
    if records and records[0].get("kind") != "header":
        problems.append(f"{name}: does not start with a header")
    return records


def read_trace(path: str | Path) -> TraceRead:
    """Read a segment file or a directory of them (``*.cptrace`` in name order).

    Damage is reported in ``problems``, never raised; only a missing path raises
    FileNotFoundError.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(str(path))
    files = sorted(path.glob("*.cptrace")) if path.is_dir() else [path]
    problems: list[str] = []
    if not files:
        problems.append(f"{path}: no *.cptrace segments")
    header: dict | None = None
    base: datetime | None = None
    shift = 0.0
    records: list[dict] = []
    for file in files:
        for record in _read_segment(file, problems):
            if record.get("kind") != "header":
                if shift and isinstance(record.get("t"), (int, float)) and not isinstance(record["t"], bool):
                    record = {**record, "t": record["t"] + shift}
                records.append(record)
                continue
            if record.get("version") != FORMAT_VERSION:
                problems.append(f"{file.name}: trace format version {record.get('version')!r}, "
                                f"expected {FORMAT_VERSION}")
            if header is None:
                header, base = record, _parse_time(record.get("started_at"))
                continue
            if record.get("charge_point_id") != header.get("charge_point_id"):
                problems.append(f"{file.name}: header of charge point {record.get('charge_point_id')!r} "
                                f"does not match {header.get('charge_point_id')!r}")
            started = _parse_time(record.get("started_at"))
            shift = (started - base).total_seconds() if started and base else 0.0
    return TraceRead(header=header, records=records, problems=problems, segments=len(files))


# --- actor messages <-> msgpack-native dicts --------------------------------------------

_MODULES = (evse_manager, lifecycle, csms, station)
_CLASSES: dict[str, type] = {}
_ENUMS: dict[str, type[enum.Enum]] = {}
for _module in _MODULES:
    for _name in _module.__all__:
        _obj = getattr(_module, _name)
        if isinstance(_obj, type) and dataclasses.is_dataclass(_obj):
            _CLASSES[_name] = _obj
        elif isinstance(_obj, type) and issubclass(_obj, enum.Enum):
            _ENUMS[_name] = _obj


def _key(field_name: str) -> str:
    return "type_" if field_name == "type" else field_name


def _encode(value: object) -> object:
    if isinstance(value, enum.Enum):
        return {"$enum": type(value).__name__, "value": _encode(value.value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"$msg": encode_message(value)}
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool, bytes)):
        return value
    msg = f"cannot encode {type(value).__name__} in a trace"
    raise TypeError(msg)


def encode_message(msg: object) -> dict:
    """A frozen dataclass message as a msgpack-native dict: ``{"type": ClassName, **fields}``."""
    if not dataclasses.is_dataclass(msg) or isinstance(msg, type):
        error = f"not a message: {msg!r}"
        raise TypeError(error)
    out: dict = {"type": type(msg).__name__}
    for f in dataclasses.fields(msg):
        out[_key(f.name)] = _encode(getattr(msg, f.name))
    return out


def _outer_types(annotation: object) -> list[str]:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    return [part.strip().split("[")[0] for part in text.split("|")]


def _decode(value: object, annotation: object = "") -> object:
    outer = _outer_types(annotation)
    if isinstance(value, dict):
        if value.keys() == {"$dt"}:
            return datetime.fromisoformat(value["$dt"])
        if value.keys() == {"$enum", "value"}:
            if value["$enum"] not in _ENUMS:
                msg = f"unknown enum {value['$enum']!r} in a trace message"
                raise ValueError(msg)
            return _ENUMS[value["$enum"]](value["value"])
        if value.keys() == {"$msg"}:
            return decode_message(value["$msg"])
        plain = {k: _decode(v) for k, v in value.items()}
        return freeze(plain) if {"Mapping", "Payload"} & set(outer) else plain
    if isinstance(value, list):
        items = [_decode(v) for v in value]
        return tuple(items) if {"tuple", "Tuple"} & set(outer) else items
    return value


def decode_message(data: dict) -> object:
    """The inverse of :func:`encode_message`; ValueError for an unknown type or field."""
    cls = _CLASSES.get(data.get("type")) if isinstance(data, dict) else None
    if cls is None:
        msg = f"not a known message: {data!r}"[:200]
        raise ValueError(msg)
    fields = {_key(f.name): f for f in dataclasses.fields(cls) if f.init}
    unknown = set(data) - set(fields) - {"type"}
    if unknown:
        msg = f"{cls.__name__} has no field(s) {sorted(unknown)}"
        raise ValueError(msg)
    kwargs = {f.name: _decode(data[key], f.type) for key, f in fields.items() if key in data}
    try:
        return cls(**kwargs)
    except TypeError as err:
        msg = f"cannot rebuild {cls.__name__}: {err}"
        raise ValueError(msg) from err
