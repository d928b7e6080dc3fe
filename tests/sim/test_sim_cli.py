"""``ocpp-cp sim`` as an operator runs it: its own process on a real broker, real signals, exit
codes, and one line for a bad argument."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from messages import everest
from peers.mosquitto_fixture import mosquitto  # noqa: F401
from sim.fake_ocpp import FakeOcpp
from supervisor.cli import EXIT_CONFIG, main

if TYPE_CHECKING:
    from peers.mosquitto import Mosquitto

pytestmark = pytest.mark.timeout(90)

REPO = Path(__file__).resolve().parents[2]


def ocpp_cp(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "supervisor.cli", *args], cwd=REPO, env=env,  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sim_process_answers_ready_takes_control_topics_and_stops_on_sigterm(mosquitto: Mosquitto) -> None:  # noqa: F811
    ocpp = FakeOcpp(mosquitto.port).start()
    process = ocpp_cp("sim", "--mqtt", f"127.0.0.1:{mosquitto.port}", "--evses", "2")
    try:
        ocpp.wait(lambda: ocpp.readies("sim") >= 1, "the simulator's ModuleReady", timeout=30)
        state = ocpp.call("evse_manager_2", "get_session_state", {})
        assert everest.session_state_from_everest(2, state.retval).plugged is False
        ocpp.control(2, "plug_in")
        ocpp.wait_events(2, "SessionStarted")
        assert ocpp.events(1) == []
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        _out, err = process.communicate()
        ocpp.stop()
    assert "started as module sim" in err and "stopping" in err


@pytest.mark.parametrize(("args", "says"), [
    ((), "the following arguments are required: --mqtt"),
    (("--mqtt", "localhost"), "is not HOST:PORT"),
    (("--mqtt", "localhost:70000"), "is not HOST:PORT"),
    (("--mqtt", "localhost:1883", "--evses", "0"), "0 is not within 1..128"),
    (("--mqtt", "localhost:1883", "--evses", "many"), "--evses"),
    (("--mqtt", "localhost:1883", "--module-id", "a/b"), "cannot be a module id"),
    (("--mqtt", "localhost:1883", "--everest-prefix", "everest"), "is not a topic prefix"),
    (("--mqtt", "localhost:1883", "--frobnicate"), "unrecognized arguments: --frobnicate"),
])
def test_bad_arguments_exit_2_with_one_line(args: tuple[str, ...], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["sim", *args])
    except SystemExit as exit_:
        code = exit_.code
    assert code == EXIT_CONFIG
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ocpp-cp sim: error:") and says in err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["sim", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--mqtt HOST:PORT" in out and "--evses N" in out and "ocpp-cp/sim/<evse_id>/<command>" in out
