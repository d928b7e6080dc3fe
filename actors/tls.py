"""TLS of the CSMS link (security profiles 2 and 3): one SSL context per connection attempt,
and what a failed handshake means.

The context is built anew for every attempt from the live config and the certificate store
(:mod:`actors.certificates`), so a raised SecurityProfile, a new CSMS root or a renewed client
certificate applies from the next connection, with nothing cached. Its rules:

* TLS 1.2 at least (the OCPP 1.6 security whitepaper); TLS 1.3 when both sides can.
* The server certificate must verify (``CERT_REQUIRED``) against the CSMS root bundle, plus
  the system CA store when ``Internal.UseSslDefaultVerifyPaths`` (default true). A server
  certificate that does not verify ends the attempt before a byte of HTTP is sent (so no
  Basic-auth password reaches it) and is a security event.
* Server name: checked against the host of the URL (or ``Internal.HostName`` when set, which
  is also sent as SNI) when ``Internal.VerifyCsmsCommonName`` (default true); off, only the
  chain is verified. Wildcard names (``*.example.com``) are accepted only with
  ``Internal.VerifyCsmsAllowWildcards`` (default false, as libocpp).
* Ciphers: TLS 1.2 offers exactly ``Internal.SupportedCiphers12`` (OpenSSL names). Python's
  ``ssl`` cannot restrict what TLS 1.3 offers, so a TLS 1.3 handshake whose suite is not in
  ``Internal.SupportedCiphers13`` is refused right after the handshake, before anything is
  sent; an empty SupportedCiphers13 turns TLS 1.3 off, an empty SupportedCiphers12 TLS 1.2.
  (The schema gives both lists libocpp's defaults; a list that is not there at all leaves
  OpenSSL's defaults.)
* Profile 3 presents the client certificate chain and key of the store; profile 2 none (it
  authenticates with HTTP Basic).
* ``Internal.EnableTLSKeylog`` writes the session keys to ``Internal.TLSKeylogFile`` (debugging).

**What a failure is reported as.** The transport turns a handshake exception into the reason
text of ``SocketClosed`` with :func:`failure_reason`; when the failure is one the whitepaper
lists as a security event, the text starts with ``TLS[<event type>]`` and
:func:`security_event` reads it back. The classification travels inside the reason because
the reason is what a trace records, so a replay reaches the same security events.

=====================================  ===========================================================
the handshake ends with                 security event
=====================================  ===========================================================
the server certificate does not verify  InvalidCentralSystemCertificate (expired, unknown CA,
(``SSLCertVerificationError``)          wrong host name, wildcard not allowed, ...)
no common protocol version              InvalidTLSVersion
no common cipher suite, or a TLS 1.3    InvalidTLSCipherSuite (a TLS 1.2 ``handshake_failure``
suite outside SupportedCiphers13        alert is counted here: OpenSSL sends it for no shared cipher)
the server rejects our certificate      FailedToAuthenticateAtCentralSystem (as an HTTP 401 is)
(certificate alerts)
anything else (not TLS at all, reset)   none
=====================================  ===========================================================
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors.certificates import CertificateProblem

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from actors.certificates import CertificateStore, ClientCertificate

__all__ = [
    "MINIMUM_VERSION",
    "TlsPolicyError",
    "TlsSettings",
    "TlsSettingsError",
    "client_settings",
    "failure_reason",
    "security_event",
]

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2

INVALID_CERTIFICATE = "InvalidCentralSystemCertificate"
INVALID_VERSION = "InvalidTLSVersion"
INVALID_CIPHER = "InvalidTLSCipherSuite"
REJECTED_BY_CSMS = "FailedToAuthenticateAtCentralSystem"

_VERSION_REASONS = frozenset({"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE",
                              "WRONG_SSL_VERSION", "VERSION_TOO_LOW", "VERSION_TOO_HIGH"})
_CIPHER_REASONS = frozenset({"SSLV3_ALERT_HANDSHAKE_FAILURE", "NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE",
                             "TLSV1_ALERT_INSUFFICIENT_SECURITY", "NO_CIPHER_MATCH", "CIPHER_NOT_ALLOWED"})
_REJECTED_REASONS = frozenset({"TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_BAD_CERTIFICATE",
                               "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "SSLV3_ALERT_CERTIFICATE_EXPIRED",
                               "SSLV3_ALERT_CERTIFICATE_REVOKED", "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
                               "TLSV1_ALERT_UNKNOWN_CA", "TLSV1_ALERT_ACCESS_DENIED"})
_TAGGED = re.compile(r"TLS\[(\w+)\] (.*)", re.DOTALL)


class TlsSettingsError(Exception):
    """The config or the certificate store cannot make a TLS context (the message says why)."""


class TlsPolicyError(ssl.SSLError):
    """A handshake that succeeded with something our settings do not allow."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class TlsSettings:
    """What websocket-client needs for one wss:// attempt."""

    context: ssl.SSLContext
    server_hostname: str | None
    """Internal.HostName: the name to send (SNI) and check instead of the URL's host."""
    client_certificate: ClientCertificate | None
    """What profile 3 presents; None on profile 2."""

    def sslopt(self) -> dict[str, Any]:
        options: dict[str, Any] = {"context": self.context}
        if self.server_hostname:
            options["server_hostname"] = self.server_hostname
        return options


def _names(value: object) -> tuple[str, ...]:
    """A cipher list as the config holds it: a JSON array, or (leniently) a ``,``/``:`` list."""
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,:]", str(value or ""))
    return tuple(name for name in (str(item).strip() for item in items) if name)


def _checked_socket_class(allowed_13: frozenset[str]) -> type[ssl.SSLSocket]:
    class _CheckedSocket(ssl.SSLSocket):
        """Refuses a TLS 1.3 suite outside SupportedCiphers13 right after the handshake."""

        def do_handshake(self, block: bool = False) -> None:  # noqa: FBT001, FBT002 - ssl's signature
            super().do_handshake(block)
            cipher = self.cipher()
            if cipher is not None and cipher[1] == "TLSv1.3" and cipher[0] not in allowed_13:
                msg = f"the CSMS chose TLS 1.3 suite {cipher[0]}, which is not in SupportedCiphers13"
                raise TlsPolicyError("CIPHER_NOT_ALLOWED", msg)

    return _CheckedSocket


def client_settings(get: Callable[[str, Any], Any], store: CertificateStore, profile: int,
                    now: dt.datetime | None = None) -> TlsSettings:
    """The TLS settings of one attempt on ``profile`` (2 or 3); ``get(key, default)`` reads the
    config. Raises :class:`TlsSettingsError` when they cannot be made."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = MINIMUM_VERSION
    ciphers_12, ciphers_13 = get("SupportedCiphers12", None), get("SupportedCiphers13", None)
    if ciphers_12 is not None and ciphers_13 is not None and not _names(ciphers_12) and not _names(ciphers_13):
        msg = "SupportedCiphers12 and SupportedCiphers13 are both empty"
        raise TlsSettingsError(msg)
    if ciphers_12 is not None and _names(ciphers_12):
        try:
            context.set_ciphers(":".join(_names(ciphers_12)))
        except ssl.SSLError:
            msg = f"SupportedCiphers12 names no cipher OpenSSL knows: {', '.join(_names(ciphers_12))}"
            raise TlsSettingsError(msg) from None
    elif ciphers_12 is not None:
        context.minimum_version = ssl.TLSVersion.TLSv1_3
    if ciphers_13 is not None:
        if not _names(ciphers_13):
            context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.sslsocket_class = _checked_socket_class(frozenset(_names(ciphers_13)))

    roots = store.csms_roots()
    try:
        if roots:
            context.load_verify_locations(cafile=str(store.csms_root_bundle))
        if bool(get("UseSslDefaultVerifyPaths", True)):
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    except (ssl.SSLError, OSError) as exc:
        msg = f"the CSMS roots cannot be loaded: {exc}"
        raise TlsSettingsError(msg) from None
    if not roots and not bool(get("UseSslDefaultVerifyPaths", True)):
        msg = f"no CSMS root certificate in {store.csms_root_bundle} and UseSslDefaultVerifyPaths is false"
        raise TlsSettingsError(msg)
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = bool(get("VerifyCsmsCommonName", True))
    if not bool(get("VerifyCsmsAllowWildcards", False)):
        context._host_flags |= ssl._ssl.HOSTFLAG_NO_WILDCARDS  # type: ignore[attr-defined] # noqa: SLF001 - no public API

    client = None
    if profile >= 3:
        try:
            client = store.client_certificate(now)
        except CertificateProblem as exc:
            msg = f"no usable client certificate: {exc}"
            raise TlsSettingsError(msg) from None
        try:
            context.load_cert_chain(certfile=str(client.chain), keyfile=str(client.key))
        except (ssl.SSLError, OSError) as exc:
            msg = f"the client certificate cannot be loaded: {exc}"
            raise TlsSettingsError(msg) from None
    if bool(get("EnableTLSKeylog", False)) and get("TLSKeylogFile", ""):
        context.keylog_filename = str(get("TLSKeylogFile", ""))
    host_name = get("HostName", None)
    return TlsSettings(context=context, server_hostname=str(host_name) if host_name else None,
                       client_certificate=client)


def _classify(error: BaseException) -> str | None:
    if isinstance(error, ssl.SSLCertVerificationError):
        return INVALID_CERTIFICATE
    if not isinstance(error, ssl.SSLError):
        return None
    reason = str(getattr(error, "reason", "") or "")
    if reason in _VERSION_REASONS:
        return INVALID_VERSION
    if reason in _CIPHER_REASONS:
        return INVALID_CIPHER
    if reason in _REJECTED_REASONS:
        return REJECTED_BY_CSMS
    return None


def failure_reason(error: BaseException) -> str:
    """The reason text of an attempt that ended with ``error``: tagged with its security
    event when it has one (see the module docstring), else the exception as it is."""
    detail = f"{type(error).__name__}: {error}"
    event = _classify(error)
    return f"TLS[{event}] {detail}" if event else detail


def security_event(reason: str) -> tuple[str, str] | None:
    """(event type, details) of a reason made by :func:`failure_reason`; None if it has none."""
    match = _TAGGED.fullmatch(reason)
    return (match.group(1), match.group(2)) if match else None
