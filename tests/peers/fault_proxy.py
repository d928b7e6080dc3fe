"""A fault-injecting TCP proxy on loopback, placed between the charge point and the CSMS.

Why: reconnection, offline queueing and timeouts are only believable if the link breaks the way real
networks break it: reset connections, stalls that hold bytes, black holes that eat them, refused
connects. The proxy forwards raw bytes, so the websocket handshake and frames pass through untouched.

One daemon thread runs a selector loop over the listening socket and every connection pair. Fault
methods may be called from any thread: they queue a command, wake the loop and wait until it has run,
so once ``stall()`` returns no further byte is forwarded. Each direction holds at most about ``LIMIT``
bytes; a full buffer stops reading from its sender, so TCP back-pressure does the rest.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import random
import selectors
import socket
import struct
import threading
import time
from typing import Callable

LIMIT = 1 << 20
FAULTS = ("cut", "stall", "blackhole", "refuse")
READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


class _Flow:
    """One direction of a pair: bytes read from one socket, waiting to be written to the other."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.eof = False   # the sender sent FIN
        self.shut = False  # and we passed it on (only after the buffer drained)


class _Pair:
    """A client connection and its upstream connection to the CSMS (None while black-holed)."""

    def __init__(self, client: socket.socket, dead: bool) -> None:
        self.client, self.upstream = client, None
        self.connected = False  # upstream connect() finished
        self.dead = dead        # black-holed: read and discard, forever
        self.up, self.down = _Flow(), _Flow()


class FaultProxy:
    """TCP proxy from ``127.0.0.1:port`` to ``host:target_port`` with injectable faults.

    ``faults`` lists (time.monotonic(), name) for every fault and every "resume"; ``bytes_up`` and
    ``bytes_down`` count bytes delivered to the CSMS and to the client (not those held or discarded).
    """

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target_port, self.host = target_port, host
        self.port = self.connections = self.bytes_up = self.bytes_down = 0
        self.faults: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._commands: list[tuple[Callable[[], None], concurrent.futures.Future]] = []
        self._thread: threading.Thread | None = None
        self._running = self._stalled = self._blackholed = False
        self._pairs: list[_Pair] = []
        self._masks: dict[socket.socket, int] = {}
        self._listener: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def start(self) -> FaultProxy:
        """Listen on a free port (in the caller's thread, so errors raise here) and start the loop."""
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel.register(self._wake_r, READ)
        self._listen()
        self._running = True
        self._thread = threading.Thread(target=self._loop, name=f"FaultProxy-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Reset every connection, close every socket and join the loop thread."""
        if self._thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is already gone
            self._submit(lambda: setattr(self, "_running", False), None)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def cut(self) -> None:
        """Reset (RST) both sides of every current connection; new connections are still accepted."""
        self._submit(self._abort_all, "cut")

    def stall(self) -> None:
        """Hold all bytes, of current and new connections, until resume()."""
        self._submit(lambda: setattr(self, "_stalled", True), "stall")

    def blackhole(self) -> None:
        """Discard the bytes of current connections for good; accept new ones but never forward them."""
        self._submit(self._do_blackhole, "blackhole")

    def refuse(self) -> None:
        """Close the listening socket, so that connects get ECONNREFUSED."""
        self._submit(self._unlisten, "refuse")

    def resume(self) -> None:
        """End stall/blackhole/refuse: held bytes flow again in order; black-holed connections stay dead."""
        self._submit(self._do_resume, "resume")

    def random_fault(self, rng: random.Random) -> str:
        """Apply one fault chosen by ``rng`` and return its name; the caller resumes later."""
        name = rng.choice(FAULTS)
        getattr(self, name)()
        return name

    def _submit(self, fn: Callable[[], None], name: str | None) -> None:
        """Run ``fn`` on the loop thread (the only one touching sockets) and wait; re-raise its error."""
        done: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if not self._running:
                raise RuntimeError("FaultProxy is not running")
            self._commands.append((fn, done))
            if name:
                self.faults.append((time.monotonic(), name))
        with contextlib.suppress(OSError):  # the loop ended meanwhile; it failed our command
            self._wake_w.send(b"x")
        done.result(timeout=10)

    def _do_blackhole(self) -> None:
        self._blackholed = True
        for pair in self._pairs:
            pair.dead = True
            pair.up.buf.clear(), pair.down.buf.clear()

    def _do_resume(self) -> None:
        self._stalled = self._blackholed = False
        if self._listener is None:
            self._listen()

    def _listen(self) -> None:
        sock = socket.create_server(("127.0.0.1", self.port), backlog=64)  # sets SO_REUSEADDR on POSIX
        sock.setblocking(False)
        self.port, self._listener = sock.getsockname()[1], sock
        self._sel.register(sock, READ)

    def _unlisten(self) -> None:
        if self._listener is not None:
            self._sel.unregister(self._listener)
            self._listener.close()
            self._listener = None

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        self.connections += 1
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pair = _Pair(client, dead=self._blackholed)
        self._pairs.append(pair)
        if not pair.dead:  # a black hole never even reaches the CSMS
            up = pair.upstream = socket.socket()
            up.setblocking(False)
            up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if up.connect_ex((self.host, self.target_port)) not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                self._fail(pair, up, abort=True)

    def _fail(self, pair: _Pair, sock: socket.socket, abort: bool) -> None:
        """``sock`` failed, or hung up on a black hole: reset the pair. But a black hole stays one:
        if its CSMS side goes, the client hears nothing."""
        if pair.dead and sock is pair.upstream:
            self._drop(sock, abort)
            pair.upstream = None
        else:
            self._close(pair, abort=True)

    def _close(self, pair: _Pair, abort: bool) -> None:
        """Close both sockets of ``pair``; ``abort`` sends RST instead of FIN."""
        for sock in (pair.client, pair.upstream):
            if sock is not None:
                self._drop(sock, abort)
        pair.client = pair.upstream = None
        self._pairs.remove(pair)

    def _drop(self, sock: socket.socket, abort: bool) -> None:
        if self._masks.pop(sock, 0):
            self._sel.unregister(sock)
        if abort:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    def _abort_all(self) -> None:
        for pair in list(self._pairs):
            self._close(pair, abort=True)

    def _loop(self) -> None:
        try:
            while self._running:
                for pair in list(self._pairs):
                    self._service(pair)
                for key, mask in self._sel.select():
                    if key.fileobj is self._wake_r:
                        self._run_commands()
                    elif key.fileobj is self._listener:
                        self._accept()
                    elif key.data and key.fileobj in (key.data.client, key.data.upstream):
                        self._event(key.data, key.fileobj, mask)  # (skip keys closed earlier in the batch)
        finally:
            with self._lock:
                self._running = False
                commands, self._commands = self._commands, []
            for _, done in commands:
                done.set_exception(RuntimeError("FaultProxy stopped"))
            self._abort_all()
            self._unlisten()
            self._sel.close()
            self._wake_r.close()
            self._wake_w.close()

    def _run_commands(self) -> None:
        self._wake_r.recv(4096)
        with self._lock:
            commands, self._commands = self._commands, []
        for fn, done in commands:
            try:
                fn()
                done.set_result(None)
            except Exception as exc:  # e.g. resume() could not listen again
                done.set_exception(exc)

    def _event(self, pair: _Pair, sock: socket.socket, mask: int) -> None:
        if mask & WRITE and sock is pair.upstream and not pair.connected:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                return self._fail(pair, sock, abort=True)
            pair.connected = True
        if not mask & READ:
            return  # writable: _service() writes on the next turn
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = None  # reset by the peer
        if data is None or (pair.dead and not data):
            self._fail(pair, sock, abort=data is None)
        elif not data:
            (pair.up if sock is pair.client else pair.down).eof = True
        elif not pair.dead:  # else it falls into the black hole
            (pair.up if sock is pair.client else pair.down).buf += data

    def _service(self, pair: _Pair) -> None:
        """Forward what may be forwarded, pass FINs on, then tell the selector what to wait for."""
        forwarding = pair.connected and not pair.dead and not self._stalled
        for flow, dst, counter in ((pair.up, pair.upstream, "bytes_up"), (pair.down, pair.client, "bytes_down")):
            if not forwarding:
                break
            try:
                if flow.buf:
                    sent = dst.send(flow.buf)
                    del flow.buf[:sent]
                    setattr(self, counter, getattr(self, counter) + sent)
                if flow.eof and not flow.buf and not flow.shut:
                    dst.shutdown(socket.SHUT_WR)
                    flow.shut = True
            except BlockingIOError:
                pass
            except OSError:
                return self._close(pair, abort=True)
        if pair.up.shut and pair.down.shut:
            return self._close(pair, abort=False)
        for sock, inflow, outflow in ((pair.client, pair.up, pair.down), (pair.upstream, pair.down, pair.up)):
            if sock is None:
                continue
            # A black hole keeps reading (and dropping) so that it notices when the client gives up.
            readable = (sock is pair.client or pair.connected) and (pair.dead or not inflow.eof)
            mask = READ if readable and (pair.dead or len(inflow.buf) < LIMIT) else 0
            if (sock is pair.upstream and not pair.connected) or (forwarding and outflow.buf):
                mask |= WRITE
            if mask != self._masks.get(sock, 0):
                if self._masks.pop(sock, 0):
                    self._sel.unregister(sock)
                if mask:
                    self._masks[sock] = mask
                    self._sel.register(sock, mask, pair)
