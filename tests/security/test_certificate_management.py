"""The certificate operations of the security extension against the scriptable CSMS, which
signs the charge point's CSRs with a test CA: renewal of the client certificate on profile 3
while a transaction runs, refused chains, CA certificates installed, listed and deleted, and
ExtendedTriggerMessage.

OCTT: TC_074 (update the CP certificate by request of the CSMS), TC_075_1 / TC_075_2 (install
a manufacturer / CSMS root), TC_076 (delete a certificate), TC_077 (invalid CP certificate
security event), TC_078 (invalid CSMS certificate security event).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography import x509

from actors import x509_logic as xl
from actors.certificates import CLIENT_CHAIN
from actors.clock import ManualClock
from conftest import CP_ID, settle, wait_until
from messages.csms import HeartbeatDue
from scenarios.steps import start_charging
from security.conftest import install, security_profile_keys, server_context, wait_connected
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(90)

CPO = "Test CPO"


def registered(csms, clock, app):
    clock.wait_for_timer(lambda m: isinstance(m, HeartbeatDue), timeout=10)
    wait_until(lambda: csms.count("StatusNotification") >= 2)
    settle(app)


def events(csms):
    return [r.payload for r in csms.received if r.action == "SecurityEventNotification"]


def trigger(csms, message, **fields):
    return csms.call(CP_ID, "ExtendedTriggerMessage", {"requestedMessage": message, **fields})["status"]


def installed_serial(certs):
    return xl.load_pem((certs / CLIENT_CHAIN).read_bytes())[0].serial_number


def keys_for(profile, **security):
    keys = security_profile_keys(profile)
    keys["Security"].update(security)
    return keys


@pytest.fixture
def plain(csms, certs, pki, clock, make_charge_point):
    """A charge point on profile 0 (plain ws://) whose store trusts ``pki`` as its CSMS root."""
    def make(**security):
        install(certs, roots=(pki.file,))
        app = make_charge_point(csms.url, keys=keys_for(0, CpoName=CPO, **security))
        registered(csms, clock, app)
        return app
    return make


# --------------------------------------------------------------------------- renewal


def test_renewal_on_profile_3_reconnects_with_the_new_certificate_and_keeps_charging(
        pki, certs, tls_csms, clock, make_charge_point):
    """Done-when of issue 10 (certificates): TC_074 while a transaction runs."""
    csms = tls_csms(server_context(pki.server(), client_ca=pki.file, require_client=True))
    install(certs, roots=(pki.file,), client=pki.client(CP_ID))
    old_serial = installed_serial(certs)
    keys = keys_for(3, CpoName=CPO)
    keys["Core"] = {"MeterValueSampleInterval": 10}
    app = make_charge_point(csms.url, keys=keys)
    registered(csms, clock, app)
    assert int(csms.connections[0].client_serial, 16) == old_serial
    sim = SimController(app.directory)
    start_charging(csms, sim)
    transaction_id = next(json.loads(f.text)[2]["transactionId"] for f in csms.frames
                          if f.direction == "out" and '"transactionId"' in f.text)

    csms.sign_certificates(lambda _cp, csr: pki.sign_csr(csr, days=365))
    assert trigger(csms, "SignChargePointCertificate") == "Accepted"
    request = x509.load_pem_x509_csr(csms.wait_for("SignCertificate", timeout=10).payload["csr"].encode())
    assert request.is_signature_valid and request.subject.rfc4514_string() == f"CN={CP_ID},O={CPO}"
    assert csms.wait_certificate_signed(timeout=10) == {"status": "Accepted"}
    second = csms.wait_connected(CP_ID, count=2, timeout=10)
    new_serial = installed_serial(certs)
    assert new_serial != old_serial and int(second.client_serial, 16) == new_serial
    assert (second.client_cn, second.password) == (CP_ID, None)
    wait_connected(app)
    settle(app)

    seen = len(csms.received)
    clock.advance(10)
    csms.wait_for("MeterValues", lambda p: p.get("transactionId") == transaction_id, after=seen, timeout=10)
    sim.swipe(1, "TAG1")
    stop = csms.wait_for("StopTransaction", timeout=10)
    assert stop.payload["transactionId"] == transaction_id
    assert csms.count("StartTransaction") == 1 and len(csms.connections) == 2
    assert events(csms) == []


def test_the_client_certificate_is_renewed_by_itself_30_days_before_it_ends(
        pki, certs, tls_csms, make_charge_point):
    """As libocpp: 60 s after the boot, on profile 3, a certificate ending within 30 days."""
    now = dt.datetime.now(dt.timezone.utc)
    clock = ManualClock(start=now)
    csms = tls_csms(server_context(pki.server(), client_ca=pki.file, require_client=True))
    install(certs, roots=(pki.file,), client=pki.client(CP_ID, not_after=now + dt.timedelta(days=10)))
    app = make_charge_point(csms.url, keys=keys_for(3, CpoName=CPO), clock_=clock)
    registered(csms, clock, app)
    csms.sign_certificates(lambda _cp, csr: pki.sign_csr(csr, days=365))
    clock.advance(59)
    settle(app)
    assert csms.count("SignCertificate") == 0
    clock.advance(1)
    csms.wait_for("SignCertificate", timeout=10)
    assert csms.wait_certificate_signed(timeout=10) == {"status": "Accepted"}
    assert int(csms.wait_connected(CP_ID, count=2, timeout=10).client_serial, 16) == installed_serial(certs)
    wait_connected(app)
    settle(app)
    clock.advance(12 * 3600)  # the next check: a year left, nothing to do
    settle(app)
    assert csms.count("SignCertificate") == 1


def test_a_certificate_renewed_on_profile_2_is_installed_without_a_reconnect(
        pki, certs, tls_csms, clock, make_charge_point):
    csms = tls_csms(server_context(pki.server()))
    install(certs, roots=(pki.file,))
    app = make_charge_point(csms.url, keys=keys_for(2, CpoName=CPO))
    registered(csms, clock, app)
    csms.sign_certificates(lambda _cp, csr: pki.sign_csr(csr))
    assert trigger(csms, "SignChargePointCertificate") == "Accepted"
    assert csms.wait_certificate_signed(timeout=10) == {"status": "Accepted"}
    settle(app)
    assert len(csms.connections) == 1 and (certs / CLIENT_CHAIN).exists()


@pytest.mark.parametrize("case", ["another CA", "another key", "over CertificateSignedMaxChainSize"])
def test_an_invalid_chain_is_rejected_and_reported(case, plain, csms, pki, rogue, certs):
    """TC_077: Rejected, and the security event InvalidChargePointCertificate."""
    app = plain(**({"CertificateSignedMaxChainSize": 600} if case.startswith("over") else {}))
    other = rogue.client(CP_ID).chain.read_text()
    csms.sign_certificates({"another CA": lambda _cp, csr: rogue.sign_csr(csr),
                            "another key": lambda _cp, _csr: other,
                            "over CertificateSignedMaxChainSize": lambda _cp, csr: pki.sign_csr(csr)}[case])
    assert trigger(csms, "SignChargePointCertificate") == "Accepted"
    assert csms.wait_certificate_signed(timeout=10) == {"status": "Rejected"}
    event = csms.wait_for("SecurityEventNotification", timeout=10).payload
    assert event["type"] == "InvalidChargePointCertificate"
    assert {"another CA": "InvalidCertificateChain", "another key": "NoMatchingKey",
            "over CertificateSignedMaxChainSize": "CertificateSignedMaxChainSize"}[case] in event["techInfo"]
    settle(app)
    assert not (certs / CLIENT_CHAIN).exists()


def test_sign_charge_point_certificate_needs_a_cpo_name(csms, certs, pki, clock, make_charge_point):
    install(certs, roots=(pki.file,))
    app = make_charge_point(csms.url)
    registered(csms, clock, app)
    assert trigger(csms, "SignChargePointCertificate") == "Rejected"
    settle(app)
    assert csms.count("SignCertificate") == 0


def test_extended_trigger_message_sends_the_core_messages(plain, csms):
    app = plain()
    seen = len(csms.received)
    assert trigger(csms, "Heartbeat") == "Accepted"
    csms.wait_for("Heartbeat", after=seen)
    assert trigger(csms, "StatusNotification", connectorId=1) == "Accepted"
    csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1, after=seen)
    assert trigger(csms, "BootNotification") == "Accepted"
    csms.wait_for("BootNotification", after=seen)
    assert trigger(csms, "MeterValues", connectorId=0) == "Rejected"
    assert trigger(csms, "StatusNotification", connectorId=7) == "Rejected"
    assert trigger(csms, "LogStatusNotification") == "Accepted"
    csms.wait_for("LogStatusNotification", lambda p: p["status"] == "Idle", after=seen)
    assert trigger(csms, "FirmwareStatusNotification") == "Accepted"
    csms.wait_for("SignedFirmwareStatusNotification", lambda p: p["status"] == "Idle", after=seen)
    settle(app)


# --------------------------------------------------------------------------- CA certificates


def ids(csms, kind):
    return csms.call(CP_ID, "GetInstalledCertificateIds", {"certificateType": kind})


def hash_payload(certificate, issuer):
    data = xl.hash_data(certificate, issuer)
    return {"hashAlgorithm": data.hash_algorithm, "issuerNameHash": data.issuer_name_hash,
            "issuerKeyHash": data.issuer_key_hash, "serialNumber": data.serial_number}


def test_install_list_and_delete_root_certificates(csms, certs, pki, rogue, clock, make_charge_point):
    """TC_075_1, TC_075_2, TC_076: what InstallCertificate put in is listed and can be deleted."""
    app = make_charge_point(csms.url)
    registered(csms, clock, app)
    assert ids(csms, "CentralSystemRootCertificate") == {"status": "NotFound"}
    for kind, authority in (("CentralSystemRootCertificate", pki), ("ManufacturerRootCertificate", rogue)):
        answer = csms.call(CP_ID, "InstallCertificate", {"certificateType": kind, "certificate": authority.pem.decode()})
        assert answer == {"status": "Accepted"}
    assert ids(csms, "CentralSystemRootCertificate") == {
        "status": "Accepted", "certificateHashData": [hash_payload(pki.certificate, pki.certificate)]}
    assert ids(csms, "ManufacturerRootCertificate")["certificateHashData"] == [
        hash_payload(rogue.certificate, rogue.certificate)]
    delete = {"certificateHashData": hash_payload(pki.certificate, pki.certificate)}
    assert csms.call(CP_ID, "DeleteCertificate", delete) == {"status": "Accepted"}
    assert csms.call(CP_ID, "DeleteCertificate", delete) == {"status": "NotFound"}
    assert ids(csms, "CentralSystemRootCertificate") == {"status": "NotFound"}
    assert len(ids(csms, "ManufacturerRootCertificate")["certificateHashData"]) == 1
    settle(app)
    assert events(csms) == []


def test_garbage_is_rejected_and_a_bad_csms_root_reported(csms, clock, make_charge_point, pki):
    """TC_078: a CSMS root that is not one is InvalidCentralSystemCertificate; a bad manufacturer
    root is only logged (the whitepaper does not list it as critical)."""
    app = make_charge_point(csms.url)
    registered(csms, clock, app)
    for kind in ("ManufacturerRootCertificate", "CentralSystemRootCertificate"):
        answer = csms.call(CP_ID, "InstallCertificate", {"certificateType": kind, "certificate": "garbage"})
        assert answer == {"status": "Rejected"}
    event = csms.wait_for("SecurityEventNotification", timeout=10).payload
    assert event["type"] == "InvalidCentralSystemCertificate" and "InvalidFormat" in event["techInfo"]
    leaf = pki.client("not-a-ca").cert.read_text()
    answer = csms.call(CP_ID, "InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                                     "certificate": leaf})
    assert answer == {"status": "Rejected"}
    wait_until(lambda: len(events(csms)) == 2)
    settle(app)
    assert [e["type"] for e in events(csms)] == ["InvalidCentralSystemCertificate"] * 2
    assert ids(csms, "CentralSystemRootCertificate") == {"status": "NotFound"}


def test_certificate_store_max_length(csms, clock, make_charge_point, pki, rogue):
    app = make_charge_point(csms.url, keys={"Security": {"CertificateStoreMaxLength": 1}})
    registered(csms, clock, app)
    install_root = {"certificateType": "CentralSystemRootCertificate"}
    assert csms.call(CP_ID, "InstallCertificate", {**install_root, "certificate": pki.pem.decode()})["status"] == "Accepted"
    assert csms.call(CP_ID, "InstallCertificate", {**install_root, "certificate": rogue.pem.decode()})["status"] == "Rejected"
    settle(app)
    assert events(csms) == []  # the certificate was fine: no security event


def test_the_last_csms_root_is_not_deleted_while_the_link_uses_tls(pki, rogue, certs, tls_csms, clock,
                                                                  make_charge_point):
    """Our decision: the root the next connection needs stays (Failed); with a second root
    installed, either may go (the CSMS's root rollover)."""
    csms = tls_csms(server_context(pki.server()))
    install(certs, roots=(pki.file,))
    app = make_charge_point(csms.url, keys=security_profile_keys(2, UseSslDefaultVerifyPaths=False))
    registered(csms, clock, app)
    ours = {"certificateHashData": hash_payload(pki.certificate, pki.certificate)}
    assert csms.call(CP_ID, "DeleteCertificate", ours) == {"status": "Failed"}
    assert csms.call(CP_ID, "InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                                   "certificate": rogue.pem.decode()}) == {"status": "Accepted"}
    rogues = {"certificateHashData": hash_payload(rogue.certificate, rogue.certificate)}
    assert csms.call(CP_ID, "DeleteCertificate", rogues) == {"status": "Accepted"}
    assert len(ids(csms, "CentralSystemRootCertificate")["certificateHashData"]) == 1
    settle(app)
