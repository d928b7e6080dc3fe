"""DataTransfer both ways (issue 7): the CSMS's requests to the data_transfer requirement or
to California pricing (OCTT TC_062 and the OCA whitepaper), and the charge point's own
DataTransfer.req through the provided data_transfer interface."""

from __future__ import annotations

import json
import threading
import time

import pykka
import pytest

from conftest import CP_ID, settle, wait_idle, wait_until
from messages.csms import GetLinkStats
from messages.data_transfer import (
    COSTMSG_VENDOR_ID,
    DATA_TRANSFER_REQUIREMENT,
    ChargingPrice,
    DataTransferAnswered,
    DataTransferRequest,
    DataTransferResult,
    DataTransferStatus,
    DefaultPrice,
    IdlePrice,
    PriceText,
    SendDataTransfer,
    SessionCost,
    SessionCostStatus,
    TariffMessage,
)
from messages.evse_manager import GetSessionState
from messages.lifecycle import InjectCrash
from scenarios.steps import booted, of_type, record, start_charging
from supervisor.local_csms import NO_REPLY, CallErrorReply
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(60)

PRICING = {"CostAndPrice": {
    "CustomDisplayCostAndPrice": True,
    "NumberOfDecimalsForCostValues": 2,
    "DefaultPrice": {"priceText": "0.25 EUR/kWh", "priceTextOffline": "0.30 EUR/kWh (offline)",
                     "chargingPrice": {"kWhPrice": 0.25, "hourPrice": 0, "flatFee": 0.5}},
    "DefaultPriceText": {"priceTexts": [{"priceText": "0,25 EUR/kWh", "priceTextOffline": "0,30 EUR/kWh",
                                         "language": "nl"}]},
}}
TRANSACTION_ID = 4242
COLLECTOR = "test/collector"
ASKER = "test/asker"


class FakeRequirement(pykka.ThreadingActor):
    """The required data_transfer interface: answers every request with ``answer(request)``."""

    def __init__(self, requests: list[DataTransferRequest], answer) -> None:
        super().__init__()
        self.requests, self.answer = requests, answer

    def on_receive(self, message: object) -> object:
        self.requests.append(message)
        return self.answer(message)


def connect_requirement(app, answer) -> list[DataTransferRequest]:
    requests: list[DataTransferRequest] = []
    app.directory.register(DATA_TRANSFER_REQUIREMENT, FakeRequirement.start(requests, answer))
    return requests


def data_transfer(csms, message_id: str | None, data: object = None, vendor_id: str = COSTMSG_VENDOR_ID) -> dict:
    payload = {"vendorId": vendor_id}
    if message_id is not None:
        payload["messageId"] = message_id
    if data is not None:
        payload["data"] = data if isinstance(data, str) else json.dumps(data)
    return csms.call(CP_ID, "DataTransfer", payload)


@pytest.fixture
def station(csms, clock, make_charge_point):
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    return app


@pytest.fixture
def pricing(csms, clock, make_charge_point):
    """A charge point with California pricing on; its published events are recorded from the start."""
    app = make_charge_point(csms.url, keys=PRICING, start=False)
    seen = record(app, COLLECTOR, SessionCost, TariffMessage, DefaultPrice)
    app.start()
    booted(csms, clock, app)
    return app, seen


# --- CSMS → charge point: the data_transfer requirement -------------------------------------


def test_tc_062_unknown_vendor_when_no_requirement_is_connected(csms, station):
    assert data_transfer(csms, "MSGID", "some data", vendor_id="VENID") == {"status": "UnknownVendorId"}
    assert data_transfer(csms, None, vendor_id="VENID") == {"status": "UnknownVendorId"}


def test_a_connected_requirement_answers_the_csms(csms, station):
    requests = connect_requirement(station, lambda r: DataTransferResult(
        status=DataTransferStatus.ACCEPTED, data=f"pong:{r.data}"))
    assert data_transfer(csms, "MSGID", "ping", vendor_id="VENID") == {"status": "Accepted", "data": "pong:ping"}
    assert requests == [DataTransferRequest(vendor_id="VENID", message_id="MSGID", data="ping")]
    assert data_transfer(csms, None, vendor_id="OTHER") == {"status": "Accepted", "data": "pong:None"}
    assert requests[-1] == DataTransferRequest(vendor_id="OTHER")


def test_the_requirements_statuses_and_failures(csms, station, monkeypatch):
    answers = iter([DataTransferResult(status=DataTransferStatus.UNKNOWN_MESSAGE_ID),
                    DataTransferResult(status=DataTransferStatus.OFFLINE),  # EVerest: → UnknownVendorId
                    "not a result"])
    connect_requirement(station, lambda _r: next(answers))
    assert data_transfer(csms, "M", vendor_id="V") == {"status": "UnknownMessageId"}
    assert data_transfer(csms, "M", vendor_id="V") == {"status": "UnknownVendorId"}
    assert data_transfer(csms, "M", vendor_id="V") == {"status": "Rejected"}

    def broken(_request):
        msg = "the requirement failed"
        raise RuntimeError(msg)
    connect_requirement(station, broken)
    assert data_transfer(csms, "M", vendor_id="V") == {"status": "Rejected"}

    monkeypatch.setattr("actors.data_transfer.REQUIREMENT_TIMEOUT_S", 0.2)
    release = threading.Event()
    connect_requirement(station, lambda _r: release.wait(5) and DataTransferResult(status=DataTransferStatus.ACCEPTED))
    started = time.monotonic()
    assert data_transfer(csms, "M", vendor_id="V") == {"status": "Rejected"}
    assert time.monotonic() - started < 3
    release.set()
    assert station.ref("data_transfer") is not None  # none of it hurt the actor

    gone = station.directory.get(DATA_TRANSFER_REQUIREMENT)
    gone.stop()
    assert data_transfer(csms, "M", vendor_id="V") == {"status": "UnknownVendorId"}


# --- CSMS → charge point: California pricing --------------------------------------------------


def running_cost(transaction_id=TRANSACTION_ID, **extra) -> dict:
    return {"transactionId": transaction_id, "timestamp": "2024-05-01T10:00:00Z", "meterValue": 1234,
            "cost": 1.237, "state": "Charging", "chargingPrice": {"kWhPrice": 0.25, "hourPrice": 1, "flatFee": 0},
            "idlePrice": {"graceMinutes": 30, "hourPrice": 2.5},
            "nextPeriod": {"atTime": "2024-05-01T18:00:00Z", "chargingPrice": {"kWhPrice": 0.35}},
            "triggerMeterValue": {"atEnergykWh": 10},
            "priceText": "1.24 EUR", "priceTextExtra": [{"format": "UTF8", "language": "nl", "content": "1,24 EUR"}],
            "qrCodeText": "https://pay.example/42", **extra}


def charging(csms, app, tag="TAG1"):
    csms.set_reply("StartTransaction", {"transactionId": TRANSACTION_ID, "idTagInfo": {"status": "Accepted"}})
    sim = SimController(app.directory)
    start_charging(csms, sim, tag=tag)
    settle(app)
    return sim


def test_running_cost_of_a_running_transaction_is_published(csms, pricing):
    app, seen = pricing
    charging(csms, app)
    assert data_transfer(csms, "RunningCost", running_cost()) == {"status": "Accepted"}
    wait_until(lambda: of_type(seen, SessionCost), what="a SessionCost")
    (cost,) = of_type(seen, SessionCost)
    session = app.directory.ask("simulator", GetSessionState(evse_id=1)).session_id
    assert (cost.status, cost.transaction_id, cost.evse_id, cost.session_id) == (
        SessionCostStatus.RUNNING, TRANSACTION_ID, 1, session)
    assert session
    assert (cost.cost, cost.decimals, cost.meter_value_wh, cost.state) == (124, 2, 1234, "Charging")
    assert cost.charging_price == (ChargingPrice(category="Energy", price=25), ChargingPrice(category="Time", price=100),
                                   ChargingPrice(category="FlatFee", price=0))
    assert cost.idle_price == IdlePrice(grace_minutes=30, hour_price=250)
    assert cost.next_period.at_time == "2024-05-01T18:00:00Z"
    assert cost.next_period.charging_price == (ChargingPrice(category="Energy", price=35),)
    assert cost.price_text_extra == (PriceText(content="1,24 EUR", language="nl"),)
    assert (cost.price_text, cost.qr_code_text) == ("1.24 EUR", "https://pay.example/42")
    assert cost.data["triggerMeterValue"] == {"atEnergykWh": 10}


def test_pricing_refusals(csms, pricing):
    app, seen = pricing
    charging(csms, app)
    assert data_transfer(csms, "RunningCost", running_cost(transaction_id=999)) == {"status": "Rejected"}
    assert data_transfer(csms, "FinalCost", {"transactionId": 999, "cost": 1}) == {"status": "Rejected"}
    assert data_transfer(csms, "RunningCost", "{not json") == {"status": "Rejected"}
    assert data_transfer(csms, "RunningCost", None) == {"status": "Rejected"}
    assert data_transfer(csms, "RunningCost", "[1, 2]") == {"status": "Rejected"}
    assert data_transfer(csms, "RunningCost", running_cost(cost="a lot")) == {"status": "Rejected"}
    assert data_transfer(csms, "SetUserPrice", {"priceText": "no token"}) == {"status": "Rejected"}
    assert data_transfer(csms, "SomethingElse", running_cost()) == {"status": "UnknownMessageId"}
    assert data_transfer(csms, None, running_cost()) == {"status": "UnknownMessageId"}
    settle(app)
    assert not of_type(seen, SessionCost)
    assert not of_type(seen, TariffMessage)


def test_final_cost_after_the_transaction_ended_and_user_prices(csms, pricing):
    app, seen = pricing
    sim = charging(csms, app, tag="DRIVER1")
    assert data_transfer(csms, "SetUserPrice", {"idToken": "driver1", "priceText": "0.25/kWh"}) == {
        "status": "Accepted"}
    assert data_transfer(csms, "SetUserPrice", {"idToken": "SOMEONE", "priceText": "0.40/kWh", "priceTextExtra": [
        {"format": "UTF8", "language": "de", "content": "0,40/kWh"}]}) == {"status": "Accepted"}
    sim.swipe(1, "DRIVER1")
    csms.wait_for("StopTransaction")
    settle(app)
    assert data_transfer(csms, "FinalCost", {"transactionId": str(TRANSACTION_ID), "cost": 3.5,
                                             "priceText": "3.50 EUR"}) == {"status": "Accepted"}
    wait_until(lambda: of_type(seen, SessionCost) and len(of_type(seen, TariffMessage)) == 2)
    session = of_type(seen, TariffMessage)[0].session_id
    assert session
    assert of_type(seen, TariffMessage) == [
        TariffMessage(id_tag="driver1", price_text="0.25/kWh", evse_id=1, session_id=session,
                      transaction_id=TRANSACTION_ID),
        TariffMessage(id_tag="SOMEONE", price_text="0.40/kWh",
                      price_text_extra=(PriceText(content="0,40/kWh", language="de"),)),
    ]
    (final,) = of_type(seen, SessionCost)
    assert (final.status, final.transaction_id, final.evse_id, final.session_id, final.cost, final.price_text) == (
        SessionCostStatus.FINISHED, TRANSACTION_ID, 1, session, 350, "3.50 EUR")


def test_a_restarted_data_transfer_actor_still_finds_the_running_transaction(csms, pricing):
    app, seen = pricing
    charging(csms, app)
    crashed = app.ref("data_transfer").actor_urn
    app.ref("data_transfer").tell(InjectCrash())
    wait_until(lambda: app.ref("data_transfer") is not None and app.ref("data_transfer").actor_urn != crashed)
    settle(app)
    assert data_transfer(csms, "RunningCost", running_cost()) == {"status": "Accepted"}
    wait_until(lambda: of_type(seen, SessionCost))
    assert of_type(seen, SessionCost)[0].evse_id == 1
    assert of_type(seen, SessionCost)[0].session_id


def test_without_custom_display_cost_and_price_the_pricing_vendor_is_like_any_other(csms, station):
    assert data_transfer(csms, "RunningCost", running_cost()) == {"status": "UnknownVendorId"}
    requests = connect_requirement(station, lambda _r: DataTransferResult(status=DataTransferStatus.REJECTED))
    assert data_transfer(csms, "RunningCost", running_cost()) == {"status": "Rejected"}
    assert requests[0].vendor_id == COSTMSG_VENDOR_ID


def test_default_price_at_start_and_on_every_connection_change(csms, clock, pricing):
    app, seen = pricing
    wait_until(lambda: len(of_type(seen, DefaultPrice)) == 2)
    offline, online = of_type(seen, DefaultPrice)
    assert offline == DefaultPrice(online=False, price_text="0.30 EUR/kWh (offline)", decimals=2,
                                   price_text_extra=(PriceText(content="0,30 EUR/kWh", language="nl"),),
                                   charging_price=(ChargingPrice(category="Energy", price=25),
                                                   ChargingPrice(category="Time", price=0),
                                                   ChargingPrice(category="FlatFee", price=50)))
    assert (online.online, online.price_text, online.price_text_extra) == (
        True, "0.25 EUR/kWh", (PriceText(content="0,25 EUR/kWh", language="nl"),))
    csms.drop(CP_ID)
    wait_until(lambda: len(of_type(seen, DefaultPrice)) == 3)
    assert of_type(seen, DefaultPrice)[-1].online is False


def test_no_default_price_without_custom_display_cost_and_price(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys={"CostAndPrice": {**PRICING["CostAndPrice"],
                                                             "CustomDisplayCostAndPrice": False}}, start=False)
    seen = record(app, COLLECTOR, DefaultPrice)
    app.start()
    booted(csms, clock, app)
    settle(app)
    assert seen == []


# --- charge point → CSMS: the provided data_transfer interface -------------------------------


def answered(seen, correlation: str) -> DataTransferAnswered:
    wait_until(lambda: any(a.correlation == correlation for a in of_type(seen, DataTransferAnswered)),
               what=f"the answer to {correlation}")
    (answer,) = [a for a in of_type(seen, DataTransferAnswered) if a.correlation == correlation]
    return answer


def send(app, seen, correlation: str, **fields) -> DataTransferAnswered:
    app.directory.tell("data_transfer", SendDataTransfer(reply_to=ASKER, correlation=correlation, **fields))
    return answered(seen, correlation)


def test_the_charge_points_data_transfer_is_answered_by_the_csms(csms, station):
    seen = record(station, ASKER)
    csms.set_reply("DataTransfer", lambda _cp, p: {"status": "Accepted", "data": f"echo {p.get('data')}"})
    answer = send(station, seen, "one", vendor_id="com.example", message_id="Hello", data="world")
    assert answer == DataTransferAnswered(status=DataTransferStatus.ACCEPTED, data="echo world", correlation="one")
    assert csms.wait_for("DataTransfer").payload == {"vendorId": "com.example", "messageId": "Hello", "data": "world"}
    csms.set_reply("DataTransfer", {"status": "UnknownMessageId"})
    assert send(station, seen, "two", vendor_id="com.example").status is DataTransferStatus.UNKNOWN_MESSAGE_ID
    assert csms.received[-1].payload == {"vendorId": "com.example"}


def test_offline_when_the_csms_errs_does_not_answer_or_is_gone(csms, clock, station):
    seen = record(station, ASKER)
    csms.set_reply("DataTransfer", CallErrorReply("InternalError", "no"))
    answer = send(station, seen, "callerror", vendor_id="V")
    assert (answer.status, answer.data) == (DataTransferStatus.OFFLINE, None)
    assert "InternalError" in answer.reason

    csms.set_reply("DataTransfer", NO_REPLY)
    before = len(csms.received)
    station.directory.tell("data_transfer", SendDataTransfer(vendor_id="V", reply_to=ASKER, correlation="silent"))
    csms.wait_for("DataTransfer", after=before)
    station.wait_quiet()
    assert not of_type(seen, DataTransferAnswered)[1:]
    clock.advance(30)  # the link's call timeout
    answer = answered(seen, "silent")
    assert (answer.status, answer.reason) == (DataTransferStatus.OFFLINE, "Timeout no answer from the CSMS")

    csms.drop(CP_ID)
    wait_until(lambda: not station.directory.ask("csms", GetLinkStats()).connected, what="the link down")
    answer = send(station, seen, "offline", vendor_id="V")
    assert answer.status is DataTransferStatus.OFFLINE
    assert answer.reason


# --- the same against the strict CSMS ------------------------------------------------------------


def test_data_transfer_both_ways_pass_strict_validation(strict_csms, clock, make_charge_point):
    app = make_charge_point(strict_csms.url, keys=PRICING)
    strict_csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1)
    wait_idle(app)
    assert strict_csms.call(CP_ID, "DataTransfer", {"vendorId": "VENID", "messageId": "MSGID"}) == {
        "status": "UnknownVendorId"}  # TC_062
    assert strict_csms.call(CP_ID, "DataTransfer", {"vendorId": COSTMSG_VENDOR_ID, "messageId": "RunningCost",
                                                    "data": json.dumps(running_cost())}) == {"status": "Rejected"}
    connect_requirement(app, lambda _r: DataTransferResult(status=DataTransferStatus.ACCEPTED, data="ok"))
    assert strict_csms.call(CP_ID, "DataTransfer", {"vendorId": "VENID", "data": "x"}) == {
        "status": "Accepted", "data": "ok"}
    seen = record(app, ASKER)
    answer = send(app, seen, "strict", vendor_id="com.example", message_id="Hello", data="world")
    assert answer.status is DataTransferStatus.UNKNOWN_VENDOR_ID  # the strict CSMS knows no vendors
    strict_csms.set_reply(CP_ID, "DataTransfer", {"status": "Accepted", "data": "hi"})
    assert send(app, seen, "strict2", vendor_id="com.example") == DataTransferAnswered(
        status=DataTransferStatus.ACCEPTED, data="hi", correlation="strict2")


# --- the whitepaper's JSON (pure) ------------------------------------------------------------------


def test_money_is_an_integer_without_float_error_and_bad_values_are_malformed():
    from messages.data_transfer import Malformed, money
    assert money(0.285, 2) == 29  # 0.285 * 100 is 28.499999... in floats
    assert money(1.2345, 3) == 1235
    assert money(7, 3) == 7000
    assert money(-0.5, 0) == -1
    for bad in (True, "1.0", None, float("nan"), float("inf")):
        with pytest.raises(Malformed):
            money(bad, 2)
