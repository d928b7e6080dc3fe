"""Configuration loading: module options, charge point config, user overlay, atomic writes."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from supervisor import config_schema
from supervisor.config import (
    MODULE_OPTIONS,
    ChargePointConfig,
    ConfigError,
    ModuleConfig,
    ModuleOption,
    load_charge_point_config,
    load_module_config,
    load_schema,
    merge_patch,
    resolve_config_path,
    write_user_config_key,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"

SEED_DEFAULTS = {
    "ChargePointConfigPath": "ocpp-config.json",
    "UserConfigPath": "user_config.json",
    "DatabasePath": "/tmp/ocpp_1_6_charge_point",
    "EnableExternalWebsocketControl": False,
    "PublishChargingScheduleIntervalS": 30,
    "PublishChargingScheduleDurationS": 600,
    "MessageLogPath": "/tmp/everest_ocpp_logs",
    "MessageQueueResumeDelay": 0,
    "RequestCompositeScheduleUnit": "A",
    "DelayOcppStart": 0,
    "ResetStopDelay": 0,
}
OWN_DEFAULTS = {
    "EvseCount": 1,
    "MqttServerAddress": "",
    "MqttServerPort": 1883,
    "MqttUsername": "",
    "MqttPassword": "",
    "MqttCaFile": "",
    "MqttEverestPrefix": "everest/",
    "ModuleId": "ocpp",
    "Connections": {},
    "TracePath": "",
}


def write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def raises_config_error(fn, *args, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        fn(*args, **kwargs)
    err = info.value
    assert str(err) == f"{err.file}: {err.key}: {err.rule}"
    assert "\n" not in str(err)
    return err


@pytest.fixture
def user_path(tmp_path: Path) -> Path:
    return tmp_path / "user_config.json"


def cp_config(user_path: Path, *overrides: str, base: Path | None = None) -> ChargePointConfig:
    sets = [f"UserConfigPath={user_path}", *overrides]
    if base is not None:
        sets.append(f"ChargePointConfigPath={base}")
    return load_charge_point_config(load_module_config(None, sets))


def base_config() -> dict:
    return json.loads((DEPLOY / "charge-point-config.json").read_text())


# ------------------------------------------------------------------------------ module options


def test_module_options_names_order_and_defaults():
    assert list(MODULE_OPTIONS) == list(SEED_DEFAULTS) + list(OWN_DEFAULTS)
    for name, default in {**SEED_DEFAULTS, **OWN_DEFAULTS}.items():
        option = MODULE_OPTIONS[name]
        assert isinstance(option, ModuleOption)
        assert option.name == name
        assert option.default == default and type(option.default) is type(default)
        assert option.type is type(default)
        assert option.doc


def test_module_option_is_frozen():
    with pytest.raises(Exception):
        MODULE_OPTIONS["EvseCount"].default = 2  # type: ignore[misc]


def test_no_file_gives_all_defaults():
    config = load_module_config(None)
    assert isinstance(config, ModuleConfig)
    assert config.source is None
    assert dict(config.options) == {**SEED_DEFAULTS, **OWN_DEFAULTS}
    assert config["DelayOcppStart"] == 0
    with pytest.raises(TypeError):
        config.options["EvseCount"] = 3  # type: ignore[index]


def test_example_module_config_holds_every_default():
    config = load_module_config(DEPLOY / "module-config.json")
    assert dict(config.options) == {**SEED_DEFAULTS, **OWN_DEFAULTS}
    assert json.loads((DEPLOY / "module-config.json").read_text()) == {**SEED_DEFAULTS, **OWN_DEFAULTS}


def test_file_values_then_overrides_win(tmp_path: Path):
    path = write_json(tmp_path / "module.json", {"EvseCount": 2, "ModuleId": "cp", "DelayOcppStart": 50})
    config = load_module_config(path, [
        "EvseCount=4",
        "EnableExternalWebsocketControl=true",
        "RequestCompositeScheduleUnit=W",
        "MqttServerAddress=broker.local",
        "ResetStopDelay=+7",
    ])
    assert config.source == str(path)
    assert config["EvseCount"] == 4
    assert config["ModuleId"] == "cp"
    assert config["DelayOcppStart"] == 50
    assert config["EnableExternalWebsocketControl"] is True
    assert config["RequestCompositeScheduleUnit"] == "W"
    assert config["MqttServerAddress"] == "broker.local"
    assert config["ResetStopDelay"] == 7


@pytest.mark.parametrize("text, expected", [("true", True), ("false", False), ("TRUE", True), ("False", False)])
def test_override_bool_conversion(text, expected):
    assert load_module_config(None, [f"EnableExternalWebsocketControl={text}"])[
        "EnableExternalWebsocketControl"] is expected


def test_override_value_may_contain_equals_sign():
    assert load_module_config(None, ["TracePath=/tmp/a=b.msgpack"])["TracePath"] == "/tmp/a=b.msgpack"


@pytest.mark.parametrize("override, key, rule", [
    ("EvseCount=abc", "EvseCount", 'must be an integer between 1 and 128, got "abc"'),
    ("EvseCount=0", "EvseCount", "must be an integer between 1 and 128, got 0"),
    ("EvseCount=129", "EvseCount", "must be an integer between 1 and 128, got 129"),
    ("DelayOcppStart=-1", "DelayOcppStart", "must be an integer >= 0, got -1"),
    ("MqttServerPort=70000", "MqttServerPort", "must be an integer between 1 and 65535, got 70000"),
    ("EnableExternalWebsocketControl=yes", "EnableExternalWebsocketControl",
     'must be a boolean (true or false), got "yes"'),
    ("RequestCompositeScheduleUnit=kW", "RequestCompositeScheduleUnit", 'must be one of "A", "W", got "kW"'),
    ("Bogus=1", "Bogus", "unknown module option"),
    ("EvseCont=2", "EvseCont", "unknown module option (did you mean 'EvseCount'?)"),
    ("EvseCount", "EvseCount", "expected Option=Value"),
])
def test_override_errors_name_set_key_and_rule(override, key, rule):
    err = raises_config_error(load_module_config, None, [override])
    assert (err.file, err.key, err.rule) == ("--set", key, rule)


@pytest.mark.parametrize("content, key, rule", [
    ({"HeartbeatInterval": 5}, "HeartbeatInterval",
     "unknown module option"),
    ({"chargepointconfigpath": "x.json"}, "chargepointconfigpath",
     "unknown module option (did you mean 'ChargePointConfigPath'?)"),
    ({"EvseCount": "2"}, "EvseCount", 'must be an integer between 1 and 128, got "2"'),
    ({"EvseCount": 2.0}, "EvseCount", "must be an integer between 1 and 128, got 2.0"),
    ({"DelayOcppStart": True}, "DelayOcppStart", "must be an integer >= 0, got true"),
    ({"ResetStopDelay": -5}, "ResetStopDelay", "must be an integer >= 0, got -5"),
    ({"EnableExternalWebsocketControl": "true"}, "EnableExternalWebsocketControl",
     'must be a boolean (true or false), got "true"'),
    ({"DatabasePath": 3}, "DatabasePath", "must be a string, got 3"),
])
def test_file_errors_name_file_key_and_rule(tmp_path: Path, content, key, rule):
    path = write_json(tmp_path / "module.json", content)
    err = raises_config_error(load_module_config, path)
    assert (err.file, err.key, err.rule) == (str(path), key, rule)


def test_module_config_invalid_json_reports_line_and_column(tmp_path: Path):
    path = tmp_path / "module.json"
    path.write_text('{\n  "EvseCount": 2,\n  "ModuleId" "x"\n}\n')
    err = raises_config_error(load_module_config, path)
    assert err.file == str(path) and err.key == "-"
    assert err.rule.startswith("invalid JSON at line 3:14:")


def test_module_config_must_be_an_object(tmp_path: Path):
    err = raises_config_error(load_module_config, write_json(tmp_path / "m.json", [1, 2]))
    assert (err.key, err.rule) == ("-", "must be a JSON object, got list")


def test_unreadable_module_config(tmp_path: Path):
    err = raises_config_error(load_module_config, tmp_path / "missing.json")
    assert err.file == str(tmp_path / "missing.json") and err.key == "-"
    assert err.rule.startswith("cannot read file:")


# ------------------------------------------------------------------------------ path resolution


def test_relative_paths_resolve_against_module_config_dir(tmp_path: Path):
    write_json(tmp_path / "cp.json", base_config())
    module = load_module_config(write_json(tmp_path / "module.json", {"ChargePointConfigPath": "cp.json",
                                                                      "UserConfigPath": "sub/user.json"}))
    assert resolve_config_path(module, "ChargePointConfigPath") == tmp_path / "cp.json"
    assert resolve_config_path(module, "UserConfigPath") == tmp_path / "sub" / "user.json"


def test_missing_relative_charge_point_config_falls_back_to_embedded_default(tmp_path: Path):
    module = load_module_config(write_json(tmp_path / "module.json", {}))
    assert resolve_config_path(module, "ChargePointConfigPath") == DEPLOY / "charge-point-config.json"
    assert resolve_config_path(module, "UserConfigPath") == tmp_path / "user_config.json"


def test_missing_absolute_charge_point_config_is_an_error(tmp_path: Path, user_path: Path):
    missing = tmp_path / "nope.json"
    assert resolve_config_path(load_module_config(None, [f"ChargePointConfigPath={missing}"]),
                               "ChargePointConfigPath") == missing
    err = raises_config_error(cp_config, user_path, base=missing)
    assert err.file == str(missing) and err.rule.startswith("cannot read file:")


def test_resolve_refuses_non_path_option():
    err = raises_config_error(resolve_config_path, load_module_config(None), "EvseCount")
    assert (err.key, err.rule) == ("EvseCount", "not a path option")


# ------------------------------------------------------------------------------ schema and files


def test_schema_is_valid_draft7_and_strict():
    schema = json.loads((DEPLOY / "charge-point-config.schema.json").read_text())
    Draft7Validator.check_schema(schema)
    assert schema["required"] == ["Internal", "Core", "Security"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"Internal", "Core", "FirmwareManagement", "LocalAuthListManagement",
                                         "SmartCharging", "Reservation", "Security", "PnC", "CostAndPrice",
                                         "Custom"}
    for name, profile in schema["properties"].items():
        assert profile["additionalProperties"] is (name == "Custom"), name
    assert set(schema["properties"]["Internal"]["required"]) == {
        "ChargePointId", "CentralSystemURI", "ChargeBoxSerialNumber", "ChargePointModel", "ChargePointVendor",
        "FirmwareVersion"}
    security = schema["properties"]["Security"]["properties"]
    assert security["AuthorizationKey"]["writeOnly"] is True
    assert security["SecurityProfile"] == {**security["SecurityProfile"], "minimum": 0, "maximum": 3, "default": 0}
    core = schema["properties"]["Core"]["properties"]
    assert core["MeterValuesSampledData"]["type"] == "string"
    assert core["StopTransactionOnEVSideDisconnect"]["readOnly"] is True
    assert "readOnly" not in core["HeartbeatInterval"]
    for profile in schema["properties"].values():
        for key, spec in profile["properties"].items():
            if spec["type"] == "integer":
                assert spec["minimum"] >= 0, key
            if "default" in spec:  # every default obeys its own rule
                assert not config_schema.problems(spec, spec["default"]), key


def test_default_charge_point_config_file_is_valid_as_is():
    assert config_schema.problems(load_schema(), base_config()) == []


# ------------------------------------------------------------------------------ charge point config


def test_embedded_default_with_schema_defaults(user_path: Path):
    config = cp_config(user_path)
    assert config.base_path == DEPLOY / "charge-point-config.json"
    assert config.user_config_path == user_path
    assert config.charge_point_id == "CP001"
    assert config.central_system_uri == "ws://127.0.0.1:9000/"
    assert config.get("ChargePointVendor") == "OcppChargepoint"
    assert config.get("ChargePointModel") == "PyCP"
    assert config.get("FirmwareVersion") == "0.1.0"
    assert config.get("HeartbeatInterval") == 300
    assert config.get("SecurityProfile") == 0
    # filled in from schema defaults
    assert config.get("WebsocketPongTimeout") == 5
    assert config.get("MaxMessageSize") == 65000
    assert config.get("OcspRequestInterval") == 604800
    assert config.get("LogMessagesFormat") == ("log", "html", "session_logging", "security")
    assert config.get("DisableSecurityEventNotifications") is False
    # optional keys without a default stay absent (= not supported); absent profiles get nothing
    assert config.get("AuthorizationKey") is None
    assert config.get("LightIntensity", "unsupported") == "unsupported"
    assert config.get("MaxChargingProfilesInstalled") is None
    assert "SmartCharging" not in config.profiles


def test_lookup_is_case_insensitive_and_flags(user_path: Path):
    config = cp_config(user_path)
    assert config.get("heartBEATinterval") == 300
    assert config.profile_of("HeartBeatInterval") == "Core"
    assert config.profile_of("retrybackoffwaitminimum") == "Internal"
    assert config.profile_of("NoSuchKey") is None
    assert config.is_read_only("NumberOfConnectors")
    assert config.is_read_only("chargepointid")
    assert config.is_read_only("StopTransactionOnEVSideDisconnect")
    assert not config.is_read_only("HeartbeatInterval")
    assert not config.is_read_only("AuthorizationKey")
    assert config.is_write_only("authorizationkey")
    assert not config.is_write_only("HeartbeatInterval")


def test_keys_as_dict_and_read_only_views(user_path: Path):
    config = cp_config(user_path)
    triples = list(config.keys())
    assert ("Core", "HeartbeatInterval", 300) in triples
    assert len(triples) == sum(len(section) for section in config.profiles.values())
    copy = config.as_dict()
    copy["Core"]["HeartbeatInterval"] = 1
    copy["Internal"]["LogMessagesFormat"].append("console")
    assert config.get("HeartbeatInterval") == 300
    assert "console" not in config.get("LogMessagesFormat")
    with pytest.raises(TypeError):
        config.profiles["Core"]["HeartbeatInterval"] = 1  # type: ignore[index]
    with pytest.raises(Exception):
        config.profiles = {}  # type: ignore[misc]


def test_number_of_connectors_forced_to_evse_count(user_path: Path):
    assert cp_config(user_path, "EvseCount=3").get("NumberOfConnectors") == 3
    write_json(user_path, {"Core": {"NumberOfConnectors": 7}})
    assert cp_config(user_path, "EvseCount=2").get("NumberOfConnectors") == 2


def test_user_config_created_when_missing(user_path: Path):
    assert not user_path.exists()
    cp_config(user_path)
    assert json.loads(user_path.read_text()) == {}


def test_user_config_in_missing_directory_is_an_error(tmp_path: Path):
    path = tmp_path / "absent" / "user.json"
    err = raises_config_error(cp_config, path)
    assert err.file == str(path) and err.key == "-"
    assert "does not exist" in err.rule


def test_user_overlay_sets_deletes_and_adds(user_path: Path):
    write_json(user_path, {
        "Internal": {"ChargePointId": "CP042", "CentralSystemURI": "wss://csms.example/ocpp/"},
        "Core": {"HeartbeatInterval": 60, "WebSocketPingInterval": None},
        "LocalAuthListManagement": {"LocalAuthListEnabled": True, "LocalAuthListMaxLength": 500,
                                    "SendLocalListMaxLength": 50},
        "Custom": {"AnythingGoes": {"nested": [1, 2]}},
    })
    config = cp_config(user_path)
    assert config.charge_point_id == "CP042"
    assert config.central_system_uri == "wss://csms.example/ocpp/"
    assert config.get("HeartbeatInterval") == 60
    assert config.get("WebSocketPingInterval") is None
    assert config.get("ConnectionTimeOut") == 30  # untouched base key kept
    assert config.get("LocalAuthListEnabled") is True
    assert config.get("AnythingGoes") == {"nested": (1, 2)}


def test_bad_value_in_user_config_names_user_file_and_dotted_key(user_path: Path):
    write_json(user_path, {"Core": {"HeartbeatInterval": "abc"}})
    err = raises_config_error(cp_config, user_path)
    assert (err.file, err.key, err.rule) == (str(user_path), "Core.HeartbeatInterval",
                                             'must be an integer >= 0, got "abc"')
    assert str(err) == f'{user_path}: Core.HeartbeatInterval: must be an integer >= 0, got "abc"'


@pytest.mark.parametrize("patch, key, rule", [
    ({"Core": {"HeartBeatInterval": 5}}, "Core.HeartBeatInterval",
     "unknown key (did you mean 'HeartbeatInterval'?)"),
    ({"Cor": {}}, "Cor", "unknown profile (did you mean 'Core'?)"),
    ({"Internal": {"ChargePointModel": "x" * 21}}, "Internal.ChargePointModel",
     f'must be a string of at most 20 characters, got "{"x" * 21}"'),
    ({"Core": {"LightIntensity": 101}}, "Core.LightIntensity", "must be an integer between 0 and 100, got 101"),
    ({"Core": {"ResetRetries": -1}}, "Core.ResetRetries", "must be an integer >= 0, got -1"),
    ({"Core": {"StopTransactionOnInvalidId": "true"}}, "Core.StopTransactionOnInvalidId",
     'must be a boolean (true or false), got "true"'),
    ({"Security": {"SecurityProfile": 4}}, "Security.SecurityProfile",
     "must be an integer between 0 and 3, got 4"),
    ({"Security": {"AuthorizationKey": "short"}}, "Security.AuthorizationKey",
     "must be a string of at least 8 characters, got a secret value (not shown)"),
    ({"Internal": {"OcspRequestInterval": 3600}}, "Internal.OcspRequestInterval",
     "must be an integer >= 86400, got 3600"),
    ({"Internal": {"SupportedCiphers12": ["ok", 5]}}, "Internal.SupportedCiphers12[1]",
     "must be a string, got 5"),
    ({"Core": {"HeartbeatInterval": None}}, "Core.HeartbeatInterval", "required key is missing"),
    ({"Security": None}, "Security", "required key is missing"),
    ({"Core": 5}, "Core", "must be an object, got 5"),
])
def test_user_config_errors(user_path: Path, patch, key, rule):
    write_json(user_path, patch)
    err = raises_config_error(cp_config, user_path)
    assert (err.file, err.key, err.rule) == (str(user_path), key, rule)


def test_bad_value_in_base_names_base_file(tmp_path: Path, user_path: Path):
    base = base_config()
    base["Core"]["MeterValueSampleInterval"] = -60
    del base["Internal"]["FirmwareVersion"]
    path = write_json(tmp_path / "cp.json", base)
    write_json(user_path, {"Core": {"HeartbeatInterval": 10}})
    err = raises_config_error(cp_config, user_path, base=path)
    assert (err.file, err.key, err.rule) == (str(path), "Core.MeterValueSampleInterval",
                                             "must be an integer >= 0, got -60")
    base["Core"]["MeterValueSampleInterval"] = 60
    write_json(path, base)
    err = raises_config_error(cp_config, user_path, base=path)
    assert (err.file, err.key, err.rule) == (str(path), "Internal.FirmwareVersion", "required key is missing")


def test_user_config_fixing_a_base_problem_is_accepted(tmp_path: Path, user_path: Path):
    base = base_config()
    base["Core"]["HeartbeatInterval"] = "often"
    path = write_json(tmp_path / "cp.json", base)
    write_json(user_path, {"Core": {"HeartbeatInterval": 30}})
    assert cp_config(user_path, base=path).get("HeartbeatInterval") == 30


def test_invalid_json_in_user_config_reports_line_and_column(user_path: Path):
    user_path.write_text('{\n  "Core": {\n    "HeartbeatInterval": 30,\n  }\n}\n')
    err = raises_config_error(cp_config, user_path)
    assert err.file == str(user_path) and err.key == "-"
    assert err.rule.startswith("invalid JSON at line 4:3:")


def test_non_standard_json_constant_is_refused(user_path: Path):
    user_path.write_text('{"Internal": {"SupplyVoltage": NaN}}')
    err = raises_config_error(cp_config, user_path)
    assert err.file == str(user_path) and err.rule == "invalid JSON: NaN is not JSON"


# ------------------------------------------------------------------------------ merge-patch


@pytest.mark.parametrize("target, patch, expected", [
    ({"a": 1}, {"a": 2}, {"a": 2}),
    ({"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
    ({"a": 1, "b": 2}, {"a": None}, {"b": 2}),
    ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
    ({"a": {"x": 1, "y": 2}}, {"a": {"y": None, "z": 3}}, {"a": {"x": 1, "z": 3}}),
    ({"a": "scalar"}, {"a": {"b": None, "c": 1}}, {"a": {"c": 1}}),
    ({"a": {"b": 1}}, {"a": 7}, {"a": 7}),
    ([1, 2], {"a": 1}, {"a": 1}),
    ({"a": 1}, [1, 2], [1, 2]),
    ({"a": 1}, "text", "text"),
    ({}, {"a": {"b": {"c": None}}}, {"a": {"b": {}}}),
])
def test_merge_patch_examples(target, patch, expected):
    assert merge_patch(target, patch) == expected


def test_merge_patch_is_pure():
    target, patch = {"a": {"b": [1]}, "c": 1}, {"a": {"d": {"e": 1}}, "c": None}
    before = json.dumps([target, patch])
    result = merge_patch(target, patch)
    assert json.dumps([target, patch]) == before
    result["a"]["b"].append(2)
    result["a"]["d"]["e"] = 9
    assert target["a"]["b"] == [1] and patch["a"]["d"]["e"] == 1


KEYS = st.sampled_from(["a", "b", "c", "HeartbeatInterval"])
SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
                    max_leaves=12)
OBJECTS = st.dictionaries(KEYS, JSON, max_size=4)


@settings(max_examples=300, deadline=None)
@given(OBJECTS, OBJECTS)
def test_merge_patch_is_idempotent(target, patch):
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once


@settings(max_examples=200, deadline=None)
@given(OBJECTS)
def test_empty_patch_is_identity(target):
    assert merge_patch(target, {}) == target


@settings(max_examples=200, deadline=None)
@given(OBJECTS, OBJECTS)
def test_merge_patch_result_has_no_nulls_from_patch_and_patch_keys_win(target, patch):
    result = merge_patch(target, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in result
        elif not isinstance(value, dict):
            assert result[key] == value


# ------------------------------------------------------------------------------ user config writes


def test_write_user_config_key_round_trips(user_path: Path):
    write_json(user_path, {"Core": {"HeartbeatInterval": 60}, "Custom": {"x": 1}})
    write_user_config_key(user_path, "Core", "MeterValueSampleInterval", 15)
    write_user_config_key(user_path, "Core", "LocalPreAuthorize", True)
    write_user_config_key(user_path, "Security", "AuthorizationKey", "0123456789abcdef")
    assert json.loads(user_path.read_text()) == {
        "Core": {"HeartbeatInterval": 60, "MeterValueSampleInterval": 15, "LocalPreAuthorize": True},
        "Custom": {"x": 1},
        "Security": {"AuthorizationKey": "0123456789abcdef"},
    }
    config = cp_config(user_path)
    assert config.get("MeterValueSampleInterval") == 15
    assert config.get("LocalPreAuthorize") is True
    assert config.get("AuthorizationKey") == "0123456789abcdef"
    assert [p.name for p in user_path.parent.iterdir()] == [user_path.name]


def test_write_user_config_key_creates_missing_file(user_path: Path):
    write_user_config_key(user_path, "Internal", "CentralSystemURI", "ws://10.0.0.1:9000/")
    assert json.loads(user_path.read_text()) == {"Internal": {"CentralSystemURI": "ws://10.0.0.1:9000/"}}
    assert cp_config(user_path).central_system_uri == "ws://10.0.0.1:9000/"


def test_write_user_config_key_keeps_file_mode(user_path: Path):
    write_json(user_path, {})
    os.chmod(user_path, 0o640)
    write_user_config_key(user_path, "Core", "HeartbeatInterval", 10)
    assert user_path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("value", [object(), {1, 2}, float("nan")])
def test_failed_write_keeps_original(user_path: Path, value):
    original = '{"Core": {"HeartbeatInterval": 60}}'
    user_path.write_text(original)
    err = raises_config_error(write_user_config_key, user_path, "Core", "HeartbeatInterval", value)
    assert (err.file, err.key) == (str(user_path), "Core.HeartbeatInterval")
    assert err.rule.startswith("value cannot be written as JSON")
    assert user_path.read_text() == original
    assert [p.name for p in user_path.parent.iterdir()] == [user_path.name]


def test_failed_rename_keeps_original_and_removes_temp(user_path: Path, monkeypatch):
    original = '{"Core": {"HeartbeatInterval": 60}}'
    user_path.write_text(original)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    err = raises_config_error(write_user_config_key, user_path, "Core", "HeartbeatInterval", 10)
    assert err.rule == "cannot write file: No space left on device"
    assert user_path.read_text() == original
    assert [p.name for p in user_path.parent.iterdir()] == [user_path.name]


def test_write_into_corrupt_user_config_is_refused(user_path: Path):
    user_path.write_text("{oops")
    err = raises_config_error(write_user_config_key, user_path, "Core", "HeartbeatInterval", 10)
    assert err.file == str(user_path) and err.rule.startswith("invalid JSON at line 1:2:")
    assert user_path.read_text() == "{oops"
