"""SchedulePublisher: the SmartCharging feature profile, and the limits the chargers obey.

It owns the installed charging profiles (persisted; rebuilt from Persistence after a
restart), answers SetChargingProfile, ClearChargingProfile and GetCompositeSchedule, and
publishes: the composite schedules of connectors 0..N are computed at start, after every
change of the profiles or of the running transactions, and every
PublishChargingScheduleIntervalS seconds (0 = only on change), each covering
PublishChargingScheduleDurationS from now. Each EVSE's schedule goes to the EVSE manager as
its ``external_energy_limits``; all of them are published on the bus (``charging_schedules``).
The decisions are pure functions in :mod:`actors.smart_charging_logic`; this actor keeps the
table, the transactions it applies to, and the clock.

Accepts (tell): CallReceived(SetChargingProfile | ClearChargingProfile | GetCompositeSchedule),
InstallTxProfile, OcppTransactionEvent (published by the Evses), timer PublishDue.
Answers (ask): GetChargingSchedules → ChargingSchedules.
Emits: SendCallResult / SendCallError to the CSMS connection, ExternalLimits to the EVSE
manager, ChargingSchedules (published).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from actors.base import SupervisedActor
from actors.configuration_rules import supported_feature_profiles
from actors.evse_logic import parse_iso
from actors.smart_charging_logic import (
    all_composite_schedules,
    check_profile,
    clear,
    composite_schedule,
    expired,
    install,
    normalise,
    without_transaction_profiles,
)
from messages.charging_profiles import ChargingProfile, InstalledProfile, StationSettings
from messages.csms import CallReceived, SendCallError, SendCallResult
from messages.persistence import (
    GetChargingProfiles,
    GetOpenTransaction,
    ReplaceChargingProfiles,
    StoredChargingProfile,
)
from messages.provided import OcppTransactionEvent
from messages.smart_charging import ChargingSchedules, ExternalLimits, GetChargingSchedules, InstallTxProfile, PublishDue

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from actors.base import ActorContext

__all__ = ["SchedulePublisher"]

PERSISTENCE_TIMEOUT_S = 10.0


class SchedulePublisher(SupervisedActor):
    """Charging profiles and their publication (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        CallReceived: "_on_call",
        InstallTxProfile: "_on_install_tx_profile",
        OcppTransactionEvent: "_on_transaction_event",
        PublishDue: "_on_publish_due",
        GetChargingSchedules: "_on_get_schedules",
    }
    SUBSCRIBES = (OcppTransactionEvent,)
    OPERATIONS: ClassVar[Mapping[str, str]] = {
        "SetChargingProfile": "_set_charging_profile",
        "ClearChargingProfile": "_clear_charging_profile",
        "GetCompositeSchedule": "_get_composite_schedule",
    }

    def __init__(self, ctx: ActorContext, name: str, *, evse_count: int, csms: str = "csms",
                 persistence: str = "persistence", evse_manager: str = "simulator") -> None:
        super().__init__(ctx, name)
        self._evse_count = evse_count
        self._csms, self._persistence, self._manager = csms, persistence, evse_manager
        self._installed: tuple[InstalledProfile, ...] = ()
        self._transactions: dict[int, tuple[datetime, int | None]] = {}
        self._sent: dict[int, tuple[Any, ...]] = {}
        """Connector → the shape of the schedule it was last sent (see :func:`_shape`)."""
        """Connector → (start, CSMS transaction id once known) of its running transaction."""

    def started(self) -> None:
        stored = self._ask(GetChargingProfiles()).profiles
        self._installed = tuple(InstalledProfile(connector_id=p.connector_id, profile=ChargingProfile.from_wire(p.profile))
                                for p in stored)
        for connector in range(1, self._evse_count + 1):
            record = self._ask(GetOpenTransaction(connector_id=connector)).record
            if record is not None and not record.stopped:
                started_at = parse_iso(record.started_at) or self.ctx.clock.now()
                self._transactions[connector] = (started_at, record.transaction_id)
        interval = int(self.ctx.options["PublishChargingScheduleIntervalS"])
        if interval > 0:
            self.every(interval, PublishDue())
        self._publish()

    def _ask(self, message: object) -> Any:
        return self.ctx.directory.ask(self._persistence, message, timeout=PERSISTENCE_TIMEOUT_S)

    def _settings(self) -> StationSettings:
        return StationSettings.from_config(self.ctx.config.get, self._evse_count)

    # --- the CSMS ----------------------------------------------------------------------------

    def _on_call(self, msg: CallReceived) -> None:
        if "SmartCharging" not in supported_feature_profiles(self.ctx.config.current):
            self.tell(self._csms, SendCallError(message_id=msg.message_id, error_code="NotSupported",
                                                description="the SmartCharging feature profile is not enabled"))
            return
        answer, changed = getattr(self, self.OPERATIONS[msg.action])(msg.payload)
        self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action, payload=answer))
        if changed:
            self._publish()  # after the answer: the CSMS hears Accepted before the chargers move

    def _set_charging_profile(self, payload: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        connector = int(payload["connectorId"])
        profile = ChargingProfile.from_wire(payload["csChargingProfiles"])
        running = self._transactions.get(connector)
        reason = check_profile(profile, connector, self._installed, self._settings(),
                               transaction_id=running[1] if running else None,
                               transaction_running=running is not None, from_remote_start=False,
                               now=self.ctx.clock.now())
        if reason is not None:
            self.log.info("SetChargingProfile %d on connector %d rejected: %s", profile.id, connector, reason)
            return {"status": "Rejected"}, False
        self._install(InstalledProfile(connector_id=connector, profile=normalise(
            profile, now=self.ctx.clock.now(), settings=self._settings())))
        return {"status": "Accepted"}, True

    def _install(self, new: InstalledProfile) -> None:
        table, replaced = install(self._installed, new)
        self._store(table, deleted=(r.profile.id for r in replaced if r.profile.id != new.profile.id),
                    added=(new,))

    def _clear_charging_profile(self, payload: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        remaining, removed = clear(self._installed, profile_id=payload.get("id"),
                                   connector_id=payload.get("connectorId"),
                                   purpose=payload.get("chargingProfilePurpose"),
                                   stack_level=payload.get("stackLevel"))
        if not removed:
            return {"status": "Unknown"}, False
        self._store(remaining, deleted=(r.profile.id for r in removed))
        return {"status": "Accepted"}, True

    def _get_composite_schedule(self, payload: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        connector = int(payload["connectorId"])
        settings = self._settings()
        unit = payload.get("chargingRateUnit") or str(self.ctx.options["RequestCompositeScheduleUnit"])
        if not 0 <= connector <= self._evse_count or unit not in settings.allowed_units:
            return {"status": "Rejected"}, False
        limit = int(self.ctx.config.get("MaxCompositeScheduleDuration", 31536000) or 31536000)
        duration = min(int(payload["duration"]), limit)
        start = self.ctx.clock.now().replace(microsecond=0)
        schedule = composite_schedule(self._live(start), connector_id=connector, start=start, duration=duration,
                                      unit=unit, transactions=self._starts(), settings=settings)
        return schedule.to_conf(), False

    # --- the charger side ---------------------------------------------------------------------

    def _on_install_tx_profile(self, msg: InstallTxProfile) -> None:
        profile = ChargingProfile.from_wire(msg.profile)
        reason = check_profile(profile, msg.connector_id, self._installed, self._settings(), transaction_id=None,
                               transaction_running=False, from_remote_start=True, now=self.ctx.clock.now())
        if "SmartCharging" not in supported_feature_profiles(self.ctx.config.current):
            reason = "the SmartCharging feature profile is not enabled"
        if reason is not None:
            self.log.warning("TxProfile of a RemoteStartTransaction not installed: %s", reason)
            return
        self._install(InstalledProfile(connector_id=msg.connector_id, profile=normalise(
            profile, now=self.ctx.clock.now(), settings=self._settings())))
        self._publish()

    def _on_transaction_event(self, msg: OcppTransactionEvent) -> None:
        if msg.event == "Started":
            self._transactions[msg.evse_id] = (msg.timestamp, None)
        elif msg.event == "Updated" and msg.evse_id in self._transactions:
            self._transactions[msg.evse_id] = (self._transactions[msg.evse_id][0], msg.transaction_id)
            return  # the schedule depends on the start, not on the id
        elif msg.event == "Ended":
            self._transactions.pop(msg.evse_id, None)
            remaining = without_transaction_profiles(self._installed, msg.evse_id)
            if len(remaining) != len(self._installed):
                gone = {p.profile.id for p in remaining}
                self._store(remaining, deleted=(p.profile.id for p in self._installed if p.profile.id not in gone))
        self._publish()

    def _on_publish_due(self, _msg: PublishDue) -> None:
        self._publish(everything=True)

    def _on_get_schedules(self, _msg: GetChargingSchedules) -> ChargingSchedules:
        return ChargingSchedules(schedules=self._round())

    # --- publication --------------------------------------------------------------------------

    def _live(self, now: datetime) -> tuple[InstalledProfile, ...]:
        """The table without expired profiles (removed for good, on disk too)."""
        gone = expired(self._installed, now)
        if gone:
            ids = {p.profile.id for p in gone}
            self.log.info("charging profile(s) %s expired", sorted(ids))
            self._store(tuple(p for p in self._installed if p.profile.id not in ids), deleted=ids)
        return self._installed

    def _starts(self) -> dict[int, datetime]:
        return {connector: start for connector, (start, _id) in self._transactions.items()}

    def _round(self) -> tuple[Any, ...]:
        now = self.ctx.clock.now().replace(microsecond=0)
        return all_composite_schedules(self._live(now), start=now,
                                       duration=int(self.ctx.options["PublishChargingScheduleDurationS"]),
                                       unit=str(self.ctx.options["RequestCompositeScheduleUnit"]),
                                       transactions=self._starts(), settings=self._settings())

    def _publish(self, *, everything: bool = False) -> None:
        """Limits to each EVSE whose schedule changed, and the schedules on the bus if any did;
        every one of them on the periodic round (``everything``), which also renews their window.
        A wave of 128 transaction starts with no profiles then sends nothing, not 128 x 128."""
        schedules = self._round()
        changed = False
        for schedule in schedules:
            shape = _shape(schedule)
            if not everything and self._sent.get(schedule.connector_id) == shape:
                continue
            self._sent[schedule.connector_id] = shape
            changed = True
            if schedule.connector_id > 0:
                self.tell(self._manager, ExternalLimits(evse_id=schedule.connector_id, schedule=schedule))
        if changed or everything:
            self.publish(ChargingSchedules(schedules=schedules))

    def _store(self, table: tuple[InstalledProfile, ...], *, deleted: Iterable[int] = (),
               added: Iterable[InstalledProfile] = ()) -> None:
        """The new table, on disk first."""
        self._ask(ReplaceChargingProfiles(deleted=tuple(deleted), added=tuple(
            StoredChargingProfile(connector_id=p.connector_id, profile=p.profile.to_wire()) for p in added)))
        self._installed = table


def _shape(schedule: Any) -> tuple[Any, ...]:
    """What makes two schedules the same limit: a single period is the same whenever it starts;
    periods that change over time are the same only from the same start."""
    periods = tuple((p.start_period, p.limit, p.number_phases) for p in schedule.periods)
    if len(periods) == 1:
        return (schedule.unit, periods[0][1:])
    return (schedule.unit, schedule.start, periods)
