"""The blocking file transfers of the embedded ``system``: downloads and uploads over HTTP(S)
and FTP, and the log archive it uploads.

Plain functions that block on the network; only :class:`actors.system_transfers.SystemTransfers`
calls them, each transfer in a worker thread of its own, never in an actor's thread. Every
failure is a :class:`TransferError` whose text names the server without the credentials of
its URL.

* HTTP(S) download: GET, 200 only, redirects followed (urllib's default). User and password in
  the URL go as HTTP Basic. HTTPS verifies the server against the given SSL context.
* HTTP(S) upload: PUT of the archive (``Content-Type: application/zip``) to the location
  joined with the file name (a location with a query string, a pre-signed URL, is used as it
  is); any 2xx status is success. PUT, not a multipart POST: the body is the file, the server
  needs no form parsing, and a pre-signed object-store URL takes it as it is.
* FTP: passive mode, the URL's user and password (anonymous without), one CWD per directory of
  the URL's path (as curl does), then RETR of the last part, or STOR of the file name into
  the location directory.
"""

from __future__ import annotations

import base64
import ftplib
import json
import shutil
import ssl
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "SCHEMES",
    "TransferError",
    "download",
    "log_archive",
    "public_url",
    "upload",
]

SCHEMES = frozenset({"http", "https", "ftp"})
"""What the embedded system can fetch from and upload to (SupportedFileTransferProtocols)."""
_CHUNK = 64 * 1024


class TransferError(Exception):
    """A transfer failed; the message is one log line without credentials."""


@dataclass(frozen=True)
class _Url:
    scheme: str
    host: str
    port: int | None
    user: str
    password: str
    path: str
    """Unquoted, without the leading slash."""
    query: str


def _parse(url: str) -> _Url:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TransferError(f"not a URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise TransferError(f"unsupported protocol {scheme or '(none)'!r} (supported: ftp, http, https)")
    if not parts.hostname:
        raise TransferError("the URL names no host")
    return _Url(scheme, parts.hostname, port, unquote(parts.username or ""), unquote(parts.password or ""),
                unquote(parts.path).lstrip("/"), parts.query)


def public_url(url: str) -> str:
    """``url`` without user and password, for logs and error texts."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "(not a URL)"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _http_request(url: str, target: _Url, method: str, data: bytes | None = None) -> urllib.request.Request:
    parts = urlsplit(url)
    netloc = target.host if target.port is None else f"{target.host}:{target.port}"
    if ":" in target.host:  # an IPv6 literal
        netloc = f"[{target.host}]" if target.port is None else f"[{target.host}]:{target.port}"
    request = urllib.request.Request(urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
                                     data=data, method=method)
    if target.user:
        token = base64.b64encode(f"{target.user}:{target.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    return request


def _http_failure(url: str, exc: Exception) -> TransferError:
    if isinstance(exc, urllib.error.HTTPError):
        return TransferError(f"{public_url(url)}: HTTP {exc.code} {exc.reason}")
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return TransferError(f"{public_url(url)}: {type(reason).__name__}: {reason}")


def _ftp(target: _Url, timeout: float) -> ftplib.FTP:
    ftp = ftplib.FTP(timeout=timeout)
    ftp.connect(target.host, target.port or 21)
    ftp.login(target.user or "anonymous", target.password if target.user else "anonymous@")
    ftp.set_pasv(True)
    return ftp


def download(url: str, directory: Path, *, ssl_context: ssl.SSLContext | None, timeout: float) -> Path:
    """Fetch ``url`` into a new file in ``directory``; returns its path (the URL's last path
    part, or ``firmware.bin``). A partial download leaves no file behind."""
    target = _parse(url)
    directory.mkdir(parents=True, exist_ok=True)
    name = Path(target.path).name or "firmware.bin"
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".part-", delete=False) as part:
        part_path = Path(part.name)
        try:
            if target.scheme == "ftp":
                _ftp_download(target, part, timeout)
            else:
                _http_download(url, target, part, ssl_context, timeout)
        except TransferError:
            part_path.unlink(missing_ok=True)
            raise
        except (OSError, EOFError, ftplib.Error) as exc:
            part_path.unlink(missing_ok=True)
            raise TransferError(f"{public_url(url)}: {type(exc).__name__}: {exc}") from None
    final = directory / name
    part_path.replace(final)
    return final


def _http_download(url: str, target: _Url, into: object, ssl_context: ssl.SSLContext | None, timeout: float) -> None:
    request = _http_request(url, target, "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout,  # noqa: S310 - the scheme is checked
                                    context=ssl_context if target.scheme == "https" else None) as response:
            if response.status != 200:  # noqa: PLR2004
                raise TransferError(f"{public_url(url)}: HTTP {response.status}")
            shutil.copyfileobj(response, into, _CHUNK)  # type: ignore[arg-type]
    except (urllib.error.URLError, OSError) as exc:
        raise _http_failure(url, exc) from None


def _ftp_download(target: _Url, into: object, timeout: float) -> None:
    *directories, name = target.path.split("/") if target.path else [""]
    if not name:
        raise TransferError(f"ftp://{target.host}/{target.path}: no file named")
    ftp = _ftp(target, timeout)
    try:
        for directory in filter(None, directories):
            ftp.cwd(directory)
        ftp.retrbinary(f"RETR {name}", into.write, _CHUNK)  # type: ignore[attr-defined]
    finally:
        ftp.close()


def upload(location: str, file_name: str, data: bytes, *, ssl_context: ssl.SSLContext | None,
           timeout: float) -> None:
    """Store ``data`` as ``file_name`` in the directory URL ``location`` (see the module docstring)."""
    target = _parse(location)
    try:
        if target.scheme == "ftp":
            ftp = _ftp(target, timeout)
            try:
                for directory in filter(None, target.path.split("/")):
                    ftp.cwd(directory)
                ftp.storbinary(f"STOR {file_name}", BytesIO(data), _CHUNK)
            finally:
                ftp.close()
            return
        url = location if target.query else location.rstrip("/") + "/" + quote(file_name)
        request = _http_request(url, target, "PUT", data)
        request.add_header("Content-Type", "application/zip")
        with urllib.request.urlopen(request, timeout=timeout,  # noqa: S310 - the scheme is checked
                                    context=ssl_context if target.scheme == "https" else None) as response:
            if not 200 <= response.status < 300:  # noqa: PLR2004
                raise TransferError(f"{public_url(location)}: HTTP {response.status}")
    except TransferError:
        raise
    except (urllib.error.URLError, OSError) as exc:
        raise _http_failure(location, exc) from None
    except (EOFError, ftplib.Error) as exc:
        raise TransferError(f"{public_url(location)}: {type(exc).__name__}: {exc}") from None


def _stamp(line: str) -> datetime | None:
    """The time at the start of a message log line (``<UTC time> <in|out> <frame>``)."""
    try:
        return datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00"))
    except ValueError:
        return None


def _lines(log_file: Path, since: datetime | None, until: datetime | None, only: str | None) -> Iterable[str]:
    try:
        with log_file.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                stamp = _stamp(line)
                if stamp is None or (since is not None and stamp < since) or (until is not None and stamp > until):
                    continue
                if only is None or only in line:
                    yield line
    except FileNotFoundError:
        return


def log_archive(log_file: Path, summary: Mapping[str, object], *, since: datetime | None,
                until: datetime | None, security_only: bool) -> bytes:
    """A zip of the message log lines between ``since`` and ``until`` (only the security
    events' SecurityEventNotification frames with ``security_only``) and ``summary.json``
    (``summary`` plus what was packed)."""
    lines = list(_lines(log_file, since, until, '"SecurityEventNotification"' if security_only else None))
    packed = {**summary, "log_file": log_file.name, "lines": len(lines),
              "since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("security.log" if security_only else log_file.name, "".join(lines))
        archive.writestr("summary.json", json.dumps(packed, indent=2, default=str) + "\n")
    return buffer.getvalue()
