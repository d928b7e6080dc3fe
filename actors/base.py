"""What every actor of the charge point shares: the context it is given, the directory of
its peers, and the base class that reports its exits to the supervisor.

Actors find each other by name through the :class:`Directory`, never by a stored
``ActorRef``: after a restart a peer has a new reference under the same name.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pykka

from actors.trace import NO_TRACE, TracedTarget
from messages.lifecycle import ChildExited, ExitReason, InjectCrash, Ping, Pong

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from actors.clock import Clock, TimerHandle
    from actors.transport import Transport
    from messages.system import ResetKind
    from supervisor.config import LiveConfig, ModuleConfig

__all__ = ["ActorContext", "Activity", "Directory", "SupervisedActor"]

log = logging.getLogger(__name__)


class Activity:
    """How many messages are being handled now, and how many have been handled so far.

    The actor system is quiet when no handler runs, every inbox is empty, and the count did
    not move while we looked (see ``ChargePointApp.wait_quiet``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = 0
        self._handled = 0

    def begin(self) -> None:
        with self._lock:
            self._busy += 1

    def end(self) -> None:
        with self._lock:
            self._busy -= 1
            self._handled += 1

    def snapshot(self) -> tuple[int, int]:
        """(handlers running, messages handled)."""
        with self._lock:
            return self._busy, self._handled


class Directory:
    """Current reference of every named actor, and who subscribed to which event type.

    Written by the supervisor (register on start, unregister on exit); read by actors from
    their own threads. Subscriptions are by name, so they survive restarts.
    """

    def __init__(self) -> None:
        self._refs: dict[str, pykka.ActorRef[Any]] = {}
        self._subscribers: dict[type, list[str]] = defaultdict(list)
        self._lock = threading.Lock()

    def register(self, name: str, ref: pykka.ActorRef[Any]) -> None:
        with self._lock:
            self._refs[name] = ref

    def unregister(self, name: str, actor_urn: str) -> None:
        """Forget ``name`` only if it still points to that incarnation."""
        with self._lock:
            ref = self._refs.get(name)
            if ref is not None and ref.actor_urn == actor_urn:
                del self._refs[name]

    def get(self, name: str) -> pykka.ActorRef[Any] | None:
        with self._lock:
            return self._refs.get(name)

    def names(self, prefix: str = "") -> list[str]:
        with self._lock:
            return sorted(n for n in self._refs if n.startswith(prefix))

    def tell(self, name: str, message: object) -> bool:
        """Send to the named actor; False (and a log line) when it is not running now."""
        ref = self.get(name)
        if ref is None:
            log.warning("no actor %s to take %s", name, type(message).__name__)
            return False
        try:
            ref.tell(message)
        except pykka.ActorDeadError:
            log.warning("actor %s died before taking %s", name, type(message).__name__)
            return False
        return True

    def ask(self, name: str, message: object, timeout: float = 5.0) -> Any:
        """Query the named actor and wait for its reply (every ask has a timeout)."""
        ref = self.get(name)
        if ref is None:
            msg = f"no actor {name}"
            raise pykka.ActorDeadError(msg)
        return ref.ask(message, timeout=timeout)

    def subscribe(self, event_type: type, name: str) -> None:
        with self._lock:
            if name not in self._subscribers[event_type]:
                self._subscribers[event_type].append(name)

    def publish(self, event: object) -> None:
        """Tell ``event`` to every actor subscribed to its type."""
        with self._lock:
            names = list(self._subscribers.get(type(event), ()))
        for name in names:
            self.tell(name, event)


@dataclass(frozen=True, kw_only=True)
class ActorContext:
    """Everything an actor is given at start instead of reaching for globals."""

    clock: Clock
    directory: Directory
    options: ModuleConfig
    """The module options (the seed's and ours)."""
    config: LiveConfig
    """The charge point configuration (OCPP keys): the current snapshot, changed only by the
    Configuration actor (see :class:`supervisor.config.LiveConfig`)."""
    crash_on_start: set[str] = field(default_factory=set)
    """Test hook: names whose next incarnation fails in ``on_start``."""
    transport: Transport | None = None
    """How the CSMS link reaches the CSMS; None = a real websocket."""
    random: Callable[[], float] = field(default=random.random)
    """The random source (reconnect jitter); injected, like the clock, so a replay draws the same."""
    trace: Any = NO_TRACE
    """Where edge inputs are recorded (:class:`actors.trace.Trace`); off by default."""
    activity: Activity = field(default_factory=lambda: Activity())
    """Counts handled messages, so a driver (replay, tests) can tell when the system is quiet."""
    request_reset: Callable[[ResetKind], None] = field(default=lambda kind: None)
    """Hands a reset over to the process (the app restarts the tree, or exits for a hard one);
    called from an actor's thread, so it must not wait for the tree to stop."""


class SupervisedActor(pykka.ThreadingActor):
    """Base of every actor: table dispatch, and exit reports to the supervisor.

    Subclasses set ``HANDLERS`` (message type → method name) and override
    :meth:`started` / :meth:`stopping` instead of pykka's ``on_start`` / ``on_stop``.
    pykka calls neither ``on_failure`` nor ``on_stop`` when ``on_start`` raises, so the
    wrapper here reports that case itself; otherwise the supervisor would never know.
    """

    HANDLERS: ClassVar[Mapping[type, str]] = {}
    SUBSCRIBES: ClassVar[tuple[type, ...]] = ()
    """Event types this actor wants from :meth:`Directory.publish`."""
    use_daemon_thread = True

    def __init__(self, ctx: ActorContext, name: str, supervisor: str = "supervisor") -> None:
        super().__init__()
        self.ctx = ctx
        self.name = name
        self._supervisor = supervisor
        self.log = logging.getLogger(f"ocpp_cp.{name}")
        self._timers: list[TimerHandle] = []
        self._raised = False

    # --- helpers for subclasses -------------------------------------------------------

    def tell(self, name: str, message: object) -> bool:
        return self.ctx.directory.tell(name, message)

    def ask_each(self, names: Iterable[str], message: object, timeout: float = 5.0) -> list[Any]:
        """Ask every named actor at once and wait for all; the replies of those that answered
        within ``timeout`` (an actor not running, or too slow, is logged and left out)."""
        futures = [(name, ref.ask(message, block=False)) for name in names
                   if (ref := self.ctx.directory.get(name)) is not None]
        replies = []
        for name, future in futures:
            try:
                replies.append(future.get(timeout=timeout))
            except (pykka.Timeout, pykka.ActorDeadError):
                self.log.warning("%s did not answer %s", name, type(message).__name__)
        return replies

    def publish(self, event: object) -> None:
        self.ctx.directory.publish(event)

    def after(self, delay: float, message: object) -> TimerHandle:
        """Tell this actor ``message`` in ``delay`` seconds on the injected clock."""
        return self._own(self.ctx.clock.call_later(delay, self._timer_target(), message))

    def every(self, interval: float, message: object) -> TimerHandle:
        """Tell this actor ``message`` every ``interval`` seconds on the injected clock."""
        return self._own(self.ctx.clock.call_every(interval, self._timer_target(), message))

    def _timer_target(self) -> Any:
        return TracedTarget(self.actor_ref, self.name, self.ctx.trace) if self.ctx.trace.enabled else self.actor_ref

    def _own(self, handle: TimerHandle) -> TimerHandle:
        """Remember a timer, so none outlives this incarnation (a stop or a crash cancels all)."""
        self._timers = [t for t in self._timers if not (t.cancelled or t.fired)]
        self._timers.append(handle)
        return handle

    def _cancel_timers(self) -> None:
        for handle in self._timers:
            self.ctx.clock.cancel(handle)
        self._timers.clear()

    def started(self) -> None:
        """Runs in the actor's thread before any message; build state here."""

    def stopping(self) -> None:
        """Runs in the actor's thread on a graceful stop; release resources here."""

    # --- pykka hooks --------------------------------------------------------------------

    def on_start(self) -> None:
        try:
            if self.name in self.ctx.crash_on_start:
                self.ctx.crash_on_start.discard(self.name)
                msg = "crash injected in on_start"
                raise RuntimeError(msg)
            self.started()
        except Exception as exc:
            self.log.exception("failed to start")
            self._cancel_timers()
            self._report(ExitReason.CRASH, f"on_start: {type(exc).__name__}: {exc}")
            raise

    def on_stop(self) -> None:
        try:
            self.stopping()
        finally:
            self._cancel_timers()
            self._report(ExitReason.SHUTDOWN)

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        self._cancel_timers()
        self._report(ExitReason.CRASH, f"{getattr(exception_type, '__name__', '?')}: {exception_value}")
        if self._raised:
            self._raised = False
            self.ctx.activity.end()

    def on_receive(self, message: Any) -> Any:
        if self._raised:  # the last message raised in an ask, and we live on
            self._raised = False
            self.ctx.activity.end()
        self.ctx.activity.begin()
        try:
            result = self._dispatch(message)
        except Exception:
            # Still busy: a crash is not over until on_failure has told the supervisor, or a
            # driver would see a quiet system for a moment and move the clock past the restart.
            self._raised = True
            raise
        self.ctx.activity.end()
        return result

    def _dispatch(self, message: Any) -> Any:
        method = self.HANDLERS.get(type(message))
        if method is not None:
            return getattr(self, method)(message)
        if isinstance(message, Ping):
            return Pong(actor_urn=self.actor_urn)
        if isinstance(message, InjectCrash):
            self.ctx.trace.record("crash", actor=self.name, in_on_start=message.in_on_start)
            if message.in_on_start:
                self.ctx.crash_on_start.add(self.name)
            msg = f"crash injected into {self.name}"
            raise RuntimeError(msg)
        msg = f"{type(self).__name__} has no handler for {type(message).__name__}"
        raise TypeError(msg)

    def _report(self, reason: ExitReason, detail: str = "") -> None:
        exited = ChildExited(child_id=self.name, actor_urn=self.actor_urn, reason=reason, detail=detail)
        self.ctx.directory.unregister(self.name, self.actor_urn)
        supervisor = self.ctx.directory.get(self._supervisor)
        if supervisor is not None:
            try:
                supervisor.tell(exited)
            except pykka.ActorDeadError:
                pass  # the supervisor itself is stopping: nobody to restart us
