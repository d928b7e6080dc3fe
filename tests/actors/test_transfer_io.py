"""The blocking transfer functions of the embedded system, against real servers on loopback,
and the log archive."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from actors.transfer_io import TransferError, download, log_archive, public_url, upload
from peers.file_servers import FtpFileServer, HttpFileServer


def test_public_url_drops_the_credentials():
    assert public_url("ftp://user:pw@host:2121/a/b.bin") == "ftp://host:2121/a/b.bin"
    assert public_url("https://h/x?sig=secret") == "https://h/x"


@pytest.mark.parametrize("url, reason", [
    ("sftp://host/x.bin", "unsupported protocol 'sftp'"),
    ("http:///x.bin", "names no host"),
    ("ftp://host:99999/x", "not a URL"),
])
def test_urls_that_cannot_be_fetched(url, reason, tmp_path):
    with pytest.raises(TransferError, match=reason):
        download(url, tmp_path, ssl_context=None, timeout=1)


def test_ftp_download_and_upload_with_credentials(tmp_path):
    (tmp_path / "srv" / "a" / "b").mkdir(parents=True)
    (tmp_path / "srv" / "a" / "b" / "fw.bin").write_bytes(b"x" * 100_000)
    server = FtpFileServer(tmp_path / "srv", user="u s", password="p@ss").start()
    try:
        url = server.url.replace("u s:p@ss", "u%20s:p%40ss")
        path = download(f"{url}/a/b/fw.bin", tmp_path / "dl", ssl_context=None, timeout=5)
        assert path == tmp_path / "dl" / "fw.bin" and path.stat().st_size == 100_000
        upload(f"{url}/a/", "up.zip", b"zip", ssl_context=None, timeout=5)
        assert (tmp_path / "srv" / "a" / "up.zip").read_bytes() == b"zip"
        with pytest.raises(TransferError, match="550"):
            download(f"{url}/missing.bin", tmp_path / "dl", ssl_context=None, timeout=5)
        assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["fw.bin"]  # no partial file left
    finally:
        server.stop()


def test_http_upload_to_a_presigned_url_keeps_it(tmp_path):
    server = HttpFileServer().start()
    try:
        upload(f"{server.url}/bucket/object?sig=abc", "ignored.zip", b"data", ssl_context=None, timeout=5)
        assert server.uploads == {"/bucket/object?sig=abc": b"data"}
        server.fail_first, server.fail_status = 1, 403
        with pytest.raises(TransferError, match="HTTP 403"):
            upload(f"{server.url}/dir", "f.zip", b"data", ssl_context=None, timeout=5)
    finally:
        server.stop()


def test_log_archive_filters_by_time_and_kind(tmp_path):
    log = tmp_path / "CP.log"
    log.write_text(
        '2026-01-01T00:00:00.000Z out [2,"1","BootNotification",{}]\n'
        '2026-01-01T01:00:00.000Z out [2,"2","SecurityEventNotification",{"type":"StartupOfTheDevice"}]\n'
        'not a log line\n'
        '2026-01-01T02:00:00.000Z in [3,"2",{}]\n')
    since = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    data = log_archive(log, {"charge_point_id": "CP"}, since=since, until=None, security_only=False)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("CP.log").decode().count("\n") == 2
        summary = json.loads(archive.read("summary.json"))
    assert summary["lines"] == 2 and summary["since"] == since.isoformat() and summary["charge_point_id"] == "CP"
    data = log_archive(log, {}, since=None, until=None, security_only=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["security.log", "summary.json"]
        assert "StartupOfTheDevice" in archive.read("security.log").decode()
    data = log_archive(tmp_path / "missing.log", {}, since=None, until=None, security_only=False)
    assert json.loads(zipfile.ZipFile(io.BytesIO(data)).read("summary.json"))["lines"] == 0
