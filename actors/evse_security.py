"""EvseSecurity: the embedded ``evse_security`` module, a file-based certificate store.

It is reached like any other module of the charger, by messages (:mod:`messages.security`),
under the Directory name :data:`messages.security.SECURITY_REQUIREMENT`; on the bus
:class:`actors.remote_security.RemoteSecurity` takes that name instead, and ``ocpp-cp sim
--certs-path`` runs this same actor for its ``security`` implementation. The work is in
:class:`actors.evse_security_store.SecurityStore` (real X.509 with ``cryptography``, real
CSRs, atomic files); this actor gives it a thread and turns its outcomes into replies. The
store is the directory of ``Internal.CertsPath`` (:meth:`actors.certificates.CertificateStore.for_config`),
read from the live config at every request, as the TLS link does.

At start it finishes a client-certificate install that a crash cut short.

Answers (ask): GenerateCsr → CsrGenerated, UpdateLeafCertificate → LeafCertificateUpdated,
InstallCaCertificate → CaCertificateInstalled, DeleteCertificate → CertificateDeleted,
GetInstalledCertificates → InstalledCertificates, VerifyCertificate → CertificateVerified,
GetLeafCertificateInfo → LeafCertificateInfo. Emits nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from actors.certificates import CertificateStore
from actors.evse_security_store import SecurityStore
from actors.x509_logic import ChainProblem
from messages.security import (
    CaCertificateInstalled,
    CertificateDeleted,
    CertificateVerified,
    CsrGenerated,
    DeleteCertificate,
    DeleteResult,
    GenerateCsr,
    GetInstalledCertificates,
    GetLeafCertificateInfo,
    InstallCaCertificate,
    InstalledCertificates,
    InstallResult,
    LeafCertificateInfo,
    LeafCertificateUpdated,
    UpdateLeafCertificate,
    VerifyCertificate,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["EvseSecurity"]


class EvseSecurity(SupervisedActor):
    """The certificate store as an actor (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        GenerateCsr: "_on_generate_csr",
        UpdateLeafCertificate: "_on_update_leaf",
        InstallCaCertificate: "_on_install_ca",
        DeleteCertificate: "_on_delete",
        GetInstalledCertificates: "_on_get_installed",
        VerifyCertificate: "_on_verify",
        GetLeafCertificateInfo: "_on_leaf_info",
    }

    def _store(self) -> SecurityStore:
        return SecurityStore(CertificateStore.for_config(self.ctx.config.current).directory)

    def started(self) -> None:
        try:
            done = self._store().recover()
        except OSError:
            self.log.exception("cannot finish an interrupted client certificate install")
            return
        if done:
            self.log.warning("certificate store: %s", done)

    def _on_generate_csr(self, msg: GenerateCsr) -> CsrGenerated:
        try:
            csr = self._store().generate_csr(common_name=msg.common_name, organization=msg.organization,
                                             country=msg.country)
        except (OSError, ValueError) as exc:
            self.log.exception("cannot make a certificate signing request")
            return CsrGenerated(ok=False, detail=str(exc))
        self.log.info("new key and certificate signing request for CN=%s, O=%s", msg.common_name, msg.organization)
        return CsrGenerated(ok=True, csr=csr)

    def _on_update_leaf(self, msg: UpdateLeafCertificate) -> LeafCertificateUpdated:
        try:
            serial = self._store().update_leaf(msg.certificate_chain)
        except ChainProblem as problem:
            self.log.warning("client certificate refused (%s): %s", problem.result.value, problem.detail)
            return LeafCertificateUpdated(result=problem.result, detail=problem.detail)
        self.log.info("client certificate installed (serial %s)", serial)
        return LeafCertificateUpdated(result=InstallResult.ACCEPTED, serial_number=serial)

    def _on_install_ca(self, msg: InstallCaCertificate) -> CaCertificateInstalled:
        try:
            self._store().install_ca(msg.certificate, msg.certificate_type, max_installed=msg.max_installed,
                                     replace_signed_by_installed=msg.replace_signed_by_installed)
        except ChainProblem as problem:
            self.log.warning("%s refused (%s): %s", msg.certificate_type.value, problem.result.value, problem.detail)
            return CaCertificateInstalled(result=problem.result, detail=problem.detail)
        self.log.info("%s installed", msg.certificate_type.value)
        return CaCertificateInstalled(result=InstallResult.ACCEPTED)

    def _on_delete(self, msg: DeleteCertificate) -> CertificateDeleted:
        result, detail = self._store().delete(msg.hash_data, keep_last_csms_root=msg.keep_last_csms_root)
        if result is DeleteResult.ACCEPTED:
            self.log.info("certificate with serial %s deleted", msg.hash_data.serial_number)
        return CertificateDeleted(result=result, detail=detail)

    def _on_get_installed(self, msg: GetInstalledCertificates) -> InstalledCertificates:
        try:
            return InstalledCertificates(certificates=self._store().installed(msg.certificate_types))
        except ChainProblem as problem:
            self.log.error("cannot list the installed certificates: %s", problem.detail)
            return InstalledCertificates(certificates=())

    def _on_verify(self, msg: VerifyCertificate) -> CertificateVerified:
        try:
            self._store().verify(msg.certificate_chain, msg.certificate_type)
        except ChainProblem as problem:
            return CertificateVerified(result=problem.result, detail=problem.detail)
        return CertificateVerified(result=InstallResult.ACCEPTED)

    def _on_leaf_info(self, _msg: GetLeafCertificateInfo) -> LeafCertificateInfo:
        return self._store().leaf_info()
