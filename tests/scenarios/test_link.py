"""The websocket link: reconnect with back-off, Basic auth, malformed and unknown frames."""

from __future__ import annotations

import json

import pytest

from conftest import CP_ID, wait_idle, wait_until
from messages.csms import ConnectDue, GetLinkStats
from supervisor.local_csms import LocalCsms

pytestmark = pytest.mark.timeout(60)

BACKOFF = {"Internal": {"RetryBackoffWaitMinimum": 3, "RetryBackoffRandomRange": 0, "RetryBackoffRepeatTimes": 2}}


def booted(csms, app):
    csms.wait_for("BootNotification")
    wait_until(lambda: csms.count("StatusNotification") == 2)
    wait_idle(app)


def test_reconnects_after_the_csms_drops_without_a_new_boot(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys=BACKOFF)
    booted(csms, app)
    csms.drop(CP_ID)
    timer = clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
    assert timer.due - clock.monotonic() == pytest.approx(3)  # RetryBackoffWaitMinimum, no random part
    clock.advance(3)
    csms.wait_connected(CP_ID, count=2)
    wait_until(lambda: app.directory.ask("csms", GetLinkStats()).connected)
    assert csms.count("BootNotification") == 1  # an accepted registration survives a reconnect
    assert csms.call(CP_ID, "GetConfiguration", {"key": ["HeartbeatInterval"]})["configurationKey"]


def test_backs_off_while_the_csms_is_down_and_reconnects_when_it_returns(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys=BACKOFF)
    booted(csms, app)
    port = csms.port
    csms.stop()
    delays = []
    for attempt in range(4):  # lost, then refused three times: waits 3, 6, 12, 12 (2 doublings)
        timer = clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
        delays.append(timer.due - clock.monotonic())
        if attempt < 3:
            clock.advance(delays[-1])
    assert delays == [3, 6, 12, 12]
    revived = LocalCsms(port=port).start()
    try:
        clock.advance(delays[-1])
        revived.wait_connected(CP_ID)
        wait_until(lambda: app.directory.ask("csms", GetLinkStats()).connected)
        assert revived.count("BootNotification") == 0
    finally:
        revived.stop()


@pytest.fixture
def locked_csms():
    server = LocalCsms(password="s3cr3t-key").start()
    yield server
    server.stop()


def test_basic_auth_right_password(locked_csms, make_charge_point):
    make_charge_point(locked_csms.url, keys={"Security": {"SecurityProfile": 1, "AuthorizationKey": "s3cr3t-key"}})
    locked_csms.wait_for("BootNotification")
    assert (locked_csms.connections[0].username, locked_csms.connections[0].password) == (CP_ID, "s3cr3t-key")


def test_basic_auth_wrong_password_is_refused_and_retried(locked_csms, clock, make_charge_point, caplog):
    make_charge_point(locked_csms.url, keys={
        "Security": {"SecurityProfile": 1, "AuthorizationKey": "wrong-key-123"}, **BACKOFF})
    clock.wait_for_timer(lambda m: isinstance(m, ConnectDue))
    assert locked_csms.rejected[0].status == 401
    assert locked_csms.connections == []
    assert "HTTP 401" in caplog.text
    clock.advance(3)
    wait_until(lambda: len(locked_csms.rejected) == 2)


MALFORMED = [
    ("not json", "FormationViolation", "-1"),
    ('{"a": 1}', "FormationViolation", "-1"),
    ('[2, "m1", "GetConfiguration"]', "FormationViolation", "m1"),
    ('[2, "m2", "FooBar", {}]', "NotImplemented", "m2"),
    ('[2, "m3", "GetDiagnostics", {"location": "ftp://127.0.0.1/"}]', "NotSupported", "m3"),  # issue 10
    ('[2, "m4", "ChangeAvailability", {"connectorId": 1}]', "OccurenceConstraintViolation", "m4"),
    ('[2, "m5", "ChangeAvailability", {"connectorId": "1", "type": "Operative"}]', "TypeConstraintViolation", "m5"),
    ('[2, "m6", "GetConfiguration", {"key": [], "extra": 1}]', "FormationViolation", "m6"),
    ('[2, "m7", "Reset", {"type": "Warm"}]', "PropertyConstraintViolation", "m7"),
    ('[2, "m8", "GetConfiguration", []]', "FormationViolation", "m8"),
    ('[2, "m9", "ChangeAvailability", {"connectorId": 1, "type": "Operative"', "FormationViolation", "m9"),
]


@pytest.mark.parametrize(("frame", "code", "message_id"), MALFORMED, ids=[m[1] + ":" + m[2] for m in MALFORMED])
def test_malformed_and_unknown_calls_get_the_right_callerror(csms, make_charge_point, frame, code, message_id):
    app = make_charge_point(csms.url)
    booted(csms, app)
    mark = len(csms.frames)
    csms.send_raw(CP_ID, frame)
    answer = json.loads(csms.wait_frame(lambda text: text.startswith("[4"), after=mark).text)
    assert answer[:3] == [4, message_id, code]
    # ... and the link keeps serving.
    assert csms.call(CP_ID, "GetConfiguration", {"key": ["HeartbeatInterval"]})["configurationKey"]


def test_stray_answers_are_dropped_without_reply(csms, make_charge_point):
    app = make_charge_point(csms.url)
    booted(csms, app)
    mark = len(csms.frames)
    csms.send_raw(CP_ID, '[3, "nobody-asked", {}]')
    csms.send_raw(CP_ID, '[4, "nobody-asked", "GenericError", "", {}]')
    csms.send_raw(CP_ID, '[3, "x"]')
    assert csms.call(CP_ID, "GetConfiguration", {"key": ["HeartbeatInterval"]})
    assert [f.text for f in csms.frames[mark:] if f.direction == "in" and f.text.startswith("[4")] == []


def test_every_frame_goes_to_the_message_log(csms, make_charge_point, tmp_path):
    app = make_charge_point(csms.url)
    booted(csms, app)
    lines = (tmp_path / "log" / f"{CP_ID}.log").read_text().splitlines()
    assert len(lines) == 6  # Boot + 2 StatusNotifications, each with its answer
    stamp, direction, frame = lines[0].split(" ", 2)
    assert stamp.endswith("Z") and direction == "out" and json.loads(frame)[2] == "BootNotification"
    assert lines[1].split(" ", 2)[1] == "in"
