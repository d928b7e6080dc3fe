"""``ocpp-cp demo``: the pure parts (table, script, checks) directly, the whole demo as a
process with its output piped, against the bundled CSMS and against one of ours."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from messages.station import EvseStateChanged
from supervisor.cli import main
from supervisor.demo_csms import csms_check
from supervisor.demo_script import Command, SessionScript, Timing, acknowledged_stop
from supervisor.demo_view import progress_line, row_text, table_lines
from supervisor.local_csms import CallErrorReply, Received

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]


def view(evse_id: int, status: str = "Available", **fields: object) -> EvseStateChanged:
    return EvseStateChanged(evse_id=evse_id, status=status, **fields)  # type: ignore[arg-type]


def demo(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "supervisor.cli", "--log-level", "WARNING", "demo",
                             "--charge-seconds", "2", "--set", "TracePath=", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str], timeout: float = 45) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return process.returncode, out, err


# --- the table --------------------------------------------------------------------------


def test_a_row_shows_status_transaction_energy_and_last_action():
    row = row_text(2, view(2, "Charging", transaction_id=17, energy_wh=1234.0, transaction_active=True,
                           last_action="MeterValues"))
    assert row.split() == ["2", "Charging", "17", "1.234", "MeterValues"]
    assert row.split() == row_text(2, view(2, "Charging", transaction_id=17, energy_wh=1234.0,
                                           last_action="MeterValues"), color=False).split()


def test_an_idle_evse_and_one_not_heard_from_yet():
    table = table_lines({1: view(1, last_action="StatusNotification")}, 2, width=80, height=10)
    assert table[0].split() == ["EVSE", "status", "tx", "id", "kWh", "last", "OCPP", "action"]
    assert table[1].split() == ["1", "Available", "-", "-", "StatusNotification"]
    assert table[2].split() == ["2", "?", "-", "-", "-"]


def test_a_fault_shows_its_error_code_and_colours_only_when_asked():
    faulted = {1: view(1, "Faulted", error_code="GroundFailure")}
    plain = table_lines(faulted, 1)
    assert "Faulted Groun" in plain[1] and "\x1b" not in "".join(plain)
    assert "\x1b[31m" in table_lines(faulted, 1, color=True)[1]


def test_many_evses_go_side_by_side_and_what_does_not_fit_is_counted():
    views = {i: view(i, "Charging", transaction_id=i, energy_wh=10.0 * i) for i in range(1, 129)}
    lines = table_lines(views, 128, width=120, height=20)
    assert len(lines) <= 20 and all(len(line) <= 120 for line in lines)
    assert lines[0].count("EVSE") == 2  # two blocks
    assert lines[-1].startswith("… and ") and "more EVSEs" in lines[-1]
    shown = int(lines[-1].split()[2])
    assert sum(line.count("Charging") for line in lines) == 128 - shown
    assert table_lines(views, 8, width=120, height=20)[0].count("EVSE") == 1  # 8 fit in one column


def test_a_progress_line_is_plain_text():
    line = progress_line(0.0, view(2, "Charging", transaction_id=5, energy_wh=120.0, last_action="StartTransaction"))
    assert line.split()[1:] == ["EVSE", "2", "Charging", "tx", "5", "0.120", "kWh", "StartTransaction"]


# --- the script and the checks -----------------------------------------------------------


def test_a_stop_counts_once_the_evse_drops_the_stopped_transaction():
    stopped = view(1, transaction_id=4, transaction_active=False)
    assert acknowledged_stop(stopped, view(1)) == 4
    assert acknowledged_stop(view(1, transaction_id=4, transaction_active=True), view(1)) is None
    assert acknowledged_stop(stopped, view(1, transaction_active=True)) is None  # the next one began


def test_the_script_walks_a_session_and_waits_for_the_csms():
    script = SessionScript(1, Timing(charge_s=4), sessions=1, remote_stop=False)
    script.start(0.0)
    step = lambda now, v, acked=frozenset(): script.step(now, {1: v}, {1: acked}, lambda: False)  # noqa: E731
    assert step(0.0, view(1)) == [Command(1, "plug_in")]
    assert step(1.0, view(1, "Preparing")) == [Command(1, "swipe", id_tag="DEMO-1")]
    charging = view(1, "Charging", transaction_id=9, transaction_active=True)
    assert step(2.0, charging) == []  # charging now, for 4 s × (0.7, 1.0 or 1.3)
    assert step(20.0, charging)[0].action in ("swipe", "plug_out")
    assert step(21.0, view(1, "Finishing", transaction_id=9)) == []  # no answer yet
    step(22.0, view(1, "Finishing"), frozenset({9}))
    step(30.0, view(1))
    assert script.done and script.completed == 1 and not script.failures


def test_the_script_calls_a_start_the_idle_link_never_answered_a_failure():
    timing = Timing(charge_s=4)
    script = SessionScript(1, timing, sessions=1)
    script.start(0.0)
    no_id = {1: view(1, "Charging", transaction_active=True)}
    commands = [c for tick in range(100) for c in script.step(tick / 10, no_id, {}, lambda: True)]
    assert [c.action for c in commands] == ["plug_in", "swipe", "plug_out"]
    assert script.failures == ["EVSE 1: session 1 never started at the CSMS (no transaction id)"]
    assert script.done and script.completed == 0


def test_the_script_waits_while_the_link_is_busy():
    script = SessionScript(1, Timing(charge_s=4), sessions=1)
    script.start(0.0)
    no_id = {1: view(1, "Charging", transaction_active=True)}
    for tick in range(300):  # 30 s of a CSMS that takes its time
        script.step(tick / 10, no_id, {}, lambda: False)
    assert not script.failures
    script.step(50.0, no_id, {}, lambda: False)  # but not for ever
    assert script.failures


def test_the_csms_check_names_the_first_missing_session():
    def got(action: str, **payload: object) -> Received:
        return Received("CP001", "m", action, payload, "", 0.0)
    received = [got("StartTransaction", connectorId=1), got("StopTransaction", transactionId=1),
                got("StartTransaction", connectorId=2)]
    assert csms_check(received, {1: {1}, 2: {2}}, 2, 1) == "EVSE 2: session 1 never stopped at the CSMS"
    assert csms_check(received, {1: {1}}, 1, 2) == "EVSE 1: session 2 never started at the CSMS"
    assert csms_check(received[:2], {1: {1}}, 1, 1) is None


def test_frames_need_the_bundled_csms(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--frames", "--csms", "ws://127.0.0.1:9/"])
    assert exit_.value.code == 2
    assert "--frames" in capsys.readouterr().err


# --- the demo as a process ----------------------------------------------------------------


def test_bundled_csms_sessions_end_with_exit_0_and_plain_progress_lines():
    code, out, err = finish(demo("--evses", "3", "--sessions", "1"))
    assert code == 0, err
    assert "\x1b" not in out
    for evse_id in (1, 2, 3):
        assert any(f" EVSE {evse_id} Charging tx " in line for line in out.splitlines()), out
    assert out.splitlines()[-1] == "demo: 3 session(s) on 3 EVSE(s) started and stopped at the CSMS"


def test_an_external_csms_sees_one_transaction_per_evse(csms):
    code, _out, err = finish(demo("--evses", "3", "--sessions", "1", "--csms", csms.url))
    assert code == 0, err
    starts = [r.payload for r in csms.received if r.action == "StartTransaction"]
    stops = [r.payload for r in csms.received if r.action == "StopTransaction"]
    assert sorted(p["connectorId"] for p in starts) == [1, 2, 3]
    assert len(stops) == 3 and len({p["transactionId"] for p in stops}) == 3


def test_a_csms_refusing_start_transaction_fails_the_run_with_one_line(csms):
    csms.set_reply("StartTransaction", CallErrorReply("InternalError"))
    code, _out, err = finish(demo("--evses", "2", "--sessions", "1", "--csms", csms.url))
    assert code not in (0, None)
    reasons = [line for line in err.splitlines() if line.startswith("ocpp-cp demo:")]
    assert len(reasons) == 1, err
    assert "never started at the CSMS" in reasons[0] and "EVSE" in reasons[0]


def test_sigterm_stops_a_repeating_demo_cleanly():
    process = demo("--evses", "2")
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if " Charging tx " in line:
                break
        process.send_signal(signal.SIGTERM)
        code, out, err = finish(process, timeout=20)
    finally:
        process.kill()
    assert code == 0, err
    assert out.splitlines()[-1].startswith("demo stopped (SIGTERM)")


def test_on_a_terminal_the_table_is_live_and_ctrl_c_gives_the_terminal_back():
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120", "LINES": "30"}
    process = subprocess.Popen([sys.executable, "-m", "supervisor.cli", "--log-level", "WARNING", "demo",
                                "--evses", "2", "--charge-seconds", "2", "--set", "TracePath="], cwd=REPO, env=env,
                               stdout=follower, stderr=subprocess.PIPE, text=True)
    os.close(follower)
    screen, deadline = b"", time.monotonic() + 30
    try:
        while b"Charging" not in screen and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.5)[0]:
                screen += os.read(leader, 65536)
        process.send_signal(signal.SIGINT)
        while process.poll() is None or select.select([leader], [], [], 0.2)[0]:
            try:
                screen += os.read(leader, 65536)
            except OSError:  # the process closed its end
                break
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        os.close(leader)
    text = screen.decode()
    assert text.startswith("\x1b[?1049h\x1b[?25l")  # alternate screen, cursor hidden
    assert "\x1b[32mCharging" in text  # the live table, in colour
    after = text.split("\x1b[?25h\x1b[?1049l", 1)[1]  # cursor shown, screen restored...
    assert "\x1b" not in after  # ...then the final table and the summary in plain text
    assert "demo stopped (SIGINT)" in after and "EVSE" in after
