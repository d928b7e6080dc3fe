"""A small, scriptable OCPP-J 1.6 central system (CSMS) for the demo and for tests.

It works on raw frames so that tests can see, and inject, exactly what is on the
wire. The websockets server runs on its own asyncio loop in a background thread;
every public method is synchronous and may be called from any thread. The loop
is only ever touched through ``run_coroutine_threadsafe``/``call_soon_threadsafe``.

TLS (optional, for security profiles 2 and 3): give ``ssl_context``, a server-side
``ssl.SSLContext``; the URL is then ``wss://``. When that context asks for client certificates
(``verify_mode`` CERT_OPTIONAL or CERT_REQUIRED), a connection that presents a verified one
needs no Basic-auth password (security profile 3), while one without it still does (profile
2), so one server takes both, as a CSMS does while its charge points move from 2 to 3.
Each :class:`Connection` records the TLS version, the cipher and the client certificate's
common name and serial. The context may be changed while the server runs (``load_cert_chain``
again): new handshakes use the new certificate.

Certificate renewal: with :meth:`LocalCsms.sign_certificates` the CSMS is the CA of its charge
points: every SignCertificate.req it accepts is followed by a CertificateSigned.req with the
chain the given signer made from the CSR.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import itertools
import json
import logging
import ssl
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, CallResult, _validate_payload, unpack
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHeader
from websockets.headers import build_www_authenticate_basic, parse_authorization_basic

log = logging.getLogger(__name__)

OCPP_VERSION = "1.6"
SUBPROTOCOL = "ocpp1.6"
_EMPTY_REPLY_ACTIONS = frozenset({
    "StatusNotification", "MeterValues", "DiagnosticsStatusNotification",
    "FirmwareStatusNotification", "SecurityEventNotification",
    "LogStatusNotification", "SignedFirmwareStatusNotification",
})


@dataclass(frozen=True)
class Received:
    """A schema-valid CALL from a charge point, with its payload as parsed from the wire."""
    cp_id: str
    message_id: str
    action: str
    payload: Any
    frame: str
    at: float


@dataclass(frozen=True)
class Frame:
    """One raw text frame; direction "in" = from the charge point, "out" = to it."""
    cp_id: str
    direction: str
    text: str
    at: float


@dataclass(frozen=True)
class Connection:
    """One opening handshake: status 101 if accepted, else the HTTP status it was refused with."""
    cp_id: str
    username: str | None
    password: str | None
    subprotocol: str | None
    at: float
    status: int = 101
    tls: tuple[str, str] | None = None
    """(TLS version, cipher) of a wss:// connection; None on ws://."""
    client_cn: str | None = None
    """The common name of the verified client certificate the charge point presented, if any."""
    client_serial: str | None = None
    """That certificate's serial number, hex as OpenSSL prints it (upper case)."""


@dataclass(frozen=True)
class Closed:
    """An accepted connection that ended, with the close code the charge point sent (None if none)."""
    cp_id: str
    code: int | None
    reason: str
    at: float


@dataclass(frozen=True)
class Failure:
    """A frame from a charge point that broke the protocol (garbage, invalid CALL or CALLRESULT)."""
    cp_id: str
    action: str | None
    frame: str
    error: Exception
    at: float


@dataclass(frozen=True)
class CallErrorReply:
    """A scripted reply: answer the CALL with a CALLERROR."""
    code: str
    description: str = ""


class _NoReply:
    def __repr__(self) -> str:
        return "NO_REPLY"


#: A scripted reply: never answer the CALL (to test the charge point's timeouts).
NO_REPLY = _NoReply()


class CsmsCallError(Exception):
    """The charge point answered a CSMS-initiated CALL with a CALLERROR."""

    def __init__(self, code: str, description: str = "", details: Any = None):
        super().__init__(f"{code}: {description}")
        self.code, self.description, self.details = code, description, details


def utc_now() -> str:
    """Current UTC time as OCPP wants it, e.g. 2024-01-02T03:04:05.678Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _cp_id(path: str) -> str:
    return unquote(urlsplit(path).path).rstrip("/").rsplit("/", 1)[-1]


def _credentials(headers) -> tuple[str | None, str | None]:
    """(username, password) from a Basic Authorization header, or (None, None)."""
    try:
        return parse_authorization_basic(headers["Authorization"])
    except (LookupError, InvalidHeader):  # missing, repeated or malformed header
        return None, None


def _call_id(text: str) -> str | None:
    """The message id of something that looks like a CALL, so that even a broken one can be answered."""
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if isinstance(raw, list) and len(raw) > 1 and raw[0] == Call.message_type_id and isinstance(raw[1], str):
        return raw[1]
    return None


def _error_frame(unique_id: str, exc: Exception) -> str:
    """The CALLERROR the ocpp library maps ``exc`` to, minus the echo of the offending message."""
    error = Call(unique_id, None, None).create_call_error(exc)
    error.error_details = {k: v for k, v in (error.error_details or {}).items() if k != "ocpp_message"}
    return error.to_json()


def _tls_of(connection: ServerConnection) -> tuple[tuple[str, str] | None, str | None, str | None]:
    """(TLS version and cipher, client certificate common name, its serial) of a connection;
    Nones on ws://."""
    ssl_object = connection.transport.get_extra_info("ssl_object") if connection.transport else None
    if ssl_object is None:
        return None, None, None
    version, cipher = ssl_object.version() or "", (ssl_object.cipher() or ("",))[0]
    peer = ssl_object.getpeercert() or {}
    names = [value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"]
    return (version, cipher), (names[0] if names else None), peer.get("serialNumber")


def _dumps(message: list) -> str:
    return json.dumps(message, separators=(",", ":"))


class LocalCsms:
    """An OCPP 1.6 CSMS on 127.0.0.1 that answers with valid defaults unless scripted otherwise."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, password: str | None = None,
                 on_frame: Callable[[str, str, str], None] | None = None,
                 ssl_context: ssl.SSLContext | None = None):
        self.host, self.port, self.password, self.on_frame = host, port, password, on_frame
        self.ssl_context = ssl_context
        self.close_timeout = 1.0
        self._cond = threading.Condition()
        self._received: list[Received] = []
        self._frames: list[Frame] = []
        self._failures: list[Failure] = []
        self._connections: list[Connection] = []
        self._rejected: list[Connection] = []
        self._closed: list[Closed] = []
        self._live: dict[str, ServerConnection] = {}
        self._pending: dict[str, tuple[str, str, ServerConnection, concurrent.futures.Future]] = {}
        self._replies: dict[tuple[str | None, str], Any] = {}
        self._queued: dict[tuple[str | None, str], deque] = defaultdict(deque)
        self._transaction_ids = itertools.count(1)
        self._signer: Callable[[str, str], str] | None = None
        self._signed: list[tuple[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL; the charge point appends its id."""
        return f"{'wss' if self.ssl_context is not None else 'ws'}://{self.host}:{self.port}/"

    def start(self) -> "LocalCsms":
        """Start the server thread; returns once the socket is listening (raises if it cannot bind)."""
        ready: concurrent.futures.Future = concurrent.futures.Future()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(ready),),
                                        name=f"LocalCsms-{self.port}", daemon=True)
        self._thread.start()
        try:
            self.port = ready.result(timeout=10)
        except BaseException:
            self._thread.join(timeout=10)
            self._thread = None
            raise
        return self

    def stop(self) -> None:
        """Close every connection (1001) and the listening socket, then end the thread."""
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=10 + self.close_timeout)
        self._thread = None

    def __enter__(self) -> "LocalCsms":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    async def _main(self, ready: concurrent.futures.Future) -> None:
        # asyncio.run() owns the loop, so leftover tasks are cancelled and the loop closed on exit.
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        try:
            server = await serve(self._handler, self.host, self.port, subprotocols=[SUBPROTOCOL],
                                 process_request=self._check_request, ping_interval=None,
                                 close_timeout=self.close_timeout, ssl=self.ssl_context)
        except Exception as exc:
            ready.set_exception(exc)
            return
        async with server:  # on exit: close connections with 1001 and wait for the handlers
            ready.set_result(server.sockets[0].getsockname()[1])
            await self._stopping.wait()

    # -- scripting ---------------------------------------------------------------------------

    def set_reply(self, action: str, reply: Any, cp_id: str | None = None) -> None:
        """Answer every later ``action`` CALL (from ``cp_id``, or anyone) with ``reply``.

        ``reply`` is a payload dict (sent as is, not validated, so tests can send bad ones),
        a callable ``(cp_id, payload) -> reply``, a ``CallErrorReply`` or ``NO_REPLY``.
        Callables run on the CSMS loop thread, so they must not block or use call().
        """
        with self._cond:
            self._replies[(cp_id, action)] = reply

    def queue_reply(self, action: str, reply: Any, cp_id: str | None = None) -> None:
        """Use ``reply`` once, before any set_reply()/default reply; queued replies are used FIFO."""
        with self._cond:
            self._queued[(cp_id, action)].append(reply)

    def _pick_reply(self, cp_id: str, action: str) -> Any:
        with self._cond:
            for key in ((cp_id, action), (None, action)):
                if self._queued[key]:
                    return self._queued[key].popleft()
            for key in ((cp_id, action), (None, action)):
                if key in self._replies:
                    return self._replies[key]
        return None

    def _default_reply(self, action: str) -> Any:
        if action == "BootNotification":
            return {"status": "Accepted", "interval": 300, "currentTime": utc_now()}
        if action == "Heartbeat":
            return {"currentTime": utc_now()}
        if action in ("Authorize", "StopTransaction"):
            return {"idTagInfo": {"status": "Accepted"}}
        if action == "StartTransaction":
            return {"transactionId": next(self._transaction_ids), "idTagInfo": {"status": "Accepted"}}
        if action in ("DataTransfer", "SignCertificate"):
            return {"status": "Accepted"}
        if action in _EMPTY_REPLY_ACTIONS:
            return {}
        return CallErrorReply("NotImplemented", f"LocalCsms has no reply for {action}")

    def sign_certificates(self, signer: Callable[[str, str], str] | None) -> None:
        """Be the CA of the charge points' client certificates: a SignCertificate.req answered
        Accepted is followed by a CertificateSigned.req carrying ``signer(cp_id, csr)`` (the PEM
        chain), sent from a thread of its own. The charge point's answers (a payload, or the
        exception) are in :attr:`certificates_signed`. None stops signing."""
        with self._cond:
            self._signer = signer

    @property
    def certificates_signed(self) -> list[tuple[str, Any]]:
        """(cp_id, CertificateSigned.conf payload or the exception) of every chain sent."""
        with self._cond:
            return list(self._signed)

    def wait_certificate_signed(self, count: int = 1, timeout: float = 5.0) -> Any:
        """Block until ``count`` CertificateSigned.req have been answered; the last outcome."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._signed) >= count, timeout):
                raise AssertionError(f"{len(self._signed)} CertificateSigned answered, not {count}, within {timeout} s")
            return self._signed[count - 1][1]

    def _send_signed_certificate(self, cp_id: str, csr: str) -> None:
        try:
            signer = self._signer
            assert signer is not None
            outcome: Any = self.call(cp_id, "CertificateSigned", {"certificateChain": signer(cp_id, csr)}, timeout=10)
        except Exception as exc:  # noqa: BLE001 - recorded for the test to look at
            outcome = exc
        self._record(self._signed, (cp_id, outcome))

    # -- recorded traffic ---------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self._cond:
            return list(self._received)

    @property
    def frames(self) -> list[Frame]:
        with self._cond:
            return list(self._frames)

    @property
    def failures(self) -> list[Failure]:
        with self._cond:
            return list(self._failures)

    @property
    def connections(self) -> list[Connection]:
        """Accepted connections, oldest first."""
        with self._cond:
            return list(self._connections)

    @property
    def rejected(self) -> list[Connection]:
        """Refused handshakes (bad credentials, missing ocpp1.6, no charge point id)."""
        with self._cond:
            return list(self._rejected)

    @property
    def closed(self) -> list[Closed]:
        """Connections that ended, oldest first, with the close frame the charge point sent."""
        with self._cond:
            return list(self._closed)

    def count(self, action: str, cp_id: str | None = None) -> int:
        with self._cond:
            return sum(1 for r in self._received if r.action == action and cp_id in (None, r.cp_id))

    def connected(self, cp_id: str) -> bool:
        with self._cond:
            return cp_id in self._live

    def wait_for(self, action: str, predicate: Callable[[Any], bool] | None = None, timeout: float = 5.0,
                 after: int = 0, cp_id: str | None = None) -> Received:
        """Block until a CALL ``action`` with index >= ``after`` (whose payload satisfies ``predicate``) arrives."""
        def match() -> Received | None:
            return next((r for r in self._received[after:] if r.action == action and cp_id in (None, r.cp_id)
                         and (predicate is None or predicate(r.payload))), None)
        with self._cond:
            found = self._cond.wait_for(match, timeout)
            if found is None:
                raise AssertionError(
                    f"no matching {action} within {timeout} s; received: "
                    f"{[(r.cp_id, r.action) for r in self._received]}; failures: "
                    f"{[(f.cp_id, f.action, repr(f.error)) for f in self._failures]}")
            return found

    def wait_frame(self, predicate: Callable[[str], bool], timeout: float = 5.0, after: int = 0,
                   cp_id: str | None = None) -> Frame:
        """Block until an incoming raw frame with index >= ``after`` in ``frames`` satisfies ``predicate(text)``."""
        def match() -> Frame | None:
            return next((f for f in self._frames[after:] if f.direction == "in" and cp_id in (None, f.cp_id)
                         and predicate(f.text)), None)
        with self._cond:
            found = self._cond.wait_for(match, timeout)
            if found is None:
                raise AssertionError(f"no matching frame within {timeout} s; incoming: "
                                     f"{[f.text for f in self._frames if f.direction == 'in']}")
            return found

    def wait_connected(self, cp_id: str, timeout: float = 5.0, count: int = 1) -> Connection:
        """Block until ``cp_id`` has connected ``count`` times in total; returns that connection."""
        def mine() -> list[Connection]:
            return [c for c in self._connections if c.cp_id == cp_id]
        with self._cond:
            if not self._cond.wait_for(lambda: len(mine()) >= count, timeout):
                raise AssertionError(f"{cp_id} connected {len(mine())} times, not {count}, within {timeout} s; "
                                     f"refused: {self._rejected}")
            return mine()[count - 1]

    def _record(self, items: list, item: Any) -> None:
        with self._cond:
            items.append(item)
            self._cond.notify_all()

    def _fail(self, cp_id: str, action: str | None, frame: str, error: Exception) -> None:
        log.warning("LocalCsms: bad frame from %s (%s): %s", cp_id, type(error).__name__, frame)
        self._record(self._failures, Failure(cp_id, action, frame, error, time.monotonic()))

    # -- CSMS-initiated traffic -------------------------------------------------------------

    def call(self, cp_id: str, action: str, payload: dict, timeout: float = 5.0) -> Any:
        """Send a validated CALL and return the result payload.

        Raises CsmsCallError on a CALLERROR, the library's OCPPError on a schema-invalid result,
        TimeoutError if no answer comes, ConnectionError if the charge point is (or gets) disconnected.
        """
        deadline = time.monotonic() + timeout
        unique_id = str(uuid.uuid4())
        # Validate a copy: the library may turn floats into Decimal, which would then be rounded.
        _validate_payload(Call(unique_id, action, copy.deepcopy(payload)), OCPP_VERSION)
        answer: concurrent.futures.Future = concurrent.futures.Future()
        with self._cond:
            ws = self._connection(cp_id)
            self._pending[unique_id] = (cp_id, action, ws, answer)
        try:
            self._submit(self._send(cp_id, ws, _dumps([Call.message_type_id, unique_id, action, payload])), timeout)
            return answer.result(max(0.0, deadline - time.monotonic()))
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"{cp_id} did not answer {action} within {timeout} s") from None
        finally:
            with self._cond:
                self._pending.pop(unique_id, None)

    def send_raw(self, cp_id: str, text: str, timeout: float = 5.0) -> None:
        """Send any text frame, e.g. garbage, to test the charge point's error handling."""
        with self._cond:
            ws = self._connection(cp_id)
        self._submit(self._send(cp_id, ws, text), timeout)

    def drop(self, cp_id: str, code: int = 1001, reason: str = "test drop") -> None:
        """Close the charge point's connection from the server side.

        Returns without waiting for the closing handshake: websocket-client peers may keep the
        TCP socket open until close_timeout, and tests should not pay for that.
        """
        with self._cond:
            ws = self._connection(cp_id)
            del self._live[cp_id]
        asyncio.run_coroutine_threadsafe(ws.close(code, reason), self._loop)

    def _connection(self, cp_id: str) -> ServerConnection:
        try:
            return self._live[cp_id]
        except KeyError:
            raise ConnectionError(f"{cp_id} is not connected to the LocalCsms") from None

    def _submit(self, coro, timeout: float) -> Any:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("blocking on the CSMS loop from its own thread (a reply callable?) would deadlock")
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)
        except ConnectionClosed as exc:
            raise ConnectionError(f"connection closed: {exc}") from exc

    # -- the server side (runs on the loop) -------------------------------------------------

    def _check_request(self, connection: ServerConnection, request):
        """Refuse the handshake before the upgrade: no charge point id, no ocpp1.6 offered, bad credentials."""
        cp_id = _cp_id(request.path)
        username, password = _credentials(request.headers)
        offered = [p.strip() for h in request.headers.get_all("Sec-WebSocket-Protocol") for p in h.split(",")]
        if not cp_id:
            status, text = HTTPStatus.NOT_FOUND, "no charge point id in the path"
        elif SUBPROTOCOL not in offered:
            status, text = HTTPStatus.BAD_REQUEST, f"subprotocol {SUBPROTOCOL} required"
        elif self.password is not None and (username != cp_id or password != self.password) \
                and _tls_of(connection)[1] is None:
            status, text = HTTPStatus.UNAUTHORIZED, "bad or missing credentials"
        else:
            return None
        self._record(self._rejected, Connection(cp_id, username, password, ", ".join(offered) or None,
                                                time.monotonic(), int(status), *_tls_of(connection)))
        response = connection.respond(status, text + "\n")
        if status == HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = build_www_authenticate_basic("ocpp")
        return response

    async def _handler(self, ws: ServerConnection) -> None:
        cp_id = _cp_id(ws.request.path)
        username, password = _credentials(ws.request.headers)
        with self._cond:
            self._live[cp_id] = ws
            self._connections.append(Connection(cp_id, username, password, ws.subprotocol, time.monotonic(),
                                                101, *_tls_of(ws)))
            self._cond.notify_all()
        try:
            while True:
                await self._on_frame_in(cp_id, ws, await ws.recv(decode=True))
        except ConnectionClosed:
            pass
        finally:
            received = ws.protocol.close_rcvd  # the frame the charge point sent, if any
            with self._cond:
                if self._live.get(cp_id) is ws:
                    del self._live[cp_id]
                self._closed.append(Closed(cp_id, received.code if received else None,
                                           received.reason if received else "", time.monotonic()))
                self._cond.notify_all()
                orphans = [answer for (_, _, sent_on, answer) in self._pending.values() if sent_on is ws]
            for answer in orphans:
                answer.set_exception(ConnectionError(f"{cp_id} disconnected before answering"))

    async def _send(self, cp_id: str, ws: ServerConnection, text: str) -> None:
        self._frame(cp_id, "out", text)  # recorded first, so the answer can never be listed before it
        await ws.send(text)

    def _frame(self, cp_id: str, direction: str, text: str) -> None:
        self._record(self._frames, Frame(cp_id, direction, text, time.monotonic()))
        if self.on_frame is not None:
            try:
                self.on_frame(cp_id, direction, text)
            except Exception:
                log.exception("LocalCsms: on_frame callback failed")

    async def _on_frame_in(self, cp_id: str, ws: ServerConnection, text: str) -> None:
        self._frame(cp_id, "in", text)
        try:
            message = unpack(text)
        except OCPPError as exc:
            self._fail(cp_id, None, text, exc)
            unique_id = _call_id(text)
            if unique_id is not None:
                await self._send(cp_id, ws, _error_frame(unique_id, exc))
            return
        if isinstance(message, Call):
            await self._on_call(cp_id, ws, message, text)
        else:
            self._on_answer(cp_id, message, text)

    async def _on_call(self, cp_id: str, ws: ServerConnection, call: Call, text: str) -> None:
        try:
            _validate_payload(Call(call.unique_id, call.action, copy.deepcopy(call.payload)), OCPP_VERSION)
        except Exception as exc:  # mostly OCPPError; a non-string action gives TypeError -> InternalError
            self._fail(cp_id, call.action, text, exc)
            await self._send(cp_id, ws, _error_frame(call.unique_id, exc))
            return
        self._record(self._received, Received(cp_id, call.unique_id, call.action, call.payload, text,
                                              time.monotonic()))
        reply = self._pick_reply(cp_id, call.action)
        if reply is None:
            reply = self._default_reply(call.action)
        if callable(reply):
            try:
                reply = reply(cp_id, call.payload)
            except Exception as exc:
                log.exception("LocalCsms: reply callable for %s failed", call.action)
                reply = CallErrorReply("InternalError", repr(exc))
        if reply is NO_REPLY:
            return
        if isinstance(reply, CallErrorReply):
            frame = _dumps([CallError.message_type_id, call.unique_id, reply.code, reply.description, {}])
        else:
            frame = _dumps([CallResult.message_type_id, call.unique_id, reply])
        await self._send(cp_id, ws, frame)
        if call.action == "SignCertificate" and self._signer is not None and isinstance(reply, dict) \
                and reply.get("status") == "Accepted":
            threading.Thread(target=self._send_signed_certificate, args=(cp_id, call.payload["csr"]),
                             name="LocalCsms-signer", daemon=True).start()

    def _on_answer(self, cp_id: str, message: CallResult | CallError, text: str) -> None:
        # Answers nobody waits for (late, or to send_raw() CALLs) are only kept in .frames.
        with self._cond:
            pending = self._pending.get(message.unique_id) if isinstance(message.unique_id, str) else None
            if pending is None or pending[0] != cp_id:
                return
            del self._pending[message.unique_id]
        _, action, _, answer = pending
        if isinstance(message, CallError):
            answer.set_exception(CsmsCallError(message.error_code, message.error_description,
                                               message.error_details))
            return
        try:
            _validate_payload(CallResult(message.unique_id, copy.deepcopy(message.payload), action), OCPP_VERSION)
        except Exception as exc:
            self._fail(cp_id, action, text, exc)
            answer.set_exception(exc)
            return
        answer.set_result(message.payload)
