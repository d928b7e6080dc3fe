"""ChangeConfiguration decided as one pure function: which answer, and which typed value to store.

The Configuration actor calls :func:`decide_change`, writes ``decision.value`` to the user
config when the status is Accepted or RebootRequired, and publishes the change. Nothing here
logs, nothing raises for any ``str`` key and value, and the only I/O is reading the
certificate store for a SecurityProfile of 2 or 3: a decision is data, so every rule below is
a row in ``tests/actors/test_configuration_rules.py`` (the certificate rows in
``tests/security/test_security_profile_rules.py``).

The rules, in the order they are applied (libocpp's, with the checks it leaves out added):

1. **NotSupported**: the key is unknown (matched case-insensitively, as libocpp's CiString
   does); or it is an optional key absent from the config (a key without a schema default
   that the config does not set means "not supported"; AuthorizationKey excepted, which
   the CSMS sets before raising SecurityProfile to 1); or it lives in the object of an
   OCPP feature profile this charge point does not support (LocalAuthListEnabled without a
   supported LocalAuthListManagement, OCTT TC_042_1).
2. **Rejected**, read-only: the schema marks the key ``readOnly``. The write-only
   AuthorizationKey is not read-only: the CSMS sets it, nobody reads it back.
3. **Rejected**, bad value: longer than 500 characters (ChangeConfiguration's CiString500);
   not of the key's schema type, range, length, pattern or enum. Text is converted strictly:

   * integer: ASCII decimal digits only, at most 2**31-1 (no sign, blanks, fraction or
     exponent: ``"-1"`` is Rejected, OCTT TC_040_2), then the schema's minimum/maximum;
   * number: digits with an optional decimal fraction;
   * boolean: ``true`` / ``false`` in any letter case;
   * string: the schema's minLength/maxLength/pattern/enum, and no control characters;
     no value may hold a lone surrogate (it could not be sent back in a UTF-8 frame);
   * object (CostAndPrice DefaultPrice, DefaultPriceText): a JSON object text;
   * comma-separated lists: the measurand lists (MeterValuesSampledData,
     MeterValuesAlignedData, StopTxnSampledData, StopTxnAlignedData) take OCPP 1.6 Measurand
     values that also appear in ``Internal.SupportedMeasurands``, each at most once; the
     empty list is allowed (no measurands). ConnectorPhaseRotation takes
     ``<connector>.<rotation>`` items for connectors 0..NumberOfConnectors;
     IgnoredProfilePurposesOffline takes charging profile purposes. A list key ``K`` with an
     integer ``KMaxLength`` in the config holds at most that many items (libocpp does not
     enforce the *MaxLength keys; the issue asks for it). Items may carry blanks around them;
     the stored value is the items joined by "," without blanks.
   * AuthorizationKey: 8 to 40 printable ASCII characters, no blank (see below).
   * SecurityProfile: only raised, never lowered (OCPP 1.6 security whitepaper; OCTT TC_084);
     1 and 2 need an AuthorizationKey; 2 and 3 need a CentralSystemURI that is ``wss://`` or
     has no scheme (the link's scheme follows the profile, see :mod:`actors.link_settings`)
     and something to check the CSMS's certificate against: the CSMS root bundle of the
     certificate store, or the system CA store (Internal.UseSslDefaultVerifyPaths, default
     true, as libocpp); 3 needs a client certificate in the store whose key matches and that
     is valid now. The certificate store (:mod:`actors.certificates`) is the one thing these
     rules read from outside the config, and only for a SecurityProfile of 2 or 3. An
     accepted change takes effect on the next connection, which the link opens at once, and
     falls back to the old profile when the new one cannot connect
     (:mod:`actors.security_profile`).

   Finally the whole config with the new value must still pass the schema, so a stored
   value can never stop the charge point from loading its config at the next start.
4. **RebootRequired** for keys whose schema carries ``"x-rebootRequired": true``, else
   **Accepted**.

AuthorizationKey (the Basic-auth password of security profiles 1 and 2): the schema keeps
libocpp's minimum of 8 characters (shipped configs and tests use 10-character keys); the
maximum of 40 is OCPP 2.0.1's BasicAuthPassword limit and fits a 20-byte key written as 40
hex digits (OCTT TC_073 sends a hex key). Any printable ASCII except the blank
is allowed, so hex keys and passphrase-style keys both pass, while nothing can break the
``Authorization: Basic`` header (RFC 7617 leaves non-ASCII passwords ambiguous). The limit is
enforced here and not in the schema, so that an operator's longer key in a config file still
loads. A reason never contains the value of a write-only key: reasons carry no values at
all, except the offending item of a list, the two SecurityProfile numbers, and a whole-config
schema rule (which hides write-only values).

Which keys answer RebootRequired, and why so few: every RW key our actors use is read at the
moment it is used, from the live config that the Configuration actor replaces after an
accepted change (evse.py, auth.py, csms_connection.py, station.py, simulator.py all call
``ctx.config.get`` at use; the timers are re-armed on ConfigurationChanged). So a change of
HeartbeatInterval, MeterValueSampleInterval, ClockAlignedDataInterval, the transaction-message
retries, WebSocketPingInterval, RetryBackoff*, the authorization keys or AuthorizationKey
applies at once, and answering RebootRequired for them would be untrue. The flagged keys:

* ``Internal.VerifyCsmsAllowWildcards`` (RW): a TLS verification option, kept for the next
  start as libocpp does (it builds its connection options once in ``init_websocket``). The
  link reads its TLS settings from the live config at every connection attempt, and a
  RebootRequired value is written to the user config but not made live, so it applies from
  the next start.
* ``Internal.CentralSystemURI`` (read-only, so Rejected first): CsmsConnection computes its
  URL once in its constructor. The flag records this for an integrator who makes the key
  writable; it is also libocpp's own answer for the key.

Keys that no actor reads yet (ResetRetries, MaxEnergyOnInvalidId, BlinkRepeat, the
composite-schedule defaults, ...) are Accepted, as libocpp does: a reboot would not make
them take effect either. Whoever gives such a key a consumer that reads it only at start
adds the flag in the schema; nothing here changes.

Feature profiles (:func:`supported_feature_profiles`): ``IMPLEMENTED_FEATURE_PROFILES`` lists
what this code base implements.
Core and RemoteTrigger are always supported. LocalAuthListManagement and Reservation also
need the integrator to declare them in Core.SupportedFeatureProfiles, because that is what
the Auth actor checks before it uses the local list or takes a ReserveNow (listing a profile
the actors then refuse would be a lie); LocalAuthListManagement also needs its config
object, whose three keys the list cannot work without, while Reservation's only key is
optional. Internal, Security, PnC, CostAndPrice and Custom are config objects, not feature
profiles: their keys can be changed whenever present.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ocpp.v16.enums import ChargingProfilePurposeType, Measurand

from actors.certificates import CertificateProblem, CertificateStore
from actors.link_settings import uri_scheme
from supervisor import config_schema

if TYPE_CHECKING:
    from supervisor.config import ChargePointConfig

__all__ = [
    "ALWAYS_SUPPORTED_FEATURE_PROFILES",
    "FEATURE_PROFILES",
    "IMPLEMENTED_FEATURE_PROFILES",
    "MEASURANDS",
    "MEASURAND_LIST_KEYS",
    "NON_PROFILE_SECTIONS",
    "REBOOT_REQUIRED_FLAG",
    "ChangeDecision",
    "ChangeStatus",
    "decide_change",
    "supported_feature_profiles",
]


class ChangeStatus(str, enum.Enum):
    """ChangeConfiguration.conf status (OCPP 1.6 ConfigurationStatus)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"


@dataclass(frozen=True)
class ChangeDecision:
    """The answer to one ChangeConfiguration and, when it is stored, what to store where."""

    status: ChangeStatus
    profile: str | None
    """Config object (e.g. "Core") the key lives in; None when the key is unknown."""
    key: str | None
    """The key's canonical spelling; None when the key is unknown."""
    value: object
    """The typed value to store (int/bool/str/float/dict, as in the schema); None when refused."""
    reason: str
    """One line why, for the log; never contains the value of a write-only key."""


VALUE_MAX_LENGTH = 500
"""ChangeConfiguration.req value is CiString500."""
INTEGER_MAX = 2**31 - 1
REBOOT_REQUIRED_FLAG = "x-rebootRequired"
"""Schema keyword of keys that take effect only at the next start."""

FEATURE_PROFILES = ("Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation",
                    "SmartCharging", "RemoteTrigger")
"""The OCPP 1.6 feature profiles, in the specification's order."""
IMPLEMENTED_FEATURE_PROFILES = frozenset({"Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation",
                                          "RemoteTrigger", "SmartCharging"})
"""What works in this code base: all six OCPP 1.6 feature profiles."""
ALWAYS_SUPPORTED_FEATURE_PROFILES = frozenset({"Core", "RemoteTrigger"})
"""Implemented profiles that need no declaration in Core.SupportedFeatureProfiles."""
PROFILES_NEEDING_THEIR_OBJECT = frozenset({"LocalAuthListManagement", "SmartCharging"})
"""Profiles whose config object holds required keys: without it they cannot work."""
NON_PROFILE_SECTIONS = frozenset({"Internal", "Security", "PnC", "CostAndPrice", "Custom"})
"""Config objects that are not feature profiles: their keys are changeable whenever present."""

MEASURANDS: tuple[str, ...] = tuple(m.value for m in Measurand)
"""The 22 OCPP 1.6 Measurand values (case-sensitive, as the enumeration is)."""
MEASURAND_LIST_KEYS = frozenset({"MeterValuesSampledData", "MeterValuesAlignedData",
                                 "StopTxnSampledData", "StopTxnAlignedData"})
PHASE_ROTATIONS = ("NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR")
PROFILE_PURPOSES: tuple[str, ...] = tuple(p.value for p in ChargingProfilePurposeType)
LIST_KEYS = MEASURAND_LIST_KEYS | {"ConnectorPhaseRotation", "IgnoredProfilePurposesOffline",
                                   "ConnectorEvseIds", "SupportedLanguages"}
"""Writable string keys that hold comma-separated lists (the item count is limited by a
``<key>MaxLength`` key when the config has one)."""

AUTHORIZATION_KEY = "AuthorizationKey"
WRITABLE_WHEN_ABSENT = {"authorizationkey": ("Security", AUTHORIZATION_KEY)}
"""Optional keys that are supported even when absent: no AuthorizationKey means "no password
set yet", and the CSMS must be able to set one before it raises SecurityProfile to 1 (libocpp
always offers the key too)."""
AUTHORIZATION_KEY_MAX_LENGTH = 40
_AUTHORIZATION_KEY_CHARS = re.compile(r"[\x21-\x7e]+")
_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PHASE_ROTATION = re.compile(r"([0-9]{1,3})\.(" + "|".join(PHASE_ROTATIONS) + ")")


class _Refused(Exception):
    """A value that cannot be stored; the message is the reason (no secret in it)."""


# ----------------------------------------------------------------------------- feature profiles


def supported_feature_profiles(config: ChargePointConfig) -> tuple[str, ...]:
    """The feature profiles that work here, in OCPP order (the value SupportedFeatureProfiles
    reports): implemented, and either always on or declared in Core.SupportedFeatureProfiles
    (with their config object where the profile's keys are required)."""
    declared = set(_items(config.get("SupportedFeatureProfiles")))
    supported = []
    for profile in FEATURE_PROFILES:
        if profile not in IMPLEMENTED_FEATURE_PROFILES:
            continue
        if profile in ALWAYS_SUPPORTED_FEATURE_PROFILES or (
                profile in declared
                and (profile not in PROFILES_NEEDING_THEIR_OBJECT
                     or isinstance(config.profiles.get(profile), Mapping))):
            supported.append(profile)
    return tuple(supported)


# ------------------------------------------------------------------------------- the decision


def decide_change(config: ChargePointConfig, schema: Mapping[str, Any], key: str, value: str) -> ChangeDecision:
    """Decide ChangeConfiguration(key, value) against the current config and its schema."""
    try:
        return _decide(config, schema, key, value)
    except Exception as exc:  # noqa: BLE001 - the rules answer; a bug must not take the actor down
        return ChangeDecision(ChangeStatus.REJECTED, None, None, None,
                              f"internal error while deciding ({type(exc).__name__})")


def _decide(config: ChargePointConfig, schema: Mapping[str, Any], key: str, value: str) -> ChangeDecision:
    if not isinstance(key, str) or not isinstance(value, str):
        return _refuse(ChangeStatus.REJECTED, None, None, "key and value must be text")
    profile, name = _find(config, key)
    if profile is None or name is None:
        return _refuse(ChangeStatus.NOT_SUPPORTED, None, None, f"{key[:50]!r}: unknown key")
    if profile in FEATURE_PROFILES and profile not in supported_feature_profiles(config):
        return _refuse(ChangeStatus.NOT_SUPPORTED, profile, name,
                       f"{name}: feature profile {profile} is not supported")

    key_schema = _key_schema(schema, profile, name)
    if key_schema.get("readOnly") or config.is_read_only(name):
        return _refuse(ChangeStatus.REJECTED, profile, name, f"{name}: read-only")
    if len(value) > VALUE_MAX_LENGTH:
        return _refuse(ChangeStatus.REJECTED, profile, name, f"{name}: longer than {VALUE_MAX_LENGTH} characters")

    try:
        if not _is_unicode(value):
            raise _Refused("must be valid Unicode text")
        section = config.profiles.get(profile)
        current = section.get(name) if isinstance(section, Mapping) else None
        typed = _convert(config, key_schema, name, value, current=current)
        if config_schema.problems(key_schema, typed):
            raise _Refused(f"must be {config_schema.describe(key_schema)}")
        _check_cross_key(config, name, typed)
        _check_whole_config(config, schema, profile, name, typed)
    except _Refused as refused:
        return _refuse(ChangeStatus.REJECTED, profile, name, f"{name}: {refused}")

    if key_schema.get(REBOOT_REQUIRED_FLAG):
        return ChangeDecision(ChangeStatus.REBOOT_REQUIRED, profile, name, typed,
                              f"{name}: stored; takes effect at the next start")
    return ChangeDecision(ChangeStatus.ACCEPTED, profile, name, typed, f"{name}: accepted")


def _find(config: ChargePointConfig, key: str) -> tuple[str | None, str | None]:
    """(config object, canonical spelling) of a key, matched case-insensitively."""
    profile = config.profile_of(key)
    section = config.profiles.get(profile) if profile is not None else None
    if isinstance(section, Mapping):
        name = next((k for k in section if k.lower() == key.lower()), None)
        if name is not None:
            return profile, name
    return WRITABLE_WHEN_ABSENT.get(key.lower(), (None, None))


def _is_unicode(text: str) -> bool:
    """False for text with lone surrogates (a JSON frame can carry "\\ud800"): such a value could
    be stored, but not sent back in GetConfiguration, whose frame must be UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse(status: ChangeStatus, profile: str | None, key: str | None, reason: str) -> ChangeDecision:
    return ChangeDecision(status, profile, key, None, reason)


def _key_schema(schema: Mapping[str, Any], profile: str, name: str) -> Mapping[str, Any]:
    """The key's schema fragment; {} for a key the schema does not describe (Custom keys)."""
    properties = schema.get("properties")
    profile_schema = properties.get(profile) if isinstance(properties, Mapping) else None
    keys = profile_schema.get("properties") if isinstance(profile_schema, Mapping) else None
    found = keys.get(name) if isinstance(keys, Mapping) else None
    return found if isinstance(found, Mapping) else {}


# ------------------------------------------------------------------------------ conversions


def _kind(key_schema: Mapping[str, Any], current: object) -> str:
    """The JSON type to convert to: the schema's, else (Custom keys) the current value's."""
    kind = key_schema.get("type")
    if isinstance(kind, str):
        return kind
    if isinstance(current, bool):
        return "boolean"
    if isinstance(current, int):
        return "integer"
    if isinstance(current, float):
        return "number"
    if isinstance(current, Mapping):
        return "object"
    if isinstance(current, (tuple, list)):
        return "array"
    return "string"


def _convert(config: ChargePointConfig, key_schema: Mapping[str, Any], name: str, text: str,
             current: object) -> object:
    kind = _kind(key_schema, current)
    if kind == "integer":
        return _integer(text, key_schema)
    if kind == "number":
        return _number(text, key_schema)
    if kind == "boolean":
        if text.isascii() and text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise _Refused("must be true or false")
    if kind == "object":
        return _json_object(text)
    if kind == "array":
        items = _list_items(text)
        _check_max_items(config, name, items)
        return items
    if kind != "string":
        raise _Refused(f"cannot be set (schema type {kind!r})")
    if _CONTROL.search(text):
        raise _Refused("must not contain control characters")
    if name == AUTHORIZATION_KEY:
        return _authorization_key(text)
    if name not in LIST_KEYS:
        return text
    items = _list_items(text)
    if name in MEASURAND_LIST_KEYS:
        _check_measurands(config, items)
    elif name == "ConnectorPhaseRotation":
        _check_phase_rotation(config, items)
    elif name == "IgnoredProfilePurposesOffline":
        _check_members(items, PROFILE_PURPOSES, "a charging profile purpose")
    _check_max_items(config, name, items)
    return ",".join(items)


def _integer(text: str, key_schema: Mapping[str, Any]) -> int:
    rule = config_schema.describe({**key_schema, "type": "integer"})
    if not _DIGITS.fullmatch(text):
        raise _Refused(f"must be {rule}")
    if int(text) > INTEGER_MAX:
        raise _Refused(f"must be {rule}, at most {INTEGER_MAX}")
    return int(text)


def _number(text: str, key_schema: Mapping[str, Any]) -> int | float:
    """Digits with an optional fraction; an int when there is none (as the shipped configs
    write 230, not 230.0). Capped like integers, so no value can overflow to infinity."""
    if not _DECIMAL.fullmatch(text) or float(text) > INTEGER_MAX:
        raise _Refused(f"must be {config_schema.describe(key_schema)}, written as digits with an optional "
                       f"decimal fraction (at most {INTEGER_MAX})")
    return float(text) if "." in text else int(text)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _json_object(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _Refused("must be a JSON object") from None
    if not isinstance(parsed, dict):
        raise _Refused("must be a JSON object")
    if not _is_unicode(json.dumps(parsed, ensure_ascii=False)):
        raise _Refused("must be valid Unicode text")
    return parsed


def _authorization_key(text: str) -> str:
    if not (8 <= len(text) <= AUTHORIZATION_KEY_MAX_LENGTH and _AUTHORIZATION_KEY_CHARS.fullmatch(text)):
        raise _Refused(f"must be 8 to {AUTHORIZATION_KEY_MAX_LENGTH} printable ASCII characters without blanks")
    return text


def _items(text: object) -> tuple[str, ...]:
    """A stored comma-separated list as its items (lenient: blanks and empties dropped)."""
    if isinstance(text, (tuple, list)):
        return tuple(str(item) for item in text)
    if not isinstance(text, str):
        return ()
    return tuple(item for item in (part.strip() for part in text.split(",")) if item)


def _list_items(text: str) -> list[str]:
    """A list value from the CSMS as its items (strict: an empty item is an error)."""
    if not text.strip():
        return []
    items = [part.strip() for part in text.split(",")]
    if any(not item for item in items):
        raise _Refused("a comma-separated list with an empty item")
    return items


def _shown_item(item: str) -> str:
    return repr(item if len(item) <= 40 else item[:37] + "...")


def _check_members(items: list[str], allowed: tuple[str, ...], what: str) -> None:
    for item in items:
        if item not in allowed:
            raise _Refused(f"{_shown_item(item)} is not {what}")
    if len(set(items)) != len(items):
        raise _Refused("an item is listed twice")


def _check_measurands(config: ChargePointConfig, items: list[str]) -> None:
    _check_members(items, MEASURANDS, "an OCPP 1.6 measurand")
    declared = config.get("SupportedMeasurands")
    supported = set(_items(declared)) if declared is not None else set(MEASURANDS)
    for item in items:
        if item not in supported:
            raise _Refused(f"measurand {item} is not supported here (Internal.SupportedMeasurands)")


def _check_phase_rotation(config: ChargePointConfig, items: list[str]) -> None:
    if not items:
        raise _Refused("must name at least one connector, e.g. 0.RST,1.RST")
    connectors = config.get("NumberOfConnectors", 1)
    last = connectors if isinstance(connectors, int) and not isinstance(connectors, bool) else 1
    seen = set()
    for item in items:
        match = _PHASE_ROTATION.fullmatch(item)
        if match is None:
            raise _Refused(f"{_shown_item(item)} is not <connector>.<{'|'.join(PHASE_ROTATIONS)}>")
        connector = int(match.group(1))
        if connector > last:
            raise _Refused(f"connector {connector} does not exist (0..{last})")
        if connector in seen:
            raise _Refused(f"connector {connector} is listed twice")
        seen.add(connector)


def _check_max_items(config: ChargePointConfig, name: str, items: list[str]) -> None:
    limit_key = f"{name}MaxLength"
    limit = config.get(limit_key)
    if isinstance(limit, int) and not isinstance(limit, bool) and len(items) > limit:
        raise _Refused(f"{len(items)} items, at most {limit} allowed ({limit_key})")


# --------------------------------------------------------------------------- whole-config rules


def _check_cross_key(config: ChargePointConfig, name: str, typed: object) -> None:
    if name != "SecurityProfile" or not isinstance(typed, int):
        return
    current = config.get("SecurityProfile", 0)
    if isinstance(current, int) and typed < current:
        raise _Refused(f"cannot be lowered (from {current} to {typed})")
    if typed in (1, 2) and not config.get(AUTHORIZATION_KEY):
        raise _Refused(f"profile {typed} needs an AuthorizationKey first")
    if typed not in (2, 3):
        return
    if uri_scheme(str(config.get("CentralSystemURI", ""))) not in ("wss", None):
        raise _Refused(f"profile {typed} needs a wss:// CentralSystemURI (or one without a scheme)")
    store = CertificateStore.for_config(config)
    if not config.get("UseSslDefaultVerifyPaths", True) and not store.csms_roots():
        raise _Refused(f"profile {typed} needs a CSMS root certificate in the certificate store "
                       "(UseSslDefaultVerifyPaths is false)")
    if typed == 3:
        try:
            store.client_certificate()
        except CertificateProblem as problem:
            raise _Refused(f"profile 3 needs a valid client certificate: {problem}") from None


def _check_whole_config(config: ChargePointConfig, schema: Mapping[str, Any], profile: str, name: str,
                        typed: object) -> None:
    """The merged config with the new value must pass the schema (problems that were already
    there, e.g. in a hand-made config, are not this change's fault)."""
    merged = config.as_dict()
    merged.setdefault(profile, {})[name] = typed
    after = config_schema.problems(schema, merged, what="profile")
    if not after:
        return
    before = set(config_schema.problems(schema, config.as_dict(), what="profile"))
    for problem in after:
        if problem not in before:
            raise _Refused(f"the config would not load: {config_schema.dotted(problem.path)}: {problem.rule}")
