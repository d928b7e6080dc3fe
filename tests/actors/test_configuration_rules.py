"""ChangeConfiguration rules: a table of cases per rule, the supported feature profiles, and
properties over any key and any value (one of the four answers, never an exception, and an
accepted value always leaves a config that loads)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.configuration_rules import (
    FEATURE_PROFILES,
    IMPLEMENTED_FEATURE_PROFILES,
    MEASURANDS,
    NON_PROFILE_SECTIONS,
    REBOOT_REQUIRED_FLAG,
    ChangeDecision,
    ChangeStatus,
    decide_change,
    supported_feature_profiles,
)
from supervisor import config_schema
from supervisor.config import (
    ChargePointConfig,
    load_charge_point_config,
    load_module_config,
    load_schema,
    merge_patch,
    write_user_config_key,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SCHEMA = load_schema()
DEFAULT_BASE = json.loads((DEPLOY / "charge-point-config.json").read_text())
EXAMPLE_BASE = json.loads((DEPLOY / "examples" / "charge-point-config.json").read_text())

A = ChangeStatus.ACCEPTED
R = ChangeStatus.REJECTED
RR = ChangeStatus.REBOOT_REQUIRED
NS = ChangeStatus.NOT_SUPPORTED

KEY40 = "0123456789abcdef0123456789ABCDEF01234567"
ALL_SUPPORTED = ("Energy.Active.Import.Register,Energy.Active.Export.Register,Power.Active.Import,Voltage,"
                 "Current.Import,Frequency")


def make_config(base: dict[str, Any], patch: dict[str, Any] | None = None) -> ChargePointConfig:
    """What the loader builds (overlay, defaults, schema check), without files."""
    merged = merge_patch(base, patch or {})
    config_schema.apply_defaults(SCHEMA, merged)
    assert config_schema.problems(SCHEMA, merged, what="profile") == []
    return ChargePointConfig(profiles=merged, base_path=Path("base.json"), user_config_path=Path("user.json"),
                             read_only_keys=config_schema.flagged_keys(SCHEMA, "readOnly"),
                             write_only_keys=config_schema.flagged_keys(SCHEMA, "writeOnly"))


CONFIGS = {
    # deploy/charge-point-config.json: Core only, SecurityProfile 0, no optional keys.
    "default": make_config(DEFAULT_BASE),
    # deploy/examples: LocalAuthListManagement + Reservation, *MaxLength keys, SecurityProfile 1, 2 connectors.
    "example": make_config(EXAMPLE_BASE),
    # Everything optional present, every config object there.
    "full": make_config(EXAMPLE_BASE, {
        "Internal": {"CentralSystemURI": "wss://csms.example.com/ocpp/", "IgnoredProfilePurposesOffline": "TxProfile",
                     "ConnectorEvseIds": "DE*PYC*E1,DE*PYC*E2", "SeccLeafSubjectCountry": "DE",
                     "AllowChargingProfileWithoutStartSchedule": False},
        "Core": {"LightIntensity": 50, "BlinkRepeat": 3, "MaxEnergyOnInvalidId": 0,
                 "ConnectorPhaseRotationMaxLength": 2, "SupportedFeatureProfilesMaxLength": 6},
        "SmartCharging": {"ChargeProfileMaxStackLevel": 10, "ChargingScheduleAllowedChargingRateUnit": "Current,Power"},
        "FirmwareManagement": {"SupportedFileTransferProtocols": "FTP,HTTPS"},
        "Security": {"CpoName": "Example CPO", "AdditionalRootCertificateCheck": False},
        "PnC": {"ISO15118PnCEnabled": False, "ContractValidationOffline": True},
        "CostAndPrice": {"CustomDisplayCostAndPrice": True, "DefaultPrice": {"priceText": "0.30/kWh"},
                         "WaitForSetUserPriceTimeout": 5000, "NumberOfDecimalsForCostValues": 2},
        "Custom": {"MyFlag": True, "MyCount": 3, "MyText": "x"},
    }),
    # The local list object exists, but Core.SupportedFeatureProfiles does not declare it.
    "list-undeclared": make_config(EXAMPLE_BASE, {"Core": {"SupportedFeatureProfiles": "Core,Reservation"}}),
    # Reservation declared without its (all-optional) object, as tests/scenarios/test_reservations.py does.
    "reservation-only": make_config(DEFAULT_BASE, {"Core": {"SupportedFeatureProfiles": "Core,Reservation"}}),
    # SecurityProfile 0 with a key and a wss:// URI: every upgrade's prerequisites but a client certificate.
    "sp0-ready": make_config(DEFAULT_BASE, {"Internal": {"CentralSystemURI": "wss://csms.example.com/"},
                                            "Security": {"AuthorizationKey": "0123456789abcdef"}}),
}


def decide(config: str, key: str, value: str) -> ChangeDecision:
    return decide_change(CONFIGS[config], SCHEMA, key, value)


# (config, key, value, status, stored value) — a stored value of ... means "not checked".
CASES: dict[str, list[tuple[str, str, str, ChangeStatus, object]]] = {
    "octt": [
        ("default", "UnknownKeyXYZ", "1", NS, None),                      # TC_040_1
        ("default", "MeterValueSampleInterval", "-1", R, None),           # TC_040_2
        ("default", "MeterValueSampleInterval", "15", A, 15),             # TC_021
        ("default", "HeartbeatInterval", "2", A, 2),                      # TC_001
        ("default", "LocalAuthListEnabled", "true", NS, None),            # TC_042_1: no local list object
        ("list-undeclared", "LocalAuthListEnabled", "true", NS, None),    # object, but profile not declared
        ("example", "LocalAuthListEnabled", "false", A, False),           # TC_042_2 set-up
        ("default", "MeterValuesSampledData",
         "Energy.Active.Import.Register,SoC,Current.Offered,Power.Offered", A,
         "Energy.Active.Import.Register,SoC,Current.Offered,Power.Offered"),  # TC_070
        ("example", "AuthorizationKey", KEY40, A, KEY40),                 # TC_073 (hex key)
    ],
    "unknown and unsupported keys": [
        ("default", "", "1", NS, None),
        ("default", " HeartbeatInterval", "1", NS, None),
        ("default", "HeartbeatInterval ", "1", NS, None),
        ("default", "Core.HeartbeatInterval", "1", NS, None),
        ("default", "AuthorizationCacheEnabled", "true", NS, None),      # optional, absent
        ("default", "LightIntensity", "50", NS, None),                    # optional, absent
        ("default", "ReserveConnectorZeroSupported", "true", NS, None),
        ("default", "ChargeProfileMaxStackLevel", "5", NS, None),        # SmartCharging not declared
        ("full", "SupportedFileTransferProtocols", "FTP", NS, None),     # FirmwareManagement not declared
        ("default", "x" * 60, "1", NS, None),
    ],
    "case-insensitive keys": [
        ("default", "heartBEATinterval", "60", A, 60),
        ("default", "METERVALUESAMPLEINTERVAL", "0", A, 0),
        ("example", "authorizationkey", "a-b-c-d-e-f", A, "a-b-c-d-e-f"),
        ("default", "localpreauthorize", "TRUE", A, True),
    ],
    "read-only": [
        ("default", "NumberOfConnectors", "1", R, None),
        ("default", "GetConfigurationMaxKeys", "50", R, None),
        ("default", "SupportedFeatureProfiles", "Core", R, None),
        ("default", "StopTransactionOnEVSideDisconnect", "false", R, None),
        ("default", "ChargePointId", "CP002", R, None),
        ("default", "CentralSystemURI", "ws://elsewhere/", R, None),      # read-only wins over x-rebootRequired
        ("default", "SupportedMeasurands", "SoC", R, None),
        ("default", "WebsocketPongTimeout", "5", R, None),
        ("example", "ReserveConnectorZeroSupported", "true", R, None),
        ("example", "LocalAuthListMaxLength", "5", R, None),
        ("example", "MeterValuesSampledDataMaxLength", "10", R, None),
        ("full", "CustomDisplayCostAndPrice", "false", R, None),
        ("full", "AdditionalRootCertificateCheck", "true", R, None),
        ("default", "numberofconnectors", "not even a number", R, None),
    ],
    "integers": [
        ("default", "HeartbeatInterval", "0", A, 0),
        ("default", "HeartbeatInterval", "007", A, 7),
        ("default", "HeartbeatInterval", "2147483647", A, 2147483647),
        ("default", "HeartbeatInterval", "2147483648", R, None),
        ("default", "HeartbeatInterval", "9" * 400, R, None),
        ("default", "HeartbeatInterval", "1.5", R, None),
        ("default", "HeartbeatInterval", "1.0", R, None),
        ("default", "HeartbeatInterval", " 3", R, None),
        ("default", "HeartbeatInterval", "3 ", R, None),
        ("default", "HeartbeatInterval", "3\n", R, None),
        ("default", "HeartbeatInterval", "+3", R, None),
        ("default", "HeartbeatInterval", "", R, None),
        ("default", "HeartbeatInterval", "1e3", R, None),
        ("default", "HeartbeatInterval", "0x10", R, None),
        ("default", "HeartbeatInterval", "\u0663", R, None),            # ARABIC-INDIC DIGIT THREE
        ("default", "HeartbeatInterval", "\u00b2", R, None),            # SUPERSCRIPT TWO
        ("default", "HeartbeatInterval", "1_000", R, None),
        ("default", "HeartbeatInterval", "true", R, None),
        ("full", "LightIntensity", "100", A, 100),
        ("full", "LightIntensity", "101", R, None),
        ("default", "OcspRequestInterval", "86400", A, 86400),
        ("default", "OcspRequestInterval", "3600", R, None),
        ("default", "CompositeScheduleDefaultNumberPhases", "1", A, 1),
        ("default", "CompositeScheduleDefaultNumberPhases", "0", R, None),
        ("default", "CompositeScheduleDefaultNumberPhases", "4", R, None),
        ("full", "WaitForSetUserPriceTimeout", "30000", A, 30000),
        ("full", "WaitForSetUserPriceTimeout", "30001", R, None),
        ("default", "RetryBackoffWaitMinimum", "10", A, 10),
        ("default", "TransactionMessageAttempts", "5", A, 5),
        ("default", "ClockAlignedDataInterval", "900", A, 900),
    ],
    "numbers": [
        ("default", "SupplyVoltage", "230", A, 230),
        ("default", "SupplyVoltage", "230.5", A, 230.5),
        ("default", "CompositeScheduleDefaultLimitAmps", "0", A, 0),
        ("default", "SupplyVoltage", "-230", R, None),
        ("default", "SupplyVoltage", "2.3e2", R, None),
        ("default", "SupplyVoltage", "nan", R, None),
        ("default", "SupplyVoltage", "inf", R, None),
        ("default", "SupplyVoltage", ".5", R, None),
        ("default", "SupplyVoltage", "9" * 300 + ".0", R, None),
    ],
    "booleans": [
        ("default", "LocalPreAuthorize", "true", A, True),
        ("default", "LocalPreAuthorize", "False", A, False),
        ("default", "LocalPreAuthorize", "tRuE", A, True),
        ("default", "LocalPreAuthorize", "1", R, None),
        ("default", "LocalPreAuthorize", "yes", R, None),
        ("default", "LocalPreAuthorize", " true", R, None),
        ("default", "LocalPreAuthorize", "", R, None),
        ("default", "UnlockConnectorOnEVSideDisconnect", "false", A, False),
        ("default", "StopTransactionIfUnlockNotSupported", "true", A, True),
    ],
    "strings": [
        ("full", "CpoName", "Another CPO GmbH", A, "Another CPO GmbH"),
        ("full", "CpoName", "Müller Laden", A, "Müller Laden"),
        ("full", "CpoName", "", A, ""),
        ("full", "CpoName", "a" * 500, A, "a" * 500),
        ("full", "CpoName", "a" * 501, R, None),
        ("full", "CpoName", "line\nbreak", R, None),
        ("full", "CpoName", "nul\x00", R, None),
        ("full", "CpoName", "lone \ud800 surrogate", R, None),
        ("full", "MyText", "x\udfff", R, None),
        ("full", "DefaultPrice", '{"priceText": "\\ud800"}', R, None),
        ("full", "SeccLeafSubjectCountry", "NL", A, "NL"),
        ("full", "SeccLeafSubjectCountry", "NLD", R, None),
        ("full", "ConnectorEvseIds", "DE*ABC*E1 , DE*ABC*E2", A, "DE*ABC*E1,DE*ABC*E2"),
    ],
    "measurand lists": [
        ("default", "MeterValuesSampledData", "", A, ""),
        ("default", "MeterValuesSampledData", "   ", A, ""),
        ("default", "MeterValuesAlignedData", "SoC , Voltage", A, "SoC,Voltage"),
        ("default", "StopTxnSampledData", ALL_SUPPORTED, A, ALL_SUPPORTED),
        ("default", "StopTxnAlignedData", "Temperature", A, "Temperature"),
        ("default", "MeterValuesSampledData", "Power.Factor", R, None),   # a measurand, not a supported one
        ("default", "MeterValuesSampledData", "RPM,SoC", R, None),
        ("default", "MeterValuesSampledData", "Foo", R, None),
        ("default", "MeterValuesSampledData", "soc", R, None),            # enumerations are case-sensitive
        ("default", "MeterValuesSampledData", "SoC,,Voltage", R, None),
        ("default", "MeterValuesSampledData", "SoC,", R, None),
        ("default", "MeterValuesSampledData", "SoC,SoC", R, None),
        ("default", "MeterValuesSampledData", "SoC;Voltage", R, None),
        ("default", "MeterValuesSampledData", "SoC,Voltage\t", R, None),
    ],
    "MaxLength": [
        ("example", "MeterValuesSampledData", "SoC,Voltage,Frequency,Temperature,Current.Import,Power.Offered",
         A, "SoC,Voltage,Frequency,Temperature,Current.Import,Power.Offered"),        # 6 of 6
        ("example", "MeterValuesSampledData", ALL_SUPPORTED + ",SoC", R, None),      # 7 > 6
        ("example", "MeterValuesAlignedData", "SoC,Voltage,Frequency,Temperature", A,
         "SoC,Voltage,Frequency,Temperature"),
        ("example", "MeterValuesAlignedData", "SoC,Voltage,Frequency,Temperature,Current.Import", R, None),
        ("example", "StopTxnSampledData", "SoC,Voltage,Frequency,Temperature,Current.Import", R, None),
        ("example", "StopTxnAlignedData", "SoC,Voltage,Frequency,Temperature,Current.Import", R, None),
        ("default", "StopTxnAlignedData", "SoC,Voltage,Frequency,Temperature,Current.Import", A,
         "SoC,Voltage,Frequency,Temperature,Current.Import"),                         # no MaxLength key
        ("full", "ConnectorPhaseRotation", "0.RST,1.RST,2.RST", R, None),            # ConnectorPhaseRotationMaxLength 2
    ],
    "phase rotation and purposes": [
        ("example", "ConnectorPhaseRotation", "0.RST,1.RTS,2.Unknown", A, "0.RST,1.RTS,2.Unknown"),
        ("example", "ConnectorPhaseRotation", "0.RST, 1.NotApplicable", A, "0.RST,1.NotApplicable"),
        ("example", "ConnectorPhaseRotation", "3.RST", R, None),          # 2 connectors
        ("example", "ConnectorPhaseRotation", "1.XYZ", R, None),
        ("example", "ConnectorPhaseRotation", "1.rst", R, None),
        ("example", "ConnectorPhaseRotation", "RST", R, None),
        ("example", "ConnectorPhaseRotation", "1.RST,1.RTS", R, None),
        ("example", "ConnectorPhaseRotation", "", R, None),
        ("full", "IgnoredProfilePurposesOffline", "TxProfile,TxDefaultProfile", A, "TxProfile,TxDefaultProfile"),
        ("full", "IgnoredProfilePurposesOffline", "", A, ""),
        ("full", "IgnoredProfilePurposesOffline", "TxProfil", R, None),
    ],
    "AuthorizationKey": [
        ("example", "AuthorizationKey", "short", R, None),
        ("example", "AuthorizationKey", "1234567", R, None),
        ("example", "AuthorizationKey", "12345678", A, "12345678"),
        ("example", "AuthorizationKey", KEY40 + "8", R, None),
        ("example", "AuthorizationKey", "with a blank", R, None),
        ("example", "AuthorizationKey", "pässwörd-1234", R, None),
        ("example", "AuthorizationKey", "tab\tseparated", R, None),
        ("example", "AuthorizationKey", "s3cr3t:key!~#", A, "s3cr3t:key!~#"),
    ],
    "SecurityProfile": [
        ("default", "AuthorizationKey", KEY40, A, KEY40),               # absent, but settable: step 1 of 0 -> 1
        ("default", "AUTHORIZATIONKEY", "short", R, None),
        ("default", "SecurityProfile", "0", A, 0),
        ("default", "SecurityProfile", "1", R, None),                   # no AuthorizationKey
        ("sp0-ready", "SecurityProfile", "1", A, 1),
        ("sp0-ready", "SecurityProfile", "2", A, 2),
        ("sp0-ready", "SecurityProfile", "3", R, None),                 # no client certificate support
        ("sp0-ready", "SecurityProfile", "4", R, None),
        ("example", "SecurityProfile", "0", R, None),                   # never lowered
        ("example", "SecurityProfile", "1", A, 1),
        ("example", "SecurityProfile", "2", R, None),                   # ws:// URI
        ("full", "SecurityProfile", "2", A, 2),
    ],
    "objects": [
        ("full", "DefaultPrice", '{"priceText": "0.25/kWh", "chargingPrice": {"kWhPrice": 0.25}}', A,
         {"priceText": "0.25/kWh", "chargingPrice": {"kWhPrice": 0.25}}),
        ("full", "DefaultPrice", "{}", A, {}),
        ("full", "DefaultPrice", "[1, 2]", R, None),
        ("full", "DefaultPrice", "0.25", R, None),
        ("full", "DefaultPrice", "{bad json", R, None),
        ("full", "DefaultPrice", '{"x": NaN}', R, None),
        ("full", "DefaultPrice", "[" * 250 + "]" * 250, R, None),
    ],
    "other objects": [
        ("full", "NumberOfDecimalsForCostValues", "3", A, 3),
        ("full", "ISO15118PnCEnabled", "true", A, True),
        ("full", "MyFlag", "false", A, False),                           # Custom: typed like the current value
        ("full", "mycount", "7", A, 7),
        ("full", "MyCount", "-7", R, None),
        ("full", "MyText", "anything", A, "anything"),
        ("full", "MyUnknown", "1", NS, None),
    ],
    "RebootRequired": [
        ("default", "VerifyCsmsAllowWildcards", "true", RR, True),
        ("default", "verifycsmsallowwildcards", "FALSE", RR, False),
        ("default", "VerifyCsmsAllowWildcards", "maybe", R, None),
    ],
}

TABLE = [pytest.param(*case, id=f"{rule}: {case[0]} {case[1][:40]}={case[2][:30]!r}")
         for rule, cases in CASES.items() for case in cases]


@pytest.mark.parametrize("config, key, value, status, stored", TABLE)
def test_change(config: str, key: str, value: str, status: ChangeStatus, stored: object) -> None:
    decision = decide(config, key, value)
    assert decision.status is status, decision.reason
    assert decision.value == stored
    assert type(decision.value) is type(stored)  # 7 is not 7.0, True is not 1
    assert decision.reason and "\n" not in decision.reason
    assert not decision.reason.startswith("internal error")
    if status in (A, RR):
        assert decision.key is not None and decision.key.lower() == key.lower()
        assert decision.profile is not None
        assert (decision.key in CONFIGS[config].profiles.get(decision.profile, {})
                or decision.key in _schema_keys(decision.profile))


def test_decision_names_the_key_and_why() -> None:
    assert decide("default", "METERVALUESAMPLEINTERVAL", "-1") == ChangeDecision(
        R, "Core", "MeterValueSampleInterval", None, "MeterValueSampleInterval: must be an integer >= 0")
    assert decide("default", "HeartbeatInterval", "15") == ChangeDecision(
        A, "Core", "HeartbeatInterval", 15, "HeartbeatInterval: accepted")
    unknown = decide("default", "NoSuchKey", "1")
    assert (unknown.profile, unknown.key, unknown.value) == (None, None, None)
    assert "unknown key" in unknown.reason
    unsupported = decide("list-undeclared", "localauthlistenabled", "true")
    assert (unsupported.profile, unsupported.key) == ("LocalAuthListManagement", "LocalAuthListEnabled")
    assert "not supported" in unsupported.reason
    assert "read-only" in decide("default", "NumberOfConnectors", "1").reason
    assert "Power.Factor" in decide("default", "MeterValuesSampledData", "Power.Factor").reason
    assert "SupportedMeasurands" in decide("default", "MeterValuesSampledData", "Power.Factor").reason
    assert "MeterValuesSampledDataMaxLength" in decide("example", "MeterValuesSampledData",
                                                       ALL_SUPPORTED + ",SoC").reason
    assert "lowered" in decide("example", "SecurityProfile", "0").reason
    assert "next start" in decide("default", "VerifyCsmsAllowWildcards", "true").reason


@pytest.mark.parametrize("value", ["short", "with a blank", KEY40 + "extra", "pässwörd-1234", "x" * 600])
def test_authorization_key_is_never_in_the_reason(value: str) -> None:
    decision = decide("example", "AuthorizationKey", value)
    assert decision.status is R
    assert value not in decision.reason
    assert decision.reason.startswith("AuthorizationKey: ")


def test_every_measurand_is_known_and_only_supported_ones_pass() -> None:
    assert len(MEASURANDS) == 22
    supported = set(CONFIGS["default"].get("SupportedMeasurands").split(","))
    for measurand in MEASURANDS:
        got = decide("default", "MeterValuesSampledData", measurand).status
        assert got is (A if measurand in supported else R), measurand


# --------------------------------------------------------------------------- feature profiles


@pytest.mark.parametrize("config, expected", [
    ("default", ("Core", "RemoteTrigger")),
    ("example", ("Core", "LocalAuthListManagement", "Reservation", "SmartCharging", "RemoteTrigger")),
    ("full", ("Core", "LocalAuthListManagement", "Reservation", "SmartCharging", "RemoteTrigger")),  # not Firmware
    ("list-undeclared", ("Core", "Reservation", "RemoteTrigger")),
    ("reservation-only", ("Core", "Reservation", "RemoteTrigger")),
])
def test_supported_feature_profiles(config: str, expected: tuple[str, ...]) -> None:
    assert supported_feature_profiles(CONFIGS[config]) == expected


def test_declared_local_list_without_its_object_is_not_supported() -> None:
    config = make_config(DEFAULT_BASE, {"Core": {"SupportedFeatureProfiles": "Core,LocalAuthListManagement,"
                                                                             "SmartCharging,FirmwareManagement"}})
    assert supported_feature_profiles(config) == ("Core", "FirmwareManagement", "RemoteTrigger")  # no keys required


def test_implemented_profiles_are_ocpp_profiles() -> None:
    assert IMPLEMENTED_FEATURE_PROFILES <= set(FEATURE_PROFILES)
    assert IMPLEMENTED_FEATURE_PROFILES == set(FEATURE_PROFILES)


def test_every_config_object_is_a_feature_profile_or_always_changeable() -> None:
    objects = set(SCHEMA["properties"])
    assert objects <= set(FEATURE_PROFILES) | NON_PROFILE_SECTIONS
    assert NON_PROFILE_SECTIONS.isdisjoint(FEATURE_PROFILES)


def test_security_profile_upgrade_from_0_to_1() -> None:
    """The CSMS sets a key first, then raises the profile (each change applied as the actor does)."""
    config = CONFIGS["default"]
    first = decide_change(config, SCHEMA, "AuthorizationKey", KEY40)
    assert (first.status, first.profile, first.key) == (A, "Security", "AuthorizationKey")
    config = config.as_dict()
    config["Security"]["AuthorizationKey"] = first.value
    second = decide_change(make_config(config), SCHEMA, "SecurityProfile", "1")
    assert (second.status, second.value) == (A, 1)


# ------------------------------------------------------------------------------- the schema

# §1.2 of the libocpp reference: every key of these profiles must be in the schema.
REFERENCE_KEYS = {
    "Internal": """ChargePointId CentralSystemURI ChargeBoxSerialNumber ChargePointModel ChargePointSerialNumber
        ChargePointVendor FirmwareVersion ICCID IMSI MeterSerialNumber MeterType HostName IFace SupportedCiphers12
        SupportedCiphers13 UseTPM UseTPMSeccLeafCertificate RetryBackoffRandomRange RetryBackoffRepeatTimes
        RetryBackoffWaitMinimum AuthorizeConnectorZeroOnConnectorOne LogMessages LogMessagesRaw LogMessagesFormat
        LogRotation LogRotationDateSuffix LogRotationMaximumFileSize LogRotationMaximumFileCount
        SupportedChargingProfilePurposeTypes IgnoredProfilePurposesOffline MaxCompositeScheduleDuration
        CompositeScheduleDefaultLimitAmps CompositeScheduleDefaultLimitWatts CompositeScheduleDefaultNumberPhases
        SupplyVoltage WebsocketPingPayload WebsocketPongTimeout UseSslDefaultVerifyPaths VerifyCsmsCommonName
        VerifyCsmsAllowWildcards OcspRequestInterval SeccLeafSubjectCommonName SeccLeafSubjectCountry
        SeccLeafSubjectOrganization ConnectorEvseIds AllowChargingProfileWithoutStartSchedule
        WaitForStopTransactionsOnResetTimeout QueueAllMessages MessageTypesDiscardForQueueing
        MessageQueueSizeThreshold SupportedMeasurands MaxMessageSize TLSKeylogFile EnableTLSKeylog
        StopTransactionIfUnlockNotSupported MeterPublicKeys""",
    "Core": """AllowOfflineTxForUnknownId AuthorizationCacheEnabled AuthorizeRemoteTxRequests BlinkRepeat
        ClockAlignedDataInterval ConnectionTimeOut ConnectorPhaseRotation ConnectorPhaseRotationMaxLength
        GetConfigurationMaxKeys HeartbeatInterval LightIntensity LocalAuthorizeOffline LocalPreAuthorize
        MaxEnergyOnInvalidId MeterValuesAlignedData MeterValuesAlignedDataMaxLength MeterValuesSampledData
        MeterValuesSampledDataMaxLength MeterValueSampleInterval MinimumStatusDuration NumberOfConnectors
        ResetRetries StopTransactionOnEVSideDisconnect StopTransactionOnInvalidId StopTxnAlignedData
        StopTxnAlignedDataMaxLength StopTxnSampledData StopTxnSampledDataMaxLength SupportedFeatureProfiles
        SupportedFeatureProfilesMaxLength TransactionMessageAttempts TransactionMessageRetryInterval
        UnlockConnectorOnEVSideDisconnect WebSocketPingInterval""",
    "LocalAuthListManagement": "LocalAuthListEnabled LocalAuthListMaxLength SendLocalListMaxLength",
    "SmartCharging": """ChargeProfileMaxStackLevel ChargingScheduleAllowedChargingRateUnit ChargingScheduleMaxPeriods
        ConnectorSwitch3to1PhaseSupported MaxChargingProfilesInstalled""",
    "Reservation": "ReserveConnectorZeroSupported",
    "FirmwareManagement": "SupportedFileTransferProtocols",
    "Security": """SecurityProfile AuthorizationKey AdditionalRootCertificateCheck CertificateSignedMaxChainSize
        CertificateStoreMaxLength CpoName DisableSecurityEventNotifications""",
    "CostAndPrice": """CustomDisplayCostAndPrice NumberOfDecimalsForCostValues DefaultPrice DefaultPriceText
        TimeOffset NextTimeOffsetTransitionDateTime TimeOffsetNextTransition CustomIdleFeeAfterStop
        SupportedLanguages CustomMultiLanguageMessages Language WaitForSetUserPriceTimeout""",
}
REFERENCE_READ_ONLY = {"NumberOfConnectors", "GetConfigurationMaxKeys", "SupportedFeatureProfiles",
                       "StopTransactionOnEVSideDisconnect", "LocalAuthListMaxLength", "SendLocalListMaxLength",
                       "ChargeProfileMaxStackLevel", "ReserveConnectorZeroSupported",
                       "SupportedFileTransferProtocols", "CertificateSignedMaxChainSize", "SupportedMeasurands",
                       "CustomDisplayCostAndPrice", "ChargePointId", "CentralSystemURI"}
REFERENCE_WRITABLE = {"HeartbeatInterval", "MeterValueSampleInterval", "LocalAuthListEnabled", "SecurityProfile",
                      "AuthorizationKey", "CpoName", "RetryBackoffWaitMinimum", "OcspRequestInterval",
                      "VerifyCsmsAllowWildcards", "WaitForSetUserPriceTimeout", "UnlockConnectorOnEVSideDisconnect"}


def _schema_keys(profile: str) -> dict[str, dict[str, Any]]:
    return SCHEMA["properties"][profile]["properties"]


@pytest.mark.parametrize("profile", sorted(REFERENCE_KEYS))
def test_schema_covers_the_reference_keys(profile: str) -> None:
    assert set(REFERENCE_KEYS[profile].split()) <= set(_schema_keys(profile))


def test_schema_read_only_flags_follow_the_reference() -> None:
    flags = {key: spec for profile in REFERENCE_KEYS for key, spec in _schema_keys(profile).items()}
    assert all(flags[key].get("readOnly") for key in REFERENCE_READ_ONLY)
    assert not any(flags[key].get("readOnly") for key in REFERENCE_WRITABLE)
    assert flags["AuthorizationKey"]["writeOnly"] is True


def test_reboot_required_keys_are_few_and_named() -> None:
    flagged = {key for profile in SCHEMA["properties"].values()
               for key, spec in profile.get("properties", {}).items() if spec.get(REBOOT_REQUIRED_FLAG)}
    assert flagged == {"CentralSystemURI", "VerifyCsmsAllowWildcards"}
    live = {"HeartbeatInterval", "MeterValueSampleInterval", "ClockAlignedDataInterval", "TransactionMessageAttempts",
            "TransactionMessageRetryInterval", "WebSocketPingInterval", "RetryBackoffRandomRange",
            "RetryBackoffRepeatTimes", "RetryBackoffWaitMinimum", "AuthorizationKey", "LocalPreAuthorize"}
    assert not flagged & live


# --------------------------------------------------------------------------------- properties

CATALOGUE = sorted({key for profile in SCHEMA["properties"].values() for key in profile.get("properties", {})}
                   | {"MyFlag", "MyCount", "MyText", "MyUnknown"})


@st.composite
def mixed_case(draw: st.DrawFn, key: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(key), max_size=len(key)))
    return "".join(c.swapcase() if flip else c for c, flip in zip(key, flips))


keys = st.one_of(st.sampled_from(CATALOGUE), st.sampled_from(CATALOGUE).flatmap(mixed_case),
                 st.text(max_size=60))
interesting = ["", "0", "-1", "1", "15", "2147483647", "2147483648", "true", "FALSE", "1.5", " 3", "{}",
               '{"a": 1}', "[]", "SoC", "SoC,Voltage", "Power.Factor", "0.RST,1.RST", "TxProfile", KEY40,
               "wss://x/", "a" * 501, "\x00", "NaN"]
values = st.one_of(st.sampled_from(interesting), st.text(max_size=80),
                   st.text(alphabet=st.characters(exclude_categories=()), max_size=20),  # with surrogates
                   st.lists(st.sampled_from(MEASURANDS), max_size=8).map(",".join),
                   st.integers(min_value=-10, max_value=2**32).map(str), st.text(max_size=600))


@settings(max_examples=400, deadline=None)
@given(config=st.sampled_from(sorted(CONFIGS)), key=keys, value=values)
def test_any_key_any_value_gets_one_of_four_answers(config: str, key: str, value: str) -> None:
    cfg = CONFIGS[config]
    decision = decide_change(cfg, SCHEMA, key, value)
    assert isinstance(decision.status, ChangeStatus)
    assert not decision.reason.startswith("internal error"), decision.reason
    if decision.status in (A, RR):
        assert decision.profile is not None and decision.key is not None
        assert decision.key.lower() == key.lower()
        merged = cfg.as_dict()
        merged.setdefault(decision.profile, {})[decision.key] = decision.value
        assert config_schema.problems(SCHEMA, merged, what="profile") == []
        json.dumps(merged, ensure_ascii=False, allow_nan=False).encode("utf-8")  # can be written and sent
        assert (decision.status is RR) == bool(
            _schema_keys(decision.profile).get(decision.key, {}).get(REBOOT_REQUIRED_FLAG))
    else:
        assert decision.value is None
    if decision.status is NS:
        assert decision.key is None or decision.profile not in supported_feature_profiles(cfg)


@settings(max_examples=200, deadline=None)
@given(value=st.text(min_size=8, max_size=600))
def test_authorization_key_never_leaks(value: str) -> None:
    decision = decide("example", "AuthorizationKey", value)
    assert decision.status in (A, R)
    assert value not in decision.reason.replace("AuthorizationKey", "")  # the key's name is no secret


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(["HeartbeatInterval", "LightIntensity", "OcspRequestInterval",
                            "CompositeScheduleDefaultNumberPhases", "WaitForSetUserPriceTimeout"]),
       number=st.integers(min_value=-(2**40), max_value=2**40))
def test_integers_follow_the_schema_range(key: str, number: int) -> None:
    spec = {k: v for p in SCHEMA["properties"].values() for k, v in p.get("properties", {}).items()}[key]
    in_range = (spec.get("minimum", 0) <= number <= min(spec.get("maximum", 2**31 - 1), 2**31 - 1))
    decision = decide("full", key, str(number))
    assert decision.status is (A if in_range else R)
    assert decision.value == (number if in_range else None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=keys, value=values)
def test_stored_values_load_at_the_next_start_and_refused_ones_change_nothing(key: str, value: str) -> None:
    """What the Configuration actor does with a decision, end to end through the real files."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.json"
        user = Path(tmp) / "user.json"
        base.write_text(json.dumps(merge_patch(EXAMPLE_BASE, {"Custom": {"MyFlag": True}})))
        user.write_text("{}\n")
        options = load_module_config(None, [f"ChargePointConfigPath={base}", f"UserConfigPath={user}",
                                            "EvseCount=2"])
        before = load_charge_point_config(options)
        decision = decide_change(before, SCHEMA, key, value)
        if decision.status in (A, RR):
            assert decision.profile is not None and decision.key is not None
            write_user_config_key(user, decision.profile, decision.key, decision.value)
            after = load_charge_point_config(options)  # must not raise
            assert config_schema.thaw(after.profiles[decision.profile][decision.key]) == decision.value
        else:
            assert user.read_text() == "{}\n"
            assert load_charge_point_config(options).as_dict() == before.as_dict()
