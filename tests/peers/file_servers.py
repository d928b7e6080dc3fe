"""File servers on loopback for the firmware and log tests: HTTP(S) (``http.server``) and FTP
(pyftpdlib), each in a thread of its own, each able to fail its first transfers.

Both record what they were asked, so a test sees the attempts, and keep what was uploaded.
"""

from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, ClassVar

with warnings.catch_warnings():  # pyftpdlib still imports asyncore/asynchat (deprecated in 3.11)
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

if TYPE_CHECKING:
    import ssl
    from pathlib import Path

__all__ = ["FtpFileServer", "HttpFileServer", "Request"]

_ftp_log = logging.getLogger("pyftpdlib")
_ftp_log.setLevel(logging.WARNING)
if not _ftp_log.handlers:  # else pyftpdlib sets up its own stderr logging at INFO
    _ftp_log.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Request:
    """One request a server got: what, where, with which Authorization header, and its answer."""

    method: str
    path: str
    authorization: str | None
    status: int


class HttpFileServer:
    """Serves ``files`` (path → bytes) to GET and keeps PUT bodies in ``uploads``; the first
    ``fail_first`` requests are answered ``fail_status``. With ``tls`` (a server-side SSL
    context) it is HTTPS."""

    def __init__(self, files: dict[str, bytes] | None = None, *, fail_first: int = 0, fail_status: int = 503,
                 tls: ssl.SSLContext | None = None) -> None:
        self.files = dict(files or {})
        self.uploads: dict[str, bytes] = {}
        self.requests: list[Request] = []
        self.fail_first = fail_first
        self.fail_status = fail_status
        self._tls = tls
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        body = b""
        if method == "PUT":
            body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        with self._lock:
            failing = self.fail_first > 0
            if failing:
                self.fail_first -= 1
                status = self.fail_status
            elif method == "PUT":
                self.uploads[handler.path] = body
                status = 201
            else:
                status = 200 if handler.path in self.files else 404
            self.requests.append(Request(method, handler.path, handler.headers.get("Authorization"), status))
        payload = self.files.get(handler.path, b"") if status == 200 else b""  # noqa: PLR2004
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def start(self) -> HttpFileServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server._answer(self, "GET")

            def do_PUT(self) -> None:  # noqa: N802
                server._answer(self, "PUT")

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self._tls is not None:
            self._server.socket = self._tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="http-file-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class FtpFileServer:
    """An FTP server on loopback whose user ``user``/``password`` is at home in ``root`` (read
    and write); the first ``fail_first`` RETR or STOR commands are answered 451."""

    def __init__(self, root: Path, *, user: str = "cp", password: str = "secret", fail_first: int = 0) -> None:
        self.root = root
        self.user, self.password = user, password
        self.fail_first = fail_first
        self.commands: list[str] = []
        self._lock = threading.Lock()
        self._server: FTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"ftp://{self.user}:{self.password}@127.0.0.1:{self._server.address[1]}"

    def _allow(self, command: str) -> bool:
        with self._lock:
            self.commands.append(command)
            if self.fail_first > 0:
                self.fail_first -= 1
                return False
            return True

    def start(self) -> FtpFileServer:
        self.root.mkdir(parents=True, exist_ok=True)
        authorizer = DummyAuthorizer()
        authorizer.add_user(self.user, self.password, str(self.root), perm="elradfmwMT")
        server = self

        class Handler(FTPHandler):
            passive_ports: ClassVar = None

            def ftp_RETR(self, file: str) -> object:  # noqa: N802 - pyftpdlib's name
                if not server._allow("RETR"):
                    self.respond("451 Requested action aborted: test failure.")
                    return None
                return super().ftp_RETR(file)

            def ftp_STOR(self, file: str, mode: str = "w") -> object:  # noqa: N802
                if not server._allow("STOR"):
                    self.respond("451 Requested action aborted: test failure.")
                    return None
                return super().ftp_STOR(file, mode)

        Handler.authorizer = authorizer
        Handler.masquerade_address = None
        self._server = FTPServer(("127.0.0.1", 0), Handler)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, args=(self._server,), name="ftp-file-server",
                                        daemon=True)
        self._thread.start()
        return self

    def _serve(self, ftp: FTPServer) -> None:
        """pyftpdlib's loop is not thread-safe: it runs, and is closed, in this thread only."""
        try:
            while not self._stop.is_set():
                ftp.ioloop.loop(0.05, blocking=False)
        finally:
            ftp.close_all()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(5)
            self._thread = None
