"""Firmware over HTTPS, and SignedUpdateFirmware (security whitepaper; OCTT TC_080, TC_081):
the signing certificate checked against the manufacturer root before anything is fetched, the
image's signature checked after the download and before the installation."""

from __future__ import annotations

import base64
import ssl

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from actors.certificates import CSMS_ROOT_BUNDLE, MF_ROOT_BUNDLE
from conftest import CP_ID, settle, wait_until
from peers.file_servers import HttpFileServer
from scenarios.steps import booted
from security.pki import make_authority

pytestmark = pytest.mark.timeout(60)

FIRMWARE = {"Core": {"SupportedFeatureProfiles": "Core,FirmwareManagement"}}
IMAGE = b"signed firmware " * 500


def statuses(csms, action):
    return [r.payload["status"] for r in csms.received if r.action == action]


def wait_statuses(csms, action, *expected, timeout=10.0):
    wait_until(lambda: statuses(csms, action) == list(expected), timeout,
               f"{action} {list(expected)} (saw {statuses(csms, action)})")


def tls_server(authority, files):
    issued = authority.server("files", hosts=("127.0.0.1",))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.chain, issued.key)
    return HttpFileServer(files, tls=context).start()


def install(root_pem, store, relative):
    path = store / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(root_pem)


def test_download_over_https_verified_against_the_csms_root(csms, clock, make_charge_point, tmp_path):
    pki = make_authority(tmp_path / "pki", "files-root")
    install(pki.pem, tmp_path / "certs", CSMS_ROOT_BUNDLE)
    server = tls_server(pki, {"/fw/image.bin": IMAGE})
    stranger = tls_server(make_authority(tmp_path / "other", "other-root"), {"/fw/image.bin": IMAGE})
    try:
        app = make_charge_point(csms.url, keys=FIRMWARE)
        booted(csms, clock, app)
        assert server.url.startswith("https://")
        csms.call(CP_ID, "UpdateFirmware", {"location": f"{stranger.url}/fw/image.bin", "retries": 0,
                                            "retrieveDate": clock.now().isoformat()})
        wait_statuses(csms, "FirmwareStatusNotification", "Downloading", "DownloadFailed")
        assert stranger.requests == []  # the handshake failed: no request was made
        csms.call(CP_ID, "UpdateFirmware", {"location": f"{server.url}/fw/image.bin",
                                            "retrieveDate": clock.now().isoformat()})
        wait_statuses(csms, "FirmwareStatusNotification", "Downloading", "DownloadFailed",
                      "Downloading", "Downloaded", "Installing", "Installed")
        wait_until(app.reset_done.is_set, what="the reboot")
    finally:
        server.stop()
        stranger.stop()


@pytest.fixture
def signer(tmp_path):
    """The manufacturer root (installed in the store) and a signing certificate it issued."""
    root = make_authority(tmp_path / "mf", "mf-root")
    install(root.pem, tmp_path / "certs", MF_ROOT_BUNDLE)
    issued = root.issue("firmware-signer")
    key = serialization.load_pem_private_key(issued.key.read_bytes(), password=None)

    def sign(data):
        return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()

    return issued.cert.read_text(), sign


def signed_update(csms, clock, location, certificate, signature, request_id=5):
    return csms.call(CP_ID, "SignedUpdateFirmware", {
        "requestId": request_id, "retries": 0,
        "firmware": {"location": location, "retrieveDateTime": clock.now().isoformat(),
                     "signingCertificate": certificate, "signature": signature}})


def test_signed_update_firmware_verifies_then_installs(csms, clock, make_charge_point, signer):
    """TC_080: Downloading, Downloaded, SignatureVerified, Installing, Installed, each with the
    requestId; then the reboot."""
    certificate, sign = signer
    server = HttpFileServer({"/fw/signed.bin": IMAGE}).start()
    try:
        app = make_charge_point(csms.url)
        booted(csms, clock, app)
        answer = signed_update(csms, clock, f"{server.url}/fw/signed.bin", certificate, sign(IMAGE))
        assert answer == {"status": "Accepted"}
        wait_statuses(csms, "SignedFirmwareStatusNotification",
                      "Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed")
        assert {r.payload["requestId"] for r in csms.received if r.action == "SignedFirmwareStatusNotification"} \
            == {5}
        assert csms.count("FirmwareStatusNotification") == 0
        wait_until(app.reset_done.is_set, what="the reboot")
    finally:
        server.stop()


def test_invalid_signature_is_not_installed(csms, clock, make_charge_point, signer):
    """TC_081: InvalidSignature, a security event, no installation, no reboot."""
    certificate, sign = signer
    server = HttpFileServer({"/fw/signed.bin": IMAGE}).start()
    try:
        app = make_charge_point(csms.url)
        booted(csms, clock, app)
        signed_update(csms, clock, f"{server.url}/fw/signed.bin", certificate, sign(b"another image"))
        wait_statuses(csms, "SignedFirmwareStatusNotification", "Downloading", "Downloaded", "InvalidSignature")
        csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "InvalidFirmwareSignature")
        settle(app)
        assert not app.reset_done.is_set()
        assert statuses(csms, "SignedFirmwareStatusNotification")[-1] == "InvalidSignature"
    finally:
        server.stop()


def test_signing_certificate_not_from_the_manufacturer_root_is_refused(csms, clock, make_charge_point, signer,
                                                                       tmp_path):
    _certificate, sign = signer
    stranger = make_authority(tmp_path / "other", "other-root").issue("firmware-signer")
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    answer = signed_update(csms, clock, "http://127.0.0.1:9/fw.bin", stranger.cert.read_text(), sign(IMAGE))
    assert answer == {"status": "InvalidCertificate"}
    csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "InvalidFirmwareSigningCertificate")
    settle(app)
    assert csms.count("SignedFirmwareStatusNotification") == 0
