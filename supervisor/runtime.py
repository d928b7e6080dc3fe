"""The supervisor actor: starts children in order, restarts them, stops them in reverse.

It reads like OTP's supervisor: child specs are data (:mod:`supervisor.spec`), decisions
are a pure function (:mod:`supervisor.engine`), and this actor only carries them out.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pykka

from actors.base import Activity
from messages.lifecycle import ChildExited, ExitReason, Ping, Pong
from supervisor.engine import EngineState, on_exit
from supervisor.spec import check_specs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from actors.base import Directory
    from actors.clock import Clock
    from supervisor.spec import ChildSpec, SupFlags

__all__ = ["Supervisor"]

log = logging.getLogger("ocpp_cp.supervisor")


class Supervisor(pykka.ThreadingActor):
    """One-for-one supervisor of the charge point's actors.

    Accepts (tell): :class:`ChildExited` from its children.
    Calls ``on_give_up(reason)`` once, from its own thread, after the restart intensity is
    exceeded and every child has been stopped.
    """

    use_daemon_thread = True

    def __init__(self, specs: Sequence[ChildSpec], flags: SupFlags, *, directory: Directory,
                 clock: Clock, on_give_up: Callable[[str], None], name: str = "supervisor",
                 activity: Activity | None = None) -> None:
        super().__init__()
        check_specs(specs, flags)
        self._specs = {spec.id: spec for spec in specs}
        self._order = [spec.id for spec in specs]
        self._directory = directory
        self._clock = clock
        self._on_give_up = on_give_up
        self._name = name
        self._engine = EngineState(flags)
        self._refs: dict[str, pykka.ActorRef[Any]] = {}
        self._stopping = False
        self._activity = activity or Activity()

    def on_start(self) -> None:
        self._directory.register(self._name, self.actor_ref)
        for child_id in self._order:
            self._start_child(child_id)

    def on_stop(self) -> None:
        self._stop_children()

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, ChildExited):
            self._activity.begin()
            try:
                self._on_child_exited(message)
            finally:
                self._activity.end()
            return None
        if isinstance(message, Ping):
            return Pong(actor_urn=self.actor_urn)  # answered once every child has been started
        msg = f"supervisor: unexpected {type(message).__name__}"
        raise TypeError(msg)

    def _start_child(self, child_id: str) -> None:
        spec = self._specs[child_id]
        try:
            ref = spec.start()
        except Exception as exc:  # noqa: BLE001 - counted like a crash, retried via a message
            log.exception("starting %s failed", child_id)
            self.actor_ref.tell(ChildExited(child_id=child_id, actor_urn="", reason=ExitReason.CRASH,
                                            detail=f"start: {exc}"))
            return
        self._refs[child_id] = ref
        self._directory.register(child_id, ref)
        self._await_ready(child_id, ref)

    def _await_ready(self, child_id: str, ref: pykka.ActorRef[Any]) -> None:
        """Wait until the child has finished its start (as OTP's start_link does), so the next
        child starts on a rebuilt predecessor. A failed start is reported by the child itself."""
        try:
            ref.ask(Ping(), timeout=self._specs[child_id].start_timeout)
        except pykka.ActorDeadError:
            log.debug("%s died while starting", child_id)
        except pykka.Timeout:
            log.error("%s did not finish starting within %g s", child_id, self._specs[child_id].start_timeout)

    def _on_child_exited(self, exited: ChildExited) -> None:
        current = self._refs.get(exited.child_id)
        stale = current is not None and exited.actor_urn and current.actor_urn != exited.actor_urn
        if self._stopping or stale or exited.child_id not in self._specs:
            return
        spec = self._specs[exited.child_id]
        if exited.reason is ExitReason.CRASH:
            log.error("%s crashed: %s", exited.child_id, exited.detail)
        self._engine, decision = on_exit(self._engine, spec, exited.reason, self._clock.monotonic())
        if decision.give_up:
            log.critical("supervisor giving up: %s", decision.reason)
            self._stop_children()
            self._on_give_up(decision.reason)
            return
        if decision.restart:
            log.info("restarting %s", exited.child_id)
            self._start_child(exited.child_id)
        else:
            self._refs.pop(exited.child_id, None)

    def _stop_children(self) -> None:
        """Stop every child in reverse start order, waiting at most its shutdown timeout."""
        self._stopping = True
        for child_id in reversed(self._order):
            ref = self._refs.pop(child_id, None)
            if ref is None:
                continue
            try:
                stopped = ref.stop(block=True, timeout=self._specs[child_id].shutdown)
            except pykka.Timeout:
                log.error("%s did not stop within %g s; abandoned", child_id,
                          self._specs[child_id].shutdown)
                continue
            if not stopped:
                log.debug("%s was already stopped", child_id)
