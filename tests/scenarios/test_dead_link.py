"""A link that goes silent is noticed and replaced (EVerest's open bug: it is not), and a
handshake that never completes is abandoned; both through a fault proxy on loopback."""

from __future__ import annotations

import pytest

from conftest import wait_idle, wait_until
from messages.csms import ConnectDue, ConnectTimedOut, GetLinkStats
from peers.fault_proxy import FaultProxy
from scenarios.steps import booted

pytestmark = pytest.mark.timeout(60)

FAST_RETRY = {"Internal": {"RetryBackoffWaitMinimum": 1, "RetryBackoffRandomRange": 0, "RetryBackoffRepeatTimes": 0}}


def link(app):
    return app.directory.ask("csms", GetLinkStats())


@pytest.fixture
def proxy(csms):
    with FaultProxy(csms.port) as running:
        yield running


def test_a_stalled_link_is_found_dead_by_ping_and_reconnected(csms, proxy, clock, make_charge_point):
    app = make_charge_point(proxy.url, keys={**FAST_RETRY, "Core": {"WebSocketPingInterval": 2}})
    booted(csms, clock, app)
    proxy.stall()  # the TCP connection stays up; nothing gets through, pongs included
    timer = clock.wait_for_timer(lambda m: isinstance(m, ConnectDue), timeout=20)  # real seconds: the pong wait
    assert not link(app).connected
    proxy.resume()
    clock.advance(timer.due - clock.monotonic())
    wait_until(lambda: link(app).connects == 2, 10, "a second connection")
    wait_idle(app)
    assert csms.count("BootNotification") == 1


def test_a_black_holed_handshake_is_abandoned_and_retried(csms, proxy, clock, make_charge_point):
    app = make_charge_point(proxy.url, keys=FAST_RETRY)
    booted(csms, clock, app)
    proxy.blackhole()
    proxy.cut()
    timer = clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
    clock.advance(timer.due - clock.monotonic())  # this attempt is swallowed by the black hole
    watchdog = clock.wait_for_timer(lambda m: isinstance(m, ConnectTimedOut))
    proxy.resume()
    clock.advance(watchdog.due - clock.monotonic())
    retry = clock.wait_for_timer(lambda m: isinstance(m, ConnectDue), timeout=10)
    clock.advance(retry.due - clock.monotonic())
    wait_until(lambda: link(app).connects == 2, 10, "a second connection")
