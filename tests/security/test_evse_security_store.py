"""The file-based certificate store of the embedded evse_security module, called directly:
CSRs, the checks on a signed chain, the journal of the client-certificate install, CA bundles,
hash data (against cryptography's own OCSP CertID) and deletion."""

from __future__ import annotations

import datetime as dt
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from actors import x509_logic as xl
from actors.certificates import CLIENT_CHAIN, CLIENT_KEY, CSMS_ROOT_BUNDLE, MF_ROOT_BUNDLE, PENDING_CSR, PENDING_KEY, \
    CertificateStore
from actors.evse_security_store import SecurityStore
from messages.security import CaCertificateType, CertificateHashData, DeleteResult, InstallResult
from security.conftest import install

CSMS, MF = CaCertificateType.CSMS, CaCertificateType.MF


@pytest.fixture
def store(tmp_path, pki):
    """A store that trusts ``pki`` as its CSMS root."""
    install(tmp_path / "certs", roots=(pki.file,))
    return SecurityStore(tmp_path / "certs")


def csr(store, cn="CP001", org="Test CPO"):
    return store.generate_csr(common_name=cn, organization=org)


def refused(call, result):
    with pytest.raises(xl.ChainProblem) as caught:
        call()
    assert caught.value.result is result, caught.value.detail
    return caught.value.detail


def serial_of(path):
    return xl.serial_hex(xl.load_pem(path.read_bytes())[0])


# --------------------------------------------------------------------------- renewal


def test_a_csr_has_the_subject_asked_for_and_its_key_stays_pending_and_private(store):
    request = x509.load_pem_x509_csr(csr(store).encode())
    assert request.is_signature_valid
    assert request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP001"
    assert request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Test CPO"
    key_file = store.directory / PENDING_KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key.public_key().public_bytes(*spki) == request.public_key().public_bytes(*spki)
    assert not (store.directory / CLIENT_KEY).exists()  # nothing installed yet


def test_a_signed_chain_is_installed_and_the_client_certificate_works(store, pki):
    chain = pki.sign_csr(csr(store))
    serial = store.update_leaf(chain)
    found = CertificateStore(store.directory).client_certificate()
    assert found.subject == "CP001" and serial_of(store.directory / CLIENT_CHAIN) == serial
    assert stat.S_IMODE((store.directory / CLIENT_KEY).stat().st_mode) == 0o600
    assert not (store.directory / PENDING_KEY).exists() and not (store.directory / PENDING_CSR).exists()
    assert store.leaf_info().serial_number == serial and store.leaf_info().common_name == "CP001"


def test_a_chain_through_an_intermediate_ca_is_installed_leaf_first(store, pki):
    sub = pki.intermediate("csms-sub-ca")
    store.update_leaf(sub.sign_csr(csr(store)))
    installed = xl.load_pem((store.directory / CLIENT_CHAIN).read_bytes())
    assert [c.subject for c in installed[1:]] == [sub.certificate.subject]
    assert CertificateStore(store.directory).client_certificate().subject == "CP001"


def test_only_the_latest_request_can_be_completed(store, pki):
    first = csr(store)
    csr(store)  # a second request replaces the pending key
    refused(lambda: store.update_leaf(pki.sign_csr(first)), InstallResult.NO_MATCHING_KEY)


def test_a_new_chain_for_the_installed_key_is_accepted(store, pki):
    store.update_leaf(pki.sign_csr(csr(store)))
    key_before = (store.directory / CLIENT_KEY).read_bytes()
    request = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CP001")])).sign(
        serialization.load_pem_private_key(key_before, password=None), hashes.SHA256())
    serial = store.update_leaf(pki.sign_csr(request.public_bytes(serialization.Encoding.PEM).decode(), days=90))
    assert serial_of(store.directory / CLIENT_CHAIN) == serial
    assert (store.directory / CLIENT_KEY).read_bytes() == key_before


@pytest.mark.parametrize(("case", "result"), [
    ("signed by another CA", InstallResult.INVALID_CERTIFICATE_CHAIN),
    ("another common name", InstallResult.INVALID_COMMON_NAME),
    ("expired", InstallResult.EXPIRED),
    ("garbage", InstallResult.INVALID_FORMAT),
    ("intermediate missing", InstallResult.INVALID_CERTIFICATE_CHAIN),
    ("chain out of order", InstallResult.INVALID_CERTIFICATE_CHAIN),
    ("a CA first", InstallResult.INVALID_CERTIFICATE_CHAIN),
    ("no CSMS root", InstallResult.NO_ROOT_CERTIFICATE_INSTALLED),
])
def test_a_bad_chain_is_refused_and_changes_nothing(case, result, store, pki, rogue, tmp_path):
    original = pki.client("CP001")
    install(store.directory, client=original)
    request = csr(store)
    sub = pki.intermediate("sub")
    chain = {"signed by another CA": lambda: rogue.sign_csr(request),
             "another common name": lambda: pki.sign_csr(request, common_name="CP999"),
             "expired": lambda: pki.sign_csr(request, days=0),
             "garbage": lambda: "-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n",
             "intermediate missing": lambda: sub.sign_csr(request).split("-----END CERTIFICATE-----")[0]
             + "-----END CERTIFICATE-----\n",
             "chain out of order": lambda: "".join(reversed(
                 [p + "-----END CERTIFICATE-----\n" for p in sub.sign_csr(request).split("-----END CERTIFICATE-----\n")
                  if p.strip()])),
             "a CA first": lambda: pki.pem.decode(),
             "no CSMS root": lambda: pki.sign_csr(request)}[case]()
    if case == "no CSMS root":
        (store.directory / CSMS_ROOT_BUNDLE).unlink()
    before = {f: (store.directory / f).read_bytes() for f in (CLIENT_CHAIN, CLIENT_KEY)}
    refused(lambda: store.update_leaf(chain), result)
    assert {f: (store.directory / f).read_bytes() for f in (CLIENT_CHAIN, CLIENT_KEY)} == before
    assert (store.directory / PENDING_KEY).exists()  # the request can still be completed


def test_an_install_cut_short_is_finished_at_start(store, pki):
    store.update_leaf(pki.sign_csr(csr(store)))
    new_chain = pki.sign_csr(csr(store))
    pending_key = (store.directory / PENDING_KEY).read_bytes()
    leaf_dir = (store.directory / CLIENT_CHAIN).parent
    # the crash: both new files written, only the key renamed
    (leaf_dir / "CSMS_LEAF.key").write_bytes(pending_key)
    (leaf_dir / "CSMS_LEAF.pem.new").write_text(new_chain)
    with pytest.raises(Exception, match="not the key"):
        CertificateStore(store.directory).client_certificate()
    assert "finished" in store.recover()
    assert xl.serial_hex(xl.load_pem(new_chain)[0]) == serial_of(store.directory / CLIENT_CHAIN)
    CertificateStore(store.directory).client_certificate()
    assert store.recover() is None


def test_an_install_cut_before_the_renames_is_finished_or_dropped(store, pki):
    chain = pki.sign_csr(csr(store))
    leaf_dir = (store.directory / CLIENT_CHAIN).parent
    leaf_dir.mkdir(parents=True, exist_ok=True)
    (leaf_dir / "CSMS_LEAF.key.new").write_bytes((store.directory / PENDING_KEY).read_bytes())
    (leaf_dir / "CSMS_LEAF.pem.new").write_text(chain)
    assert "finished" in store.recover()
    assert CertificateStore(store.directory).client_certificate().subject == "CP001"
    (leaf_dir / "CSMS_LEAF.pem.new").write_text("half a certif")
    assert "dropped" in store.recover()
    assert not (leaf_dir / "CSMS_LEAF.pem.new").exists()


# --------------------------------------------------------------------------- CA certificates


def test_hash_data_is_ocsp_cert_id(pki):
    """Independent of our DER walk: cryptography's OCSP request builder names a certificate the same way."""
    for algorithm, digest in (("SHA256", hashes.SHA256()), ("SHA384", hashes.SHA384()), ("SHA512", hashes.SHA512())):
        sub = pki.intermediate(f"sub-{algorithm}")
        request = ocsp.OCSPRequestBuilder().add_certificate(sub.certificate, pki.certificate, digest).build()
        ours = xl.hash_data(sub.certificate, pki.certificate, algorithm)
        assert (ours.issuer_name_hash, ours.issuer_key_hash, ours.serial_number) == (
            request.issuer_name_hash.hex(), request.issuer_key_hash.hex(), format(request.serial_number, "x"))


def test_roots_are_installed_listed_and_installed_once(tmp_path, pki, rogue):
    store = SecurityStore(tmp_path / "certs")
    assert store.installed((CSMS, MF)) == ()
    store.install_ca(pki.pem.decode(), CSMS)
    store.install_ca(pki.pem.decode(), CSMS)
    store.install_ca(rogue.pem.decode(), MF)
    listed = store.installed((CSMS, MF))
    assert [(c.certificate_type, c.hash_data.serial_number) for c in listed] == [
        (CSMS, xl.serial_hex(pki.certificate)), (MF, xl.serial_hex(rogue.certificate))]
    assert listed[0].hash_data == xl.hash_data(pki.certificate, pki.certificate)
    assert CertificateStore(store.directory).csms_roots() == (pki.certificate,)
    assert xl.load_pem((store.directory / MF_ROOT_BUNDLE).read_bytes()) == [rogue.certificate]


def test_an_intermediate_of_an_installed_root_is_listed_with_its_issuers_key(tmp_path, pki):
    store = SecurityStore(tmp_path / "certs")
    sub = pki.intermediate("sub")
    refused(lambda: store.install_ca(sub.pem.decode(), CSMS), InstallResult.INVALID_CERTIFICATE_CHAIN)
    store.install_ca(pki.pem.decode(), CSMS)
    store.install_ca(sub.pem.decode(), CSMS)
    assert store.installed((CSMS,))[1].hash_data == xl.hash_data(sub.certificate, pki.certificate)


@pytest.mark.parametrize(("case", "result"), [
    ("garbage", InstallResult.INVALID_FORMAT),
    ("two certificates", InstallResult.INVALID_FORMAT),
    ("a leaf", InstallResult.INVALID_CERTIFICATE_CHAIN),
])
def test_what_is_not_one_ca_certificate_is_refused(case, result, tmp_path, pki, rogue):
    store = SecurityStore(tmp_path / "certs")
    pem = {"garbage": "this is not a certificate",
           "two certificates": (pki.pem + rogue.pem).decode(),
           "a leaf": pki.client("CP001").cert.read_text()}[case]
    refused(lambda: store.install_ca(pem, CSMS), result)
    assert store.installed((CSMS, MF)) == ()


def test_certificate_store_max_length_counts_both_bundles(tmp_path, pki, rogue):
    store = SecurityStore(tmp_path / "certs")
    store.install_ca(pki.pem.decode(), CSMS, max_installed=2)
    store.install_ca(rogue.pem.decode(), MF, max_installed=2)
    third = pki.intermediate("third")
    refused(lambda: store.install_ca(third.pem.decode(), CSMS, max_installed=2),
            InstallResult.CERTIFICATE_STORE_MAX_LENGTH_EXCEEDED)
    store.install_ca(pki.pem.decode(), CSMS, max_installed=2)  # already there: still fine


def test_additional_root_certificate_check_takes_only_a_root_signed_by_the_installed_one(tmp_path, pki, rogue):
    from security.pki import make_authority  # noqa: PLC0415
    store = SecurityStore(tmp_path / "certs")
    store.install_ca(pki.pem.decode(), CSMS, replace_signed_by_installed=True)  # the first: nothing to check
    store.install_ca(rogue.pem.decode(), CSMS)  # a second root, by hand
    newer = make_authority(tmp_path / "newer", "csms-root-2")
    refused(lambda: store.install_ca(newer.pem.decode(), CSMS, replace_signed_by_installed=True),
            InstallResult.INVALID_CERTIFICATE_CHAIN)
    successor = pki.cross_signed(newer)
    store.install_ca(successor.public_bytes(serialization.Encoding.PEM).decode(), CSMS, replace_signed_by_installed=True)
    assert CertificateStore(store.directory).csms_roots() == (successor, pki.certificate)  # the new one and its fallback


def test_delete_by_hash_data_then_not_found(tmp_path, pki, rogue):
    store = SecurityStore(tmp_path / "certs")
    store.install_ca(pki.pem.decode(), CSMS)
    store.install_ca(rogue.pem.decode(), CSMS)
    wanted = xl.hash_data(rogue.certificate, rogue.certificate, "SHA384")
    shouted = CertificateHashData(hash_algorithm="SHA384", issuer_name_hash=wanted.issuer_name_hash.upper(),
                                  issuer_key_hash=wanted.issuer_key_hash.upper(), serial_number="00" + wanted.serial_number)
    assert store.delete(shouted, keep_last_csms_root=True) == (DeleteResult.ACCEPTED, "")
    assert store.delete(wanted)[0] is DeleteResult.NOT_FOUND
    assert CertificateStore(store.directory).csms_roots() == (pki.certificate,)


def test_the_last_csms_root_and_our_own_certificate_are_not_deleted(store, pki):
    last = xl.hash_data(pki.certificate, pki.certificate)
    assert store.delete(last, keep_last_csms_root=True)[0] is DeleteResult.FAILED
    store.update_leaf(pki.sign_csr(csr(store)))
    leaf = xl.load_pem((store.directory / CLIENT_CHAIN).read_bytes())[0]
    assert store.delete(xl.hash_data(leaf, pki.certificate))[0] is DeleteResult.FAILED
    assert store.delete(last)[0] is DeleteResult.ACCEPTED  # not on TLS: allowed
    assert not (store.directory / CSMS_ROOT_BUNDLE).exists()


def test_verify_a_chain_against_one_bundle(tmp_path, pki, rogue):
    store = SecurityStore(tmp_path / "certs")
    store.install_ca(rogue.pem.decode(), MF)
    signing = rogue.client("firmware-signer").chain.read_text()
    store.verify(signing, MF)
    refused(lambda: store.verify(signing, CSMS), InstallResult.NO_ROOT_CERTIFICATE_INSTALLED)
    refused(lambda: store.verify(pki.client("x").chain.read_text(), MF), InstallResult.INVALID_CERTIFICATE_CHAIN)
    late = SecurityStore(store.directory, now=lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400))
    refused(lambda: late.verify(signing, MF), InstallResult.EXPIRED)


def test_hash_data_and_chains_of_rsa_certificates(tmp_path):
    """The DER walk of the key hash does not depend on EC: an RSA root (2048-bit key, long-form lengths)."""
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rsa-root")])
    now = dt.datetime.now(dt.timezone.utc)
    root = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    request = ocsp.OCSPRequestBuilder().add_certificate(root, root, hashes.SHA256()).build()
    ours = xl.hash_data(root, root)
    assert (ours.issuer_name_hash, ours.issuer_key_hash) == (request.issuer_name_hash.hex(),
                                                            request.issuer_key_hash.hex())
    store = SecurityStore(tmp_path / "certs")
    store.install_ca(root.public_bytes(serialization.Encoding.PEM).decode(), CSMS)
    leaf_key = xl.new_key()
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
            .issuer_name(name).public_key(leaf_key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3))
            .sign(key, hashes.SHA256()))
    store.verify(leaf.public_bytes(serialization.Encoding.PEM).decode(), CSMS)
