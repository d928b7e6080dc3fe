"""Python handle on the strict OCPP 1.6 CSMS peer in ``strict_csms/bridge.js``.

Why: ocpp-rpc (Node) validates every frame in strict mode against its own schemas, independent of the
Python ``ocpp`` package the charge point is built on. Tests run the charge point against this peer and
finish with ``assert_no_strict_failures()``.

The bridge talks JSON lines: events on its stdout, commands on its stdin (protocol described at the top
of bridge.js). A reader thread appends every event to ``events``; waiting helpers block on a condition.

TLS (security profiles 2 and 3): give ``tls_cert`` (the server's PEM chain) and ``tls_key``; the URL is
then ``wss://``. ``tls_client_ca`` asks for client certificates from that CA (a verified one stands in
for the password), ``require_client_cert`` refuses the handshake without one. ``connected`` events carry
``tls`` ([version, cipher]), ``clientCn`` and ``clientSerial`` (hex, upper case).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

BRIDGE_DIR = Path(__file__).resolve().parent / "strict_csms"
NPM_CI_HINT = "npm ci --prefix tests/peers/strict_csms"
START_TIMEOUT = 15.0
# Extra time granted on top of a call's own timeout for the bridge to report it.
CALL_REPORT_MARGIN = 2.0

Event = dict[str, Any]
Predicate = Callable[[Any], bool]


class CsmsCallError(Exception):
    """A call made by the CSMS to the charge point failed.

    ``kind`` says why: "callerror" (the charge point answered with a CALLERROR ``code``), "strict" (its
    answer violated the schema, ``code`` is ocpp-rpc's violation code) or "local" (not connected, timeout,
    disconnect; ``code`` is None).
    """

    def __init__(self, action: str, kind: str, code: str | None, description: str, details: Any):
        super().__init__(f"{action} failed ({kind}): {code} {description}".strip())
        self.action = action
        self.kind = kind
        self.code = code
        self.description = description
        self.details = details


class StrictCsms:
    """Runs ``node bridge.js`` as a subprocess and exposes its events and commands."""

    def __init__(self, password: str | None = None, *, tls_cert: str | os.PathLike[str] | None = None,
                 tls_key: str | os.PathLike[str] | None = None,
                 tls_client_ca: str | os.PathLike[str] | None = None, require_client_cert: bool = False):
        self.password = password
        self.tls = {"STRICT_CSMS_TLS_CERT": tls_cert, "STRICT_CSMS_TLS_KEY": tls_key,
                    "STRICT_CSMS_TLS_CLIENT_CA": tls_client_ca,
                    "STRICT_CSMS_TLS_REQUIRE_CLIENT_CERT": "1" if require_client_cert else None}
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._events: list[Event] = []
        self._stderr_lines: list[str] = []
        self._condition = threading.Condition()
        self._write_lock = threading.Lock()
        self._reader_threads: list[threading.Thread] = []
        self._call_ids = itertools.count(1)

    # ----------------------------------------------------------------------------------------- lifecycle

    def start(self, port: int = 0) -> StrictCsms:
        """Spawn the bridge and wait until it listens; ``port`` 0 lets it pick a free port."""
        if self._process is not None:
            raise RuntimeError("StrictCsms already started")
        if not (BRIDGE_DIR / "node_modules" / "ocpp-rpc").is_dir():
            raise RuntimeError(f"ocpp-rpc is not installed for the strict CSMS peer; run `{NPM_CI_HINT}`")
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("`node` is not on PATH; the strict CSMS peer needs Node.js")
        env = dict(os.environ)
        env.pop("STRICT_CSMS_PASSWORD", None)
        if self.password is not None:
            env["STRICT_CSMS_PASSWORD"] = self.password
        for name, value in self.tls.items():
            env.pop(name, None)
            if value is not None:
                env[name] = str(value)
        self._process = subprocess.Popen(
            [node, str(BRIDGE_DIR / "bridge.js"), str(port)],
            cwd=BRIDGE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._reader_threads = [
            threading.Thread(target=self._read_events, name="strict-csms-events", daemon=True),
            threading.Thread(target=self._read_stderr, name="strict-csms-stderr", daemon=True),
        ]
        for thread in self._reader_threads:
            thread.start()
        try:
            listening = self._wait(lambda event: event["ev"] == "listening", START_TIMEOUT, stop_on_exit=True)
        except BaseException:
            self.stop()
            raise
        if listening is None:
            stderr = "".join(self._stderr_lines)
            self.stop()
            raise RuntimeError(f"strict CSMS bridge did not start within {START_TIMEOUT}s; stderr:\n{stderr}")
        self.port = listening["port"]
        return self

    def stop(self) -> None:
        """Ask the bridge to quit, then terminate/kill it; never leaves a node process behind."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                with self._write_lock:
                    process.stdin.write(json.dumps({"quit": True}) + "\n")
                    process.stdin.close()
            except (OSError, ValueError):
                pass  # the bridge already went away; the waits below reap it
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for thread in self._reader_threads:
            thread.join(timeout=2)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream and not stream.closed:
                try:
                    stream.close()
                except OSError:
                    pass
        self._process = None

    def __enter__(self) -> StrictCsms:
        if self._process is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL; the charge point appends its identity."""
        if self.port is None:
            raise RuntimeError("StrictCsms not started")
        scheme = "wss" if self.tls["STRICT_CSMS_TLS_CERT"] is not None else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    # ------------------------------------------------------------------------------------------- events

    @property
    def events(self) -> list[Event]:
        """Snapshot of every event received so far, in order."""
        with self._condition:
            return list(self._events)

    def calls_in(self, action: str | None = None, cp: str | None = None) -> list[Event]:
        """``call_in`` events (CALLs sent by charge points), optionally filtered."""
        return [
            event
            for event in self.events
            if event["ev"] == "call_in"
            and (action is None or event["action"] == action)
            and (cp is None or event["cp"] == cp)
        ]

    @property
    def strict_failures(self) -> list[Event]:
        return [event for event in self.events if event["ev"] == "strict_fail"]

    @property
    def bad_messages(self) -> list[Event]:
        return [event for event in self.events if event["ev"] == "bad_message"]

    def assert_no_strict_failures(self) -> None:
        """Fail if any frame violated the OCPP 1.6 schemas or could not be parsed as OCPP-J.

        Unparseable frames count too: they are as much a protocol violation as a schema failure.
        """
        violations = self.strict_failures + self.bad_messages
        if violations:
            lines = "\n".join(json.dumps(event, sort_keys=True) for event in violations)
            raise AssertionError(f"{len(violations)} strict OCPP violation(s):\n{lines}")

    def wait_for(
        self,
        action: str,
        predicate: Predicate | None = None,
        timeout: float = 5.0,
        cp: str | None = None,
        after: int = 0,
    ) -> dict[str, Any]:
        """Wait for a CALL ``action`` from a charge point and return its params.

        ``predicate`` is applied to the params; ``after`` skips events before that index of ``events``
        (pass ``len(csms.events)`` to wait for a new message).
        """

        def matches(event: Event) -> bool:
            return (
                event["ev"] == "call_in"
                and event["action"] == action
                and (cp is None or event["cp"] == cp)
                and (predicate is None or predicate(event["params"]))
            )

        event = self._wait(matches, timeout, after=after)
        if event is None:
            raise AssertionError(f"no {action} call{f' from {cp}' if cp else ''} within {timeout}s; {self._summary()}")
        return event["params"]

    def wait_event(
        self, ev: str, predicate: Predicate | None = None, timeout: float = 5.0, after: int = 0
    ) -> Event:
        """Wait for an event of type ``ev`` (e.g. "connected", "closed") matching ``predicate``."""
        event = self._wait(
            lambda event: event["ev"] == ev and (predicate is None or predicate(event)), timeout, after=after
        )
        if event is None:
            raise AssertionError(f"no {ev!r} event within {timeout}s; {self._summary()}")
        return event

    # ----------------------------------------------------------------------------------------- commands

    def call(self, cp: str, action: str, params: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Make the CSMS send ``action`` to charge point ``cp``; return the result or raise CsmsCallError."""
        call_id = next(self._call_ids)
        self._send({"id": call_id, "cp": cp, "call": action, "params": params, "timeoutMs": int(timeout * 1000)})
        outcome = self._wait(
            lambda event: event["ev"] in ("call_result", "call_error") and event.get("id") == call_id,
            timeout + CALL_REPORT_MARGIN,
        )
        if outcome is None:
            raise AssertionError(f"bridge never reported the outcome of {action} to {cp}; {self._summary()}")
        if outcome["ev"] == "call_error":
            raise CsmsCallError(
                action, outcome["kind"], outcome["code"], outcome.get("description", ""), outcome.get("details")
            )
        return outcome["result"]

    def set_reply(self, cp: str, action: str, payload: dict[str, Any] | None) -> None:
        """Override the CSMS answer to ``action`` from ``cp``.

        ``payload`` is sent as the CALLRESULT; ``{"__callerror": "InternalError"}`` answers with that
        CALLERROR (optional "description"/"details" keys), ``{"__noreply": True}`` never answers,
        ``None`` restores the default answer. Overrides survive reconnects and may be set before connecting.
        """
        self._send({"cp": cp, "reply": {action: payload}})

    def drop(self, cp: str, force: bool = False) -> None:
        """Close the connection of ``cp`` (``force`` cuts the TCP connection without a close frame)."""
        self._send({"cp": cp, "drop": True, "force": force})

    # ---------------------------------------------------------------------------------------- internals

    def _send(self, command: dict[str, Any]) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            raise RuntimeError(f"strict CSMS bridge is not running; stderr:\n{''.join(self._stderr_lines)}")
        with self._write_lock:
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()

    def _read_events(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = {"ev": "unparsed_output", "line": line.rstrip("\n")}
            with self._condition:
                self._events.append(event)
                self._condition.notify_all()
        with self._condition:
            self._condition.notify_all()

    def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr_lines.append(line)

    def _wait(
        self, matches: Callable[[Event], bool], timeout: float, after: int = 0, stop_on_exit: bool = False
    ) -> Event | None:
        """Return the first event at index >= ``after`` that ``matches``, or None on timeout."""
        deadline = time.monotonic() + timeout
        with self._condition:
            checked = after
            while True:
                for event in self._events[checked:]:
                    if matches(event):
                        return event
                checked = max(checked, len(self._events))
                remaining = deadline - time.monotonic()
                exited = self._process is None or self._process.poll() is not None
                if remaining <= 0 or (stop_on_exit and exited):
                    return None
                self._condition.wait(min(remaining, 0.2) if stop_on_exit else remaining)

    def _summary(self) -> str:
        events = self.events
        if not events:
            return "no events arrived"
        shown = "\n  ".join(json.dumps(event)[:300] for event in events[-30:])
        return f"{len(events)} event(s) arrived (last {min(len(events), 30)}):\n  {shown}"
