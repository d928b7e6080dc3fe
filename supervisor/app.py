"""A running charge point: the context, the supervisor and its tree, started and stopped.

Used by the CLI, the demo, the tests and the benchmarks alike, so they all run the same
system; tests only swap in a manual clock.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from actors.base import ActorContext, Directory
from actors.clock import SystemClock
from supervisor.runtime import Supervisor
from supervisor.tree import FLAGS, child_specs

if TYPE_CHECKING:
    import pykka

    from actors.clock import Clock
    from supervisor.config import ChargePointConfig, ModuleConfig
    from supervisor.spec import SupFlags

__all__ = ["ChargePointApp"]

log = logging.getLogger("ocpp_cp")


class ChargePointApp:
    """The whole actor system of one charge point."""

    def __init__(self, options: ModuleConfig, config: ChargePointConfig, *, clock: Clock | None = None,
                 flags: SupFlags = FLAGS) -> None:
        self.directory = Directory()
        self.ctx = ActorContext(clock=clock or SystemClock(), directory=self.directory,
                                options=options, config=config)
        self._flags = flags
        self._supervisor: pykka.ActorRef[Any] | None = None
        self.gave_up = threading.Event()
        self.give_up_reason = ""

    def start(self) -> None:
        """Start the tree in order; returns once every child has been started."""
        self._supervisor = Supervisor.start(child_specs(self.ctx), self._flags, directory=self.directory,
                                            clock=self.ctx.clock, on_give_up=self._on_give_up)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the tree in reverse order (the CSMS link closes first)."""
        if self._supervisor is not None:
            self._supervisor.stop(block=True, timeout=timeout)
            self._supervisor = None

    def ref(self, name: str) -> pykka.ActorRef[Any] | None:
        """The current incarnation of a named actor (for tests, benchmarks and the demo)."""
        return self.directory.get(name)

    def _on_give_up(self, reason: str) -> None:
        self.give_up_reason = reason
        self.gave_up.set()

    def __enter__(self) -> ChargePointApp:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
