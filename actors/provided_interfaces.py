"""ProvidedInterfaces: our implementations on the MQTT bus (main, ocpp_generic, auth_validator,
auth_provider, data_transfer, session_cost), served by the actors that own each operation.

Commands come from the bus as BusCommand and are answered with one BusReply each: the
configuration ones by asking Configuration, change_availability by asking the Station,
stop / restart by asking the CSMS connection, security events told to the Station; the slow
ones without blocking: validate_token is told to Auth (its TokenValidated comes back here,
correlated by the command id, as the simulator's swipes are) and data_transfer to DataTransfer
(its DataTransferAnswered comes back the same way). The translation is
:mod:`messages.everest_provided` and :mod:`messages.everest`.

Arguments that do not decode, or an unknown command, are answered MessageParsingFailed with
the reason; an owner that is not running, NotReady; a handler that raises, HandlerException.
A command still waiting when this actor restarts is not answered (its caller times out).

Vars are published from the events of the actors that own them: ``ocpp_generic`` is_connected
(also again at every bus connect), boot_notification_response, ocpp_transaction_event,
charging_schedules, event_data; ``main`` configuration_key; ``session_cost`` session_cost and
tariff_message (which also carries the default price). ``auth_provider.provided_token`` is
published by RemoteModules, which takes the token in the EVSE manager's place.

Accepts (tell): BusCommand; TokenValidated, DataTransferAnswered (answers to what it told);
published events: BusConnectionChanged, ConnectionChanged, RegistrationChanged,
OcppTransactionEvent, ChargingSchedules, EventData, MonitoredKeyChanged, SessionCost,
TariffMessage, DefaultPrice.
Emits: BusReply, BusPublishVar (to the bus); asks GetConfigurationKeys, SetConfigurationKey,
GetVariables, SetVariables (Configuration), ChangeAvailabilityCommand (Station), StopOcpp,
RestartOcpp (CSMS connection); tells MonitorConfigurationKeys, SecurityEvent, ValidateToken,
SendDataTransfer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pykka

from actors.base import SupervisedActor
from messages import everest
from messages import everest_provided as provided
from messages.bus import BusCommand, BusConnectionChanged, BusPublishVar, BusReply
from messages.configuration import EventData, MonitoredKeyChanged
from messages.csms import ConnectionChanged, Registration, RegistrationChanged
from messages.data_transfer import DataTransferAnswered, DefaultPrice, SessionCost, TariffMessage
from messages.evse_manager import TokenValidated
from messages.provided import OcppTransactionEvent, RestartOcpp, StopOcpp
from messages.smart_charging import ChargingSchedules

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext

__all__ = ["ProvidedInterfaces"]

ASK_TIMEOUT_S = 5.0
_LATER = object()
"""A command handler's return value: the answer comes with a later message."""


class _NotReady(Exception):
    """The actor that owns the command is not running."""


class ProvidedInterfaces(SupervisedActor):
    """Our provided interfaces on the bus (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        BusCommand: "_on_command",
        TokenValidated: "_on_token_validated",
        DataTransferAnswered: "_on_data_transfer_answered",
        BusConnectionChanged: "_on_bus_connection",
        ConnectionChanged: "_on_connection_changed",
        RegistrationChanged: "_on_registration_changed",
        OcppTransactionEvent: "_on_var_event",
        ChargingSchedules: "_on_var_event",
        EventData: "_on_var_event",
        MonitoredKeyChanged: "_on_var_event",
        SessionCost: "_on_var_event",
        TariffMessage: "_on_var_event",
        DefaultPrice: "_on_var_event",
    }
    SUBSCRIBES = (BusConnectionChanged, ConnectionChanged, RegistrationChanged, OcppTransactionEvent,
                  ChargingSchedules, EventData, MonitoredKeyChanged, SessionCost, TariffMessage, DefaultPrice)
    COMMANDS: ClassVar[Mapping[tuple[str, str], str]] = {
        ("main", "stop"): "_cmd_stop_ocpp",
        ("ocpp_generic", "stop"): "_cmd_stop_ocpp",
        ("main", "restart"): "_cmd_restart_ocpp",
        ("ocpp_generic", "restart"): "_cmd_restart_ocpp",
        ("main", "get_configuration_key"): "_cmd_get_configuration_key",
        ("main", "set_configuration_key"): "_cmd_set_configuration_key",
        ("main", "monitor_configuration_keys"): "_cmd_monitor_configuration_keys",
        ("main", "security_event"): "_cmd_security_event",
        ("ocpp_generic", "security_event"): "_cmd_security_event",
        ("ocpp_generic", "get_variables"): "_cmd_get_variables",
        ("ocpp_generic", "set_variables"): "_cmd_set_variables",
        ("ocpp_generic", "monitor_variables"): "_cmd_monitor_variables",
        ("ocpp_generic", "change_availability"): "_cmd_change_availability",
        ("auth_validator", "validate_token"): "_cmd_validate_token",
        ("data_transfer", "data_transfer"): "_cmd_data_transfer",
    }
    VARS: ClassVar[Mapping[type, tuple[str, str, Any]]] = {
        OcppTransactionEvent: ("ocpp_generic", "ocpp_transaction_event", provided.transaction_event_to_everest),
        ChargingSchedules: ("ocpp_generic", "charging_schedules", provided.charging_schedules_to_everest),
        EventData: ("ocpp_generic", "event_data", provided.event_data_to_everest),
        MonitoredKeyChanged: ("main", "configuration_key", lambda m: provided.key_value_to_everest(m.key_value)),
        SessionCost: ("session_cost", "session_cost", provided.session_cost_to_everest),
        TariffMessage: ("session_cost", "tariff_message", provided.tariff_message_to_everest),
        DefaultPrice: ("session_cost", "tariff_message", provided.default_price_to_everest),
    }
    """Event → (implementation, var, its EVerest shape)."""

    def __init__(self, ctx: ActorContext, name: str, *, bus: str = "bus", csms: str = "csms",
                 configuration: str = "configuration", station: str = "station", auth: str = "auth",
                 data_transfer: str = "data_transfer") -> None:
        super().__init__(ctx, name)
        self._bus, self._csms, self._configuration = bus, csms, configuration
        self._station, self._auth, self._data_transfer = station, auth, data_transfer
        self._waiting: dict[str, BusCommand] = {}
        """Commands answered later, by command id."""
        self._connected = False

    # --- commands -----------------------------------------------------------------------------

    def _on_command(self, cmd: BusCommand) -> None:
        method = self.COMMANDS.get((cmd.impl, cmd.cmd))
        if method is None:
            self._error(cmd, "MessageParsingFailed", f"{cmd.impl} has no command {cmd.cmd!r}")
            return
        try:
            retval = getattr(self, method)(cmd)
        except everest.BusFormatError as e:
            self._error(cmd, "MessageParsingFailed", e.reason)
        except (_NotReady, pykka.ActorDeadError) as e:
            self._error(cmd, "NotReady", f"{cmd.impl}.{cmd.cmd}: {str(e) or 'its owner is not running'}")
        except Exception as e:  # the caller gets the failure; we serve on
            self.log.exception("%s.%s from %s failed", cmd.impl, cmd.cmd, cmd.origin)
            self._error(cmd, "HandlerException", f"{type(e).__name__}: {e}")
        else:
            if retval is not _LATER:
                self._reply(cmd, retval)

    def _reply(self, cmd: BusCommand, retval: object) -> None:
        self.tell(self._bus, BusReply(command=cmd, retval=retval))  # type: ignore[arg-type]

    def _error(self, cmd: BusCommand, event: str, message: str) -> None:
        self.log.warning("%s.%s from %s: %s: %s", cmd.impl, cmd.cmd, cmd.origin, event, message)
        self.tell(self._bus, BusReply(command=cmd, error_event=event, error_message=message))

    def _ask(self, name: str, message: object) -> Any:
        return self.ctx.directory.ask(name, message, timeout=ASK_TIMEOUT_S)

    def _tell(self, name: str, message: object, *, edge_input: bool = False) -> None:
        """Tell, or raise _NotReady. ``edge_input``: recorded in the trace as an input from the
        rest of the charger, as the simulator's token checks are (a replay feeds it again)."""
        if self.ctx.directory.get(name) is None:
            raise _NotReady(f"{name} is not running")
        if edge_input:
            self.ctx.trace.message("ev", message, to=name)
        if not self.tell(name, message):
            raise _NotReady(f"{name} is not running")

    def _cmd_stop_ocpp(self, _cmd: BusCommand) -> bool:
        return bool(self._ask(self._csms, StopOcpp()).done)

    def _cmd_restart_ocpp(self, _cmd: BusCommand) -> bool:
        return bool(self._ask(self._csms, RestartOcpp()).done)

    def _cmd_get_configuration_key(self, cmd: BusCommand) -> object:
        query = provided.get_configuration_keys_from_everest(cmd.args)
        return provided.configuration_keys_to_everest(self._ask(self._configuration, query))

    def _cmd_set_configuration_key(self, cmd: BusCommand) -> object:
        return self._ask(self._configuration, provided.set_configuration_key_from_everest(cmd.args)).status

    def _cmd_monitor_configuration_keys(self, cmd: BusCommand) -> None:
        self._tell(self._configuration, provided.monitor_keys_from_everest(cmd.args))

    def _cmd_monitor_variables(self, cmd: BusCommand) -> None:
        self._tell(self._configuration, provided.monitor_variables_from_everest(cmd.args))

    def _cmd_security_event(self, cmd: BusCommand) -> None:
        self._tell(self._station, provided.security_event_from_everest(cmd.args, generic=cmd.impl == "ocpp_generic"))

    def _cmd_get_variables(self, cmd: BusCommand) -> object:
        query, requests = provided.get_variables_from_everest(cmd.args)
        return provided.variable_results_to_everest(requests, self._ask(self._configuration, query))

    def _cmd_set_variables(self, cmd: BusCommand) -> object:
        change, requests = provided.set_variables_from_everest(cmd.args)
        return provided.variable_results_to_everest(requests, self._ask(self._configuration, change))

    def _cmd_change_availability(self, cmd: BusCommand) -> object:
        request = provided.change_availability_from_everest(cmd.args)
        return provided.availability_result_to_everest(self._ask(self._station, request))

    def _cmd_validate_token(self, cmd: BusCommand) -> object:
        self._tell(self._auth, everest.validate_token_from_everest(cmd.args, reply_to=self.name, correlation=cmd.id),
                   edge_input=True)
        self._waiting[cmd.id] = cmd
        return _LATER

    def _cmd_data_transfer(self, cmd: BusCommand) -> object:
        self._tell(self._data_transfer,
                   provided.send_data_transfer_from_everest(cmd.args, reply_to=self.name, correlation=cmd.id))
        self._waiting[cmd.id] = cmd
        return _LATER

    def _on_token_validated(self, msg: TokenValidated) -> None:
        cmd = self._waiting.pop(msg.correlation, None)
        if cmd is None:
            self.log.debug("TokenValidated for %s: nobody waits any more", msg.id_tag)
            return
        self._reply(cmd, everest.token_validated_to_everest(msg))

    def _on_data_transfer_answered(self, msg: DataTransferAnswered) -> None:
        cmd = self._waiting.pop(msg.correlation, None)
        if cmd is not None:
            self._reply(cmd, provided.data_transfer_answered_to_everest(msg))

    # --- vars ---------------------------------------------------------------------------------

    def _publish_var(self, impl: str, name: str, value: object) -> None:
        self.tell(self._bus, BusPublishVar(impl=impl, name=name, value=value))  # type: ignore[arg-type]

    def _on_bus_connection(self, msg: BusConnectionChanged) -> None:
        if msg.connected:
            self._publish_var("ocpp_generic", "is_connected", self._connected)

    def _on_connection_changed(self, msg: ConnectionChanged) -> None:
        self._connected = msg.connected
        self._publish_var("ocpp_generic", "is_connected", msg.connected)

    def _on_registration_changed(self, msg: RegistrationChanged) -> None:
        if msg.status is not Registration.UNKNOWN:
            self._publish_var("ocpp_generic", "boot_notification_response",
                              provided.boot_notification_to_everest(msg, self.ctx.clock.now()))

    def _on_var_event(self, msg: object) -> None:
        impl, name, shape = self.VARS[type(msg)]
        self._publish_var(impl, name, shape(msg))
