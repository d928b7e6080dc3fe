"""Auth: decides who may charge (the auth_validator interface of the seed).

For now every token is checked online with Authorize.req. Offline (the link fails the call
at once) a token is accepted only when AllowOfflineTxForUnknownId says so; any other failure
(timeout, CALLERROR) refuses it as Invalid. The local list, the cache and reservations build
on this actor.

Accepts (tell): ValidateToken, CallResultReceived / CallFailed (answers to Authorize).
Emits: SendCall(Authorize) to the CSMS connection; TokenValidated to whoever asked.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from messages.csms import CallFailed, CallResultReceived, FailureKind, SendCall
from messages.evse_manager import TokenValidated, ValidateToken

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext

__all__ = ["Auth"]


class Auth(SupervisedActor):
    """Token validation (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        ValidateToken: "_on_validate_token",
        CallResultReceived: "_on_authorize_answer",
        CallFailed: "_on_authorize_answer",
    }

    def __init__(self, ctx: ActorContext, name: str, *, csms: str = "csms") -> None:
        super().__init__(ctx, name)
        self._csms = csms
        self._asked: dict[str, ValidateToken] = {}
        self._ids = itertools.count(1)

    def _on_validate_token(self, msg: ValidateToken) -> None:
        correlation = f"authorize:{next(self._ids)}"
        self._asked[correlation] = msg
        self.tell(self._csms, SendCall(action="Authorize", payload={"idTag": msg.id_tag[:20]},
                                       reply_to=self.name, correlation=correlation))

    def _on_authorize_answer(self, msg: CallResultReceived | CallFailed) -> None:
        request = self._asked.pop(msg.correlation, None)
        if request is None:
            return
        status, parent = "Invalid", ""
        if isinstance(msg, CallResultReceived):
            info = msg.payload["idTagInfo"]
            status, parent = str(info["status"]), str(info.get("parentIdTag", ""))  # type: ignore[union-attr]
        elif msg.kind is FailureKind.OFFLINE and self.ctx.config.get("AllowOfflineTxForUnknownId", False):
            status = "Accepted"
            self.log.info("offline: accepting %s (AllowOfflineTxForUnknownId)", request.id_tag)
        else:
            self.log.warning("Authorize for %s failed (%s): refusing it", request.id_tag, msg.kind.value)
        self.tell(request.reply_to, TokenValidated(evse_id=request.evse_id, id_tag=request.id_tag,
                                                   status=status, parent_id_tag=parent,
                                                   correlation=request.correlation))
