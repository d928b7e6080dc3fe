"""Issue 9 as a new user tries it: broker, simulator and charge point as three processes, a
session driven by ``mosquitto_pub`` on the control topics, seen at the CSMS; and the broker
stopped and started again in the middle of a transaction."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CP_ID, wait_until
from peers.mosquitto_fixture import mosquitto  # noqa: F401

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]


def ocpp_cp(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "supervisor.cli", *args], cwd=REPO, env=env,  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def mosquitto_pub(port: int, topic: str, payload: dict) -> None:
    if shutil.which("mosquitto_pub") is None:
        pytest.fail("mosquitto_pub not found: deploy/setup.sh --test installs mosquitto-clients")
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic,  # noqa: S603, S607
                    "-m", json.dumps(payload)], check=True, timeout=10)


def module_config(tmp_path: Path, url: str, port: int, evses: int) -> Path:
    user = tmp_path / "user_config.json"
    user.write_text(json.dumps({"Internal": {"CentralSystemURI": url, "ChargePointId": CP_ID},
                                "Core": {"MeterValueSampleInterval": 1}}))
    path = tmp_path / "module.json"
    path.write_text(json.dumps({"UserConfigPath": str(user), "DatabasePath": str(tmp_path / "db"),
                                "MessageLogPath": str(tmp_path / "log"), "EvseCount": evses,
                                "MqttServerAddress": "127.0.0.1", "MqttServerPort": port}))
    return path


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=20)
    finally:
        process.kill()
        _out, err = process.communicate()
    assert code == 0, err[-3000:]
    return err


def test_a_session_driven_by_mosquitto_pub_reaches_the_csms(csms, mosquitto, tmp_path):  # noqa: F811
    sim = ocpp_cp("sim", "--mqtt", f"127.0.0.1:{mosquitto.port}", "--evses", "2")
    charge_point = ocpp_cp("run", "--config", str(module_config(tmp_path, csms.url, mosquitto.port, 2)))
    try:
        wait_until(lambda: csms.count("StatusNotification") >= 3, 30, "boot and three connector statuses")
        mosquitto_pub(mosquitto.port, "ocpp-cp/sim/2/plug_in", {})
        mosquitto_pub(mosquitto.port, "ocpp-cp/sim/2/swipe", {"id_tag": "TAG2"})
        start = csms.wait_for("StartTransaction", timeout=15)
        assert (start.payload["connectorId"], start.payload["idTag"]) == (2, "TAG2")
        meter = csms.wait_for("MeterValues", lambda p: p["connectorId"] == 2, timeout=15)
        assert "transactionId" in meter.payload
        mosquitto_pub(mosquitto.port, "ocpp-cp/sim/2/plug_out", {})
        stop_tx = csms.wait_for("StopTransaction", timeout=15)
        assert stop_tx.payload["reason"] == "EVDisconnected"
        wait_until(lambda: [r.payload["status"] for r in csms.received if r.action == "StatusNotification"
                            and r.payload["connectorId"] == 2][-1:] == ["Available"], 15, "connector 2 Available")
    finally:
        stop(charge_point)
        stop(sim)
    assert not csms.failures


def test_broker_restarted_during_a_transaction(csms, mosquitto, tmp_path):  # noqa: F811
    """The transaction still starts and stops correctly at the CSMS: what the simulator published
    while the broker was away comes through once it is back."""
    sim = ocpp_cp("sim", "--mqtt", f"127.0.0.1:{mosquitto.port}", "--evses", "1")
    charge_point = ocpp_cp("run", "--config", str(module_config(tmp_path, csms.url, mosquitto.port, 1)))
    try:
        wait_until(lambda: csms.count("StatusNotification") >= 2, 30, "boot and statuses")
        mosquitto_pub(mosquitto.port, "ocpp-cp/sim/1/plug_in", {})
        mosquitto_pub(mosquitto.port, "ocpp-cp/sim/1/swipe", {"id_tag": "TAG1"})
        csms.wait_for("StartTransaction", timeout=15)
        csms.wait_for("MeterValues", timeout=15)  # a meter reading has come over the bus
        mosquitto.stop(signal.SIGTERM)
        sent = csms.count("MeterValues")  # OCPP keeps running while the broker is away
        wait_until(lambda: csms.count("MeterValues") > sent, 15, "MeterValues while the broker is away")
        mosquitto.start()
        mosquitto_pub(mosquitto.port, "ocpp-cp/sim/1/swipe", {"id_tag": "TAG1"})  # stop by the same card
        stop_tx = csms.wait_for("StopTransaction", timeout=30)
        assert stop_tx.payload["reason"] == "Local"
        assert csms.count("StartTransaction") == 1
    finally:
        stop(charge_point)
        stop(sim)
    assert not csms.failures
