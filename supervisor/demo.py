"""``ocpp-cp demo``: the charge point with simulated EVSEs, scripted charging sessions and a
live table of every EVSE, against the bundled CSMS or an external one.

It runs the same ChargePointApp as ``ocpp-cp run``, in real time, from a throw-away
directory (database, message log, user config). The driver loop here steps the
:class:`SessionScript`, carries its commands to the simulator (and the CSMS, for remote
stops) and draws what the :class:`DemoObserver` collected; with ``--sessions`` it is also a
bounded end-to-end check of the CSMS.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from messages.csms import ConnectionChanged, GetLinkStats, RegistrationChanged
from messages.station import EvseStateChanged
from supervisor.config import load_charge_point_config, load_module_config
from supervisor.demo_csms import BundledCsms, csms_check
from supervisor.demo_script import Command, SessionScript, Timing
from supervisor.demo_view import (
    DemoObserver,
    HeldLogs,
    LineWriter,
    LiveScreen,
    Snapshot,
    TakeSnapshot,
    progress_line,
    table_lines,
)
from supervisor.exit_codes import EXIT_GAVE_UP, EXIT_SESSIONS_FAILED
from supervisor.sim_control import SimController

if TYPE_CHECKING:
    from supervisor.app import ChargePointApp

__all__ = ["DemoSettings", "run_demo"]

TICK_S = 0.1
DRAW_S = 0.3
OBSERVER = "demo-observer"
DEMO_KEYS = {"Core": {"MeterValueSampleInterval": 5, "TransactionMessageAttempts": 1}}
"""The demo's charge point config: MeterValues the CSMS can watch, and a refused transaction
message counts at once instead of after its retries. Left out when the operator names a
charge point config of their own (``--set ChargePointConfigPath=...``): theirs wins."""

log = logging.getLogger("ocpp_cp.demo")


@dataclass(frozen=True)
class DemoSettings:
    """What ``ocpp-cp demo`` was asked for."""

    evses: int = 4
    duration: float | None = None
    sessions: int | None = None
    """Sessions per EVSE before the demo ends and checks them; None repeats until stopped."""
    csms_url: str | None = None
    """An external CSMS; None starts the bundled one."""
    frames: bool = False
    overrides: tuple[str, ...] = ()
    charge_s: float = 15.0


class _StopRequest:
    """SIGINT/SIGTERM end the demo through an event, so that it always stops the same way."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._saved[signum] = signal.signal(signum, self._on_signal)
        return self

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stop(signal.Signals(signum).name)

    def stop(self, reason: str) -> None:
        self.reason = self.reason or reason
        self.event.set()

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)


def run_demo(settings: DemoSettings, out: TextIO | None = None) -> int:
    """Run the demo until it is stopped (or its sessions are done); returns the exit code.
    Raises ConfigError for a bad ``--set``."""
    out = out or sys.stdout
    with _StopRequest() as stop, tempfile.TemporaryDirectory(prefix="ocpp-cp-demo-") as workdir:
        say = LineWriter(out, lambda: stop.stop("its output was closed"))
        bundled = BundledCsms(say if settings.frames else None) if settings.csms_url is None else None
        if bundled is not None:
            bundled.server.start()
        try:
            url = settings.csms_url or bundled.server.url  # type: ignore[union-attr]
            user_config = Path(workdir) / "user_config.json"
            own_config = any(o.startswith("ChargePointConfigPath=") for o in settings.overrides)
            user_config.write_text(json.dumps({"Internal": {"CentralSystemURI": url}, **({} if own_config else DEMO_KEYS)}))
            trace = Path("ocpp-cp-traces") / f"demo-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
            options = load_module_config(None, [
                f"EvseCount={settings.evses}", f"DatabasePath={workdir}/db", f"MessageLogPath={workdir}/log",
                f"UserConfigPath={user_config}", f"TracePath={trace.resolve()}", *settings.overrides])
            config = load_charge_point_config(options)
            from supervisor.app import ChargePointApp  # deferred: the actors are heavy to import
            app = ChargePointApp(options, config)
            return _DemoRun(settings, app, bundled, url, out, say, stop).run()
        finally:
            if bundled is not None:
                bundled.server.stop()


class _DemoRun:
    """One run of the demo: the driver loop and what it shows."""

    def __init__(self, settings: DemoSettings, app: ChargePointApp, bundled: BundledCsms | None, url: str,
                 out: TextIO, say: LineWriter, stop: _StopRequest) -> None:
        self.settings, self.app, self.bundled, self.url, self.out, self.stop = settings, app, bundled, url, out, stop
        self.say = say
        self.evses = int(app.ctx.options["EvseCount"])
        self.cp_id = app.ctx.config.charge_point_id
        self.live = out.isatty() and not settings.frames
        self.timing = Timing(charge_s=settings.charge_s)
        self.script = SessionScript(self.evses, self.timing, sessions=settings.sessions,
                                    remote_stop=bundled is not None)
        self.sim = SimController(app.directory)
        self.snapshot = Snapshot(views={}, acknowledged={}, changes=[], registration="Unknown", connected=False)
        self.screen = LiveScreen(out)
        self._printed: dict[int, str] = {}
        self._held: HeldLogs | None = None

    def run(self) -> int:
        observer = DemoObserver.start()
        for event_type in (EvseStateChanged, RegistrationChanged, ConnectionChanged):
            self.app.directory.subscribe(event_type, OBSERVER)
        self.app.directory.register(OBSERVER, observer)
        with contextlib.ExitStack() as cleanup:  # unwinds in reverse: terminal first, observer last
            cleanup.callback(observer.stop)
            if self.live:
                self._held = cleanup.enter_context(HeldLogs())  # printed once the charge point stopped
            cleanup.callback(self.app.stop)
            if self.live:
                cleanup.callback(lambda: self.say("\n".join(self._final_table())))
                cleanup.callback(self.screen.close)
            else:
                self.say(f"CSMS {self.url} ({'bundled' if self.bundled else 'external'}); charge point "
                         f"{self.cp_id} with {self.evses} EVSE(s); Ctrl-C stops the demo")
            self.app.start()
            if self.live:
                self.screen.open()
            code, message = self._drive(observer)
        if code == 0:
            self.say(message)
        else:
            print(message, file=sys.stderr, flush=True)
        trace = self.app.ctx.options["TracePath"]
        if trace:
            print(f"demo: trace recorded in {trace}; `ocpp-cp replay {trace}` replays it", file=sys.stderr, flush=True)
        return code

    def _drive(self, observer: Any) -> tuple[int, str]:
        started = time.monotonic()
        sessions = self.settings.sessions
        deadline = started + self.timing.run_timeout_s(self.evses, sessions) if sessions else None
        end_at = started + self.settings.duration if self.settings.duration is not None else None
        next_draw, failures_logged = 0.0, 0
        while True:
            now = time.monotonic()
            self.snapshot = observer.ask(TakeSnapshot(), timeout=5)
            if not self.script.started and self.snapshot.registration == "Accepted":
                self.script.start(now)
            commands = self.script.step(now, self.snapshot.views, self.snapshot.acknowledged, self._link_idle)
            if sessions is not None and self.script.failures:
                return EXIT_SESSIONS_FAILED, f"ocpp-cp demo: {self.script.failures[0]}"
            for command in commands:
                self._carry_out(command)
            for failure in self.script.failures[failures_logged:]:  # the repeating demo carries on
                log.warning("%s", failure)
            failures_logged = len(self.script.failures)
            if self.live and now >= next_draw:
                self.screen.draw(self._screen_lines())
                next_draw = now + DRAW_S
            elif not self.live:
                self._print_changes()
            outcome = self._outcome(now, started, deadline, end_at)
            if outcome is not None:
                return outcome
            self.stop.event.wait(TICK_S)

    def _outcome(self, now: float, started: float, deadline: float | None,
                 end_at: float | None) -> tuple[int, str] | None:
        """How the run ends now, if it does: (exit code, the one line that says why)."""
        sessions = self.settings.sessions
        if self.app.gave_up.is_set():
            return EXIT_GAVE_UP, f"ocpp-cp demo: the supervisor gave up: {self.app.give_up_reason}"
        if sessions is not None and self.script.done and (self._settled() or now >= self.script.done_at + 3):
            missing = self.bundled and csms_check(self.bundled.server.received, self.bundled.issued, self.evses,
                                                  sessions)
            if missing:
                return EXIT_SESSIONS_FAILED, f"ocpp-cp demo: {missing}"
            return 0, (f"demo: {self.script.completed} session(s) on {self.evses} EVSE(s) started and stopped "
                       f"at the CSMS")
        if self.stop.event.is_set() or (end_at is not None and now >= end_at):
            why = f"stopped ({self.stop.reason})" if self.stop.event.is_set() else "ended (--duration is over)"
            if sessions is not None:
                return EXIT_SESSIONS_FAILED, f"ocpp-cp demo: {why} before the sessions were done: {self._unfinished()}"
            return 0, f"demo {why}: {self.script.completed} session(s) done"
        if deadline is not None and now >= deadline:
            return EXIT_SESSIONS_FAILED, f"ocpp-cp demo: {self._unfinished()} (timed out after {now - started:.0f} s)"
        return None

    def _settled(self) -> bool:
        """Every car has left (so the last lines show the EVSEs Available again)."""
        views = self.snapshot.views
        return all(not views[i].session_active for i in range(1, self.evses + 1) if i in views)

    def _unfinished(self) -> str:
        if not self.script.started:
            state = f"registration {self.snapshot.registration}" if self.snapshot.connected else "not connected"
            return f"the CSMS at {self.url} never accepted the BootNotification: {state}"
        return self.script.unfinished()

    def _link_idle(self) -> bool:
        """Nothing in flight, ready to go or waiting for a retry at the CSMS link."""
        try:
            stats = self.app.directory.ask("csms", GetLinkStats(), timeout=2)
        except Exception:  # noqa: BLE001 - restarting or stopping: not idle
            return False
        return not stats.busy and stats.queued == 0

    def _carry_out(self, command: Command) -> None:
        try:
            if command.action == "swipe":
                self.sim.swipe(command.evse_id, command.id_tag)
            elif command.action == "remote_stop":
                threading.Thread(target=self._remote_stop, args=(command,), daemon=True,
                                 name=f"demo-remote-stop-{command.evse_id}").start()
            else:
                getattr(self.sim, command.action)(command.evse_id)
        except RuntimeError as exc:  # the simulator is restarting; the script notices the lack of effect
            log.warning("EVSE %d: %s failed: %s", command.evse_id, command.action, exc)

    def _remote_stop(self, command: Command) -> None:
        """RemoteStopTransaction from the bundled CSMS; if it is refused, the driver unplugs."""
        assert self.bundled is not None
        try:
            answer = self.bundled.server.call(self.cp_id, "RemoteStopTransaction",
                                              {"transactionId": command.transaction_id}, timeout=10)
            if answer.get("status") == "Accepted":
                return
            log.warning("EVSE %d: RemoteStopTransaction %s; unplugging instead", command.evse_id, answer)
        except Exception as exc:  # noqa: BLE001 - the CSMS is stopping or the link is down
            if self.stop.event.is_set():
                return
            log.warning("EVSE %d: RemoteStopTransaction failed (%s); unplugging instead", command.evse_id, exc)
        try:
            self.sim.plug_out(command.evse_id)
        except RuntimeError:
            pass  # stopping

    # --- output ---------------------------------------------------------------------------

    def _screen_lines(self) -> list[str]:
        size = shutil.get_terminal_size((100, 30))
        snap, script = self.snapshot, self.script
        link = ("connected" if snap.connected else "not connected") + f", {snap.registration}"
        planned = f"/{self.evses * script.sessions}" if script.sessions else ""
        warning = self._held.lines[-1] if self._held is not None and self._held.lines else ""
        head = [f"ocpp-cp demo · charge point {self.cp_id} · {'bundled' if self.bundled else 'external'} "
                f"CSMS {self.url} ({link})",
                f"{datetime.now():%H:%M:%S} · sessions done {script.completed}{planned} · failed "
                f"{len(script.failures)} · Ctrl-C stops", ""]
        foot = ["", f"last warning: {warning}"] if warning else []
        table = self._table_lines(color=size.columns >= 60, width=size.columns,
                                  height=size.lines - len(head) - len(foot) - 1)
        return [line[:size.columns] if "\x1b" not in line else line for line in (*head, *table, *foot)]

    def _table_lines(self, *, color: bool, width: int, height: int | None) -> list[str]:
        return table_lines(self.snapshot.views, self.evses, width=width, height=height, color=color)

    def _final_table(self) -> list[str]:
        """The table left on the terminal: one screen if it fits, else every EVSE."""
        size = shutil.get_terminal_size((100, 30))
        lines = self._table_lines(color=False, width=size.columns, height=size.lines - 2)
        if lines[-1].startswith("… and "):
            lines = self._table_lines(color=False, width=size.columns, height=None)
        return lines

    def _print_changes(self) -> None:
        for at, view in self.snapshot.changes:
            line = progress_line(at, view)
            what = line.split(" ", 1)[1]
            if self._printed.get(view.evse_id) != what:
                self._printed[view.evse_id] = what
                self.say(line)
