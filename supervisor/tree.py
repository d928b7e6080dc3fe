"""The charge point's actor tree, as data: who starts in which order, and who owns which
CSMS operation.

Start order: Persistence first (everyone rebuilds from it), the simulated hardware (the EVSE
manager), then the domain actors, those that listen to the EVSEs' events before the EVSEs
(an EVSE publishes while it rebuilds), and the CSMS connection last, when everything it
routes to is up. Stop order is the reverse, so the link closes first and nothing arrives for
actors that are gone.

With ``MqttServerAddress`` set, the rest of the charger is on the MQTT bus instead of the
simulator (``docs/mqtt-bus.md``): RemoteModules takes the simulator's place under the name
``evse_manager`` (the EVSE managers, system, reservation, auth and energy sinks on the bus),
ProvidedInterfaces serves our implementations, RemoteDataTransfer is the data_transfer
requirement when one is connected, RemoteSystem takes the embedded SystemTransfers' name
(``system_transfers``: firmware and log transfers) when a system module is connected,
RemoteSecurity takes the embedded certificate store's name (``requirement/security``) when a
security module is connected (:mod:`supervisor.security_tree`), and the bus itself starts after those (what it receives has somewhere to go) and before everyone who
calls through them.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from actors.auth import Auth
from actors.mqtt_bus import MqttBus
from actors.provided_interfaces import ProvidedInterfaces
from actors.remote_data_transfer import RemoteDataTransfer
from actors.remote_modules import RemoteModules
from actors.remote_system import RemoteSystem
from actors.configuration import Configuration
from actors.csms_connection import CsmsConnection
from actors.data_transfer import DataTransfer
from actors.evse import Evse
from actors.firmware import Firmware
from actors.persistence import Persistence
from actors.schedule_publisher import SchedulePublisher
from actors.simulator import Simulator
from actors.station import Station
from actors.system_transfers import SystemTransfers
from messages import everest
from messages.data_transfer import DATA_TRANSFER_REQUIREMENT
from supervisor.reset import ResetSequence
from supervisor.security_tree import security_children
from supervisor.spec import ChildSpec, SupFlags

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext, SupervisedActor
    from supervisor.config import ChargePointConfig

__all__ = ["EVSE_MANAGER_ON_BUS", "FLAGS", "ROUTES", "SYSTEM_TRANSFERS", "boot_notification_payload", "child_specs", "uses_mqtt"]

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
    "UpdateFirmware": "firmware",
    "GetDiagnostics": "firmware",
    "SignedUpdateFirmware": "firmware",
    "GetLog": "firmware",
    "CertificateSigned": "security",
    "InstallCertificate": "security",
    "DeleteCertificate": "security",
    "GetInstalledCertificateIds": "security",
    "ExtendedTriggerMessage": "security",
}
"""CSMS action → name of the actor that owns it. Anything else is answered NotSupported."""

EVSE_MANAGER_ON_BUS = "evse_manager"
"""The name RemoteModules runs under: the ``evse_manager`` and ``system`` of the other actors."""

SYSTEM_TRANSFERS = "system_transfers"
"""The name the system's file transfers run under: SystemTransfers, or RemoteSystem on the bus."""

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


def uses_mqtt(options: Mapping[str, object] | Any) -> bool:
    """True when the module options put the rest of the charger on an MQTT broker."""
    return bool(str(options["MqttServerAddress"] or "").strip())


def _charger_side(ctx: ActorContext, evse_count: int, evse_manager: tuple[type[SupervisedActor], dict[str, Any]] | None,
                  ) -> tuple[str, list[tuple[str, type[SupervisedActor], dict[str, Any]]], bool]:
    """The name the EVSE manager runs under, the actors that stand for the rest of the charger,
    and whether the system's transfers are among them (else SystemTransfers does them embedded)."""
    if evse_manager is not None or not uses_mqtt(ctx.options):
        manager, manager_args = evse_manager or (Simulator, {})
        return "simulator", [("simulator", manager, {"evse_count": evse_count, **manager_args})], False
    connections = everest.resolve_connections(ctx.options["Connections"], evse_count)
    actors: list[tuple[str, type[SupervisedActor], dict[str, Any]]] = [
        (EVSE_MANAGER_ON_BUS, RemoteModules, {"evse_count": evse_count}),
        ("provided", ProvidedInterfaces, {}),
    ]
    if connections.get("data_transfer"):
        actors.append((DATA_TRANSFER_REQUIREMENT, RemoteDataTransfer, {}))
    remote_system = bool(connections.get("system"))
    if remote_system:
        actors.append((SYSTEM_TRANSFERS, RemoteSystem, {"evse_count": evse_count}))
    actors.append(("bus", MqttBus, {"evse_count": evse_count, "provided": "provided",
                                    "remote": EVSE_MANAGER_ON_BUS,
                                    "var_routes": {"system": SYSTEM_TRANSFERS} if remote_system else {}}))
    return EVSE_MANAGER_ON_BUS, actors, remote_system


def child_specs(ctx: ActorContext, *, evse_manager: tuple[type[SupervisedActor], dict[str, Any]] | None = None,
                ) -> tuple[ChildSpec, ...]:
    """The children of the top supervisor, in start order; subscribes them to their events.

    ``evse_manager`` (an actor class and its extra arguments) replaces the simulator: replay
    plays the EVSE manager from a trace. Without it, a non-empty ``MqttServerAddress`` puts
    the bus actors in the simulator's place."""
    evse_count = int(ctx.options["EvseCount"])
    manager, charger_side, remote_system = _charger_side(ctx, evse_count, evse_manager)
    remote_security = manager == EVSE_MANAGER_ON_BUS and bool(
        everest.resolve_connections(ctx.options["Connections"], evse_count).get("security"))
    wired = {"evse_manager": manager}
    actors: list[tuple[str, type[SupervisedActor], dict[str, Any]]] = [
        ("persistence", Persistence, {}),
        ("configuration", Configuration, {}),
        *charger_side,
        ("auth", Auth, dict(wired)),
        ("station", Station, {"evse_count": evse_count, **wired}),
        ("reset", ResetSequence, {"evse_count": evse_count, "system": manager}),
        ("schedule_publisher", SchedulePublisher, {"evse_count": evse_count, **wired}),
        ("data_transfer", DataTransfer, {}),
        *((f"evse/{i}", Evse, {"evse_id": i, **wired}) for i in range(1, evse_count + 1)),
        *security_children(remote=remote_security),
        *(() if remote_system else [(SYSTEM_TRANSFERS, SystemTransfers, {})]),
        ("firmware", Firmware, {"evse_count": evse_count, **wired}),
        ("csms", CsmsConnection, {"routes": ROUTES,
                                  "boot_payload": boot_notification_payload(ctx.config)}),
    ]
    specs = []
    for name, cls, kwargs in actors:
        for event_type in cls.SUBSCRIBES:
            ctx.directory.subscribe(event_type, name)
        specs.append(ChildSpec(id=name, start=partial(cls.start, ctx, name, **kwargs)))
    return tuple(specs)
