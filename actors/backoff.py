"""Reconnect back-off timing, as a pure function (OCPP 1.6 security whitepaper / libocpp).

The first wait is RetryBackoffWaitMinimum plus a random part; each later wait doubles the
fixed part, RetryBackoffRepeatTimes times, and then stays constant. The random part
(0..RetryBackoffRandomRange s) spreads chargers out after a CSMS outage.
"""

from __future__ import annotations

__all__ = ["reconnect_delay"]


def reconnect_delay(attempt: int, *, wait_minimum: float, random_range: float,
                    repeat_times: int, random_fraction: float) -> float:
    """Seconds to wait before reconnect attempt number ``attempt`` (1 = first retry).

    Args:
        attempt: 1 for the first retry after a loss, 2 for the next, ...
        wait_minimum: RetryBackoffWaitMinimum.
        random_range: RetryBackoffRandomRange.
        repeat_times: RetryBackoffRepeatTimes: how many times the wait doubles.
        random_fraction: a number in [0, 1) from the caller's random source.
    """
    doublings = min(max(attempt, 1) - 1, max(repeat_times, 0))
    return wait_minimum * (2 ** doublings) + random_range * random_fraction
