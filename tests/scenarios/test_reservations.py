"""Reservations (OCTT TC_046-TC_053 in spirit): the Reserved status, other tokens refused,
expiry on the injected clock, cancel, connector 0, parentIdTag, and a restart in between."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import CP_ID, settle, wait_until
from scenarios.steps import booted, statuses, wait_status
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(60)

RESERVATION = {"Core": {"SupportedFeatureProfiles": "Core,Reservation"}}


def reserve(csms, clock, connector=1, tag="VALID1", reservation_id=1, minutes=10, **extra):
    expiry = (clock.now() + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
    return csms.call(CP_ID, "ReserveNow", {"connectorId": connector, "expiryDate": expiry, "idTag": tag,
                                           "reservationId": reservation_id, **extra})["status"]


@pytest.fixture
def station(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=2, keys=RESERVATION)
    booted(csms, clock, app, evses=2)
    return app, SimController(app.directory)


def test_a_reserved_connector_serves_only_its_token_and_the_start_carries_the_reservation(csms, clock, station):
    app, sim = station
    assert reserve(csms, clock, reservation_id=7) == "Accepted"
    wait_status(csms, 1, "Reserved")
    sim.swipe(1, "STRANGER")
    csms.wait_for("Authorize", lambda p: p["idTag"] == "STRANGER")
    settle(app)
    assert statuses(csms, 1)[-1] == "Reserved"
    sim.swipe(1, "VALID1")
    wait_status(csms, 1, "Preparing")
    sim.plug_in(1)
    start = csms.wait_for("StartTransaction").payload
    assert (start["idTag"], start["reservationId"]) == ("VALID1", 7)
    wait_status(csms, 1, "Charging")
    assert csms.call(CP_ID, "CancelReservation", {"reservationId": 7}) == {"status": "Rejected"}  # used up


def test_remote_start_on_a_reserved_connector_only_for_its_token(csms, clock, station):
    app, sim = station
    reserve(csms, clock)
    wait_status(csms, 1, "Reserved")
    settle(app)
    assert csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "OTHER", "connectorId": 1}) == {"status": "Rejected"}
    assert csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "VALID1", "connectorId": 1}) == {"status": "Accepted"}
    wait_status(csms, 1, "Preparing")
    sim.plug_in(1)
    assert csms.wait_for("StartTransaction").payload["reservationId"] == 1


def test_a_reservation_expires_on_time(csms, clock, station):
    app, _sim = station
    reserve(csms, clock, minutes=5)
    wait_status(csms, 1, "Reserved")
    settle(app)
    clock.advance(299)
    settle(app)
    assert statuses(csms, 1)[-1] == "Reserved"
    clock.advance(1)
    wait_status(csms, 1, "Available")
    assert csms.call(CP_ID, "RemoteStartTransaction", {"idTag": "ANYONE", "connectorId": 1}) == {"status": "Accepted"}


def test_reservation_refusals(csms, clock, station):
    app, sim = station
    sim.plug_in(1)
    wait_status(csms, 1, "Preparing")
    assert reserve(csms, clock, connector=1) == "Occupied"
    csms.call(CP_ID, "ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})
    wait_status(csms, 2, "Unavailable")
    assert reserve(csms, clock, connector=2) == "Unavailable"
    csms.call(CP_ID, "ChangeAvailability", {"connectorId": 2, "type": "Operative"})
    sim.raise_error(2)
    wait_status(csms, 2, "Faulted")
    assert reserve(csms, clock, connector=2) == "Faulted"
    assert reserve(csms, clock, connector=3) == "Rejected"  # no such connector
    assert reserve(csms, clock, connector=0) == "Rejected"  # ReserveConnectorZeroSupported is off


def test_reservations_need_the_reservation_profile(csms, clock, make_charge_point):
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    assert reserve(csms, clock) == "Rejected"


def test_cancel_and_replace(csms, clock, station):
    app, _sim = station
    assert reserve(csms, clock, connector=1, reservation_id=5) == "Accepted"
    wait_status(csms, 1, "Reserved")
    assert reserve(csms, clock, connector=2, reservation_id=5) == "Accepted"  # the same id moves
    wait_status(csms, 1, "Available")
    wait_status(csms, 2, "Reserved")
    assert reserve(csms, clock, connector=2, reservation_id=6) == "Occupied"  # held by another reservation
    assert csms.call(CP_ID, "CancelReservation", {"reservationId": 5}) == {"status": "Accepted"}
    wait_status(csms, 2, "Available")
    assert csms.call(CP_ID, "CancelReservation", {"reservationId": 5}) == {"status": "Rejected"}


def test_connector_zero_reserves_a_free_connector(csms, clock, make_charge_point):
    keys = {**RESERVATION, "Reservation": {"ReserveConnectorZeroSupported": True}}
    app = make_charge_point(csms.url, evses=2, keys=keys)
    booted(csms, clock, app, evses=2)
    sim = SimController(app.directory)
    sim.plug_in(1)
    wait_status(csms, 1, "Preparing")
    assert reserve(csms, clock, connector=0) == "Accepted"
    wait_status(csms, 2, "Reserved")


def test_a_token_of_the_same_group_may_use_the_reservation(csms, clock, station):
    app, sim = station
    reserve(csms, clock, tag="VALID1", parentIdTag="PARENT")
    wait_status(csms, 1, "Reserved")
    csms.set_reply("Authorize", {"idTagInfo": {"status": "Accepted", "parentIdTag": "PARENT"}})
    sim.swipe(1, "VALID2")
    wait_status(csms, 1, "Preparing")


def test_a_reservation_survives_a_restart(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, evses=2, keys=RESERVATION)
    booted(csms, clock, app, evses=2)
    reserve(csms, clock, connector=2, minutes=5)
    wait_status(csms, 2, "Reserved")
    settle(app)
    app.stop()
    reborn = make_charge_point(csms.url, evses=2, keys=RESERVATION)
    csms.wait_for("BootNotification", after=len(csms.received))
    wait_until(lambda: statuses(csms, 2)[-1:] == ["Reserved"] and len(statuses(csms, 2)) == 3)
    settle(reborn)
    sim = SimController(reborn.directory)
    sim.swipe(2, "STRANGER")
    settle(reborn)
    assert statuses(csms, 2)[-1] == "Reserved"
    clock.advance(300)
    wait_status(csms, 2, "Available")


def test_reservations_pass_strict_validation(strict_csms, clock, make_charge_point):
    app = make_charge_point(strict_csms.url, keys=RESERVATION)
    wait_until(lambda: len(strict_csms.calls_in("StatusNotification")) == 2)
    settle(app)
    expiry = (clock.now() + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert strict_csms.call(CP_ID, "ReserveNow", {"connectorId": 1, "expiryDate": expiry, "idTag": "T",
                                                  "reservationId": 3}) == {"status": "Accepted"}
    assert strict_csms.call(CP_ID, "CancelReservation", {"reservationId": 3}) == {"status": "Accepted"}
    settle(app)
