"""Changing SecurityProfile: only upward (TC_083 / TC_084), on the next connection, kept once
it connects, and back to the old profile when it cannot; a charging session goes on across it.
AuthorizationKey (TC_073 over TLS) never reaches a log, the message log or a trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import CP_ID, settle, wait_until
from messages.csms import ConnectDue, HeartbeatDue
from scenarios.steps import start_charging
from security.conftest import (
    PASSWORD,
    install,
    retry,
    security_profile_keys,
    server_context,
    wait_connected,
)
from supervisor.local_csms import LocalCsms
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(90)

RECONFIGURED = "ReconfigurationOfSecurityParameters"


def change(csms, key, value):
    return csms.call(CP_ID, "ChangeConfiguration", {"key": key, "value": value})["status"]


def value_of(csms, key):
    answer = csms.call(CP_ID, "GetConfiguration", {"key": [key]})
    return {k["key"]: k.get("value") for k in answer["configurationKey"]}.get(key)


def user_config(app):
    return json.loads(Path(app.ctx.config.user_config_path).read_text())


def registered(csms, clock, app):
    clock.wait_for_timer(lambda m: isinstance(m, HeartbeatDue), timeout=10)
    wait_until(lambda: csms.count("StatusNotification") >= 2)
    settle(app)


def security_events(csms):
    return [r.payload["type"] for r in csms.received if r.action == "SecurityEventNotification"]


def test_raised_to_3_while_charging_reconnects_with_the_certificate_and_keeps_charging(
        pki, certs, tls_csms, clock, make_charge_point):
    """Done-when of issue 10 (first part): on profile 2 a session runs; SecurityProfile 3 is
    accepted, the link reconnects at once with its client certificate (no password), the
    upgrade is kept, and the same transaction goes on and ends at the CSMS."""
    csms = tls_csms(server_context(pki.server(), client_ca=pki.file))  # profile 2 or 3 charge points
    install(certs, roots=(pki.file,), client=pki.client(CP_ID))
    keys = security_profile_keys(2)
    keys["Core"] = {"MeterValueSampleInterval": 10}
    app = make_charge_point(csms.url, keys=keys)
    registered(csms, clock, app)
    sim = SimController(app.directory)
    start_charging(csms, sim)
    transaction = next(f for f in csms.frames if f.direction == "out" and '"transactionId"' in f.text)
    transaction_id = json.loads(transaction.text)[2]["transactionId"]
    assert csms.connections[0].password == PASSWORD and csms.connections[0].client_cn is None

    assert change(csms, "SecurityProfile", "3") == "Accepted"
    second = csms.wait_connected(CP_ID, count=2, timeout=10)
    assert (second.client_cn, second.username, second.password) == (CP_ID, None, None)
    wait_connected(app)
    csms.wait_for("SecurityEventNotification", lambda p: p["type"] == RECONFIGURED, timeout=10)
    settle(app)
    assert "FallbackSecurityProfile" not in user_config(app).get("Internal", {}) or \
        user_config(app)["Internal"]["FallbackSecurityProfile"] is None
    assert user_config(app)["Security"]["SecurityProfile"] == 3
    assert value_of(csms, "SecurityProfile") == "3"

    seen = len(csms.received)
    clock.advance(10)
    csms.wait_for("MeterValues", lambda p: p.get("transactionId") == transaction_id, after=seen, timeout=10)
    sim.swipe(1, "TAG1")
    stop = csms.wait_for("StopTransaction", timeout=10)
    assert stop.payload["transactionId"] == transaction_id
    assert csms.count("StartTransaction") == 1 and len(csms.connections) == 2


def test_a_raised_profile_that_cannot_connect_falls_back(clock, make_charge_point, caplog):
    """EVerest's test_chargepoint_update_security_profile_fallback: 1 -> 2 is accepted (the
    system CA store is trusted), but the CSMS speaks no TLS there: after 3 attempts the charge
    point goes back to 1, reports it, and GetConfiguration says 1 again."""
    with LocalCsms(password=PASSWORD) as csms:
        app = make_charge_point(csms.url.removeprefix("ws://"), keys=security_profile_keys(1))
        registered(csms, clock, app)
        assert change(csms, "SecurityProfile", "2") == "Accepted"
        clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
        assert user_config(app)["Internal"]["FallbackSecurityProfile"] == 1
        assert user_config(app)["Security"]["SecurityProfile"] == 2
        retry(clock, 2)
        csms.wait_connected(CP_ID, count=2, timeout=10)
        wait_connected(app)
        assert csms.connections[1].password == PASSWORD
        wait_until(lambda: security_events(csms) == [RECONFIGURED, RECONFIGURED], timeout=10)
        settle(app)
        assert value_of(csms, "SecurityProfile") == "1"
        assert user_config(app)["Security"]["SecurityProfile"] == 1
        assert user_config(app)["Internal"]["FallbackSecurityProfile"] is None  # null: removed from the overlay
        assert "SecurityProfile 2 could not connect 3 times in a row: back to 1" in caplog.text
        assert value_of(csms, "FallbackSecurityProfile") is None


def test_an_unproven_upgrade_falls_back_after_a_restart(clock, make_charge_point):
    """The fallback is in the user config: a charge point that restarts on an upgrade that
    never connected still goes back."""
    with LocalCsms() as csms:
        keys = security_profile_keys(2, FallbackSecurityProfile=0)
        app = make_charge_point(csms.url.removeprefix("ws://"), keys=keys)
        clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
        retry(clock, 2)
        csms.wait_connected(CP_ID, timeout=10)
        wait_connected(app)
        assert csms.connections[0].password is None  # profile 0: no Basic auth
        assert app.ctx.config.get("SecurityProfile") == 0 and app.ctx.config.get("FallbackSecurityProfile") is None


def test_lowering_is_rejected_and_3_needs_a_client_certificate(pki, certs, tls_csms, clock, make_charge_point):
    """TC_084 (downgrade rejected), and TC_083's precondition: 3 only with a valid certificate."""
    csms = tls_csms(server_context(pki.server(), client_ca=pki.file))
    install(certs, roots=(pki.file,))
    app = make_charge_point(csms.url, keys=security_profile_keys(2))
    registered(csms, clock, app)
    assert change(csms, "SecurityProfile", "1") == "Rejected"
    assert change(csms, "SecurityProfile", "3") == "Rejected"
    install(certs, client=pki.client(CP_ID))
    assert change(csms, "SecurityProfile", "3") == "Accepted"
    assert csms.wait_connected(CP_ID, count=2, timeout=10).client_cn == CP_ID
    settle(app)
    assert len(csms.connections) == 2


def test_a_new_authorization_key_over_tls_is_never_logged_or_traced(
        pki, certs, tls_csms, clock, make_charge_point, caplog, tmp_path):
    """TC_073 on profile 2: the answer, then a new TLS connection with the new password; the
    password is in no log line, no message log and no trace."""
    csms = tls_csms(server_context(pki.server()))
    install(certs, roots=(pki.file,))
    app = make_charge_point(csms.url, keys=security_profile_keys(2), options={"TracePath": tmp_path / "trace"})
    registered(csms, clock, app)
    assert change(csms, "AuthorizationKey", "7-chars") == "Rejected"  # 8 to 40 printable characters
    assert change(csms, "AuthorizationKey", "x" * 41) == "Rejected"
    new_key = "n3w-S3cret-K3y-0123456789"
    csms.password = new_key
    assert change(csms, "AuthorizationKey", new_key) == "Accepted"
    assert csms.wait_connected(CP_ID, count=2, timeout=10).password == new_key
    settle(app)
    app.stop()
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "user_config.json"]
    assert any(p.suffix == ".cptrace" for p in files) and any(p.suffix == ".log" for p in files)
    for path in files:
        assert new_key.encode() not in path.read_bytes(), path
    assert new_key not in caplog.text and PASSWORD not in caplog.text
