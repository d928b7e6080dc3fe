"""The certificates of the CSMS link (security profiles 2 and 3): a store of PEM files.

**Where.** The directory named by the charge point config key ``Internal.CertsPath``; a
relative path is taken from the directory of the user config (``UserConfigPath``), and an
absent key means ``certs`` there. Why a config key and the user config's directory, and not
a module option or a sub-directory of DatabasePath: the ChangeConfiguration rules
(:mod:`actors.configuration_rules`) must see whether a client certificate is installed
before they accept SecurityProfile 3, and all they are given is the charge point config,
which knows its own files but not the module options. The user config's directory is also,
by construction, a directory this process may write (every accepted ChangeConfiguration is
written there; the systemd unit lets us write nowhere under ``/etc``), which the certificate
renewal (SignCertificate / CertificateSigned) and
InstallCertificate need. ``CertsPath`` is read-only for the CSMS: a writable path would let
the CSMS choose which files we trust.

**Layout** (the names of EVerest's EvseSecurity module, so an EVerest charger's tree can be
copied over as it is)::

    ca/csms/CSMS_ROOT_CA.pem      the CSMS root CA bundle: one or more PEM certificates; the
                                  CSMS's server certificate must chain to one of them
    client/csms/CSMS_LEAF.pem     the charge point's certificate chain (profile 3): the leaf
                                  first, then any intermediate CAs, PEM
    client/csms/CSMS_LEAF.key     its private key, PEM (PKCS#8 or traditional), unencrypted;
                                  keep it mode 0600
    ca/mf/MF_ROOT_CA.pem          the manufacturer's root CA bundle (InstallCertificate with
                                  ManufacturerRootCertificate; firmware signing certificates
                                  chain to it)
    client/csms/CSMS_LEAF_PENDING.key / .csr
                                  the key and request of a renewal that waits for the CSMS's
                                  CertificateSigned (:mod:`actors.evse_security_store`)

With ``Internal.UseSslDefaultVerifyPaths`` (default true) the system's CA store is trusted
too, as libocpp does; then profile 2 works without a bundle of our own.

**The seam for renewal.** :meth:`CertificateStore.client_certificate` is the one place the
client certificate and key are read, by the ChangeConfiguration rules and for every TLS
connection attempt (:mod:`actors.tls`); nothing caches them. The renewal
(:mod:`actors.evse_security_store`) writes the new key and chain to the two ``client/csms``
files (each atomically, key first, with a journal that finishes an install cut short) and the
next connection uses them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from supervisor.config import ChargePointConfig

__all__ = [
    "CERTS_PATH_KEY",
    "CLIENT_CHAIN",
    "CLIENT_KEY",
    "CSMS_ROOT_BUNDLE",
    "CertificateProblem",
    "CertificateStore",
    "ClientCertificate",
    "DEFAULT_CERTS_DIRECTORY",
    "MF_ROOT_BUNDLE",
    "PENDING_CSR",
    "PENDING_KEY",
]

CERTS_PATH_KEY = "CertsPath"
"""Internal key: the directory of the store."""
DEFAULT_CERTS_DIRECTORY = "certs"
"""The store when CertsPath is absent: beside the user config."""
CSMS_ROOT_BUNDLE = Path("ca/csms/CSMS_ROOT_CA.pem")
CLIENT_CHAIN = Path("client/csms/CSMS_LEAF.pem")
CLIENT_KEY = Path("client/csms/CSMS_LEAF.key")
MF_ROOT_BUNDLE = Path("ca/mf/MF_ROOT_CA.pem")
PENDING_KEY = Path("client/csms/CSMS_LEAF_PENDING.key")
PENDING_CSR = Path("client/csms/CSMS_LEAF_PENDING.csr")
_MAX_FILE_BYTES = 1_000_000
"""A certificate file larger than this is not read (nothing legitimate comes close)."""


class CertificateProblem(Exception):
    """Why a certificate cannot be used; the message names the file, never a key's content."""


@dataclass(frozen=True)
class ClientCertificate:
    """The charge point's client certificate, checked: it parses, its key matches, it is valid now."""

    chain: Path
    """The PEM chain file (leaf first) to present."""
    key: Path
    """The private key file."""
    subject: str
    """The leaf's common name (OCPP: the ChargePointId)."""
    not_after: dt.datetime


@dataclass(frozen=True)
class CertificateStore:
    """The PEM files of one charge point (see the module docstring)."""

    directory: Path

    @classmethod
    def for_config(cls, config: ChargePointConfig) -> CertificateStore:
        """The store the charge point config names (``Internal.CertsPath``)."""
        configured = config.get(CERTS_PATH_KEY)
        raw = Path(str(configured)) if isinstance(configured, str) and configured else Path(DEFAULT_CERTS_DIRECTORY)
        return cls(raw if raw.is_absolute() else Path(config.user_config_path).parent / raw)

    @property
    def csms_root_bundle(self) -> Path:
        return self.directory / CSMS_ROOT_BUNDLE

    def csms_roots(self) -> tuple[x509.Certificate, ...]:
        """The certificates of the CSMS root bundle; none when the file is missing or unreadable."""
        try:
            return tuple(x509.load_pem_x509_certificates(_read(self.csms_root_bundle)))
        except (CertificateProblem, ValueError):
            return ()

    def client_certificate(self, now: dt.datetime | None = None) -> ClientCertificate:
        """The client certificate and key of profile 3, or :class:`CertificateProblem` saying why
        there is none that can be used at ``now`` (default: the real UTC time, which is what the
        TLS peer checks against too)."""
        chain_file, key_file = self.directory / CLIENT_CHAIN, self.directory / CLIENT_KEY
        try:
            chain = x509.load_pem_x509_certificates(_read(chain_file))
        except ValueError:
            raise CertificateProblem(f"{chain_file} holds no PEM certificate") from None
        try:
            key = serialization.load_pem_private_key(_read(key_file), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):  # TypeError: the key is encrypted
            raise CertificateProblem(f"{key_file} holds no unencrypted PEM private key") from None
        leaf = chain[0]
        if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
                != leaf.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo):
            raise CertificateProblem(f"{key_file} is not the key of the certificate in {chain_file}")
        moment = now or dt.datetime.now(dt.timezone.utc)
        if moment < leaf.not_valid_before_utc:
            raise CertificateProblem(f"the certificate in {chain_file} is valid only from "
                                     f"{leaf.not_valid_before_utc.isoformat()}")
        if moment > leaf.not_valid_after_utc:
            raise CertificateProblem(f"the certificate in {chain_file} expired at {leaf.not_valid_after_utc.isoformat()}")
        names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        subject = str(names[0].value) if names else leaf.subject.rfc4514_string()
        return ClientCertificate(chain=chain_file, key=key_file, subject=subject, not_after=leaf.not_valid_after_utc)


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise CertificateProblem(f"{path} is larger than {_MAX_FILE_BYTES} bytes")
        return path.read_bytes()
    except FileNotFoundError:
        raise CertificateProblem(f"{path} does not exist") from None
    except OSError as exc:
        raise CertificateProblem(f"{path} cannot be read: {exc.strerror or exc}") from None
