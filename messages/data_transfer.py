"""The data_transfer and session_cost interfaces of the seed, as messages.

- The required ``data_transfer`` interface: a CSMS DataTransfer.req the charge point does not
  handle itself goes, as :class:`DataTransferRequest`, to the actor registered in the
  Directory under :data:`DATA_TRANSFER_REQUIREMENT` (an embedded handler, or the MQTT bus's
  proxy for an EVerest module), which answers with a :class:`DataTransferResult`.
- The provided ``data_transfer`` interface: :class:`SendDataTransfer` sends a DataTransfer.req
  to the CSMS; the answer comes back as :class:`DataTransferAnswered`.
- The provided ``session_cost`` interface (the OCA "California Pricing Requirements"
  whitepaper, vendorId ``org.openchargealliance.costmsg``): :class:`SessionCost`,
  :class:`TariffMessage` and :class:`DefaultPrice`, published on the bus.

Money is carried as integers, the price times 10 to the power ``decimals``
(NumberOfDecimalsForCostValues, 3 when not set), as EVerest does: no float rounding. The
decoders at the end turn the whitepaper's JSON into these events and raise :class:`Malformed`
on anything else.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from messages.payload import Payload, freeze

__all__ = [
    "COSTMSG_VENDOR_ID",
    "DATA_TRANSFER_REQUIREMENT",
    "ChargingPrice",
    "DataTransferAnswered",
    "DataTransferRequest",
    "DataTransferResult",
    "DataTransferStatus",
    "DefaultPrice",
    "IdlePrice",
    "Malformed",
    "NextPeriod",
    "PriceText",
    "SendDataTransfer",
    "SessionCost",
    "SessionCostStatus",
    "TariffMessage",
    "charging_price",
    "cost_transaction_id",
    "decode_data",
    "decode_session_cost",
    "json_object",
    "money",
    "price_texts",
    "text",
]

DATA_TRANSFER_REQUIREMENT = "requirement/data_transfer"
"""Directory name of the required data_transfer interface; nothing registered = not connected."""

COSTMSG_VENDOR_ID = "org.openchargealliance.costmsg"
"""The California pricing vendorId of DataTransfer."""


class DataTransferStatus(enum.Enum):
    """DataTransfer.conf status, plus EVerest's Offline (the CSMS could not be asked)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_MESSAGE_ID = "UnknownMessageId"
    UNKNOWN_VENDOR_ID = "UnknownVendorId"
    OFFLINE = "Offline"
    """Only from the charge point's side: no answer (offline, timed out, CALLERROR)."""


# --- the required data_transfer interface -------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DataTransferRequest:
    """Query (ask, DataTransfer → the requirement → :class:`DataTransferResult`): a CSMS
    DataTransfer.req that only the rest of the charger can answer."""

    vendor_id: str
    message_id: str | None = None
    """Absent when the CSMS sent none."""
    data: str | None = None
    """Free text (often JSON), as the CSMS sent it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataTransferResult:
    """Reply to :class:`DataTransferRequest`. Offline is answered to the CSMS as
    UnknownVendorId (as EVerest does)."""

    status: DataTransferStatus
    data: str | None = None


# --- the provided data_transfer interface -------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SendDataTransfer:
    """Command (tell, anyone → DataTransfer): send a DataTransfer.req to the CSMS.

    The answer is told to ``reply_to`` as :class:`DataTransferAnswered` with the same
    ``correlation``."""

    vendor_id: str
    message_id: str | None = None
    data: str | None = None
    reply_to: str | None = None
    """Name of the actor that wants the answer, or None when nobody does."""
    correlation: str = ""
    """Opaque to DataTransfer; lets the sender match the answer to its request."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataTransferAnswered:
    """Event (tell, DataTransfer → the sender of :class:`SendDataTransfer`): the CSMS's answer,
    or OFFLINE when there was none."""

    status: DataTransferStatus
    data: str | None = None
    correlation: str = ""
    reason: str = ""
    """Why the status is OFFLINE (not connected, timeout, the CALLERROR code, ...); else empty."""


# --- the provided session_cost interface --------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceText:
    """A text for the driver in one language (priceTextExtra of the whitepaper)."""

    content: str
    language: str = ""
    """IETF RFC 5646 code; empty = the station's default language."""
    format: str = "UTF8"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingPrice:
    """One component of a charging price."""

    category: str
    """``Energy`` (kWhPrice), ``Time`` (hourPrice) or ``FlatFee`` (flatFee)."""
    price: int
    """Price × 10^decimals."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IdlePrice:
    """Price for occupying the connector without charging."""

    grace_minutes: int | None = None
    hour_price: int | None = None
    """Price per hour × 10^decimals."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NextPeriod:
    """The prices that apply from ``at_time`` on."""

    at_time: str
    """RFC 3339, as the CSMS sent it."""
    charging_price: tuple[ChargingPrice, ...] = ()
    idle_price: IdlePrice | None = None


class SessionCostStatus(enum.Enum):
    """Where the session's cost stands: RunningCost → RUNNING, FinalCost → FINISHED."""

    RUNNING = "Running"
    FINISHED = "Finished"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionCost:
    """Event (published by DataTransfer): a RunningCost or FinalCost of a transaction."""

    status: SessionCostStatus
    transaction_id: int
    """The CSMS's transactionId."""
    evse_id: int
    """The EVSE (= OCPP connector) the transaction runs, or ran, on."""
    session_id: str = ""
    """The EVSE manager's id of the session; empty when it could not be found any more."""
    cost: int
    """Cost so far (Running) or in total (Finished), × 10^decimals."""
    decimals: int
    timestamp: str = ""
    """RunningCost's timestamp (RFC 3339), as sent."""
    meter_value_wh: int | None = None
    """RunningCost's meterValue."""
    state: str = ""
    """RunningCost's state (``Charging`` or ``Idle``)."""
    charging_price: tuple[ChargingPrice, ...] = ()
    idle_price: IdlePrice | None = None
    next_period: NextPeriod | None = None
    price_text: str = ""
    price_text_extra: tuple[PriceText, ...] = ()
    qr_code_text: str = ""
    data: Payload = field(default_factory=dict)  # type: ignore[assignment]
    """The whole JSON object the CSMS sent (triggerMeterValue and vendor fields included)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", freeze(self.data))


@dataclass(frozen=True, slots=True, kw_only=True)
class TariffMessage:
    """Event (published by DataTransfer): SetUserPrice, the tariff of one driver.

    Bound to the session when a transaction of that idToken runs, else to the idToken alone
    (``evse_id`` None)."""

    id_tag: str
    price_text: str
    price_text_extra: tuple[PriceText, ...] = ()
    evse_id: int | None = None
    session_id: str = ""
    transaction_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DefaultPrice:
    """Event (published by DataTransfer): the price to show when the CSMS gives none
    (CostAndPrice.DefaultPrice / DefaultPriceText), online or offline text."""

    online: bool
    """True: the online text (priceText); False: the offline one (priceTextOffline)."""
    price_text: str
    price_text_extra: tuple[PriceText, ...] = ()
    """The texts of DefaultPriceText, one per language."""
    charging_price: tuple[ChargingPrice, ...] = ()
    decimals: int = 3


# --- the whitepaper's JSON, decoded (pure) --------------------------------------------------
# The codec of DataTransfer's ``data`` for vendorId org.openchargealliance.costmsg, as
# messages/frames.py is the codec of OCPP-J frames: every check of the shape is here.

_PRICE_CATEGORIES = (("kWhPrice", "Energy"), ("hourPrice", "Time"), ("flatFee", "FlatFee"))


class Malformed(ValueError):
    """A pricing message (or default price) whose data is not what the whitepaper says."""


def money(value: object, decimals: int) -> int:
    """A price or cost as an integer: value × 10^decimals, rounded half up, without float error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        msg = f"not a number: {value!r}"
        raise Malformed(msg)
    return int((Decimal(str(value)) * (Decimal(10) ** decimals)).to_integral_value(ROUND_HALF_UP))


def json_object(value: object, what: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object (a dict, or a frozen mapping from the config)."""
    if not isinstance(value, Mapping):
        msg = f"{what} is not a JSON object"
        raise Malformed(msg)
    return value


def text(obj: Mapping[str, Any], key: str) -> str:
    """An optional string field; empty when absent."""
    value = obj.get(key, "")
    if not isinstance(value, str):
        msg = f"{key} is not a string"
        raise Malformed(msg)
    return value


def decode_data(data: str | None) -> Mapping[str, Any]:
    """DataTransfer's ``data``: text that must hold a JSON object."""
    if data is None:
        msg = "no data"
        raise Malformed(msg)
    try:
        decoded = json.loads(data)
    except ValueError as exc:
        msg = f"data is not JSON: {exc}"
        raise Malformed(msg) from exc
    return json_object(decoded, "data")


def charging_price(value: object, decimals: int) -> tuple[ChargingPrice, ...]:
    """chargingPrice {kWhPrice, hourPrice, flatFee} → Energy, Time, FlatFee (those present)."""
    obj = json_object(value, "chargingPrice")
    return tuple(ChargingPrice(category=category, price=money(obj[key], decimals))
                 for key, category in _PRICE_CATEGORIES if key in obj)


def _idle_price(value: object, decimals: int) -> IdlePrice:
    obj = json_object(value, "idlePrice")
    grace = obj.get("graceMinutes")
    if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int)):
        msg = "graceMinutes is not an integer"
        raise Malformed(msg)
    hour = obj.get("hourPrice")
    return IdlePrice(grace_minutes=grace, hour_price=None if hour is None else money(hour, decimals))


def _next_period(value: object, decimals: int) -> NextPeriod:
    obj = json_object(value, "nextPeriod")
    at_time = text(obj, "atTime")
    if not at_time:
        msg = "nextPeriod without atTime"
        raise Malformed(msg)
    return NextPeriod(at_time=at_time,
                      charging_price=charging_price(obj["chargingPrice"], decimals) if "chargingPrice" in obj else (),
                      idle_price=_idle_price(obj["idlePrice"], decimals) if "idlePrice" in obj else None)


def price_texts(value: object) -> tuple[PriceText, ...]:
    """priceTextExtra: [{format, language, content}]."""
    if value is None:
        return ()
    if not isinstance(value, list):
        msg = "priceTextExtra is not a list"
        raise Malformed(msg)
    texts = []
    for item in value:
        obj = json_object(item, "a priceTextExtra entry")
        texts.append(PriceText(content=text(obj, "content"), language=text(obj, "language"),
                               format=text(obj, "format") or "UTF8"))
    return tuple(texts)


def cost_transaction_id(obj: Mapping[str, Any]) -> int:
    """The transactionId of RunningCost / FinalCost (a number, or a string of digits)."""
    value = obj.get("transactionId")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"transactionId {value!r} is not an integer"
        raise Malformed(msg)
    return value


def decode_session_cost(obj: Mapping[str, Any], *, status: SessionCostStatus, decimals: int, evse_id: int,
                        session_id: str) -> SessionCost:
    """RunningCost / FinalCost data → :class:`SessionCost` (raises :class:`Malformed`)."""
    if "cost" not in obj:
        msg = "no cost"
        raise Malformed(msg)
    meter = obj.get("meterValue")
    if meter is not None and (isinstance(meter, bool) or not isinstance(meter, (int, float))):
        msg = "meterValue is not a number"
        raise Malformed(msg)
    return SessionCost(
        status=status, transaction_id=cost_transaction_id(obj), evse_id=evse_id, session_id=session_id,
        cost=money(obj["cost"], decimals), decimals=decimals, timestamp=text(obj, "timestamp"),
        meter_value_wh=None if meter is None else int(meter), state=text(obj, "state"),
        charging_price=charging_price(obj["chargingPrice"], decimals) if "chargingPrice" in obj else (),
        idle_price=_idle_price(obj["idlePrice"], decimals) if "idlePrice" in obj else None,
        next_period=_next_period(obj["nextPeriod"], decimals) if "nextPeriod" in obj else None,
        price_text=text(obj, "priceText"), price_text_extra=price_texts(obj.get("priceTextExtra")),
        qr_code_text=text(obj, "qrCodeText"), data=obj)
