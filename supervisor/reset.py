"""The reset sequence (OCPP Reset.req, Soft or Hard), which the supervisor owns.

1. Answer Accepted (a second Reset while one runs is Rejected).
2. Stop every transaction with reason SoftReset / HardReset.
3. Wait until each of them has its StopTransaction answered by the CSMS, at most
   WaitForStopTransactionsOnResetTimeout seconds (a StopTransaction still unanswered
   then stays in the durable queue and is sent after the restart).
4. Wait ResetStopDelay seconds (module option), so the CSMS can answer the last messages.
5. Hard: ask the system to reset. Both: hand over to the process (``ctx.request_reset``):
   a soft reset restarts the actor tree in-process on the persisted state, a hard reset
   stops it and exits with ``EXIT_HARD_RESET`` for systemd to start us again.

Every wait is a timer on the injected clock. This actor keeps no state worth persisting: a
crash in the middle forgets the reset (the CSMS was answered Accepted and will time out).

Accepts (tell): CallReceived(Reset), EvseStateChanged (published), timers ResetWaitOver and
ResetDelayOver. Emits: SendCallResult to the CSMS connection, RequestStop to the Evses,
SystemReset to the system.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar


from actors.base import SupervisedActor
from messages.csms import CallReceived, SendCallResult
from messages.station import EvseStateChanged, GetEvseState, RequestStop
from messages.system import ResetDelayOver, ResetKind, ResetWaitOver, SystemReset

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext
    from actors.clock import TimerHandle

__all__ = ["ResetSequence"]

ASK_TIMEOUT_S = 5.0
DEFAULT_WAIT_S = 60


class ResetSequence(SupervisedActor):
    """Carries out a CSMS Reset (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        CallReceived: "_on_reset",
        EvseStateChanged: "_on_evse_state",
        ResetWaitOver: "_on_wait_over",
        ResetDelayOver: "_on_delay_over",
    }
    SUBSCRIBES = (EvseStateChanged,)

    def __init__(self, ctx: ActorContext, name: str, *, evse_count: int, csms: str = "csms",
                 system: str = "simulator") -> None:
        super().__init__(ctx, name)
        self._evse_count = evse_count
        self._csms, self._system = csms, system
        self._kind: ResetKind | None = None
        self._stopping: set[int] = set()
        """EVSEs whose transaction has not had its StopTransaction answered yet."""
        self._wait_timer: TimerHandle | None = None

    def _on_reset(self, msg: CallReceived) -> None:
        if self._kind is not None:
            self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action,
                                                 payload={"status": "Rejected"}))
            return
        self._kind = kind = ResetKind(msg.payload["type"])
        self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action,
                                             payload={"status": "Accepted"}))
        self.ctx.trace.record("reset", type=kind.value)
        busy = {state.evse_id for state in self._evse_states()
                if state.transaction_active or state.stop_unconfirmed}
        self.log.warning("%s reset: stopping %d transaction(s) first", kind.value, len(busy))
        for evse_id in sorted(busy):
            self.tell(f"evse/{evse_id}", RequestStop(reason=f"{kind.value}Reset"))
        self._stopping = busy
        if not busy:
            self._transactions_stopped()
            return
        wait = int(self.ctx.config.get("WaitForStopTransactionsOnResetTimeout", DEFAULT_WAIT_S) or 0)
        self._wait_timer = self.after(wait, ResetWaitOver())

    def _evse_states(self) -> list[EvseStateChanged]:
        return self.ask_each((f"evse/{i}" for i in range(1, self._evse_count + 1)), GetEvseState(), ASK_TIMEOUT_S)

    def _on_evse_state(self, msg: EvseStateChanged) -> None:
        if self._kind is None or msg.evse_id not in self._stopping:
            return
        if not (msg.transaction_active or msg.stop_unconfirmed):
            self._stopping.discard(msg.evse_id)
            if not self._stopping:
                self.ctx.clock.cancel(self._wait_timer)
                self._transactions_stopped()

    def _on_wait_over(self, _msg: ResetWaitOver) -> None:
        if self._stopping:
            self.log.warning("StopTransaction not answered for EVSE(s) %s; resetting anyway (they stay queued)",
                             sorted(self._stopping))
            self._stopping.clear()
            self._transactions_stopped()

    def _transactions_stopped(self) -> None:
        delay = int(self.ctx.options["ResetStopDelay"])
        if delay > 0:
            self.after(delay, ResetDelayOver())
        else:
            self._on_delay_over(ResetDelayOver())

    def _on_delay_over(self, _msg: ResetDelayOver) -> None:
        assert self._kind is not None
        if self._kind is ResetKind.HARD:
            self.tell(self._system, SystemReset(kind=self._kind))
        self.log.warning("%s reset now", self._kind.value)
        self.ctx.request_reset(self._kind)
