"""The ``evse_security`` requirement (EVerest's interface of that name) as messages, and the
timer of the Security actor.

The OCPP side (:mod:`actors.security`) reaches the certificate store only through these. The
embedded store is the :class:`actors.evse_security.EvseSecurity` actor, registered in the
Directory under :data:`SECURITY_REQUIREMENT`; on an MQTT charger with a ``security`` connection,
:class:`actors.remote_security.RemoteSecurity` takes that name and answers the same messages
over the bus (``docs/mqtt-bus.md``, *Certificates*).

| EVerest command | message → reply |
|---|---|
| ``generate_certificate_signing_request`` | :class:`GenerateCsr` → :class:`CsrGenerated` |
| ``update_leaf_certificate`` | :class:`UpdateLeafCertificate` → :class:`LeafCertificateUpdated` |
| ``install_ca_certificate`` | :class:`InstallCaCertificate` → :class:`CaCertificateInstalled` |
| ``delete_certificate`` | :class:`DeleteCertificate` → :class:`CertificateDeleted` |
| ``get_installed_certificates`` | :class:`GetInstalledCertificates` → :class:`InstalledCertificates` |
| ``verify_certificate`` | :class:`VerifyCertificate` → :class:`CertificateVerified` |
| ``get_leaf_certificate_info`` | :class:`GetLeafCertificateInfo` → :class:`LeafCertificateInfo` |

Every one is sent with ``ask`` (each has a reply). Two fields are ours, not EVerest's, because
they are OCPP rules that need the store's contents to be applied atomically:
``InstallCaCertificate.max_installed`` (CertificateStoreMaxLength) and
``InstallCaCertificate.replace_signed_by_installed`` (AdditionalRootCertificateCheck), and
``DeleteCertificate.keep_last_csms_root`` (never leave a TLS link without a CSMS root). On the
bus they travel as extra arguments; an EVerest store without them does not apply them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "SECURITY_REQUIREMENT",
    "CaCertificateInstalled",
    "CaCertificateType",
    "CertificateDeleted",
    "CertificateHashData",
    "CertificateVerified",
    "CheckClientCertificate",
    "CsrGenerated",
    "DeleteCertificate",
    "DeleteResult",
    "GenerateCsr",
    "GetInstalledCertificates",
    "GetLeafCertificateInfo",
    "InstallResult",
    "InstalledCertificate",
    "InstalledCertificates",
    "InstallCaCertificate",
    "LeafCertificateInfo",
    "LeafCertificateUpdated",
    "UpdateLeafCertificate",
    "VerifyCertificate",
]

SECURITY_REQUIREMENT = "requirement/security"
"""Directory name of the required evse_security interface (the embedded store by default)."""


class CaCertificateType(enum.Enum):
    """Which CA bundle: the OCPP 1.6 CertificateUseEnumType values."""

    CSMS = "CentralSystemRootCertificate"
    """Roots the CSMS's server certificate (and our client certificate) chain to."""
    MF = "ManufacturerRootCertificate"
    """Roots of the manufacturer (firmware signing certificates chain to them)."""


class InstallResult(enum.Enum):
    """Outcome of installing a certificate (EVerest's InstallCertificateResult, plus NoMatchingKey)."""

    ACCEPTED = "Accepted"
    INVALID_FORMAT = "InvalidFormat"
    """Not PEM, not X.509, or not the number of certificates expected."""
    INVALID_SIGNATURE = "InvalidSignature"
    INVALID_CERTIFICATE_CHAIN = "InvalidCertificateChain"
    """Does not chain to a trusted root, a CA where a leaf belongs (or the other way round),
    a purpose (extended key usage) that does not fit."""
    INVALID_COMMON_NAME = "InvalidCommonName"
    NO_ROOT_CERTIFICATE_INSTALLED = "NoRootCertificateInstalled"
    EXPIRED = "Expired"
    """Expired, or not valid yet."""
    CERTIFICATE_STORE_MAX_LENGTH_EXCEEDED = "CertificateStoreMaxLengthExceeded"
    WRITE_ERROR = "WriteError"
    NO_MATCHING_KEY = "NoMatchingKey"
    """A leaf whose key is neither the pending request's nor the installed certificate's."""


class DeleteResult(enum.Enum):
    """DeleteCertificate.conf status."""

    ACCEPTED = "Accepted"
    FAILED = "Failed"
    NOT_FOUND = "NotFound"


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateHashData:
    """How OCPP names a certificate (the whitepaper's CertificateHashDataType): hex strings."""

    hash_algorithm: str
    """SHA256, SHA384 or SHA512."""
    issuer_name_hash: str
    """Hash of the DER-encoded issuer name."""
    issuer_key_hash: str
    """Hash of the issuer's public key (the bits of its subjectPublicKey), as OCSP does."""
    serial_number: str
    """The serial number in hex, lower case, no leading zeros."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstalledCertificate:
    """One installed CA certificate."""

    certificate_type: CaCertificateType
    hash_data: CertificateHashData


# --- requests and replies ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateCsr:
    """Command (ask → :class:`CsrGenerated`): make a new key for the charge point's client
    certificate, keep it pending (it replaces any older pending key), and return a PKCS#10
    request for it, signed with it."""

    common_name: str
    """The subject's CN (we ask for the ChargePointId)."""
    organization: str
    """The subject's O (the whitepaper: the CPO's name, CpoName)."""
    country: str = ""
    """The subject's C, two letters; empty: none."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CsrGenerated:
    """Reply to :class:`GenerateCsr`: ``csr`` is PEM when ``ok``, else ``detail`` says why."""

    ok: bool
    csr: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateLeafCertificate:
    """Command (ask → :class:`LeafCertificateUpdated`): install a signed chain (leaf first,
    then intermediates, PEM) as the client certificate of the CSMS link, after checking it."""

    certificate_chain: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LeafCertificateUpdated:
    """Reply to :class:`UpdateLeafCertificate`."""

    result: InstallResult
    detail: str = ""
    serial_number: str = ""
    """The installed leaf's serial number (hex), when accepted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallCaCertificate:
    """Command (ask → :class:`CaCertificateInstalled`): add one PEM CA certificate to a bundle.

    Installing a certificate that is already there changes nothing and is accepted."""

    certificate: str
    certificate_type: CaCertificateType
    max_installed: int | None = None
    """CertificateStoreMaxLength: the most CA certificates (both bundles) after the install;
    None: no limit."""
    replace_signed_by_installed: bool = False
    """AdditionalRootCertificateCheck, for the CSMS bundle: once a root is installed, a new one
    must be signed by an installed root, and replaces every root but that one (kept as the
    fallback)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaCertificateInstalled:
    """Reply to :class:`InstallCaCertificate`."""

    result: InstallResult
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteCertificate:
    """Command (ask → :class:`CertificateDeleted`): remove the CA certificate(s) with this hash data."""

    hash_data: CertificateHashData
    keep_last_csms_root: bool = False
    """Refuse (Failed) to remove the last CSMS root (the link uses TLS and would have nothing
    to check the CSMS with)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateDeleted:
    """Reply to :class:`DeleteCertificate`."""

    result: DeleteResult
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class GetInstalledCertificates:
    """Query (ask → :class:`InstalledCertificates`): the CA certificates of these bundles."""

    certificate_types: tuple[CaCertificateType, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstalledCertificates:
    """Reply to :class:`GetInstalledCertificates` (SHA256 hash data), in bundle order."""

    certificates: tuple[InstalledCertificate, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyCertificate:
    """Query (ask → :class:`CertificateVerified`): does this PEM chain (leaf first) chain to a
    root of the bundle, and is every certificate of it valid now? (For a firmware signing
    certificate: the MF bundle.)"""

    certificate_chain: str
    certificate_type: CaCertificateType


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateVerified:
    """Reply to :class:`VerifyCertificate`: ACCEPTED, or why not."""

    result: InstallResult
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class GetLeafCertificateInfo:
    """Query (ask → :class:`LeafCertificateInfo`): the installed client certificate."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LeafCertificateInfo:
    """Reply to :class:`GetLeafCertificateInfo`; ``installed`` False (and ``detail``) when
    there is none that can be read."""

    installed: bool
    common_name: str = ""
    serial_number: str = ""
    not_after: datetime | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckClientCertificate:
    """Timer (Security): time to see whether the client certificate needs renewing."""
