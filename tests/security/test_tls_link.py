"""Security profiles 2 and 3 over real TLS on loopback, against the scriptable CSMS: what
connects, what is refused before a byte of HTTP goes out, and the security events it causes.

OCTT: TC_085 (Basic authentication, valid), TC_086 (TLS server certificate, valid), TC_087
(TLS client certificate, valid), TC_078-like (an invalid CSMS certificate is a security event).
"""

from __future__ import annotations

import datetime as dt
import ssl
import warnings

import pytest

from conftest import CP_ID, settle, wait_until
from messages.csms import ConnectDue
from security.conftest import (
    PASSWORD,
    connected,
    install,
    retry,
    security_profile_keys,
    server_context,
    wait_connected,
)
from supervisor.local_csms import LocalCsms

pytestmark = pytest.mark.timeout(60)

NOW = dt.datetime.now(dt.timezone.utc)


def boots(csms, app):
    csms.wait_for("BootNotification", timeout=10)
    wait_connected(app)


def refused_then_reported(csms, clock, app, fix, event_type):
    """The charge point cannot connect (twice: one event per outage), nothing reaches the CSMS's
    HTTP layer; once ``fix()`` mends the CSMS, it connects and reports ``event_type``."""
    retry(clock)
    clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
    assert not connected(app)
    assert csms.connections == [] and csms.rejected == []  # no handshake, no password, reached the CSMS
    fix()
    retry(clock)
    event = csms.wait_for("SecurityEventNotification", timeout=10)
    settle(app)
    assert [r.payload["type"] for r in csms.received if r.action == "SecurityEventNotification"] == [event_type]
    return event.payload


def test_profile_2_tls_with_the_csms_root_and_basic_auth(pki, certs, tls_csms, make_charge_point):
    """TC_085 / TC_086: wss://, the server certificate checked, the password in the handshake."""
    csms = tls_csms(server_context(pki.server()))
    install(certs, roots=(pki.file,))
    app = make_charge_point(csms.url, keys=security_profile_keys(2, UseSslDefaultVerifyPaths=False))
    boots(csms, app)
    first = csms.connections[0]
    assert (first.username, first.password, first.client_cn) == (CP_ID, PASSWORD, None)
    assert first.tls is not None and first.tls[0] in ("TLSv1.2", "TLSv1.3")


def test_profile_2_without_a_scheme_in_the_uri(pki, certs, tls_csms, make_charge_point):
    csms = tls_csms(server_context(pki.server()))
    install(certs, roots=(pki.file,))
    app = make_charge_point(csms.url.removeprefix("wss://"), keys=security_profile_keys(2))
    boots(csms, app)
    assert csms.connections[0].tls is not None


def test_profile_3_presents_the_client_certificate_and_no_password(pki, certs, tls_csms, make_charge_point):
    """TC_087: mutual TLS; the CSMS (which wants a password from profile-2 charge points) takes
    the verified certificate instead, and gets no Authorization header."""
    csms = tls_csms(server_context(pki.server(), client_ca=pki.file, require_client=True))
    install(certs, roots=(pki.file,), client=pki.client(CP_ID))
    app = make_charge_point(csms.url, keys=security_profile_keys(3))
    boots(csms, app)
    first = csms.connections[0]
    assert (first.client_cn, first.username, first.password) == (CP_ID, None, None)


@pytest.mark.parametrize("case", ["expired", "not yet valid", "unknown CA", "other host", "wildcard"])
def test_a_server_certificate_that_does_not_verify_is_refused_and_reported(
        case, pki, rogue, certs, tls_csms, clock, make_charge_point, caplog):
    """The attempt ends in the TLS handshake (before the password is sent); the event goes out,
    once, when the CSMS presents a good certificate again."""
    bad = {"expired": lambda: pki.server("expired", not_before=NOW - dt.timedelta(days=9),
                                         not_after=NOW - dt.timedelta(days=1)),
           "not yet valid": lambda: pki.server("future", not_before=NOW + dt.timedelta(days=1)),
           "unknown CA": lambda: rogue.server(),
           "other host": lambda: pki.server("elsewhere", hosts=("elsewhere.example",)),
           "wildcard": lambda: pki.server("wildcard", hosts=("*.csms.test",))}[case]()
    context = server_context(bad)
    csms = tls_csms(context)
    install(certs, roots=(pki.file,))
    app = make_charge_point(csms.url, keys=security_profile_keys(
        2, UseSslDefaultVerifyPaths=False, **({"HostName": "cp.csms.test"} if case == "wildcard" else {})))
    good = pki.server("good", hosts=("localhost", "127.0.0.1", "cp.csms.test"))
    event = refused_then_reported(csms, clock, app, lambda: context.load_cert_chain(good.chain, good.key),
                                  "InvalidCentralSystemCertificate")
    assert "certificate verify failed" in event["techInfo"]
    assert "certificate verify failed" in caplog.text


def test_wildcards_and_other_names_when_the_config_allows_them(pki, certs, tls_csms, make_charge_point):
    """VerifyCsmsAllowWildcards takes *.csms.test for the HostName cp.csms.test (sent as SNI);
    VerifyCsmsCommonName false checks the chain only."""
    wildcard = tls_csms(server_context(pki.server("wildcard", hosts=("*.csms.test",))))
    install(certs, roots=(pki.file,))
    app = make_charge_point(wildcard.url, keys=security_profile_keys(
        2, HostName="cp.csms.test", VerifyCsmsAllowWildcards=True))
    boots(wildcard, app)
    app.stop()
    elsewhere = tls_csms(server_context(pki.server("elsewhere", hosts=("elsewhere.example",))))
    app = make_charge_point(elsewhere.url, keys=security_profile_keys(2, VerifyCsmsCommonName=False))
    boots(elsewhere, app)


def test_a_tls_version_below_1_2_is_refused_and_reported(pki, certs, tls_front, clock, make_charge_point):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1: exactly what we refuse
        context = server_context(pki.server(), minimum=ssl.TLSVersion.TLSv1, maximum=ssl.TLSVersion.TLSv1_1,
                                 ciphers="ALL:@SECLEVEL=0")
    front, csms = tls_front(context)
    install(certs, roots=(pki.file,))
    app = make_charge_point(front.url, keys=security_profile_keys(2))
    refused_then_reported(csms, clock, app, lambda: setattr(context, "maximum_version",
                                                            ssl.TLSVersion.MAXIMUM_SUPPORTED),
                          "InvalidTLSVersion")
    assert "protocol version" in front.handshakes[0].error.lower() or "unsupported" in front.handshakes[0].error


def test_tls_1_3_off_when_supported_ciphers_13_is_empty(pki, certs, tls_front, clock, make_charge_point):
    context = server_context(pki.server(), minimum=ssl.TLSVersion.TLSv1_3)
    front, csms = tls_front(context)
    install(certs, roots=(pki.file,))
    app = make_charge_point(front.url, keys=security_profile_keys(2, SupportedCiphers13=[]))
    refused_then_reported(csms, clock, app, lambda: setattr(context, "minimum_version", ssl.TLSVersion.TLSv1_2),
                          "InvalidTLSVersion")
    assert front.handshakes[-1].version == "TLSv1.2"


def test_no_common_tls_1_2_cipher_is_refused_and_reported(pki, certs, tls_front, clock, make_charge_point):
    context = server_context(pki.server(), maximum=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-CHACHA20-POLY1305")
    front, csms = tls_front(context)
    install(certs, roots=(pki.file,))
    app = make_charge_point(front.url, keys=security_profile_keys(2))
    refused_then_reported(csms, clock, app, lambda: context.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256"),
                          "InvalidTLSCipherSuite")
    assert (front.handshakes[-1].version, front.handshakes[-1].cipher) == ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")


def test_supported_ciphers_12_is_what_tls_1_2_offers(pki, certs, tls_csms, make_charge_point):
    csms = tls_csms(server_context(pki.server(), maximum=ssl.TLSVersion.TLSv1_2))
    install(certs, roots=(pki.file,))
    app = make_charge_point(csms.url, keys=security_profile_keys(
        2, SupportedCiphers12=["ECDHE-ECDSA-AES256-GCM-SHA384"]))
    boots(csms, app)
    assert csms.connections[0].tls == ("TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384")


def test_a_tls_1_3_suite_outside_supported_ciphers_13_is_refused(pki, certs, tls_csms, clock, make_charge_point):
    """The CSMS picks TLS_AES_256_GCM_SHA384; we allow only the 128-bit suite: refused right
    after the handshake, before the HTTP upgrade."""
    context = server_context(pki.server(), minimum=ssl.TLSVersion.TLSv1_3)
    csms = tls_csms(context)
    install(certs, roots=(pki.file,))
    app = make_charge_point(csms.url, keys=security_profile_keys(2, SupportedCiphers13=["TLS_AES_128_GCM_SHA256"]))
    def tls_1_2_only() -> None:
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2

    event = refused_then_reported(csms, clock, app, tls_1_2_only, "InvalidTLSCipherSuite")
    assert "TLS_AES_256_GCM_SHA384" in event["techInfo"]
    assert csms.connections[0].tls[0] == "TLSv1.2"


def test_a_client_certificate_the_csms_does_not_accept_is_a_failed_authentication(
        pki, rogue, certs, tls_front, clock, make_charge_point):
    context = server_context(pki.server(), client_ca=rogue.file, require_client=True)
    front, csms = tls_front(context, password=None)
    install(certs, roots=(pki.file,), client=pki.client(CP_ID))
    app = make_charge_point(front.url, keys=security_profile_keys(3))
    refused_then_reported(csms, clock, app, lambda: context.load_verify_locations(cafile=str(pki.file)),
                          "FailedToAuthenticateAtCentralSystem")
    assert front.handshakes[-1].client_cn == CP_ID and csms.connections[0].password is None


def test_a_401_is_reported_once_per_outage(clock, make_charge_point):
    """FailedToAuthenticateAtCentralSystem for refused credentials (security profile 1, ws://)."""
    with LocalCsms(password="another-password") as csms:
        app = make_charge_point(csms.url, keys=security_profile_keys(1))
        clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
        retry(clock, 2)
        wait_until(lambda: len(csms.rejected) == 3)
        csms.password = PASSWORD
        retry(clock)
        event = csms.wait_for("SecurityEventNotification", timeout=10)
        settle(app)
        assert event.payload["type"] == "FailedToAuthenticateAtCentralSystem"
        assert csms.count("SecurityEventNotification") == 1


def test_settings_that_cannot_connect_never_reach_the_csms(pki, certs, tls_csms, clock, make_charge_point, caplog):
    """A ws:// URI on profile 2 (a file can say it; ChangeConfiguration cannot), and profile 3
    without a client certificate: no attempt leaves, and the log says why."""
    csms = tls_csms(server_context(pki.server()))
    install(certs, roots=(pki.file,))
    make_charge_point(csms.url.replace("wss://", "ws://"), keys=security_profile_keys(2))
    clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
    assert "is ws:// but SecurityProfile 2 connects with wss://" in caplog.text
    retry(clock)
    clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
    assert csms.connections == [] and csms.rejected == []


def test_a_wss_uri_on_profile_1_gets_the_same_server_check(pki, rogue, certs, tls_csms, clock, make_charge_point):
    """wss:// on profile 1 (as the demo's --csms wss://... did before profiles 2 and 3): TLS with
    the server certificate checked like profile 2, and Basic auth."""
    install(certs, roots=(pki.file,))
    rogue_csms = tls_csms(server_context(rogue.server()))
    first = make_charge_point(rogue_csms.url, keys=security_profile_keys(1, UseSslDefaultVerifyPaths=False))
    clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
    assert rogue_csms.connections == [] and rogue_csms.rejected == []
    first.stop()
    csms = tls_csms(server_context(pki.server()))
    app = make_charge_point(csms.url, keys=security_profile_keys(1, UseSslDefaultVerifyPaths=False))
    boots(csms, app)
    assert csms.connections[0].password == PASSWORD and csms.connections[0].tls is not None


def test_profile_3_without_a_client_certificate_does_not_try(pki, certs, tls_csms, clock, make_charge_point, caplog):
    csms = tls_csms(server_context(pki.server(), client_ca=pki.file))
    install(certs, roots=(pki.file,))
    make_charge_point(csms.url, keys=security_profile_keys(3))
    clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
    assert "TLS settings: no usable client certificate" in caplog.text
    assert csms.connections == [] and csms.rejected == []
