"""Fixtures of the security-profile tests: a PKI made per test, TLS contexts for the CSMS
peers, and the charge point's certificate store filled in.

The charge point of ``make_charge_point`` keeps its user config at ``tmp_path/user_config.json``,
so its certificate store (no CertsPath key) is ``tmp_path/certs``.
"""

from __future__ import annotations

import json
import shutil
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from actors.certificates import CLIENT_CHAIN, CLIENT_KEY, CSMS_ROOT_BUNDLE
from conftest import wait_until
from messages.csms import ConnectDue, GetLinkStats
from security.pki import Authority, Issued, make_authority
from security.tls_front import TlsFront
from supervisor import config_schema
from supervisor.config import ChargePointConfig, load_schema, merge_patch
from supervisor.local_csms import LocalCsms

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from actors.clock import ManualClock

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SCHEMA = load_schema()

FAST_RETRY = {"RetryBackoffWaitMinimum": 1, "RetryBackoffRandomRange": 0, "RetryBackoffRepeatTimes": 0}
"""Reconnect 1 s after every failure (on the manual clock)."""
PASSWORD = "s3cr3t-key-0001"


def make_config(tmp_path: Path, patch: dict[str, Any] | None = None) -> ChargePointConfig:
    """The shipped charge point config with ``patch``, as loaded, its user config in ``tmp_path/etc``
    (so its certificate store is ``tmp_path/etc/certs``)."""
    merged = merge_patch(json.loads((DEPLOY / "charge-point-config.json").read_text()), patch or {})
    config_schema.apply_defaults(SCHEMA, merged)
    assert config_schema.problems(SCHEMA, merged, what="profile") == []
    return ChargePointConfig(profiles=merged, base_path=tmp_path / "base.json",
                             user_config_path=tmp_path / "etc" / "user_config.json",
                             read_only_keys=config_schema.flagged_keys(SCHEMA, "readOnly"),
                             write_only_keys=config_schema.flagged_keys(SCHEMA, "writeOnly"))


@pytest.fixture
def pki(tmp_path: Path) -> Authority:
    """The CSMS's root CA (it signs the CSMS's server certificate and the charge point's)."""
    return make_authority(tmp_path / "pki")


@pytest.fixture
def rogue(tmp_path: Path) -> Authority:
    """Another CA, that the charge point does not trust."""
    return make_authority(tmp_path / "pki-rogue", "rogue-root")


def server_context(issued: Issued, *, client_ca: Path | None = None, require_client: bool = False,
                   minimum: ssl.TLSVersion | None = None, maximum: ssl.TLSVersion | None = None,
                   ciphers: str | None = None) -> ssl.SSLContext:
    """A CSMS's TLS context: ``issued`` as its certificate; with ``client_ca``, client
    certificates from that CA are asked for (required with ``require_client``)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if minimum is not None:
        context.minimum_version = minimum
    if maximum is not None:
        context.maximum_version = maximum
    if ciphers is not None:
        context.set_ciphers(ciphers)
    context.load_cert_chain(issued.chain, issued.key)
    if client_ca is not None:
        context.load_verify_locations(cafile=str(client_ca))
        context.verify_mode = ssl.CERT_REQUIRED if require_client else ssl.CERT_OPTIONAL
    return context


def install(certs: Path, *, roots: tuple[Path, ...] = (), client: Issued | None = None) -> None:
    """Put CSMS roots (concatenated into the bundle) and a client certificate into a store."""
    if roots:
        (certs / CSMS_ROOT_BUNDLE).parent.mkdir(parents=True, exist_ok=True)
        (certs / CSMS_ROOT_BUNDLE).write_bytes(b"".join(path.read_bytes() for path in roots))
    if client is not None:
        (certs / CLIENT_CHAIN).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(client.chain, certs / CLIENT_CHAIN)
        shutil.copyfile(client.key, certs / CLIENT_KEY)


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    """The charge point's certificate store (the default, beside its user config)."""
    return tmp_path / "certs"


@pytest.fixture
def tls_csms() -> Iterator[Callable[..., LocalCsms]]:
    """Factory: ``tls_csms(context, password=...)`` → a started LocalCsms speaking TLS."""
    servers: list[LocalCsms] = []

    def make(context: ssl.SSLContext, *, password: str | None = PASSWORD, port: int = 0) -> LocalCsms:
        server = LocalCsms(password=password, ssl_context=context, port=port).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def tls_front() -> Iterator[Callable[..., tuple[TlsFront, LocalCsms]]]:
    """Factory: ``tls_front(context)`` → (a TLS terminator with ``context``, the plain LocalCsms
    behind it); for handshakes that the server must fail (it sends OpenSSL's alert)."""
    started: list[tuple[TlsFront, LocalCsms]] = []

    def make(context: ssl.SSLContext, *, password: str | None = PASSWORD) -> tuple[TlsFront, LocalCsms]:
        csms = LocalCsms(password=password).start()
        front = TlsFront(context, csms.port).start()
        started.append((front, csms))
        return front, csms

    yield make
    for front, csms in started:
        front.stop()
        csms.stop()


def security_profile_keys(profile: int, **internal: object) -> dict[str, dict[str, object]]:
    """User-config keys for a charge point on ``profile`` that retries fast."""
    return {"Security": {"SecurityProfile": profile, "AuthorizationKey": PASSWORD},
            "Internal": {**FAST_RETRY, **internal}}


def retry(clock: ManualClock, times: int = 1) -> None:
    """Let the charge point's reconnect timer fire ``times`` times (each after a failed attempt)."""
    for _ in range(times):
        timer = clock.wait_for_timer(lambda m: isinstance(m, ConnectDue), timeout=10)
        clock.advance(max(timer.due - clock.monotonic(), 0))


def connected(app: object) -> bool:
    return app.directory.ask("csms", GetLinkStats()).connected  # type: ignore[attr-defined]


def wait_connected(app: object, timeout: float = 10.0) -> None:
    wait_until(lambda: connected(app), timeout, "the charge point connected")
