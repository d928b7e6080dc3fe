"""ChangeConfiguration of SecurityProfile with a certificate store: what each profile needs."""

from __future__ import annotations

import datetime as dt

import pytest

from actors.configuration_rules import ChangeStatus, decide_change
from security.conftest import SCHEMA, install, make_config

A, R = ChangeStatus.ACCEPTED, ChangeStatus.REJECTED
NOW = dt.datetime.now(dt.timezone.utc)
KEY = {"Security": {"AuthorizationKey": "0123456789abcdef"}}


def config(tmp_path, profile=0, uri="csms.example.com:443/ocpp", **internal):
    return make_config(tmp_path, {"Internal": {"CentralSystemURI": uri, **internal},
                                  "Security": {"SecurityProfile": profile, **KEY["Security"]}})


def decide(cfg, value):
    return decide_change(cfg, SCHEMA, "SecurityProfile", value)


@pytest.mark.parametrize(("uri", "status"), [("csms.example.com/ocpp", A), ("wss://csms.example.com/", A),
                                              ("ws://csms.example.com/", R), ("https://csms.example.com/", R)])
def test_profile_2_needs_a_wss_or_scheme_less_uri(tmp_path, uri, status):
    assert decide(config(tmp_path, 1, uri), "2").status is status


def test_profile_2_needs_csms_roots_unless_the_system_store_is_trusted(tmp_path, pki):
    cfg = config(tmp_path, 1, UseSslDefaultVerifyPaths=False)
    refused = decide(cfg, "2")
    assert refused.status is R and "CSMS root certificate" in refused.reason
    install(tmp_path / "etc" / "certs", roots=(pki.file,))
    assert decide(cfg, "2").status is A


def test_profile_3_needs_a_valid_client_certificate_and_no_password(tmp_path, pki):
    cfg = make_config(tmp_path, {"Internal": {"CentralSystemURI": "wss://csms/"}, "Security": {"SecurityProfile": 2}})
    refused = decide(cfg, "3")
    assert refused.status is R and "valid client certificate" in refused.reason and "does not exist" in refused.reason
    install(tmp_path / "etc" / "certs", client=pki.client("CP001", not_before=NOW - dt.timedelta(days=9),
                                                         not_after=NOW - dt.timedelta(days=1)))
    assert "expired" in decide(cfg, "3").reason
    install(tmp_path / "etc" / "certs", client=pki.client("CP001"))
    accepted = decide(cfg, "3")
    assert (accepted.status, accepted.value) == (A, 3)


def test_never_lowered(tmp_path, pki):
    install(tmp_path / "etc" / "certs", client=pki.client("CP001"))
    cfg = config(tmp_path, 3)
    assert [decide(cfg, v).status for v in "0123"] == [R, R, R, A]


def test_the_fallback_key_is_not_the_csms_s_to_set(tmp_path):
    cfg = config(tmp_path, 2, FallbackSecurityProfile=1)
    answer = decide_change(cfg, SCHEMA, "FallbackSecurityProfile", "0")
    assert answer.status is R and "read-only" in answer.reason
    assert decide_change(cfg, SCHEMA, "CertsPath", "/etc").status is ChangeStatus.NOT_SUPPORTED
