"""Registration with the CSMS (BootNotification) and the Heartbeat interval, as pure decisions.

The BootNotification answer says where the charge point stands: Accepted starts the
Heartbeat (at the CSMS's interval, or HeartbeatInterval when it gives 0); Pending and
Rejected send BootNotification again after the interval (or BOOT_RETRY_S). A boot that got
no answer is retried after BOOT_RETRY_S, unless the link went down, which boots again on
the next connection anyway. The CSMS link arms the timers and sends the calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors.evse_logic import parse_iso
from messages.csms import FailureKind, Registration

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from messages.payload import Payload

__all__ = ["BOOT_RETRY_S", "BootAnswer", "boot_retry_after_failure", "read_boot_answer"]

BOOT_RETRY_S = 60
"""Retry interval for BootNotification when the CSMS gives none (interval 0) or fails."""


@dataclass(frozen=True, slots=True)
class BootAnswer:
    """What a BootNotification.conf means for the link."""

    status: Registration
    interval: int
    """The interval as the CSMS gave it (heartbeat or retry, seconds; may be 0)."""
    heartbeat_s: int
    """Accepted: the heartbeat interval to run, seconds (0 = none). 0 otherwise."""
    boot_retry_s: int
    """Pending or Rejected: seconds until BootNotification goes again. 0 when Accepted."""
    csms_time: datetime | None


def read_boot_answer(payload: Payload, get: Callable[[str, Any], Any]) -> BootAnswer:
    """Read a (schema-valid) BootNotification.conf; ``get(key, default)`` reads the
    configuration (HeartbeatInterval, when the CSMS accepts with an interval of 0)."""
    status = Registration(payload["status"])
    interval = int(payload["interval"])  # type: ignore[arg-type]
    if status is Registration.ACCEPTED:
        heartbeat_s, boot_retry_s = (interval if interval > 0 else int(get("HeartbeatInterval", 0) or 0)), 0
    else:
        heartbeat_s, boot_retry_s = 0, (interval if interval > 0 else BOOT_RETRY_S)
    return BootAnswer(status=status, interval=interval, heartbeat_s=heartbeat_s, boot_retry_s=boot_retry_s,
                      csms_time=parse_iso(str(payload.get("currentTime", ""))))


def boot_retry_after_failure(kind: FailureKind) -> int | None:
    """Seconds until BootNotification goes again after it failed, or None when it waits for
    the next connection (the link was lost)."""
    return None if kind is FailureKind.OFFLINE else BOOT_RETRY_S
