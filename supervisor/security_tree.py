"""The security part of the actor tree: the embedded evse_security module (the certificate
store) and the Security actor that owns the certificate operations of the CSMS.

Kept here so :mod:`supervisor.tree` takes them with one line. Both start after the EVSEs
and before the CSMS link (the link routes CertificateSigned & co. to ``security``); the store
first, because Security asks it. On an MQTT charger whose ``Connections`` name a ``security``
module, :class:`actors.remote_security.RemoteSecurity` takes the store's name
(:data:`messages.security.SECURITY_REQUIREMENT`) and carries its requests over the bus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.evse_security import EvseSecurity
from actors.remote_security import RemoteSecurity
from actors.security import Security
from messages.security import SECURITY_REQUIREMENT

if TYPE_CHECKING:
    from actors.base import SupervisedActor

__all__ = ["security_children"]


def security_children(*, remote: bool = False) -> list[tuple[str, type[SupervisedActor], dict[str, Any]]]:
    """(name, actor class, arguments) of the two actors, in start order; ``remote``: the store
    is a security module on the bus (RemoteSecurity stands for it)."""
    return [(SECURITY_REQUIREMENT, RemoteSecurity if remote else EvseSecurity, {}), ("security", Security, {})]
