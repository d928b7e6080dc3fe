"""Evse: one EVSE and its connector (OCPP connectorId = EVSE id; 0 = the whole station).

For now it knows its availability (rebuilt from Persistence at every start) and reports
its status to the CSMS once the charge point is registered. The transaction life cycle
builds on this.

Accepts (tell): RegistrationChanged (published), CallResultReceived, CallFailed.
Emits: SendCall(StatusNotification) to the CSMS connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from messages.csms import CallFailed, CallResultReceived, Registration, RegistrationChanged, SendCall
from messages.persistence import AvailabilityReply, GetAvailability

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext

__all__ = ["Evse"]

ASK_TIMEOUT_S = 5.0


class Evse(SupervisedActor):
    """One EVSE (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        RegistrationChanged: "_on_registration_changed",
        CallResultReceived: "_on_call_answered",
        CallFailed: "_on_call_answered",
    }
    SUBSCRIBES = (RegistrationChanged,)

    def __init__(self, ctx: ActorContext, name: str, *, evse_id: int, csms: str = "csms",
                 persistence: str = "persistence") -> None:
        super().__init__(ctx, name)
        self.evse_id = evse_id
        self._csms = csms
        self._persistence = persistence
        self.status = "Available"

    def started(self) -> None:
        reply: AvailabilityReply = self.ctx.directory.ask(
            self._persistence, GetAvailability(connector_id=self.evse_id), timeout=ASK_TIMEOUT_S)
        self.status = "Available" if reply.operative else "Unavailable"

    def _on_registration_changed(self, msg: RegistrationChanged) -> None:
        if msg.status is Registration.ACCEPTED:
            self._send_status()

    def _send_status(self) -> None:
        payload = {
            "connectorId": self.evse_id,
            "errorCode": "NoError",
            "status": self.status,
            "timestamp": self.ctx.clock.now().isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        self.tell(self._csms, SendCall(action="StatusNotification", payload=payload, reply_to=self.name,
                                       correlation="status"))

    def _on_call_answered(self, msg: CallResultReceived | CallFailed) -> None:
        if isinstance(msg, CallFailed):
            self.log.warning("%s failed: %s %s", msg.action, msg.kind.value, msg.description)
