"""DataTransfer: owner of the DataTransfer operation, both ways, and of California pricing.

CSMS → charge point (DataTransfer.req):
- vendorId ``org.openchargealliance.costmsg`` while CostAndPrice.CustomDisplayCostAndPrice is
  true: RunningCost / FinalCost publish a :class:`SessionCost` of the transaction (Rejected when
  the transaction is not known), SetUserPrice publishes a :class:`TariffMessage`; Accepted.
  Data that is not a JSON object of the right shape → Rejected; another messageId →
  UnknownMessageId. (Without CustomDisplayCostAndPrice that vendor is like any other.)
- any other vendorId: asked, as :class:`DataTransferRequest`, of the required data_transfer
  interface, the actor registered under ``requirement/data_transfer``, and answered with its
  :class:`DataTransferResult` (Offline → UnknownVendorId). Nothing registered (or it is dead)
  → UnknownVendorId; no answer within 5 s or an error → Rejected, logged.

Charge point → CSMS (the provided data_transfer interface): :class:`SendDataTransfer` becomes a
DataTransfer.req; the CSMS's status and data go back as :class:`DataTransferAnswered`, with
status Offline when there was no answer (not connected, timeout, CALLERROR, refused payload).
The sender and its correlation ride in the call's correlation, so an answer still finds its
way after a restart of this actor.

The transactionId of a cost message is mapped to the EVSE from the Evses' EvseStateChanged
events (asking them, GetEvseState, when it is not in view), and to the EVSE manager's session
id from the open transaction in Persistence. A transaction that ended stays known for the last
:data:`ENDED_KEPT` transactions (FinalCost usually comes after StopTransaction), but only in
memory: after a restart of this actor, only running ones are found.

:class:`DefaultPrice` (CostAndPrice.DefaultPrice / DefaultPriceText) is published at start
(the offline text, or the online one when a restart finds the link up), on every
ConnectionChanged, and when a ConfigurationChanged touches DefaultPrice* or
NumberOfDecimalsForCostValues; only when CustomDisplayCostAndPrice is on and the text is not
empty. Every key is read from the live config when it is used.

Accepts (tell): CallReceived (DataTransfer), SendDataTransfer, CallResultReceived / CallFailed
(answers to our DataTransfer.req), ConnectionChanged, ConfigurationChanged and EvseStateChanged
(published).
Emits: SendCallResult / SendCallError / SendCall(DataTransfer) to the CSMS connection;
DataTransferAnswered to the sender; SessionCost, TariffMessage, DefaultPrice (published);
asks DataTransferRequest of the requirement, GetEvseState of the Evses, GetOpenTransaction of
Persistence and GetLinkStats of the CSMS connection.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import pykka

from actors.base import SupervisedActor
from messages.csms import (
    CallFailed,
    CallReceived,
    CallResultReceived,
    ConnectionChanged,
    GetLinkStats,
    SendCall,
    SendCallError,
    SendCallResult,
)
from messages.configuration import ConfigurationChanged
from messages.data_transfer import (
    COSTMSG_VENDOR_ID,
    DATA_TRANSFER_REQUIREMENT,
    DataTransferAnswered,
    DataTransferRequest,
    DataTransferResult,
    DataTransferStatus,
    DefaultPrice,
    Malformed,
    PriceText,
    SendDataTransfer,
    SessionCostStatus,
    TariffMessage,
    charging_price,
    cost_transaction_id,
    decode_data,
    decode_session_cost,
    json_object,
    price_texts,
    text,
)
from messages.persistence import GetOpenTransaction
from messages.station import EvseStateChanged, GetEvseState

if TYPE_CHECKING:
    from actors.base import ActorContext

__all__ = ["ENDED_KEPT", "REQUIREMENT_TIMEOUT_S", "DataTransfer"]

REQUIREMENT_TIMEOUT_S = 5.0
"""How long the requirement may take; well inside the link's 10 s to answer the CSMS."""
ASK_TIMEOUT_S = 5.0
ENDED_KEPT = 64
"""Ended transactions remembered for a late FinalCost."""
DEFAULT_DECIMALS = 3
"""NumberOfDecimalsForCostValues when it is not set (libocpp's default)."""


@dataclass(slots=True)
class _Transaction:
    """What this actor knows of one CSMS transaction (its own state, never sent)."""

    evse_id: int
    active: bool = True
    session_id: str = ""
    id_tag: str = ""


class DataTransfer(SupervisedActor):
    """DataTransfer both ways and the session_cost interface (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        CallReceived: "_on_call",
        SendDataTransfer: "_on_send",
        CallResultReceived: "_on_answer",
        CallFailed: "_on_answer",
        ConnectionChanged: "_on_connection_changed",
        ConfigurationChanged: "_on_configuration_changed",
        EvseStateChanged: "_on_evse_state",
    }
    SUBSCRIBES = (ConnectionChanged, ConfigurationChanged, EvseStateChanged)
    """EvseStateChanged too, but from :meth:`started`: the Evses start (and publish) before us,
    and a subscription from the tree would log a miss for every one of them at every start."""
    PRICING: ClassVar[Mapping[str, str]] = {
        "RunningCost": "_running_cost",
        "FinalCost": "_final_cost",
        "SetUserPrice": "_set_user_price",
    }

    def __init__(self, ctx: ActorContext, name: str, *, csms: str = "csms",
                 persistence: str = "persistence") -> None:
        super().__init__(ctx, name)
        self._csms, self._persistence = csms, persistence
        self._transactions: OrderedDict[int, _Transaction] = OrderedDict()
        self._online = False

    def started(self) -> None:
        if self._pricing and self.ctx.directory.get(self._csms) is not None:  # a restart: the link may be up
            try:
                self._online = self.ctx.directory.ask(self._csms, GetLinkStats(), timeout=ASK_TIMEOUT_S).connected
            except (pykka.Timeout, pykka.ActorDeadError):
                self.log.warning("the CSMS connection did not say whether it is connected")
        self._publish_default_price()

    @property
    def _pricing(self) -> bool:
        """CostAndPrice.CustomDisplayCostAndPrice, read from the live config."""
        value = self.ctx.config.get("CustomDisplayCostAndPrice", False)
        return value is True or str(value).lower() == "true"

    @property
    def _decimals(self) -> int:
        value = self.ctx.config.get("NumberOfDecimalsForCostValues")
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else DEFAULT_DECIMALS

    # --- CSMS → charge point ------------------------------------------------------------

    def _on_call(self, msg: CallReceived) -> None:
        if msg.action != "DataTransfer":
            self.tell(self._csms, SendCallError(message_id=msg.message_id, error_code="NotSupported"))
            return
        vendor_id = str(msg.payload["vendorId"])
        message_id = msg.payload.get("messageId")
        data = msg.payload.get("data")
        message_id = None if message_id is None else str(message_id)
        data = None if data is None else str(data)
        if self._pricing and vendor_id.lower() == COSTMSG_VENDOR_ID:
            result = DataTransferResult(status=self._pricing_message(message_id, data))
        else:
            result = self._ask_requirement(DataTransferRequest(vendor_id=vendor_id, message_id=message_id, data=data))
        answer: dict[str, Any] = {"status": result.status.value}
        if result.data is not None:
            answer["data"] = result.data
        self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action, payload=answer))

    def _ask_requirement(self, request: DataTransferRequest) -> DataTransferResult:
        ref = self.ctx.directory.get(DATA_TRANSFER_REQUIREMENT)
        if ref is None:
            return DataTransferResult(status=DataTransferStatus.UNKNOWN_VENDOR_ID)
        try:
            result = ref.ask(request, timeout=REQUIREMENT_TIMEOUT_S)
        except pykka.ActorDeadError:
            self.log.warning("the data_transfer requirement is gone; %s is an unknown vendor", request.vendor_id)
            return DataTransferResult(status=DataTransferStatus.UNKNOWN_VENDOR_ID)
        except pykka.Timeout:
            self.log.error("the data_transfer requirement did not answer %s/%s within %g s",
                           request.vendor_id, request.message_id, REQUIREMENT_TIMEOUT_S)
            return DataTransferResult(status=DataTransferStatus.REJECTED)
        except Exception:  # the requirement's own failure must not take us down
            self.log.exception("the data_transfer requirement failed on %s/%s", request.vendor_id, request.message_id)
            return DataTransferResult(status=DataTransferStatus.REJECTED)
        if not isinstance(result, DataTransferResult) or not isinstance(result.status, DataTransferStatus) \
                or not isinstance(result.data, (str, type(None))):
            self.log.error("the data_transfer requirement answered %r; rejecting", result)
            return DataTransferResult(status=DataTransferStatus.REJECTED)
        if result.status is DataTransferStatus.OFFLINE:
            return DataTransferResult(status=DataTransferStatus.UNKNOWN_VENDOR_ID)
        return result

    # --- California pricing ---------------------------------------------------------------

    def _pricing_message(self, message_id: str | None, data: str | None) -> DataTransferStatus:
        method = self.PRICING.get(message_id or "")
        if method is None:
            return DataTransferStatus.UNKNOWN_MESSAGE_ID
        try:
            return getattr(self, method)(decode_data(data))
        except Malformed as exc:
            self.log.warning("%s rejected: %s", message_id, exc)
            return DataTransferStatus.REJECTED

    def _running_cost(self, obj: Mapping[str, Any]) -> DataTransferStatus:
        return self._session_cost(obj, SessionCostStatus.RUNNING)

    def _final_cost(self, obj: Mapping[str, Any]) -> DataTransferStatus:
        return self._session_cost(obj, SessionCostStatus.FINISHED)

    def _session_cost(self, obj: Mapping[str, Any], status: SessionCostStatus) -> DataTransferStatus:
        transaction_id = cost_transaction_id(obj)
        known = self._find(transaction_id)
        if known is None:
            self.log.warning("%s for unknown transaction %d rejected", status.value, transaction_id)
            return DataTransferStatus.REJECTED
        self.publish(decode_session_cost(obj, status=status, decimals=self._decimals, evse_id=known.evse_id,
                                         session_id=known.session_id))
        return DataTransferStatus.ACCEPTED

    def _set_user_price(self, obj: Mapping[str, Any]) -> DataTransferStatus:
        id_tag = text(obj, "idToken")
        if not id_tag:
            msg = "no idToken"
            raise Malformed(msg)
        tariff = TariffMessage(id_tag=id_tag, price_text=text(obj, "priceText"),
                               price_text_extra=price_texts(obj.get("priceTextExtra")))
        found = self._running_for(id_tag)
        if found is None:
            self._refresh_all()
            found = self._running_for(id_tag)
        if found is not None:
            transaction_id, known = found
            tariff = replace(tariff, evse_id=known.evse_id, session_id=known.session_id,
                             transaction_id=transaction_id)
        self.publish(tariff)
        return DataTransferStatus.ACCEPTED

    # --- transactionId → EVSE and session --------------------------------------------------

    def _on_evse_state(self, msg: EvseStateChanged) -> None:
        if not self._pricing:
            return
        for transaction_id, known in self._transactions.items():
            if known.evse_id == msg.evse_id and known.active and not (
                    msg.transaction_active and msg.transaction_id == transaction_id):
                known.active = False
        if msg.transaction_active and msg.transaction_id is not None:
            known = self._transactions.get(msg.transaction_id)
            if known is None or known.evse_id != msg.evse_id:
                known = self._transactions[msg.transaction_id] = _Transaction(evse_id=msg.evse_id)
                self._resolve(msg.transaction_id, known)
            known.active = True
            self._transactions.move_to_end(msg.transaction_id)
        ended = [t for t, known in self._transactions.items() if not known.active]
        for transaction_id in ended[:max(0, len(ended) - ENDED_KEPT)]:
            del self._transactions[transaction_id]

    def _resolve(self, transaction_id: int, known: _Transaction) -> None:
        """Session id and idTag of a transaction, from its open record in Persistence."""
        try:
            record = self.ctx.directory.ask(self._persistence, GetOpenTransaction(connector_id=known.evse_id),
                                            timeout=ASK_TIMEOUT_S).record
        except (pykka.Timeout, pykka.ActorDeadError):
            self.log.warning("no transaction record for EVSE %d", known.evse_id)
            return
        if record is not None and record.transaction_id == transaction_id:
            known.session_id, known.id_tag = record.session_id, record.id_tag

    def _find(self, transaction_id: int) -> _Transaction | None:
        known = self._transactions.get(transaction_id)
        if known is None:  # not in view (e.g. we restarted): ask the EVSEs
            self._refresh_all()
            known = self._transactions.get(transaction_id)
        if known is not None and not known.session_id and known.active:
            self._resolve(transaction_id, known)
        return known

    def _running_for(self, id_tag: str) -> tuple[int, _Transaction] | None:
        for transaction_id, known in reversed(self._transactions.items()):
            if known.active and not known.id_tag:
                self._resolve(transaction_id, known)
            if known.active and known.id_tag.lower() == id_tag.lower():
                return transaction_id, known
        return None

    def _refresh_all(self) -> None:
        """Ask every running Evse for its state (all at once, then wait)."""
        futures = {name: ref.ask(GetEvseState(), block=False) for name in self.ctx.directory.names("evse/")
                   if (ref := self.ctx.directory.get(name)) is not None}
        for name, future in futures.items():
            try:
                self._on_evse_state(future.get(timeout=ASK_TIMEOUT_S))
            except (pykka.Timeout, pykka.ActorDeadError):
                self.log.warning("%s did not answer", name)

    # --- default price ------------------------------------------------------------------------

    def _on_connection_changed(self, msg: ConnectionChanged) -> None:
        self._online = msg.connected
        self._publish_default_price()

    def _on_configuration_changed(self, msg: ConfigurationChanged) -> None:
        if msg.key.lower().startswith("defaultprice") or msg.key.lower() == "numberofdecimalsforcostvalues":
            self._publish_default_price()

    def _publish_default_price(self) -> None:
        if not self._pricing:
            return
        online = self._online
        key = "priceText" if online else "priceTextOffline"
        try:
            default = _config_object(self.ctx.config.get("DefaultPrice"), "DefaultPrice")
            shown = text(default, key)
            extra = _config_object(self.ctx.config.get("DefaultPriceText"), "DefaultPriceText").get("priceTexts", ())
            texts = tuple(PriceText(content=text(item, key), language=text(item, "language"))
                          for item in extra if isinstance(item, Mapping) and item.get(key))
            prices = charging_price(default["chargingPrice"], self._decimals) if "chargingPrice" in default else ()
        except Malformed as exc:
            self.log.warning("no default price: %s", exc)
            return
        if shown:
            self.publish(DefaultPrice(online=online, price_text=shown, price_text_extra=texts,
                                      charging_price=prices, decimals=self._decimals))

    # --- charge point → CSMS --------------------------------------------------------------------

    def _on_send(self, msg: SendDataTransfer) -> None:
        payload: dict[str, Any] = {"vendorId": msg.vendor_id}
        if msg.message_id is not None:
            payload["messageId"] = msg.message_id
        if msg.data is not None:
            payload["data"] = msg.data
        correlation = json.dumps([msg.reply_to, msg.correlation])
        if not self.tell(self._csms, SendCall(action="DataTransfer", payload=payload, reply_to=self.name,
                                              correlation=correlation)):
            self._reply(msg.reply_to, DataTransferAnswered(status=DataTransferStatus.OFFLINE,
                                                           correlation=msg.correlation, reason="no CSMS connection"))

    def _on_answer(self, msg: CallResultReceived | CallFailed) -> None:
        try:
            reply_to, correlation = json.loads(msg.correlation)
        except (ValueError, TypeError):
            self.log.warning("answer to %s with a foreign correlation %r dropped", msg.action, msg.correlation)
            return
        if isinstance(msg, CallFailed):
            reason = " ".join(filter(None, (msg.kind.value, msg.error_code, msg.description)))
            self.log.warning("DataTransfer failed: %s", reason)
            answer = DataTransferAnswered(status=DataTransferStatus.OFFLINE, correlation=correlation, reason=reason)
        else:
            data = msg.payload.get("data")
            answer = DataTransferAnswered(status=DataTransferStatus(msg.payload["status"]), correlation=correlation,
                                          data=None if data is None else str(data))
        self._reply(reply_to, answer)

    def _reply(self, reply_to: str | None, answer: DataTransferAnswered) -> None:
        if reply_to is not None:
            self.tell(reply_to, answer)


def _config_object(value: object, key: str) -> Mapping[str, Any]:
    """A JSON-object configuration value; ChangeConfiguration may have stored it as text."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            msg = f"{key} is not JSON"
            raise Malformed(msg) from exc
    return json_object(value, key)
