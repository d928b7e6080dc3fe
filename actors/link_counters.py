"""The CSMS link's counters (connections, CALLs sent, answers and their round trips).

Kept apart from the link so the statistics are one small thing to read: the link bumps the
counters as it works and answers GetLinkStats with :meth:`LinkCounters.stats`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from messages.csms import LinkStats, Registration

__all__ = ["RTT_SAMPLES", "LinkCounters"]

RTT_SAMPLES = 4096
"""How many of the latest round trips are kept."""


@dataclass(slots=True)
class LinkCounters:
    """What the link has done since it started (this incarnation)."""

    connects: int = 0
    """Successful websocket openings."""
    calls_sent: int = 0
    results_received: int = 0
    rtts: deque[float] = field(default_factory=lambda: deque(maxlen=RTT_SAMPLES))
    """Round trips of the latest answered CALLs, seconds, oldest first."""

    def result_received(self, rtt: float) -> None:
        """A CALL got a valid CALLRESULT after ``rtt`` seconds."""
        self.results_received += 1
        self.rtts.append(rtt)

    def stats(self, *, connected: bool, registration: Registration, busy: bool, queued: int) -> LinkStats:
        """The counters with the link's present state, as the GetLinkStats reply."""
        return LinkStats(connected=connected, registration=registration, connects=self.connects,
                         calls_sent=self.calls_sent, results_received=self.results_received,
                         rtts=tuple(self.rtts), busy=busy, queued=queued)
