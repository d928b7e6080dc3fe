"""RemoteSecurity: the ``evse_security`` requirement (the certificate store), served by a module on the bus.

On an MQTT charger whose ``Connections`` name a ``security`` module, this actor runs under the
name of the embedded store, :data:`messages.security.SECURITY_REQUIREMENT`, so the Security and
Firmware actors are the same either way: they ask it the requests of :mod:`messages.security`
and get the same replies. Each request becomes one of EVerest's evse_security commands
(``generate_certificate_signing_request``, ``update_leaf_certificate``, ``install_ca_certificate``,
``delete_certificate``, ``get_installed_certificates``, ``verify_certificate``,
``get_leaf_certificate_info``; codec ``messages.everest``, contract ``docs/mqtt-bus.md``).

Answering an ask means waiting for a CmdResult, which a mailbox cannot deliver while its
handler runs; so, like RemoteDataTransfer, it waits on a future the bus completes
(:func:`actors.bus_wait.call_and_wait`), less than the askers' 5 s, so the log says why.
A call that fails (timeout, an error result, an unreadable result, the bus not running)
raises; the asker answers the CSMS Failed / Rejected and logs why, as when the embedded store fails.

Answers (ask): GenerateCsr → CsrGenerated, UpdateLeafCertificate → LeafCertificateUpdated,
InstallCaCertificate → CaCertificateInstalled, DeleteCertificate → CertificateDeleted,
GetInstalledCertificates → InstalledCertificates, VerifyCertificate → CertificateVerified,
GetLeafCertificateInfo → LeafCertificateInfo. Emits: BusCall (to the bus).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from actors.bus_wait import RemoteCallError, call_and_wait
from messages import everest
from messages.security import (
    DeleteCertificate,
    GenerateCsr,
    GetInstalledCertificates,
    GetLeafCertificateInfo,
    InstallCaCertificate,
    UpdateLeafCertificate,
    VerifyCertificate,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext

__all__ = ["RemoteSecurity"]


class RemoteSecurity(SupervisedActor):
    """The evse_security requirement over the bus (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {
        GenerateCsr: "_on_request",
        UpdateLeafCertificate: "_on_request",
        InstallCaCertificate: "_on_request",
        DeleteCertificate: "_on_request",
        GetInstalledCertificates: "_on_request",
        VerifyCertificate: "_on_request",
        GetLeafCertificateInfo: "_on_request",
    }

    def __init__(self, ctx: ActorContext, name: str, *, bus: str = "bus") -> None:
        super().__init__(ctx, name)
        self._bus = bus

    def _on_request(self, msg: object) -> object:
        call = everest.call_for(msg)
        retval = call_and_wait(self.tell, self._bus, call, correlation=call.cmd)
        try:
            reply = everest.security_reply_from_everest(msg, retval)
        except everest.BusFormatError as e:
            raise RemoteCallError(f"unreadable {call.cmd} result: {e.reason}") from None
        self.log.debug("%s answered %s", call.cmd, reply)
        return reply
