"""The OCPP 1.6 connector status machine, as a table (libocpp's per-connector FSM).

A table rather than code so the allowed moves can be read, and checked, at a glance. The
machine covers the *base* states only: Faulted is not a place you move to but an overlay
that hides the base state while any fault is active (see :func:`reported_status`), so a
connector that recovers from a fault comes back to wherever its session has got to.

Events with no entry in the table are not errors: the Evse actor logs and ignores them,
as libocpp does (a ChargingStarted while Finishing, say, is a race, not a bug).
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "BASE_STATES",
    "STATION_TRANSITIONS",
    "TRANSITIONS",
    "Status",
    "StatusEvent",
    "reconciled_status",
    "reported_status",
    "transition",
]


class Status(str, enum.Enum):
    """OCPP 1.6 ChargePointStatus; the value is the wire spelling."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class StatusEvent(enum.Enum):
    """What happened to the connector, in the FSM's own vocabulary (not EVerest's)."""

    USAGE_INITIATED = enum.auto()
    START_CHARGING = enum.auto()
    PAUSE_EV = enum.auto()
    PAUSE_EVSE = enum.auto()
    TX_STOPPED_USER_ACTION = enum.auto()
    BECOME_AVAILABLE = enum.auto()
    RESERVE = enum.auto()
    RESERVATION_END = enum.auto()
    BECOME_UNAVAILABLE = enum.auto()


S = Status
E = StatusEvent


def _freeze(table: dict[Status, dict[StatusEvent, Status]]) -> Mapping[Status, Mapping[StatusEvent, Status]]:
    return MappingProxyType({state: MappingProxyType(moves) for state, moves in table.items()})


TRANSITIONS: Mapping[Status, Mapping[StatusEvent, Status]] = _freeze({
    S.AVAILABLE: {
        E.USAGE_INITIATED: S.PREPARING,
        E.START_CHARGING: S.CHARGING,
        E.PAUSE_EV: S.SUSPENDED_EV,
        E.PAUSE_EVSE: S.SUSPENDED_EVSE,
        E.RESERVE: S.RESERVED,
        E.BECOME_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.PREPARING: {
        E.BECOME_AVAILABLE: S.AVAILABLE,
        E.START_CHARGING: S.CHARGING,
        E.PAUSE_EV: S.SUSPENDED_EV,
        E.PAUSE_EVSE: S.SUSPENDED_EVSE,
        E.TX_STOPPED_USER_ACTION: S.FINISHING,
        E.BECOME_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.CHARGING: {
        E.BECOME_AVAILABLE: S.AVAILABLE,
        E.PAUSE_EV: S.SUSPENDED_EV,
        E.PAUSE_EVSE: S.SUSPENDED_EVSE,
        E.TX_STOPPED_USER_ACTION: S.FINISHING,
        E.BECOME_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.SUSPENDED_EV: {
        E.BECOME_AVAILABLE: S.AVAILABLE,
        E.START_CHARGING: S.CHARGING,
        E.PAUSE_EVSE: S.SUSPENDED_EVSE,
        E.TX_STOPPED_USER_ACTION: S.FINISHING,
        E.BECOME_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.SUSPENDED_EVSE: {
        E.BECOME_AVAILABLE: S.AVAILABLE,
        E.START_CHARGING: S.CHARGING,
        E.PAUSE_EV: S.SUSPENDED_EV,
        E.TX_STOPPED_USER_ACTION: S.FINISHING,
        E.BECOME_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.FINISHING: {
        E.BECOME_AVAILABLE: S.AVAILABLE,
        E.USAGE_INITIATED: S.PREPARING,
        E.BECOME_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.RESERVED: {
        E.BECOME_AVAILABLE: S.AVAILABLE,
        E.RESERVATION_END: S.AVAILABLE,
        E.USAGE_INITIATED: S.PREPARING,
        E.BECOME_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.UNAVAILABLE: {
        # A session already under way when the EVSE was disabled may still report progress.
        E.BECOME_AVAILABLE: S.AVAILABLE,
        E.USAGE_INITIATED: S.PREPARING,
        E.START_CHARGING: S.CHARGING,
        E.PAUSE_EV: S.SUSPENDED_EV,
        E.PAUSE_EVSE: S.SUSPENDED_EVSE,
    },
})
"""Connectors 1..N: state → event → next state. Absent pairs mean "no transition"."""

STATION_TRANSITIONS: Mapping[Status, Mapping[StatusEvent, Status]] = _freeze({
    S.AVAILABLE: {E.BECOME_UNAVAILABLE: S.UNAVAILABLE},
    S.UNAVAILABLE: {E.BECOME_AVAILABLE: S.AVAILABLE},
})
"""Connector 0 (the whole station) only knows Available and Unavailable (plus Faulted)."""

BASE_STATES: frozenset[Status] = frozenset(TRANSITIONS)
"""Every state a connector's machine can be in: all but Faulted."""

del S, E


def transition(state: Status, event: StatusEvent, *, station: bool = False) -> Status | None:
    """The state after ``event`` in ``state``, or None when the event does not apply there.

    ``station`` selects connector 0's table. Faulted is rejected (ValueError): it is an
    overlay, so passing it means the caller lost track of the base state.
    """
    if state is Status.FAULTED:
        msg = "Faulted is not a base state; pass the state underneath the fault"
        raise ValueError(msg)
    table = STATION_TRANSITIONS if station else TRANSITIONS
    return table.get(state, {}).get(event)


def reported_status(base: Status, faulted: bool) -> Status:
    """What StatusNotification says: Faulted while any fault is active, else the base state."""
    return Status.FAULTED if faulted else base


def reconciled_status(current: Status, *, transaction_active: bool, charging: bool, paused_by: str, session: bool,
                      reserved: bool, available: bool, stopped_transaction: bool) -> Status:
    """The base state an EVSE manager's own account of the session implies (a re-synchronisation
    after the bus came back, when events may have been missed); ``current`` is kept wherever it
    agrees with that account (Preparing and Finishing both fit a session without a transaction).

    ``available``: operative and enabled; ``stopped_transaction``: a transaction of this session
    has ended (so a session still under way is Finishing, not Preparing)."""
    if transaction_active:
        return Status.CHARGING if charging else Status.SUSPENDED_EV if paused_by == "EV" else Status.SUSPENDED_EVSE
    if session:
        if current in (Status.PREPARING, Status.FINISHING):
            return current
        return Status.FINISHING if stopped_transaction else Status.PREPARING
    if reserved and available:
        return Status.RESERVED
    return Status.AVAILABLE if available else Status.UNAVAILABLE
