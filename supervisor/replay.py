"""``ocpp-cp replay``: run a recorded trace through a fresh actor system and compare what it
sends with what was recorded.

How it stays deterministic: threads interleave the EVSE actors differently on every run, so
the order of frames on the one link is not reproducible, but each EVSE's own sequence is.
We therefore compare streams, not a global order: one stream per connector, per
StopTransaction transaction id, per Authorize idTag, the station's own calls, and each answer
to a CSMS CALL by its message id. A recorded CSMS answer is matched to the request it
answered by (stream, position in that stream) and sent back under the new request's id. We
chose this over a single-threaded dispatcher because it replays the real actors, threads and
all, exactly as they run on a charger.

The driver feeds the recorded inputs in order on a manual clock, advancing it timer by timer
to each input's time and waiting until the actor system is quiet before the next one, so a
replay runs as fast as the actors can work, not in real time.

The end of a trace. The link sends one CALL at a time, in the order the calls reached it, and
threads decide that order. In the middle of a trace that does no harm: an answer to a request
this replay has not sent yet is held until it is sent. But a run that stopped (or was killed)
with calls still queued never got answers to its last requests, and this replay may have sent
one of those first, in the place of one the recording sent: its link then waits for an answer
the trace does not have, and the calls the recording sent instead stay queued here, their
answers held. So, once every input is fed (``_Replay._end``):

- a recorded frame this replay did not send must be waiting in this replay's link queue, with
  the same content at the same position in its stream (held answers are matched to it there,
  whatever the link order), taking the queue in the order the link would send it;
- a CALL this replay sent that the recording never sent is the trace's end, not a difference,
  if no CALL sent after it here got an answer (the link stopped there) and the recorded link was
  never idle more than END_SLACK_S after it went here (the recorded run had it queued, or on its
  way, when it stopped: an idle link would have sent it).

Everything this replay sent is compared as before, so a changed frame still shows, at the end of
a trace too, and so does a replay whose link stops in the middle of a trace (the recorded link
idles, or a recorded frame is not waiting here).
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actors.clock import ManualClock
from actors.recorded_evse_manager import RecordedEvseManager
from messages.csms import FrameReceived, SocketClosed, SocketOpened
from messages.evse_manager import SessionState
from messages.lifecycle import InjectCrash
from messages.payload import thaw
from messages.trace import decode_message, read_trace
from supervisor.app import ChargePointApp
from supervisor.config import load_charge_point_config, load_module_config

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["ReplayResult", "replay_trace", "stream_of"]

CONTEXT_INPUTS = 6
"""How many inputs before a difference the report shows."""
TIMER_SKEW_S = 0.5
"""How far a replayed timer's due time may be from the recorded firing (clocks read at other instants)."""
END_SLACK_S = 2.0
"""At the end of a trace: how long a call may take from the input that caused it to the link (see
``_Replay._not_cut_short``); the recorded link idle later than that means it never had the call."""
IDLE_GAP_S = 0.1
"""A recorded link that sends its next CALL later than this after an answer was idle (sooner, it
sent the next queued call in the same step)."""
EVSE_MANAGER = "simulator"
"""Outside the replayed system: its timers are context, its messages are recorded inputs."""
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def _normalise(value: Any) -> Any:
    """A frame's content without what legitimately differs between runs: times."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, str) and _TIME.match(value):
        return "<time>"
    return value


def stream_of(frame: list[Any]) -> str:
    """Which stream a frame the charge point sent belongs to (see the module docstring)."""
    if frame[0] != 2:
        return f"answer {frame[1]}"
    action, payload = frame[2], frame[3]
    if "connectorId" in payload:
        return f"connector {payload['connectorId']}"
    if action == "StopTransaction":
        return f"transaction {payload['transactionId']}"
    if action == "Authorize":
        return f"authorize {payload['idTag']}"
    return "station"


def _content(frame: list[Any]) -> list[Any]:
    if frame[0] == 2:
        return [frame[2], _normalise(frame[3])]
    if frame[0] == 3:
        return ["result", _normalise(frame[2])]
    return ["error", frame[2]]


@dataclass
class ReplayResult:
    """What a replay found: the first difference, or a match."""

    matched: bool
    inputs: int
    outputs: int
    report: list[str] = field(default_factory=list)


class _ReplayTransport:
    """Stands where the websocket would: frames the charge point sends are collected, and the
    driver says when connections open and close and what the CSMS sends."""

    def __init__(self) -> None:
        self.attempt = 0
        self.deliver: Callable[[object], None] | None = None
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def open(self, url: str, *, attempt: int, headers: Sequence[str], ping_interval: int,
             deliver: Callable[[object], None]) -> _ReplayTransport:
        self.attempt, self.deliver = attempt, deliver
        return self

    def send(self, text: str) -> None:
        with self._lock:
            self.sent.append(text)

    def take(self) -> list[str]:
        with self._lock:
            sent, self.sent = self.sent, []
        return sent

    def close(self) -> None:
        """The recorded trace says how the connection ended; nothing to do here."""

    abort = close


class _Replay:
    def __init__(self, records: list[dict[str, Any]], app: ChargePointApp, clock: ManualClock,
                 transport: _ReplayTransport) -> None:
        self.records, self.app, self.clock, self.transport = records, app, clock, transport
        self.expected: dict[str, list[tuple[float, list[Any], str]]] = defaultdict(list)
        self.actual: dict[str, list[tuple[list[Any], str]]] = defaultdict(list)
        self.recorded_position: dict[str, tuple[str, int]] = {}  # recorded CALL id -> (stream, index)
        self.inputs: deque[str] = deque(maxlen=CONTEXT_INPUTS)
        self.checked: dict[str, int] = defaultdict(int)  # per stream: frames compared so far
        self.held: dict[tuple[str, int], list[Any]] = {}  # answers to requests not sent yet
        self.dirty: set[str] = set()  # streams with frames not compared yet
        self.calls: dict[str, tuple[int, float]] = {}  # id of each CALL sent -> (its place in sending order,
        # the recorded time of the input fed when it went)
        self.fed_at = 0.0
        self.last_answered = -1  # the place of the last CALL this replay sent that got an answer
        self.end_notes: list[str] = []  # what the end of the trace left unsent (for the summary)
        self.fed = 0

    def run(self) -> ReplayResult:
        for record in self.records:
            if record["k"] == "timer" and record["to"] != EVSE_MANAGER:
                problem = self._fire_timer(record)
                if problem is not None:
                    return ReplayResult(False, self.fed, self._count(self.actual), problem)
            elif record["k"] != "timer":
                t = float(record["t"])
                if t > self.clock.monotonic():
                    self.clock.advance(t - self.clock.monotonic(), fire=False)
            self.fed_at = float(record["t"])
            if self._take(record):  # expectations and context need no waiting
                self._settle()
            problem = self._compare()
            if problem is not None:
                return ReplayResult(False, self.fed, self._count(self.actual), problem)
        self._settle()
        problem = self._compare() or self._end()
        if problem is not None:
            return ReplayResult(False, self.fed, self._count(self.actual), problem)
        outputs = self._count(self.actual)
        summary = (f"replay matched: {self.fed} inputs fed, {outputs} frames sent as recorded "
                   f"in {len(self.expected)} streams")
        if self.end_notes:
            summary += f"; at the end of the trace {', '.join(self.end_notes)}"
        return ReplayResult(True, self.fed, outputs, [summary])

    @staticmethod
    def _count(streams: dict[str, list[Any]]) -> int:
        return sum(len(v) for v in streams.values())

    def _fire_timer(self, record: dict[str, Any]) -> list[str] | None:
        """Fire the timer the recording fired here, and only that one: two timers due at the same
        instant reach their actors in the recorded order, between the same inputs. Ours may be
        due a little off (the clock was read at other instants); more than TIMER_SKEW_S off, or
        missing, is a difference (a changed interval shows here)."""
        t = float(record["t"])
        ref = self.app.directory.get(record["to"])
        urn = ref.actor_urn if ref is not None else None
        ours = self.clock.soonest(lambda h: getattr(h.target, "actor_urn", None) == urn
                                  and type(h.message).__name__ == record["msg"])
        if ours is None:
            # Threads write records in nearly, not exactly, the order of their times: a timer the
            # recording fired just after its actor stopped needing it (a sample after the end of
            # the transaction) is gone here. It caused nothing then; a missed frame would show.
            self.inputs.append(f"t={t:.3f} (this replay has no {record['msg']} of {record['to']} to fire)")
            return None
        if abs(ours.due - t) > TIMER_SKEW_S:
            return [f"first difference: timer {record['msg']} of {record['to']} fired at t={t:.3f} s in the "
                    f"recording; this replay has it due at t={ours.due:.3f} s", "  inputs just before:",
                    *(f"    {line}" for line in self.inputs)]
        self.clock.fire(lambda h: h is ours, at_least=t)
        return None

    def _settle(self) -> None:
        """Wait for quiet, collect what was sent, hand over answers that were waiting for it,
        and again, until nothing more happens."""
        while True:
            self.app.wait_quiet()
            if not self._collect():
                return

    def _take(self, record: dict[str, Any]) -> bool:
        """Note an expectation or feed an input; True when something was fed."""
        kind = record["k"]
        if kind == "out":
            frame = json.loads(record["frame"])
            stream = stream_of(frame)
            self.expected[stream].append((record["t"], _content(frame), record["frame"]))
            self.dirty.add(stream)
            if frame[0] == 2:
                self.recorded_position[frame[1]] = (stream, len(self.expected[stream]) - 1)
            return False
        if kind == "timer":
            self.inputs.append(_describe(record))
            self.fed += 1
            return record["to"] != EVSE_MANAGER
        if kind in ("sim", "reply", "random"):
            self.inputs.append(_describe(record))
            return False
        self.fed += 1
        self.inputs.append(_describe(record))
        if kind == "in":
            self._feed_frame(record)
        elif kind == "open":
            self._deliver(SocketOpened(attempt=self.transport.attempt, subprotocol="ocpp1.6"))
        elif kind == "close":
            self._deliver(SocketClosed(attempt=self.transport.attempt, reason=record.get("reason", ""),
                                       http_status=record.get("http")))
        elif kind == "ev":
            self.app.directory.tell(record["to"], decode_message(record["msg"]))
        elif kind == "crash":
            self.app.directory.tell(record["actor"], InjectCrash(in_on_start=record.get("in_on_start", False)))
        return True

    def _deliver(self, message: object) -> None:
        if self.transport.deliver is not None:
            self.transport.deliver(message)

    def _feed_frame(self, record: dict[str, Any]) -> None:
        """A CSMS frame: a CALL goes in as recorded; an answer goes to the request it answered
        (same stream, same position), now if that request is out, else as soon as it is."""
        try:
            frame = json.loads(record["frame"])
        except ValueError:
            frame = None
        if not (isinstance(frame, list) and len(frame) > 1 and frame[0] in (3, 4)
                and frame[1] in self.recorded_position):
            self._deliver(FrameReceived(attempt=self.transport.attempt, text=record["frame"]))
            return
        stream, index = self.recorded_position[frame[1]]
        if index < len(self.actual[stream]):
            self._answer(frame, self.actual[stream][index][1])
        else:
            self.held[(stream, index)] = frame

    def _answer(self, frame: list[Any], message_id: str) -> None:
        self.last_answered = max(self.last_answered, self.calls.get(message_id, (-1, 0.0))[0])
        frame[1] = message_id
        self._deliver(FrameReceived(attempt=self.transport.attempt, text=json.dumps(frame, separators=(",", ":"))))

    def _collect(self) -> bool:
        """Take the frames sent since the last look; True if that released a held answer."""
        released = False
        for text in self.transport.take():
            frame = json.loads(text)
            stream = stream_of(frame)
            self.actual[stream].append((_content(frame), frame[1]))
            self.dirty.add(stream)
            if frame[0] == 2:
                self.calls[frame[1]] = (len(self.calls), self.fed_at)
            held = self.held.pop((stream, len(self.actual[stream]) - 1), None)
            if held is not None:
                self._answer(held, frame[1])
                released = True
        return released

    def _compare(self) -> list[str] | None:
        """Compare what both sides have sent since the last look. The earliest difference (by
        recorded time) wins."""
        first: tuple[float, list[str]] | None = None
        streams, self.dirty = self.dirty, set()
        for stream in streams:
            expected, actual = self.expected.get(stream, []), self.actual.get(stream, [])
            for index in range(self.checked[stream], min(len(expected), len(actual))):
                if expected[index][1] == actual[index][0]:
                    self.checked[stream] = index + 1
                    continue
                if first is None or expected[index][0] < first[0]:
                    first = (expected[index][0], self._difference(stream, index, expected[index], actual[index], ""))
                break
        return first[1] if first else None

    def _end(self) -> list[str] | None:
        """Every input is fed: compare what one side sent and the other did not, by the rules of
        the end of a trace (module docstring). The earliest difference (by recorded time) wins."""
        queued = self._queued()
        idle = self._last_idle()
        first: tuple[float, list[str]] | None = None
        waiting = unanswered = 0
        for stream in set(self.expected) | set(self.actual) | set(queued):
            expected, actual, waits = self.expected.get(stream, []), self.actual.get(stream, []), queued.get(stream, [])
            for index in range(self.checked[stream], max(len(expected), len(actual) + len(waits))):
                exp = expected[index] if index < len(expected) else None
                sent = index < len(actual)
                got = actual[index][0] if sent else waits[index - len(actual)] if index - len(actual) < len(waits) \
                    else None
                if exp is not None and exp[1] == got:
                    waiting += not sent  # sent as recorded, or waiting here to be
                    continue
                if exp is None and not sent:
                    continue  # waiting here, and the recorded run had not sent it either
                why = self._not_cut_short(actual[index][1], idle) if exp is None else ""
                if why is None:
                    unanswered += 1
                    continue
                if not sent and (stream, index) in self.held:
                    why = "the recorded CSMS answered a request this replay never sent"
                at = exp[0] if exp is not None else float("inf")
                if first is None or at < first[0]:
                    shown = None if got is None else (got, "") if sent else (got, "queued")
                    first = (at, self._difference(stream, index, exp, shown, why))
                break
        if first is not None:
            return first[1]
        notes = [(waiting, "recorded frame(s) were still queued in this replay's link"),
                 (unanswered, "request(s) this replay sent had no recorded answer")]
        self.end_notes = [f"{count} {what}" for count, what in notes if count]
        return None

    def _not_cut_short(self, message_id: str, idle: float) -> str | None:
        """None if a frame this replay sent, which the recording never sent, is the trace's end:
        a CALL after which no CALL sent here got an answer (this replay's link stopped there), and
        the recorded run may have had it queued till it stopped, as its link was never idle long
        after this call went here (an idle link would have sent it). Else why it is a difference."""
        if message_id not in self.calls:
            return ""
        place, fed_at = self.calls[message_id]
        if place <= self.last_answered:
            return "the recording never sent this request, and this replay's link went on after it"
        if idle > fed_at + END_SLACK_S:
            return (f"the recording never sent this request, though its link was idle till t={idle:.3f} s, "
                    f"after this one went here at t={fed_at:.3f} s")
        return None

    def _last_idle(self) -> float:
        """When the recorded run's link was last seen idle: connected, nothing in flight, and it
        sent no CALL at once (within IDLE_GAP_S) after an answer or an opening. The end of such
        a stretch counts: the next CALL it sent, or the last record. -inf if never."""
        last = float("-inf")
        following: dict[str, Any] | None = None  # the next record of the link's own sending, or a close
        for record in reversed(self.records):
            kind = _frame_kind(record) if record["k"] in ("in", "out") else None
            if record["k"] == "open" or (record["k"] == "in" and kind in (3, 4)):
                if following is None:  # idle till the end
                    last = max(last, float(self.records[-1]["t"]))
                elif following["k"] != "out":  # an answer to nothing, or a close: idle till then
                    last = max(last, float(following["t"]))
                elif float(following["t"]) - float(record["t"]) > IDLE_GAP_S:  # idle till a new call came
                    last = max(last, float(following["t"]))
            if record["k"] in ("open", "close") or (record["k"] == "in" and kind in (3, 4)) \
                    or (record["k"] == "out" and kind == 2):
                following = record  # CSMS CALLs and our answers to them are not the link's own
        return last

    def _queued(self) -> dict[str, list[list[Any]]]:
        """The calls waiting in this replay's link, per stream, in the order the link would send
        them and as it would send them (transaction ids mapped, held StartTransaction answers
        included). Read from the link actor itself: the system is quiet, so nothing moves."""
        ref = self.app.ref("csms")
        link = getattr(ref, "_actor_weakref", lambda: None)()  # no message asks the link for its queue
        queue = getattr(link, "_queue", None)
        if queue is None:
            return {}  # nothing counts as waiting here: every recorded frame not sent is a difference
        ids = dict(queue.transaction_ids)
        heads = [deque(queue.transactional), deque(queue.normal)]
        now = self.clock.monotonic()
        waiting: dict[str, list[list[Any]]] = defaultdict(list)
        while any(heads):
            ready_at = max(now, min(q[0].not_before for q in heads if q))
            out = min((q[0] for q in heads if q and q[0].not_before <= ready_at), key=lambda o: o.seq)
            now = ready_at
            next(q for q in heads if q and q[0] is out).popleft()
            payload = thaw(out.call.payload)
            local = payload.get("transactionId") if isinstance(payload, dict) else None
            if isinstance(local, int) and local < 0 and local in ids:
                payload["transactionId"] = ids[local]
            frame = [2, "", out.call.action, payload]
            stream = stream_of(frame)
            held = self.held.get((stream, len(self.actual[stream]) + len(waiting[stream])))
            if (out.call.action == "StartTransaction" and out.call.local_transaction_id is not None and held
                    and held[0] == 3 and isinstance(held[2], dict) and isinstance(held[2].get("transactionId"), int)):
                ids[out.call.local_transaction_id] = held[2]["transactionId"]
            waiting[stream].append(_content(frame))
        return waiting

    def _difference(self, stream: str, index: int, expected: tuple[float, list[Any], str] | None,
                    got: tuple[list[Any], str] | None, why: str) -> list[str]:
        where = f"t={expected[0]:.3f} s" if expected else "at the end"
        lines = [f"first difference: {stream}, frame {index + 1}, {where}" + (f": {why}" if why else "")]
        lines.append(f"  expected: {json.dumps(expected[1]) if expected else '(nothing more)'}")
        lines.append(f"  got:      {json.dumps(got[0]) if got else '(nothing)'}"
                     + (" (still queued in this replay's link)" if got and got[1] == "queued" else ""))
        lines.append("  inputs just before:")
        lines.extend(f"    {line}" for line in self.inputs)
        return lines


def _frame_kind(record: dict[str, Any]) -> int | None:
    """2 (CALL), 3 (CALLRESULT) or 4 (CALLERROR) for a frame record; None otherwise."""
    try:
        frame = json.loads(record["frame"])
    except (KeyError, TypeError, ValueError):
        return None
    return frame[0] if isinstance(frame, list) and frame and frame[0] in (2, 3, 4) else None


def _describe(record: dict[str, Any]) -> str:
    """One line for an input in a difference report."""
    kind, t = record["k"], float(record["t"])
    if kind == "in":
        detail = record["frame"][:120]
    elif kind in ("ev", "reply"):
        msg = record["msg"]
        event = msg.get("event")
        detail = f"{record.get('to', '')} {msg.get('type')} {event.get('value', '') if isinstance(event, dict) else ''}"
    elif kind == "sim":
        detail = f"EVSE {record['evse']} {record['command']} {record.get('args') or ''}"
    elif kind == "timer":
        detail = f"{record['to']} {record['msg']}"
    else:
        detail = str(record.get("reason") or record.get("actor") or "")
    return f"t={t:.3f} {kind} {detail}".rstrip()


def replay_trace(path: str | Path, *, warn: Callable[[str], None] = print,
                 config_patch: dict[str, dict[str, Any]] | None = None) -> ReplayResult:
    """Replay a trace (a segment file or a directory of them). ``config_patch`` changes the
    recorded configuration first (to see that a change is noticed)."""
    trace = read_trace(path)
    for problem in trace.problems:
        warn(f"trace: {problem}")
    if trace.header is None:
        return ReplayResult(False, 0, 0, ["no readable trace header"])
    header = trace.header
    config = header["config"]
    for profile, keys in (config_patch or {}).items():
        config.setdefault(profile, {}).update(keys)
    answers = [m for r in trace.records if r["k"] == "reply" and isinstance(m := decode_message(r["msg"]), SessionState)]
    with tempfile.TemporaryDirectory(prefix="ocpp-cp-replay-") as workdir:
        base = Path(workdir) / "charge-point-config.json"
        base.write_text(json.dumps(config))
        (Path(workdir) / "user_config.json").write_text("{}")
        options = {**header["options"], "ChargePointConfigPath": str(base), "DatabasePath": f"{workdir}/db",
                   "UserConfigPath": f"{workdir}/user_config.json", "MessageLogPath": f"{workdir}/log",
                   "TracePath": ""}
        module = load_module_config(None, [f"{k}={v}" for k, v in options.items()])
        clock = ManualClock(start=datetime.fromisoformat(header["started_at"].replace("Z", "+00:00")))
        transport = _ReplayTransport()
        draws = iter([float(r["value"]) for r in trace.records if r["k"] == "random"])
        app = ChargePointApp(module, load_charge_point_config(module), clock=clock, transport=transport,
                             evse_manager=(RecordedEvseManager, {"answers": answers}),
                             random_source=lambda: next(draws, 0.5))
        app.start()
        try:
            app.wait_quiet()
            return _Replay(trace.records, app, clock, transport).run()
        finally:
            app.stop()
