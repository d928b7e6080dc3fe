"""Messages of the SchedulePublisher (smart charging): limits to the chargers, schedules on
the bus, and the TxProfile that comes with a RemoteStartTransaction.

The OCPP data model itself (profiles, schedules) is in :mod:`messages.charging_profiles`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from messages.payload import Payload, freeze

if TYPE_CHECKING:
    from messages.charging_profiles import CompositeSchedule

__all__ = ["ChargingSchedules", "ExternalLimits", "GetChargingSchedules", "InstallTxProfile", "PublishDue"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalLimits:
    """Command (tell, SchedulePublisher → EVSE manager; the ``external_energy_limits``
    requirement): the limits this EVSE must keep from now on, as its composite schedule."""

    evse_id: int
    schedule: CompositeSchedule


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingSchedules:
    """Event (published; ``ocpp_generic.charging_schedules``): the composite schedules of
    connectors 0..N, each from now for PublishChargingScheduleDurationS, in
    RequestCompositeScheduleUnit. Also the reply to :class:`GetChargingSchedules`."""

    schedules: tuple[CompositeSchedule, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GetChargingSchedules:
    """Query (ask → :class:`ChargingSchedules`): compute a publication round now and return it
    (without publishing); for tests and the benchmark."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallTxProfile:
    """Command (tell, Station → SchedulePublisher): the TxProfile of an accepted
    RemoteStartTransaction, for the transaction about to start on ``connector_id``."""

    connector_id: int
    profile: Payload = field(default_factory=dict)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "profile", freeze(self.profile))


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishDue:
    """Timer: PublishChargingScheduleIntervalS passed."""
