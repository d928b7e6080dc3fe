"""A real mosquitto broker on loopback, for tests of the EVerest MQTT bus.

Why a real broker: what the bus contract promises (persistent sessions, QoS 1/2 messages queued
for an absent subscriber and kept across a broker restart) is the broker's behaviour, not ours;
only the broker can show it. Each :class:`Mosquitto` runs Debian's ``/usr/sbin/mosquitto`` on a
free 127.0.0.1 port with a generated config and its persistence file in its own directory, and
can be stopped (SIGTERM: the broker saves its state), killed (SIGKILL: it does not) and
restarted on the same port. Its process never outlives the object: :meth:`close` (and, as a
last resort, a finalizer) kills it.
"""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path

__all__ = ["BINARY", "Mosquitto", "free_port"]

BINARY = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


class Mosquitto:
    """One broker; ``port`` stays the same across restarts."""

    def __init__(self, directory: Path | None = None, port: int | None = None) -> None:
        self._owned = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="mosquitto-")) if directory is None else directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.config = self.directory / "mosquitto.conf"
        self.log = self.directory / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running else None  # type: ignore[union-attr]

    def start(self) -> Mosquitto:
        """Start the broker (with the state it saved, if any) and wait until it accepts TCP."""
        if self.running:
            raise RuntimeError("mosquitto is already running")
        self.config.write_text("\n".join((
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "set_tcp_nodelay true",  # as deploy/mosquitto.conf: no Nagle delay on small QoS 2 packets
            "persistence true",
            f"persistence_location {self.directory}/",
            "autosave_interval 1",
            f"user {getpass.getuser()}",  # only read when started as root: do not drop to 'mosquitto'
            "log_type error", "log_type warning", "log_type notice", "log_type information",
            "")))
        with self.log.open("ab") as log:
            process = subprocess.Popen([BINARY, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                                       stdin=subprocess.DEVNULL)
        self._process = process
        self._finalizer = weakref.finalize(self, _kill, process)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._accepts():
            if process.poll() is not None or time.monotonic() > deadline:
                _kill(process)
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"mosquitto did not start on port {self.port}:\n{tail}")
            time.sleep(0.02)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop it with ``sig`` (SIGTERM: it saves its state first) and wait; its exit code."""
        process = self._process
        if process is None or process.poll() is not None:
            return process.returncode if process is not None else 0
        process.send_signal(sig)
        try:
            return process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise

    def kill(self) -> int:
        """SIGKILL: what it had not saved yet is lost."""
        return self.stop(signal.SIGKILL)

    def restart(self, sig: int = signal.SIGTERM) -> Mosquitto:
        """Stop (if running) and start again on the same port."""
        self.stop(sig)
        return self.start()

    def close(self) -> None:
        """Kill the broker if it runs, and remove its directory if this object made it."""
        if self._process is not None:
            _kill(self._process)
        if self._finalizer is not None:
            self._finalizer.detach()
        if self._owned:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False
