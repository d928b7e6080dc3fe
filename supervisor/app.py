"""A running charge point: the context, the supervisor and its tree, started and stopped.

Used by the CLI, the demo, the tests and the benchmarks alike, so they all run the same
system; tests only swap in a manual clock.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actors.base import ActorContext, Directory
from actors.clock import SystemClock
from actors.trace import NO_TRACE, Trace
from messages.lifecycle import Ping
from messages.system import ResetKind
from supervisor.config import ConfigError, LiveConfig, load_charge_point_config
from supervisor.exit_codes import EXIT_GAVE_UP, EXIT_HARD_RESET
from supervisor.runtime import Supervisor
from supervisor.tree import FLAGS, child_specs

import pykka

if TYPE_CHECKING:

    from collections.abc import Callable

    from actors.base import SupervisedActor
    from actors.clock import Clock
    from actors.transport import Transport
    from supervisor.config import ChargePointConfig, ModuleConfig
    from supervisor.spec import SupFlags

__all__ = ["ChargePointApp"]

log = logging.getLogger("ocpp_cp")


def _software_version() -> str:
    try:
        return metadata.version("ocpp-chargepoint")
    except metadata.PackageNotFoundError:
        return "unknown"


SOFTWARE_VERSION = _software_version()


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Path) else value


class ChargePointApp:
    """The whole actor system of one charge point."""

    def __init__(self, options: ModuleConfig, config: ChargePointConfig, *, clock: Clock | None = None,
                 flags: SupFlags = FLAGS, transport: Transport | None = None,
                 evse_manager: tuple[type[SupervisedActor], dict[str, Any]] | None = None,
                 random_source: Callable[[], float] | None = None) -> None:
        self.directory = Directory()
        self.options = options
        clock = clock or SystemClock()
        trace = NO_TRACE
        if options["TracePath"]:
            trace = Trace.start(str(options["TracePath"]), clock, charge_point_id=config.charge_point_id,
                                software=SOFTWARE_VERSION, options={k: _plain(v) for k, v in options.options.items()},
                                config=config.as_dict())
        self.ctx = ActorContext(clock=clock, directory=self.directory, options=options, config=LiveConfig(config),
                                transport=transport, trace=trace, random=random_source or random.random,
                                request_reset=self._on_reset_requested)
        self._flags = flags
        self._evse_manager = evse_manager
        self._supervisor: pykka.ActorRef[Any] | None = None
        self.gave_up = threading.Event()
        self.give_up_reason = ""
        self.finished = threading.Event()
        """Set when the process should exit: the supervisor gave up, or a hard reset."""
        self.exit_code: int | None = None
        self.soft_resets = 0
        self._lifecycle = threading.Lock()
        """Start, stop and reset one at a time (a SIGTERM may come in the middle of a reset)."""
        self._stopped = False
        self.reset_done = threading.Event()
        """Set each time a reset has been carried out (a soft one: the new tree is up)."""

    def start(self, timeout: float = 120.0) -> None:
        """Start the tree in order; returns once every child has been started (or gave up)."""
        self._supervisor = Supervisor.start(child_specs(self.ctx, evse_manager=self._evse_manager), self._flags,
                                            directory=self.directory, clock=self.ctx.clock,
                                            on_give_up=self._on_give_up, activity=self.ctx.activity)
        try:
            self._supervisor.ask(Ping(), timeout=timeout)
        except pykka.ActorDeadError:
            pass  # it gave up while starting; gave_up says why
        gc.freeze()  # what start-up built lives as long as the process: full collections need not scan it

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the tree in reverse order (the CSMS link closes first); a reset that has not
        begun yet will not happen."""
        with self._lifecycle:
            self._stopped = True
            self._stop_tree(timeout)
        self.ctx.trace.close()

    def _stop_tree(self, timeout: float = 15.0) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is None:
            return
        try:
            supervisor.stop(block=True, timeout=timeout)
        except pykka.Timeout:
            log.error("the actor tree did not stop within %g s; going on without it", timeout)

    def _on_reset_requested(self, kind: ResetKind) -> None:
        """From the reset sequence's thread: the tree is stopped from another thread, since an
        actor cannot wait for its own supervisor to stop it."""
        threading.Thread(target=self._reset, args=(kind,), name=f"reset-{kind.value}", daemon=True).start()

    def _reset(self, kind: ResetKind) -> None:
        with self._lifecycle:
            if not self._stopped:
                self._reset_now(kind)

    def _reset_now(self, kind: ResetKind) -> None:
        self._stop_tree()
        if kind is ResetKind.HARD:
            log.warning("hard reset: exiting with %d for the service manager to start us again", EXIT_HARD_RESET)
            self.exit_code = EXIT_HARD_RESET
            self.reset_done.set()
            self.finished.set()
            return
        try:  # the persisted state, and any RebootRequired key, as a fresh start would load them
            self.ctx.config.replace(load_charge_point_config(self.options))
        except ConfigError as exc:
            log.error("soft reset: keeping the running config, the files do not load: %s", exc)
        self.soft_resets += 1
        log.warning("soft reset: restarting the actor tree (%d)", self.soft_resets)
        self.start()
        self.reset_done.set()

    def wait_quiet(self, timeout: float = 10.0) -> None:
        """Wait until every message told so far has been handled, and everything those
        handlers told too: no handler runs, every inbox is empty, and the count of handled
        messages did not move while we looked. For drivers that feed inputs one by one
        (replay, tests); only meaningful while no outside thread tells the actors anything."""
        deadline = time.monotonic() + timeout
        while True:
            busy, handled = self.ctx.activity.snapshot()
            if busy == 0 and self._inboxes_empty():
                busy_after, handled_after = self.ctx.activity.snapshot()
                if busy_after == 0 and handled_after == handled:
                    return
            if time.monotonic() > deadline:
                msg = f"the actor system did not become quiet within {timeout} s"
                raise TimeoutError(msg)
            time.sleep(0.0002)

    def _inboxes_empty(self) -> bool:
        for name in self.directory.names():
            ref = self.directory.get(name)
            if ref is not None and not ref.actor_inbox.empty():
                return False
        return True

    def ref(self, name: str) -> pykka.ActorRef[Any] | None:
        """The current incarnation of a named actor (for tests, benchmarks and the demo)."""
        return self.directory.get(name)

    def _on_give_up(self, reason: str) -> None:
        self.give_up_reason = reason
        self.exit_code = EXIT_GAVE_UP
        self.gave_up.set()
        self.finished.set()

    def __enter__(self) -> ChargePointApp:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
