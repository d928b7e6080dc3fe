"""Messages of the ``system`` requirement (the charger's operating system side) and of the
reset sequence the supervisor runs.

The embedded simulator plays the system module; on MQTT it is another EVerest module.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["ResetDelayOver", "ResetKind", "ResetWaitOver", "SystemReset"]


class ResetKind(enum.Enum):
    """OCPP 1.6 ResetType; the StopTransaction reason of a reset is ``<value>Reset``."""

    SOFT = "Soft"
    HARD = "Hard"


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemReset:
    """Command (tell, reset sequence → system): reset the charger now (hard reset: the system
    reboots the hardware; this process exits for systemd to start it again)."""

    kind: ResetKind


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetWaitOver:
    """Timer: WaitForStopTransactionsOnResetTimeout passed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetDelayOver:
    """Timer: ResetStopDelay passed; the reset happens now."""
