"""CsmsConnection: the OCPP-J link to the central system.

Owns the websocket, the framing, the durable queue of outgoing CALLs (one in flight,
retries, the ids of transactions started offline; see :mod:`actors.call_queue`), call
timeouts, reconnect back-off, registration (BootNotification) and Heartbeat, and the
message log. It owns no domain state: CSMS CALLs go to the actor named in ``routes``;
answers go back to whoever sent the CALL.

The actor does the I/O and the timing; plain modules beside it hold the rest:
:mod:`actors.link_settings` (URL, credentials, ping, reconnect wait), :mod:`actors.tls` and
:mod:`actors.certificates` (security profiles 2 and 3), :mod:`actors.security_profile` (the
SecurityProfile switch, its fallback, and the security events of failed connections),
:mod:`actors.incoming_calls` (reading frames, routing CSMS CALLs, the CALLs we still owe an
answer), :mod:`actors.call_outcomes` (what the sender of a CALL is told),
:mod:`actors.durable_call_queue` (the queue and the Persistence messages that keep its
durable copy), :mod:`actors.registration` (boot and heartbeat intervals) and
:mod:`actors.link_counters` (GetLinkStats).

Accepts (tell): SendCall, AdoptQueuedCall, SendCallResult, SendCallError, TriggerLinkMessage,
WebsocketControl, ReconnectLink, ConfigurationChanged (published), and its edge inputs SocketOpened,
FrameReceived, SocketClosed, ConnectDue, ConnectTimedOut, BootDue, HeartbeatDue,
CallTimedOut, AnswerOverdue, QueueDue. Answers (ask): GetLinkStats → LinkStats; StopOcpp /
RestartOcpp → OcppControlDone. Emits: CallResultReceived / CallFailed (tell, to the sender),
CallReceived (tell, to the owner), RegistrationChanged and ConnectionChanged (published),
SecurityEvent (tell, to the station), WriteUserConfigKey (ask, to persistence: the
SecurityProfile fallback).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

import pykka

from actors.base import SupervisedActor
from actors.call_outcomes import answer_failure, call_failed, given_up
from actors.call_queue import TRANSACTIONAL, Outgoing, retry_delay, thin_meter_values
from actors.certificates import CertificateStore
from actors.durable_call_queue import DurableCallQueue
from actors.incoming_calls import (
    AnswerAtOnce,
    DropUnregistered,
    MalformedFrame,
    UnansweredCalls,
    read_frame,
    route_call,
)
from actors.link_counters import LinkCounters
from actors.link_settings import (
    LinkSettingsError,
    auth_headers,
    charge_point_url,
    ping_interval,
    reconnect_wait,
    security_profile,
)
from actors.message_log import MessageLog
from actors.registration import boot_retry_after_failure, read_boot_answer
from actors.security_profile import SecurityProfileKeeper
from actors.tls import client_settings
from actors.transport import RefusedAttempt, WebSocketTransport
from messages.configuration import ConfigurationChanged
from messages.csms import (
    AdoptQueuedCall,
    AnswerOverdue,
    BootDue,
    CallFailed,
    CallReceived,
    CallResultReceived,
    CallTimedOut,
    ConnectDue,
    ConnectionChanged,
    ConnectTimedOut,
    FailureKind,
    FrameReceived,
    GetLinkStats,
    HeartbeatDue,
    LinkStats,
    QueueDue,
    ReconnectLink,
    Registration,
    RegistrationChanged,
    SendCall,
    SendCallError,
    SendCallResult,
    SocketClosed,
    SocketOpened,
    TriggerLinkMessage,
    WebsocketControl,
)
from messages.frames import CallFrame, CallResultFrame, encode_call, encode_call_error, encode_call_result, redact
from messages.persistence import UserConfigWriteFailed, WriteUserConfigKey
from messages.provided import OcppControlDone, RestartOcpp, SecurityEvent, StopOcpp
from messages.validation import SchemaViolation

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext
    from actors.clock import TimerHandle
    from actors.tls import TlsSettings
    from actors.transport import Connection
    from messages.frames import CallErrorFrame

__all__ = ["CsmsConnection"]

CALL_TIMEOUT_S = 30.0
"""How long a CALL may wait for its answer (libocpp: 30 s, not configurable in 1.6)."""
ANSWER_TIMEOUT_S = 10.0
"""How long the owner of a CSMS CALL may take before we answer InternalError for it."""
CONNECT_TIMEOUT_S = 10.0
"""A handshake that takes longer is abandoned (the CSMS, or something on the way, swallowed it)."""
PERSISTENCE_TIMEOUT_S = 10.0
DEFAULT_QUEUE_THRESHOLD = 200_000
"""MessageQueueSizeThreshold when the config has none (libocpp's default)."""


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
        ConnectTimedOut: "_on_connect_timed_out",
        BootDue: "_on_boot_due",
        HeartbeatDue: "_on_heartbeat_due",
        CallTimedOut: "_on_call_timed_out",
        AnswerOverdue: "_on_answer_overdue",
        GetLinkStats: "_on_get_link_stats",
        QueueDue: "_on_queue_due",
        AdoptQueuedCall: "_on_adopt_queued_call",
        TriggerLinkMessage: "_on_trigger",
        WebsocketControl: "_on_websocket_control",
        ReconnectLink: "_on_reconnect_link",
        ConfigurationChanged: "_on_configuration_changed",
        StopOcpp: "_on_stop_ocpp",
        RestartOcpp: "_on_restart_ocpp",
    }
    SUBSCRIBES = (ConfigurationChanged,)
    RECONNECT_KEYS: ClassVar[frozenset[str]] = frozenset({"authorizationkey", "securityprofile", "websocketpinginterval"})
    """Keys fixed per connection (Basic-auth password, websocket-client's ping thread): a change
    reconnects the link at once, after the ChangeConfiguration answer has gone."""

    def __init__(self, ctx: ActorContext, name: str, *, routes: Mapping[str, str],
                 boot_payload: Mapping[str, Any],
                 persistence: str = "persistence", station: str = "station") -> None:
        super().__init__(ctx, name)
        self._routes = routes
        self._boot_payload = dict(boot_payload)
        self._persistence, self._station = persistence, station
        cfg = ctx.config
        self._url = charge_point_url(cfg.central_system_uri, cfg.charge_point_id)
        """The URL of the last attempt (its scheme follows the attempt's security profile)."""
        self._attempt = 0
        self._attempt_profile = security_profile(cfg.get)
        """The SecurityProfile of the last attempt."""
        self._profiles = SecurityProfileKeeper(ctx.config, self._write_user_config, self._security_event, self.log)
        self._failed_attempts = 0
        self._transport = ctx.transport or WebSocketTransport(tls=self._tls_settings)
        self._conn: Connection | None = None
        self._connected = False
        self._ever_connected = False
        self._registration = Registration.UNKNOWN
        self._queue = DurableCallQueue(
            lambda message: ctx.directory.ask(persistence, message, timeout=PERSISTENCE_TIMEOUT_S))
        self._in_flight: Outgoing | None = None
        self._resume_at = 0.0
        self._queue_timer: TimerHandle | None = None
        self._connect_timer: TimerHandle | None = None
        self._unanswered = UnansweredCalls()
        self._boot_timer: TimerHandle | None = None
        self._heartbeat_timer: TimerHandle | None = None
        self._heartbeat_s = 0
        self._held_down = False
        """Disconnected on purpose (WebsocketControl): no reconnect until told to connect."""
        self._reconnect_at_once = False
        self._counters = LinkCounters()
        self._log_file: MessageLog | None = None
        self._stopping = False

    # --- life cycle -----------------------------------------------------------------------

    def started(self) -> None:
        self._log_file = MessageLog(self.ctx.options["MessageLogPath"], self.ctx.config.charge_point_id,
                                    self.ctx.clock)
        if self._queue.reload(keep_normal=bool(self.ctx.config.get("QueueAllMessages", False))):
            self.log.info("%d queued call(s) from before the restart", len(self._queue))
        delay_ms = int(self.ctx.options["DelayOcppStart"])
        if delay_ms > 0:
            self.after(delay_ms / 1000, ConnectDue())
        else:
            self._connect()

    def stopping(self) -> None:
        self._stopping = True
        if self._conn is not None:
            self._conn.close()
        if self._log_file is not None:
            self._log_file.close()

    # --- the websocket ----------------------------------------------------------------------

    def _connect(self) -> None:
        self._attempt += 1
        attempt, me = self._attempt, self.actor_ref
        cfg = self.ctx.config.current
        self._attempt_profile = profile = security_profile(cfg.get)
        headers = auth_headers(cfg.charge_point_id, cfg.get)

        def deliver(message: object) -> None:
            try:
                me.tell(message)
            except pykka.ActorDeadError:
                pass  # we are stopping; the socket thread just ends

        try:
            self._url = charge_point_url(cfg.central_system_uri, cfg.charge_point_id, profile)
        except LinkSettingsError as exc:
            self._conn = RefusedAttempt(attempt, str(exc), deliver)
        else:
            self._conn = self._transport.open(self._url, attempt=attempt, headers=headers, deliver=deliver,
                                              ping_interval=ping_interval(cfg.get))
        self._connect_timer = self.after(CONNECT_TIMEOUT_S, ConnectTimedOut(attempt=attempt))

    def _tls_settings(self) -> TlsSettings:
        """The TLS context of the attempt being opened (called by our websocket transport, in
        this actor's thread). Certificate validity is a wall-clock matter, checked by OpenSSL
        on both ends against the real time, so the store is asked at the real time too."""
        cfg = self.ctx.config.current
        return client_settings(cfg.get, CertificateStore.for_config(cfg), self._attempt_profile)

    def _on_connect_timed_out(self, msg: ConnectTimedOut) -> None:
        if msg.attempt != self._attempt or self._connected or self._conn is None:
            return
        self.log.warning("no handshake with %s within %g s; abandoning the attempt", self._url, CONNECT_TIMEOUT_S)
        self._conn.abort()

    def _on_connect_due(self, _msg: ConnectDue) -> None:
        if not self._stopping and not self._connected and not self._held_down and self._conn is None:
            self._connect()

    def _reconnect(self, why: str) -> None:
        """Close the link on purpose and open it again at once (not after a back-off)."""
        if self._conn is None:
            return
        self.log.info("reconnecting: %s", why)
        self._reconnect_at_once = True
        self._conn.close()

    def _on_reconnect_link(self, msg: ReconnectLink) -> None:
        if self._connected:
            self._reconnect(msg.reason)

    def _on_websocket_control(self, msg: WebsocketControl) -> None:
        if not self.ctx.options["EnableExternalWebsocketControl"]:
            self.log.warning("websocket %s command ignored: EnableExternalWebsocketControl is off",
                             "connect" if msg.connect else "disconnect")
            return
        self.log.info("websocket %s (external control)", "connect" if msg.connect else "disconnect")
        self._held_down = not msg.connect
        if msg.connect and self._conn is None:
            self._connect()
        elif not msg.connect and self._conn is not None:
            self._conn.close()

    def _on_stop_ocpp(self, _msg: StopOcpp) -> OcppControlDone:
        if self._held_down:
            return OcppControlDone(done=False)
        self.log.warning("OCPP stopped by the charger; the link stays closed until restarted")
        self._held_down = True
        if self._conn is not None:
            self._conn.close()
        return OcppControlDone(done=True)

    def _on_restart_ocpp(self, _msg: RestartOcpp) -> OcppControlDone:
        if not self._held_down:
            return OcppControlDone(done=False)
        self.log.info("OCPP restarted by the charger: registering again")
        self._held_down = False
        self._registration = Registration.UNKNOWN
        self.ctx.clock.cancel(self._heartbeat_timer)
        if self._conn is None:
            self._connect()
        return OcppControlDone(done=True)

    def _on_configuration_changed(self, msg: ConfigurationChanged) -> None:
        key = msg.key.lower()
        if key == "securityprofile":
            self._profiles.changed(int(msg.value))  # type: ignore[call-overload]
        if key == "heartbeatinterval":
            self._heartbeat_s = int(msg.value)  # type: ignore[call-overload]
            if self._registration is Registration.ACCEPTED:
                self._arm_heartbeat()
        elif key in self.RECONNECT_KEYS and self._connected:
            self._reconnect(f"{msg.key} changed")

    def _on_socket_opened(self, msg: SocketOpened) -> None:
        if msg.attempt != self._attempt:
            return
        self.ctx.trace.record("open")
        self._connected = True
        self.ctx.clock.cancel(self._connect_timer)
        self._counters.connects += 1
        self._failed_attempts = 0
        self._profiles.opened(self._attempt_profile)
        self.log.info("connected to %s (%s)", self._url, msg.subprotocol)
        self.publish(ConnectionChanged(connected=True, reconnect=self._ever_connected))
        resume_delay = float(self.ctx.options["MessageQueueResumeDelay"])
        if self._ever_connected and resume_delay > 0:  # some OCTT cases want the CSMS to speak first
            self._resume_at = self.ctx.clock.monotonic() + resume_delay
            self._arm_queue_timer(self._resume_at)
        self._ever_connected = True
        if self._registration is not Registration.ACCEPTED and self._boot_timer is None:
            self._send_boot()
        self._pump()

    def _on_socket_closed(self, msg: SocketClosed) -> None:
        if msg.attempt != self._attempt:
            return
        self.ctx.trace.record("close", reason=msg.reason, http=msg.http_status)
        self.ctx.clock.cancel(self._connect_timer)
        was_connected, self._connected, self._conn = self._connected, False, None
        if msg.http_status == 401:
            self.log.error("CSMS refused our credentials (HTTP 401) at %s", self._url)
        elif was_connected:
            self.log.warning("connection to CSMS lost: %s", msg.reason)
        else:
            self.log.warning("cannot connect to %s: %s", self._url, msg.reason)
        self._on_link_lost()
        if was_connected:
            self.publish(ConnectionChanged(connected=False))
        # A pending SecurityProfile upgrade that just fell back tries the old profile now, not after a back-off.
        fell_back = not was_connected and self._profiles.failed(self._attempt_profile, msg.reason, msg.http_status)
        if self._stopping or self._held_down:
            return
        if self._reconnect_at_once or fell_back:
            self._reconnect_at_once = False
            self._connect()
            return
        self._failed_attempts += 1
        delay = reconnect_wait(self._failed_attempts, self.ctx.config.get, self._random_fraction())
        self.log.info("reconnecting in %.1f s (attempt %d)", delay, self._failed_attempts)
        self.after(delay, ConnectDue())

    # --- the security profile -------------------------------------------------------------

    def _write_user_config(self, profile: str, key: str, value: object) -> None:
        """One key of the user config, through Persistence (the SecurityProfile fallback)."""
        try:
            written = self.ctx.directory.ask(self._persistence, WriteUserConfigKey(profile=profile, key=key, value=value),
                                             timeout=PERSISTENCE_TIMEOUT_S)
        except (pykka.Timeout, pykka.ActorDeadError):
            self.log.exception("cannot write %s.%s to the user config", profile, key)
            return
        if isinstance(written, UserConfigWriteFailed):
            self.log.error("cannot write %s.%s to the user config: %s", profile, key, written.reason)

    def _security_event(self, event_type: str, info: str) -> None:
        """Hand a security event to the station, which sends the critical ones to the CSMS."""
        self.tell(self._station, SecurityEvent(type=event_type, info=info))

    def _random_fraction(self) -> float:
        """A draw from the injected random source; recorded, so a replay waits the same."""
        value = self.ctx.random()
        self.ctx.trace.record("random", value=value)
        return value

    def _send_frame(self, text: str) -> bool:
        if self._conn is None or not self._connected:
            return False
        try:
            self._conn.send(text)
        except ConnectionError as exc:
            self.log.warning("send failed: %s", exc)
            return False
        assert self._log_file is not None
        self._log_file.write("out", text)
        self.ctx.trace.record("out", frame=text)
        return True

    # --- outgoing CALLs ---------------------------------------------------------------------

    def _on_send_call(self, msg: SendCall) -> None:
        transactional = msg.action in TRANSACTIONAL and not msg.triggered
        if not msg.triggered and (transactional or self.ctx.config.get("QueueAllMessages", False)):
            self._queue.store(msg, transactional=transactional)
            self._enforce_queue_limit()
        elif not self._connected:
            self._reply(msg, call_failed(msg, FailureKind.OFFLINE, "not connected to the CSMS"))
            return
        else:
            self._queue.add(msg)
        self._pump()

    def _on_adopt_queued_call(self, msg: AdoptQueuedCall) -> None:
        queued = (*self._queue.transactional, *self._queue.normal, *([self._in_flight] if self._in_flight else []))
        if any(o.queue_id == msg.queue_id for o in queued):
            return  # reloaded from the database already
        self._queue.add(msg.call, queue_id=msg.queue_id)
        self._enforce_queue_limit()
        self._pump()

    def _enforce_queue_limit(self) -> None:
        threshold = int(self.ctx.config.get("MessageQueueSizeThreshold", DEFAULT_QUEUE_THRESHOLD) or 0)
        excess = len(self._queue) - threshold
        if threshold <= 0 or excess <= 0:
            return
        doomed = thin_meter_values([*self._queue.transactional, *self._queue.normal], excess)
        self._queue.remove(doomed)
        self.log.warning("queue over MessageQueueSizeThreshold (%d): dropping %d call(s)", threshold, len(doomed))
        for out in doomed:
            self._drop(out, call_failed(out.call, FailureKind.DROPPED, "queue full"))

    def _pump(self) -> None:
        """Send the next CALL if the link is free: connected, nothing in flight, every CSMS
        CALL answered first, not resuming, and registered (only BootNotification goes before)."""
        while self._connected and self._in_flight is None and not self._unanswered:
            now = self.ctx.clock.monotonic()
            registered = self._registration is Registration.ACCEPTED
            out = self._queue.next_ready(now, registered=registered and now >= self._resume_at)
            if out is None:
                retry = self._queue.next_retry()
                if registered and retry is not None and retry > now:
                    self._arm_queue_timer(retry)
                return
            out.sent_at = time.perf_counter()  # round-trip statistics only (encode to answer), never a timer
            out.message_id = str(uuid.uuid4())
            call = self._queue.with_transaction_id(out.call)
            try:
                frame = encode_call(out.message_id, call.action, call.payload)
            except SchemaViolation as exc:
                self.log.error("refusing to send an invalid %s: %s", call.action, exc)
                self._drop(out, call_failed(call, FailureKind.INVALID, str(exc)))
                continue
            if not self._send_frame(frame):
                self._queue.put_back(out)
                return
            self._counters.calls_sent += 1
            out.timer = self.after(CALL_TIMEOUT_S, CallTimedOut(message_id=out.message_id))
            self._in_flight = out

    def _arm_queue_timer(self, due: float) -> None:
        self.ctx.clock.cancel(self._queue_timer)
        self._queue_timer = self.after(max(due - self.ctx.clock.monotonic(), 0.0), QueueDue())

    def _on_queue_due(self, _msg: QueueDue) -> None:
        self._queue_timer = None
        self._pump()

    def _on_call_timed_out(self, msg: CallTimedOut) -> None:
        out = self._in_flight
        if out is None or out.message_id != msg.message_id:
            return
        self._in_flight = None
        self.log.warning("%s got no answer within %g s", out.call.action, CALL_TIMEOUT_S)
        self._failed(out, call_failed(out.call, FailureKind.TIMEOUT, "no answer from the CSMS"))
        self._pump()

    def _failed(self, out: Outgoing, failure: CallFailed) -> None:
        """A CALLERROR, a timeout or an invalid answer: a durable call is tried again after
        TransactionMessageRetryInterval × attempts, up to TransactionMessageAttempts."""
        if not out.durable:
            self._finish(out, failure)
            return
        out.attempts += 1
        limit = int(self.ctx.config.get("TransactionMessageAttempts", 1) or 1)
        if out.attempts >= limit:
            self.log.error("giving up %s after %d attempt(s): %s", out.call.action, out.attempts, failure.description)
            self._drop(out, given_up(failure, out.attempts))
            return
        self._queue.record_attempt(out)
        interval = float(self.ctx.config.get("TransactionMessageRetryInterval", 10) or 0)
        out.not_before = self.ctx.clock.monotonic() + retry_delay(out.attempts, interval)
        self._queue.put_back(out)
        self.log.info("retrying %s in %g s (attempt %d of %d)", out.call.action,
                      out.not_before - self.ctx.clock.monotonic(), out.attempts + 1, limit)

    def _drop(self, out: Outgoing, failure: CallFailed) -> None:
        """Forget a call for good: out of the durable queue, and the sender told why."""
        self._queue.forget(out)
        self._finish(out, failure)

    def _on_link_lost(self) -> None:
        """The link is down: durable calls wait for the next one; the others fail now."""
        out, self._in_flight = self._in_flight, None
        if out is not None:
            self.ctx.clock.cancel(out.timer)
            if out.durable:
                self._queue.put_back(out)  # it may have arrived: at-least-once, the CSMS sees it again
            else:
                self._finish(out, call_failed(out.call, FailureKind.OFFLINE, "connection lost"))
        for gone in self._queue.drain_volatile():
            self._finish(gone, call_failed(gone.call, FailureKind.OFFLINE, "connection lost"))
        for timer in self._unanswered.forget_all():
            self.ctx.clock.cancel(timer)

    def _finish(self, out: Outgoing, answer: CallResultReceived | CallFailed) -> None:
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
        self.ctx.trace.record("in", frame=redact(msg.text))
        frame = read_frame(msg.text)
        if isinstance(frame, MalformedFrame):
            if frame.call_error is None:
                self.log.warning("dropping malformed answer from CSMS: %s", frame.description)
            else:
                self.log.warning("malformed frame from CSMS (%s): %s", frame.error_code, frame.description)
                self._send_frame(frame.call_error)
        elif isinstance(frame, CallFrame):
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
        failure = answer_failure(out.call, frame)
        if failure is not None:
            if failure.kind is FailureKind.INVALID:
                self.log.warning("invalid %s answer from CSMS: %s", action, failure.description)
            self._failed(out, failure)
            self._pump()
            return
        assert isinstance(frame, CallResultFrame)  # only a valid CALLRESULT gets here
        rtt = time.perf_counter() - out.sent_at
        self._counters.result_received(rtt)
        local_id = out.call.local_transaction_id
        if action == "StartTransaction" and local_id is not None:
            real_id = int(frame.payload["transactionId"])  # type: ignore[call-overload]
            self._queue.map_transaction_id(local_id, real_id)
        self._queue.forget(out)
        self._finish(out, CallResultReceived(action=action, correlation=correlation, payload=frame.payload, rtt=rtt))
        self._pump()

    def _on_csms_call(self, frame: CallFrame) -> None:
        route = route_call(frame, self._registration, self._routes)
        if isinstance(route, DropUnregistered):
            self.log.warning("ignoring %s: not registered (%s)", frame.action, self._registration.value)
            return
        if isinstance(route, AnswerAtOnce):
            self._send_frame(route.frame)
            return
        timer = self.after(ANSWER_TIMEOUT_S, AnswerOverdue(message_id=frame.message_id))
        self._unanswered.add(frame.message_id, frame.action, timer)
        if not self.tell(route.owner, CallReceived(message_id=frame.message_id, action=frame.action,
                                                   payload=frame.payload)):
            self._answer(frame.message_id, encode_call_error(frame.message_id, "InternalError",
                                                             f"{route.owner} is not running"))

    def _answer(self, message_id: str, text: str) -> None:
        self.ctx.clock.cancel(self._unanswered.settle(message_id))
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
            action = self._unanswered.action_of(msg.message_id)
            self.log.error("nobody answered %s in time", action)
            self._answer(msg.message_id, encode_call_error(msg.message_id, "InternalError",
                                                           f"{action} was not answered in time"))

    # --- registration and heartbeat ---------------------------------------------------------

    def _send_boot(self) -> None:
        self._queue.add(SendCall(action="BootNotification", payload=self._boot_payload), front=True)

    def _on_boot_due(self, _msg: BootDue) -> None:
        self._boot_timer = None
        if self._connected and self._registration is not Registration.ACCEPTED:
            self._send_boot()
            self._pump()

    def _on_trigger(self, msg: TriggerLinkMessage) -> None:
        if msg.action == "BootNotification":
            self._queue.add(SendCall(action="BootNotification", payload=self._boot_payload, triggered=True),
                            front=True)
        else:
            self._queue.add(SendCall(action="Heartbeat", triggered=True))
        self._pump()

    def _arm_heartbeat(self) -> None:
        self.ctx.clock.cancel(self._heartbeat_timer)
        self._heartbeat_timer = self.every(self._heartbeat_s, HeartbeatDue()) if self._heartbeat_s > 0 else None

    def _on_boot_answer(self, answer: CallResultReceived | CallFailed) -> None:
        if isinstance(answer, CallFailed):
            retry_s = boot_retry_after_failure(answer.kind)
            if retry_s is not None:
                self.log.warning("BootNotification failed (%s); retrying in %d s", answer.kind.value, retry_s)
                self._boot_timer = self.after(retry_s, BootDue())
            return
        boot = read_boot_answer(answer.payload, self.ctx.config.get)
        self._registration = boot.status
        self.log.info("BootNotification %s (interval %d s)", boot.status.value, boot.interval)
        if boot.status is Registration.ACCEPTED:
            self._heartbeat_s = boot.heartbeat_s
            self._arm_heartbeat()
        else:
            self.ctx.clock.cancel(self._boot_timer)
            self._boot_timer = self.after(boot.boot_retry_s, BootDue())
        self.publish(RegistrationChanged(status=boot.status, interval=boot.interval, csms_time=boot.csms_time))

    def _on_heartbeat_due(self, _msg: HeartbeatDue) -> None:
        if self._connected and self._registration is Registration.ACCEPTED:
            self._queue.add(SendCall(action="Heartbeat"))
            self._pump()

    def _on_get_link_stats(self, _msg: GetLinkStats) -> LinkStats:
        return self._counters.stats(connected=self._connected, registration=self._registration,
                                    busy=bool(self._in_flight or self._unanswered or self._ready_to_send()),
                                    queued=len(self._queue))

    def _ready_to_send(self) -> bool:
        """Something in the queue could go now (calls waiting for a retry time do not count)."""
        now, retry = self.ctx.clock.monotonic(), self._queue.next_retry()
        return self._connected and retry is not None and retry <= now and now >= self._resume_at

