"""UpdateFirmware (OCTT TC_044_1..3): a real download from an FTP or HTTP server on loopback at
retrieveDate, retries every retryInterval on the manual clock, installation only when no
transaction runs, the reboot, and the operator's availability afterwards."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from conftest import CP_ID, settle, wait_until
from messages.firmware import DownloadDue, RebootDue
from messages.persistence import GetAvailability
from messages.station import GetEvseState
from peers.file_servers import FtpFileServer, HttpFileServer
from scenarios.steps import booted, start_charging, statuses, wait_status
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(60)

FIRMWARE = {"Core": {"SupportedFeatureProfiles": "Core,FirmwareManagement"}}
IMAGE = b"new firmware " * 1000


def firmware_statuses(csms):
    """The FirmwareStatusNotifications of the update, without those a TriggerMessage asked for."""
    triggered = getattr(csms, "triggered", set())
    return [r.payload["status"] for r in csms.received
            if r.action == "FirmwareStatusNotification" and r.message_id not in triggered]


def wait_firmware(csms, *expected, timeout=10.0):
    """Wait until the FirmwareStatusNotifications so far are exactly ``expected``."""
    wait_until(lambda: firmware_statuses(csms) == list(expected), timeout,
               f"firmware statuses {list(expected)} (saw {firmware_statuses(csms)})")


def update_firmware(csms, location, retrieve, **extra):
    return csms.call(CP_ID, "UpdateFirmware", {"location": location, "retrieveDate": retrieve.isoformat(), **extra})


def trigger(csms, message):
    """TriggerMessage ``message``: the status it reports (remembered as triggered)."""
    after = len(csms.received)
    assert csms.call(CP_ID, "TriggerMessage", {"requestedMessage": message}) == {"status": "Accepted"}
    sent = csms.wait_for(message, after=after)
    csms.triggered = getattr(csms, "triggered", set()) | {sent.message_id}
    return sent.payload["status"]


def boots(csms):
    return csms.count("BootNotification")


@pytest.fixture
def ftp(tmp_path):
    server = FtpFileServer(tmp_path / "ftp").start()
    (tmp_path / "ftp" / "fw").mkdir()
    (tmp_path / "ftp" / "fw" / "image-2.0.bin").write_bytes(IMAGE)
    yield server
    server.stop()


def test_download_install_and_reboot_over_ftp(csms, clock, make_charge_point, ftp, tmp_path):
    """TC_044_1: Downloading, Downloaded, Installing, Installed, then the reboot and a
    SecurityEventNotification FirmwareUpdated after it."""
    app = make_charge_point(csms.url, keys=FIRMWARE)
    booted(csms, clock, app)
    assert update_firmware(csms, f"{ftp.url}/fw/image-2.0.bin", clock.now()) == {}
    wait_firmware(csms, "Downloading", "Downloaded", "Installing", "Installed")
    wait_until(app.reset_done.is_set, what="the reboot after Installed")
    assert app.soft_resets == 1 and not app.finished.is_set()
    wait_until(lambda: boots(csms) == 2, what="a second BootNotification")
    event = csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "FirmwareUpdated")
    assert "image-2.0.bin" in event.payload["techInfo"]
    installed = tmp_path / "db" / "system" / "installed"
    assert (installed / "image-2.0.bin").read_bytes() == IMAGE
    assert json.loads((installed / "INSTALLED.json").read_text())["size"] == len(IMAGE)
    assert not (tmp_path / "db" / f"{CP_ID}.firmware.json").exists()
    settle(app)
    assert firmware_statuses(csms) == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert trigger(csms, "FirmwareStatusNotification") == "Idle"


def test_waits_for_retrieve_date_and_retries_every_retry_interval(csms, clock, make_charge_point):
    """A server that fails the first two downloads: three attempts, retryInterval apart, the
    first at retrieveDate; all on the manual clock."""
    server = HttpFileServer({"/fw/image.bin": IMAGE}, fail_first=2).start()
    try:
        app = make_charge_point(csms.url, keys=FIRMWARE)
        booted(csms, clock, app)
        retrieve = clock.now() + timedelta(hours=1)
        update_firmware(csms, f"{server.url}/fw/image.bin", retrieve, retries=2, retryInterval=30)
        due = clock.wait_for_timer(lambda m: isinstance(m, DownloadDue))
        assert due.due - clock.monotonic() == pytest.approx(3600)
        clock.advance(3599)
        settle(app)
        assert firmware_statuses(csms) == [] and server.requests == []
        assert trigger(csms, "FirmwareStatusNotification") == "Idle"  # nothing under way yet
        clock.advance(1)
        wait_firmware(csms, "Downloading", "DownloadFailed")
        retry = clock.wait_for_timer(lambda m: isinstance(m, DownloadDue))
        assert retry.due - clock.monotonic() == pytest.approx(30)
        assert trigger(csms, "FirmwareStatusNotification") == "DownloadFailed"
        clock.advance(29)
        settle(app)
        assert len(server.requests) == 1
        clock.advance(1)
        wait_firmware(csms, "Downloading", "DownloadFailed", "Downloading", "DownloadFailed")
        clock.wait_for_timer(lambda m: isinstance(m, DownloadDue))
        clock.advance(30)
        wait_firmware(csms, "Downloading", "DownloadFailed", "Downloading", "DownloadFailed",
                      "Downloading", "Downloaded", "Installing", "Installed")
        assert [r.status for r in server.requests] == [503, 503, 200]
        wait_until(app.reset_done.is_set, what="the reboot")
    finally:
        server.stop()


def test_download_failed_after_all_attempts(csms, clock, make_charge_point):
    """TC_044_2: retries=1 means two attempts; then the update is over, nothing is installed."""
    server = HttpFileServer({}).start()  # every download is a 404
    try:
        app = make_charge_point(csms.url, keys=FIRMWARE)
        booted(csms, clock, app)
        update_firmware(csms, f"{server.url}/fw/missing.bin", clock.now(), retries=1, retryInterval=10)
        wait_firmware(csms, "Downloading", "DownloadFailed")
        clock.wait_for_timer(lambda m: isinstance(m, DownloadDue))
        clock.advance(10)
        wait_firmware(csms, "Downloading", "DownloadFailed", "Downloading", "DownloadFailed")
        settle(app)
        clock.advance(600)
        settle(app)
        assert len(firmware_statuses(csms)) == 4 and len(server.requests) == 2
        assert trigger(csms, "FirmwareStatusNotification") == "Idle"
        assert not app.reset_done.is_set()
    finally:
        server.stop()


def test_update_during_a_transaction_waits_for_it_and_availability_is_restored(csms, clock, make_charge_point,
                                                                                ftp):
    """The issue's 'done when': EVSE 1 charges, EVSE 2 is free, EVSE 3 was made Inoperative by
    the operator. The free EVSE goes Unavailable at once (not persisted), the busy one when its
    transaction is over; then Installing, Installed, the reboot, and every EVSE comes back as
    the operator left it."""
    app = make_charge_point(csms.url, evses=3, keys=FIRMWARE)
    booted(csms, clock, app, evses=3)
    assert csms.call(CP_ID, "ChangeAvailability", {"connectorId": 3, "type": "Inoperative"})["status"] == "Accepted"
    wait_status(csms, 3, "Unavailable")
    start_charging(csms, SimController(app.directory), evse=1)
    settle(app)
    update_firmware(csms, f"{ftp.url}/fw/image-2.0.bin", clock.now())
    wait_firmware(csms, "Downloading", "Downloaded")
    wait_status(csms, 2, "Unavailable")
    settle(app)
    assert statuses(csms, 1)[-1] == "Charging"
    assert firmware_statuses(csms) == ["Downloading", "Downloaded"]  # no Installing while it charges
    assert trigger(csms, "FirmwareStatusNotification") == "Downloaded"
    for connector in (1, 2):  # the operator's availability is not touched
        assert app.directory.ask("persistence", GetAvailability(connector_id=connector)).operative
    clock.advance(3600)
    settle(app)
    assert firmware_statuses(csms) == ["Downloading", "Downloaded"]

    transaction_id = app.directory.ask("evse/1", GetEvseState()).transaction_id
    stop_at = len(csms.received)
    assert csms.call(CP_ID, "RemoteStopTransaction", {"transactionId": transaction_id})["status"] == "Accepted"
    csms.wait_for("StopTransaction", after=stop_at)
    wait_status(csms, 1, "Unavailable")
    wait_firmware(csms, "Downloading", "Downloaded", "Installing", "Installed")
    order = [(r.action, r.payload.get("status")) for r in csms.received[stop_at:]
             if r.action in ("StopTransaction", "FirmwareStatusNotification")
             or (r.action == "StatusNotification" and r.payload["connectorId"] == 1)]
    # (the Evse publishes its Unavailable before it sends it, so Installing may overtake the frame)
    assert order.index(("StopTransaction", None)) < order.index(("FirmwareStatusNotification", "Installing"))
    assert ("StatusNotification", "Unavailable") in order
    wait_until(app.reset_done.is_set, what="the reboot")
    wait_until(lambda: boots(csms) == 2, what="a second BootNotification")
    settle(app)
    booted_at = max(i for i, r in enumerate(csms.received) if r.action == "BootNotification")
    after_boot = {r.payload["connectorId"]: r.payload["status"] for r in csms.received[booted_at:]
                  if r.action == "StatusNotification"}
    assert after_boot == {0: "Available", 1: "Available", 2: "Available", 3: "Unavailable"}


def test_installation_failed_gives_the_evses_back_without_a_reboot(csms, clock, make_charge_point, tmp_path):
    """TC_044_3: an image that cannot be installed (the embedded system refuses an empty one)."""
    server = HttpFileServer({"/fw/empty.bin": b""}).start()
    try:
        app = make_charge_point(csms.url, evses=2, keys=FIRMWARE)
        booted(csms, clock, app, evses=2)
        update_firmware(csms, f"{server.url}/fw/empty.bin", clock.now())
        wait_firmware(csms, "Downloading", "Downloaded", "Installing", "InstallationFailed")
        for connector in (1, 2):
            wait_until(lambda c=connector: statuses(csms, c)[-2:] == ["Unavailable", "Available"],
                       what=f"connector {connector} Unavailable, then Available again")
        settle(app)
        assert not app.reset_done.is_set() and boots(csms) == 1
        assert not (tmp_path / "db" / f"{CP_ID}.firmware.json").exists()
        assert trigger(csms, "FirmwareStatusNotification") == "Idle"
    finally:
        server.stop()


def test_an_update_waiting_for_a_transaction_survives_a_restart(csms, clock, make_charge_point, ftp, tmp_path):
    """The update is kept on disk: after a restart (the transaction ended with the power) it
    installs without being asked again."""
    app = make_charge_point(csms.url, keys=FIRMWARE)
    booted(csms, clock, app)
    start_charging(csms, SimController(app.directory))
    update_firmware(csms, f"{ftp.url}/fw/image-2.0.bin", clock.now())
    wait_firmware(csms, "Downloading", "Downloaded")
    settle(app)
    state = json.loads((tmp_path / "db" / f"{CP_ID}.firmware.json").read_text())
    assert state["phase"] == "downloaded"
    app.stop()
    app = make_charge_point(csms.url, keys=FIRMWARE)
    stop = csms.wait_for("StopTransaction")
    assert stop.payload["reason"] == "PowerLoss"
    wait_firmware(csms, "Downloading", "Downloaded", "Installing", "Installed")
    wait_until(app.reset_done.is_set, what="the reboot")


def test_reboot_waits_for_the_answer_to_installed_at_most_a_while(csms, clock, make_charge_point, ftp):
    from supervisor.local_csms import NO_REPLY
    app = make_charge_point(csms.url, keys=FIRMWARE)
    booted(csms, clock, app)
    csms.set_reply("FirmwareStatusNotification", lambda _cp, p: NO_REPLY if p["status"] == "Installed" else {})
    update_firmware(csms, f"{ftp.url}/fw/image-2.0.bin", clock.now())
    wait_firmware(csms, "Downloading", "Downloaded", "Installing", "Installed")
    reboot = clock.wait_for_timer(lambda m: isinstance(m, RebootDue))
    app.wait_quiet()
    assert not app.reset_done.is_set()
    clock.advance(reboot.due - clock.monotonic())
    wait_until(app.reset_done.is_set, what="the reboot without an answer")


def test_firmware_management_must_be_declared(csms, clock, make_charge_point):
    from supervisor.local_csms import CsmsCallError
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    for action, payload in (("UpdateFirmware", {"location": "ftp://127.0.0.1/x.bin",
                                                "retrieveDate": clock.now().isoformat()}),
                            ("GetDiagnostics", {"location": "ftp://127.0.0.1/"})):
        with pytest.raises(CsmsCallError) as refused:
            csms.call(CP_ID, action, payload)
        assert refused.value.code == "NotSupported"


def test_a_held_evse_whose_session_ends_stays_unavailable(csms, clock, make_charge_point, ftp):
    """EVSE 2 is plugged in without a transaction when the update comes: disabled at once. When
    its car leaves, the Evse would go by its own (operative) availability: it is disabled again."""
    app = make_charge_point(csms.url, evses=2, keys=FIRMWARE)
    booted(csms, clock, app, evses=2)
    sim = SimController(app.directory)
    start_charging(csms, sim, evse=1)
    sim.plug_in(2)
    wait_status(csms, 2, "Preparing")
    update_firmware(csms, f"{ftp.url}/fw/image-2.0.bin", clock.now())
    wait_firmware(csms, "Downloading", "Downloaded")
    wait_status(csms, 2, "Unavailable")
    sim.plug_out(2)
    wait_until(lambda: statuses(csms, 2)[-3:] == ["Unavailable", "Available", "Unavailable"],
               what=f"connector 2 disabled again (saw {statuses(csms, 2)})")
    settle(app)
    assert firmware_statuses(csms) == ["Downloading", "Downloaded"]
    sim.swipe(1, "TAG1")  # the same card stops the transaction
    wait_firmware(csms, "Downloading", "Downloaded", "Installing", "Installed")
    wait_until(app.reset_done.is_set, what="the reboot")


def test_update_and_diagnostics_pass_strict_validation(strict_csms, clock, make_charge_point, ftp, tmp_path):
    """The same flows checked by ocpp-rpc in strict mode: UpdateFirmware during a transaction
    (the wait, the statuses, the reboot), GetDiagnostics to FTP, TriggerMessage in between."""
    from conftest import wait_idle

    def statuses_of(action):
        return [e["params"]["status"] for e in strict_csms.calls_in(action)]

    app = make_charge_point(strict_csms.url, evses=2, keys=FIRMWARE)
    strict_csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 2)
    wait_idle(app)
    sim = SimController(app.directory)
    sim.plug_in(1)
    sim.swipe(1, "TAG1")
    strict_csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Charging")
    (tmp_path / "ftp" / "diag").mkdir()
    answer = strict_csms.call(CP_ID, "GetDiagnostics", {"location": f"{ftp.url}/diag/", "retries": 1,
                                                        "retryInterval": 10})
    strict_csms.wait_for("DiagnosticsStatusNotification", lambda p: p["status"] == "Uploaded")
    assert (tmp_path / "ftp" / "diag" / answer["fileName"]).is_file()
    assert strict_csms.call(CP_ID, "UpdateFirmware", {"location": f"{ftp.url}/fw/image-2.0.bin", "retries": 1,
                                                      "retryInterval": 30,
                                                      "retrieveDate": clock.now().isoformat()}) == {}
    strict_csms.wait_for("FirmwareStatusNotification", lambda p: p["status"] == "Downloaded")
    strict_csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 2 and p["status"] == "Unavailable")
    wait_idle(app)
    after = len(strict_csms.events)
    assert strict_csms.call(CP_ID, "TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}) == {
        "status": "Accepted"}
    assert strict_csms.wait_for("FirmwareStatusNotification", after=after) == {"status": "Downloaded"}
    wait_idle(app)
    sim.swipe(1, "TAG1")
    strict_csms.wait_for("StopTransaction")
    strict_csms.wait_for("FirmwareStatusNotification", lambda p: p["status"] == "Installed")
    wait_until(app.reset_done.is_set, what="the reboot")
    wait_until(lambda: len(strict_csms.calls_in("BootNotification")) == 2, what="a second BootNotification")
    assert statuses_of("FirmwareStatusNotification") == ["Downloading", "Downloaded", "Downloaded", "Installing",
                                                          "Installed"]
    assert statuses_of("DiagnosticsStatusNotification") == ["Uploading", "Uploaded"]


def test_a_new_update_replaces_one_waiting_and_gives_the_evses_back(csms, clock, make_charge_point, ftp):
    app = make_charge_point(csms.url, evses=2, keys=FIRMWARE)
    booted(csms, clock, app, evses=2)
    start_charging(csms, SimController(app.directory), evse=1)
    update_firmware(csms, f"{ftp.url}/fw/image-2.0.bin", clock.now())
    wait_firmware(csms, "Downloading", "Downloaded")
    wait_status(csms, 2, "Unavailable")
    update_firmware(csms, f"{ftp.url}/fw/image-2.0.bin", clock.now() + timedelta(hours=2))
    wait_status(csms, 2, "Available")
    clock.wait_for_timer(lambda m: isinstance(m, DownloadDue))
    settle(app)
    assert firmware_statuses(csms) == ["Downloading", "Downloaded"]
    assert trigger(csms, "FirmwareStatusNotification") == "Idle"  # the new one has not begun
    assert statuses(csms, 1)[-1] == "Charging"
