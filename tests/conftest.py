"""Fixtures shared by every test: real peers on loopback and a charge point factory.

Each charge point gets its own database, message log and user config under ``tmp_path``
and a :class:`ManualClock`, so no test waits on a real timer.
"""

from __future__ import annotations

import json
import shutil
import time
from typing import TYPE_CHECKING, Any

import pykka
import pytest

from actors.clock import ManualClock
from messages.csms import GetLinkStats
from peers.strict import StrictCsms
from supervisor.app import ChargePointApp
from supervisor.config import load_charge_point_config, load_module_config
from supervisor.local_csms import LocalCsms

from collections.abc import Callable

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

CP_ID = "CP001"


def wait_until(condition: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``condition`` in real time; for state that the peers expose no event for."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout} s waiting for {what}"
            raise AssertionError(msg)
        time.sleep(0.002)


def wait_idle(app: ChargePointApp, timeout: float = 5.0) -> None:
    """Wait until the charge point's CSMS link has nothing queued, in flight or unanswered,
    so that moving the manual clock cannot time out a CALL that is merely slow."""
    wait_until(lambda: not app.directory.ask("csms", GetLinkStats()).busy, timeout, "an idle CSMS link")


def run_for(clock: ManualClock, app: ChargePointApp, seconds: float, step: float = 1.0) -> None:
    """Move the manual clock in steps, letting the whole charge point react to each step before
    the next, as it would on a real clock."""
    moved = 0.0
    while moved < seconds:
        clock.advance(min(step, seconds - moved))
        moved += step
        settle(app)


def settle(app: ChargePointApp, timeout: float = 10.0) -> None:
    """Wait until the charge point is quiet (every message handled, and what that caused) and its
    CSMS link idle (no answer still on the network)."""
    deadline = time.monotonic() + timeout
    while True:
        app.wait_quiet(timeout)
        if not app.directory.ask("csms", GetLinkStats()).busy:
            app.wait_quiet(timeout)
            return
        if time.monotonic() > deadline:
            msg = "the CSMS link stayed busy"
            raise AssertionError(msg)
        time.sleep(0.001)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def csms() -> Iterator[LocalCsms]:
    """The project's scriptable CSMS (ocpp + websockets) on a free loopback port."""
    server = LocalCsms().start()
    yield server
    server.stop()


@pytest.fixture
def strict_csms() -> Iterator[StrictCsms]:
    """The independent strict CSMS (npm ocpp-rpc); any strict validation failure fails the test."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed: run deploy/setup.sh --test")
    server = StrictCsms().start()
    yield server
    try:
        server.assert_no_strict_failures()
    finally:
        server.stop()


@pytest.fixture
def make_charge_point(tmp_path: Path, clock: ManualClock) -> Iterator[Callable[..., ChargePointApp]]:
    """Factory: ``make_charge_point(url, evses=1, keys={...}, options={...})`` → started app.

    ``keys`` is a user-config patch ({"Core": {"HeartbeatInterval": 60}}); ``options`` are
    module options. Every app made here is stopped at teardown.
    """
    apps: list[ChargePointApp] = []

    def make(url: str, *, evses: int = 1, keys: dict[str, Any] | None = None,
             options: dict[str, Any] | None = None, start: bool = True,
             clock_: ManualClock | None = None) -> ChargePointApp:
        patch = {"Internal": {"CentralSystemURI": url, "ChargePointId": CP_ID}}
        for profile, values in (keys or {}).items():
            patch.setdefault(profile, {}).update(values)
        user_config = tmp_path / "user_config.json"
        user_config.write_text(json.dumps(patch))
        overrides = {"EvseCount": evses, "DatabasePath": tmp_path / "db", "MessageLogPath": tmp_path / "log",
                     "UserConfigPath": user_config, **(options or {})}
        module = load_module_config(None, [f"{k}={v}" for k, v in overrides.items()])
        app = ChargePointApp(module, load_charge_point_config(module), clock=clock_ or clock)
        apps.append(app)
        if start:
            app.start()
        return app

    yield make
    for app in apps:
        app.stop()
    pykka.ActorRegistry.stop_all(timeout=5)
