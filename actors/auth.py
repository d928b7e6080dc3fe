"""Auth: decides who may charge (the auth_validator interface of the seed), and owns the
local authorization list and the authorization cache.

Every decision is :func:`actors.auth_logic.decide`, a pure function of the OCPP keys, the
list, the cache and whether we are online (the rules: docs/authorization.md); this actor only
keeps the stores (persisted, rebuilt at start) and asks the CSMS when the rules say so.

It also owns reservations (ReserveNow, CancelReservation): persisted, so they survive a
restart (libocpp loses them), with their expiry on the injected clock; the EVSE manager holds
the connector (the seed's reservation interface) and refuses other tokens.

Accepts (tell): ValidateToken (from the EVSE manager); IdTagInfoReceived and ReservationUsed
(from an Evse); CallReceived (SendLocalList, GetLocalListVersion, ClearCache, ReserveNow,
CancelReservation); ConnectionChanged (published); CallResultReceived / CallFailed (answers to
Authorize); the timer ReservationExpired.
Emits: SendCall(Authorize) and SendCallResult / SendCallError to the CSMS connection;
TokenValidated to whoever asked; Reserve / CancelReserve to the EVSE manager; asks the Evses
GetEvseState.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from actors.auth_logic import AuthSettings, IdTagInfo, Step, cache_after_answer, decide
from actors.base import SupervisedActor
from actors.evse_logic import iso, parse_csl
from messages.csms import (
    CallFailed,
    CallReceived,
    CallResultReceived,
    ConnectionChanged,
    FailureKind,
    SendCall,
    SendCallError,
    SendCallResult,
)
from messages.evse_manager import CancelReserve, Reserve, TokenValidated, ValidateToken
from messages.persistence import (
    AuthEntry,
    ClearAuthCache,
    DeleteReservation,
    GetAuthData,
    ReservationRecord,
    StoreCacheEntry,
    StoreLocalList,
    StoreReservation,
)
from messages.station import EvseStateChanged, GetEvseState, IdTagInfoReceived, ReservationUsed

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext
    from actors.clock import TimerHandle

__all__ = ["Auth"]

ASK_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationExpired:
    """Timer: a reservation's expiryDate has come."""

    reservation_id: int


class _Refused(Exception):
    """A CSMS call answered with a CALLERROR instead of a result."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


def _info(entry: AuthEntry) -> IdTagInfo:
    expiry = datetime.fromisoformat(entry.expiry.replace("Z", "+00:00")) if entry.expiry else None
    return IdTagInfo(status=entry.status, expiry=expiry, parent_id_tag=entry.parent_id_tag)


def _entry(id_tag: str, info: Mapping[str, Any]) -> AuthEntry:
    """An idTagInfo from the wire as a stored entry."""
    expiry = info.get("expiryDate")
    return AuthEntry(id_tag=id_tag, status=str(info["status"]), expiry=str(expiry) if expiry else None,
                     parent_id_tag=str(info["parentIdTag"]) if info.get("parentIdTag") else None)


class Auth(SupervisedActor):
    """Token validation, the local list and the cache (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        ValidateToken: "_on_validate_token",
        IdTagInfoReceived: "_on_id_tag_info",
        CallReceived: "_on_csms_call",
        ConnectionChanged: "_on_connection_changed",
        CallResultReceived: "_on_authorize_answer",
        CallFailed: "_on_authorize_answer",
        ReservationUsed: "_on_reservation_used",
        ReservationExpired: "_on_reservation_expired",
    }
    SUBSCRIBES = (ConnectionChanged,)
    OPERATIONS: ClassVar[Mapping[str, str]] = {
        "SendLocalList": "_send_local_list",
        "GetLocalListVersion": "_get_local_list_version",
        "ClearCache": "_clear_cache",
        "ReserveNow": "_reserve_now",
        "CancelReservation": "_cancel_reservation",
    }

    def __init__(self, ctx: ActorContext, name: str, *, csms: str = "csms", persistence: str = "persistence",
                 evse_manager: str = "simulator") -> None:
        super().__init__(ctx, name)
        self._csms, self._persistence, self._manager = csms, persistence, evse_manager
        self._reservations: dict[int, ReservationRecord] = {}
        self._expiries: dict[int, TimerHandle] = {}
        self._asked: dict[str, ValidateToken] = {}
        self._ids = itertools.count(1)
        self._online = False
        self._list_version = 0
        self._list: dict[str, IdTagInfo] = {}
        self._cache: dict[str, IdTagInfo] = {}

    def started(self) -> None:
        data = self.ctx.directory.ask(self._persistence, GetAuthData(), timeout=ASK_TIMEOUT_S)
        self._list_version = data.list_version
        self._list = {e.id_tag.lower(): _info(e) for e in data.local_list}
        self._cache = {e.id_tag.lower(): _info(e) for e in data.cache}
        for reservation in data.reservations:  # the EVSE manager may have lost them: hold them again
            if _when(reservation.expiry) <= self.ctx.clock.now():
                self._store(DeleteReservation(reservation_id=reservation.reservation_id))
            else:
                self._hold(reservation)

    def _settings(self) -> AuthSettings:
        return AuthSettings.from_config(self.ctx.config.get)

    def _store(self, message: object) -> None:
        self.ctx.directory.ask(self._persistence, message, timeout=ASK_TIMEOUT_S)

    # --- decisions ------------------------------------------------------------------------

    def _on_connection_changed(self, msg: ConnectionChanged) -> None:
        self._online = msg.connected

    def _on_validate_token(self, msg: ValidateToken) -> None:
        self._decide(msg, online=self._online)

    def _decide(self, request: ValidateToken, *, online: bool) -> None:
        decision = decide(request.id_tag.lower(), online=online, settings=self._settings(), local_list=self._list,
                          cache=self._cache, now=self.ctx.clock.now())
        if decision.cache_update is not None:
            self._remember(request.id_tag, decision.cache_update)
        if decision.step is Step.ASK_CSMS:
            correlation = f"authorize:{next(self._ids)}"
            self._asked[correlation] = request
            self.tell(self._csms, SendCall(action="Authorize", payload={"idTag": request.id_tag[:20]},
                                           reply_to=self.name, correlation=correlation))
            return
        self.log.info("%s: %s (%s)", request.id_tag, decision.reason, decision.source)
        info = decision.info or IdTagInfo(status="Invalid")
        self._answer(request, info.status, info.parent_id_tag or "", f"{decision.reason} ({decision.source})")

    def _answer(self, request: ValidateToken, status: str, parent: str, reason: str) -> None:
        self.tell(request.reply_to, TokenValidated(evse_id=request.evse_id, id_tag=request.id_tag, status=status,
                                                   parent_id_tag=parent, correlation=request.correlation,
                                                   reason=reason))

    def _on_authorize_answer(self, msg: CallResultReceived | CallFailed) -> None:
        request = self._asked.pop(msg.correlation, None)
        if request is None:
            return
        if isinstance(msg, CallFailed):
            if msg.kind is FailureKind.OFFLINE:
                self._decide(request, online=False)  # the link is down: the offline rules decide
            else:
                self.log.warning("Authorize for %s failed (%s): refusing it", request.id_tag, msg.kind.value)
                self._answer(request, "Invalid", "", f"Authorize failed: {msg.kind.value} {msg.description}".strip())
            return
        info = msg.payload["idTagInfo"]
        self._remember_wire(request.id_tag, info)  # type: ignore[arg-type]
        self._answer(request, str(info["status"]), str(info.get("parentIdTag", "")),  # type: ignore[union-attr]
                     "answered by the CSMS")

    def _on_id_tag_info(self, msg: IdTagInfoReceived) -> None:
        """StartTransaction.conf and StopTransaction.conf carry idTagInfo too (libocpp forgets the latter)."""
        self._remember_wire(msg.id_tag, msg.id_tag_info)

    def _remember_wire(self, id_tag: str, info: Mapping[str, Any]) -> None:
        self._remember(id_tag, _info(_entry(id_tag, info)))

    def _remember(self, id_tag: str, info: IdTagInfo) -> None:
        update = cache_after_answer(self._settings().authorization_cache_enabled, id_tag, info,
                                    in_local_list=id_tag.lower() in self._list)
        if update is None:
            return
        self._cache[id_tag.lower()] = info
        self._store(StoreCacheEntry(entry=AuthEntry(id_tag=id_tag, status=info.status,
                                                    expiry=iso(info.expiry) if info.expiry else None,
                                                    parent_id_tag=info.parent_id_tag)))

    # --- the CSMS's operations on the list and the cache ----------------------------------

    def _on_csms_call(self, msg: CallReceived) -> None:
        try:
            answer = getattr(self, self.OPERATIONS[msg.action])(msg.payload)
        except _Refused as refused:
            self.tell(self._csms, SendCallError(message_id=msg.message_id, error_code=refused.code,
                                                description=refused.description))
            return
        self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action, payload=answer))

    def _list_supported(self) -> bool:
        profiles = parse_csl(self.ctx.config.get("SupportedFeatureProfiles"))
        return "LocalAuthListManagement" in profiles and bool(self.ctx.config.get("LocalAuthListEnabled", False))

    def _get_local_list_version(self, _payload: Mapping[str, Any]) -> dict[str, Any]:
        if not self._list_supported():
            return {"listVersion": -1}
        return {"listVersion": self._list_version if self._list else 0}

    def _send_local_list(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        if not self._list_supported():
            return {"status": "NotSupported"}
        version, full = int(payload["listVersion"]), payload["updateType"] == "Full"
        items = payload.get("localAuthorizationList") or ()
        max_sent = int(self.ctx.config.get("SendLocalListMaxLength", 0) or 0)
        if max_sent and len(items) > max_sent:
            raise _Refused("OccurenceConstraintViolation", f"{len(items)} entries; SendLocalListMaxLength is {max_sent}")
        if not full and version <= self._list_version:
            return {"status": "VersionMismatch"}
        entries = tuple(_entry(str(i["idTag"]), i["idTagInfo"]) for i in items if i.get("idTagInfo"))
        removed = tuple(str(i["idTag"]) for i in items if not i.get("idTagInfo"))
        if full and removed:
            return {"status": "Failed"}  # a full list must say what each idTag is
        new_list = {} if full else dict(self._list)
        for id_tag in removed:
            new_list.pop(id_tag.lower(), None)
        new_list.update({e.id_tag.lower(): _info(e) for e in entries})
        max_stored = int(self.ctx.config.get("LocalAuthListMaxLength", 0) or 0)
        if max_stored and len(new_list) > max_stored:
            return {"status": "Failed"}
        self._store(StoreLocalList(version=version, full=full, entries=entries, removed=removed))
        self._list, self._list_version = new_list, version
        return {"status": "Accepted"}

    def _clear_cache(self, _payload: Mapping[str, Any]) -> dict[str, Any]:
        if not self._settings().authorization_cache_enabled:
            return {"status": "Rejected"}
        self._store(ClearAuthCache())
        self._cache.clear()
        return {"status": "Accepted"}

    # --- reservations ---------------------------------------------------------------------

    def _reserve_now(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """ReserveNow: check the connector, persist, tell the EVSE manager, arm the expiry.
        A reservation on connector 0 (ReserveConnectorZeroSupported) holds the first Available one."""
        if "Reservation" not in parse_csl(self.ctx.config.get("SupportedFeatureProfiles")):
            return {"status": "Rejected"}
        connector, reservation_id = int(payload["connectorId"]), int(payload["reservationId"])
        expiry = _when(str(payload["expiryDate"]))
        if not 0 <= connector <= int(self.ctx.options["EvseCount"]) or expiry <= self.ctx.clock.now():
            return {"status": "Rejected"}
        if connector == 0:
            if not self.ctx.config.get("ReserveConnectorZeroSupported", False):
                return {"status": "Rejected"}
            states = [self._evse_state(i) for i in range(1, int(self.ctx.options["EvseCount"]) + 1)]
            free = [s for s in states if s.status == "Available"]
            if not free:
                return {"status": _refusal(states[0], reservation_id, self._reservations)}
            connector = free[0].evse_id
        else:
            refusal = _refusal(self._evse_state(connector), reservation_id, self._reservations)
            if refusal:
                return {"status": refusal}
        previous = self._reservations.get(reservation_id)
        if previous is not None and previous.connector_id != connector:
            self._end_reservation(reservation_id)  # the same id again: it replaces the old one
        reservation = ReservationRecord(reservation_id=reservation_id, connector_id=connector,
                                        id_tag=str(payload["idTag"]), expiry=iso(expiry),
                                        parent_id_tag=str(payload.get("parentIdTag") or ""))
        self._store(StoreReservation(reservation=reservation))
        self._hold(reservation)
        return {"status": "Accepted"}

    def _evse_state(self, evse_id: int) -> EvseStateChanged:
        return self.ctx.directory.ask(f"evse/{evse_id}", GetEvseState(), timeout=ASK_TIMEOUT_S)

    def _hold(self, reservation: ReservationRecord) -> None:
        self._reservations[reservation.reservation_id] = reservation
        self.ctx.clock.cancel(self._expiries.get(reservation.reservation_id))
        delay = (_when(reservation.expiry) - self.ctx.clock.now()).total_seconds()
        self._expiries[reservation.reservation_id] = self.after(
            delay, ReservationExpired(reservation_id=reservation.reservation_id))
        self.tell(self._manager, Reserve(evse_id=reservation.connector_id, reservation_id=reservation.reservation_id,
                                         id_tag=reservation.id_tag, parent_id_tag=reservation.parent_id_tag))

    def _cancel_reservation(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        reservation_id = int(payload["reservationId"])
        if reservation_id not in self._reservations:
            return {"status": "Rejected"}
        self._end_reservation(reservation_id)
        return {"status": "Accepted"}

    def _end_reservation(self, reservation_id: int, *, used: bool = False) -> None:
        reservation = self._reservations.pop(reservation_id, None)
        self.ctx.clock.cancel(self._expiries.pop(reservation_id, None))
        if reservation is None:
            return
        self._store(DeleteReservation(reservation_id=reservation_id))
        if not used:
            self.tell(self._manager, CancelReserve(evse_id=reservation.connector_id, reservation_id=reservation_id))

    def _on_reservation_used(self, msg: ReservationUsed) -> None:
        self._end_reservation(msg.reservation_id, used=True)

    def _on_reservation_expired(self, msg: ReservationExpired) -> None:
        self.log.info("reservation %d expired", msg.reservation_id)
        self._end_reservation(msg.reservation_id)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _refusal(state: EvseStateChanged, reservation_id: int, reservations: Mapping[int, ReservationRecord]) -> str:
    """Why a connector cannot be reserved now (ReserveNow's statuses), or "" when it can."""
    mine = reservations.get(reservation_id)
    if state.status == "Faulted":
        return "Faulted"
    if state.status == "Unavailable":
        return "Unavailable"
    if state.status == "Reserved" and mine is not None and mine.connector_id == state.evse_id:
        return ""  # the same reservation again: replaced
    if state.status != "Available" or state.session_active:
        return "Occupied"
    return ""
