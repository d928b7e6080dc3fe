"""The Firmware actor's records, their file, and the OCPP spellings of their statuses."""

from __future__ import annotations

from datetime import UTC, datetime

from actors.firmware_state import (
    FirmwareUpdate,
    LogUpload,
    Phase,
    StateFile,
    log_file_name,
    status_call,
    upload_status_call,
)
from messages.system import LogType


def update(**fields):
    return FirmwareUpdate(**{"update_id": "u1", "location": "ftp://h/f.bin", "due_at": "2026-01-01T00:00:00Z",
                             "attempts_left": 2, "retry_interval": 60, **fields})


def test_state_file_round_trip_and_clear(tmp_path):
    store = StateFile(tmp_path / "db" / "CP.firmware.json")
    assert store.load() is None
    saved = update(phase=Phase.DOWNLOADED, path="/x/f.bin", request_id=4, signature="c2ln")
    store.save(saved)
    assert store.load() == saved and saved.signed
    assert not list((tmp_path / "db").glob("*.part"))
    store.clear()
    assert store.load() is None


def test_fields_of_a_newer_version_are_ignored(tmp_path):
    store = StateFile(tmp_path / "s.json")
    store.path.write_text(update().to_json().replace('"phase"', '"future_field": 1, "phase"'))
    assert store.load() == update()


def test_log_file_name_is_safe_and_bounded():
    now = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert log_file_name("diagnostics", "CP/01 ä", now) == "diagnostics-CP_01_-20260304T050607Z.zip"
    assert len(log_file_name("diagnostics", "x" * 400, now)) == 255


def test_status_calls_by_kind_of_request():
    assert status_call(update(), "Downloading", signed=False) == ("FirmwareStatusNotification",
                                                                   {"status": "Downloading"})
    assert status_call(update(request_id=9), "Installed", signed=True) == (
        "SignedFirmwareStatusNotification", {"status": "Installed", "requestId": 9})
    assert status_call(None, "Idle", signed=True) == ("SignedFirmwareStatusNotification", {"status": "Idle"})
    upload = LogUpload(upload_id="l", request_id=3, location="ftp://h/", file_name="f.zip",
                       log_type=LogType.SECURITY, since=None, until=None, attempts_left=1, retry_interval=5)
    assert upload_status_call(upload, "UploadFailed", security=True) == (
        "LogStatusNotification", {"status": "UploadFailure", "requestId": 3})
    assert upload_status_call(None, "UploadFailed", security=False) == (
        "DiagnosticsStatusNotification", {"status": "UploadFailed"})
