"""``ocpp-cp`` as an operator runs it: separate processes, real signals, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CP_ID, wait_until
from supervisor.cli import EXIT_CONFIG, EXIT_GAVE_UP, EXIT_HARD_RESET, main

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]


def ocpp_cp(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "supervisor.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def module_config(tmp_path: Path, url: str, **options: object) -> Path:
    user = tmp_path / "user_config.json"
    user.write_text(json.dumps({"Internal": {"CentralSystemURI": url, "ChargePointId": CP_ID}}))
    path = tmp_path / "module.json"
    path.write_text(json.dumps({"UserConfigPath": str(user), "DatabasePath": str(tmp_path / "db"),
                                "MessageLogPath": str(tmp_path / "log"), **options}))
    return path


def test_check_config_accepts_the_embedded_defaults(tmp_path, capsys):
    assert main(["check-config", "--set", f"UserConfigPath={tmp_path}/user.json"]) == 0
    assert "configuration OK" in capsys.readouterr().out


def test_bad_module_option_is_one_line_naming_file_key_and_rule(tmp_path, capsys):
    path = tmp_path / "module.json"
    path.write_text('{"EvseCount": 500}')
    assert main(["check-config", "--config", str(path)]) == EXIT_CONFIG
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err and "EvseCount" in err and "128" in err


def test_bad_user_config_value_names_the_user_config(tmp_path, capsys):
    user = tmp_path / "user.json"
    user.write_text('{"Core": {"HeartbeatInterval": "often"}}')
    assert main(["check-config", "--set", f"UserConfigPath={user}"]) == EXIT_CONFIG
    err = capsys.readouterr().err.strip()
    assert str(user) in err and "Core.HeartbeatInterval" in err


def test_bad_override_is_refused(capsys):
    assert main(["check-config", "--set", "DelayOcppStart=soon"]) == EXIT_CONFIG
    assert "--set" in capsys.readouterr().err


def test_sigterm_stops_the_tree_and_closes_the_websocket_cleanly(csms, tmp_path):
    process = ocpp_cp("run", "--config", str(module_config(tmp_path, csms.url, EvseCount=2)))
    try:
        csms.wait_for("BootNotification", timeout=20)
        wait_until(lambda: csms.count("StatusNotification") == 3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        wait_until(lambda: csms.closed, what="the connection to end")
        assert (csms.closed[0].code, csms.closed[0].reason) == (1000, "charge point stopping")
    finally:
        process.kill()
        _out, err = process.communicate()
    assert "stopping" in err


def test_websocket_control_by_signals(csms, tmp_path):
    process = ocpp_cp("run", "--config", str(module_config(tmp_path, csms.url, EnableExternalWebsocketControl=True)))
    try:
        csms.wait_for("BootNotification", timeout=20)
        process.send_signal(signal.SIGUSR1)
        wait_until(lambda: csms.closed, what="the websocket closed")
        assert len(csms.connections) == 1
        process.send_signal(signal.SIGUSR2)
        wait_until(lambda: len(csms.connections) == 2, what="the websocket back")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        _out, err = process.communicate()
    assert "websocket disconnect (external control)" in err


def test_hard_reset_ends_the_process_with_its_exit_code(csms, tmp_path):
    process = ocpp_cp("run", "--config", str(module_config(tmp_path, csms.url)))
    try:
        csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1, timeout=20)
        assert csms.call(CP_ID, "Reset", {"type": "Hard"}) == {"status": "Accepted"}
        assert process.wait(timeout=20) == EXIT_HARD_RESET
    finally:
        process.kill()
        _out, err = process.communicate()
    assert "exiting for the hard reset" in err


def test_a_tree_that_cannot_start_escalates_with_a_clear_exit(tmp_path):
    not_a_directory = tmp_path / "db-file"
    not_a_directory.write_text("")
    process = ocpp_cp("run", "--config", str(module_config(tmp_path, "ws://127.0.0.1:9/",
                                                         DatabasePath=str(not_a_directory))))
    try:
        assert process.wait(timeout=30) == EXIT_GAVE_UP
    finally:
        process.kill()
        _out, err = process.communicate()
    assert "restart intensity exceeded" in err
    assert "persistence" in err
