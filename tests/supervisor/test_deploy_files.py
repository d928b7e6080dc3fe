"""What an operator installs from ``deploy/``: the systemd unit and the example configs.

The example configs go through the same loading as ``ocpp-cp check-config`` (and once through a
real ``ocpp-cp run``), and the unit is checked against the facts it depends on: the CLI's flags,
the exit codes, the reset wait and the paths of the example module config.
"""

from __future__ import annotations

import configparser
import inspect
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from conftest import wait_until
from supervisor.app import ChargePointApp
from supervisor.cli import EXIT_CONFIG, EXIT_GAVE_UP, _parser, main
from supervisor.config import MODULE_OPTIONS, load_charge_point_config, load_module_config, load_schema
from supervisor.local_csms import LocalCsms

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "ocpp-cp.service"
EXAMPLE_MODULE = DEPLOY / "examples" / "module-config.json"
EXAMPLE_CP = DEPLOY / "examples" / "charge-point-config.json"

EXIT_HARD_RESET = 75  # EX_TEMPFAIL: a Reset Hard from the CSMS; systemd must start us again


def module_example() -> dict:
    return json.loads(EXAMPLE_MODULE.read_text(encoding="utf-8"))


def cp_example() -> dict:
    return json.loads(EXAMPLE_CP.read_text(encoding="utf-8"))


def redirected(tmp_path: Path) -> list[str]:
    """``--set`` overrides that move the example's installed paths (/etc, /var) into tmp_path."""
    return [f"ChargePointConfigPath={EXAMPLE_CP}", f"UserConfigPath={tmp_path / 'user_config.json'}",
            f"DatabasePath={tmp_path / 'lib'}", f"MessageLogPath={tmp_path / 'log'}"]


def unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=True, interpolation=None, delimiters=("=",),
                                          comment_prefixes=("#", ";"), empty_lines_in_values=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"), source=str(UNIT))
    return parser


def seconds(value: str) -> float:
    """A systemd time span ("90", "90s", "1min 30s") in seconds."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value.strip())
    assert parts, f"not a time span: {value!r}"
    return sum(float(number) * units[unit_name] for number, unit_name in parts)


def exec_start_argv() -> list[str]:
    return shlex.split(unit()["Service"]["ExecStart"])


# ------------------------------------------------------------------------------- example configs


def test_the_example_configs_load_as_check_config_loads_them(tmp_path):
    options = load_module_config(EXAMPLE_MODULE, redirected(tmp_path))
    config = load_charge_point_config(options)
    assert config.charge_point_id == cp_example()["Internal"]["ChargePointId"]
    assert config.get("NumberOfConnectors") == options["EvseCount"] == module_example()["EvseCount"]


def test_check_config_accepts_the_examples(tmp_path, capsys):
    args = ["check-config", "--config", str(EXAMPLE_MODULE)]
    for override in redirected(tmp_path):
        args += ["--set", override]
    assert main(args) == 0
    assert "configuration OK: charge point CP0001, 2 EVSE(s)" in capsys.readouterr().out


def test_the_example_module_config_names_every_option_with_installed_paths():
    example = module_example()
    assert set(example) == set(MODULE_OPTIONS), "the example should show every module option"
    for name in ("ChargePointConfigPath", "UserConfigPath", "DatabasePath", "MessageLogPath"):
        assert PurePosixPath(example[name]).is_absolute(), name
    assert example["TracePath"] == ""
    assert example["ResetStopDelay"] > 0 and example["DelayOcppStart"] > 0


def test_the_example_charge_point_config_is_a_profile_1_charger_with_list_and_reservations():
    example = cp_example()
    profiles = example["Core"]["SupportedFeatureProfiles"].split(",")
    assert {"Core", "LocalAuthListManagement", "Reservation"} <= set(profiles)
    assert all(profile in example for profile in profiles)
    assert example["LocalAuthListManagement"]["LocalAuthListEnabled"] is True
    assert example["Security"]["SecurityProfile"] == 1
    assert len(example["Security"]["AuthorizationKey"]) >= 8
    assert example["Internal"]["CentralSystemURI"].startswith("ws://")  # profile 1: Basic auth, no TLS
    assert example["Core"]["MeterValueSampleInterval"] > 0 and example["Core"]["ClockAlignedDataInterval"] > 0


def test_the_examples_run_a_charger_that_authenticates_and_leaves_its_files_where_the_readme_says(tmp_path):
    key = cp_example()["Security"]["AuthorizationKey"]
    cp_id = cp_example()["Internal"]["ChargePointId"]
    with LocalCsms(password=key) as csms:
        (tmp_path / "user_config.json").write_text(json.dumps({"Internal": {"CentralSystemURI": csms.url}}))
        args = ["run", "--config", str(EXAMPLE_MODULE), "--set", "DelayOcppStart=0"]
        for override in redirected(tmp_path):
            args += ["--set", override]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        process = subprocess.Popen([sys.executable, "-m", "supervisor.cli", *args], cwd=REPO, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            csms.wait_for("BootNotification", timeout=20)
            wait_until(lambda: csms.count("StatusNotification") == 3, timeout=10, what="3 StatusNotifications")
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            process.kill()
            process.communicate()
    assert (tmp_path / "lib" / f"{cp_id}.db").is_file()
    log_lines = (tmp_path / "log" / f"{cp_id}.log").read_text(encoding="utf-8").splitlines()
    assert any(" out " in line and "BootNotification" in line for line in log_lines)
    assert json.loads((tmp_path / "user_config.json").read_text())["Internal"]["CentralSystemURI"] == csms.url


# --------------------------------------------------------------------------------- the systemd unit


def test_the_unit_runs_ocpp_cp_run_with_flags_the_cli_knows():
    argv = exec_start_argv()
    assert PurePosixPath(argv[0]).name == "ocpp-cp"
    args = _parser().parse_args(argv[1:])
    assert args.command == "run"
    assert args.config == "/etc/ocpp-cp/module-config.json"
    assert args.overrides == []


def test_the_unit_restarts_on_failure_and_after_a_hard_reset_but_not_on_a_bad_config():
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert str(EXIT_HARD_RESET) in service["RestartForceExitStatus"].split()
    assert str(EXIT_HARD_RESET) in service["SuccessExitStatus"].split()  # a requested reset is no failure
    assert str(EXIT_CONFIG) in service["RestartPreventExitStatus"].split()
    assert str(EXIT_GAVE_UP) not in service["SuccessExitStatus"].split()  # on-failure restarts it
    assert seconds(service["RestartSec"]) > 0
    assert service["KillSignal"] == "SIGTERM"
    start_limits = unit()["Unit"]
    assert int(start_limits["StartLimitBurst"]) >= 5 and seconds(start_limits["StartLimitIntervalSec"]) > 0


def test_the_hard_reset_exit_code_is_the_one_the_cli_uses():
    try:
        from supervisor.exit_codes import EXIT_HARD_RESET as cli_code
    except ImportError:
        pytest.skip("the hard reset exit code is not in the CLI yet")
    assert cli_code == EXIT_HARD_RESET


def test_the_stop_timeout_outlasts_the_reset_wait():
    wait = cp_example()["Internal"].get("WaitForStopTransactionsOnResetTimeout")
    if wait is None:
        wait = load_schema()["properties"]["Internal"]["properties"]["WaitForStopTransactionsOnResetTimeout"]["default"]
    tree_stop = inspect.signature(ChargePointApp.stop).parameters["timeout"].default
    timeout = seconds(unit()["Service"]["TimeoutStopSec"])
    assert timeout > wait + module_example()["ResetStopDelay"] + tree_stop


def test_the_unit_makes_exactly_the_example_paths_writable():
    service = unit()["Service"]
    example = module_example()
    state = PurePosixPath("/var/lib") / service["StateDirectory"]
    logs = PurePosixPath("/var/log") / service["LogsDirectory"]
    assert PurePosixPath(example["DatabasePath"]) == state
    assert PurePosixPath(example["UserConfigPath"]).parent == state  # ChangeConfiguration writes there
    assert PurePosixPath(example["MessageLogPath"]) == logs
    assert service["WorkingDirectory"] == str(state)
    config_dir = PurePosixPath(exec_start_argv()[exec_start_argv().index("--config") + 1]).parent
    assert PurePosixPath(example["ChargePointConfigPath"]).parent == config_dir
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes" and service["PrivateTmp"] == "yes"
    assert {"AF_INET", "AF_INET6", "AF_UNIX"} <= set(service["RestrictAddressFamilies"].split())
    assert service["User"] not in ("", "root")


def test_systemd_analyze_verifies_the_unit(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    ocpp_cp = Path(sys.executable).parent / "ocpp-cp"
    if not ocpp_cp.exists():
        pytest.skip("no ocpp-cp next to this Python to stand in for /opt/ocpp-cp/.venv/bin/ocpp-cp")
    text = UNIT.read_text(encoding="utf-8").replace("/opt/ocpp-cp/.venv/bin/ocpp-cp", str(ocpp_cp))
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ocpp-cp.service" not in result.stderr, result.stderr


# ------------------------------------------------------------------------------- the MQTT bus


def _read_unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=True, interpolation=None, delimiters=("=",),
                                          comment_prefixes=("#", ";"), empty_lines_in_values=False)
    parser.optionxform = str
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def test_the_broker_config_listens_on_loopback_only_and_keeps_queued_messages(tmp_path):
    """deploy/mosquitto.conf loads in the real mosquitto (with its port and state directory
    moved into tmp_path), binds 127.0.0.1 only, and persists (QoS 2 session events survive
    a broker restart)."""
    from peers.mosquitto import BINARY, free_port
    text = (DEPLOY / "mosquitto.conf").read_text(encoding="utf-8")
    lines = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert [words for words in lines if words[0] == "listener"] == [["listener", "1883", "127.0.0.1"]]
    assert ["persistence", "true"] in lines
    port = free_port()
    moved = text.replace("listener 1883 127.0.0.1", f"listener {port} 127.0.0.1").replace(
        "/var/lib/ocpp-cp-broker/", f"{tmp_path}/")
    if os.geteuid() == 0:
        moved += "user root\n"
    config = tmp_path / "mosquitto.conf"
    config.write_text(moved, encoding="utf-8")
    broker = subprocess.Popen([BINARY, "-c", str(config)], stderr=subprocess.PIPE, text=True)  # noqa: S603
    try:
        import socket
        def accepts() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0
        wait_until(accepts, 10, "the broker listening")
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait(timeout=10)
    assert list(tmp_path.glob("mosquitto.db")), "SIGTERM wrote the persistence file"


def test_the_simulator_and_broker_units_start_what_the_cli_and_deploy_hold():
    sim = _read_unit(DEPLOY / "ocpp-cp-sim.service")
    argv = shlex.split(sim["Service"]["ExecStart"])
    assert PurePosixPath(argv[0]).name == "ocpp-cp"
    args = _parser().parse_args(argv[1:])
    assert args.command == "sim"
    assert "ocpp-cp-broker.service" in sim["Unit"]["After"]
    broker = _read_unit(DEPLOY / "ocpp-cp-broker.service")
    assert broker["Service"]["ExecStart"].split() == ["/usr/sbin/mosquitto", "-c", "/etc/ocpp-cp/mosquitto.conf"]
    assert broker["Service"]["StateDirectory"] == "ocpp-cp-broker"
    assert "ocpp-cp-broker.service" in unit()["Unit"]["After"]
