"""The connector status machine against an independently written list of allowed moves."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.status_machine import (
    BASE_STATES,
    STATION_TRANSITIONS,
    TRANSITIONS,
    Status,
    StatusEvent,
    reported_status,
    transition,
)

# Written from the brief / libocpp's FSM_DEF, not from the module's table: (state, event, next).
_ALLOWED: set[tuple[str, str, str]] = {
    ("Available", "USAGE_INITIATED", "Preparing"),
    ("Available", "START_CHARGING", "Charging"),
    ("Available", "PAUSE_EV", "SuspendedEV"),
    ("Available", "PAUSE_EVSE", "SuspendedEVSE"),
    ("Available", "RESERVE", "Reserved"),
    ("Available", "BECOME_UNAVAILABLE", "Unavailable"),
    ("Preparing", "BECOME_AVAILABLE", "Available"),
    ("Preparing", "START_CHARGING", "Charging"),
    ("Preparing", "PAUSE_EV", "SuspendedEV"),
    ("Preparing", "PAUSE_EVSE", "SuspendedEVSE"),
    ("Preparing", "TX_STOPPED_USER_ACTION", "Finishing"),
    ("Preparing", "BECOME_UNAVAILABLE", "Unavailable"),
    ("Charging", "BECOME_AVAILABLE", "Available"),
    ("Charging", "PAUSE_EV", "SuspendedEV"),
    ("Charging", "PAUSE_EVSE", "SuspendedEVSE"),
    ("Charging", "TX_STOPPED_USER_ACTION", "Finishing"),
    ("Charging", "BECOME_UNAVAILABLE", "Unavailable"),
    ("SuspendedEV", "BECOME_AVAILABLE", "Available"),
    ("SuspendedEV", "START_CHARGING", "Charging"),
    ("SuspendedEV", "PAUSE_EVSE", "SuspendedEVSE"),
    ("SuspendedEV", "TX_STOPPED_USER_ACTION", "Finishing"),
    ("SuspendedEV", "BECOME_UNAVAILABLE", "Unavailable"),
    ("SuspendedEVSE", "BECOME_AVAILABLE", "Available"),
    ("SuspendedEVSE", "START_CHARGING", "Charging"),
    ("SuspendedEVSE", "PAUSE_EV", "SuspendedEV"),
    ("SuspendedEVSE", "TX_STOPPED_USER_ACTION", "Finishing"),
    ("SuspendedEVSE", "BECOME_UNAVAILABLE", "Unavailable"),
    ("Finishing", "BECOME_AVAILABLE", "Available"),
    ("Finishing", "USAGE_INITIATED", "Preparing"),
    ("Finishing", "BECOME_UNAVAILABLE", "Unavailable"),
    ("Reserved", "BECOME_AVAILABLE", "Available"),
    ("Reserved", "RESERVATION_END", "Available"),
    ("Reserved", "USAGE_INITIATED", "Preparing"),
    ("Reserved", "BECOME_UNAVAILABLE", "Unavailable"),
    ("Unavailable", "BECOME_AVAILABLE", "Available"),
    ("Unavailable", "USAGE_INITIATED", "Preparing"),
    ("Unavailable", "START_CHARGING", "Charging"),
    ("Unavailable", "PAUSE_EV", "SuspendedEV"),
    ("Unavailable", "PAUSE_EVSE", "SuspendedEVSE"),
}
_EXPECTED = {(state, event): nxt for state, event, nxt in _ALLOWED}

_BASE = [s for s in Status if s is not Status.FAULTED]
_PAIRS = list(itertools.product(_BASE, StatusEvent))


@pytest.mark.parametrize(("state", "event"), _PAIRS, ids=lambda x: getattr(x, "name", str(x)))
def test_every_pair_transitions_as_listed_or_not_at_all(state: Status, event: StatusEvent) -> None:
    expected = _EXPECTED.get((state.value, event.name))
    result = transition(state, event)
    assert result == (Status(expected) if expected else None)


def test_the_table_holds_exactly_the_allowed_moves() -> None:
    table = {(s.value, e.name, n.value) for s, moves in TRANSITIONS.items() for e, n in moves.items()}
    assert table == _ALLOWED
    assert set(TRANSITIONS) == set(_BASE) == BASE_STATES


@pytest.mark.parametrize(("state", "event"), _PAIRS, ids=lambda x: getattr(x, "name", str(x)))
def test_connector_zero_only_toggles_availability(state: Status, event: StatusEvent) -> None:
    station = {
        (Status.AVAILABLE, StatusEvent.BECOME_UNAVAILABLE): Status.UNAVAILABLE,
        (Status.UNAVAILABLE, StatusEvent.BECOME_AVAILABLE): Status.AVAILABLE,
    }
    assert transition(state, event, station=True) == station.get((state, event))


def test_connector_zero_table_has_two_states() -> None:
    assert set(STATION_TRANSITIONS) == {Status.AVAILABLE, Status.UNAVAILABLE}


@pytest.mark.parametrize("station", [False, True])
def test_faulted_is_not_a_base_state(station: bool) -> None:
    with pytest.raises(ValueError, match="Faulted"):
        transition(Status.FAULTED, StatusEvent.BECOME_AVAILABLE, station=station)


def test_the_table_cannot_be_changed_by_accident() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[Status.AVAILABLE][StatusEvent.RESERVE] = Status.CHARGING  # type: ignore[index]


@given(st.lists(st.sampled_from(StatusEvent), max_size=60), st.booleans())
def test_any_event_sequence_stays_in_the_base_states(events: list[StatusEvent], station: bool) -> None:
    state = Status.AVAILABLE
    for event in events:
        state = transition(state, event, station=station) or state
        assert state in BASE_STATES
        if station:
            assert state in {Status.AVAILABLE, Status.UNAVAILABLE}


@pytest.mark.parametrize("base", _BASE)
def test_reported_status_is_faulted_while_a_fault_is_active(base: Status) -> None:
    assert reported_status(base, faulted=True) is Status.FAULTED
    assert reported_status(base, faulted=False) is base


def test_status_values_are_the_wire_spelling() -> None:
    assert [s.value for s in Status] == [
        "Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE",
        "Finishing", "Reserved", "Unavailable", "Faulted",
    ]
    assert Status.SUSPENDED_EV == "SuspendedEV"
