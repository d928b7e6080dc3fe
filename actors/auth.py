"""Auth: decides who may charge (the auth_validator interface of the seed), and owns the
local authorization list and the authorization cache.

Every decision is :func:`actors.auth_logic.decide`, a pure function of the OCPP keys, the
list, the cache and whether we are online (the rules: docs/authorization.md); this actor only
keeps the stores (persisted, rebuilt at start) and asks the CSMS when the rules say so.

Accepts (tell): ValidateToken (from the EVSE manager); IdTagInfoReceived (from an Evse, for
the cache); CallReceived (SendLocalList, GetLocalListVersion, ClearCache); ConnectionChanged
(published); CallResultReceived / CallFailed (answers to Authorize).
Emits: SendCall(Authorize) and SendCallResult / SendCallError to the CSMS connection;
TokenValidated to whoever asked.
"""

from __future__ import annotations

import itertools
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
from messages.evse_manager import TokenValidated, ValidateToken
from messages.persistence import AuthEntry, ClearAuthCache, GetAuthData, StoreCacheEntry, StoreLocalList
from messages.station import IdTagInfoReceived

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext

__all__ = ["Auth"]

ASK_TIMEOUT_S = 5.0


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
    }
    SUBSCRIBES = (ConnectionChanged,)
    OPERATIONS: ClassVar[Mapping[str, str]] = {
        "SendLocalList": "_send_local_list",
        "GetLocalListVersion": "_get_local_list_version",
        "ClearCache": "_clear_cache",
    }

    def __init__(self, ctx: ActorContext, name: str, *, csms: str = "csms", persistence: str = "persistence") -> None:
        super().__init__(ctx, name)
        self._csms, self._persistence = csms, persistence
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
        self._answer(request, info.status, info.parent_id_tag or "")

    def _answer(self, request: ValidateToken, status: str, parent: str) -> None:
        self.tell(request.reply_to, TokenValidated(evse_id=request.evse_id, id_tag=request.id_tag, status=status,
                                                   parent_id_tag=parent, correlation=request.correlation))

    def _on_authorize_answer(self, msg: CallResultReceived | CallFailed) -> None:
        request = self._asked.pop(msg.correlation, None)
        if request is None:
            return
        if isinstance(msg, CallFailed):
            if msg.kind is FailureKind.OFFLINE:
                self._decide(request, online=False)  # the link is down: the offline rules decide
            else:
                self.log.warning("Authorize for %s failed (%s): refusing it", request.id_tag, msg.kind.value)
                self._answer(request, "Invalid", "")
            return
        info = msg.payload["idTagInfo"]
        self._remember_wire(request.id_tag, info)  # type: ignore[arg-type]
        self._answer(request, str(info["status"]), str(info.get("parentIdTag", "")))  # type: ignore[union-attr]

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
