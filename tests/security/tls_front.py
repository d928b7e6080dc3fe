"""A TLS terminator on loopback in front of a plain (ws://) CSMS, for the handshake failures
that only the server can cause: too old a TLS version, no common cipher, a client certificate
it does not accept.

Why not the scriptable CSMS's own TLS: asyncio closes the transport of a failed server
handshake without sending OpenSSL's alert, so the charge point sees a bare EOF and cannot tell
a version or cipher problem from a dropped connection. Here every connection gets a thread
that runs a blocking OpenSSL handshake, which does send its alert (as nginx, or any CSMS, does),
then pumps the bytes to and from the CSMS behind it. The context may be changed between
connections (``maximum_version``, ``set_ciphers``, ``load_verify_locations``).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Handshake", "TlsFront"]


@dataclass(frozen=True)
class Handshake:
    """One TLS handshake: (version, cipher, client CN) when it succeeded, else the error."""

    version: str | None = None
    cipher: str | None = None
    client_cn: str | None = None
    error: str | None = None


class TlsFront:
    """``wss://127.0.0.1:<port>/`` → TLS → ``127.0.0.1:<backend_port>`` in plain TCP."""

    def __init__(self, context: ssl.SSLContext, backend_port: int) -> None:
        self.context, self.backend_port = context, backend_port
        self.handshakes: list[Handshake] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="tls-front", daemon=True)

    @property
    def url(self) -> str:
        return f"wss://127.0.0.1:{self.port}/"

    def start(self) -> TlsFront:
        self._thread.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> TlsFront:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _keep(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
        return sock

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(self._keep(raw),), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            secure = self._keep(self.context.wrap_socket(raw, server_side=True))
        except (ssl.SSLError, OSError) as exc:
            self.handshakes.append(Handshake(error=f"{type(exc).__name__}: {exc}"))
            raw.close()
            return
        names = [value for rdn in (secure.getpeercert() or {}).get("subject", ()) for key, value in rdn
                 if key == "commonName"]
        cipher = secure.cipher()
        self.handshakes.append(Handshake(secure.version(), cipher[0] if cipher else None, names[0] if names else None))
        try:
            backend = self._keep(socket.create_connection(("127.0.0.1", self.backend_port)))
        except OSError:
            secure.close()
            return
        threading.Thread(target=self._pump, args=(backend, secure), daemon=True).start()
        self._pump(secure, backend)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            for chunk in _chunks(source):
                sink.sendall(chunk)
        for sock in (sink, source):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _chunks(sock: socket.socket) -> Iterator[bytes]:
    while chunk := sock.recv(65536):
        yield chunk
