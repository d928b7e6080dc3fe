"""Certificates the TLS tests make for themselves: a CSMS root, server certificates (valid,
expired, from another CA, for another host) and charge point client certificates.

Everything is ECDSA P-256 (fast to make, and what the default SupportedCiphers12 list,
ECDHE-ECDSA-*, wants), written as PEM. Nothing here is secret: every key lives in the test's
``tmp_path`` and dies with it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Authority", "Issued", "make_authority"]

_NOW = dt.datetime.now(dt.timezone.utc)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ocpp-cp tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass(frozen=True)
class Issued:
    """A certificate and its key as PEM files."""

    cert: Path
    key: Path
    chain: Path
    """The certificate followed by its issuer (what a client or server presents)."""


@dataclass(frozen=True)
class Authority:
    """A self-signed CA that issues server and client certificates into ``directory``."""

    name: str
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    directory: Path

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def file(self) -> Path:
        path = self.directory / f"{self.name}.pem"
        if not path.exists():
            path.write_bytes(self.pem)
        return path

    def issue(self, name: str, *, hosts: tuple[str, ...] = (), client: bool = False,
              not_before: dt.datetime | None = None, not_after: dt.datetime | None = None) -> Issued:
        """A leaf certificate: for a server (``hosts`` as DNS names / IP addresses) or a client."""
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        builder = (x509.CertificateBuilder()
                   .subject_name(_name(name)).issuer_name(self.certificate.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before or _NOW - dt.timedelta(days=1))
                   .not_valid_after(not_after or _NOW + dt.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(
                       [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                                  critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        stem = self.directory / f"{self.name}-{name}".replace("*", "star")
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        files = Issued(cert=stem.with_suffix(".pem"), key=stem.with_suffix(".key"),
                       chain=stem.with_suffix(".chain.pem"))
        files.cert.write_bytes(cert_pem)
        files.key.write_bytes(_pem_key(key))
        files.chain.write_bytes(cert_pem + self.pem)
        return files

    def sign_csr(self, csr_pem: str, *, days: int = 30, common_name: str | None = None,
                 chain: tuple[x509.Certificate, ...] = ()) -> str:
        """What a CSMS does with a SignCertificate.req: a client certificate for the request's
        key and subject (or ``common_name``), signed by us; returned as the PEM chain (the leaf,
        then ``chain``, then our certificate unless we are a root)."""
        request = x509.load_pem_x509_csr(csr_pem.encode())
        assert request.is_signature_valid
        subject = request.subject if common_name is None else _name(common_name)
        cert = (x509.CertificateBuilder()
                .subject_name(subject).issuer_name(self.certificate.subject)
                .public_key(request.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(_NOW - dt.timedelta(minutes=5)).not_valid_after(_NOW + dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                               critical=False)
                .sign(self.key, hashes.SHA256()))
        parents = (*chain, *(() if self.is_root else (self.certificate,)))
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, *parents)).decode()

    @property
    def is_root(self) -> bool:
        return self.certificate.issuer == self.certificate.subject

    def intermediate(self, name: str) -> Authority:
        """A sub-CA signed by us (its certificates' chains end with its own certificate)."""
        return _authority(self.directory, name, issuer=self)

    def cross_signed(self, other: Authority) -> x509.Certificate:
        """``other``'s root key and name, certified by us (AdditionalRootCertificateCheck's new root)."""
        return _ca_certificate(other.certificate.subject, other.key, self)

    def server(self, name: str = "localhost", *, hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
               **validity: dt.datetime) -> Issued:
        return self.issue(name, hosts=hosts, **validity)

    def client(self, charge_point_id: str, **validity: dt.datetime) -> Issued:
        return self.issue(charge_point_id, client=True, **validity)


def _ca_certificate(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: Authority | None,
                    ) -> x509.Certificate:
    signer_key = issuer.key if issuer else key
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer.certificate.subject if issuer else subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(_NOW - dt.timedelta(days=1)).not_valid_after(_NOW + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(signer_key, hashes.SHA256()))


def _authority(directory: Path, name: str, issuer: Authority | None = None) -> Authority:
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    return Authority(name, key, _ca_certificate(_name(name), key, issuer), directory)


def make_authority(directory: Path, name: str = "csms-root") -> Authority:
    """A new self-signed root CA (valid from yesterday for a year)."""
    return _authority(directory, name)
