"""Pure parts of the MQTT bus (``docs/mqtt-bus.md``): which connection serves what, the topic
filters we subscribe to, and an EVSE's session state as its session events move it.

No I/O and no actor here: :class:`actors.mqtt_bus.MqttBus` and
:class:`actors.remote_modules.RemoteModules` use these, and the tests check them without a broker.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from messages import everest
from messages.evse_manager import SessionEvent, SessionEventType, SessionState

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["PER_EVSE", "Routes", "advance_session_state", "subscriptions", "unknown_session_state"]

PER_EVSE = ("evse_manager", "evse_energy_sink")
"""Requirements listed in EVSE order: entry *i* serves EVSE *i* + 1."""


class Routes:
    """The ``Connections`` module option both ways: (requirement, EVSE) → the module and
    implementation that serve it, and (module, implementation) → what it serves for us."""

    def __init__(self, connections: Mapping[str, tuple[everest.Connection, ...]]) -> None:
        self.connections = dict(connections)
        self._sources: dict[tuple[str, str], tuple[str, int]] = {}
        for requirement in (*PER_EVSE, *sorted(set(connections) - set(PER_EVSE))):
            for index, connection in enumerate(connections.get(requirement, ())):
                evse_id = index + 1 if requirement in PER_EVSE else 0
                self._sources.setdefault((connection.module_id, connection.implementation_id), (requirement, evse_id))

    def target(self, requirement: str, evse_id: int) -> everest.Connection | None:
        """Who serves ``requirement`` for EVSE ``evse_id`` (the first connection for the others)."""
        listed = self.connections.get(requirement, ())
        if requirement in PER_EVSE:
            return listed[evse_id - 1] if 0 < evse_id <= len(listed) else None
        return listed[0] if listed else None

    def source(self, module: str, impl: str) -> tuple[str, int] | None:
        """(requirement, EVSE or 0) that an implementation serves for us; None when it is not connected."""
        return self._sources.get((module, impl))

    def evses_of(self, module: str) -> tuple[int, ...]:
        """The EVSEs whose EVSE manager is an implementation of ``module``."""
        return tuple(i for i, c in enumerate(self.connections.get("evse_manager", ()), 1) if c.module_id == module)

    def evse_count(self) -> int:
        return len(self.connections.get("evse_manager", ()))

    def modules_of(self, requirement: str) -> frozenset[str]:
        return frozenset(c.module_id for c in self.connections.get(requirement, ()))


def subscriptions(module_id: str, routes: Routes, *, prefix: str = everest.PREFIX) -> list[tuple[str, int]]:
    """The OCPP side's topic filters, all at QoS 2: our commands, results of our calls, the vars
    of every connection, every module's errors and ready messages, and the global ready."""
    filters = [f"{prefix}modules/{module_id}/impl/+/cmd/+", f"{prefix}modules/+/impl/+/cmd/+/response/{module_id}"]
    seen = set()
    for connections in routes.connections.values():
        for c in connections:
            topic = f"{prefix}modules/{c.module_id}/impl/{c.implementation_id}/var/+"
            if topic not in seen:
                seen.add(topic)
                filters.append(topic)
    filters += [f"{prefix}modules/+/impl/+/error/#", f"{prefix}modules/+/ready", everest.global_ready_topic(prefix=prefix)]
    return [(topic, everest.QOS) for topic in filters]


def unknown_session_state(evse_id: int) -> SessionState:
    """What we answer for an EVSE whose manager never told its state (``known`` False): the
    Evse keeps what it has (its open transaction goes on) and goes by the session events."""
    return SessionState(evse_id=evse_id, plugged=False, session_id="", transaction_active=False, charging=False,
                        known=False)


def advance_session_state(state: SessionState, event: SessionEvent) -> SessionState:  # noqa: PLR0911 (one per event)
    """The session state after ``event``, as far as a session event tells it. An unknown state
    stays unknown: only the EVSE manager's own answer makes it known."""
    if not state.known:
        return state
    kind = event.event
    if kind is SessionEventType.SESSION_STARTED:
        return replace(state, session_id=event.session_id, plugged=state.plugged or event.reason == "EVConnected")
    if kind is SessionEventType.TRANSACTION_STARTED:
        return replace(state, session_id=event.session_id or state.session_id, plugged=True, transaction_active=True,
                       reserved_for="")
    if kind is SessionEventType.CHARGING_STARTED:
        return replace(state, charging=True, paused_by="")
    if kind in (SessionEventType.CHARGING_PAUSED_EV, SessionEventType.CHARGING_PAUSED_EVSE):
        return replace(state, charging=False, paused_by="EV" if kind is SessionEventType.CHARGING_PAUSED_EV else "EVSE")
    if kind is SessionEventType.TRANSACTION_FINISHED:
        return replace(state, transaction_active=False, charging=False, paused_by="",
                       plugged=state.plugged and event.reason != "EVDisconnected")
    if kind is SessionEventType.SESSION_FINISHED:
        return replace(state, session_id="", plugged=False, transaction_active=False, charging=False, paused_by="")
    if kind in (SessionEventType.ENABLED, SessionEventType.DISABLED):
        return replace(state, enabled=kind is SessionEventType.ENABLED)
    if kind is SessionEventType.RESERVATION_START:
        return replace(state, reserved_for=event.id_tag)
    if kind is SessionEventType.RESERVATION_END:
        return replace(state, reserved_for="")
    return state
