"""How the CSMS link reaches the CSMS: a websocket in production, a script in replay.

The link asks its transport to open a connection attempt and is told what happens through
``deliver`` (SocketOpened, FrameReceived, SocketClosed, each tagged with the attempt), from
whatever thread the transport uses. It never blocks on the transport.

TLS (``wss://``, security profiles 2 and 3) belongs to the websocket transport alone: the link
gives it a function that makes the :class:`actors.tls.TlsSettings` of an attempt, so the
``Transport`` protocol stays as it is and a replay, which has no sockets and no certificate
files, never builds any. A failed handshake ends the attempt with a reason made by
:func:`actors.tls.failure_reason`, which says which security event it is.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

import websocket

from actors.tls import TlsSettingsError, failure_reason
from messages.csms import FrameReceived, SocketClosed, SocketOpened

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from actors.tls import TlsSettings

__all__ = ["Connection", "RefusedAttempt", "Transport", "WebSocketTransport"]

ABORT_PATIENCE_S = 30.0
"""How long an abort waits for a still-connecting attempt's socket to appear."""
PONG_TIMEOUT_S = 5
"""Seconds to wait for a pong after a ping before the link counts as dead (WebsocketPongTimeout)."""


class Connection(Protocol):
    """One connection attempt, as the link sees it."""

    def send(self, text: str) -> None:
        """Send one text frame; raises ``ConnectionError`` when it cannot."""
        ...

    def close(self) -> None:
        """Close cleanly (status 1000); the attempt then ends with SocketClosed."""
        ...

    def abort(self) -> None:
        """Give up a handshake that hangs; the attempt then ends with SocketClosed."""
        ...


class Transport(Protocol):
    """Opens connection attempts."""

    def open(self, url: str, *, attempt: int, headers: Sequence[str], ping_interval: int,
             deliver: Callable[[object], None]) -> Connection: ...


class RefusedAttempt:
    """An attempt that could not even start (settings that make no URL or no TLS context): it
    ends at once, through ``deliver`` like any other, so the link handles it as a failed attempt."""

    def __init__(self, attempt: int, reason: str, deliver: Callable[[object], None]) -> None:
        deliver(SocketClosed(attempt=attempt, reason=reason))

    def send(self, text: str) -> None:
        msg = "not connected"
        raise ConnectionError(msg)

    def close(self) -> None:
        """Nothing to close: the attempt has ended."""

    abort = close


class _WebSocketConnection:
    def __init__(self, app: websocket.WebSocketApp, runner: threading.Thread) -> None:
        self._app = app
        self._runner = runner

    def send(self, text: str) -> None:
        try:
            self._app.send(text)
        except (websocket.WebSocketException, OSError) as exc:
            raise ConnectionError(str(exc)) from exc

    def close(self) -> None:
        """Say goodbye (close frame 1000) and end the socket at once. websocket-client's own
        close waits up to 3 s for the CSMS's close frame, racing the reader thread for it,
        and would block the link's actor that long."""
        self._app.keep_running = False
        sock = self._app.sock
        if sock is None:
            return
        try:
            sock.send_close(status=1000, reason=b"charge point stopping")
        except (websocket.WebSocketException, OSError):
            pass  # already gone
        raw = getattr(sock, "sock", None)
        if raw is not None:
            try:
                raw.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def abort(self) -> None:
        """End a hanging attempt. Its TCP socket may not exist yet (still connecting): then keep
        trying until it does or the attempt ends by itself, from a thread of its own."""
        def shut_down_when_there() -> None:
            deadline = time.monotonic() + ABORT_PATIENCE_S
            while self._runner.is_alive() and time.monotonic() < deadline:
                raw = getattr(self._app.sock, "sock", None)
                if raw is not None:
                    try:  # SHUT_RDWR wakes the thread blocked in the handshake; a close alone would not
                        raw.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass  # already gone
                    return
                time.sleep(0.02)

        threading.Thread(target=shut_down_when_there, name="websocket-abort", daemon=True).start()


class WebSocketTransport:
    """websocket-client, subprotocol ocpp1.6, one thread per connection attempt, with our own
    reconnect loop in the link (the library's own reconnect hides disconnects).

    Args:
        tls: makes the TLS settings of a ``wss://`` attempt (called in the caller's thread when
            the attempt opens; raises :class:`actors.tls.TlsSettingsError`). None: websocket-
            client's defaults (the system CA store), for tools that are no charge point.
    """

    def __init__(self, tls: Callable[[], TlsSettings] | None = None) -> None:
        self._tls = tls

    def open(self, url: str, *, attempt: int, headers: Sequence[str], ping_interval: int,
             deliver: Callable[[object], None]) -> Connection:
        sslopt: dict[str, Any] | None = None
        if url.lower().startswith("wss://") and self._tls is not None:
            try:
                sslopt = self._tls().sslopt()
            except TlsSettingsError as exc:
                return RefusedAttempt(attempt, f"TLS settings: {exc}", deliver)
            except Exception as exc:  # noqa: BLE001 - a file we cannot use must not take the link down
                return RefusedAttempt(attempt, f"TLS settings: {type(exc).__name__}: {exc}", deliver)
        status: dict[str, Any] = {}
        sockets: list[websocket.WebSocket] = []

        def on_error(_app: Any, error: Exception) -> None:
            status.setdefault("reason", failure_reason(error))
            status.setdefault("http", getattr(error, "status_code", None))

        def on_close(_app: Any, code: int | None, reason: str | None) -> None:
            if code is not None:
                status.setdefault("reason", f"closed by CSMS: code {code} {reason or ''}".strip())

        def on_open(app: websocket.WebSocketApp) -> None:
            sock = app.sock
            if sock is None:
                return  # closed again before we heard it opened: the attempt ends with SocketClosed
            sockets.append(sock)
            deliver(SocketOpened(attempt=attempt, subprotocol=sock.getsubprotocol() or ""))

        app = websocket.WebSocketApp(
            url, header=list(headers), subprotocols=["ocpp1.6"], on_open=on_open,
            on_message=lambda _a, text: deliver(FrameReceived(attempt=attempt, text=text)),
            on_error=on_error, on_close=on_close)

        def run() -> None:
            try:
                app.run_forever(ping_interval=ping_interval,
                                ping_timeout=min(PONG_TIMEOUT_S, ping_interval - 1) if ping_interval > 1 else None,
                                sslopt=sslopt)
            finally:
                try:
                    for sock in sockets:
                        sock.shutdown()  # websocket-client keeps the TCP socket after a server close
                finally:  # whatever happened, the link must hear that this attempt is over
                    deliver(SocketClosed(attempt=attempt, reason=status.get("reason", "connection ended"),
                                         http_status=status.get("http")))

        runner = threading.Thread(target=run, name=f"websocket-{attempt}", daemon=True)
        runner.start()
        return _WebSocketConnection(app, runner)
