"""The EVSE half of the Firmware actor: making every EVSE unavailable for an installation, only
once its transaction is over, and giving them back (the handlers are the Firmware actor's,
listed in its HANDLERS table, and run in its thread).

The EVSEs are made unavailable the way ChangeAvailability makes them so: the EVSE manager's
enable_disable (EnableDisable), whose Disabled event the Evse turns into Unavailable. The
operator's availability in the database is not touched, so it is what comes back: after the
reboot every actor and the EVSE manager start from the database, and when there is no reboot
(a failed installation, a replaced update) each EVSE we disabled is enabled again if the
database says it is operative. An EVSE is busy while its transaction runs or its
StopTransaction is unanswered (libocpp re-checks on StopTransaction.conf too); a session
without a transaction (a plugged car, Finishing) does not hold the installation up.

A held EVSE that comes back Available (its session ended and the Evse went by its own
availability, or the operator made it operative again) is disabled again: the manager is told
enable, then disable, as it reports Disabled only on a change.

The EVSEs' events come by subscription, taken at the first hold (the Firmware actor starts
after the EVSEs, which publish while they start; a subscription taken for every start would
log a warning for each of them every time). Directory subscriptions are kept by name, so
after a reboot the EVSEs' first events find no Firmware actor yet and are logged once each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from messages.evse_manager import EnableDisable
from messages.persistence import GetAvailability
from messages.station import EvseStateChanged, GetEvseState

if TYPE_CHECKING:
    import logging
    from collections.abc import Iterable

    from actors.base import ActorContext

__all__ = ["EvseHold"]

ASK_TIMEOUT_S = 5.0
SETTLED = frozenset({"Unavailable", "Faulted"})
"""What an EVSE may show for the installation to begin (a fault hides Unavailable)."""


class EvseHold:
    """Mixin of the Firmware actor: the EVSEs it holds unavailable for an installation."""

    ctx: ActorContext
    log: logging.Logger
    name: str
    _evse_count: int
    _manager: str
    _persistence: str

    if TYPE_CHECKING:  # what the Firmware actor (a SupervisedActor) provides
        def tell(self, name: str, message: object) -> bool: ...
        def ask_each(self, names: Iterable[str], message: object, timeout: float = 5.0) -> list[Any]: ...
        def _install_when_ready(self) -> None: ...

    def _init_hold(self) -> None:
        self._holding = False
        """The EVSEs are being made unavailable for the installation."""
        self._held: set[int] = set()
        """EVSEs we disabled."""
        self._busy: set[int] = set()
        """EVSEs whose transaction must end first."""
        self._status: dict[int, str] = {}
        """Each EVSE's last status while we hold them."""

    def _evse_states(self) -> list[EvseStateChanged]:
        return self.ask_each((f"evse/{i}" for i in range(1, self._evse_count + 1)), GetEvseState(), ASK_TIMEOUT_S)

    def _hold(self) -> None:
        """Disable every free EVSE now, the busy ones when their transactions are over."""
        self.ctx.directory.subscribe(EvseStateChanged, self.name)  # idempotent
        self._holding = True
        states = self._evse_states()
        self._busy = {s.evse_id for s in states if s.transaction_active or s.stop_unconfirmed}
        self._status = {s.evse_id: s.status for s in states}
        if self._busy:
            self.log.warning("firmware installation waits for the transactions on EVSE(s) %s", sorted(self._busy))
        for evse_id in range(1, self._evse_count + 1):
            if evse_id not in self._busy:
                self._disable(evse_id)
        self._install_when_ready()

    def _disable(self, evse_id: int) -> None:
        self._held.add(evse_id)
        self.tell(self._manager, EnableDisable(evse_id=evse_id, enable=False))

    def _all_held(self) -> bool:
        """No transaction left, and every EVSE we disabled shows it."""
        return self._holding and not self._busy and all(
            self._status.get(evse_id, "Unavailable") in SETTLED for evse_id in self._held)

    def _on_evse_state(self, msg: EvseStateChanged) -> None:
        if not self._holding:
            return
        before, self._status[msg.evse_id] = self._status.get(msg.evse_id), msg.status
        if msg.evse_id in self._busy:
            if not (msg.transaction_active or msg.stop_unconfirmed):
                self._busy.discard(msg.evse_id)
                self._disable(msg.evse_id)
        elif msg.evse_id in self._held and before in SETTLED and msg.status == "Available":
            self.log.info("EVSE %d came back while held for the firmware; disabling it again", msg.evse_id)
            self.tell(self._manager, EnableDisable(evse_id=msg.evse_id, enable=True))
            self._disable(msg.evse_id)
        self._install_when_ready()

    def _release(self, *, restore: bool) -> None:
        """Stop holding; with ``restore``, enable each EVSE we disabled that the database says
        is operative (no reboot follows that would)."""
        if restore:
            for evse_id in sorted(self._held):
                if self.ctx.directory.ask(self._persistence, GetAvailability(connector_id=evse_id),
                                          timeout=ASK_TIMEOUT_S).operative:
                    self.tell(self._manager, EnableDisable(evse_id=evse_id, enable=True))
        self._init_hold()
