"""``ocpp-cp trace show``: a recorded trace as lines a person can read and grep.

Each record becomes one line: wall time, EVSE, direction, action, payload. A CALLRESULT or
CALLERROR is named after the CALL it answers (``StartTransaction.conf``), found by message
id, because the answer alone does not say what it is. Damage in the trace is reported on
stderr and never hides the records that are still readable.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from messages.trace import read_trace

if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["show"]

PAYLOAD_WIDTH = 160
_CALL, _RESULT, _ERROR = 2, 3, 4


@dataclass(frozen=True, slots=True)
class _Line:
    record: dict
    time: str
    evse: int | None
    direction: str
    action: str
    names: frozenset[str]
    """Lower-case names that ``--action`` matches: the shown action and the bare type."""
    payload: object


def _evse_of_actor(name: object) -> int | None:
    if isinstance(name, str) and name.startswith("evse/") and name[5:].isdigit():
        return int(name[5:])
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plain(value: object) -> object:
    """An encoded message made readable: datetimes and enums as their text."""
    if isinstance(value, dict):
        if value.keys() == {"$dt"}:
            return value["$dt"]
        if value.keys() == {"$enum", "value"}:
            return _plain(value["value"])
        if value.keys() == {"$msg"}:
            return _plain(value["$msg"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Renderer:
    """Derives the shown columns; remembers CALLs so their answers can be named."""

    def __init__(self, started_at: object) -> None:
        self.start: datetime | None = None
        if isinstance(started_at, str):
            try:
                parsed = datetime.fromisoformat(started_at)
                self.start = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            except ValueError:
                self.start = None
        self.calls: dict[tuple[str, str], tuple[str, int | None]] = {}
        """(direction of the CALL, message id) -> (action, EVSE)."""
        self.transactions: dict[int, int] = {}
        """CSMS transaction id -> connector, from StartTransaction and its answer."""

    def time(self, t: object) -> str:
        if not isinstance(t, (int, float)) or isinstance(t, bool):
            return "-"
        if self.start is None:
            return f"+{t:.3f}s"
        moment = (self.start + timedelta(seconds=t)).astimezone(UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def frame(self, direction: str, text: object) -> tuple[int | None, str, str, object]:
        try:
            frame = json.loads(text)  # type: ignore[arg-type]
            kind, message_id = frame[0], str(frame[1])
        except (TypeError, ValueError, IndexError, KeyError):
            return None, "?", "?", text
        other = "out" if direction == "in" else "in"
        if kind == _CALL and len(frame) >= 4:
            action, payload = str(frame[2]), frame[3]
            evse = self._evse_of_payload(payload)
            self.calls[(direction, message_id)] = (action, evse)
            return evse, action, action, payload
        if kind in (_RESULT, _ERROR):
            action, evse = self.calls.get((other, message_id), ("?", None))
            if kind == _RESULT:
                payload = frame[2] if len(frame) > 2 else None
                evse = self._evse_of_payload(payload, evse)
                if action == "StartTransaction" and evse is not None and isinstance(payload, dict):
                    if (tx := _int(payload.get("transactionId"))) is not None:
                        self.transactions[tx] = evse
                return evse, f"{action}.conf", action, payload
            error = dict(zip(("errorCode", "errorDescription", "errorDetails"), frame[2:], strict=False))
            return evse, f"{action}.error", action, error
        return None, "?", "?", frame

    def _evse_of_payload(self, payload: object, default: int | None = None) -> int | None:
        if not isinstance(payload, dict):
            return default
        if (connector := _int(payload.get("connectorId"))) is not None:
            return connector
        if (tx := _int(payload.get("transactionId"))) is not None and tx in self.transactions:
            return self.transactions[tx]
        return default

    def line(self, record: dict) -> _Line:
        direction = str(record.get("k", record.get("kind", "?")))
        evse: int | None = None
        action, base = "-", ""
        extra: set[str] = set()
        payload: object = {k: v for k, v in record.items() if k not in ("k", "t")}
        if direction in ("in", "out"):
            evse, action, base, payload = self.frame(direction, record.get("frame"))
        elif direction in ("ev", "reply"):
            msg = record.get("msg") if isinstance(record.get("msg"), dict) else {}
            base = action = str(msg.get("type", "?"))
            event = _plain(msg.get("event"))
            if base == "SessionEvent" and isinstance(event, str):
                action, extra = f"SessionEvent.{event}", {event.lower()}
            evse = _int(msg.get("evse_id"))
            evse = evse if evse is not None else _evse_of_actor(record.get("to"))
            payload = {k: v for k, v in _plain(msg).items() if k != "type"}
            if direction == "ev" and "to" in record:
                payload = {"to": record["to"], **payload}
        elif direction == "sim":
            evse, base = _int(record.get("evse")), str(record.get("command", "?"))
            action, payload = base, record.get("args", {})
        elif direction == "timer":
            evse, base = _evse_of_actor(record.get("to")), str(record.get("msg", "?"))
            action, payload = base, {"to": record.get("to")}
        elif direction == "crash":
            evse = _evse_of_actor(record.get("actor"))
        names = frozenset(n.lower() for n in (action, base, *extra) if n and n != "-")
        return _Line(record, self.time(record.get("t")), evse, direction, action, names, payload)


def _compact(value: object) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= PAYLOAD_WIDTH else text[: PAYLOAD_WIDTH - 1] + "…"


def _selected(line: _Line, evse: int | None, action: str | None, since: float | None,
              until: float | None) -> bool:
    if evse is not None and line.evse != evse:
        return False
    if action is not None and action.lower() not in line.names:
        return False
    t = line.record.get("t")
    timed = isinstance(t, (int, float)) and not isinstance(t, bool)
    if since is not None and not (timed and t >= since):
        return False
    return until is None or (timed and t <= until)


def show(path: str | Path, *, evse: int | None, action: str | None, since: float | None,
         until: float | None, as_json: bool, out: TextIO, err: TextIO | None = None) -> int:
    """Print the trace at ``path``. Exit code: 0, 1 when it holds no readable record,
    2 when ``path`` does not exist."""
    err = err if err is not None else sys.stderr
    try:
        trace = read_trace(path)
    except FileNotFoundError:
        print(f"ocpp-cp trace: {path}: no such file or directory", file=err)
        return 2
    for problem in trace.problems:
        print(f"ocpp-cp trace: {problem}", file=err)
    if trace.header is None and not trace.records:
        print(f"ocpp-cp trace: {path}: no readable record", file=err)
        return 1
    renderer = _Renderer((trace.header or {}).get("started_at"))
    try:
        for record in trace.records:
            line = renderer.line(record)  # every record: later answers need the CALLs
            if not _selected(line, evse, action, since, until):
                continue
            if as_json:
                derived = {"time": None if line.time == "-" else line.time, "evse": line.evse,
                           "action": None if line.action == "-" else line.action}
                out.write(json.dumps({**record, **derived}, ensure_ascii=False, default=str) + "\n")
            else:
                shown_evse = "-" if line.evse is None else str(line.evse)
                out.write(f"{line.time}  {shown_evse:>3}  {line.direction:<5}  {line.action:<30}  "
                          f"{_compact(line.payload)}\n")
        out.flush()
    except BrokenPipeError:  # `ocpp-cp trace show ... | head`
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
