"""Schema checks and the table from broken rule to OCPP-J 1.6 error code."""

from __future__ import annotations

import copy

import pytest

from messages.validation import (
    ERROR_CODE_BY_RULE,
    KNOWN_ACTIONS,
    SchemaViolation,
    validate_request,
    validate_response,
)

PROFILE = {
    "connectorId": 1,
    "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {"chargingRateUnit": "A",
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}]},
    },
}


def code_for(action: str, payload: object) -> str:
    with pytest.raises(SchemaViolation) as info:
        validate_request(action, payload)
    return info.value.error_code


def with_limit(limit: object) -> dict[str, object]:
    profile = copy.deepcopy(PROFILE)
    profile["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = limit  # type: ignore[index]
    return profile


def reserve_now(expiry: str) -> dict[str, object]:
    return {"connectorId": 1, "expiryDate": expiry, "idTag": "A", "reservationId": 1}


def test_error_code_table_uses_the_1_6_spellings() -> None:
    assert ERROR_CODE_BY_RULE == {
        "required": "OccurenceConstraintViolation",
        "type": "TypeConstraintViolation",
        "additionalProperties": "FormationViolation",
    }


@pytest.mark.parametrize(("payload", "code"), [
    ({"connectorId": 1}, "OccurenceConstraintViolation"),
    ({"connectorId": 1.5, "type": "Operative"}, "TypeConstraintViolation"),
    ({"connectorId": 1, "type": "Operative", "extra": True}, "FormationViolation"),
    ({"connectorId": 1, "type": "operative"}, "PropertyConstraintViolation"),
    (["connectorId", 1], "TypeConstraintViolation"),
])
def test_each_broken_rule_maps_to_its_error_code(payload: object, code: str) -> None:
    assert code_for("ChangeAvailability", payload) == code


def test_description_names_the_action_and_the_field() -> None:
    with pytest.raises(SchemaViolation) as info:
        validate_request("ChangeAvailability", {"connectorId": 1, "type": "Sometimes"})
    assert info.value.description.startswith("ChangeAvailability: type: ")


def test_a_wrong_top_level_type_is_reported_before_nested_errors() -> None:
    with pytest.raises(SchemaViolation) as info:
        validate_request("SetChargingProfile", {"connectorId": "1", "csChargingProfiles": {"x": 1}})
    assert info.value.error_code == "TypeConstraintViolation"
    assert "connectorId" in info.value.description


def test_known_actions_are_the_1_6_requests_with_the_security_extension() -> None:
    assert {"BootNotification", "Heartbeat", "SetChargingProfile", "SignedUpdateFirmware",
            "SecurityEventNotification", "DataTransfer"} <= KNOWN_ACTIONS
    assert not any(action.endswith("Response") for action in KNOWN_ACTIONS)


@pytest.mark.parametrize("action", sorted(KNOWN_ACTIONS))
def test_every_known_action_has_a_response_schema(action: str) -> None:
    with pytest.raises(SchemaViolation) as info:
        validate_response(action, ["not", "an", "object"])
    assert info.value.error_code == "TypeConstraintViolation"


def test_valid_response_passes() -> None:
    validate_response("Heartbeat", {"currentTime": "2026-01-01T00:00:00Z"})
    validate_response("ChangeAvailability", {"status": "Scheduled"})


# --- decimals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [21.4, 0.1, 32, 6.0, 1000000.5])
def test_decimal_limits_that_are_multiples_of_a_tenth_pass(limit: float) -> None:
    """As binary floats none of these is a multiple of 0.1; the check must use decimals."""
    validate_request("SetChargingProfile", with_limit(limit))


def test_limit_with_hundredths_is_refused() -> None:
    assert code_for("SetChargingProfile", with_limit(21.45)) == "PropertyConstraintViolation"


@pytest.mark.parametrize("limit", [float("nan"), float("inf"), float("-inf"), 1e30, 10**40])
def test_limits_the_decimal_check_cannot_compute_are_refused_not_crashed(limit: float) -> None:
    assert code_for("SetChargingProfile", with_limit(limit)) == "PropertyConstraintViolation"


# --- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stamp", [
    "2026-01-01T12:00:00Z", "2026-01-01T12:00:00.123Z", "2026-01-01T12:00:00+02:00",
    "2026-01-01t12:00:00z",
])
def test_date_times_with_a_time_part_pass(stamp: str) -> None:
    validate_request("ReserveNow", reserve_now(stamp))


@pytest.mark.parametrize("stamp", ["tomorrow", "2026-01-01", "2026-13-01T00:00:00Z", "", "12:00:00"])
def test_malformed_date_times_are_refused(stamp: str) -> None:
    assert code_for("ReserveNow", reserve_now(stamp)) == "PropertyConstraintViolation"


@pytest.mark.parametrize(("location", "ok"), [
    ("ftp://diag.example.com/upload", True),
    ("https://example.com/a b", False),
    ("no-scheme", False),
])
def test_uri_format(location: str, ok: bool) -> None:
    if ok:
        validate_request("GetDiagnostics", {"location": location})
    else:
        assert code_for("GetDiagnostics", {"location": location}) == "PropertyConstraintViolation"
