"""The demo's scripted charging sessions: what each simulated driver does, and when.

A pure state machine per EVSE (plug in, swipe ``DEMO-<evse>``, charge, stop, unplug,
pause, again), stepped by the demo's driver loop with the time and the EVSE views the
observer collected. It only moves on when the charge point's side shows that the CSMS
answered (a transaction id, an acknowledged StopTransaction), so the same script doubles as
the check of ``ocpp-cp demo --sessions K``, against the bundled CSMS or an external one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from messages.station import EvseStateChanged

__all__ = ["Command", "Phase", "SessionScript", "Timing", "acknowledged_stop"]

STOP_WAYS = ("swipe", "unplug", "remote")
"""How a session ends: the same tag swiped again, the cable pulled, RemoteStopTransaction."""


def acknowledged_stop(previous: EvseStateChanged | None, current: EvseStateChanged) -> int | None:
    """The transaction whose StopTransaction the CSMS just acknowledged, if this change says so.

    An Evse keeps the id of a stopped transaction until the StopTransaction is answered, then
    publishes a state without one; a new transaction (also without an id yet) is active.
    """
    if previous is None or previous.transaction_id is None or previous.transaction_active:
        return None
    if current.transaction_id is None and not current.transaction_active:
        return previous.transaction_id
    return None


@dataclass(frozen=True)
class Timing:
    """How long things take, in real seconds, all derived from the charging time."""

    charge_s: float = 15.0
    grace_s: float = 2.0
    """How long the CSMS link must stay idle without the awaited answer before we call it refused."""
    phase_timeout_s: float = 45.0
    """The longest wait for one CSMS answer (the link's call timeout is 30 s)."""

    @property
    def step_s(self) -> float:
        """Between plugging in and swiping, and between a stop and unplugging."""
        return min(1.0, self.charge_s / 4)

    @property
    def pause_s(self) -> float:
        """Between the end of a session and the next car."""
        return max(2 * self.step_s, self.charge_s / 3)

    def stagger_s(self, evse_count: int) -> float:
        """Between the first plug-ins of neighbouring EVSEs (all within about 8 s)."""
        return min(1.5, 8.0 / evse_count)

    def charge_for(self, evse_id: int, session: int) -> float:
        return self.charge_s * (0.7, 1.0, 1.3)[(evse_id + 2 * session) % 3]

    def run_timeout_s(self, evse_count: int, sessions: int) -> float:
        """A bound on a whole ``--sessions`` run: boot, the stagger, each session with slack."""
        per_session = self.charge_s * 1.3 + 3 * self.step_s + self.pause_s + 5.0 + 0.05 * evse_count
        return 20.0 + self.stagger_s(evse_count) * (evse_count - 1) + sessions * per_session


class Phase(enum.Enum):
    WAITING = "waiting for the next car"
    PLUGGED = "plugged in"
    STARTING = "waiting for the transaction id"
    CHARGING = "charging"
    STOPPING = "waiting for the StopTransaction answer"
    UNPLUGGING = "stopped, car still plugged"
    DONE = "done"


@dataclass(frozen=True)
class Command:
    """Something the driver does to the simulator (or the CSMS, for ``remote_stop``)."""

    evse_id: int
    action: str
    """plug_in, swipe, plug_out or remote_stop."""
    id_tag: str = ""
    transaction_id: int | None = None


@dataclass
class _Driver:
    """The simulated driver of one EVSE."""

    evse_id: int
    phase: Phase
    next_at: float
    session: int = 0
    """0-based index of the current session."""
    transaction_id: int | None = None
    stop_way: str = ""
    waiting_since: float = 0.0
    idle_since: float | None = None

    @property
    def tag(self) -> str:
        return f"DEMO-{self.evse_id}"


class SessionScript:
    """Every EVSE's sessions; ``sessions=None`` repeats them until the demo is stopped.

    In the repeating demo a failed session is recorded, the car leaves and the next one
    comes; with a session count the driver loop ends the run at the first failure.
    """

    def __init__(self, evse_count: int, timing: Timing, *, sessions: int | None = None,
                 remote_stop: bool = True) -> None:
        self.timing, self.sessions = timing, sessions
        self._ways = STOP_WAYS if remote_stop else STOP_WAYS[:2]
        self._drivers = [_Driver(i, Phase.WAITING, float("inf")) for i in range(1, evse_count + 1)]
        self.completed = 0
        self.failures: list[str] = []
        self.started = False
        self.done_at = float("inf")
        """When the last session ended (``sessions`` given)."""

    def start(self, now: float) -> None:
        """The CSMS accepted the charge point: the first cars arrive, staggered."""
        stagger = self.timing.stagger_s(len(self._drivers))
        for index, driver in enumerate(self._drivers):
            driver.next_at = now + index * stagger
        self.started = True

    @property
    def done(self) -> bool:
        return all(d.phase is Phase.DONE for d in self._drivers)

    def unfinished(self) -> str:
        """Why the run is not done yet, for a timeout: the first EVSE still waiting."""
        for d in self._drivers:
            if d.phase is not Phase.DONE:
                what = {Phase.STARTING: "never started at the CSMS",
                        Phase.STOPPING: "never stopped at the CSMS"}.get(d.phase, f"stuck ({d.phase.value})")
                return f"EVSE {d.evse_id}: session {d.session + 1} {what}"
        return "all sessions done"

    def step(self, now: float, views: Mapping[int, EvseStateChanged], acknowledged: Mapping[int, frozenset[int]],
             link_idle: Callable[[], bool]) -> list[Command]:
        """Move every driver on; returns what to do now. ``acknowledged`` holds the ids of the
        transactions whose StopTransaction was answered, per EVSE."""
        commands: list[Command] = []
        idle_cache: list[bool] = []

        def idle() -> bool:  # asked at most once per step, and only when someone waits long
            if not idle_cache:
                idle_cache.append(link_idle())
            return idle_cache[0]

        if self.started:
            for driver in self._drivers:
                commands += self._step_one(driver, now, views.get(driver.evse_id),
                                           acknowledged.get(driver.evse_id, frozenset()), idle)
        return commands

    def _step_one(self, d: _Driver, now: float, view: EvseStateChanged | None, acked: frozenset[int],
                  idle: Callable[[], bool]) -> list[Command]:
        if d.phase is Phase.WAITING and now >= d.next_at:
            d.phase, d.next_at = Phase.PLUGGED, now + self.timing.step_s
            return [Command(d.evse_id, "plug_in")]
        if d.phase is Phase.PLUGGED and now >= d.next_at:
            self._wait(d, Phase.STARTING, now)
            return [Command(d.evse_id, "swipe", id_tag=d.tag)]
        if d.phase is Phase.STARTING:
            if view is not None and view.transaction_active and view.transaction_id is not None:
                d.transaction_id, d.phase = view.transaction_id, Phase.CHARGING
                d.next_at = now + self.timing.charge_for(d.evse_id, d.session)
            elif self._refused(d, now, idle):
                detail = ("no transaction id" if view is not None and view.transaction_active
                          else f"no transaction began after swiping {d.tag}")
                return self._fail(d, now, f"never started at the CSMS ({detail})")
        elif d.phase is Phase.CHARGING:
            if view is not None and not view.transaction_active:  # stopped by someone else (the CSMS?)
                self._wait(d, Phase.STOPPING, now)
                d.stop_way = "elsewhere"  # the car is still plugged in
            elif now >= d.next_at:
                return self._stop(d, now)
        elif d.phase is Phase.STOPPING:
            if d.transaction_id in acked:
                if d.stop_way == "unplug":
                    self._finish(d, now)
                else:
                    d.phase, d.next_at = Phase.UNPLUGGING, now + self.timing.step_s
            elif self._refused(d, now, idle):
                return self._fail(d, now, "never stopped at the CSMS (StopTransaction not acknowledged)")
        elif d.phase is Phase.UNPLUGGING and now >= d.next_at:
            self._finish(d, now)
            return [Command(d.evse_id, "plug_out")]
        return []

    def _stop(self, d: _Driver, now: float) -> list[Command]:
        d.stop_way = self._ways[(d.evse_id + d.session) % len(self._ways)]
        self._wait(d, Phase.STOPPING, now)
        if d.stop_way == "remote":
            return [Command(d.evse_id, "remote_stop", transaction_id=d.transaction_id)]
        if d.stop_way == "unplug":
            return [Command(d.evse_id, "plug_out")]
        return [Command(d.evse_id, "swipe", id_tag=d.tag)]

    @staticmethod
    def _wait(d: _Driver, phase: Phase, now: float) -> None:
        d.phase, d.waiting_since, d.idle_since = phase, now, None

    def _refused(self, d: _Driver, now: float, idle: Callable[[], bool]) -> bool:
        """True when the awaited answer will not come: the link has had nothing in flight or
        queued for ``grace_s`` (so our CALL was answered, with an error), or far too long passed."""
        waited = now - d.waiting_since
        if waited >= self.timing.phase_timeout_s:
            return True
        if waited < self.timing.grace_s:
            return False
        if not idle():
            d.idle_since = None
            return False
        if d.idle_since is None:
            d.idle_since = now
        return now - d.idle_since >= self.timing.grace_s

    def _fail(self, d: _Driver, now: float, what: str) -> list[Command]:
        self.failures.append(f"EVSE {d.evse_id}: session {d.session + 1} {what}")
        self._finish(d, now, completed=False)
        return [Command(d.evse_id, "plug_out")]  # the car leaves; the next one may do better

    def _finish(self, d: _Driver, now: float, *, completed: bool = True) -> None:
        self.completed += completed
        d.session += 1
        d.transaction_id, d.stop_way = None, ""
        if self.sessions is not None and d.session >= self.sessions:
            d.phase = Phase.DONE
            if self.done:
                self.done_at = now
        else:
            d.phase, d.next_at = Phase.WAITING, now + self.timing.pause_s
