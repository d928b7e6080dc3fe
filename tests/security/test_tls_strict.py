"""Security profiles 2 and 3 against the strict ocpp-rpc CSMS speaking TLS (Node's OpenSSL,
code nobody here wrote): the handshakes, the security events it validates, and a session that
goes on while the profile is raised from 2 to 3."""

from __future__ import annotations

import datetime as dt
import shutil
from typing import TYPE_CHECKING

import pytest

from conftest import CP_ID, settle, wait_until
from messages.csms import ConnectDue, HeartbeatDue
from peers.strict import StrictCsms
from security.conftest import PASSWORD, install, retry, security_profile_keys, wait_connected
from supervisor.sim_control import SimController

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.timeout(90)

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def strict_tls() -> Iterator[Callable[..., StrictCsms]]:
    """Factory: a strict CSMS with TLS; any strict validation failure fails the test."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed: run deploy/setup.sh --test")
    servers: list[StrictCsms] = []

    def make(server, *, port: int = 0, client_ca=None, require_client_cert: bool = False) -> StrictCsms:
        csms = StrictCsms(PASSWORD, tls_cert=server.chain, tls_key=server.key, tls_client_ca=client_ca,
                          require_client_cert=require_client_cert).start(port)
        servers.append(csms)
        return csms

    yield make
    try:
        for csms in servers:
            csms.assert_no_strict_failures()
    finally:
        for csms in servers:
            csms.stop()


def registered(csms, clock, app):
    csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1, timeout=10)
    clock.wait_for_timer(lambda m: isinstance(m, HeartbeatDue), timeout=10)
    settle(app)


def test_profile_2_over_tls_passes_strict_validation(pki, certs, strict_tls, clock, make_charge_point):
    csms = strict_tls(pki.server())
    install(certs, roots=(pki.file,))
    app = make_charge_point(csms.url, keys=security_profile_keys(2))
    registered(csms, clock, app)
    connected = csms.wait_event("connected")
    assert connected["password"] == PASSWORD and connected["clientCn"] is None
    assert connected["tls"][0] in ("TLSv1.2", "TLSv1.3")
    assert csms.call(CP_ID, "GetConfiguration", {"key": ["SecurityProfile"]})["configurationKey"][0]["value"] == "2"


def test_profile_3_with_the_client_certificate_the_csms_requires(pki, certs, strict_tls, clock, make_charge_point):
    csms = strict_tls(pki.server(), client_ca=pki.file, require_client_cert=True)
    install(certs, roots=(pki.file,), client=pki.client(CP_ID))
    app = make_charge_point(csms.url, keys=security_profile_keys(3))
    registered(csms, clock, app)
    connected = csms.wait_event("connected")
    assert (connected["clientCn"], connected["password"]) == (CP_ID, None)


def test_raised_to_3_while_charging_against_the_strict_csms(pki, certs, strict_tls, clock, make_charge_point):
    csms = strict_tls(pki.server(), client_ca=pki.file)
    install(certs, roots=(pki.file,), client=pki.client(CP_ID))
    keys = security_profile_keys(2)
    keys["Core"] = {"MeterValueSampleInterval": 10}
    app = make_charge_point(csms.url, keys=keys)
    registered(csms, clock, app)
    sim = SimController(app.directory)
    sim.plug_in(1)
    sim.swipe(1, "TAG1")
    csms.wait_for("StartTransaction", timeout=10)
    csms.wait_for("StatusNotification", lambda p: p["status"] == "Charging", timeout=10)
    settle(app)

    before = len(csms.events)
    answer = csms.call(CP_ID, "ChangeConfiguration", {"key": "SecurityProfile", "value": "3"})
    assert answer["status"] == "Accepted"
    again = csms.wait_event("connected", after=before, timeout=10)
    assert (again["clientCn"], again["password"]) == (CP_ID, None)
    wait_connected(app)
    csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "ReconfigurationOfSecurityParameters",
                  timeout=10)
    settle(app)
    seen = len(csms.events)
    clock.advance(10)
    meter = csms.wait_for("MeterValues", after=seen, timeout=10)
    sim.swipe(1, "TAG1")
    stop = csms.wait_for("StopTransaction", timeout=10)
    assert stop["transactionId"] == meter["transactionId"]
    assert len(csms.calls_in("StartTransaction")) == 1


def test_an_expired_csms_certificate_is_reported_once_the_csms_is_fixed(
        pki, certs, strict_tls, clock, make_charge_point):
    """InvalidCentralSystemCertificate, queued while no CSMS could be trusted, then delivered
    (and validated by the strict CSMS) when one presents a good certificate on the same port."""
    expired = pki.server("expired", not_before=NOW - dt.timedelta(days=9), not_after=NOW - dt.timedelta(days=1))
    bad = strict_tls(expired)
    install(certs, roots=(pki.file,))
    make_charge_point(bad.url, keys=security_profile_keys(2))
    clock.wait_for_timer(lambda m: isinstance(m, ConnectDue), timeout=10)
    assert not [e for e in bad.events if e["ev"] in ("connected", "rejected")]
    port = bad.port
    bad.stop()
    good = strict_tls(pki.server(), port=port)
    retry(clock)
    event = good.wait_for("SecurityEventNotification", timeout=10)
    assert event["type"] == "InvalidCentralSystemCertificate" and "expired" in event["techInfo"]
    wait_until(lambda: len(good.calls_in("SecurityEventNotification")) == 1)
