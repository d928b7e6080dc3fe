"""The charge point's actor tree, as data: who starts in which order, and who owns which
CSMS operation.

Start order: Persistence first (everyone rebuilds from it), the simulated hardware (the EVSE
manager), then the domain actors, those that listen to the EVSEs' events before the EVSEs
(an EVSE publishes while it rebuilds), and the CSMS connection last, when everything it
routes to is up. Stop order is the reverse, so the link closes first and nothing arrives for
actors that are gone.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from actors.auth import Auth
from actors.configuration import Configuration
from actors.csms_connection import CsmsConnection
from actors.data_transfer import DataTransfer
from actors.evse import Evse
from actors.persistence import Persistence
from actors.schedule_publisher import SchedulePublisher
from actors.simulator import Simulator
from actors.station import Station
from supervisor.reset import ResetSequence
from supervisor.spec import ChildSpec, SupFlags

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext, SupervisedActor
    from supervisor.config import ChargePointConfig

__all__ = ["FLAGS", "ROUTES", "boot_notification_payload", "child_specs"]

ROUTES: Mapping[str, str] = {
    "GetConfiguration": "configuration",
    "ChangeConfiguration": "configuration",
    "SetChargingProfile": "schedule_publisher",
    "ClearChargingProfile": "schedule_publisher",
    "GetCompositeSchedule": "schedule_publisher",
    "Reset": "reset",
    "TriggerMessage": "station",
    "RemoteStartTransaction": "station",
    "RemoteStopTransaction": "station",
    "UnlockConnector": "station",
    "ChangeAvailability": "station",
    "SendLocalList": "auth",
    "GetLocalListVersion": "auth",
    "ClearCache": "auth",
    "ReserveNow": "auth",
    "CancelReservation": "auth",
    "DataTransfer": "data_transfer",
}
"""CSMS action → name of the actor that owns it. Anything else is answered NotSupported."""

FLAGS = SupFlags(intensity=3, period=5.0)
"""Low on purpose: systemd (Restart=on-failure) is the next level up."""

_BOOT_FIELDS = {
    "chargePointVendor": "ChargePointVendor",
    "chargePointModel": "ChargePointModel",
    "chargePointSerialNumber": "ChargePointSerialNumber",
    "chargeBoxSerialNumber": "ChargeBoxSerialNumber",
    "firmwareVersion": "FirmwareVersion",
    "iccid": "ICCID",
    "imsi": "IMSI",
    "meterSerialNumber": "MeterSerialNumber",
    "meterType": "MeterType",
}


def boot_notification_payload(config: ChargePointConfig) -> dict[str, Any]:
    """BootNotification fields from the Internal profile; absent keys are left out."""
    return {field: config.get(key) for field, key in _BOOT_FIELDS.items() if config.get(key) not in (None, "")}


def child_specs(ctx: ActorContext, *, evse_manager: tuple[type[SupervisedActor], dict[str, Any]] | None = None,
                ) -> tuple[ChildSpec, ...]:
    """The children of the top supervisor, in start order; subscribes them to their events.

    ``evse_manager`` (an actor class and its extra arguments) replaces the simulator: replay
    plays the EVSE manager from a trace."""
    evse_count = int(ctx.options["EvseCount"])
    manager, manager_args = evse_manager or (Simulator, {})
    actors: list[tuple[str, type[SupervisedActor], dict[str, Any]]] = [
        ("persistence", Persistence, {}),
        ("configuration", Configuration, {}),
        ("simulator", manager, {"evse_count": evse_count, **manager_args}),
        ("auth", Auth, {}),
        ("station", Station, {"evse_count": evse_count}),
        ("reset", ResetSequence, {"evse_count": evse_count}),
        ("schedule_publisher", SchedulePublisher, {"evse_count": evse_count}),
        ("data_transfer", DataTransfer, {}),
        *((f"evse/{i}", Evse, {"evse_id": i}) for i in range(1, evse_count + 1)),
        ("csms", CsmsConnection, {"routes": ROUTES,
                                  "boot_payload": boot_notification_payload(ctx.config)}),
    ]
    specs = []
    for name, cls, kwargs in actors:
        for event_type in cls.SUBSCRIBES:
            ctx.directory.subscribe(event_type, name)
        specs.append(ChildSpec(id=name, start=partial(cls.start, ctx, name, **kwargs)))
    return tuple(specs)
