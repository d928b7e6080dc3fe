"""kill -9 of the whole charge point at chosen and random points, then a restart on the same
database: the CSMS's ledger must show nothing lost and no unexplained duplicate."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from conftest import wait_until
from soak.ledger import Ledger, idempotent_start_transaction
from soak.run import ChargePointProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def ledger_csms(csms):
    idempotent_start_transaction(csms)
    return csms


@pytest.fixture
def charge_point(ledger_csms, tmp_path):
    process = ChargePointProcess(tmp_path, ledger_csms.url, evses=2, charge_seconds=7)
    yield process
    process.close()


def finish_and_check(csms, charge_point):
    """A last run that must complete a session on every EVSE, then the ledger."""
    assert charge_point.start("--sessions", "1").wait(timeout=60) == 0
    report = Ledger(csms.received, [c.at for c in csms.closed]).check()
    assert report.ok, report.lines()
    return report


def test_kill_in_the_middle_of_sessions_stops_them_with_power_loss(ledger_csms, charge_point):
    charge_point.start()
    wait_until(lambda: ledger_csms.count("StartTransaction") >= 2 and ledger_csms.count("MeterValues") >= 1, 30)
    charge_point.kill()
    report = finish_and_check(ledger_csms, charge_point)
    reasons = [r.payload["reason"] for r in ledger_csms.received if r.action == "StopTransaction"]
    assert reasons.count("PowerLoss") >= 2
    assert report.transactions >= 4


def test_kill_right_after_the_csms_answered_a_stop(ledger_csms, charge_point):
    """The window between the CALLRESULT and the delete: the Stop may come again, explained."""
    killed = []

    def answer_then_kill(_cp_id, _payload):
        if not killed and charge_point.process is not None:
            killed.append(charge_point.process.pid)
            os.kill(charge_point.process.pid, signal.SIGKILL)  # the answer may or may not get out first
        return {"idTagInfo": {"status": "Accepted"}}

    ledger_csms.set_reply("StopTransaction", answer_then_kill)
    charge_point.start()
    wait_until(lambda: killed, 40, "a StopTransaction")
    charge_point.process.wait()
    ledger_csms.set_reply("StopTransaction", {"idTagInfo": {"status": "Accepted"}})
    finish_and_check(ledger_csms, charge_point)


def test_kills_at_random_points(ledger_csms, charge_point):
    rng = random.Random(os.environ.get("KILL_SEED", time.time_ns()))
    charge_point.start()
    for _ in range(3):
        time.sleep(rng.uniform(0.5, 4.0))
        charge_point.kill()
        charge_point.start()
    wait_until(lambda: ledger_csms.count("StartTransaction") >= 1, 30)
    charge_point.kill()
    finish_and_check(ledger_csms, charge_point)
