"""Configuration loading: module options, the charge point config and its user overlay.

Two layers, as in EVerest's OCPP module:

* module options (`MODULE_OPTIONS`): how this process is wired (files, bus, EVSE count); from a
  JSON object plus `--set Option=Value` overrides. The names are a contract with operators.
* the charge point config: one object per OCPP feature profile, validated by
  `deploy/charge-point-config.schema.json`. A base file is overlaid with the user config by RFC 7386
  merge-patch; every accepted ChangeConfiguration is written to the user config, never to the base.

Every failure is a `ConfigError` naming the file, the dotted key and the rule broken, because the
person who reads it is at a charger with a text editor, not in a debugger.
"""
from __future__ import annotations

import copy
import json
import logging
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Sequence

from supervisor import config_schema
from supervisor.config_schema import DEPLOY_DIR, SCHEMA_PATH, dotted, freeze, patch_touches, thaw

log = logging.getLogger(__name__)

DEFAULT_CHARGE_POINT_CONFIG = DEPLOY_DIR / "charge-point-config.json"
OVERRIDE_SOURCE = "--set"


class ConfigError(Exception):
    """A configuration problem, printed as one line: `<file>: <key>: <rule>`."""

    def __init__(self, file: str | os.PathLike[str], key: str, rule: str) -> None:
        self.file, self.key, self.rule = str(file), key, rule
        super().__init__(f"{self.file}: {self.key}: {self.rule}")


# --------------------------------------------------------------------------------- module options


@dataclass(frozen=True)
class ModuleOption:
    """One module option: JSON type (str/bool/int), default, and for ints the allowed range."""

    name: str
    type: type
    default: object
    doc: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None

    def schema(self) -> dict[str, Any]:
        """The option as a draft-07 fragment, so module options share the config's error wording."""
        kind = {str: "string", bool: "boolean", int: "integer", dict: "object"}[self.type]
        fragment: dict[str, Any] = {"type": kind}
        if self.type is dict:
            fragment["additionalProperties"] = CONNECTION_LIST
        if self.type is int:
            fragment["minimum"] = 0 if self.minimum is None else self.minimum
            if self.maximum is not None:
                fragment["maximum"] = self.maximum
        if self.choices:
            fragment["enum"] = list(self.choices)
        return fragment


CONNECTION_LIST: dict[str, Any] = {
    "type": "array",
    "items": {"type": "object", "required": ["module_id", "implementation_id"], "additionalProperties": False,
              "properties": {"module_id": {"type": "string", "minLength": 1},
                             "implementation_id": {"type": "string", "minLength": 1}}},
}
"""One requirement's connections in the module option Connections."""


def _options(*options: ModuleOption) -> Mapping[str, ModuleOption]:
    return MappingProxyType({o.name: o for o in options})


MODULE_OPTIONS: Mapping[str, ModuleOption] = _options(
    # The seed's options: same names, same defaults.
    ModuleOption("ChargePointConfigPath", str, "ocpp-config.json", "Base charge point config; relative "
                 "to the module config's directory, else the embedded default in deploy/."),
    ModuleOption("UserConfigPath", str, "user_config.json", "User config overlay (merge-patch); "
                 "ChangeConfiguration writes here. Created as {} if missing."),
    ModuleOption("DatabasePath", str, "/tmp/ocpp_1_6_charge_point", "Directory of the SQLite database."),
    ModuleOption("EnableExternalWebsocketControl", bool, False,
                 "Allow connecting/disconnecting the websocket from outside (debug and testing)."),
    ModuleOption("PublishChargingScheduleIntervalS", int, 30,
                 "Seconds between publications of the composite schedules; 0 = only on change."),
    ModuleOption("PublishChargingScheduleDurationS", int, 600,
                 "Length (s) of the published composite schedules, starting now."),
    ModuleOption("MessageLogPath", str, "/tmp/everest_ocpp_logs", "Directory of the OCPP message logs."),
    ModuleOption("MessageQueueResumeDelay", int, 0,
                 "Seconds to hold queued messages after a reconnect (some OCTT cases want the CSMS first)."),
    ModuleOption("RequestCompositeScheduleUnit", str, "A",
                 "Unit of the composite schedules shared on the charger: A (AC) or W (DC).", choices=("A", "W")),
    ModuleOption("DelayOcppStart", int, 0,
                 "Milliseconds to wait before starting OCPP, so EVSE states arrive first after a restart."),
    ModuleOption("ResetStopDelay", int, 0,
                 "Seconds to wait before stopping for a reset, so the CSMS can answer the last messages."),
    # Our own.
    ModuleOption("EvseCount", int, 1, "EVSEs (one connector each); forces Core.NumberOfConnectors.",
                 minimum=1, maximum=128),
    ModuleOption("MqttServerAddress", str, "", "MQTT broker host; empty = the in-process bus."),
    ModuleOption("MqttServerPort", int, 1883, "MQTT broker port.", minimum=1, maximum=65535),
    ModuleOption("MqttUsername", str, "", "MQTT user name; empty = anonymous."),
    ModuleOption("MqttPassword", str, "", "MQTT password."),
    ModuleOption("MqttCaFile", str, "", "CA certificate file: connect to the broker with TLS; empty = plain TCP."),
    ModuleOption("MqttEverestPrefix", str, "everest/", "Topic prefix of EVerest's internal messages."),
    ModuleOption("ModuleId", str, "ocpp", "This module's id on the bus."),
    ModuleOption("Connections", dict, {}, "Where each requirement is served on the bus, as EVerest's config lists "
                 "it: requirement → [{module_id, implementation_id}, ...] (evse_manager in EVSE order); "
                 "empty = the simulator's conventional ids (docs/mqtt-bus.md)."),
    ModuleOption("TracePath", str, "", "Directory to record the trace into (msgpack segments); empty = no recording."),
)


def _module_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: option.schema() for name, option in MODULE_OPTIONS.items()},
    }


@dataclass(frozen=True)
class ModuleConfig:
    """Validated module options (every option present) and the file they came from."""

    options: Mapping[str, object]
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    def __getitem__(self, name: str) -> object:
        return self.options[name]


def _convert_override(option: ModuleOption, text: str) -> object:
    """`--set` values arrive as text; convert what clearly fits, leave the rest for validation."""
    if option.type is bool and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if option.type is int and text.strip().lstrip("+-").isdigit():
        return int(text)
    if option.type is dict:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _check(values: Mapping[str, object], file: str) -> None:
    for problem in config_schema.problems(_module_schema(), dict(values), what="module option"):
        raise ConfigError(file, dotted(problem.path), problem.rule)


def load_module_config(path: str | os.PathLike[str] | None,
                       overrides: Sequence[str] = ()) -> ModuleConfig:
    """Defaults, then the file's options (if a path is given), then `--set Option=Value` overrides."""
    values: dict[str, object] = {name: o.default for name, o in MODULE_OPTIONS.items()}
    source = None
    if path is not None:
        source = str(path)
        from_file = _read_json_object(Path(path))
        _check(from_file, source)
        values.update(from_file)
    for item in overrides:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(OVERRIDE_SOURCE, item or "-", "expected Option=Value")
        option = MODULE_OPTIONS.get(name)
        value = text if option is None else _convert_override(option, text)
        _check({name: value}, OVERRIDE_SOURCE)
        values[name] = value
    _check_connections(values, source)
    return ModuleConfig(values, source)


def _check_connections(values: Mapping[str, object], source: str | None) -> None:
    """Connections must fit EvseCount (the schema cannot say so): checked here, so that
    check-config and a start fail the same way, before anything runs."""
    from messages.everest import BusFormatError, resolve_connections  # noqa: PLC0415 (the bus codec, only here)

    try:
        resolve_connections(values["Connections"], int(values["EvseCount"]))  # type: ignore[call-overload]
    except BusFormatError as exc:
        raise ConfigError(source or OVERRIDE_SOURCE, "Connections", exc.reason) from None


def resolve_config_path(module_config: ModuleConfig, option_name: str) -> Path:
    """Where a file option points: relative paths are taken from the module config's directory.

    A relative ChargePointConfigPath that does not exist falls back to the embedded default, as
    EVerest falls back to the module's share directory. An absolute path is never replaced: if an
    operator named a file, a missing file is an error, not a silent default.
    """
    option = MODULE_OPTIONS.get(option_name)
    if option is None or option.type is not str:
        raise ConfigError(module_config.source or "-", option_name, "not a path option")
    raw = Path(str(module_config[option_name]))
    if raw.is_absolute():
        return raw
    base_dir = Path(module_config.source).parent if module_config.source else Path.cwd()
    candidate = base_dir / raw
    if option_name == "ChargePointConfigPath" and not candidate.exists():
        log.info("%s not found, using the embedded default %s", candidate, DEFAULT_CHARGE_POINT_CONFIG)
        return DEFAULT_CHARGE_POINT_CONFIG
    return candidate


# ----------------------------------------------------------------------------------- JSON files


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _read_json_object(path: Path) -> dict[str, Any]:
    """A file holding one JSON object, or a ConfigError saying why not (with line:column)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(path, "-", f"cannot read file: {reason}") from exc
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(path, "-", f"invalid JSON at line {exc.lineno}:{exc.colno}: {exc.msg}") from exc
    except ValueError as exc:
        raise ConfigError(path, "-", f"invalid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigError(path, "-", f"must be a JSON object, got {type(value).__name__}")
    return value


def _atomic_write_json(path: Path, value: Any, key: str) -> None:
    """Write `value` to `path` so that a reader (or a power cut) sees the old file or the new one."""
    try:
        text = json.dumps(value, indent=2, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise ConfigError(path, key, f"value cannot be written as JSON: {exc}") from exc
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())
        if path.exists():  # keep the operator's permissions, not mkstemp's 0600
            os.chmod(tmp_name, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp_name, path)
        tmp_name = None
        _fsync_dir(path.parent)
    except OSError as exc:
        raise ConfigError(path, key, f"cannot write file: {exc.strerror or exc}") from exc
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; not every platform lets a directory be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


# ------------------------------------------------------------------------------ merge-patch


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge-patch, pure: returns a new value and shares no structure with its inputs.

    An object patch merges key by key (null deletes); any other patch value replaces the target.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -------------------------------------------------------------------------- charge point config


@dataclass(frozen=True)
class ChargePointConfig:
    """The merged, validated charge point config: profile -> key -> value, read-only.

    Lists appear as tuples and objects as read-only mappings; `as_dict()` gives a plain copy.
    Keys are looked up case-insensitively, as libocpp (and ChangeConfiguration in the field) does.
    """

    profiles: Mapping[str, Mapping[str, Any]]
    base_path: Path
    user_config_path: Path
    read_only_keys: frozenset[str] = frozenset()
    write_only_keys: frozenset[str] = frozenset()
    _index: Mapping[str, tuple[str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "profiles", freeze(thaw(self.profiles)))
        index: dict[str, tuple[str, str]] = {}
        for profile, section in self.profiles.items():
            for key in section if isinstance(section, Mapping) else ():
                index.setdefault(key.lower(), (profile, key))
        object.__setattr__(self, "_index", MappingProxyType(index))

    def get(self, key: str, default: Any = None) -> Any:
        found = self._index.get(key.lower())
        return default if found is None else self.profiles[found[0]][found[1]]

    def profile_of(self, key: str) -> str | None:
        found = self._index.get(key.lower())
        return None if found is None else found[0]

    def is_read_only(self, key: str) -> bool:
        return key.lower() in self.read_only_keys

    def is_write_only(self, key: str) -> bool:
        return key.lower() in self.write_only_keys

    def keys(self) -> Iterator[tuple[str, str, Any]]:
        """Every (profile, key, value), profiles in file order, keys in profile order."""
        for profile, section in self.profiles.items():
            for key, value in section.items():
                yield profile, key, value

    def as_dict(self) -> dict[str, Any]:
        return thaw(self.profiles)

    def with_value(self, profile: str, key: str, value: Any) -> ChargePointConfig:
        """A copy with ``[profile][key] = value`` (how an accepted ChangeConfiguration looks)."""
        profiles = thaw(self.profiles)
        profiles.setdefault(profile, {})[key] = value
        return ChargePointConfig(profiles=profiles, base_path=self.base_path, user_config_path=self.user_config_path,
                                 read_only_keys=self.read_only_keys, write_only_keys=self.write_only_keys)

    @property
    def charge_point_id(self) -> str:
        return self.profiles["Internal"]["ChargePointId"]

    @property
    def central_system_uri(self) -> str:
        return self.profiles["Internal"]["CentralSystemURI"]


class LiveConfig:
    """The charge point config as the actors see it while it runs: the current immutable
    :class:`ChargePointConfig`, replaced as a whole when a change is accepted.

    Only the Configuration actor calls :meth:`replace` (after the user config is on disk);
    every other actor reads through this view at the moment it uses a key, so a changed
    retry interval or measurand list applies from the next use without a message. Keys that
    drive timers are also announced as ``ConfigurationChanged`` events, to re-arm them.
    A reader gets one whole snapshot per attribute access; swapping a reference is atomic.
    """

    def __init__(self, config: ChargePointConfig) -> None:
        self._current = config

    @property
    def current(self) -> ChargePointConfig:
        return self._current

    def replace(self, config: ChargePointConfig) -> None:
        self._current = config

    def __getattr__(self, name: str) -> Any:
        return getattr(self._current, name)


def load_schema() -> dict[str, Any]:
    return _read_json_object(SCHEMA_PATH)


def _ensure_user_config(path: Path) -> None:
    """libocpp insists the overlay exists; create it empty, but never invent its directory."""
    if path.exists():
        return
    if not path.parent.is_dir():
        raise ConfigError(path, "-", f"cannot create user config: directory {path.parent} does not exist")
    _atomic_write_json(path, {}, "-")


def load_charge_point_config(module_config: ModuleConfig) -> ChargePointConfig:
    """Base config, overlaid with the user config, NumberOfConnectors := EvseCount, defaults, validated.

    NumberOfConnectors is forced after the overlay (EVerest forces it on the base, before): there
    are exactly EvseCount EVSE actors whatever an overlay says, and the CSMS must hear that number.
    """
    base_path = resolve_config_path(module_config, "ChargePointConfigPath")
    user_path = resolve_config_path(module_config, "UserConfigPath")
    base = _read_json_object(base_path)
    _ensure_user_config(user_path)
    user = _read_json_object(user_path)

    merged = merge_patch(base, user)
    core = merged.setdefault("Core", {})
    if isinstance(core, dict):
        core["NumberOfConnectors"] = module_config["EvseCount"]

    schema = load_schema()
    config_schema.apply_defaults(schema, merged)
    for problem in config_schema.problems(schema, merged, what="profile"):
        culprit = user_path if patch_touches(user, problem.path) else base_path
        raise ConfigError(culprit, dotted(problem.path), problem.rule)

    return ChargePointConfig(
        profiles=merged,
        base_path=base_path,
        user_config_path=user_path,
        read_only_keys=config_schema.flagged_keys(schema, "readOnly"),
        write_only_keys=config_schema.flagged_keys(schema, "writeOnly"),
    )


def write_user_config_key(path: Path, profile: str, key: str, value: object) -> None:
    """Set `[profile][key]` in the user config atomically (read, modify, temp file, fsync, rename).

    The file is re-read each time rather than cached so that an operator's edit made while the
    charge point runs is kept. Values are stored in their JSON type (int, bool, string).
    """
    path = Path(path)
    current = _read_json_object(path) if path.exists() else {}
    section = current.get(profile)
    if not isinstance(section, dict):
        section = current[profile] = {}
    section[key] = value
    _atomic_write_json(path, current, f"{profile}.{key}")

