"""The EVerest MQTT bus as data: topics, envelopes, and the interface types we exchange on it.

Why one pure module: the OCPP side's bus actor and the simulator in its own process must agree
byte for byte, and every byte from a broker is untrusted. So building and parsing live here,
without I/O, and parsing fails in exactly one way, :class:`BusFormatError`; the callers answer a
malformed command with a CmdResult error and drop a malformed var, and never crash a thread.
The contract this implements (ids, topics, QoS, resynchronisation) is ``docs/mqtt-bus.md``.

Shapes are those of EVerest's current framework and its ``interfaces/`` and ``types/`` (the
subset OCPP 1.6 uses); one command is ours: ``get_session_state``, marked as our extension.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Union

from messages.charging_profiles import CompositeSchedule, SchedulePeriod, format_time, parse_time
from messages.data_transfer import DataTransferRequest, DataTransferResult, DataTransferStatus
from messages.evse_manager import (
    CancelReserve, EnableDisable, ErrorCleared, ErrorRaised, ForceUnlock, GetSessionState, MeterReading,
    PauseCharging, ProvideToken, Reserve, ResumeCharging, SessionEvent, SessionEventType, SessionState,
    SimCommand, StopTransactionCommand, TokenValidated, ValidateToken,
)
from messages.payload import Json, freeze, thaw
from messages.security import (
    CaCertificateInstalled, CaCertificateType, CertificateDeleted, CertificateHashData, CertificateVerified,
    CsrGenerated, DeleteCertificate, DeleteResult, GenerateCsr, GetInstalledCertificates, GetLeafCertificateInfo,
    InstallCaCertificate, InstalledCertificate, InstalledCertificates, InstallResult, LeafCertificateInfo,
    LeafCertificateUpdated, UpdateLeafCertificate, VerifyCertificate,
)
from messages.smart_charging import ExternalLimits
from messages.system import (
    DownloadFirmware, FirmwareDownloaded, FirmwareInstalled, InstallFirmware, LogsUploaded, LogType, ResetKind,
    SystemReset, TransferFailed, UploadLogs,
)

__all__ = [
    "BusFormatError", "CMD_ERROR_EVENTS", "CMD_TIMEOUT_S", "Call", "Cmd", "CmdError", "CmdResult",
    "Connection", "Envelope", "ErrorEvent", "GLOBAL_READY_TOPIC", "GlobalReady", "IsResetAllowed",
    "ModuleReady", "OCPP_MODULE_ID", "OPEN_END_S", "PREFIX", "PROVIDED", "QOS", "REQUIREMENTS",
    "SECURITY_REQUESTS", "SESSION_STATE_TIMEOUT_S", "SIM_COMMANDS", "SIM_CONTROL_PREFIX", "SIM_MODULE_ID", "SetConnectionTimeout",
    "SystemTransfer", "TRANSFER_VARS", "Topic", "TopicKind", "UNTIL_CANCELLED", "VALIDATE_TOKEN_TIMEOUT_S", "Var", "call_for", "client_id",
    "cmd_topic", "data_transfer_request_from_everest", "data_transfer_request_to_everest",
    "data_transfer_result_from_everest", "data_transfer_result_to_everest", "decode", "default_connections",
    "encode", "energy_sink_impl", "enforced_limits_to_everest", "error_cleared_to_everest",
    "error_from_everest", "error_raised_to_everest", "error_topic", "evse_manager_impl",
    "external_limits_from_everest", "external_limits_to_everest", "global_ready_topic", "message_for",
    "meter_reading_from_everest", "meter_reading_to_everest", "module_ready_topic", "offered_from_everest",
    "parse_topic", "provided_token_from_everest", "provided_token_to_everest", "resolve_connections",
    "result_topic", "security_reply_from_everest", "security_reply_to_everest", "session_event_from_everest",
    "session_event_to_everest", "session_state_from_everest",
    "session_state_to_everest", "sim_command_from_mqtt", "sim_command_to_mqtt", "sim_control_topic",
    "sim_impl", "sim_impls", "soc_from_everest", "stop_reason_from_everest", "stop_reason_to_everest",
    "timeout_error", "token_validated_from_everest", "transfer_answer", "transfer_status_from_everest",
    "transfer_status_to_everest", "TransferStatus", "token_validated_to_everest",
    "validate_token_from_everest", "validate_token_to_everest", "var_topic",
]

PREFIX = "everest/"
SIM_CONTROL_PREFIX = "ocpp-cp/sim/"
OCPP_MODULE_ID = "ocpp"
SIM_MODULE_ID = "sim"
QOS = 2
"""Every Var, Cmd, CmdResult, error and ready message, published and subscribed (as EVerest does)."""
CMD_TIMEOUT_S = 10.0
VALIDATE_TOKEN_TIMEOUT_S = 65.0
SESSION_STATE_TIMEOUT_S = 2.0
CMD_ERROR_EVENTS = ("MessageParsingFailed", "SchemaValidationFailed", "HandlerException", "Timeout",
                    "Shutdown", "NotReady")
SIM_COMMANDS = ("plug_in", "plug_out", "swipe", "ev_pause", "ev_resume", "raise_error", "clear_error",
                "power_loss")
PROVIDED = {"main": "ocpp_1_6_charge_point", "auth_validator": "auth_token_validator",
            "auth_provider": "auth_token_provider", "data_transfer": "ocpp_data_transfer",
            "ocpp_generic": "ocpp", "session_cost": "session_cost"}
"""Our implementation ids → their EVerest interface (the OCPP module's manifest)."""
REQUIREMENTS = ("evse_manager", "evse_energy_sink", "auth", "reservation", "system", "security",
                "data_transfer", "display_message", "charger_information", "extensions_15118")
UNTIL_CANCELLED = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
"""reserve_now's expiry_time when the sender has none: our OCPP side cancels on expiry itself."""
OPEN_END_S = 2**31 - 1
"""Duration of a decoded schedule with no end marker: EVerest's last entry holds for ever."""
SECURITY_REQUESTS = (GenerateCsr, UpdateLeafCertificate, InstallCaCertificate, DeleteCertificate,
                     GetInstalledCertificates, VerifyCertificate, GetLeafCertificateInfo)
"""The messages of :mod:`messages.security` that travel as evse_security commands."""
_STOP_1TO1 = frozenset({"EmergencyStop", "EVDisconnected", "HardReset", "Local", "PowerLoss", "Reboot",
                        "Remote", "SoftReset", "UnlockCommand", "DeAuthorized"})
_EVSE = re.compile(r"[1-9][0-9]{0,2}")
_REQUIRED = object()


class BusFormatError(ValueError):
    """Anything malformed on the bus; ``reason`` says what, in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def client_id(module_id: str) -> str:
    """The fixed MQTT client id of a module (persistent sessions need a stable one)."""
    return f"ocpp-cp-{module_id}"


def evse_manager_impl(evse_id: int) -> str:
    return f"evse_manager_{evse_id}"


def energy_sink_impl(evse_id: int) -> str:
    return f"energy_sink_{evse_id}"


def sim_impls(evse_count: int) -> tuple[str, ...]:
    """Every implementation id of the simulator module."""
    per_evse = tuple(f(n) for n in range(1, evse_count + 1) for f in (evse_manager_impl, energy_sink_impl))
    return (*per_evse, "system", "reservation", "auth")


def sim_impl(impl: str) -> tuple[str, int]:
    """A simulator implementation id as (requirement it serves, EVSE id or 0)."""
    for prefix, requirement in (("evse_manager_", "evse_manager"), ("energy_sink_", "evse_energy_sink")):
        if impl.startswith(prefix) and _EVSE.fullmatch(impl[len(prefix):]):
            return requirement, int(impl[len(prefix):])
    if impl in ("system", "reservation", "auth", "security"):  # security: only with ``ocpp-cp sim --certs-path``
        return impl, 0
    raise BusFormatError(f"the simulator has no implementation {impl!r}")


# --- connections ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connection:
    """One entry of a requirement's list in the ``Connections`` module option (EVerest's shape)."""

    module_id: str
    implementation_id: str


def default_connections(evse_count: int, sim_module: str = SIM_MODULE_ID) -> dict[str, tuple[Connection, ...]]:
    """The requirements wired to the conventional simulator ids (``Connections`` empty)."""
    evses = range(1, evse_count + 1)
    return {"evse_manager": tuple(Connection(sim_module, evse_manager_impl(n)) for n in evses),
            "evse_energy_sink": tuple(Connection(sim_module, energy_sink_impl(n)) for n in evses),
            **{name: (Connection(sim_module, name),) for name in ("system", "reservation", "auth")}}


def resolve_connections(option: object, evse_count: int,
                        sim_module: str = SIM_MODULE_ID) -> dict[str, tuple[Connection, ...]]:
    """The ``Connections`` option (an object, or its JSON text) over the defaults, per requirement."""
    if isinstance(option, str):
        option = _load(option.encode() if option.strip() else b"{}")
    out = default_connections(evse_count, sim_module)
    for requirement, entries in _obj({} if option is None else option, "Connections").items():
        if requirement not in REQUIREMENTS:
            raise BusFormatError(f"Connections: unknown requirement {requirement!r}")
        what = f"Connections.{requirement}"
        connections = []
        for entry in _list(entries, what):
            entry = _obj(entry, what)
            connections.append(Connection(_segment(_text(entry, "module_id", what)),
                                          _segment(_text(entry, "implementation_id", what))))
        out[requirement] = tuple(connections)
    if len(out["evse_manager"]) != evse_count:
        raise BusFormatError(f"Connections.evse_manager lists {len(out['evse_manager'])} EVSEs, "
                             f"EvseCount is {evse_count}")
    return {k: v for k, v in out.items() if v}


# --- topics -----------------------------------------------------------------------------------


class TopicKind(enum.Enum):
    VAR = "var"
    CMD = "cmd"
    RESULT = "result"
    ERROR = "error"
    MODULE_READY = "module_ready"
    GLOBAL_READY = "global_ready"
    SIM_CONTROL = "sim_control"


@dataclass(frozen=True, slots=True, kw_only=True)
class Topic:
    """A parsed topic."""

    kind: TopicKind
    module: str = ""
    impl: str = ""
    name: str = ""
    """Var or cmd name, error type (``evse_manager/Inoperative``), or simulator command."""
    origin: str = ""
    """RESULT: the calling module, whose response topic this is."""
    evse_id: int = 0
    """SIM_CONTROL: the EVSE."""


def _segment(name: str) -> str:
    if not name or any(c in name for c in "/+#\0"):
        raise BusFormatError(f"{name!r} cannot be a topic level")
    return name


def _impl_prefix(module: str, impl: str, prefix: str) -> str:
    return f"{prefix}modules/{_segment(module)}/impl/{_segment(impl)}"


def var_topic(module: str, impl: str, var: str, *, prefix: str = PREFIX) -> str:
    return f"{_impl_prefix(module, impl, prefix)}/var/{_segment(var)}"


def cmd_topic(module: str, impl: str, cmd: str, *, prefix: str = PREFIX) -> str:
    return f"{_impl_prefix(module, impl, prefix)}/cmd/{_segment(cmd)}"


def result_topic(module: str, impl: str, cmd: str, caller: str, *, prefix: str = PREFIX) -> str:
    return f"{cmd_topic(module, impl, cmd, prefix=prefix)}/response/{_segment(caller)}"


def error_topic(module: str, impl: str, error_type: str, *, prefix: str = PREFIX) -> str:
    return f"{_impl_prefix(module, impl, prefix)}/error/{'/'.join(map(_segment, error_type.split('/')))}"


def module_ready_topic(module: str, *, prefix: str = PREFIX) -> str:
    return f"{prefix}modules/{_segment(module)}/ready"


def global_ready_topic(*, prefix: str = PREFIX) -> str:
    return f"{prefix}ready"


GLOBAL_READY_TOPIC = global_ready_topic()


def sim_control_topic(evse_id: int, command: str) -> str:
    return f"{SIM_CONTROL_PREFIX}{evse_id}/{_segment(command)}"


def parse_topic(topic: str, *, prefix: str = PREFIX) -> Topic:
    """What a topic is; BusFormatError for anything outside the contract. ``prefix`` is
    EVerest's ``mqtt_everest_prefix`` (with its trailing slash)."""
    if topic == global_ready_topic(prefix=prefix):
        return Topic(kind=TopicKind.GLOBAL_READY)
    if topic.startswith(SIM_CONTROL_PREFIX):
        parts = topic[len(SIM_CONTROL_PREFIX):].split("/")
        if len(parts) != 2 or not _EVSE.fullmatch(parts[0]) or parts[1] not in SIM_COMMANDS:
            raise BusFormatError(f"not a simulator control topic: {topic!r}")
        return Topic(kind=TopicKind.SIM_CONTROL, evse_id=int(parts[0]), name=parts[1])
    rest = topic[len(prefix):].split("/")
    if prefix.endswith("/") and topic.startswith(prefix) and rest[0] == "modules" and "" not in rest:
        rest = rest[1:]
        if len(rest) == 2 and rest[1] == "ready":
            return Topic(kind=TopicKind.MODULE_READY, module=rest[0])
        if len(rest) >= 5 and rest[1] == "impl":  # noqa: PLR2004
            module, impl, kind, tail = rest[0], rest[2], rest[3], rest[4:]
            if kind == "var" and len(tail) == 1:
                return Topic(kind=TopicKind.VAR, module=module, impl=impl, name=tail[0])
            if kind == "cmd" and len(tail) == 1:
                return Topic(kind=TopicKind.CMD, module=module, impl=impl, name=tail[0])
            if kind == "cmd" and len(tail) == 3 and tail[1] == "response":  # noqa: PLR2004
                return Topic(kind=TopicKind.RESULT, module=module, impl=impl, name=tail[0], origin=tail[2])
            if kind == "error":
                return Topic(kind=TopicKind.ERROR, module=module, impl=impl, name="/".join(tail))
    raise BusFormatError(f"not an EVerest topic: {topic!r}")


# --- envelopes --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Var:
    value: Json

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", freeze(self.value))


@dataclass(frozen=True, slots=True, kw_only=True)
class Cmd:
    id: str
    args: Mapping[str, Json] = field(default_factory=dict)
    origin: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", freeze(self.args))


@dataclass(frozen=True, slots=True, kw_only=True)
class CmdError:
    event: str
    """One of :data:`CMD_ERROR_EVENTS`."""
    msg: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CmdResult:
    id: str
    origin: str
    """The module that answered."""
    retval: Json = None
    error: CmdError | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "retval", freeze(self.retval))


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorEvent:
    """RaiseError (``cleared`` False) or ClearError: the error object as EVerest sends it."""

    cleared: bool
    error: Mapping[str, Json]

    def __post_init__(self) -> None:
        object.__setattr__(self, "error", freeze(self.error))


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleReady:
    ready: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class GlobalReady:
    ready: bool = True


Envelope = Union[Var, Cmd, CmdResult, ErrorEvent, ModuleReady, GlobalReady]


def timeout_error(module: str, impl: str, cmd: str, seconds: float) -> CmdError:
    """What a caller gets when no CmdResult came in time."""
    return CmdError(event="Timeout", msg=f"no result from {module}->{impl}.{cmd} within {seconds:g} s")


def encode(envelope: Envelope) -> bytes:
    """The wire form (UTF-8 JSON) of an envelope."""
    if isinstance(envelope, Var):
        return _dump({"msg_type": "Var", "data": {"data": thaw(envelope.value)}})
    if isinstance(envelope, Cmd):
        return _dump({"msg_type": "Cmd", "data": {"id": envelope.id, "args": thaw(envelope.args),
                                                  "origin": envelope.origin}})
    if isinstance(envelope, CmdResult):
        inner: dict[str, object] = {"id": envelope.id, "origin": envelope.origin}
        if envelope.error is not None:
            inner["error"] = {"event": envelope.error.event, "msg": envelope.error.msg}
        else:
            inner["retval"] = thaw(envelope.retval)
        return _dump({"msg_type": "CmdResult", "data": {"type": "result", "data": inner}})
    if isinstance(envelope, ErrorEvent):
        return _dump({"msg_type": "ClearError" if envelope.cleared else "RaiseError", "data": thaw(envelope.error)})
    if isinstance(envelope, (ModuleReady, GlobalReady)):
        return _dump({"msg_type": type(envelope).__name__, "data": envelope.ready})
    raise TypeError(f"not an envelope: {envelope!r}")


def decode(payload: bytes) -> Envelope:
    """An envelope from the wire; BusFormatError for anything else."""
    try:
        body = _obj(_load(payload), "envelope")
        kind, data = body.get("msg_type"), _get(body, "data", "envelope")
        if kind == "Var":
            return Var(value=_get(_obj(data, "Var"), "data", "Var"))
        if kind == "Cmd":
            data = _obj(data, "Cmd")
            return Cmd(id=_text(data, "id", "Cmd"), args=_obj(data.get("args", {}), "Cmd args"),
                       origin=_text(data, "origin", "Cmd"))
        if kind == "CmdResult":
            return _cmd_result(_obj(data, "CmdResult"))
        if kind in ("RaiseError", "ClearError"):
            return ErrorEvent(cleared=kind == "ClearError", error=_obj(data, str(kind)))
        if kind in ("ModuleReady", "GlobalReady"):
            if not isinstance(data, bool):
                raise BusFormatError(f"{kind}: data must be true or false")
            return ModuleReady(ready=data) if kind == "ModuleReady" else GlobalReady(ready=data)
    except RecursionError:
        raise BusFormatError("nested too deeply") from None
    raise BusFormatError(f"unknown msg_type {kind!r}")


def _cmd_result(data: Mapping[str, Json]) -> CmdResult:
    inner = _obj(data["data"], "CmdResult") if data.get("type") == "result" and "data" in data else data
    if "error" in inner:
        error = _obj(inner["error"], "CmdResult error")
        event = _text(error, "event", "CmdResult error")
        return CmdResult(id=_text(inner, "id", "CmdResult"), origin=_text(inner, "origin", "CmdResult", ""),
                         error=CmdError(event=event, msg=_text(error, "msg", "CmdResult error", "")))
    return CmdResult(id=_text(inner, "id", "CmdResult"), origin=_text(inner, "origin", "CmdResult", ""),
                     retval=inner.get("retval"))


def _dump(doc: object) -> bytes:
    try:
        return json.dumps(doc, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as e:
        raise BusFormatError(f"not JSON: {e}") from None


def _no_constant(name: str) -> object:
    raise BusFormatError(f"{name} is not JSON")


def _load(payload: bytes | str) -> object:
    try:
        return json.loads(payload, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BusFormatError(f"not JSON: {e}") from None


# --- field readers: every one raises BusFormatError, nothing else ----------------------------


def _obj(value: object, what: str) -> Mapping[str, Json]:
    if not isinstance(value, Mapping):
        raise BusFormatError(f"{what}: expected an object")
    return value


def _get(obj: Mapping[str, Json], key: str, what: str, default: object = _REQUIRED) -> Json:
    """``obj[key]``; a missing key is the default, or an error when there is none."""
    if key in obj:
        return obj[key]
    if default is _REQUIRED:
        raise BusFormatError(f"{what}: {key} is missing")
    return default  # type: ignore[return-value]


def _typed(obj: Mapping[str, Json], key: str, what: str, default: object, kind: type | tuple[type, ...],
           name: str) -> object:
    if key not in obj and default is not _REQUIRED:
        return default
    value = _get(obj, key, what)
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):  # JSON true is no number
        raise BusFormatError(f"{what}: {key} must be {name}")
    return value


def _text(obj: Mapping[str, Json], key: str, what: str, default: object = _REQUIRED) -> str:
    return _typed(obj, key, what, default, str, "a string")  # type: ignore[return-value]


def _num(obj: Mapping[str, Json], key: str, what: str, default: object = _REQUIRED) -> float:
    value = _typed(obj, key, what, default, (int, float), "a number")
    if value is not default and abs(value) > 1e300:  # type: ignore[arg-type]
        raise BusFormatError(f"{what}: {key} is out of range")
    return value  # type: ignore[return-value]


def _int(obj: Mapping[str, Json], key: str, what: str, default: object = _REQUIRED) -> int:
    value = _num(obj, key, what, default)
    if value is default:
        return value  # type: ignore[return-value]
    if value != int(value):
        raise BusFormatError(f"{what}: {key} must be an integer")
    return int(value)


def _flag(obj: Mapping[str, Json], key: str, what: str, default: object = _REQUIRED) -> bool:
    return _typed(obj, key, what, default, bool, "true or false")  # type: ignore[return-value]


def _time(obj: Mapping[str, Json], key: str, what: str) -> datetime:
    try:
        return parse_time(_text(obj, key, what))
    except (ValueError, OverflowError) as e:
        if isinstance(e, BusFormatError):
            raise
        raise BusFormatError(f"{what}: {key} is not an RFC 3339 time") from None


def _list(value: Json, what: str) -> tuple[Json, ...]:
    if not isinstance(value, (tuple, list)):
        raise BusFormatError(f"{what}: expected a list")
    return tuple(value)


def _int_of(value: Json, what: str) -> int:
    return _int({what: value}, what, what)


def _enum(kind: type[enum.Enum], value: str, what: str) -> enum.Enum:
    try:
        return kind(value)
    except ValueError:
        raise BusFormatError(f"{what}: unknown value {value!r}") from None


# --- evse_manager vars: session_event, powermeter, enforced_limits, ev_info; errors -----------

_SESSION_DATA = {SessionEventType.SESSION_STARTED: "session_started",
                 SessionEventType.TRANSACTION_STARTED: "transaction_started",
                 SessionEventType.TRANSACTION_FINISHED: "transaction_finished",
                 SessionEventType.SESSION_FINISHED: "session_finished"}
_SESSION_EVENTS = {t.value: t for t in SessionEventType} | {
    "ChargingResumed": SessionEventType.CHARGING_STARTED, "SwitchingPhases": SessionEventType.CHARGING_PAUSED_EVSE}
"""EVerest events we act on; the others (AuthRequired, PrepareCharging, ...) are ignored, as EVerest's module does."""
_PHASES = ("L1", "L2", "L3")


def stop_reason_from_everest(reason: object) -> str:
    """EVerest's StopTransactionReason in OCPP 1.6 spelling: ten map 1:1, the rest (and none) are Other."""
    return reason if isinstance(reason, str) and reason in _STOP_1TO1 else "Other"


def stop_reason_to_everest(reason: str) -> str:
    return reason if reason in _STOP_1TO1 else "Other"


def _token(id_tag: str, token_type: str = "ISO14443", authorization: str = "RFID") -> dict[str, object]:
    """A ProvidedIdToken."""
    return {"id_token": {"value": id_tag, "type": token_type}, "authorization_type": authorization}


def _token_value(provided: Json, what: str) -> str:
    return _text(_obj(_get(_obj(provided, what), "id_token", what), what), "value", what)


def _energy(detail: Mapping[str, Json], what: str) -> float:
    meter = _obj(_get(detail, "meter_value", what), what)
    return _num(_obj(_get(meter, "energy_Wh_import", what), what), "total", what)


def session_event_to_everest(event: SessionEvent) -> dict[str, object]:
    """The session_event var (types/evse_manager SessionEvent)."""
    kind, detail = event.event, {}
    out: dict[str, object] = {"uuid": event.session_id, "event": kind.value}
    if event.timestamp is not None:
        out["timestamp"] = detail["timestamp"] = format_time(event.timestamp)
    elif kind in _SESSION_DATA:
        raise BusFormatError(f"{kind.value} needs a timestamp")
    if kind in (SessionEventType.TRANSACTION_STARTED, SessionEventType.TRANSACTION_FINISHED):
        if event.meter_wh is None:
            raise BusFormatError(f"{kind.value} needs meter_wh")
        detail["meter_value"] = {"timestamp": detail["timestamp"], "energy_Wh_import": {"total": event.meter_wh}}
    if kind is SessionEventType.SESSION_STARTED:
        if event.reason not in ("EVConnected", "Authorized"):
            raise BusFormatError(f"SessionStarted reason {event.reason!r}")
        detail["reason"] = event.reason
    elif kind is SessionEventType.TRANSACTION_STARTED:
        detail["id_tag"] = _token(event.id_tag)
        if event.reservation_id is not None:
            detail["reservation_id"] = event.reservation_id
    elif kind is SessionEventType.TRANSACTION_FINISHED:
        detail["reason"] = stop_reason_to_everest(event.reason)
        if event.id_tag:
            detail["id_tag"] = _token(event.id_tag)
    if kind in _SESSION_DATA:
        out[_SESSION_DATA[kind]] = detail
    return out


def session_event_from_everest(evse_id: int, data: Json, *, reservation: Reserve | None = None) -> SessionEvent | None:
    """Our SessionEvent, or None for an event OCPP 1.6 ignores. EVerest's ReservationStart/End carry
    no reservation: ``reservation`` is the last :class:`Reserve` sent to this EVSE."""
    what = "session_event"
    data = _obj(data, what)
    session_id, kind = _text(data, "uuid", what), _SESSION_EVENTS.get(_text(data, "event", what))
    if kind is None:
        return None
    key = _SESSION_DATA.get(kind, "")
    required = kind in (SessionEventType.TRANSACTION_STARTED, SessionEventType.TRANSACTION_FINISHED)
    detail = _obj(_get(data, key, what, _REQUIRED if required else {}), key) if key else {}
    at = _time(data, "timestamp", what) if "timestamp" in data else (
        _time(detail, "timestamp", key) if "timestamp" in detail else None)
    fields: dict[str, object] = {}
    if kind is SessionEventType.SESSION_STARTED:
        fields["reason"] = _text(detail, "reason", key, "EVConnected")
    elif kind is SessionEventType.TRANSACTION_STARTED:
        fields.update(id_tag=_token_value(_get(detail, "id_tag", key), key), meter_wh=_energy(detail, key),
                      reservation_id=_int(detail, "reservation_id", key, None))
    elif kind is SessionEventType.TRANSACTION_FINISHED:
        fields.update(reason=stop_reason_from_everest(detail.get("reason")), meter_wh=_energy(detail, key),
                      id_tag=_token_value(detail["id_tag"], key) if "id_tag" in detail else "")
    elif kind in (SessionEventType.RESERVATION_START, SessionEventType.RESERVATION_END) and reservation:
        fields["reservation_id"] = reservation.reservation_id
        if kind is SessionEventType.RESERVATION_START:
            fields["id_tag"] = reservation.id_tag
    return SessionEvent(evse_id=evse_id, event=kind, session_id=session_id, timestamp=at, **fields)  # type: ignore[arg-type]


def meter_reading_to_everest(reading: MeterReading) -> dict[str, object]:
    """The powermeter var (types/powermeter Powermeter). soc and the offered values travel apart:
    see :func:`enforced_limits_to_everest` (EVerest's ev_info carries the SoC)."""
    return {"timestamp": format_time(reading.timestamp), "energy_Wh_import": {"total": reading.energy_wh},
            "power_W": {"total": reading.power_w}, "current_A": dict(zip(_PHASES, reading.current_a)),
            "voltage_V": dict(zip(_PHASES, reading.voltage_v)), "frequency_Hz": {"L1": reading.frequency_hz}}


def meter_reading_from_everest(evse_id: int, data: Json, *, soc: float | None = None,
                               offered_current_a: float | None = None,
                               offered_power_w: float | None = None) -> MeterReading:
    """Our MeterReading; the latest ev_info SoC and enforced_limits are merged in by the caller."""
    data = _obj(data, "powermeter")

    def part(key: str) -> Mapping[str, Json]:
        return _obj(data.get(key, {}), key)

    return MeterReading(evse_id=evse_id, timestamp=_time(data, "timestamp", "powermeter"),
                        energy_wh=_num(_obj(_get(data, "energy_Wh_import", "powermeter"), "energy_Wh_import"),
                                       "total", "energy_Wh_import"),
                        power_w=_num(part("power_W"), "total", "power_W", 0.0),
                        current_a=tuple(_num(part("current_A"), p, "current_A", 0.0) for p in _PHASES),  # type: ignore[arg-type]
                        voltage_v=tuple(_num(part("voltage_V"), p, "voltage_V", 0.0) for p in _PHASES),  # type: ignore[arg-type]
                        frequency_hz=_num(part("frequency_Hz"), "L1", "frequency_Hz", 50.0), soc=soc,
                        offered_current_a=offered_current_a, offered_power_w=offered_power_w)


def enforced_limits_to_everest(evse_id: int, *, current_a: float | None, power_w: float | None,
                               valid_until: datetime) -> dict[str, object]:
    """The enforced_limits var (types/energy EnforcedLimits): what the EVSE offers now."""
    limits = {k: v for k, v in (("ac_max_current_A", current_a), ("total_power_W", power_w)) if v is not None}
    return {"uuid": evse_manager_impl(evse_id), "valid_until": format_time(valid_until), "limits_root_side": limits}


def offered_from_everest(data: Json) -> tuple[float | None, float | None]:
    """(offered current A, offered power W) of an enforced_limits var; None where not limited."""
    limits = _obj(_obj(data, "enforced_limits").get("limits_root_side", {}), "limits_root_side")
    return (_num(limits, "ac_max_current_A", "limits_root_side", None),
            _num(limits, "total_power_W", "limits_root_side", None))


def soc_from_everest(data: Json) -> float | None:
    """The SoC of an ev_info var, if the EV told it."""
    return _num(_obj(data, "ev_info"), "soc", "ev_info", None)


def error_raised_to_everest(error: ErrorRaised, *, module: str, impl: str, at: datetime,
                            state: str = "Active") -> dict[str, object]:
    """The error object of a RaiseError (and, with another ``state``, of its ClearError)."""
    origin: dict[str, object] = {"module_id": module, "implementation_id": impl}
    if error.evse_id:
        origin["mapping"] = {"evse": error.evse_id}
    return {"type": error.type, "sub_type": error.sub_type, "message": error.message,
            "description": error.description, "origin": origin, "vendor_id": error.vendor_id,
            "severity": "High", "timestamp": format_time(at), "uuid": error.uuid, "state": state}


def error_cleared_to_everest(raised: ErrorRaised, *, module: str, impl: str, at: datetime) -> dict[str, object]:
    """The ClearError object: the raised error again, ClearedByModule (the clearer keeps it by uuid)."""
    return error_raised_to_everest(raised, module=module, impl=impl, at=at, state="ClearedByModule")


def error_from_everest(event: ErrorEvent, *, evse_id: int = 0) -> ErrorRaised | ErrorCleared:
    """Our error event; the EVSE is the origin's mapping, else ``evse_id`` (0 = the station)."""
    error, what = event.error, "error"
    mapping = _obj(_obj(error.get("origin", {}), "error origin").get("mapping", {}), "error mapping")
    evse, uuid = _int(mapping, "evse", "error mapping", evse_id), _text(error, "uuid", what)
    if event.cleared:
        return ErrorCleared(evse_id=evse, uuid=uuid)
    return ErrorRaised(evse_id=evse, uuid=uuid, type=_text(error, "type", what),
                       sub_type=_text(error, "sub_type", what, ""), message=_text(error, "message", what, ""),
                       description=_text(error, "description", what, ""),
                       vendor_id=_text(error, "vendor_id", what, ""))


# --- commands on our requirements: our message ↔ (requirement, EVSE, cmd, args) --------------


@dataclass(frozen=True, slots=True, kw_only=True)
class IsResetAllowed:
    """Query (bus only, system.is_reset_allowed → bool): may the charger reset now?"""

    kind: ResetKind


@dataclass(frozen=True, slots=True, kw_only=True)
class SetConnectionTimeout:
    """Command (bus only, auth.set_connection_timeout): ConnectionTimeOut changed."""

    seconds: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """A command on a requirement: the OCPP side resolves (requirement, evse_id) to a connection."""

    requirement: str
    evse_id: int
    """1..N for evse_manager and evse_energy_sink (position in the list); 0: the first connection."""
    cmd: str
    args: Mapping[str, Json]
    timeout_s: float = CMD_TIMEOUT_S

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", freeze(self.args))


def call_for(msg: object, *, expiry_time: datetime | None = None) -> Call:  # noqa: PLR0911 (one per message)
    """The command that carries one of our messages to the rest of the charger."""
    if isinstance(msg, StopTransactionCommand):
        return Call(requirement="evse_manager", evse_id=msg.evse_id, cmd="stop_transaction",
                    args={"request": {"reason": stop_reason_to_everest(msg.reason)}})
    if isinstance(msg, (PauseCharging, ResumeCharging, ForceUnlock, GetSessionState)):
        name = {PauseCharging: "pause_charging", ResumeCharging: "resume_charging", ForceUnlock: "force_unlock",
                GetSessionState: "get_session_state"}[type(msg)]
        return Call(requirement="evse_manager", evse_id=msg.evse_id, cmd=name,
                    args={"connector_id": 1} if isinstance(msg, ForceUnlock) else {},
                    timeout_s=SESSION_STATE_TIMEOUT_S if isinstance(msg, GetSessionState) else CMD_TIMEOUT_S)
    if isinstance(msg, EnableDisable):
        source = {"enable_source": "CSMS", "enable_state": "Enable" if msg.enable else "Disable",
                  "enable_priority": 5000}
        return Call(requirement="evse_manager", evse_id=msg.evse_id, cmd="enable_disable",
                    args={"connector_id": 0, "cmd_source": source})
    if isinstance(msg, ExternalLimits):
        return Call(requirement="evse_energy_sink", evse_id=msg.evse_id, cmd="set_external_limits",
                    args={"value": external_limits_to_everest(msg)})
    if isinstance(msg, Reserve):
        request = {"reservation_id": msg.reservation_id, "id_token": msg.id_tag, "evse_id": msg.evse_id,
                   "expiry_time": format_time(expiry_time or UNTIL_CANCELLED)}
        if msg.parent_id_tag:
            request["parent_id_token"] = msg.parent_id_tag
        return Call(requirement="reservation", evse_id=0, cmd="reserve_now", args={"request": request})
    if isinstance(msg, CancelReserve):
        return Call(requirement="reservation", evse_id=0, cmd="cancel_reservation",
                    args={"reservation_id": msg.reservation_id})
    if isinstance(msg, (SystemReset, IsResetAllowed)):
        args: dict[str, object] = {"type": msg.kind.value}
        if isinstance(msg, SystemReset):
            args["scheduled"] = False
        return Call(requirement="system", evse_id=0, cmd="reset" if isinstance(msg, SystemReset) else
                    "is_reset_allowed", args=args)
    if isinstance(msg, SetConnectionTimeout):
        return Call(requirement="auth", evse_id=0, cmd="set_connection_timeout",
                    args={"connection_timeout": msg.seconds})
    if isinstance(msg, DataTransferRequest):
        return Call(requirement="data_transfer", evse_id=0, cmd="data_transfer",
                    args={"request": data_transfer_request_to_everest(msg)})
    if isinstance(msg, SystemTransfer):
        return _system_transfer_call(msg)
    if isinstance(msg, SECURITY_REQUESTS):
        return _security_call(msg)
    raise TypeError(f"no command carries {type(msg).__name__}")


def message_for(requirement: str, evse_id: int, cmd: str, args: Json) -> object:  # noqa: PLR0911
    """The message a command on one of the simulator's implementations stands for (the inverse of
    :func:`call_for`). cancel_reservation names no EVSE: it comes with ``evse_id`` 0, for the
    receiver to find the EVSE that holds the reservation. reserve_now's expiry_time is not kept."""
    what = f"{requirement}.{cmd}"
    args = _obj(args, what)
    if requirement == "evse_manager":
        if cmd == "stop_transaction":
            reason = _obj(_get(args, "request", what), what).get("reason")
            return StopTransactionCommand(evse_id=evse_id, reason=stop_reason_from_everest(reason))
        if cmd == "enable_disable":
            state = _text(_obj(_get(args, "cmd_source", what), what), "enable_state", what)
            if state not in ("Enable", "Disable", "Unassigned"):
                raise BusFormatError(f"{what}: enable_state {state!r}")
            return EnableDisable(evse_id=evse_id, enable=state != "Disable")
        simple = {"pause_charging": PauseCharging, "resume_charging": ResumeCharging, "force_unlock": ForceUnlock,
                  "get_session_state": GetSessionState}
        if cmd in simple:
            return simple[cmd](evse_id=evse_id)
    elif requirement == "evse_energy_sink" and cmd == "set_external_limits":
        return external_limits_from_everest(evse_id, _get(args, "value", what))
    elif requirement == "reservation" and cmd == "reserve_now":
        request = _obj(_get(args, "request", what), what)
        return Reserve(evse_id=_int(request, "evse_id", what, 0), reservation_id=_int(request, "reservation_id", what),
                       id_tag=_text(request, "id_token", what), parent_id_tag=_text(request, "parent_id_token", what, ""))
    elif requirement == "reservation" and cmd == "cancel_reservation":
        return CancelReserve(evse_id=0, reservation_id=_int(args, "reservation_id", what))
    elif requirement == "system" and cmd in ("reset", "is_reset_allowed"):
        kind = _enum(ResetKind, _text(args, "type", what), what)
        return SystemReset(kind=kind) if cmd == "reset" else IsResetAllowed(kind=kind)  # type: ignore[arg-type]
    elif requirement == "auth" and cmd == "set_connection_timeout":
        return SetConnectionTimeout(seconds=_int(args, "connection_timeout", what))
    elif requirement == "data_transfer" and cmd == "data_transfer":
        return data_transfer_request_from_everest(_get(args, "request", what))
    elif requirement == "system" and cmd in _TRANSFER_CMDS:
        return _system_transfer_from_everest(cmd, args, what)
    elif requirement == "security" and cmd in _SECURITY_CMDS:
        return _security_from_everest(cmd, args, what)
    raise BusFormatError(f"{requirement} has no command {cmd!r}")


# --- the system's file transfers: update_firmware, allow_firmware_installation, upload_logs ----

_TRANSFER_CMDS = ("update_firmware", "allow_firmware_installation", "upload_logs")
_FIRMWARE_FAILED = frozenset({"DownloadFailed", "InstallationFailed", "InstallVerificationFailed", "InvalidSignature"})
_FIRMWARE_STATUSES = frozenset({"Downloaded", "Downloading", "DownloadScheduled", "DownloadPaused", "Idle",
                                "Installing", "Installed", "InstallRebooting", "InstallScheduled",
                                "SignatureVerified"}) | _FIRMWARE_FAILED
_LOG_FAILED = frozenset({"BadMessage", "NotSupportedOperation", "PermissionDenied", "UploadFailure"})
_LOG_STATUSES = frozenset({"Idle", "Uploaded", "Uploading", "AcceptedCanceled"}) | _LOG_FAILED
TRANSFER_VARS = {"firmware_update_status": "firmware_update_status", "log_status": "log_status"}
"""The system vars that report a transfer → the key of their status (EVerest's FirmwareUpdateStatus, LogStatus)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemTransfer:
    """Command (bus only): one of our transfer commands with EVerest's integer ``request_id``,
    which the system's firmware_update_status / log_status vars repeat. Our ``transfer_id``
    travels too, as an extension argument (see ``docs/mqtt-bus.md``)."""

    request_id: int
    request: DownloadFirmware | InstallFirmware | UploadLogs


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferStatus:
    """A firmware_update_status or log_status var. ``transfer_id``, ``path``, ``size`` and
    ``reason`` are our extensions: empty/0 from a system module that does not send them."""

    var: str
    status: str
    request_id: int
    transfer_id: str = ""
    path: str = ""
    size: int = 0
    reason: str = ""


def _system_transfer_call(transfer: SystemTransfer) -> Call:
    msg, request_id = transfer.request, transfer.request_id
    if isinstance(msg, DownloadFirmware):
        request = {"request_id": request_id, "location": msg.url, "retries": 1, "retry_interval_s": 0,
                   "transfer_id": msg.transfer_id}
        return Call(requirement="system", evse_id=0, cmd="update_firmware", args={"firmware_update_request": request})
    if isinstance(msg, InstallFirmware):
        return Call(requirement="system", evse_id=0, cmd="allow_firmware_installation",
                    args={"request_id": request_id, "transfer_id": msg.transfer_id, "path": msg.path})
    request = {"request_id": request_id, "location": msg.location, "type": msg.log_type.value, "retries": 1,
               "retry_interval_s": 0, "file_name": msg.file_name, "transfer_id": msg.transfer_id}
    if msg.since is not None:
        request["oldest_timestamp"] = format_time(msg.since)
    if msg.until is not None:
        request["latest_timestamp"] = format_time(msg.until)
    return Call(requirement="system", evse_id=0, cmd="upload_logs", args={"upload_logs_request": request})


def _system_transfer_from_everest(cmd: str, args: Mapping[str, Json], what: str) -> SystemTransfer:
    """``reply_to`` is left empty for the receiver to fill; a missing ``transfer_id`` (a caller
    without our extension) becomes ``request-<request_id>``."""
    if cmd == "allow_firmware_installation":  # EVerest's has no arguments: all three are ours
        request_id = _int(args, "request_id", what, 0)
        return SystemTransfer(request_id=request_id, request=InstallFirmware(
            transfer_id=_text(args, "transfer_id", what, "") or f"request-{request_id}",
            path=_text(args, "path", what, ""), reply_to=""))
    key = "firmware_update_request" if cmd == "update_firmware" else "upload_logs_request"
    request = _obj(_get(args, key, what), what)
    request_id = _int(request, "request_id", what, 0)
    transfer_id = _text(request, "transfer_id", what, "") or f"request-{request_id}"
    location = _text(request, "location", what)
    if cmd == "update_firmware":
        return SystemTransfer(request_id=request_id, request=DownloadFirmware(
            transfer_id=transfer_id, url=location, reply_to=""))
    log_type = _enum(LogType, _text(request, "type", what, LogType.DIAGNOSTICS.value), what)
    since = _time(request, "oldest_timestamp", what) if "oldest_timestamp" in request else None
    until = _time(request, "latest_timestamp", what) if "latest_timestamp" in request else None
    return SystemTransfer(request_id=request_id, request=UploadLogs(
        transfer_id=transfer_id, location=location, reply_to="", log_type=log_type,  # type: ignore[arg-type]
        file_name=_text(request, "file_name", what, "") or f"logs-{request_id}.zip", since=since, until=until))


def transfer_status_to_everest(status: TransferStatus) -> dict[str, object]:
    data: dict[str, object] = {TRANSFER_VARS[status.var]: status.status, "request_id": status.request_id}
    if status.transfer_id:
        data["transfer_id"] = status.transfer_id
    if status.path:
        data["path"] = status.path
    if status.size:
        data["size"] = status.size
    if status.reason:
        data["reason"] = status.reason
    return data


def transfer_status_from_everest(var: str, value: Json) -> TransferStatus:
    what = f"system.{var}"
    if var not in TRANSFER_VARS:
        raise BusFormatError(f"{what}: not a transfer status")
    data = _obj(value, what)
    status = _text(data, TRANSFER_VARS[var], what)
    if status not in (_FIRMWARE_STATUSES if var == "firmware_update_status" else _LOG_STATUSES):
        raise BusFormatError(f"{what}: unknown status {status!r}")
    return TransferStatus(var=var, status=status, request_id=_int(data, "request_id", what),
                          transfer_id=_text(data, "transfer_id", what, ""), path=_text(data, "path", what, ""),
                          size=_int(data, "size", what, 0), reason=_text(data, "reason", what, ""))


def transfer_answer(status: TransferStatus, transfer_id: str, *, installing: bool = False,
                    ) -> FirmwareDownloaded | FirmwareInstalled | LogsUploaded | TransferFailed | None:
    """Our answer to the transfer ``transfer_id`` that a status ends, or None for a step on the
    way (Downloading, Installing, Uploading, ...). ``installing``: the transfer is an
    installation (a DownloadFailed then is no answer to it)."""
    kind = status.status
    if status.var == "log_status":
        if kind == "Uploaded":
            return LogsUploaded(transfer_id=transfer_id, size=status.size)
        if kind in _LOG_FAILED:
            return TransferFailed(transfer_id=transfer_id, reason=status.reason or f"log upload: {kind}")
        return None
    if kind == "Downloaded" and not installing:
        return FirmwareDownloaded(transfer_id=transfer_id, path=status.path, size=status.size)
    if kind == "Installed" and installing:
        return FirmwareInstalled(transfer_id=transfer_id)
    if kind in _FIRMWARE_FAILED and installing == (kind not in ("DownloadFailed", "InvalidSignature")):
        return TransferFailed(transfer_id=transfer_id, reason=status.reason or f"firmware update: {kind}")
    return None


def session_state_to_everest(state: SessionState) -> dict[str, object]:
    """The result of get_session_state (our extension)."""
    return {"plugged": state.plugged, "session_id": state.session_id, "transaction_active": state.transaction_active,
            "charging": state.charging, "paused_by": state.paused_by, "enabled": state.enabled,
            "reserved_for": state.reserved_for}


def session_state_from_everest(evse_id: int, retval: Json) -> SessionState:
    what = "get_session_state"
    data = _obj(retval, what)
    paused_by = _text(data, "paused_by", what, "")
    if paused_by not in ("", "EV", "EVSE"):
        raise BusFormatError(f"{what}: paused_by {paused_by!r}")
    return SessionState(evse_id=evse_id, plugged=_flag(data, "plugged", what), session_id=_text(data, "session_id", what),
                        transaction_active=_flag(data, "transaction_active", what),
                        charging=_flag(data, "charging", what), paused_by=paused_by,
                        enabled=_flag(data, "enabled", what, True), reserved_for=_text(data, "reserved_for", what, ""))


def external_limits_to_everest(limits: ExternalLimits) -> dict[str, object]:
    """types/energy ExternalLimits: one schedule_import entry per period, the limit on both sides
    (EVerest's 1.6 module fills limits_to_leaves, energy nodes read limits_to_root), and a last
    entry with no limit at start + duration (our schedule ends there; EVerest's last entry holds)."""
    schedule = limits.schedule
    key = "ac_max_current_A" if schedule.unit == "A" else "total_power_W"

    def entry(offset: int, side: dict[str, object]) -> dict[str, object]:
        at = format_time(schedule.start + timedelta(seconds=offset))
        return {"timestamp": at, "limits_to_root": side, "limits_to_leaves": side}

    entries = []
    for period in schedule.periods:
        side: dict[str, object] = {key: period.limit}
        if period.number_phases is not None:
            side["ac_max_phase_count"] = period.number_phases
        if schedule.unit == "A" and schedule.min_charging_rate is not None:
            side["ac_min_current_A"] = schedule.min_charging_rate
        entries.append(entry(period.start_period, side))
    entries.append(entry(schedule.duration, {}))
    return {"schedule_import": entries}


def external_limits_from_everest(evse_id: int, value: Json) -> ExternalLimits:
    """Our ExternalLimits: the unit of the first entry's limit (A before W); a last entry with
    no limit ends the schedule, else it is open (:data:`OPEN_END_S`)."""
    what = "ExternalLimits"
    entries = [_obj(e, what) for e in _list(_get(_obj(value, what), "schedule_import", what), what)]
    if not entries:
        raise BusFormatError(f"{what}: an empty schedule")
    start = _time(entries[0], "timestamp", what).replace(microsecond=0)
    sides = [_obj(e.get("limits_to_root", {}), what) for e in entries]
    sides = [s if "ac_max_current_A" in s or "total_power_W" in s else _obj(e.get("limits_to_leaves", {}), what)
             for s, e in zip(sides, entries)]
    unit = "A" if "ac_max_current_A" in sides[0] else "W"
    key = "ac_max_current_A" if unit == "A" else "total_power_W"
    periods, duration, last = [], OPEN_END_S, -1
    for index, (entry, side) in enumerate(zip(entries, sides)):
        offset = round((_time(entry, "timestamp", what) - start).total_seconds())
        if offset <= last:
            raise BusFormatError(f"{what}: timestamps must increase")
        last = offset
        if key not in side:
            if index and index == len(entries) - 1 and not any(k in side for k in ("ac_max_current_A", "total_power_W")):
                duration = offset
                break
            raise BusFormatError(f"{what}: entry {index} has no {key}")
        periods.append(SchedulePeriod(start_period=offset, limit=_num(side, key, what),
                                      number_phases=_int(side, "ac_max_phase_count", what, None)))
    minimum = _num(sides[0], "ac_min_current_A", what, None) if unit == "A" else None
    return ExternalLimits(evse_id=evse_id, schedule=CompositeSchedule(
        connector_id=evse_id, start=start, duration=duration, unit=unit, periods=tuple(periods),
        min_charging_rate=minimum))


def data_transfer_request_to_everest(request: DataTransferRequest) -> dict[str, object]:
    """types/ocpp DataTransferRequest (the ``request`` argument of data_transfer)."""
    out: dict[str, object] = {"vendor_id": request.vendor_id}
    out.update({k: v for k, v in (("message_id", request.message_id), ("data", request.data)) if v is not None})
    return out


def data_transfer_request_from_everest(request: Json) -> DataTransferRequest:
    what = "DataTransferRequest"
    request = _obj(request, what)
    return DataTransferRequest(vendor_id=_text(request, "vendor_id", what),
                               message_id=_text(request, "message_id", what, None),
                               data=_text(request, "data", what, None))


def data_transfer_result_to_everest(result: DataTransferResult) -> dict[str, object]:
    """types/ocpp DataTransferResponse (data_transfer's result)."""
    return {"status": result.status.value, **({"data": result.data} if result.data is not None else {})}


def data_transfer_result_from_everest(retval: Json) -> DataTransferResult:
    what = "DataTransferResponse"
    retval = _obj(retval, what)
    return DataTransferResult(status=_enum(DataTransferStatus, _text(retval, "status", what), what),  # type: ignore[arg-type]
                              data=_text(retval, "data", what, None))


# --- our provided interfaces: auth_validator, auth_provider ----------------------------------


def validate_token_to_everest(msg: ValidateToken) -> dict[str, object]:
    """The args of auth_validator.validate_token, for a token swiped at ``msg.evse_id``."""
    return {"provided_token": {**_token(msg.id_tag), "connectors": [msg.evse_id]}}


def validate_token_from_everest(args: Json, *, reply_to: str, correlation: str) -> ValidateToken:
    """Our ValidateToken; the EVSE is the token's first connector (0 when it names none)."""
    what = "validate_token"
    token = _obj(_get(_obj(args, what), "provided_token", what), what)
    connectors = _list(token.get("connectors", ()), what)
    evse_id = _int_of(connectors[0], f"{what} connectors") if connectors else 0
    return ValidateToken(evse_id=evse_id, id_tag=_token_value(token, what), reply_to=reply_to, correlation=correlation)


def token_validated_to_everest(msg: TokenValidated) -> dict[str, object]:
    """types/authorization ValidationResult (EVerest wants a reason of 5 characters or more)."""
    out: dict[str, object] = {"authorization_status": msg.status}
    if msg.parent_id_tag:
        out["parent_id_token"] = {"value": msg.parent_id_tag, "type": "Central"}
    if len(msg.reason) >= 5:  # noqa: PLR2004
        out["reason"] = msg.reason
    return out


def token_validated_from_everest(retval: Json, *, evse_id: int, id_tag: str, correlation: str = "") -> TokenValidated:
    what = "ValidationResult"
    result = _obj(retval, what)
    parent = _text(_obj(result["parent_id_token"], what), "value", what) if "parent_id_token" in result else ""
    return TokenValidated(evse_id=evse_id, id_tag=id_tag, status=_text(result, "authorization_status", what),
                          parent_id_tag=parent, correlation=correlation, reason=_text(result, "reason", what, ""))


def provided_token_to_everest(msg: ProvideToken) -> dict[str, object]:
    """The auth_provider.provided_token var: a RemoteStartTransaction's token."""
    return {**_token(msg.id_tag, "Central", "OCPP"), "connectors": list(msg.connectors),
            "prevalidated": msg.prevalidated}


def provided_token_from_everest(data: Json, *, evse_count: int) -> ProvideToken:
    """Our ProvideToken; no connectors (EVerest: any) means every EVSE."""
    what = "provided_token"
    data = _obj(data, what)
    connectors = tuple(_int_of(c, f"{what} connectors") for c in _list(data.get("connectors", ()), what))
    return ProvideToken(id_tag=_token_value(data, what), connectors=connectors or tuple(range(1, evse_count + 1)),
                        prevalidated=_flag(data, "prevalidated", what, False))


# --- simulator control (plain JSON, no envelope) ----------------------------------------------


def sim_command_to_mqtt(command: SimCommand) -> tuple[str, bytes]:
    """(topic, payload) of a simulator control command."""
    return sim_control_topic(command.evse_id, command.command), _dump(thaw(command.args))


def sim_command_from_mqtt(topic: str, payload: bytes) -> SimCommand:
    """Our SimCommand from a control topic and its JSON object (an empty payload is ``{}``)."""
    parsed = parse_topic(topic)
    if parsed.kind is not TopicKind.SIM_CONTROL:
        raise BusFormatError(f"not a simulator control topic: {topic!r}")
    try:
        args = _obj(_load(payload) if payload.strip() else {}, parsed.name)
        for required in {"swipe": "id_tag", "raise_error": "type"}.get(parsed.name, "").split():
            _text(args, required, parsed.name)
        return SimCommand(evse_id=parsed.evse_id, command=parsed.name, args=args)
    except RecursionError:
        raise BusFormatError("nested too deeply") from None


# --- the evse_security requirement (EVerest's evse_security interface) -------------------------

_SECURITY_CMDS = ("install_ca_certificate", "delete_certificate", "update_leaf_certificate", "verify_certificate",
                  "get_installed_certificates", "generate_certificate_signing_request", "get_leaf_certificate_info")
_CA_TYPES = {CaCertificateType.CSMS: "CSMS", CaCertificateType.MF: "MF"}
"""Our bundles → EVerest's CaCertificateType (and LeafCertificateType, for verify_certificate)."""
_CERT_TYPES = {CaCertificateType.CSMS: "CSMSRootCertificate", CaCertificateType.MF: "MFRootCertificate"}
"""Our bundles → EVerest's CertificateType (get_installed_certificates)."""
_VALIDATION = {InstallResult.ACCEPTED: "Valid", InstallResult.EXPIRED: "Expired",
               InstallResult.INVALID_SIGNATURE: "InvalidSignature",
               InstallResult.NO_ROOT_CERTIFICATE_INSTALLED: "IssuerNotFound",
               InstallResult.INVALID_CERTIFICATE_CHAIN: "InvalidChain"}
"""Our verification outcome → EVerest's CertificateValidationResult (the rest: Unknown)."""
_VALIDATION_BACK = {v: k for k, v in _VALIDATION.items()} | {
    "InvalidLeafSignature": InstallResult.INVALID_SIGNATURE, "Unknown": InstallResult.INVALID_FORMAT}


def _hash_data_to_everest(data: CertificateHashData) -> dict[str, object]:
    return {"hash_algorithm": data.hash_algorithm, "issuer_name_hash": data.issuer_name_hash,
            "issuer_key_hash": data.issuer_key_hash, "serial_number": data.serial_number}


def _hash_data_from_everest(value: Json, what: str) -> CertificateHashData:
    data = _obj(value, what)
    return CertificateHashData(hash_algorithm=_text(data, "hash_algorithm", what),
                               issuer_name_hash=_text(data, "issuer_name_hash", what),
                               issuer_key_hash=_text(data, "issuer_key_hash", what),
                               serial_number=_text(data, "serial_number", what))


def _ca_type(value: str, what: str, table: Mapping[CaCertificateType, str] = _CA_TYPES) -> CaCertificateType:
    for kind, name in table.items():
        if name == value:
            return kind
    raise BusFormatError(f"{what}: certificate type {value!r} is not served")


def _security_call(msg: object) -> Call:  # noqa: PLR0911 (one per message)
    """The evse_security command of one of :mod:`messages.security`'s requests. Our OCPP rules
    travel as extra arguments: max_installed, replace_signed_by_installed, keep_last_csms_root."""
    def call(cmd: str, args: Mapping[str, object]) -> Call:
        return Call(requirement="security", evse_id=0, cmd=cmd, args=args)
    if isinstance(msg, GenerateCsr):
        return call("generate_certificate_signing_request", {
            "certificate_type": "CSMS", "country": msg.country, "organization": msg.organization,
            "common": msg.common_name, "use_tpm": False})
    if isinstance(msg, UpdateLeafCertificate):
        return call("update_leaf_certificate", {"certificate_chain": msg.certificate_chain, "certificate_type": "CSMS"})
    if isinstance(msg, InstallCaCertificate):
        args: dict[str, object] = {"certificate": msg.certificate, "certificate_type": _CA_TYPES[msg.certificate_type],
                                   "replace_signed_by_installed": msg.replace_signed_by_installed}
        if msg.max_installed is not None:
            args["max_installed"] = msg.max_installed
        return call("install_ca_certificate", args)
    if isinstance(msg, DeleteCertificate):
        return call("delete_certificate", {"certificate_hash_data": _hash_data_to_everest(msg.hash_data),
                                           "keep_last_csms_root": msg.keep_last_csms_root})
    if isinstance(msg, GetInstalledCertificates):
        return call("get_installed_certificates",
                    {"certificate_types": [_CERT_TYPES[t] for t in msg.certificate_types]})
    if isinstance(msg, VerifyCertificate):
        return call("verify_certificate", {"certificate_chain": msg.certificate_chain,
                                           "certificate_type": _CA_TYPES[msg.certificate_type]})
    if isinstance(msg, GetLeafCertificateInfo):
        return call("get_leaf_certificate_info", {"certificate_type": "CSMS", "encoding": "PEM",
                                                  "include_ocsp": False})
    raise TypeError(f"no command carries {type(msg).__name__}")


def _security_from_everest(cmd: str, args: Mapping[str, Json], what: str) -> object:  # noqa: PLR0911
    """The request an evse_security command stands for (the inverse of :func:`_security_call`).
    Only CSMS leaf certificates are served; without our extra arguments the OCPP rules are off."""
    if cmd in ("generate_certificate_signing_request", "update_leaf_certificate", "get_leaf_certificate_info") \
            and _text(args, "certificate_type", what, "CSMS") != "CSMS":
        raise BusFormatError(f"{what}: only the CSMS leaf certificate is served")
    if cmd == "generate_certificate_signing_request":
        return GenerateCsr(common_name=_text(args, "common", what), organization=_text(args, "organization", what),
                           country=_text(args, "country", what, ""))
    if cmd == "update_leaf_certificate":
        return UpdateLeafCertificate(certificate_chain=_text(args, "certificate_chain", what))
    if cmd == "install_ca_certificate":
        max_installed = _get(args, "max_installed", what, None)
        return InstallCaCertificate(certificate=_text(args, "certificate", what),
                                    certificate_type=_ca_type(_text(args, "certificate_type", what), what),
                                    max_installed=None if max_installed is None else _int_of(max_installed, what),
                                    replace_signed_by_installed=_flag(args, "replace_signed_by_installed", what, False))
    if cmd == "delete_certificate":
        return DeleteCertificate(hash_data=_hash_data_from_everest(_get(args, "certificate_hash_data", what), what),
                                 keep_last_csms_root=_flag(args, "keep_last_csms_root", what, False))
    if cmd == "get_installed_certificates":
        types = _list(_get(args, "certificate_types", what), what)
        return GetInstalledCertificates(certificate_types=tuple(
            _ca_type(t if isinstance(t, str) else "", what, _CERT_TYPES) for t in types))
    if cmd == "verify_certificate":
        return VerifyCertificate(certificate_chain=_text(args, "certificate_chain", what),
                                 certificate_type=_ca_type(_text(args, "certificate_type", what), what))
    return GetLeafCertificateInfo()


def security_reply_to_everest(reply: object) -> Json:  # noqa: PLR0911 (one per reply)
    """The result of an evse_security command, from our reply message. Our ``detail`` and the
    leaf's serial number / common name / end travel as extra fields where EVerest's result is
    an object; a plain-string result (install, delete, update_leaf, verify) carries only the value."""
    if isinstance(reply, CsrGenerated):
        return {"status": "Accepted", "csr": reply.csr} if reply.ok else {"status": "GenerationError",
                                                                           "detail": reply.detail}
    if isinstance(reply, (LeafCertificateUpdated, CaCertificateInstalled, CertificateDeleted)):
        return reply.result.value
    if isinstance(reply, CertificateVerified):
        return _VALIDATION.get(reply.result, "Unknown")
    if isinstance(reply, InstalledCertificates):
        chain = [{"certificate_type": _CERT_TYPES[c.certificate_type],
                  "certificate_hash_data": _hash_data_to_everest(c.hash_data)} for c in reply.certificates]
        return {"status": "Accepted" if chain else "NotFound", "certificate_hash_data_chain": chain}
    if isinstance(reply, LeafCertificateInfo):
        if not reply.installed:
            return {"status": "NotFound", "detail": reply.detail}
        info: dict[str, object] = {"common_name": reply.common_name, "serial_number": reply.serial_number}
        if reply.not_after is not None:
            info["not_after"] = format_time(reply.not_after)
        return {"status": "Accepted", "info": info}
    raise TypeError(f"{type(reply).__name__} is no evse_security reply")


def security_reply_from_everest(request: object, retval: Json) -> object:  # noqa: PLR0911 (one per request)
    """Our reply to ``request`` from the result of its evse_security command."""
    what = f"{_security_call(request).cmd} result"
    if isinstance(request, GenerateCsr):
        result = _obj(retval, what)
        if _text(result, "status", what) == "Accepted":
            return CsrGenerated(ok=True, csr=_text(result, "csr", what))
        return CsrGenerated(ok=False, detail=_text(result, "detail", what, "") or _text(result, "status", what))
    if isinstance(request, VerifyCertificate):
        value = retval if isinstance(retval, str) else ""
        if value not in _VALIDATION_BACK:
            raise BusFormatError(f"{what}: unknown value {retval!r}")
        result = _VALIDATION_BACK[value]
        return CertificateVerified(result=result, detail="" if result is InstallResult.ACCEPTED else value)
    if isinstance(request, (UpdateLeafCertificate, InstallCaCertificate)):
        install = _enum(InstallResult, retval if isinstance(retval, str) else "", what)
        reply = LeafCertificateUpdated if isinstance(request, UpdateLeafCertificate) else CaCertificateInstalled
        return reply(result=install)  # type: ignore[arg-type]
    if isinstance(request, DeleteCertificate):
        return CertificateDeleted(result=_enum(DeleteResult, retval if isinstance(retval, str) else "", what))  # type: ignore[arg-type]
    if isinstance(request, GetInstalledCertificates):
        result = _obj(retval, what)
        certificates = []
        for entry in _list(_get(result, "certificate_hash_data_chain", what, ()), what):
            entry = _obj(entry, what)
            certificates.append(InstalledCertificate(
                certificate_type=_ca_type(_text(entry, "certificate_type", what), what, _CERT_TYPES),
                hash_data=_hash_data_from_everest(_get(entry, "certificate_hash_data", what), what)))
        return InstalledCertificates(certificates=tuple(certificates))
    if isinstance(request, GetLeafCertificateInfo):
        result = _obj(retval, what)
        if _text(result, "status", what) != "Accepted":
            return LeafCertificateInfo(installed=False, detail=_text(result, "detail", what, "")
                                       or _text(result, "status", what))
        info = _obj(_get(result, "info", what), what)
        return LeafCertificateInfo(installed=True, common_name=_text(info, "common_name", what, ""),
                                   serial_number=_text(info, "serial_number", what, ""),
                                   not_after=_time(info, "not_after", what) if "not_after" in info else None)
    raise TypeError(f"{type(request).__name__} is no evse_security request")
