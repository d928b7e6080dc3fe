"""Reset (Soft and Hard): transactions stopped and answered first, then the delay, then the
restart (in-process for Soft, exit 75 for Hard); availability, queue and reservations kept.
OCTT TC_013 .. TC_016."""

from __future__ import annotations

import pytest

from conftest import CP_ID, settle, wait_idle, wait_until
from messages.station import GetEvseState
from messages.system import ResetDelayOver, ResetWaitOver
from scenarios.steps import booted, start_charging, statuses, wait_status
from supervisor.exit_codes import EXIT_HARD_RESET
from supervisor.local_csms import NO_REPLY
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(60)


def reset(csms, kind):
    return csms.call(CP_ID, "Reset", {"type": kind})["status"]


def boots(csms):
    return csms.count("BootNotification")


@pytest.mark.parametrize("kind", ["Soft", "Hard"])
def test_reset_without_transaction_keeps_unavailable(kind, csms, clock, make_charge_point):
    """TC_013 / TC_014: Unavailable survives the reset."""
    app = make_charge_point(csms.url, evses=2)
    booted(csms, clock, app, evses=2)
    assert csms.call(CP_ID, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})["status"] == "Accepted"
    wait_status(csms, 1, "Unavailable")
    wait_idle(app)
    assert reset(csms, kind) == "Accepted"
    wait_until(app.reset_done.is_set, what="the reset")
    if kind == "Hard":
        assert app.finished.is_set() and app.exit_code == EXIT_HARD_RESET
        app = make_charge_point(csms.url, evses=2)  # what systemd does after exit 75
    else:
        assert not app.finished.is_set() and app.soft_resets == 1
    wait_until(lambda: boots(csms) == 2, what="a second BootNotification")
    wait_until(lambda: len(statuses(csms, 1)) == 3, what="connector 1 reported after the reset")
    assert statuses(csms, 1) == ["Available", "Unavailable", "Unavailable"]
    wait_idle(app)
    assert csms.call(CP_ID, "ChangeAvailability", {"connectorId": 1, "type": "Operative"})["status"] == "Accepted"
    wait_status(csms, 1, "Available")


@pytest.mark.parametrize("kind", ["Soft", "Hard"])
def test_reset_with_transaction_stops_it_first(kind, csms, clock, make_charge_point):
    """TC_015 / TC_016: StopTransaction(reason <kind>Reset) before the reboot."""
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    start_charging(csms, SimController(app.directory))
    wait_idle(app)
    assert reset(csms, kind) == "Accepted"
    stop = csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == f"{kind}Reset"
    wait_until(app.reset_done.is_set, what="the reset")
    if kind == "Hard":
        app = make_charge_point(csms.url)
    wait_until(lambda: boots(csms) == 2, what="a second BootNotification")
    booted(csms, clock, app)
    sim = SimController(app.directory)
    sim.plug_in(1)
    wait_status(csms, 1, "Preparing")
    assert csms.count("StopTransaction") == 1


def test_reset_during_four_transactions_waits_for_their_answers_then_the_delay(csms, clock, make_charge_point):
    """The issue's 'done when': four StopTransactions answered before the restart, which
    comes ResetStopDelay seconds later on the injected clock."""
    app = make_charge_point(csms.url, evses=4, options={"ResetStopDelay": 7})
    booted(csms, clock, app, evses=4)
    sim = SimController(app.directory)
    for evse in range(1, 5):
        start_charging(csms, sim, evse, tag=f"TAG{evse}")
    settle(app)
    assert reset(csms, "Soft") == "Accepted"
    wait_until(lambda: csms.count("StopTransaction") == 4, what="four StopTransactions")
    settle(app)
    delay = clock.wait_for_timer(lambda m: isinstance(m, ResetDelayOver))
    assert {r.payload["reason"] for r in csms.received if r.action == "StopTransaction"} == {"SoftReset"}
    for evse in range(1, 5):  # each StopTransaction answered: nothing waits for the CSMS any more
        state = app.directory.ask(f"evse/{evse}", GetEvseState())
        assert not state.transaction_active and not state.stop_unconfirmed
    clock.advance(6.9)
    settle(app)
    assert boots(csms) == 1 and not app.reset_done.is_set()
    clock.advance(0.1)
    wait_until(app.reset_done.is_set, what="the reset")
    wait_until(lambda: boots(csms) == 2, what="a second BootNotification")
    assert delay is not None


def test_unanswered_stop_transactions_wait_at_most_the_timeout_and_stay_queued(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys={"Internal": {"WaitForStopTransactionsOnResetTimeout": 20}})
    booted(csms, clock, app)
    start_charging(csms, SimController(app.directory))
    settle(app)
    csms.set_reply("StopTransaction", NO_REPLY)
    assert reset(csms, "Soft") == "Accepted"
    csms.wait_for("StopTransaction")
    clock.wait_for_timer(lambda m: isinstance(m, ResetWaitOver))
    clock.advance(19)
    app.wait_quiet()
    assert not app.reset_done.is_set()
    clock.advance(1)
    wait_until(app.reset_done.is_set, what="the reset after the timeout")
    csms.set_reply("StopTransaction", {"idTagInfo": {"status": "Accepted"}})
    wait_until(lambda: boots(csms) == 2, what="a second BootNotification")
    wait_until(lambda: csms.count("StopTransaction") == 2, what="the queued StopTransaction sent again")
    first, again = [r.payload for r in csms.received if r.action == "StopTransaction"]
    assert again == first


def test_second_reset_while_one_runs_is_rejected(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, options={"ResetStopDelay": 30})
    booted(csms, clock, app)
    assert reset(csms, "Soft") == "Accepted"
    assert reset(csms, "Hard") == "Rejected"
    clock.wait_for_timer(lambda m: isinstance(m, ResetDelayOver))
    clock.advance(30)
    wait_until(app.reset_done.is_set, what="the reset")
    assert app.soft_resets == 1 and not app.finished.is_set()


def test_reservation_survives_a_soft_reset(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys={"Core": {"SupportedFeatureProfiles": "Core,Reservation"}})
    booted(csms, clock, app)
    expiry = "2099-01-01T00:00:00Z"
    assert csms.call(CP_ID, "ReserveNow", {"connectorId": 1, "expiryDate": expiry, "idTag": "TAG1",
                                           "reservationId": 7})["status"] == "Accepted"
    wait_status(csms, 1, "Reserved")
    settle(app)
    assert reset(csms, "Soft") == "Accepted"
    wait_until(app.reset_done.is_set, what="the reset")
    wait_until(lambda: boots(csms) == 2, what="a second BootNotification")
    wait_until(lambda: len(statuses(csms, 1)) == 3, what="connector 1 after the reset")
    assert statuses(csms, 1)[-1] == "Reserved"
    assert csms.call(CP_ID, "CancelReservation", {"reservationId": 7})["status"] == "Accepted"
