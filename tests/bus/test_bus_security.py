"""The ``security`` requirement (EVerest's evse_security) on the MQTT bus (docs/mqtt-bus.md):
with ``Connections`` naming ``sim``/``security``, RemoteSecurity stands for the certificate
store, and ``ocpp-cp sim --certs-path`` (in-process here) answers with the same EvseSecurity
store the charge point embeds, on its own files. Without the connection the store stays
embedded (tests/security/ covers it)."""

from __future__ import annotations

import json

import pytest

from actors import x509_logic as xl
from actors.certificates import CLIENT_CHAIN, CSMS_ROOT_BUNDLE
from bus.fake_peer import HOST, booted_on_bus, mqtt_options
from conftest import CP_ID, settle, wait_until
from peers.mosquitto_fixture import mosquitto  # noqa: F401
from security.conftest import install, make_authority, security_profile_keys
from supervisor.local_csms import CsmsCallError
from supervisor.sim_process import SimProcess, SimSettings

pytestmark = pytest.mark.timeout(90)

CPO = "Test CPO"
ON_BUS = json.dumps({"security": [{"module_id": "sim", "implementation_id": "security"}]})


@pytest.fixture
def pki(tmp_path):
    return make_authority(tmp_path / "pki")


@pytest.fixture
def rogue(tmp_path):
    return make_authority(tmp_path / "pki-rogue", "rogue-root")


@pytest.fixture
def sim_certs(tmp_path):
    return tmp_path / "sim-certs"


@pytest.fixture
def sim(mosquitto, clock, tmp_path, sim_certs):  # noqa: F811
    process = SimProcess(SimSettings(host=HOST, port=mosquitto.port, system_path=str(tmp_path / "sim-system"),
                                     certs_path=str(sim_certs)), clock=clock).start()
    wait_until(lambda: process.bus_status().connected, what="the simulator on the bus")
    yield process
    process.stop()


def keys(**security):
    k = security_profile_keys(0)
    k["Security"].update(security)
    return k


def hash_payload(certificate, issuer):
    data = xl.hash_data(certificate, issuer)
    return {"hashAlgorithm": data.hash_algorithm, "issuerNameHash": data.issuer_name_hash,
            "issuerKeyHash": data.issuer_key_hash, "serialNumber": data.serial_number}


def ids(csms, kind):
    return csms.call(CP_ID, "GetInstalledCertificateIds", {"certificateType": kind})


def test_a_csr_and_the_signed_certificate_go_through_the_bus(csms, clock, make_charge_point, mosquitto,  # noqa: F811
                                                             sim, sim_certs, pki, tmp_path):
    from actors.remote_security import RemoteSecurity  # noqa: PLC0415

    install(sim_certs, roots=(pki.file,))
    app = make_charge_point(csms.url, keys=keys(CpoName=CPO), options=mqtt_options(mosquitto, Connections=ON_BUS))
    assert app.directory.get("requirement/security").actor_class is RemoteSecurity
    booted_on_bus(csms, clock, app)
    csms.sign_certificates(lambda _cp, csr: pki.sign_csr(csr))
    answer = csms.call(CP_ID, "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
    assert answer["status"] == "Accepted"
    assert csms.wait_certificate_signed(timeout=15) == {"status": "Accepted"}
    csr = csms.wait_for("SignCertificate", timeout=5).payload["csr"]
    assert "BEGIN CERTIFICATE REQUEST" in csr
    settle(app)
    leaf = xl.load_pem((sim_certs / CLIENT_CHAIN).read_bytes())[0]  # installed in the sim's store
    assert CP_ID in leaf.subject.rfc4514_string()
    assert not (tmp_path / "certs" / CLIENT_CHAIN).exists()  # nothing embedded


def test_install_list_and_delete_through_the_bus(csms, clock, make_charge_point, mosquitto, sim,  # noqa: F811
                                                 sim_certs, pki, rogue, tmp_path):
    app = make_charge_point(csms.url, options=mqtt_options(mosquitto, Connections=ON_BUS))
    booted_on_bus(csms, clock, app)
    assert ids(csms, "CentralSystemRootCertificate") == {"status": "NotFound"}
    for kind, authority in (("CentralSystemRootCertificate", pki), ("ManufacturerRootCertificate", rogue)):
        answer = csms.call(CP_ID, "InstallCertificate", {"certificateType": kind, "certificate": authority.pem.decode()})
        assert answer == {"status": "Accepted"}
    assert (sim_certs / CSMS_ROOT_BUNDLE).exists()
    assert not (tmp_path / "certs" / CSMS_ROOT_BUNDLE).exists()
    assert ids(csms, "CentralSystemRootCertificate") == {
        "status": "Accepted", "certificateHashData": [hash_payload(pki.certificate, pki.certificate)]}
    assert ids(csms, "ManufacturerRootCertificate")["certificateHashData"] == [
        hash_payload(rogue.certificate, rogue.certificate)]
    garbage = csms.call(CP_ID, "InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                                      "certificate": "garbage"})
    assert garbage == {"status": "Rejected"}
    delete = {"certificateHashData": hash_payload(pki.certificate, pki.certificate)}
    assert csms.call(CP_ID, "DeleteCertificate", delete) == {"status": "Accepted"}
    assert csms.call(CP_ID, "DeleteCertificate", delete) == {"status": "NotFound"}
    assert ids(csms, "CentralSystemRootCertificate") == {"status": "NotFound"}
    settle(app)


def test_a_sim_without_certs_path_fails_the_calls(csms, clock, make_charge_point,  # noqa: F811
                                                                    mosquitto, tmp_path, pki):
    process = SimProcess(SimSettings(host=HOST, port=mosquitto.port, system_path=str(tmp_path / "sim-system")),
                         clock=clock).start()
    try:
        wait_until(lambda: process.bus_status().connected, what="the simulator on the bus")
        app = make_charge_point(csms.url, options=mqtt_options(mosquitto, Connections=ON_BUS))
        booted_on_bus(csms, clock, app)
        with pytest.raises(CsmsCallError, match="InternalError"):  # as when the embedded store fails
            ids(csms, "CentralSystemRootCertificate")
        answer = csms.call(CP_ID, "InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                                         "certificate": pki.pem.decode()})
        assert answer == {"status": "Failed"}
    finally:
        process.stop()


def test_without_a_security_connection_the_store_stays_embedded(csms, make_charge_point, mosquitto):  # noqa: F811
    from actors.evse_security import EvseSecurity  # noqa: PLC0415

    app = make_charge_point(csms.url, options=mqtt_options(mosquitto))
    assert app.directory.get("requirement/security").actor_class is EvseSecurity
