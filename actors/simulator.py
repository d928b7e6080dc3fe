"""Simulator: the embedded EVSE manager, with simulated cars, RFID readers and meters.

It stands where EVerest's EvseManager (and, for tokens, its Auth module) would be: it owns
each EVSE's session (plugged, authorized, transaction, charging) and tells the OCPP side
what happened with the session events of the evse_manager interface. It obeys the
commands of that interface (stop_transaction, pause/resume, enable_disable, force_unlock)
and the tokens of auth_provider; it asks auth_validator (the Auth actor) about swiped tokens.

Accepts (tell): SimCommand (the test controller, demo, MQTT), ProvideToken, TokenValidated,
StopTransactionCommand, PauseCharging, ResumeCharging, EnableDisable, ForceUnlock, SystemReset
(it also plays the ``system`` requirement), and its
timers MeterTick / PluginTimedOut. Answers (ask): GetSessionState → SessionState.
Emits (tell, to ``evse/<id>``): SessionEvent, MeterReading, ErrorRaised, ErrorCleared;
(tell, to ``auth``): ValidateToken.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from actors.smart_charging_logic import convert_schedule, limit_at
from messages.charging_profiles import StationSettings
from messages.smart_charging import ExternalLimits
from messages.system import SystemReset
from messages.evse_manager import (
    CancelReserve,
    EnableDisable,
    ErrorCleared,
    ErrorRaised,
    ForceUnlock,
    GetSessionState,
    MeterReading,
    PauseCharging,
    ProvideToken,
    Reserve,
    ResumeCharging,
    SessionEvent,
    SessionEventType,
    SessionState,
    SimCommand,
    StopTransactionCommand,
    TokenValidated,
    ValidateToken,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from actors.base import ActorContext
    from messages.charging_profiles import CompositeSchedule
    from actors.clock import TimerHandle

__all__ = ["MeterTick", "PluginTimedOut", "Simulator"]

VOLTAGE_V = 230.0
MAX_CURRENT_A = 16.0
"""A 3-phase 11 kW charger."""
MAX_POWER_W = 3 * VOLTAGE_V * MAX_CURRENT_A
INOPERATIVE = "evse_manager/Inoperative"


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterTick:
    """Timer: the meters move on (every ``meter_interval`` seconds)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginTimedOut:
    """Timer: an authorized session waited ConnectionTimeOut seconds for a cable."""

    evse_id: int
    session_id: str


@dataclass(slots=True)
class _Evse:
    """The simulated hardware of one EVSE."""

    evse_id: int
    enabled: bool = True
    plugged: bool = False
    session_id: str = ""
    authorized_tag: str = ""
    parent_tag: str = ""
    transaction_tag: str = ""
    transaction_active: bool = False
    charging: bool = False
    ev_paused: bool = False
    evse_paused: bool = False
    energy_wh: float = 0.0
    """The meter register; it only ever rises."""
    errors: dict[str, str] = field(default_factory=dict)
    """uuid → error type of the errors raised and not yet cleared."""
    plugin_timer: TimerHandle | None = None
    unlocks: int = 0
    reservation: Reserve | None = None
    """The reservation holding this EVSE, if any."""
    limits: CompositeSchedule | None = None
    """Its external_energy_limits, in W (None: no limit given)."""
    limit_w: float = MAX_POWER_W
    """The limit in force now (re-read at every meter tick)."""

    def may_use(self, id_tag: str, parent_tag: str = "") -> bool:
        """Anyone, unless reserved: then only the reserved token, or one of the same group."""
        r = self.reservation
        return r is None or id_tag.lower() == r.id_tag.lower() or bool(
            parent_tag and r.parent_id_tag and parent_tag.lower() == r.parent_id_tag.lower())

    @property
    def power_w(self) -> float:
        return min(MAX_POWER_W, self.limit_w) if self.charging else 0.0

    def follow_limits(self, now: datetime) -> None:
        limit = limit_at(self.limits, now) if self.limits is not None else None
        self.limit_w = MAX_POWER_W if limit is None else max(limit, 0.0)


class Simulator(SupervisedActor):
    """Simulated EVSEs behind the evse_manager interface (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        SimCommand: "_on_sim_command",
        ProvideToken: "_on_provide_token",
        TokenValidated: "_on_token_validated",
        StopTransactionCommand: "_on_stop_transaction",
        PauseCharging: "_on_pause_charging",
        ResumeCharging: "_on_resume_charging",
        EnableDisable: "_on_enable_disable",
        ForceUnlock: "_on_force_unlock",
        GetSessionState: "_on_get_session_state",
        Reserve: "_on_reserve",
        CancelReserve: "_on_cancel_reserve",
        ExternalLimits: "_on_external_limits",
        SystemReset: "_on_system_reset",
        MeterTick: "_on_meter_tick",
        PluginTimedOut: "_on_plugin_timed_out",
    }
    COMMANDS: ClassVar[Mapping[str, str]] = {
        "plug_in": "_plug_in",
        "plug_out": "_plug_out",
        "swipe": "_swipe",
        "ev_pause": "_ev_pause",
        "ev_resume": "_ev_resume",
        "raise_error": "_raise_error",
        "clear_error": "_clear_error",
        "power_loss": "_power_loss",
    }

    def __init__(self, ctx: ActorContext, name: str, *, evse_count: int, meter_interval: float = 1.0,
                 auth: str = "auth") -> None:
        super().__init__(ctx, name)
        self._evses = {i: _Evse(i) for i in range(1, evse_count + 1)}
        self._meter_interval = meter_interval
        self._auth = auth
        self._last_tick = 0.0
        self._settings: tuple[object, StationSettings] | None = None

    def started(self) -> None:
        self._last_tick = self.ctx.clock.monotonic()
        self.every(self._meter_interval, MeterTick())

    def tell(self, name: str, message: object) -> bool:
        """Everything we tell the charge point is an input at its edge: record it for replay."""
        self.ctx.trace.message("ev", message, to=name)
        return super().tell(name, message)

    # --- the session, as EVerest's EvseManager runs it ---------------------------------------

    def _emit(self, evse: _Evse, event: SessionEventType, **fields: object) -> None:
        self.tell(f"evse/{evse.evse_id}", SessionEvent(
            evse_id=evse.evse_id, event=event, session_id=evse.session_id,
            timestamp=self.ctx.clock.now(), **fields))  # type: ignore[arg-type]

    def _publish_meter(self, evse: _Evse) -> None:
        per_phase = evse.power_w / 3 / VOLTAGE_V
        self.tell(f"evse/{evse.evse_id}", MeterReading(
            evse_id=evse.evse_id, timestamp=self.ctx.clock.now(), energy_wh=evse.energy_wh,
            power_w=evse.power_w, current_a=(per_phase,) * 3, voltage_v=(VOLTAGE_V,) * 3,
            offered_current_a=min(MAX_POWER_W, evse.limit_w) / 3 / VOLTAGE_V if evse.session_id else None))

    def _start_session(self, evse: _Evse, reason: str) -> None:
        evse.session_id = str(uuid.uuid4())
        self._emit(evse, SessionEventType.SESSION_STARTED, reason=reason)

    def _end_session(self, evse: _Evse) -> None:
        self.ctx.clock.cancel(evse.plugin_timer)
        evse.plugin_timer = None
        self._emit(evse, SessionEventType.SESSION_FINISHED)
        evse.session_id = evse.authorized_tag = evse.parent_tag = ""

    def _authorize(self, evse: _Evse, id_tag: str, parent_tag: str = "") -> None:
        evse.authorized_tag, evse.parent_tag = id_tag, parent_tag
        if evse.plugged:
            self._start_transaction(evse)
            return
        if not evse.session_id:
            self._start_session(evse, "Authorized")
        timeout = float(self.ctx.config.get("ConnectionTimeOut", 30) or 30)
        self.ctx.clock.cancel(evse.plugin_timer)
        evse.plugin_timer = self.after(timeout, PluginTimedOut(evse_id=evse.evse_id, session_id=evse.session_id))

    def _start_transaction(self, evse: _Evse) -> None:
        self.ctx.clock.cancel(evse.plugin_timer)
        evse.plugin_timer = None
        evse.transaction_active, evse.transaction_tag = True, evse.authorized_tag
        reservation, evse.reservation = evse.reservation, None  # a reservation is used up by its transaction
        self._emit(evse, SessionEventType.TRANSACTION_STARTED, id_tag=evse.authorized_tag,
                   meter_wh=evse.energy_wh, reservation_id=reservation.reservation_id if reservation else None)
        self._update_charging(evse)

    def _update_charging(self, evse: _Evse) -> None:
        """Charge whenever a transaction runs on a plugged, enabled, unpaused EVSE."""
        blocked_by_error = INOPERATIVE in evse.errors.values()
        should = (evse.transaction_active and evse.plugged and evse.enabled and not evse.ev_paused
                  and not evse.evse_paused and not blocked_by_error)
        if should == evse.charging:
            return
        evse.charging = should
        if should:
            self._emit(evse, SessionEventType.CHARGING_STARTED)
        elif evse.transaction_active:
            paused_ev = evse.ev_paused or not evse.plugged
            self._emit(evse, SessionEventType.CHARGING_PAUSED_EV if paused_ev
                       else SessionEventType.CHARGING_PAUSED_EVSE)
        self._publish_meter(evse)

    def _finish_transaction(self, evse: _Evse, reason: str, id_tag: str = "") -> None:
        evse.charging = evse.evse_paused = False
        evse.transaction_active = False
        self._emit(evse, SessionEventType.TRANSACTION_FINISHED, reason=reason, meter_wh=evse.energy_wh,
                   id_tag=id_tag)
        evse.transaction_tag = ""
        self._publish_meter(evse)
        if not evse.plugged:
            self._end_session(evse)

    # --- what people do at the charger --------------------------------------------------

    def _on_sim_command(self, msg: SimCommand) -> None:
        self.ctx.trace.record("sim", evse=msg.evse_id, command=msg.command, args=dict(msg.args))
        evse = self._evses.get(msg.evse_id)
        method = self.COMMANDS.get(msg.command)
        if evse is None or method is None:
            self.log.warning("ignoring simulator command %s for EVSE %s", msg.command, msg.evse_id)
            return
        getattr(self, method)(evse, msg.args)

    def _plug_in(self, evse: _Evse, _args: Mapping[str, object]) -> None:
        if evse.plugged:
            return
        evse.plugged = True
        if not evse.session_id:
            self._start_session(evse, "EVConnected")
        if evse.transaction_active:
            evse.ev_paused = False
            self._update_charging(evse)
        elif evse.authorized_tag:
            self._start_transaction(evse)

    def _plug_out(self, evse: _Evse, _args: Mapping[str, object]) -> None:
        if not evse.plugged:
            return
        evse.plugged = False
        if evse.transaction_active:
            if self.ctx.config.get("StopTransactionOnEVSideDisconnect", True):
                self._finish_transaction(evse, "EVDisconnected")
            else:
                self._update_charging(evse)  # the transaction stays open, suspended by the EV
        elif evse.session_id:
            self._end_session(evse)

    def _swipe(self, evse: _Evse, args: Mapping[str, object]) -> None:
        id_tag = str(args.get("id_tag", ""))
        if not id_tag:
            self.log.warning("swipe without id_tag on EVSE %d", evse.evse_id)
            return
        if evse.transaction_active and id_tag == evse.transaction_tag:
            self._finish_transaction(evse, "Local", id_tag)  # the same card stops without asking
            return
        self.tell(self._auth, ValidateToken(evse_id=evse.evse_id, id_tag=id_tag, reply_to=self.name,
                                            correlation="swipe"))

    def _on_token_validated(self, msg: TokenValidated) -> None:
        evse = self._evses[msg.evse_id]
        if msg.status != "Accepted":
            self.log.info("token %s not accepted on EVSE %d: %s", msg.id_tag, msg.evse_id, msg.status)
            return
        if evse.transaction_active:
            if msg.parent_id_tag and msg.parent_id_tag == evse.parent_tag:
                self._finish_transaction(evse, "Local", msg.id_tag)  # same group may stop it
            return
        if not evse.may_use(msg.id_tag, msg.parent_id_tag):
            self.log.info("EVSE %d is reserved for someone else; %s ignored", evse.evse_id, msg.id_tag)
            return
        if evse.enabled and INOPERATIVE not in evse.errors.values():
            self._authorize(evse, msg.id_tag, msg.parent_id_tag)

    def _ev_pause(self, evse: _Evse, _args: Mapping[str, object]) -> None:
        evse.ev_paused = True
        self._update_charging(evse)

    def _ev_resume(self, evse: _Evse, _args: Mapping[str, object]) -> None:
        evse.ev_paused = False
        self._update_charging(evse)

    def _raise_error(self, evse: _Evse, args: Mapping[str, object]) -> None:
        error_type = str(args.get("type", INOPERATIVE))
        error_id = str(uuid.uuid4())
        evse.errors[error_id] = error_type
        self.tell(f"evse/{evse.evse_id}", ErrorRaised(
            evse_id=evse.evse_id, uuid=error_id, type=error_type, sub_type=str(args.get("sub_type", "")),
            message=str(args.get("message", "")), description=str(args.get("description", "")),
            vendor_id=str(args.get("vendor_id", ""))))
        self._update_charging(evse)

    def _clear_error(self, evse: _Evse, args: Mapping[str, object]) -> None:
        wanted = args.get("type")
        for error_id, error_type in list(evse.errors.items()):
            if wanted in (None, error_type):
                del evse.errors[error_id]
                self.tell(f"evse/{evse.evse_id}", ErrorCleared(evse_id=evse.evse_id, uuid=error_id))
        self._update_charging(evse)

    def _power_loss(self, evse: _Evse, _args: Mapping[str, object]) -> None:
        if evse.transaction_active:
            self._finish_transaction(evse, "PowerLoss")
        evse.plugged = evse.ev_paused = False
        if evse.session_id:
            self._end_session(evse)

    # --- commands of the evse_manager and auth_provider interfaces --------------------------

    def _on_provide_token(self, msg: ProvideToken) -> None:
        for evse_id in msg.connectors:
            evse = self._evses.get(evse_id)
            if (evse is None or evse.transaction_active or not evse.enabled or evse.authorized_tag
                    or not evse.may_use(msg.id_tag)):
                continue
            if msg.prevalidated:
                self._authorize(evse, msg.id_tag)
            else:
                self.tell(self._auth, ValidateToken(evse_id=evse_id, id_tag=msg.id_tag, reply_to=self.name,
                                                    correlation="remote"))
            return
        self.log.warning("no EVSE among %s can take token %s", msg.connectors, msg.id_tag)

    def _on_stop_transaction(self, msg: StopTransactionCommand) -> None:
        evse = self._evses[msg.evse_id]
        if evse.transaction_active:
            self._finish_transaction(evse, msg.reason)
        elif evse.session_id and not evse.plugged:
            self._end_session(evse)

    def _on_pause_charging(self, msg: PauseCharging) -> None:
        self._evses[msg.evse_id].evse_paused = True
        self._update_charging(self._evses[msg.evse_id])

    def _on_resume_charging(self, msg: ResumeCharging) -> None:
        self._evses[msg.evse_id].evse_paused = False
        self._update_charging(self._evses[msg.evse_id])

    def _on_enable_disable(self, msg: EnableDisable) -> None:
        evse = self._evses[msg.evse_id]
        if evse.enabled != msg.enable:
            evse.enabled = msg.enable
            self._emit(evse, SessionEventType.ENABLED if msg.enable else SessionEventType.DISABLED)
            self._update_charging(evse)

    def _on_force_unlock(self, msg: ForceUnlock) -> None:
        self._evses[msg.evse_id].unlocks += 1

    def _on_get_session_state(self, msg: GetSessionState) -> SessionState:
        evse = self._evses[msg.evse_id]
        paused = "EV" if evse.ev_paused or (evse.transaction_active and not evse.plugged) else (
            "EVSE" if evse.transaction_active and not evse.charging else "")
        state = SessionState(evse_id=evse.evse_id, plugged=evse.plugged, session_id=evse.session_id,
                             transaction_active=evse.transaction_active, charging=evse.charging,
                             paused_by=paused, enabled=evse.enabled, reserved_for=evse.reservation.id_tag if evse.reservation else "")
        self.ctx.trace.message("reply", state)
        return state

    def _on_reserve(self, msg: Reserve) -> None:
        evse = self._evses[msg.evse_id]
        already = evse.reservation is not None
        evse.reservation = msg
        if not already:
            self._emit(evse, SessionEventType.RESERVATION_START, reservation_id=msg.reservation_id, id_tag=msg.id_tag)

    def _on_cancel_reserve(self, msg: CancelReserve) -> None:
        evse = self._evses[msg.evse_id]
        if evse.reservation is not None and evse.reservation.reservation_id == msg.reservation_id:
            evse.reservation = None
            self._emit(evse, SessionEventType.RESERVATION_END, reservation_id=msg.reservation_id)

    def _on_external_limits(self, msg: ExternalLimits) -> None:
        """external_energy_limits: the EVSE charges at most at its schedule's limit from now on."""
        evse = self._evses[msg.evse_id]
        evse.limits = convert_schedule(msg.schedule, "W", self._station_settings())
        evse.follow_limits(self.ctx.clock.now())

    def _station_settings(self) -> StationSettings:
        """SupplyVoltage and the default phases, read again only when the config changed."""
        config = self.ctx.config.current
        if self._settings is None or self._settings[0] is not config:
            self._settings = (config, StationSettings.from_config(config.get, len(self._evses)))
        return self._settings[1]

    def _on_system_reset(self, msg: SystemReset) -> None:
        """The system interface's reset: a real charger reboots here; the simulated hardware
        goes when the process exits."""
        self.log.warning("system: %s reset requested", msg.kind.value)

    # --- timers ---------------------------------------------------------------------------

    def _on_plugin_timed_out(self, msg: PluginTimedOut) -> None:
        evse = self._evses[msg.evse_id]
        if evse.session_id == msg.session_id and not evse.plugged and not evse.transaction_active:
            self.log.info("EVSE %d: no cable within ConnectionTimeOut; session ends", evse.evse_id)
            evse.plugin_timer = None
            self._end_session(evse)

    def _on_meter_tick(self, _msg: MeterTick) -> None:
        now = self.ctx.clock.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        for evse in self._evses.values():
            if evse.charging:
                evse.energy_wh += evse.power_w * elapsed / 3600
            evse.follow_limits(self.ctx.clock.now())
            if evse.session_id:
                self._publish_meter(evse)
