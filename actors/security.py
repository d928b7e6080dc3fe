"""Security: the CSMS operations of the OCPP 1.6 security extension about certificates, and
the renewal of the charge point's client certificate.

It owns CertificateSigned, InstallCertificate, DeleteCertificate, GetInstalledCertificateIds
and ExtendedTriggerMessage, and sends SignCertificate. The certificates themselves are the
evse_security module's (:data:`messages.security.SECURITY_REQUIREMENT`, the embedded
:mod:`actors.evse_security` by default): this actor applies the OCPP rules and asks it.

**Renewal** (the whitepaper's "Update Charge Point certificate by request of Central System",
OCTT TC_074): ExtendedTriggerMessage(SignChargePointCertificate) is answered Accepted, then a
new key and request are made (CN = ChargePointId, O = CpoName) and sent as SignCertificate.req.
Without a CpoName the trigger is Rejected (as libocpp: the request needs an O). The CSMS
answers later with CertificateSigned.req: the chain is refused if it is longer than
CertificateSignedMaxChainSize bytes (default 10000) or the store refuses it (key, CN, chain to
a CSMS root, validity; :mod:`actors.evse_security_store`), and then answered Rejected with the
security event InvalidChargePointCertificate (a write error is Rejected without one). Accepted,
and on security profile 3, the link reconnects right after the answer, presenting the new
certificate (:class:`messages.csms.ReconnectLink`); running transactions go on, their messages
wait in the durable queue for the new connection.

Why CN = ChargePointId: the whitepaper makes the CN the charge point's unique identity (its
"serial number"), and the CSMS ties a profile-3 connection to the identity in the URL, which is
the ChargePointId; libocpp uses ChargeBoxSerialNumber, which a CSMS cannot see in the handshake.

The same renewal runs by itself, as libocpp's does: 60 s after the first accepted
BootNotification and every 12 h after, on profile 3, when the client certificate ends within
30 days (on the actors' clock).

**CA certificates.** InstallCertificate: CentralSystemRootCertificate to the CSMS bundle,
ManufacturerRootCertificate to the manufacturer's; Accepted, Failed (cannot be written) or
Rejected (not a valid CA certificate, CertificateStoreMaxLength reached, or with
AdditionalRootCertificateCheck a CSMS root not signed by the installed one). A rejected CSMS
root is the security event InvalidCentralSystemCertificate (OCTT TC_078); a rejected
manufacturer root is logged as InvalidManufacturerRootCertificate, which the whitepaper does
not list as critical, so it is not sent. GetInstalledCertificateIds lists the SHA256 hash data
of one bundle, NotFound when it is empty. DeleteCertificate: Accepted, NotFound, or Failed for
the charge point's own certificate and -- our decision, in the spirit of the whitepaper's "the
Charge Point SHALL NOT delete the certificate it uses" -- for the last CSMS root while the link
uses TLS (profile 2 or 3, or a wss:// URI): without it the next connection could not check the
CSMS, and only a visit could mend the charger. With two roots installed, either may go.

**ExtendedTriggerMessage.** BootNotification, Heartbeat, MeterValues and StatusNotification are
TriggerMessage's in all but the name (same fields, same answers): the CALL goes to the Station
as a TriggerMessage, and it answers under the CSMS's message id. SignChargePointCertificate is
ours (above). FirmwareStatusNotification (which the whitepaper answers with a
SignedFirmwareStatusNotification) and LogStatusNotification are the Firmware actor's: Accepted,
then it reports the signed update or log upload under way (Idle when none); NotImplemented
when no Firmware actor runs.

Accepts (tell): CallReceived (the five actions), CallResultReceived / CallFailed (of
SignCertificate), RegistrationChanged (published), CheckClientCertificate (timer).
Emits: SendCallResult / SendCallError / SendCall(SignCertificate) and ReconnectLink to the
link, CallReceived(TriggerMessage) and SecurityEvent to the Station, ReportTransferStatus to
the Firmware actor, and asks
the evse_security module (GenerateCsr, UpdateLeafCertificate, InstallCaCertificate,
DeleteCertificate, GetInstalledCertificates, GetLeafCertificateInfo).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

import pykka

from actors.base import SupervisedActor
from actors.link_settings import security_profile, uri_scheme
from messages.csms import (
    CallFailed,
    CallReceived,
    CallResultReceived,
    GetLinkStats,
    ReconnectLink,
    Registration,
    RegistrationChanged,
    SendCall,
    SendCallError,
    SendCallResult,
)
from messages.firmware import ReportTransferStatus
from messages.provided import SecurityEvent
from messages.security import (
    SECURITY_REQUIREMENT,
    CaCertificateType,
    CertificateHashData,
    CheckClientCertificate,
    DeleteCertificate,
    GenerateCsr,
    GetInstalledCertificates,
    GetLeafCertificateInfo,
    InstallCaCertificate,
    InstallResult,
    UpdateLeafCertificate,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext

__all__ = ["Security"]

STORE_TIMEOUT_S = 5.0
"""How long the certificate store may take (the link answers InternalError after 10 s)."""
DEFAULT_MAX_CHAIN_SIZE = 10_000
RENEW_CHECK_DELAY_S = 60.0
RENEW_CHECK_INTERVAL_S = 12 * 3600.0
RENEW_BEFORE = dt.timedelta(days=30)
INVALID_CHARGE_POINT_CERTIFICATE = "InvalidChargePointCertificate"
INVALID_CENTRAL_SYSTEM_CERTIFICATE = "InvalidCentralSystemCertificate"
INVALID_MANUFACTURER_ROOT = "InvalidManufacturerRootCertificate"
_TRIGGERED_BY_STATION = frozenset({"BootNotification", "Heartbeat", "MeterValues", "StatusNotification"})
_TRIGGERED_BY_FIRMWARE = {"FirmwareStatusNotification": "SignedFirmwareStatusNotification",
                          "LogStatusNotification": "LogStatusNotification"}
"""ExtendedTriggerMessage's requestedMessage → the notification the Firmware actor sends."""


class Security(SupervisedActor):
    """The certificate operations of the security extension (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        CallReceived: "_on_call",
        CallResultReceived: "_on_sign_answered",
        CallFailed: "_on_sign_answered",
        RegistrationChanged: "_on_registration_changed",
        CheckClientCertificate: "_on_check_client_certificate",
    }
    SUBSCRIBES = (RegistrationChanged,)
    OPERATIONS: ClassVar[Mapping[str, str]] = {
        "CertificateSigned": "_certificate_signed",
        "InstallCertificate": "_install_certificate",
        "DeleteCertificate": "_delete_certificate",
        "GetInstalledCertificateIds": "_get_installed_certificate_ids",
        "ExtendedTriggerMessage": "_extended_trigger_message",
    }

    def __init__(self, ctx: ActorContext, name: str, *, csms: str = "csms", station: str = "station",
                 store: str = SECURITY_REQUIREMENT, firmware: str = "firmware") -> None:
        super().__init__(ctx, name)
        self._csms, self._station, self._store, self._firmware = csms, station, store, firmware
        self._checking = False

    def started(self) -> None:
        if self.ctx.directory.get(self._csms) is not None:  # a restart of ours: the link may be registered
            try:
                stats = self.ctx.directory.ask(self._csms, GetLinkStats(), timeout=STORE_TIMEOUT_S)
            except (pykka.Timeout, pykka.ActorDeadError):
                return
            if stats.registration is Registration.ACCEPTED:
                self._arm_checks()

    # --- plumbing -----------------------------------------------------------------------------

    def _on_call(self, msg: CallReceived) -> None:
        method = self.OPERATIONS.get(msg.action)
        if method is None:
            text = f"Security does not own {msg.action}"
            raise TypeError(text)
        getattr(self, method)(msg)

    def _answer(self, msg: CallReceived, payload: Mapping[str, Any]) -> None:
        self.tell(self._csms, SendCallResult(message_id=msg.message_id, action=msg.action, payload=payload))

    def _ask_store(self, message: object) -> Any:
        """The store's reply, or None (logged) when it is not running, too slow, or failed (an
        exception in its handler comes back here): the CSMS then gets Failed / Rejected at once
        rather than an InternalError 10 s later."""
        try:
            return self.ctx.directory.ask(self._store, message, timeout=STORE_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - whatever the store did, this CALL is answered
            self.log.exception("the certificate store (%s) did not answer %s", self._store, type(message).__name__)
            return None

    def _security_event(self, event_type: str, info: str, *, critical: bool | None = None) -> None:
        self.tell(self._station, SecurityEvent(type=event_type, info=info, critical=critical))

    def _profile(self) -> int:
        return security_profile(self.ctx.config.get)

    # --- the client certificate ------------------------------------------------------------------

    def _request_certificate(self, why: str) -> bool:
        """Make a new key and CSR and send SignCertificate.req; False when that cannot be done."""
        cpo_name = str(self.ctx.config.get("CpoName", "") or "")
        if not cpo_name:
            self.log.warning("cannot ask for a client certificate (%s): CpoName is not set", why)
            return False
        made = self._ask_store(GenerateCsr(common_name=self.ctx.config.charge_point_id, organization=cpo_name))
        if made is None or not made.ok:
            self.log.error("no certificate signing request (%s): %s", why, made.detail if made else "no store")
            return False
        self.log.info("asking the CSMS to sign a new client certificate (%s)", why)
        self.tell(self._csms, SendCall(action="SignCertificate", payload={"csr": made.csr}, reply_to=self.name,
                                       correlation="sign"))
        return True

    def _on_sign_answered(self, msg: CallResultReceived | CallFailed) -> None:
        if isinstance(msg, CallFailed):
            self.log.warning("SignCertificate failed: %s %s", msg.kind.value, msg.description)
        elif msg.payload.get("status") == "Accepted":
            self.log.info("the CSMS accepted our certificate signing request; waiting for CertificateSigned")
        else:
            self.log.warning("the CSMS rejected our certificate signing request")

    def _certificate_signed(self, msg: CallReceived) -> None:
        chain = str(msg.payload["certificateChain"])
        limit = int(self.ctx.config.get("CertificateSignedMaxChainSize", DEFAULT_MAX_CHAIN_SIZE) or DEFAULT_MAX_CHAIN_SIZE)
        if len(chain.encode()) > limit:
            self._answer(msg, {"status": "Rejected"})
            self._security_event(INVALID_CHARGE_POINT_CERTIFICATE,
                                 f"certificate chain of {len(chain.encode())} bytes, over CertificateSignedMaxChainSize {limit}")
            return
        updated = self._ask_store(UpdateLeafCertificate(certificate_chain=chain))
        if updated is None or updated.result is not InstallResult.ACCEPTED:
            self._answer(msg, {"status": "Rejected"})
            if updated is not None and updated.result is not InstallResult.WRITE_ERROR:
                self._security_event(INVALID_CHARGE_POINT_CERTIFICATE, f"{updated.result.value}: {updated.detail}")
            return
        self._answer(msg, {"status": "Accepted"})
        self.log.info("new client certificate installed (serial %s)", updated.serial_number)
        if self._profile() >= 3:
            self.tell(self._csms, ReconnectLink(reason=f"new client certificate (serial {updated.serial_number})"))

    def _on_registration_changed(self, msg: RegistrationChanged) -> None:
        if msg.status is Registration.ACCEPTED:
            self._arm_checks()

    def _arm_checks(self) -> None:
        if not self._checking:
            self._checking = True
            self.after(RENEW_CHECK_DELAY_S, CheckClientCertificate())

    def _on_check_client_certificate(self, _msg: CheckClientCertificate) -> None:
        self.after(RENEW_CHECK_INTERVAL_S, CheckClientCertificate())
        if self._profile() < 3:
            return
        info = self._ask_store(GetLeafCertificateInfo())
        if info is None or not info.installed or info.not_after is None:
            return
        if info.not_after - self.ctx.clock.now() < RENEW_BEFORE:
            self._request_certificate(f"the client certificate ends {info.not_after.isoformat()}")

    # --- CA certificates --------------------------------------------------------------------------

    def _install_certificate(self, msg: CallReceived) -> None:
        kind = CaCertificateType(msg.payload["certificateType"])
        limit = self.ctx.config.get("CertificateStoreMaxLength", None)
        installed = self._ask_store(InstallCaCertificate(
            certificate=str(msg.payload["certificate"]), certificate_type=kind,
            max_installed=int(limit) if isinstance(limit, int) and not isinstance(limit, bool) else None,
            replace_signed_by_installed=bool(self.ctx.config.get("AdditionalRootCertificateCheck", False))))
        if installed is None or installed.result is InstallResult.WRITE_ERROR:
            self._answer(msg, {"status": "Failed"})
            return
        if installed.result is InstallResult.ACCEPTED:
            self._answer(msg, {"status": "Accepted"})
            return
        self._answer(msg, {"status": "Rejected"})
        if installed.result is InstallResult.CERTIFICATE_STORE_MAX_LENGTH_EXCEEDED:
            return  # nothing wrong with the certificate
        info = f"{installed.result.value}: {installed.detail}"
        if kind is CaCertificateType.CSMS:
            self._security_event(INVALID_CENTRAL_SYSTEM_CERTIFICATE, info)
        else:
            self._security_event(INVALID_MANUFACTURER_ROOT, info, critical=False)

    def _delete_certificate(self, msg: CallReceived) -> None:
        raw: Mapping[str, Any] = msg.payload["certificateHashData"]  # type: ignore[assignment]
        wanted = CertificateHashData(hash_algorithm=str(raw["hashAlgorithm"]), issuer_name_hash=str(raw["issuerNameHash"]),
                                     issuer_key_hash=str(raw["issuerKeyHash"]), serial_number=str(raw["serialNumber"]))
        uses_tls = self._profile() >= 2 or uri_scheme(self.ctx.config.central_system_uri) == "wss"
        deleted = self._ask_store(DeleteCertificate(hash_data=wanted, keep_last_csms_root=uses_tls))
        if deleted is None:
            self._answer(msg, {"status": "Failed"})
            return
        if deleted.detail:
            self.log.info("DeleteCertificate %s: %s", deleted.result.value, deleted.detail)
        self._answer(msg, {"status": deleted.result.value})

    def _get_installed_certificate_ids(self, msg: CallReceived) -> None:
        kind = CaCertificateType(msg.payload["certificateType"])
        installed = self._ask_store(GetInstalledCertificates(certificate_types=(kind,)))
        if installed is None:
            self.tell(self._csms, SendCallError(message_id=msg.message_id, error_code="InternalError",
                                                description="the certificate store did not answer"))
            return
        if not installed.certificates:
            self._answer(msg, {"status": "NotFound"})
            return
        self._answer(msg, {"status": "Accepted", "certificateHashData": [
            {"hashAlgorithm": c.hash_data.hash_algorithm, "issuerNameHash": c.hash_data.issuer_name_hash,
             "issuerKeyHash": c.hash_data.issuer_key_hash, "serialNumber": c.hash_data.serial_number}
            for c in installed.certificates]})

    # --- ExtendedTriggerMessage ---------------------------------------------------------------------

    def _extended_trigger_message(self, msg: CallReceived) -> None:
        wanted = str(msg.payload["requestedMessage"])
        if wanted in _TRIGGERED_BY_STATION:
            if not self.tell(self._station, CallReceived(message_id=msg.message_id, action="TriggerMessage",
                                                         payload=msg.payload)):
                self._answer(msg, {"status": "Rejected"})
            return
        if wanted in _TRIGGERED_BY_FIRMWARE:
            if self.ctx.directory.get(self._firmware) is None:
                self._answer(msg, {"status": "NotImplemented"})
                return
            self._answer(msg, {"status": "Accepted"})
            self.tell(self._firmware, ReportTransferStatus(action=_TRIGGERED_BY_FIRMWARE[wanted]))
            return
        if wanted != "SignChargePointCertificate":
            self._answer(msg, {"status": "NotImplemented"})
            return
        if not self.ctx.config.get("CpoName", ""):
            self.log.warning("SignChargePointCertificate rejected: CpoName is not set")
            self._answer(msg, {"status": "Rejected"})
            return
        self._answer(msg, {"status": "Accepted"})  # the link sends our CALL only after this answer
        self._request_certificate("ExtendedTriggerMessage")
