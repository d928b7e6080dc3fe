"""The link's counters and the GetLinkStats reply built from them."""

from __future__ import annotations

from actors.link_counters import RTT_SAMPLES, LinkCounters
from messages.csms import LinkStats, Registration


def test_stats_carry_the_counters_and_the_present_state() -> None:
    counters = LinkCounters()
    counters.connects += 1
    counters.calls_sent += 2
    counters.result_received(0.25)
    stats = counters.stats(connected=True, registration=Registration.ACCEPTED, busy=False, queued=3)
    assert stats == LinkStats(connected=True, registration=Registration.ACCEPTED, connects=1, calls_sent=2,
                              results_received=1, rtts=(0.25,), busy=False, queued=3)


def test_only_the_latest_round_trips_are_kept() -> None:
    counters = LinkCounters()
    for n in range(RTT_SAMPLES + 5):
        counters.result_received(float(n))
    assert counters.results_received == RTT_SAMPLES + 5
    assert len(counters.rtts) == RTT_SAMPLES
    assert counters.rtts[0] == 5.0
