"""The pure parts of the MQTT bus: connections both ways, our subscriptions, and the session
state that session events move (docs/mqtt-bus.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from actors.bus_routing import Routes, advance_session_state, subscriptions, unknown_session_state
from actors.status_machine import Status, reconciled_status
from messages import everest
from messages.evse_manager import SessionEvent, SessionEventType, SessionState

E = SessionEventType


def routes(option: object = None, evses: int = 2) -> Routes:
    return Routes(everest.resolve_connections(option, evses))


def test_the_default_connections_both_ways() -> None:
    r = routes()
    assert r.target("evse_manager", 2) == everest.Connection("sim", "evse_manager_2")
    assert r.target("evse_energy_sink", 1) == everest.Connection("sim", "energy_sink_1")
    assert r.target("system", 0) == everest.Connection("sim", "system")
    assert r.target("evse_manager", 3) is None and r.target("evse_manager", 0) is None
    assert r.target("data_transfer", 0) is None
    assert r.source("sim", "evse_manager_2") == ("evse_manager", 2)
    assert r.source("sim", "reservation") == ("reservation", 0)
    assert r.source("other", "evse_manager_1") is None
    assert r.evses_of("sim") == (1, 2) and r.evses_of("other") == ()
    assert r.modules_of("auth") == frozenset({"sim"})


def test_connections_in_everest_shape() -> None:
    option = {"evse_manager": [{"module_id": "left", "implementation_id": "evse"},
                               {"module_id": "right", "implementation_id": "evse"}],
              "data_transfer": [{"module_id": "vendor", "implementation_id": "dt"}], "auth": []}
    r = routes(option)
    assert r.target("evse_manager", 2) == everest.Connection("right", "evse")
    assert r.source("left", "evse") == ("evse_manager", 1)
    assert r.evses_of("right") == (2,)
    assert r.target("data_transfer", 0) == everest.Connection("vendor", "dt")
    assert r.target("auth", 0) is None


def test_our_subscriptions() -> None:
    option = {"evse_manager": [{"module_id": "m", "implementation_id": "e1"}]}
    topics = subscriptions("ocpp", routes(option, 1), prefix="site/")
    assert {qos for _t, qos in topics} == {2}
    assert [t for t, _q in topics] == [
        "site/modules/ocpp/impl/+/cmd/+", "site/modules/+/impl/+/cmd/+/response/ocpp",
        "site/modules/m/impl/e1/var/+", "site/modules/sim/impl/energy_sink_1/var/+",
        "site/modules/sim/impl/system/var/+", "site/modules/sim/impl/reservation/var/+",
        "site/modules/sim/impl/auth/var/+", "site/modules/+/impl/+/error/#", "site/modules/+/ready", "site/ready"]


def event(kind: SessionEventType, **fields: object) -> SessionEvent:
    return SessionEvent(evse_id=1, event=kind, session_id="s", **fields)  # type: ignore[arg-type]


def test_session_events_move_a_known_state() -> None:
    state = replace(unknown_session_state(1), known=True)
    steps = [(event(E.SESSION_STARTED, reason="EVConnected"), dict(session_id="s", plugged=True)),
             (event(E.TRANSACTION_STARTED, id_tag="T", meter_wh=0.0), dict(transaction_active=True)),
             (event(E.CHARGING_STARTED), dict(charging=True)),
             (event(E.CHARGING_PAUSED_EV), dict(charging=False, paused_by="EV")),
             (event(E.CHARGING_STARTED), dict(charging=True, paused_by="")),
             (event(E.TRANSACTION_FINISHED, reason="Local", meter_wh=1.0), dict(transaction_active=False,
                                                                                charging=False)),
             (event(E.SESSION_FINISHED), dict(session_id="", plugged=False)),
             (event(E.DISABLED), dict(enabled=False)),
             (event(E.RESERVATION_START, id_tag="R"), dict(reserved_for="R"))]
    for step, expected in steps:
        state = advance_session_state(state, step)
        assert {k: getattr(state, k) for k in expected} == expected, step.event
    unplugged = advance_session_state(replace(state, plugged=True, transaction_active=True),
                                      event(E.TRANSACTION_FINISHED, reason="EVDisconnected", meter_wh=1.0))
    assert not unplugged.plugged


def test_an_unknown_state_stays_unknown() -> None:
    state = unknown_session_state(3)
    assert not state.known
    assert advance_session_state(state, event(E.SESSION_STARTED, reason="EVConnected")) == state


@pytest.mark.parametrize(("current", "account", "expected"), [
    (Status.PREPARING, dict(transaction_active=True, charging=True), Status.CHARGING),
    (Status.CHARGING, dict(transaction_active=True, paused_by="EV"), Status.SUSPENDED_EV),
    (Status.CHARGING, dict(transaction_active=True, paused_by="EVSE"), Status.SUSPENDED_EVSE),
    (Status.CHARGING, dict(session=True), Status.PREPARING),
    (Status.CHARGING, dict(session=True, stopped_transaction=True), Status.FINISHING),
    (Status.FINISHING, dict(session=True), Status.FINISHING),
    (Status.PREPARING, dict(session=True, stopped_transaction=True), Status.PREPARING),
    (Status.CHARGING, dict(), Status.AVAILABLE),
    (Status.CHARGING, dict(available=False), Status.UNAVAILABLE),
    (Status.AVAILABLE, dict(reserved=True), Status.RESERVED),
    (Status.UNAVAILABLE, dict(reserved=True, available=False), Status.UNAVAILABLE),
])
def test_reconciled_status(current: Status, account: dict, expected: Status) -> None:
    given = dict(transaction_active=False, charging=False, paused_by="", session=False, reserved=False,
                 available=True, stopped_transaction=False) | account
    assert reconciled_status(current, **given) is expected


def test_a_session_state_that_says_nothing() -> None:
    assert SessionState(evse_id=1, plugged=False, session_id="", transaction_active=False, charging=False).known
