"""RecordedEvseManager: the EVSE manager as a trace remembers it, for replay.

During replay the EVSE manager is outside the system under test: the replay driver feeds its
recorded events (session events, meter readings, errors, token checks) in order, and this
actor answers the queries the Evse actors make (GetSessionState) with the recorded answers,
in the order they were given. Commands the charge point sends it are noted, not acted on:
what they caused is already in the trace.

Answers (ask): GetSessionState → SessionState. Accepts (tell): every evse_manager command, and
the system and external_energy_limits commands the simulator also takes.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from messages.smart_charging import ExternalLimits
from messages.system import SystemReset
from messages.evse_manager import (
    CancelReserve,
    EnableDisable,
    ForceUnlock,
    GetSessionState,
    PauseCharging,
    ProvideToken,
    Reserve,
    ResumeCharging,
    SessionState,
    SimCommand,
    StopTransactionCommand,
    TokenValidated,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from actors.base import ActorContext

__all__ = ["RecordedEvseManager"]

_COMMANDS = (CancelReserve, EnableDisable, ExternalLimits, ForceUnlock, PauseCharging, ProvideToken, Reserve,
             ResumeCharging, SimCommand, StopTransactionCommand, SystemReset, TokenValidated)


class RecordedEvseManager(SupervisedActor):
    """Plays back an EVSE manager's answers (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {GetSessionState: "_on_get_session_state",
                                              **{command: "_on_command" for command in _COMMANDS}}

    def __init__(self, ctx: ActorContext, name: str, *, evse_count: int, answers: Iterable[SessionState] = ()) -> None:
        super().__init__(ctx, name)
        self.answers: dict[int, deque[SessionState]] = defaultdict(deque)
        """Recorded SessionState answers per EVSE, oldest first."""
        for answer in answers:
            self.answers[answer.evse_id].append(answer)
        self.commands: list[object] = []

    def _on_get_session_state(self, msg: GetSessionState) -> SessionState:
        recorded = self.answers.get(msg.evse_id)
        if recorded:
            return recorded.popleft()
        self.log.warning("no recorded session state left for EVSE %d; answering idle", msg.evse_id)
        return SessionState(evse_id=msg.evse_id, plugged=False, session_id="", transaction_active=False,
                            charging=False)

    def _on_command(self, msg: object) -> None:
        self.commands.append(msg)
