"""Station: connector 0, the charge point as a whole, and the CSMS operations that span EVSEs.

It owns RemoteStartTransaction, RemoteStopTransaction, UnlockConnector and
ChangeAvailability: it picks or checks the connector from its view of every EVSE (kept up
to date by their EvseStateChanged events, and rebuilt by asking them after a restart), then
hands the work to that Evse or to the EVSE manager. Its own status is Available or
Unavailable (persisted).

Accepts (tell): CallReceived (the four actions above), EvseStateChanged and
RegistrationChanged (published), CallResultReceived / CallFailed.
Emits: SendCallResult / SendCall(StatusNotification) to the CSMS connection, ProvideToken to
the EVSE manager, RequestStop / CallReceived / ApplyAvailability (ask) to the Evses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pykka

from actors.base import SupervisedActor
from actors.evse_logic import iso
from messages.csms import (
    CallFailed,
    CallReceived,
    CallResultReceived,
    GetLinkStats,
    Registration,
    RegistrationChanged,
    SendCall,
    SendCallResult,
)
from messages.evse_manager import ProvideToken
from messages.persistence import GetAvailability, StoreAvailability
from messages.station import ApplyAvailability, EvseStateChanged, GetEvseState, RequestStop

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from actors.base import ActorContext

__all__ = ["Station"]

ASK_TIMEOUT_S = 5.0
_NOT_STARTABLE = frozenset({"Unavailable", "Faulted", "Finishing"})


class Station(SupervisedActor):
    """Connector 0 and the station-wide operations (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        CallReceived: "_on_call",
        EvseStateChanged: "_on_evse_state",
        RegistrationChanged: "_on_registration_changed",
        CallResultReceived: "_on_status_answered",
        CallFailed: "_on_status_answered",
    }
    SUBSCRIBES = (EvseStateChanged, RegistrationChanged)
    OPERATIONS: ClassVar[Mapping[str, str]] = {
        "RemoteStartTransaction": "_remote_start",
        "RemoteStopTransaction": "_remote_stop",
        "UnlockConnector": "_unlock_connector",
        "ChangeAvailability": "_change_availability",
    }

    def __init__(self, ctx: ActorContext, name: str, *, evse_count: int, csms: str = "csms",
                 persistence: str = "persistence", evse_manager: str = "simulator") -> None:
        super().__init__(ctx, name)
        self._evse_count = evse_count
        self._csms, self._persistence, self._manager = csms, persistence, evse_manager
        self._evses: dict[int, EvseStateChanged] = {}
        self._operative = True
        self._registered = False

    def started(self) -> None:
        self._operative = self._ask(self._persistence, GetAvailability(connector_id=0)).operative
        for evse_id in range(1, self._evse_count + 1):  # after a restart of ours; at first start they are not up
            if self.ctx.directory.get(self._evse(evse_id)) is not None:
                self._evses[evse_id] = self._ask(self._evse(evse_id), GetEvseState())
        if self.ctx.directory.get(self._csms) is not None:  # a restart: the link may be registered already
            if self._ask(self._csms, GetLinkStats()).registration is Registration.ACCEPTED:
                self._on_registration_changed(RegistrationChanged(status=Registration.ACCEPTED, interval=0))

    def _ask(self, name: str, message: object) -> Any:
        return self.ctx.directory.ask(name, message, timeout=ASK_TIMEOUT_S)

    @staticmethod
    def _evse(evse_id: int) -> str:
        return f"evse/{evse_id}"

    # --- our own status -----------------------------------------------------------------

    def _on_registration_changed(self, msg: RegistrationChanged) -> None:
        if msg.status is Registration.ACCEPTED and not self._registered:
            self._registered = True
            self._report_status()

    def _report_status(self) -> None:
        if self._registered:
            self.tell(self._csms, SendCall(action="StatusNotification", reply_to=self.name, correlation="status",
                                           payload={"connectorId": 0, "errorCode": "NoError",
                                                    "status": "Available" if self._operative else "Unavailable",
                                                    "timestamp": iso(self.ctx.clock.now())}))

    def _on_status_answered(self, msg: CallResultReceived | CallFailed) -> None:
        if isinstance(msg, CallFailed):
            self.log.warning("%s failed: %s %s", msg.action, msg.kind.value, msg.description)

    def _on_evse_state(self, msg: EvseStateChanged) -> None:
        self._evses[msg.evse_id] = msg

    # --- CSMS operations ------------------------------------------------------------------

    def _on_call(self, msg: CallReceived) -> None:
        method = self.OPERATIONS.get(msg.action)
        if method is None:
            msg_text = f"Station does not own {msg.action}"
            raise TypeError(msg_text)
        answer = getattr(self, method)(msg)
        if answer is not None:
            self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action, payload=answer))

    def _startable(self, evse_id: int, id_tag: str) -> bool:
        view = self._evses.get(evse_id)
        if view is None or view.transaction_active or view.status in _NOT_STARTABLE:
            return False
        return view.status != "Reserved" or view.reserved_for.lower() == id_tag.lower()

    def _remote_start(self, msg: CallReceived) -> dict[str, Any]:
        connector = msg.payload.get("connectorId")
        profile = msg.payload.get("chargingProfile")
        if profile is not None and (connector is None or profile.get("chargingProfilePurpose") != "TxProfile"):  # type: ignore[union-attr]
            return {"status": "Rejected"}
        if connector is not None:
            candidates = (int(connector),) if 0 < int(connector) <= self._evse_count else ()  # type: ignore[call-overload]
        else:
            candidates = tuple(range(1, self._evse_count + 1))
        usable = tuple(c for c in candidates if self._startable(c, str(msg.payload["idTag"])))
        if not usable or not self._operative:
            return {"status": "Rejected"}
        prevalidated = not self.ctx.config.get("AuthorizeRemoteTxRequests", False)
        self.tell(self._manager, ProvideToken(id_tag=str(msg.payload["idTag"]), connectors=usable,
                                              prevalidated=prevalidated))
        return {"status": "Accepted"}

    def _remote_stop(self, msg: CallReceived) -> dict[str, Any]:
        wanted = msg.payload["transactionId"]
        evse_id = self._find_transaction(wanted)
        if evse_id is None:
            # The CSMS may stop a transaction the moment it answered StartTransaction, before
            # its Evse told us the id: ask the EVSEs with a transaction for their state now.
            self._refresh(evse for evse, view in self._evses.items() if view.transaction_active)
            evse_id = self._find_transaction(wanted)
        if evse_id is None:
            return {"status": "Rejected"}
        self.tell(self._evse(evse_id), RequestStop(reason="Remote"))
        return {"status": "Accepted"}

    def _find_transaction(self, transaction_id: object) -> int | None:
        return next((evse_id for evse_id, view in self._evses.items()
                     if view.transaction_active and view.transaction_id == transaction_id), None)

    def _refresh(self, evse_ids: Iterable[int]) -> None:
        futures = {evse_id: ref.ask(GetEvseState(), block=False) for evse_id in evse_ids
                   if (ref := self.ctx.directory.get(self._evse(evse_id))) is not None}
        for evse_id, future in futures.items():
            try:
                self._evses[evse_id] = future.get(timeout=ASK_TIMEOUT_S)
            except (pykka.Timeout, pykka.ActorDeadError):
                self.log.warning("EVSE %d did not answer", evse_id)

    def _unlock_connector(self, msg: CallReceived) -> dict[str, Any] | None:
        connector = int(msg.payload["connectorId"])  # type: ignore[call-overload]
        if not 0 < connector <= self._evse_count or not self.tell(self._evse(connector), msg):
            return {"status": "NotSupported"}
        return None  # the Evse answers: it knows whether a transaction had to stop first

    def _change_availability(self, msg: CallReceived) -> dict[str, Any]:
        connector = int(msg.payload["connectorId"])  # type: ignore[call-overload]
        operative = msg.payload["type"] == "Operative"
        if not 0 <= connector <= self._evse_count:
            return {"status": "Rejected"}
        targets = [connector] if connector else list(range(1, self._evse_count + 1))
        if connector == 0:
            self._ask(self._persistence, StoreAvailability(connector_id=0, operative=operative))
            if operative != self._operative:
                self._operative = operative
                self._report_status()
        futures = []
        for evse_id in targets:
            ref = self.ctx.directory.get(self._evse(evse_id))
            if ref is None:
                return {"status": "Rejected"}
            futures.append(ref.ask(ApplyAvailability(operative=operative), block=False))
        try:
            applied = pykka.get_all(futures, timeout=ASK_TIMEOUT_S)
        except (pykka.Timeout, pykka.ActorDeadError):
            self.log.exception("ChangeAvailability could not reach every EVSE")
            return {"status": "Rejected"}
        return {"status": "Scheduled" if any(a.scheduled for a in applied) else "Accepted"}
