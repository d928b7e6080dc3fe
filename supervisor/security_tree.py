"""The security part of the actor tree: the embedded evse_security module (the certificate
store) and the Security actor that owns the certificate operations of the CSMS.

Kept here so :mod:`supervisor.tree` takes them with one line. Both start after the EVSEs
and before the CSMS link (the link routes CertificateSigned & co. to ``security``); the store
first, because Security asks it. On an MQTT charger the store stays embedded until a proxy for
EVerest's EvseSecurity takes the name :data:`messages.security.SECURITY_REQUIREMENT`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.evse_security import EvseSecurity
from actors.security import Security
from messages.security import SECURITY_REQUIREMENT

if TYPE_CHECKING:
    from actors.base import SupervisedActor

__all__ = ["security_children"]


def security_children() -> list[tuple[str, type[SupervisedActor], dict[str, Any]]]:
    """(name, actor class, arguments) of the two actors, in start order."""
    return [(SECURITY_REQUIREMENT, EvseSecurity, {}), ("security", Security, {})]
