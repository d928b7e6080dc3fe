"""The certificate store, the TLS settings of an attempt, the profile's URL and credentials,
and how a failed handshake is classified: pure functions, no sockets."""

from __future__ import annotations

import datetime as dt
import ssl
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from actors.certificates import CLIENT_CHAIN, CLIENT_KEY, CertificateProblem, CertificateStore
from actors.link_settings import LinkSettingsError, auth_headers, charge_point_url
from actors.security_profile import ATTEMPTS_BEFORE_FALLBACK, ProfileSwitch, connect_failure_event
from actors.tls import TlsPolicyError, TlsSettingsError, client_settings, failure_reason, security_event
from security.conftest import SCHEMA, install, make_config

NOW = dt.datetime.now(dt.timezone.utc)


def configured(**values: object) -> Any:
    return lambda key, default: values.get(key, default)


# --------------------------------------------------------------------------- the store


def test_the_store_is_beside_the_user_config_unless_certs_path_says_otherwise(tmp_path):
    assert CertificateStore.for_config(make_config(tmp_path)).directory == tmp_path / "etc" / "certs"
    relative = make_config(tmp_path, {"Internal": {"CertsPath": "pki/cp"}})
    assert CertificateStore.for_config(relative).directory == tmp_path / "etc" / "pki" / "cp"
    absolute = make_config(tmp_path, {"Internal": {"CertsPath": str(tmp_path / "elsewhere")}})
    assert CertificateStore.for_config(absolute).directory == tmp_path / "elsewhere"


def test_certs_path_and_the_fallback_key_are_read_only_for_the_csms():
    internal = SCHEMA["properties"]["Internal"]["properties"]
    assert internal["CertsPath"]["readOnly"] and internal["FallbackSecurityProfile"]["readOnly"]
    assert "default" not in internal["CertsPath"] and "default" not in internal["FallbackSecurityProfile"]


def test_csms_roots_are_every_certificate_of_the_bundle(tmp_path, pki, rogue):
    store = CertificateStore(tmp_path / "certs")
    assert store.csms_roots() == ()
    install(store.directory, roots=(pki.file, rogue.file))
    assert [c.subject for c in store.csms_roots()] == [pki.certificate.subject, rogue.certificate.subject]
    store.csms_root_bundle.write_text("not a certificate")
    assert store.csms_roots() == ()


def test_a_valid_client_certificate_is_found(tmp_path, pki):
    store = CertificateStore(tmp_path / "certs")
    install(store.directory, client=pki.client("CP001"))
    found = store.client_certificate()
    assert (found.subject, found.chain, found.key) == ("CP001", store.directory / CLIENT_CHAIN,
                                                       store.directory / CLIENT_KEY)


def _problem(store: CertificateStore, now: dt.datetime | None = None) -> str:
    with pytest.raises(CertificateProblem) as problem:
        store.client_certificate(now)
    return str(problem.value)


def test_client_certificate_problems_are_named(tmp_path, pki):
    store = CertificateStore(tmp_path / "certs")
    assert "does not exist" in _problem(store)
    install(store.directory, client=pki.client("CP001"))
    assert "valid only from" in _problem(store, NOW - dt.timedelta(days=2))
    assert "expired" in _problem(store, NOW + dt.timedelta(days=31))
    other = pki.client("CP002")
    (store.directory / CLIENT_KEY).write_bytes(other.key.read_bytes())
    assert "is not the key of the certificate" in _problem(store)
    key = ec.generate_private_key(ec.SECP256R1())
    (store.directory / CLIENT_KEY).write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    assert "no unencrypted PEM private key" in _problem(store)
    (store.directory / CLIENT_CHAIN).write_text("garbage")
    assert "holds no PEM certificate" in _problem(store)


def test_an_expired_client_certificate_is_no_certificate(tmp_path, pki):
    store = CertificateStore(tmp_path / "certs")
    install(store.directory, client=pki.client("CP001", not_before=NOW - dt.timedelta(days=9),
                                              not_after=NOW - dt.timedelta(days=1)))
    assert "expired" in _problem(store)


# ------------------------------------------------------------------------ TLS settings


def test_tls_settings_follow_the_config(tmp_path, pki):
    store = CertificateStore(tmp_path / "certs")
    install(store.directory, roots=(pki.file,))
    settings = client_settings(configured(UseSslDefaultVerifyPaths=False, SupportedCiphers12=["AES128-GCM-SHA256"],
                                          SupportedCiphers13=["TLS_AES_128_GCM_SHA256"]), store, 2)
    context = settings.context
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert [c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"] == ["AES128-GCM-SHA256"]
    assert context._host_flags & ssl._ssl.HOSTFLAG_NO_WILDCARDS  # noqa: SLF001
    assert [c["subject"] for c in context.get_ca_certs()] and settings.client_certificate is None
    assert settings.sslopt() == {"context": context}


def test_tls_settings_options(tmp_path, pki):
    store = CertificateStore(tmp_path / "certs")
    install(store.directory, roots=(pki.file,), client=pki.client("CP001"))
    settings = client_settings(configured(VerifyCsmsCommonName=False, SupportedCiphers12=["AES128-GCM-SHA256"], VerifyCsmsAllowWildcards=True,
                                          SupportedCiphers13=[], HostName="csms.example.com",
                                          EnableTLSKeylog=True, TLSKeylogFile=str(tmp_path / "keys")), store, 3)
    context = settings.context
    assert not context.check_hostname and not context._host_flags & ssl._ssl.HOSTFLAG_NO_WILDCARDS  # noqa: SLF001
    assert context.maximum_version is ssl.TLSVersion.TLSv1_2  # no TLS 1.3 suite allowed: no TLS 1.3
    assert settings.client_certificate is not None and settings.client_certificate.subject == "CP001"
    assert settings.sslopt()["server_hostname"] == "csms.example.com"
    assert context.keylog_filename == str(tmp_path / "keys")


@pytest.mark.parametrize(("keys", "profile", "why"), [
    ({"UseSslDefaultVerifyPaths": False}, 2, "no CSMS root certificate"),
    ({}, 3, "no usable client certificate"),
    ({"SupportedCiphers12": [], "SupportedCiphers13": []}, 2, "both empty"),
    ({"SupportedCiphers12": ["NO-SUCH-CIPHER"]}, 2, "names no cipher OpenSSL knows"),
])
def test_tls_settings_that_cannot_work_are_refused(tmp_path, keys, profile, why):
    with pytest.raises(TlsSettingsError, match=why):
        client_settings(configured(**keys), CertificateStore(tmp_path / "certs"), profile)


def test_no_tls_1_2_ciphers_means_tls_1_3_only(tmp_path):
    settings = client_settings(configured(SupportedCiphers12=[], SupportedCiphers13=["TLS_AES_128_GCM_SHA256"]),
                               CertificateStore(tmp_path / "certs"), 2)
    assert settings.context.minimum_version is ssl.TLSVersion.TLSv1_3


# ------------------------------------------------------------- failures as security events


def _ssl_error(reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] something ({reason.lower()})")
    error.reason = reason
    return error


@pytest.mark.parametrize(("error", "event"), [
    (ssl.SSLCertVerificationError(1, "certificate verify failed: certificate has expired"),
     "InvalidCentralSystemCertificate"),
    (_ssl_error("TLSV1_ALERT_PROTOCOL_VERSION"), "InvalidTLSVersion"),
    (_ssl_error("UNSUPPORTED_PROTOCOL"), "InvalidTLSVersion"),
    (_ssl_error("SSLV3_ALERT_HANDSHAKE_FAILURE"), "InvalidTLSCipherSuite"),
    (TlsPolicyError("CIPHER_NOT_ALLOWED", "suite X not allowed"), "InvalidTLSCipherSuite"),
    (_ssl_error("TLSV13_ALERT_CERTIFICATE_REQUIRED"), "FailedToAuthenticateAtCentralSystem"),
    (_ssl_error("TLSV1_ALERT_UNKNOWN_CA"), "FailedToAuthenticateAtCentralSystem"),
    (_ssl_error("WRONG_VERSION_NUMBER"), None),  # the CSMS does not speak TLS there: not its certificate's fault
    (ConnectionRefusedError(111, "Connection refused"), None),
])
def test_failures_are_classified(error, event):
    reason = failure_reason(error)
    assert (security_event(reason) or (None,))[0] == event
    assert type(error).__name__ in reason
    assert connect_failure_event(reason, None) == security_event(reason)


def test_a_401_is_a_failed_authentication():
    assert connect_failure_event("Handshake status 401", 401)[0] == "FailedToAuthenticateAtCentralSystem"
    assert connect_failure_event("Handshake status 404", 404) is None


# ------------------------------------------------------------------ URL and credentials


def test_the_scheme_follows_the_security_profile():
    assert charge_point_url("csms:9000/ocpp", "CP1", 1) == "ws://csms:9000/ocpp/CP1"
    assert charge_point_url("csms:9000/ocpp/", "CP1", 2) == "wss://csms:9000/ocpp/CP1"
    assert charge_point_url("wss://csms/ocpp", "CP1", 3) == "wss://csms/ocpp/CP1"
    assert charge_point_url("ws://csms/ocpp", "CP1", 0) == "ws://csms/ocpp/CP1"
    assert charge_point_url("wss://csms/ocpp", "CP1", 1) == "wss://csms/ocpp/CP1"  # a URL that asks for TLS gets it
    for uri, profile in (("ws://csms/", 2), ("WS://csms/", 3), ("https://csms/", 2), ("http://csms/", 1)):
        with pytest.raises(LinkSettingsError, match="SecurityProfile"):
            charge_point_url(uri, "CP1", profile)


def test_basic_auth_on_profiles_1_and_2_only():
    for profile, sent in ((0, False), (1, True), (2, True), (3, False)):
        assert bool(auth_headers("CP1", configured(SecurityProfile=profile, AuthorizationKey="secret-key"))) is sent


# ---------------------------------------------------------------------- the profile switch


def test_an_upgrade_is_kept_once_it_connects():
    switch = ProfileSwitch(in_use=1)
    assert switch.changed(2) == (True, 1)
    assert switch.failed(2, configured=2) is None
    assert switch.opened(2) is True and (switch.in_use, switch.fallback) == (2, None)
    assert switch.opened(2) is False


def test_an_upgrade_that_cannot_connect_falls_back():
    switch = ProfileSwitch(in_use=1)
    switch.changed(2)
    assert [switch.failed(2, configured=2) for _ in range(ATTEMPTS_BEFORE_FALLBACK)][-1] == 1
    assert (switch.in_use, switch.fallback) == (1, None)
    assert switch.failed(1, configured=1) is None  # no upgrade pending: failures are ordinary


def test_a_second_raise_keeps_the_proven_way_back_and_going_back_cancels():
    switch = ProfileSwitch(in_use=1)
    switch.changed(2)
    assert switch.changed(3) == (False, 1)
    assert switch.failed(2, configured=3) is None  # an attempt of the older profile does not count
    assert switch.changed(1) == (True, None)
    assert switch.fallback is None


def test_each_security_event_once_per_outage():
    switch = ProfileSwitch(in_use=2)
    assert switch.first_report("InvalidCentralSystemCertificate")
    assert not switch.first_report("InvalidCentralSystemCertificate")
    assert switch.first_report("InvalidTLSVersion")
    switch.opened(2)
    assert switch.first_report("InvalidCentralSystemCertificate")
