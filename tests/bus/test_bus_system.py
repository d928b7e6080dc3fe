"""The ``system`` requirement's file transfers on the MQTT bus (docs/mqtt-bus.md): with a system
module connected (the default connections name ``sim``/``system``), UpdateFirmware and
GetDiagnostics travel as update_firmware / allow_firmware_installation / upload_logs, and
``ocpp-cp sim`` (in-process here) does the real transfers with its own SystemTransfers and
reports them in firmware_update_status / log_status."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from bus.fake_peer import HOST, booted_on_bus, mqtt_options
from conftest import CP_ID, wait_until
from peers.file_servers import HttpFileServer
from peers.mosquitto_fixture import mosquitto  # noqa: F401
from supervisor.sim_process import SimProcess, SimSettings

pytestmark = pytest.mark.timeout(90)

FIRMWARE = {"Core": {"SupportedFeatureProfiles": "Core,FirmwareManagement"}}
IMAGE = b"firmware over the bus " * 500


def statuses(csms, action):
    return [r.payload["status"] for r in csms.received if r.action == action]


def wait_statuses(csms, action, *expected, timeout=15.0):
    wait_until(lambda: statuses(csms, action) == list(expected), timeout,
               f"{action} {list(expected)} (saw {statuses(csms, action)})")


@pytest.fixture
def sim(mosquitto, clock, tmp_path):  # noqa: F811
    process = SimProcess(SimSettings(host=HOST, port=mosquitto.port, system_path=str(tmp_path / "sim-system"),
                                     log_file=str(tmp_path / "log" / f"{CP_ID}.log")), clock=clock).start()
    wait_until(lambda: process.bus_status().connected, what="the simulator on the bus")
    yield process
    process.stop()


def test_firmware_update_over_the_bus_reaches_installed(csms, clock, make_charge_point, mosquitto, sim,  # noqa: F811
                                                         tmp_path):
    server = HttpFileServer({"/fw/image-3.0.bin": IMAGE}).start()
    try:
        app = make_charge_point(csms.url, keys=FIRMWARE, options=mqtt_options(mosquitto))
        assert app.directory.get("system_transfers") is not None
        booted_on_bus(csms, clock, app)
        assert csms.call(CP_ID, "UpdateFirmware", {"location": f"{server.url}/fw/image-3.0.bin",
                                                   "retrieveDate": clock.now().isoformat()}) == {}
        wait_statuses(csms, "FirmwareStatusNotification", "Downloading", "Downloaded", "Installing", "Installed")
        wait_until(app.reset_done.is_set, what="the reboot after Installed")
        installed = tmp_path / "sim-system" / "installed"
        assert (installed / "image-3.0.bin").read_bytes() == IMAGE
        assert json.loads((installed / "INSTALLED.json").read_text())["size"] == len(IMAGE)
        assert not (tmp_path / "db" / "system").exists()  # nothing was done embedded
        assert [(r.method, r.path) for r in server.requests] == [("GET", "/fw/image-3.0.bin")]
    finally:
        server.stop()


def test_a_failed_download_over_the_bus_is_download_failed(csms, clock, make_charge_point, mosquitto,  # noqa: F811
                                                           sim):
    server = HttpFileServer({}).start()  # a 404
    try:
        app = make_charge_point(csms.url, keys=FIRMWARE, options=mqtt_options(mosquitto))
        booted_on_bus(csms, clock, app)
        csms.call(CP_ID, "UpdateFirmware", {"location": f"{server.url}/fw/missing.bin",
                                            "retrieveDate": clock.now().isoformat(), "retries": 0})
        wait_statuses(csms, "FirmwareStatusNotification", "Downloading", "DownloadFailed")
        assert not app.reset_done.is_set()
    finally:
        server.stop()


def test_get_diagnostics_uploads_over_the_bus(csms, clock, make_charge_point, mosquitto, sim):  # noqa: F811
    server = HttpFileServer().start()
    try:
        app = make_charge_point(csms.url, keys=FIRMWARE, options=mqtt_options(mosquitto))
        booted_on_bus(csms, clock, app)
        name = csms.call(CP_ID, "GetDiagnostics", {"location": f"{server.url}/upload/"})["fileName"]
        wait_statuses(csms, "DiagnosticsStatusNotification", "Uploading", "Uploaded")
        assert [(r.method, r.path) for r in server.requests] == [("PUT", f"/upload/{name}")]
        with zipfile.ZipFile(io.BytesIO(server.uploads[f"/upload/{name}"])) as archive:
            log = archive.read(f"{CP_ID}.log").decode()
            summary = json.loads(archive.read("summary.json"))
        assert '"BootNotification"' in log and '"GetDiagnostics"' in log  # the charge point's log, packed by the sim
        assert summary["log_type"] == "DiagnosticsLog"
    finally:
        server.stop()


def test_without_a_system_connection_the_transfers_stay_embedded(csms, make_charge_point, mosquitto):  # noqa: F811
    from actors.remote_system import RemoteSystem  # noqa: PLC0415
    from actors.system_transfers import SystemTransfers  # noqa: PLC0415

    on_bus = make_charge_point(csms.url, options=mqtt_options(mosquitto))
    assert on_bus.directory.get("system_transfers").actor_class is RemoteSystem
    on_bus.stop()
    embedded = make_charge_point(csms.url, options=mqtt_options(mosquitto, Connections='{"system": []}'))
    assert embedded.directory.get("system_transfers").actor_class is SystemTransfers
