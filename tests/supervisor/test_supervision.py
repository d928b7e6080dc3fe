"""Supervision of the real tree: restarts after crashes (in a message and in on_start),
restart intensity, and state that survives a crash because it was persisted."""

from __future__ import annotations

import pykka
import pytest

from conftest import CP_ID, wait_idle, wait_until
from messages.lifecycle import InjectCrash, Ping, Pong
from messages.persistence import GetAvailability, StoreAvailability, Stored

pytestmark = pytest.mark.timeout(60)


def incarnation(app, name):
    ref = app.ref(name)
    return ref.actor_urn if ref else None


def serving(app, name, old_urn):
    ref = app.ref(name)
    if ref is None or ref.actor_urn == old_urn:
        return False
    try:
        return isinstance(ref.ask(Ping(), timeout=2), Pong)
    except pykka.ActorDeadError:
        return False  # an incarnation that is failing its start


def test_crash_in_a_message_restarts_only_that_actor(csms, make_charge_point):
    app = make_charge_point(csms.url, evses=2)
    csms.wait_for("StatusNotification")
    wait_idle(app)
    before = {name: incarnation(app, name) for name in app.directory.names() if name != "supervisor"}
    app.ref("configuration").tell(InjectCrash())
    wait_until(lambda: serving(app, "configuration", before["configuration"]), what="a new configuration actor")
    after = {name: incarnation(app, name) for name in before}
    assert [name for name in before if before[name] != after[name]] == ["configuration"]
    assert csms.call(CP_ID, "GetConfiguration", {"key": ["HeartbeatInterval"]})["configurationKey"]
    assert csms.connections[-1] == csms.connections[0]  # the link never noticed


def test_crash_in_on_start_is_noticed_and_restarted(csms, make_charge_point):
    app = make_charge_point(csms.url)
    csms.wait_for("StatusNotification")
    first = incarnation(app, "evse/1")
    app.ref("evse/1").tell(InjectCrash(in_on_start=True))  # this one and the next incarnation fail
    wait_until(lambda: serving(app, "evse/1", first), what="evse/1 back after two failures")
    assert not app.gave_up.is_set()


def test_restart_intensity_exceeded_gives_up_and_stops_everything(csms, make_charge_point):
    app = make_charge_point(csms.url)
    csms.wait_for("StatusNotification")
    for _ in range(4):  # the limit is 3 restarts within 5 s; the manual clock does not move
        urn = incarnation(app, "configuration")
        app.ref("configuration").tell(InjectCrash())
        wait_until(lambda urn=urn: serving(app, "configuration", urn) or app.gave_up.is_set())
    assert app.gave_up.wait(5)
    assert "restart intensity exceeded" in app.give_up_reason
    assert "configuration" in app.give_up_reason
    wait_until(lambda: app.directory.names() == ["supervisor"], what="every child stopped")
    wait_until(lambda: not csms.connected(CP_ID), what="the CSMS link closed")


def test_persisted_state_survives_a_crash_of_persistence(csms, make_charge_point):
    app = make_charge_point(csms.url)
    csms.wait_for("StatusNotification")
    assert isinstance(app.directory.ask("persistence", StoreAvailability(connector_id=1, operative=False)), Stored)
    old = incarnation(app, "persistence")
    app.ref("persistence").tell(InjectCrash())
    wait_until(lambda: serving(app, "persistence", old))
    assert app.directory.ask("persistence", GetAvailability(connector_id=1)).operative is False


def test_a_restarted_charge_point_rebuilds_from_the_database(csms, make_charge_point, clock):
    app = make_charge_point(csms.url)
    csms.wait_for("StatusNotification")
    app.directory.ask("persistence", StoreAvailability(connector_id=1, operative=False))
    app.stop()
    csms.wait_for("StatusNotification")
    make_charge_point(csms.url)
    csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Unavailable")
