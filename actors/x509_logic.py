"""X.509 decisions of the certificate store, as plain functions (no files, no actor).

* :func:`load_pem` reads PEM certificates, and says why not.
* :func:`hash_data` names a certificate as OCPP does (CertificateHashDataType): the hash of its
  issuer's DER name, the hash of its issuer's public key and its serial number. The key hash is
  over the bits of the issuer's ``subjectPublicKey`` (without the DER header), as OCSP's CertID
  does, which is what libocpp and OCPP 2.0.1 use; the serial is lower-case hex without leading
  zeros. Hashes are compared case-insensitively, serials also without leading zeros.
* :func:`verify_chain` walks a chain, leaf first: every certificate valid at ``now``, each one
  signed by the next, every issuer a CA, and the last one either a trusted root itself or signed
  by one. Path-length constraints and name constraints are not checked: the roots are the CPO's
  and the manufacturer's, installed on purpose, not the web's.
* :func:`make_csr` builds the PKCS#10 request of a new key: subject CN and O (and C when given),
  SHA-256, signed with that key.

Keys are ECDSA P-256 (what EVerest's store makes for the CSMS leaf, and what the default
SupportedCiphers12, ECDHE-ECDSA-*, wants).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from messages.security import CertificateHashData, InstallResult

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes, PrivateKeyTypes

__all__ = [
    "HASHES",
    "MAX_CHAIN_DEPTH",
    "ChainProblem",
    "allows_client_auth",
    "common_name",
    "find_issuer",
    "hash_data",
    "is_ca",
    "issued_by",
    "load_pem",
    "make_csr",
    "new_key",
    "same_hash_data",
    "same_key",
    "serial_hex",
    "to_pem",
    "verify_chain",
]

HASHES = {"SHA256": hashlib.sha256, "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}
MAX_CHAIN_DEPTH = 10
"""More certificates than this in one chain are refused (CertificateSignedMaxChainSize bounds
the bytes; this bounds the work)."""


class ChainProblem(Exception):
    """Why a certificate or chain cannot be used: ``result`` and a text naming the certificate."""

    def __init__(self, result: InstallResult, detail: str) -> None:
        super().__init__(detail)
        self.result = result
        self.detail = detail


def load_pem(text: str | bytes) -> list[x509.Certificate]:
    """Every PEM certificate of ``text``; :class:`ChainProblem` (InvalidFormat) when there is none
    or one does not parse."""
    data = text.encode() if isinstance(text, str) else text
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise ChainProblem(InstallResult.INVALID_FORMAT, f"not a PEM X.509 certificate: {exc}") from None
    if not certificates:
        raise ChainProblem(InstallResult.INVALID_FORMAT, "no PEM certificate")
    return certificates


def to_pem(certificates: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def serial_hex(certificate: x509.Certificate) -> str:
    return format(certificate.serial_number, "x")


def common_name(certificate: x509.Certificate | x509.CertificateSigningRequest) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _public_key_bits(key: CertificatePublicKeyTypes) -> bytes:
    """The contents of the subjectPublicKey BIT STRING of ``key`` (DER of SubjectPublicKeyInfo:
    SEQUENCE { AlgorithmIdentifier SEQUENCE, BIT STRING })."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def header(at: int) -> tuple[int, int]:
        """(offset of the contents, their length) of the TLV at ``at``."""
        length = der[at + 1]
        if length < 0x80:
            return at + 2, length
        size = length & 0x7F
        return at + 2 + size, int.from_bytes(der[at + 2:at + 2 + size], "big")

    inner, _ = header(0)  # into the outer SEQUENCE
    algorithm_start, algorithm_length = header(inner)
    bits_start, bits_length = header(algorithm_start + algorithm_length)
    return der[bits_start + 1:bits_start + bits_length]  # skip the unused-bits byte


def hash_data(certificate: x509.Certificate, issuer: x509.Certificate, algorithm: str = "SHA256",
              ) -> CertificateHashData:
    """OCPP's name of ``certificate``, issued by ``issuer`` (itself, for a root)."""
    digest = HASHES[algorithm]
    return CertificateHashData(
        hash_algorithm=algorithm,
        issuer_name_hash=digest(certificate.issuer.public_bytes()).hexdigest(),
        issuer_key_hash=digest(_public_key_bits(issuer.public_key())).hexdigest(),
        serial_number=serial_hex(certificate))


def same_hash_data(a: CertificateHashData, b: CertificateHashData) -> bool:
    """Equal, ignoring the case of the hex and the serial's leading zeros."""
    return (a.hash_algorithm.upper() == b.hash_algorithm.upper()
            and a.issuer_name_hash.lower() == b.issuer_name_hash.lower()
            and a.issuer_key_hash.lower() == b.issuer_key_hash.lower()
            and (a.serial_number.lower().lstrip("0") or "0") == (b.serial_number.lower().lstrip("0") or "0"))


def is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """``parent``'s name is ``child``'s issuer and its key made ``child``'s signature."""
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def find_issuer(certificate: x509.Certificate, candidates: Sequence[x509.Certificate]) -> x509.Certificate | None:
    """The certificate of ``candidates`` that signed ``certificate`` (itself, when self-signed)."""
    if issued_by(certificate, certificate):
        return certificate
    return next((c for c in candidates if c != certificate and issued_by(certificate, c)), None)


def same_key(key: PrivateKeyTypes | CertificatePublicKeyTypes, certificate: x509.Certificate) -> bool:
    public = key.public_key() if hasattr(key, "private_bytes") else key  # type: ignore[union-attr]
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return bool(public.public_bytes(*fmt) == certificate.public_key().public_bytes(*fmt))  # type: ignore[union-attr]


def _check_validity(certificate: x509.Certificate, now: dt.datetime, what: str) -> None:
    if now < certificate.not_valid_before_utc:
        raise ChainProblem(InstallResult.EXPIRED, f"{what} is valid only from {certificate.not_valid_before_utc.isoformat()}")
    if now > certificate.not_valid_after_utc:
        raise ChainProblem(InstallResult.EXPIRED, f"{what} expired at {certificate.not_valid_after_utc.isoformat()}")


def _named(certificate: x509.Certificate) -> str:
    return f"'{certificate.subject.rfc4514_string()}'"


def verify_chain(chain: Sequence[x509.Certificate], roots: Sequence[x509.Certificate], now: dt.datetime) -> None:
    """Raise :class:`ChainProblem` unless ``chain[0]`` chains to one of ``roots`` through
    ``chain[1:]`` (see the module docstring); a chain may end with the root itself."""
    if not chain:
        raise ChainProblem(InstallResult.INVALID_FORMAT, "no certificate")
    if len(chain) > MAX_CHAIN_DEPTH:
        raise ChainProblem(InstallResult.INVALID_CERTIFICATE_CHAIN, f"more than {MAX_CHAIN_DEPTH} certificates")
    if not roots:
        raise ChainProblem(InstallResult.NO_ROOT_CERTIFICATE_INSTALLED, "no root certificate to check the chain against")
    for certificate in chain:
        _check_validity(certificate, now, _named(certificate))
    for child, parent in zip(chain, chain[1:]):
        if child.issuer != parent.subject:
            raise ChainProblem(InstallResult.INVALID_CERTIFICATE_CHAIN,
                               f"{_named(parent)} is not the issuer of {_named(child)} (chain out of order?)")
        if not is_ca(parent):
            raise ChainProblem(InstallResult.INVALID_CERTIFICATE_CHAIN, f"{_named(parent)} is not a CA certificate")
        if not issued_by(child, parent):
            raise ChainProblem(InstallResult.INVALID_SIGNATURE, f"the signature of {_named(child)} does not verify")
    last = chain[-1]
    if last in roots:
        return
    named = [root for root in roots if root.subject == last.issuer]
    if not named:
        raise ChainProblem(InstallResult.INVALID_CERTIFICATE_CHAIN,
                           f"{_named(last)} was issued by '{last.issuer.rfc4514_string()}', which is not a trusted root")
    for root in named:
        if issued_by(last, root) and is_ca(root):
            _check_validity(root, now, f"the root {_named(root)}")
            return
    raise ChainProblem(InstallResult.INVALID_SIGNATURE,
                       f"the signature of {_named(last)} does not verify with the trusted root of that name")


def allows_client_auth(certificate: x509.Certificate) -> bool:
    """False only when an extended key usage is present and excludes TLS client authentication."""
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.CLIENT_AUTH in usages or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_csr(key: ec.EllipticCurvePrivateKey, *, common_name: str, organization: str, country: str = "") -> bytes:
    """A PEM PKCS#10 request for ``key`` with subject C (if given), O, CN; signed with SHA-256."""
    attributes = []
    if country:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    attributes += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                   x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name(attributes))
               .sign(key, hashes.SHA256()))
    return request.public_bytes(serialization.Encoding.PEM)
