"""The file-based certificate store of the embedded evse_security module: what
:class:`actors.evse_security.EvseSecurity` does, as a plain class (tests call it directly).

The files are those of :mod:`actors.certificates` (EVerest's names): the CSMS and manufacturer
root bundles, the client certificate chain and key, and the pending key and request of a
renewal. Every write is atomic (a temporary file, fsync, rename, fsync of the directory), keys
are created mode 0600.

**Renewal.** :meth:`SecurityStore.generate_csr` makes a new key, keeps it as the pending key
(replacing an older pending one: only the latest request can be completed) and returns the
request. :meth:`SecurityStore.update_leaf` takes the signed chain only if

* it parses, is at most :data:`actors.x509_logic.MAX_CHAIN_DEPTH` certificates, and its leaf
  is not a CA;
* the leaf's key is the pending key (or the installed key: a CSMS may re-sign the key we have);
* the leaf's CN is the one requested (the pending request's, or the installed leaf's); the O is
  not compared (the CSMS signs, and may write its own spelling of the CPO's name);
* its extended key usage, if any, allows TLS client authentication;
* every certificate is valid now, and the chain ends at a CSMS root (the whitepaper: the
  certificate "is part of the Central System Root certificate chain"). A manufacturer root is
  not a trust anchor for it.

Then it writes ``CSMS_LEAF.key.new`` and ``CSMS_LEAF.pem.new`` (fsynced), renames the key, then
the chain, and removes the pending files. :meth:`SecurityStore.recover` (at start) finishes an
install that a crash cut between the renames, so the key and the chain never stay apart.

**CA certificates.** InstallCertificate carries one certificate: it must be a CA, valid now,
and either self-signed (its signature checked) or signed by a root already in that bundle.
Installing one that is there already is accepted and changes nothing. ``max_installed``
(CertificateStoreMaxLength) counts both bundles after the install. With
``replace_signed_by_installed`` (AdditionalRootCertificateCheck), once a CSMS root is
installed a new one must be signed by an installed root; the bundle then holds the new root and
that signer (the fallback), nothing else.

**Hash data** (GetInstalledCertificateIds, DeleteCertificate): see :func:`actors.x509_logic.hash_data`;
a certificate's issuer is looked up in both bundles (itself when self-signed; a CA whose issuer
is not installed, which only a hand-made bundle can hold, is hashed with its own key).
DeleteCertificate removes the matches from both bundles; the client certificate cannot be
deleted (Failed), nor, with ``keep_last_csms_root``, the last CSMS root (Failed).

Certificate validity is checked against the real time (``now``), as the TLS peers do, not the
actors' injectable clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from actors import x509_logic as xl
from actors.certificates import CLIENT_CHAIN, CLIENT_KEY, CSMS_ROOT_BUNDLE, MF_ROOT_BUNDLE, PENDING_CSR, PENDING_KEY
from messages.security import (
    CaCertificateType,
    CertificateHashData,
    DeleteResult,
    InstalledCertificate,
    InstallResult,
    LeafCertificateInfo,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

__all__ = ["SecurityStore"]

_BUNDLES = {CaCertificateType.CSMS: CSMS_ROOT_BUNDLE, CaCertificateType.MF: MF_ROOT_BUNDLE}
_NEW = ".new"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Write and fsync ``path`` (created with ``mode``, whatever the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    _write_file(temporary, data, mode)
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def _key_pem(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_key(path: Path) -> PrivateKeyTypes | None:
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm):
        return None


class SecurityStore:
    """The certificate files under ``directory`` (see the module docstring).

    Args:
        directory: the store (``Internal.CertsPath``).
        now: the real UTC time (certificate validity).
    """

    def __init__(self, directory: Path, now: Callable[[], dt.datetime] = _utc_now) -> None:
        self.directory = directory
        self._now = now

    def _path(self, relative: object) -> Path:
        return self.directory / relative  # type: ignore[operator]

    # --- reading ----------------------------------------------------------------------------

    def bundle(self, certificate_type: CaCertificateType) -> list[x509.Certificate]:
        """The certificates of one CA bundle; [] when it does not exist. An unreadable bundle
        raises (WriteError): writing over it would lose what it holds."""
        path = self._path(_BUNDLES[certificate_type])
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise xl.ChainProblem(InstallResult.WRITE_ERROR, f"{path} cannot be read: {exc}") from None
        if not data.strip():
            return []
        try:
            return xl.load_pem(data)
        except xl.ChainProblem:
            raise xl.ChainProblem(InstallResult.WRITE_ERROR, f"{path} holds something that is not PEM certificates") from None

    def _client_chain(self) -> list[x509.Certificate]:
        try:
            return xl.load_pem(self._path(CLIENT_CHAIN).read_bytes())
        except (OSError, xl.ChainProblem):
            return []

    def _all_ca(self) -> list[x509.Certificate]:
        return [*self.bundle(CaCertificateType.CSMS), *self.bundle(CaCertificateType.MF)]

    def installed(self, certificate_types: Sequence[CaCertificateType], algorithm: str = "SHA256",
                  ) -> tuple[InstalledCertificate, ...]:
        """The hash data of every certificate of these bundles, in bundle order."""
        everyone = self._all_ca()
        return tuple(InstalledCertificate(certificate_type=kind,
                                          hash_data=xl.hash_data(cert, xl.find_issuer(cert, everyone) or cert, algorithm))
                     for kind in certificate_types for cert in self.bundle(kind))

    def leaf_info(self) -> LeafCertificateInfo:
        chain = self._client_chain()
        if not chain:
            return LeafCertificateInfo(installed=False, detail=f"no certificate in {self._path(CLIENT_CHAIN)}")
        leaf = chain[0]
        return LeafCertificateInfo(installed=True, common_name=xl.common_name(leaf), serial_number=xl.serial_hex(leaf),
                                   not_after=leaf.not_valid_after_utc)

    def verify(self, chain_pem: str, certificate_type: CaCertificateType) -> None:
        """Raise :class:`actors.x509_logic.ChainProblem` unless the chain ends at a root of the bundle."""
        xl.verify_chain(xl.load_pem(chain_pem), self.bundle(certificate_type), self._now())

    # --- the client certificate ---------------------------------------------------------------

    def generate_csr(self, *, common_name: str, organization: str, country: str = "") -> str:
        """A new pending key and its request (PEM); OSError when the key cannot be stored."""
        key = xl.new_key()
        csr = xl.make_csr(key, common_name=common_name, organization=organization, country=country)
        _write_atomically(self._path(PENDING_KEY), _key_pem(key), 0o600)
        _write_atomically(self._path(PENDING_CSR), csr)
        return csr.decode()

    def update_leaf(self, chain_pem: str) -> str:
        """Check and install a signed chain (see the module docstring); returns the leaf's
        serial (hex). Raises :class:`actors.x509_logic.ChainProblem`."""
        chain = xl.load_pem(chain_pem)
        if len(chain) > xl.MAX_CHAIN_DEPTH:
            raise xl.ChainProblem(InstallResult.INVALID_CERTIFICATE_CHAIN, f"more than {xl.MAX_CHAIN_DEPTH} certificates")
        leaf = chain[0]
        if xl.is_ca(leaf):
            raise xl.ChainProblem(InstallResult.INVALID_CERTIFICATE_CHAIN, "the first certificate is a CA, not a leaf")
        pending, current = _load_key(self._path(PENDING_KEY)), _load_key(self._path(CLIENT_KEY))
        if pending is not None and xl.same_key(pending, leaf):
            key: PrivateKeyTypes | None = pending
            expected = self._pending_common_name()
        elif current is not None and xl.same_key(current, leaf):
            key, installed = None, self._client_chain()  # the key stays; only the chain changes
            expected = xl.common_name(installed[0]) if installed else ""
        else:
            raise xl.ChainProblem(InstallResult.NO_MATCHING_KEY,
                                  "the certificate is not for the key of our request (nor for the installed key)")
        if expected and xl.common_name(leaf) != expected:
            raise xl.ChainProblem(InstallResult.INVALID_COMMON_NAME,
                                  f"the certificate is for CN '{xl.common_name(leaf)}', we asked for '{expected}'")
        if not xl.allows_client_auth(leaf):
            raise xl.ChainProblem(InstallResult.INVALID_CERTIFICATE_CHAIN,
                                  "its extended key usage does not allow TLS client authentication")
        xl.verify_chain(chain, self.bundle(CaCertificateType.CSMS), self._now())
        try:
            self._install_leaf(xl.to_pem(chain), None if key is None else _key_pem(key))
        except OSError as exc:
            raise xl.ChainProblem(InstallResult.WRITE_ERROR, f"cannot write the client certificate: {exc}") from None
        if key is not None:
            for pending_file in (PENDING_KEY, PENDING_CSR):
                with contextlib.suppress(FileNotFoundError):
                    self._path(pending_file).unlink()
        return xl.serial_hex(leaf)

    def _pending_common_name(self) -> str:
        try:
            request = x509.load_pem_x509_csr(self._path(PENDING_CSR).read_bytes())
        except (OSError, ValueError):
            return ""
        return xl.common_name(request)

    def _install_leaf(self, chain: bytes, key: bytes | None) -> None:
        """The journal: both new files complete on disk, then the key renamed, then the chain."""
        chain_file, key_file = self._path(CLIENT_CHAIN), self._path(CLIENT_KEY)
        new_chain, new_key = chain_file.with_name(chain_file.name + _NEW), key_file.with_name(key_file.name + _NEW)
        if key is not None:
            _write_file(new_key, key, 0o600)
        _write_file(new_chain, chain, 0o644)
        _fsync_directory(chain_file.parent)
        if key is not None:
            os.replace(new_key, key_file)
        os.replace(new_chain, chain_file)
        _fsync_directory(chain_file.parent)

    def recover(self) -> str | None:
        """Finish (or drop) an install of the client certificate that a crash cut short; what
        was done, or None when there was nothing to do."""
        chain_file, key_file = self._path(CLIENT_CHAIN), self._path(CLIENT_KEY)
        new_chain, new_key = chain_file.with_name(chain_file.name + _NEW), key_file.with_name(key_file.name + _NEW)
        if not new_chain.exists() and not new_key.exists():
            return None
        try:
            chain = xl.load_pem(new_chain.read_bytes())
        except (OSError, xl.ChainProblem):
            chain = []
        for candidate in (new_key, key_file):
            key = _load_key(candidate)
            if chain and key is not None and xl.same_key(key, chain[0]):
                if candidate == new_key:
                    os.replace(new_key, key_file)
                os.replace(new_chain, chain_file)
                _fsync_directory(chain_file.parent)
                with contextlib.suppress(FileNotFoundError):
                    new_key.unlink()
                return f"finished installing the client certificate (serial {xl.serial_hex(chain[0])})"
        for leftover in (new_chain, new_key):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        return "dropped an incomplete client certificate install"

    # --- CA certificates ----------------------------------------------------------------------

    def install_ca(self, certificate_pem: str, certificate_type: CaCertificateType, *,
                   max_installed: int | None = None, replace_signed_by_installed: bool = False) -> None:
        """Add one CA certificate to a bundle (see the module docstring); raises
        :class:`actors.x509_logic.ChainProblem`."""
        certificates = xl.load_pem(certificate_pem)
        if len(certificates) != 1:
            raise xl.ChainProblem(InstallResult.INVALID_FORMAT, f"{len(certificates)} certificates, not one")
        new = certificates[0]
        if not xl.is_ca(new):
            raise xl.ChainProblem(InstallResult.INVALID_CERTIFICATE_CHAIN, "not a CA certificate")
        now = self._now()
        if now < new.not_valid_before_utc or now > new.not_valid_after_utc:
            raise xl.ChainProblem(InstallResult.EXPIRED, f"not valid now (valid {new.not_valid_before_utc.isoformat()} "
                                                         f"to {new.not_valid_after_utc.isoformat()})")
        bundle = self.bundle(certificate_type)
        if new in bundle:
            return
        other = self.bundle(CaCertificateType.MF if certificate_type is CaCertificateType.CSMS else CaCertificateType.CSMS)
        if replace_signed_by_installed and certificate_type is CaCertificateType.CSMS and bundle:
            signer = next((root for root in bundle if xl.issued_by(new, root)), None)
            if signer is None:
                raise xl.ChainProblem(InstallResult.INVALID_CERTIFICATE_CHAIN,
                                      "not signed by an installed CSMS root (AdditionalRootCertificateCheck)")
            updated = [new, signer]
        elif new.issuer == new.subject and xl.issued_by(new, new):
            updated = [*bundle, new]
        elif new.issuer == new.subject:
            raise xl.ChainProblem(InstallResult.INVALID_SIGNATURE, "its self-signature does not verify")
        elif any(xl.issued_by(new, root) for root in bundle):
            updated = [*bundle, new]
        else:
            raise xl.ChainProblem(InstallResult.INVALID_CERTIFICATE_CHAIN,
                                  "neither self-signed nor signed by an installed root of its kind")
        if max_installed is not None and len(updated) + len(other) > max_installed:
            raise xl.ChainProblem(InstallResult.CERTIFICATE_STORE_MAX_LENGTH_EXCEEDED,
                                  f"the store holds {len(bundle) + len(other)} of at most {max_installed} certificates")
        self._write_bundle(certificate_type, updated)

    def _write_bundle(self, certificate_type: CaCertificateType, certificates: Sequence[x509.Certificate]) -> None:
        path = self._path(_BUNDLES[certificate_type])
        try:
            if certificates:
                _write_atomically(path, xl.to_pem(certificates))
            elif path.exists():
                path.unlink()
                _fsync_directory(path.parent)
        except OSError as exc:
            raise xl.ChainProblem(InstallResult.WRITE_ERROR, f"cannot write {path}: {exc}") from None

    def delete(self, wanted: CertificateHashData, *, keep_last_csms_root: bool = False) -> tuple[DeleteResult, str]:
        """Remove the CA certificates named by ``wanted`` from both bundles."""
        algorithm = wanted.hash_algorithm.upper()
        if algorithm not in xl.HASHES:
            return DeleteResult.NOT_FOUND, f"unknown hash algorithm {wanted.hash_algorithm}"
        try:
            bundles = {kind: self.bundle(kind) for kind in _BUNDLES}
        except xl.ChainProblem as problem:
            return DeleteResult.FAILED, problem.detail
        everyone = [cert for certs in bundles.values() for cert in certs]

        def matches(cert: x509.Certificate, issuers: Sequence[x509.Certificate]) -> bool:
            return xl.same_hash_data(xl.hash_data(cert, xl.find_issuer(cert, issuers) or cert, algorithm), wanted)

        client = self._client_chain()
        if client and matches(client[0], [*client[1:], *everyone]):
            return DeleteResult.FAILED, "the charge point's own certificate cannot be deleted"
        kept = {kind: [cert for cert in certs if not matches(cert, everyone)] for kind, certs in bundles.items()}
        if all(len(kept[kind]) == len(bundles[kind]) for kind in bundles):
            return DeleteResult.NOT_FOUND, "no installed certificate has this hash data"
        if keep_last_csms_root and bundles[CaCertificateType.CSMS] and not kept[CaCertificateType.CSMS]:
            return DeleteResult.FAILED, "it is the last CSMS root certificate, and the link needs one"
        try:
            for kind, certs in kept.items():
                if len(certs) != len(bundles[kind]):
                    self._write_bundle(kind, certs)
        except xl.ChainProblem as problem:
            return DeleteResult.FAILED, problem.detail
        return DeleteResult.ACCEPTED, ""
