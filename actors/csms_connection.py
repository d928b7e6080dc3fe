"""CsmsConnection: the OCPP-J link to the central system.

Owns the websocket, the framing, one outgoing CALL in flight, call timeouts, reconnect
back-off, registration (BootNotification) and Heartbeat, and the message log. It owns no
domain state: CSMS CALLs go to the actor named in ``routes``; answers go back to whoever
sent the CALL.

Accepts (tell): SendCall, SendCallResult, SendCallError, and its edge inputs SocketOpened,
FrameReceived, SocketClosed, ConnectDue, BootDue, HeartbeatDue, CallTimedOut,
AnswerOverdue. Answers (ask): GetLinkStats → LinkStats.
Emits: CallResultReceived / CallFailed (tell, to the sender), CallReceived (tell, to the
owner), RegistrationChanged and ConnectionChanged (published).
"""

from __future__ import annotations

import base64
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import pykka
import websocket

from actors.backoff import reconnect_delay
from actors.base import SupervisedActor
from actors.message_log import MessageLog
from messages.csms import (
    AnswerOverdue,
    BootDue,
    CallFailed,
    CallReceived,
    CallResultReceived,
    CallTimedOut,
    ConnectDue,
    ConnectionChanged,
    FailureKind,
    FrameReceived,
    GetLinkStats,
    HeartbeatDue,
    LinkStats,
    Registration,
    RegistrationChanged,
    SendCall,
    SendCallError,
    SendCallResult,
    SocketClosed,
    SocketOpened,
)
from messages.frames import (
    CallErrorFrame,
    CallFrame,
    CallResultFrame,
    FrameError,
    decode,
    encode_call,
    encode_call_error,
    encode_call_result,
    validate_call,
)
from messages.payload import thaw
from messages.validation import SchemaViolation, validate_response

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext
    from actors.clock import TimerHandle
    from messages.frames import Frame

__all__ = ["CsmsConnection", "charge_point_url"]

CALL_TIMEOUT_S = 30.0
"""How long a CALL may wait for its answer (libocpp: 30 s, not configurable in 1.6)."""
ANSWER_TIMEOUT_S = 10.0
"""How long the owner of a CSMS CALL may take before we answer InternalError for it."""
BOOT_RETRY_S = 60
"""Retry interval for BootNotification when the CSMS gives none (interval 0) or fails."""
PONG_TIMEOUT_S = 5
"""Seconds to wait for a pong after a ping before the link counts as dead (WebsocketPongTimeout)."""
RTT_SAMPLES = 4096

# While Pending, the CSMS may configure us but not start or stop charging (OCPP 1.6 §4.2).
_REFUSED_WHILE_PENDING = frozenset({"RemoteStartTransaction", "RemoteStopTransaction"})


def charge_point_url(central_system_uri: str, charge_point_id: str) -> str:
    """CentralSystemURI + ChargePointId, the id appended exactly once."""
    base = central_system_uri.rstrip("/")
    if base.endswith("/" + charge_point_id):
        return base
    return f"{base}/{charge_point_id}"


@dataclass(slots=True)
class _Outgoing:
    call: SendCall
    message_id: str = ""
    sent_at: float = 0.0
    timer: TimerHandle | None = None


class CsmsConnection(SupervisedActor):
    """The websocket link to the CSMS (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        SendCall: "_on_send_call",
        SendCallResult: "_on_send_call_result",
        SendCallError: "_on_send_call_error",
        SocketOpened: "_on_socket_opened",
        FrameReceived: "_on_frame_received",
        SocketClosed: "_on_socket_closed",
        ConnectDue: "_on_connect_due",
        BootDue: "_on_boot_due",
        HeartbeatDue: "_on_heartbeat_due",
        CallTimedOut: "_on_call_timed_out",
        AnswerOverdue: "_on_answer_overdue",
        GetLinkStats: "_on_get_link_stats",
    }

    def __init__(self, ctx: ActorContext, name: str, *, routes: Mapping[str, str],
                 boot_payload: Mapping[str, Any], rng: random.Random | None = None) -> None:
        super().__init__(ctx, name)
        self._routes = routes
        self._boot_payload = dict(boot_payload)
        self._rng = rng or random.Random()
        cfg = ctx.config
        self._url = charge_point_url(cfg.central_system_uri, cfg.charge_point_id)
        self._attempt = 0
        self._failed_attempts = 0
        self._app: websocket.WebSocketApp | None = None
        self._connected = False
        self._ever_connected = False
        self._registration = Registration.UNKNOWN
        self._queue: deque[_Outgoing] = deque()
        self._in_flight: _Outgoing | None = None
        self._unanswered: dict[str, tuple[str, TimerHandle]] = {}
        self._boot_timer: TimerHandle | None = None
        self._heartbeat_timer: TimerHandle | None = None
        self._connects = 0
        self._calls_sent = 0
        self._results = 0
        self._rtts: deque[float] = deque(maxlen=RTT_SAMPLES)
        self._log_file: MessageLog | None = None
        self._stopping = False

    # --- life cycle -----------------------------------------------------------------------

    def started(self) -> None:
        self._log_file = MessageLog(self.ctx.options["MessageLogPath"], self.ctx.config.charge_point_id,
                                    self.ctx.clock)
        delay_ms = int(self.ctx.options["DelayOcppStart"])
        if delay_ms > 0:
            self.after(delay_ms / 1000, ConnectDue())
        else:
            self._connect()

    def stopping(self) -> None:
        self._stopping = True
        for timer in (self._boot_timer, self._heartbeat_timer):
            self.ctx.clock.cancel(timer)
        if self._app is not None:
            self._app.close(status=1000, reason=b"charge point stopping")
        if self._log_file is not None:
            self._log_file.close()

    # --- the websocket ----------------------------------------------------------------------

    def _connect(self) -> None:
        self._attempt += 1
        attempt, me = self._attempt, self.actor_ref
        cfg = self.ctx.config
        header = []
        profile = int(cfg.get("SecurityProfile", 0))
        if profile >= 1:
            key = str(cfg.get("AuthorizationKey", ""))
            token = base64.b64encode(f"{cfg.charge_point_id}:{key}".encode()).decode()
            header.append(f"Authorization: Basic {token}")
        ping = int(cfg.get("WebSocketPingInterval", 0) or 0)

        def tell(message: object) -> None:
            try:
                me.tell(message)
            except pykka.ActorDeadError:
                pass  # we are stopping; the socket thread just ends

        status: dict[str, Any] = {}

        def on_error(_app: Any, error: Exception) -> None:
            status.setdefault("reason", f"{type(error).__name__}: {error}")
            status.setdefault("http", getattr(error, "status_code", None))

        def on_close(_app: Any, code: int | None, reason: str | None) -> None:
            if code is not None:
                status.setdefault("reason", f"closed by CSMS: code {code} {reason or ''}".strip())

        sockets: list[websocket.WebSocket] = []

        def on_open(app: websocket.WebSocketApp) -> None:
            sockets.append(app.sock)
            tell(SocketOpened(attempt=attempt, subprotocol=app.sock.getsubprotocol() or ""))

        app = websocket.WebSocketApp(
            self._url, header=header, subprotocols=["ocpp1.6"], on_open=on_open,
            on_message=lambda _a, text: tell(FrameReceived(attempt=attempt, text=text)),
            on_error=on_error, on_close=on_close)
        self._app = app

        def run() -> None:
            try:
                app.run_forever(ping_interval=ping, ping_timeout=min(PONG_TIMEOUT_S, ping - 1) if ping > 1 else None)
            finally:
                for sock in sockets:
                    sock.shutdown()  # websocket-client keeps the TCP socket after a server close
                tell(SocketClosed(attempt=attempt, reason=status.get("reason", "connection ended"),
                                  http_status=status.get("http")))

        threading.Thread(target=run, name=f"websocket-{attempt}", daemon=True).start()

    def _on_connect_due(self, _msg: ConnectDue) -> None:
        if not self._stopping and not self._connected:
            self._connect()

    def _on_socket_opened(self, msg: SocketOpened) -> None:
        if msg.attempt != self._attempt:
            return
        self._connected = True
        self._connects += 1
        self._failed_attempts = 0
        self.log.info("connected to %s (%s)", self._url, msg.subprotocol)
        self.publish(ConnectionChanged(connected=True, reconnect=self._ever_connected))
        self._ever_connected = True
        if self._registration is not Registration.ACCEPTED and self._boot_timer is None:
            self._send_boot()
        self._pump()

    def _on_socket_closed(self, msg: SocketClosed) -> None:
        if msg.attempt != self._attempt:
            return
        was_connected, self._connected, self._app = self._connected, False, None
        if msg.http_status == 401:
            self.log.error("CSMS refused our credentials (HTTP 401) at %s", self._url)
        elif was_connected:
            self.log.warning("connection to CSMS lost: %s", msg.reason)
        else:
            self.log.warning("cannot connect to %s: %s", self._url, msg.reason)
        self._fail_all(FailureKind.OFFLINE, "connection lost")
        if was_connected:
            self.publish(ConnectionChanged(connected=False))
        if self._stopping:
            return
        self._failed_attempts += 1
        cfg = self.ctx.config
        delay = reconnect_delay(
            self._failed_attempts,
            wait_minimum=float(cfg.get("RetryBackoffWaitMinimum", 3)),
            random_range=float(cfg.get("RetryBackoffRandomRange", 10)),
            repeat_times=int(cfg.get("RetryBackoffRepeatTimes", 3)),
            random_fraction=self._rng.random())
        self.log.info("reconnecting in %.1f s (attempt %d)", delay, self._failed_attempts)
        self.after(delay, ConnectDue())

    def _send_frame(self, text: str) -> bool:
        if self._app is None or not self._connected:
            return False
        try:
            self._app.send(text)
        except (websocket.WebSocketException, OSError) as exc:
            self.log.warning("send failed: %s", exc)
            return False
        assert self._log_file is not None
        self._log_file.write("out", text)
        return True

    # --- outgoing CALLs ---------------------------------------------------------------------

    def _on_send_call(self, msg: SendCall) -> None:
        if not self._connected:
            self._reply(msg, CallFailed(action=msg.action, correlation=msg.correlation,
                                        kind=FailureKind.OFFLINE, description="not connected to the CSMS"))
            return
        self._queue.append(_Outgoing(msg))
        self._pump()

    def _pump(self) -> None:
        """Send the next CALL if the link is free: connected, nothing in flight, every CSMS
        CALL answered first, and registered (only BootNotification goes before that)."""
        while self._connected and self._in_flight is None and not self._unanswered and self._queue:
            out = self._queue[0]
            if self._registration is not Registration.ACCEPTED and out.call.action != "BootNotification":
                return
            self._queue.popleft()
            out.sent_at = time.perf_counter()  # round-trip statistics only (encode to answer), never a timer
            out.message_id = str(uuid.uuid4())
            try:
                frame = encode_call(out.message_id, out.call.action, out.call.payload)
            except SchemaViolation as exc:
                self.log.error("refusing to send an invalid %s: %s", out.call.action, exc)
                self._reply(out.call, CallFailed(action=out.call.action, correlation=out.call.correlation,
                                                 kind=FailureKind.INVALID, description=str(exc)))
                continue
            if not self._send_frame(frame):
                self._queue.appendleft(out)
                return
            self._calls_sent += 1
            out.timer = self.after(CALL_TIMEOUT_S, CallTimedOut(message_id=out.message_id))
            self._in_flight = out

    def _on_call_timed_out(self, msg: CallTimedOut) -> None:
        out = self._in_flight
        if out is None or out.message_id != msg.message_id:
            return
        self._in_flight = None
        self.log.warning("%s got no answer within %g s", out.call.action, CALL_TIMEOUT_S)
        self._finish(out, CallFailed(action=out.call.action, correlation=out.call.correlation,
                                     kind=FailureKind.TIMEOUT, description="no answer from the CSMS"))
        self._pump()

    def _fail_all(self, kind: FailureKind, description: str) -> None:
        pending = ([self._in_flight] if self._in_flight else []) + list(self._queue)
        self._in_flight = None
        self._queue.clear()
        for out in pending:
            self.ctx.clock.cancel(out.timer)
            self._finish(out, CallFailed(action=out.call.action, correlation=out.call.correlation,
                                         kind=kind, description=description))
        for _action, timer in self._unanswered.values():
            self.ctx.clock.cancel(timer)
        self._unanswered.clear()

    def _finish(self, out: _Outgoing, answer: CallResultReceived | CallFailed) -> None:
        """Deliver the answer of a CALL: registration calls are ours, the rest the sender's."""
        if out.call.action == "BootNotification":
            self._on_boot_answer(answer)
        elif out.call.action == "Heartbeat":
            if isinstance(answer, CallFailed):
                self.log.warning("Heartbeat failed: %s %s", answer.kind.value, answer.description)
        self._reply(out.call, answer)

    def _reply(self, call: SendCall, answer: CallResultReceived | CallFailed) -> None:
        if call.reply_to is not None:
            self.tell(call.reply_to, answer)

    # --- incoming frames --------------------------------------------------------------------

    def _on_frame_received(self, msg: FrameReceived) -> None:
        if msg.attempt != self._attempt:
            return
        assert self._log_file is not None
        self._log_file.write("in", msg.text)
        try:
            frame: Frame = decode(msg.text)
            if isinstance(frame, CallFrame):
                validate_call(frame)
        except FrameError as err:
            if err.message_type in (2, None):
                self.log.warning("malformed frame from CSMS (%s): %s", err.error_code, err.description)
                self._send_frame(encode_call_error(err.message_id, err.error_code, err.description))
            else:
                self.log.warning("dropping malformed answer from CSMS: %s", err.description)
            return
        if isinstance(frame, CallFrame):
            self._on_csms_call(frame)
        else:
            self._on_csms_answer(frame)

    def _on_csms_answer(self, frame: CallResultFrame | CallErrorFrame) -> None:
        out = self._in_flight
        if out is None or out.message_id != frame.message_id:
            self.log.warning("dropping an answer to unknown message id %s", frame.message_id)
            return
        self._in_flight = None
        self.ctx.clock.cancel(out.timer)
        action, correlation = out.call.action, out.call.correlation
        answer: CallResultReceived | CallFailed
        if isinstance(frame, CallErrorFrame):
            answer = CallFailed(action=action, correlation=correlation, kind=FailureKind.CALL_ERROR,
                                error_code=frame.error_code, description=frame.description)
        else:
            try:
                validate_response(action, thaw(frame.payload))
            except SchemaViolation as exc:
                self.log.warning("invalid %s answer from CSMS: %s", action, exc)
                answer = CallFailed(action=action, correlation=correlation, kind=FailureKind.INVALID,
                                    description=str(exc))
            else:
                rtt = time.perf_counter() - out.sent_at
                self._results += 1
                self._rtts.append(rtt)
                answer = CallResultReceived(action=action, correlation=correlation,
                                            payload=frame.payload, rtt=rtt)
        self._finish(out, answer)
        self._pump()

    def _on_csms_call(self, frame: CallFrame) -> None:
        if self._registration in (Registration.UNKNOWN, Registration.REJECTED):
            # Not registered: OCPP 1.6 §4.2 lets us send nothing, answers included.
            self.log.warning("ignoring %s: not registered (%s)", frame.action, self._registration.value)
            return
        if self._registration is Registration.PENDING and frame.action in _REFUSED_WHILE_PENDING:
            self._send_frame(encode_call_result(frame.message_id, frame.action, {"status": "Rejected"}))
            return
        owner = self._routes.get(frame.action)
        if owner is None:
            self._send_frame(encode_call_error(frame.message_id, "NotSupported",
                                               f"{frame.action} is not supported by this charge point"))
            return
        timer = self.after(ANSWER_TIMEOUT_S, AnswerOverdue(message_id=frame.message_id))
        self._unanswered[frame.message_id] = (frame.action, timer)
        if not self.tell(owner, CallReceived(message_id=frame.message_id, action=frame.action,
                                             payload=frame.payload)):
            self._answer(frame.message_id, encode_call_error(frame.message_id, "InternalError",
                                                             f"{owner} is not running"))

    def _answer(self, message_id: str, text: str) -> None:
        _action, timer = self._unanswered.pop(message_id, ("", None))
        self.ctx.clock.cancel(timer)
        self._send_frame(text)
        self._pump()

    def _on_send_call_result(self, msg: SendCallResult) -> None:
        if msg.message_id not in self._unanswered:
            self.log.warning("late or unknown answer for %s dropped", msg.message_id)
            return
        try:
            text = encode_call_result(msg.message_id, msg.action, msg.payload)
        except SchemaViolation as exc:
            self.log.error("our answer to %s is invalid: %s", msg.action, exc)
            text = encode_call_error(msg.message_id, "InternalError", "invalid answer")
        self._answer(msg.message_id, text)

    def _on_send_call_error(self, msg: SendCallError) -> None:
        if msg.message_id in self._unanswered:
            self._answer(msg.message_id, encode_call_error(msg.message_id, msg.error_code, msg.description))

    def _on_answer_overdue(self, msg: AnswerOverdue) -> None:
        if msg.message_id in self._unanswered:
            action = self._unanswered[msg.message_id][0]
            self.log.error("nobody answered %s in time", action)
            self._answer(msg.message_id, encode_call_error(msg.message_id, "InternalError",
                                                           f"{action} was not answered in time"))

    # --- registration and heartbeat ---------------------------------------------------------

    def _send_boot(self) -> None:
        self._queue.appendleft(_Outgoing(SendCall(action="BootNotification", payload=self._boot_payload)))

    def _on_boot_due(self, _msg: BootDue) -> None:
        self._boot_timer = None
        if self._connected and self._registration is not Registration.ACCEPTED:
            self._send_boot()
            self._pump()

    def _on_boot_answer(self, answer: CallResultReceived | CallFailed) -> None:
        if isinstance(answer, CallFailed):
            if answer.kind is not FailureKind.OFFLINE:
                self.log.warning("BootNotification failed (%s); retrying in %d s", answer.kind.value,
                                 BOOT_RETRY_S)
                self._boot_timer = self.after(BOOT_RETRY_S, BootDue())
            return
        status = Registration(answer.payload["status"])
        interval = int(answer.payload["interval"])  # type: ignore[arg-type]
        self._registration = status
        self.log.info("BootNotification %s (interval %d s)", status.value, interval)
        if status is Registration.ACCEPTED:
            heartbeat = interval if interval > 0 else int(self.ctx.config.get("HeartbeatInterval", 0) or 0)
            self.ctx.clock.cancel(self._heartbeat_timer)
            self._heartbeat_timer = self.every(heartbeat, HeartbeatDue()) if heartbeat > 0 else None
        else:
            self._boot_timer = self.after(interval if interval > 0 else BOOT_RETRY_S, BootDue())
        self.publish(RegistrationChanged(status=status, interval=interval))

    def _on_heartbeat_due(self, _msg: HeartbeatDue) -> None:
        if self._connected and self._registration is Registration.ACCEPTED:
            self._queue.append(_Outgoing(SendCall(action="Heartbeat")))
            self._pump()

    def _on_get_link_stats(self, _msg: GetLinkStats) -> LinkStats:
        return LinkStats(connected=self._connected, registration=self._registration,
                         connects=self._connects, calls_sent=self._calls_sent,
                         results_received=self._results, rtts=tuple(self._rtts),
                         busy=bool(self._in_flight or self._queue or self._unanswered))

