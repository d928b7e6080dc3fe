"""Requests to the Persistence actor (always ``ask`` with a timeout) and its replies.

Whatever must survive a crash or power loss goes through these before it is acknowledged
anywhere; a restarted actor rebuilds its state by asking them again.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AvailabilityReply", "GetAvailability", "StoreAvailability", "Stored"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GetAvailability:
    """Query (ask → :class:`AvailabilityReply`): the persisted availability of a connector."""

    connector_id: int
    """0 = the whole charge point."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AvailabilityReply:
    """Reply to :class:`GetAvailability`."""

    connector_id: int
    operative: bool
    """False when the CSMS made it Inoperative; connectors are Operative until told otherwise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreAvailability:
    """Request (ask → :class:`Stored`): remember a connector's availability durably."""

    connector_id: int
    operative: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Stored:
    """Reply: the write is committed to disk."""
