"""GetDiagnostics (OCTT TC_045_1/2) and GetLog (TC_079): the message log and a summary packed
into a zip and uploaded for real, to an FTP server (STOR) or an HTTP server (PUT) on loopback;
retries every retryInterval on the manual clock; TriggerMessage reports the upload under way."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest

from conftest import CP_ID, settle, wait_until
from messages.firmware import UploadDue
from peers.file_servers import FtpFileServer, HttpFileServer
from scenarios.steps import booted

pytestmark = pytest.mark.timeout(60)

FIRMWARE = {"Core": {"SupportedFeatureProfiles": "Core,FirmwareManagement"}}


def upload_statuses(csms, action="DiagnosticsStatusNotification"):
    triggered = getattr(csms, "triggered", set())
    return [r.payload["status"] for r in csms.received if r.action == action and r.message_id not in triggered]


def wait_uploads(csms, *expected, action="DiagnosticsStatusNotification", timeout=10.0):
    wait_until(lambda: upload_statuses(csms, action) == list(expected), timeout,
               f"{action} {list(expected)} (saw {upload_statuses(csms, action)})")


def trigger(csms, message):
    after = len(csms.received)
    assert csms.call(CP_ID, "TriggerMessage", {"requestedMessage": message}) == {"status": "Accepted"}
    sent = csms.wait_for(message, after=after)
    csms.triggered = getattr(csms, "triggered", set()) | {sent.message_id}
    return sent.payload["status"]


def archive_of(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


@pytest.fixture
def ftp(tmp_path):
    server = FtpFileServer(tmp_path / "ftp").start()
    (tmp_path / "ftp" / "diagnostics").mkdir()
    yield server
    server.stop()


def test_get_diagnostics_uploads_the_message_log_to_ftp(csms, clock, make_charge_point, ftp, tmp_path):
    """TC_045_1: the answer names the file; Uploading, Uploaded; the zip holds the message log
    (between startTime and stopTime) and a summary."""
    app = make_charge_point(csms.url, evses=2, keys=FIRMWARE)
    booted(csms, clock, app, evses=2)
    start = clock.now() - timedelta(minutes=1)
    answer = csms.call(CP_ID, "GetDiagnostics", {"location": f"{ftp.url}/diagnostics/", "retries": 0,
                                                 "startTime": start.isoformat(),
                                                 "stopTime": (start + timedelta(days=1)).isoformat()})
    name = answer["fileName"]
    assert name.startswith(f"diagnostics-{CP_ID}-") and name.endswith(".zip")
    wait_uploads(csms, "Uploading", "Uploaded")
    files = archive_of((tmp_path / "ftp" / "diagnostics" / name).read_bytes())
    assert set(files) == {f"{CP_ID}.log", "summary.json"}
    assert '"BootNotification"' in files[f"{CP_ID}.log"] and '"GetDiagnostics"' in files[f"{CP_ID}.log"]
    summary = json.loads(files["summary.json"])
    assert summary["charge_point_id"] == CP_ID and summary["evse_count"] == 2
    assert summary["log_type"] == "DiagnosticsLog" and summary["lines"] > 3
    assert ftp.commands == ["STOR"]
    settle(app)
    assert trigger(csms, "DiagnosticsStatusNotification") == "Idle"


def test_time_window_leaves_older_lines_out(csms, clock, make_charge_point, ftp, tmp_path):
    app = make_charge_point(csms.url, keys=FIRMWARE)
    booted(csms, clock, app)
    clock.advance(3600)
    settle(app)
    answer = csms.call(CP_ID, "GetDiagnostics", {"location": f"{ftp.url}/diagnostics",
                                                 "startTime": (clock.now() - timedelta(minutes=5)).isoformat()})
    wait_uploads(csms, "Uploading", "Uploaded")
    log = archive_of((tmp_path / "ftp" / "diagnostics" / answer["fileName"]).read_bytes())[f"{CP_ID}.log"]
    assert '"GetDiagnostics"' in log and '"BootNotification"' not in log


def test_get_diagnostics_puts_the_archive_to_http(csms, clock, make_charge_point):
    """HTTP uploads are a PUT of the zip to <location>/<fileName>, with the URL's credentials."""
    server = HttpFileServer().start()
    try:
        app = make_charge_point(csms.url, keys=FIRMWARE)
        booted(csms, clock, app)
        location = server.url.replace("http://", "http://diag:pw@") + "/upload/"
        name = csms.call(CP_ID, "GetDiagnostics", {"location": location})["fileName"]
        wait_uploads(csms, "Uploading", "Uploaded")
        assert [(r.method, r.path) for r in server.requests] == [("PUT", f"/upload/{name}")]
        assert server.requests[0].authorization == "Basic ZGlhZzpwdw=="
        assert "summary.json" in archive_of(server.uploads[f"/upload/{name}"])
    finally:
        server.stop()


def test_a_failed_upload_is_tried_again_after_retry_interval(csms, clock, make_charge_point, tmp_path):
    ftp = FtpFileServer(tmp_path / "ftp", fail_first=1).start()
    try:
        app = make_charge_point(csms.url, keys=FIRMWARE)
        booted(csms, clock, app)
        name = csms.call(CP_ID, "GetDiagnostics", {"location": ftp.url, "retries": 1,
                                                   "retryInterval": 20})["fileName"]
        wait_uploads(csms, "Uploading", "UploadFailed")
        due = clock.wait_for_timer(lambda m: isinstance(m, UploadDue))
        assert due.due - clock.monotonic() == pytest.approx(20)
        assert trigger(csms, "DiagnosticsStatusNotification") == "UploadFailed"
        clock.advance(19)
        settle(app)
        assert ftp.commands == ["STOR"]
        clock.advance(1)
        wait_uploads(csms, "Uploading", "UploadFailed", "Uploading", "Uploaded")
        assert (tmp_path / "ftp" / name).is_file()
    finally:
        ftp.stop()


def test_upload_failed_after_every_attempt(csms, clock, make_charge_point):
    """TC_045_2: nobody listens at the location; 1 + retries attempts, each Uploading then
    UploadFailed (as EVerest reports them), and no more."""
    app = make_charge_point(csms.url, keys=FIRMWARE)
    booted(csms, clock, app)
    server = HttpFileServer().start()
    dead = server.url
    server.stop()  # the port is closed: every connection is refused
    csms.call(CP_ID, "GetDiagnostics", {"location": f"{dead}/diag/", "retries": 2, "retryInterval": 5})
    for attempt in range(1, 4):
        wait_uploads(csms, *["Uploading", "UploadFailed"] * attempt)
        if attempt < 3:
            clock.wait_for_timer(lambda m: isinstance(m, UploadDue))
            clock.advance(5)
    settle(app)
    clock.advance(60)
    settle(app)
    assert upload_statuses(csms) == ["Uploading", "UploadFailed"] * 3
    assert trigger(csms, "DiagnosticsStatusNotification") == "Idle"


def test_get_log_uploads_the_security_log(csms, clock, make_charge_point, ftp, tmp_path):
    """TC_079: GetLog(SecurityLog) answers Accepted with the file name; LogStatusNotification
    Uploading, Uploaded with the requestId; the archive holds the security events only."""
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    answer = csms.call(CP_ID, "GetLog", {"logType": "SecurityLog", "requestId": 7,
                                         "log": {"remoteLocation": f"{ftp.url}/diagnostics"}})
    assert answer["status"] == "Accepted" and answer["filename"].startswith(f"security-log-{CP_ID}-")
    wait_uploads(csms, "Uploading", "Uploaded", action="LogStatusNotification")
    assert {r.payload.get("requestId") for r in csms.received if r.action == "LogStatusNotification"} == {7}
    files = archive_of((tmp_path / "ftp" / "diagnostics" / answer["filename"]).read_bytes())
    assert set(files) == {"security.log", "summary.json"}
    assert all('"SecurityEventNotification"' in line for line in files["security.log"].splitlines())
    assert json.loads(files["summary.json"])["log_type"] == "SecurityLog"


def test_get_log_while_one_uploads_cancels_it(csms, clock, make_charge_point, tmp_path):
    ftp = FtpFileServer(tmp_path / "ftp", fail_first=1).start()
    try:
        app = make_charge_point(csms.url)
        booted(csms, clock, app)
        request = {"logType": "DiagnosticsLog", "retries": 3, "retryInterval": 60, "log": {"remoteLocation": ftp.url}}
        assert csms.call(CP_ID, "GetLog", {**request, "requestId": 1})["status"] == "Accepted"
        wait_uploads(csms, "Uploading", "UploadFailure", action="LogStatusNotification")
        clock.wait_for_timer(lambda m: isinstance(m, UploadDue))
        assert csms.call(CP_ID, "GetLog", {**request, "requestId": 2})["status"] == "AcceptedCanceled"
        wait_uploads(csms, "Uploading", "UploadFailure", "Uploading", "Uploaded", action="LogStatusNotification")
        clock.advance(120)  # the first request's retry is gone
        settle(app)
        ids = [r.payload["requestId"] for r in csms.received if r.action == "LogStatusNotification"]
        assert ids == [1, 1, 2, 2]
    finally:
        ftp.stop()
