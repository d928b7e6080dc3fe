"""The certificate operations against the strict ocpp-rpc CSMS (Node's OpenSSL for TLS, and
its own schemas for every frame): the client certificate renewed on profile 3 while a
transaction runs (the CSMS sees the new serial in the next handshake), a refused chain with
its security event, and CA certificates installed, listed and deleted."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest
from cryptography import x509

from actors import x509_logic as xl
from actors.certificates import CLIENT_CHAIN
from conftest import CP_ID, settle, wait_until
from messages.csms import HeartbeatDue
from peers.strict import StrictCsms
from security.conftest import PASSWORD, install, security_profile_keys, wait_connected
from supervisor.sim_control import SimController

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.timeout(90)

CPO = "Test CPO"


@pytest.fixture
def strict_mtls(pki) -> Iterator[StrictCsms]:
    """A strict CSMS that requires a client certificate from ``pki``."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed: run deploy/setup.sh --test")
    server = pki.server()
    csms = StrictCsms(PASSWORD, tls_cert=server.chain, tls_key=server.key, tls_client_ca=pki.file,
                      require_client_cert=True).start()
    yield csms
    try:
        csms.assert_no_strict_failures()
    finally:
        csms.stop()


@pytest.fixture
def on_profile_3(strict_mtls, pki, certs, clock, make_charge_point):
    """A charge point on profile 3, registered at the strict CSMS."""
    install(certs, roots=(pki.file,), client=pki.client(CP_ID))
    keys = security_profile_keys(3)
    keys["Security"]["CpoName"] = CPO
    keys["Core"] = {"MeterValueSampleInterval": 10}
    app = make_charge_point(strict_mtls.url, keys=keys)
    strict_mtls.wait_for("StatusNotification", lambda p: p["connectorId"] == 1, timeout=10)
    clock.wait_for_timer(lambda m: isinstance(m, HeartbeatDue), timeout=10)
    settle(app)
    return app


def serial_of(certs):
    return xl.load_pem((certs / CLIENT_CHAIN).read_bytes())[0].serial_number


def test_renewal_while_charging_reconnects_with_the_new_serial(strict_mtls, on_profile_3, pki, certs, clock):
    csms, app = strict_mtls, on_profile_3
    first = csms.wait_event("connected")
    assert int(first["clientSerial"], 16) == serial_of(certs) and first["clientCn"] == CP_ID
    sim = SimController(app.directory)
    sim.plug_in(1)
    sim.swipe(1, "TAG1")
    start = len(csms.events)
    csms.wait_for("StartTransaction", timeout=10)
    csms.wait_for("StatusNotification", lambda p: p["status"] == "Charging", timeout=10)
    settle(app)

    before = len(csms.events)
    assert csms.call(CP_ID, "ExtendedTriggerMessage",
                     {"requestedMessage": "SignChargePointCertificate"}) == {"status": "Accepted"}
    csr = csms.wait_for("SignCertificate", after=before, timeout=10)["csr"]
    assert x509.load_pem_x509_csr(csr.encode()).subject.rfc4514_string() == f"CN={CP_ID},O={CPO}"
    chain = pki.sign_csr(csr, days=365)
    new_serial = xl.load_pem(chain)[0].serial_number
    assert csms.call(CP_ID, "CertificateSigned", {"certificateChain": chain}) == {"status": "Accepted"}
    again = csms.wait_event("connected", after=before, timeout=10)
    assert (int(again["clientSerial"], 16), again["clientCn"], again["password"]) == (new_serial, CP_ID, None)
    assert serial_of(certs) == new_serial
    wait_connected(app)
    settle(app)

    seen = len(csms.events)
    clock.advance(10)
    meter = csms.wait_for("MeterValues", after=seen, timeout=10)
    sim.swipe(1, "TAG1")
    stop = csms.wait_for("StopTransaction", after=start, timeout=10)
    assert stop["transactionId"] == meter["transactionId"]
    assert len(csms.calls_in("StartTransaction")) == 1
    assert csms.calls_in("SecurityEventNotification") == []


def test_a_chain_from_another_ca_is_rejected_and_reported(strict_mtls, on_profile_3, rogue, certs):
    csms, app = strict_mtls, on_profile_3
    old = serial_of(certs)
    assert csms.call(CP_ID, "ExtendedTriggerMessage",
                     {"requestedMessage": "SignChargePointCertificate"})["status"] == "Accepted"
    csr = csms.wait_for("SignCertificate", timeout=10)["csr"]
    answer = csms.call(CP_ID, "CertificateSigned", {"certificateChain": rogue.sign_csr(csr)})
    assert answer == {"status": "Rejected"}
    event = csms.wait_for("SecurityEventNotification", timeout=10)
    assert event["type"] == "InvalidChargePointCertificate"
    settle(app)
    assert serial_of(certs) == old and len([e for e in csms.events if e["ev"] == "connected"]) == 1


def test_root_certificates_installed_listed_and_deleted(strict_mtls, on_profile_3, rogue):
    csms, app = strict_mtls, on_profile_3
    answer = csms.call(CP_ID, "InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                                     "certificate": rogue.pem.decode()})
    assert answer == {"status": "Accepted"}
    listed = csms.call(CP_ID, "GetInstalledCertificateIds", {"certificateType": "ManufacturerRootCertificate"})
    assert listed["status"] == "Accepted" and len(listed["certificateHashData"]) == 1
    hash_data = listed["certificateHashData"][0]
    assert hash_data["serialNumber"] == xl.serial_hex(rogue.certificate)
    assert csms.call(CP_ID, "DeleteCertificate", {"certificateHashData": hash_data}) == {"status": "Accepted"}
    assert csms.call(CP_ID, "DeleteCertificate", {"certificateHashData": hash_data}) == {"status": "NotFound"}
    assert csms.call(CP_ID, "GetInstalledCertificateIds",
                     {"certificateType": "ManufacturerRootCertificate"}) == {"status": "NotFound"}
    csms_roots = csms.call(CP_ID, "GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"})
    assert csms.call(CP_ID, "DeleteCertificate",
                     {"certificateHashData": csms_roots["certificateHashData"][0]}) == {"status": "Failed"}
    assert csms.call(CP_ID, "InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                                   "certificate": "garbage"}) == {"status": "Rejected"}
    event = csms.wait_for("SecurityEventNotification", timeout=10)
    assert event["type"] == "InvalidCentralSystemCertificate"
    wait_until(lambda: len(csms.calls_in("SecurityEventNotification")) == 1)
    settle(app)
