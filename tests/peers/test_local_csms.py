"""Tests of LocalCsms itself, driven by a tiny synchronous websocket-client peer."""

import base64
import json
import struct
import threading
import time

import pytest
import websocket
from ocpp.exceptions import OCPPError
from ocpp.messages import CallResult, _validate_payload

from supervisor.local_csms import (
    NO_REPLY, CallErrorReply, CsmsCallError, LocalCsms,
)

BOOT = {"chargePointVendor": "VendorX", "chargePointModel": "M1"}


@pytest.fixture
def csms():
    with LocalCsms() as server:
        yield server


def connect(csms, cp_id="CP1", password=None, username=None, subprotocols=("ocpp1.6",)):
    header = []
    if password is not None:
        token = base64.b64encode(f"{username or cp_id}:{password}".encode()).decode()
        header.append(f"Authorization: Basic {token}")
    return websocket.create_connection(csms.url + cp_id, subprotocols=list(subprotocols) or None,
                                       header=header, timeout=5)


def expect_close(ws, code, reason=""):
    """Read the server's close frame (websocket-client's recv() would just return "")."""
    opcode, data = ws.recv_data()
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert (struct.unpack("!H", data[:2])[0], data[2:].decode()) == (code, reason)


def hang_up(ws):
    """Close and really drop the socket: after a server-initiated close, websocket-client 1.9.2's
    close() returns early and leaves the TCP connection open, which stalls the server's close."""
    ws.close(timeout=1)
    ws.shutdown()


def call(ws, message_id, action, payload):
    """Send a CALL and return the decoded answer frame."""
    ws.send(json.dumps([2, message_id, action, payload]))
    return json.loads(ws.recv())


@pytest.mark.timeout(30)
def test_default_replies_are_valid_and_recorded(csms):
    ws = connect(csms)
    try:
        answer = call(ws, "1", "BootNotification", BOOT)
        assert answer[:2] == [3, "1"]
        assert answer[2]["status"] == "Accepted" and answer[2]["interval"] == 300
        assert answer[2]["currentTime"].endswith("Z")
        calls = [
            ("Heartbeat", {}),
            ("Authorize", {"idTag": "TAG1"}),
            ("StartTransaction", {"connectorId": 1, "idTag": "TAG1", "meterStart": 0,
                                  "timestamp": "2024-01-01T00:00:00Z"}),
            ("StartTransaction", {"connectorId": 2, "idTag": "TAG1", "meterStart": 0,
                                  "timestamp": "2024-01-01T00:00:00Z"}),
            ("StopTransaction", {"transactionId": 1, "meterStop": 10, "timestamp": "2024-01-01T01:00:00Z"}),
            ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}),
            ("DataTransfer", {"vendorId": "X"}),
            ("SecurityEventNotification", {"type": "StartupOfTheDevice", "timestamp": "2024-01-01T00:00:00Z"}),
            ("SignCertificate", {"csr": "-----BEGIN CERTIFICATE REQUEST-----"}),
        ]
        answers = {}
        for n, (action, payload) in enumerate(calls, start=2):
            answer = call(ws, str(n), action, payload)
            assert answer[:2] == [3, str(n)], answer
            _validate_payload(CallResult(str(n), answer[2], action), "1.6")
            answers.setdefault(action, []).append(answer[2])
        assert [a["transactionId"] for a in answers["StartTransaction"]] == [1, 2]
        assert answers["StatusNotification"] == [{}]
        boot = csms.wait_for("BootNotification", cp_id="CP1")
        assert (boot.message_id, boot.payload) == ("1", BOOT)
        assert csms.count("StartTransaction") == 2 and csms.failures == []
        assert csms.connections[0].cp_id == "CP1" and csms.connections[0].subprotocol == "ocpp1.6"
        assert csms.connections[0].username is None
    finally:
        hang_up(ws)


@pytest.mark.timeout(30)
def test_queued_replies_come_first_then_the_scripted_one(csms):
    pending = {"status": "Pending", "interval": 1, "currentTime": "2024-01-01T00:00:00Z"}
    csms.queue_reply("BootNotification", pending)
    csms.set_reply("Heartbeat", lambda cp_id, payload: {"currentTime": f"2024-01-01T00:00:0{len(cp_id)}Z"})
    csms.set_reply("Authorize", {"idTagInfo": {"status": "Blocked"}}, cp_id="CP2")
    ws, other = connect(csms), connect(csms, "CP2")
    try:
        assert call(ws, "1", "BootNotification", BOOT)[2]["status"] == "Pending"
        assert call(ws, "2", "BootNotification", BOOT)[2]["status"] == "Accepted"
        assert call(ws, "3", "Heartbeat", {})[2] == {"currentTime": "2024-01-01T00:00:03Z"}
        assert call(other, "1", "Authorize", {"idTag": "T"})[2]["idTagInfo"]["status"] == "Blocked"
        assert call(ws, "4", "Authorize", {"idTag": "T"})[2]["idTagInfo"]["status"] == "Accepted"
    finally:
        hang_up(ws)
        hang_up(other)


@pytest.mark.timeout(30)
def test_callerror_and_no_reply(csms):
    csms.set_reply("Authorize", CallErrorReply("InternalError", "boom"))
    csms.queue_reply("Heartbeat", NO_REPLY)
    csms.set_reply("DataTransfer", lambda cp_id, payload: csms.call(cp_id, "ClearCache", {}))
    ws = connect(csms)
    try:
        assert call(ws, "1", "Authorize", {"idTag": "TAG1"}) == [4, "1", "InternalError", "boom", {}]
        # a reply callable that would block the CSMS loop is refused instead of deadlocking
        assert call(ws, "0", "DataTransfer", {"vendorId": "X"})[:3] == [4, "0", "InternalError"]
        ws.send(json.dumps([2, "2", "Heartbeat", {}]))  # never answered
        answer = call(ws, "3", "Heartbeat", {})
        assert answer[:2] == [3, "3"]
        assert csms.count("Heartbeat") == 2
    finally:
        hang_up(ws)


@pytest.mark.timeout(30)
def test_invalid_call_gets_the_library_callerror_and_is_a_failure(csms):
    ws = connect(csms)
    try:
        bad = {"connectorId": "one", "idTag": "TAG1", "meterStart": 0, "timestamp": "2024-01-01T00:00:00Z"}
        answer = call(ws, "7", "StartTransaction", bad)
        assert answer[:3] == [4, "7", "TypeConstraintViolation"]
        assert "ocpp_message" not in answer[4]
        assert call(ws, "8", "Heartbeat", {"extra": 1})[:3] == [4, "8", "FormatViolation"]
        ws.send('[2,"9","Heartbeat"]')
        assert json.loads(ws.recv())[:3] == [4, "9", "ProtocolError"]
        ws.send("not json")  # no message id to answer to: only recorded
        assert call(ws, "10", "Heartbeat", {})[:2] == [3, "10"]  # frames are handled in order
        failures = csms.failures
        assert [f.action for f in failures] == ["StartTransaction", "Heartbeat", None, None]
        assert failures[0].error.code == "TypeConstraintViolation"
        assert failures[0].frame == json.dumps([2, "7", "StartTransaction", bad])
        assert failures[3].error.code == "FormatViolation"
        assert csms.count("StartTransaction") == 0
    finally:
        hang_up(ws)


def answer_next_call(ws, make_answer):
    """Answer the next CALL the CSMS sends on ``ws`` from a helper thread."""
    def run():
        message = json.loads(ws.recv())
        ws.send(json.dumps(make_answer(message)))
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(30)
def test_call_round_trip(csms):
    seen = []
    csms.on_frame = lambda cp_id, direction, frame: seen.append((cp_id, direction, frame))
    ws = connect(csms)
    try:
        csms.wait_connected("CP1")
        profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
                   "chargingProfileKind": "Absolute", "chargingSchedule": {
                       "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7.4}]}}
        request = {"idTag": "TAG1", "connectorId": 1, "chargingProfile": profile}
        peer = answer_next_call(ws, lambda m: [3, m[1], {"status": "Accepted"}] if m[2:] == [
            "RemoteStartTransaction", request] else [4, m[1], "ProtocolError", "unexpected", {}])
        assert csms.call("CP1", "RemoteStartTransaction", request) == {"status": "Accepted"}
        peer.join(5)
        assert [d for _, d, _ in seen] == ["out", "in"]
        assert '"limit":7.4' in seen[0][2]  # the library's Decimal conversion did not leak onto the wire
        assert type(profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]) is float
        assert [(f.direction, f.text) for f in csms.frames] == [(d, t) for _, d, t in seen]

        peer = answer_next_call(ws, lambda m: [3, m[1], {"status": "Maybe"}])
        with pytest.raises(OCPPError) as excinfo:
            csms.call("CP1", "RemoteStopTransaction", {"transactionId": 1})
        peer.join(5)
        assert excinfo.value.code == "FormatViolation"
        assert csms.failures[-1].action == "RemoteStopTransaction"
    finally:
        hang_up(ws)


@pytest.mark.timeout(30)
def test_call_raises_csms_call_error_and_timeout(csms):
    ws = connect(csms)
    try:
        csms.wait_connected("CP1")
        peer = answer_next_call(ws, lambda m: [4, m[1], "NotSupported", "nope", {"why": "test"}])
        with pytest.raises(CsmsCallError) as excinfo:
            csms.call("CP1", "Reset", {"type": "Soft"})
        peer.join(5)
        assert (excinfo.value.code, excinfo.value.description, excinfo.value.details) == (
            "NotSupported", "nope", {"why": "test"})
        with pytest.raises(TimeoutError):
            csms.call("CP1", "ClearCache", {}, timeout=0.2)
        with pytest.raises(ConnectionError):
            csms.call("CP9", "ClearCache", {})
        assert csms.failures == []
    finally:
        hang_up(ws)


@pytest.mark.timeout(30)
def test_send_raw_and_wait_frame(csms):
    ws = connect(csms)
    try:
        csms.wait_connected("CP1")
        mark = len(csms.frames)
        csms.send_raw("CP1", "garbage")
        assert ws.recv() == "garbage"
        ws.send('[4,"-1","FormatViolation","not JSON",{}]')
        frame = csms.wait_frame(lambda text: text.startswith("[4,"), after=mark)
        assert (frame.cp_id, frame.direction) == ("CP1", "in")
        assert csms.failures == []  # an answer nobody waits for is only a frame
        with pytest.raises(AssertionError):
            csms.wait_frame(lambda text: "never" in text, timeout=0.1)
    finally:
        hang_up(ws)


@pytest.mark.timeout(30)
def test_drop_and_reconnect_are_counted(csms):
    first = connect(csms)
    try:
        csms.wait_connected("CP1")
        csms.drop("CP1")
        assert not csms.connected("CP1")
        expect_close(first, 1001, "test drop")
    finally:
        hang_up(first)
    second = connect(csms)
    try:
        assert csms.wait_connected("CP1", count=2) == csms.connections[1]
        assert csms.connected("CP1")
        with pytest.raises(AssertionError):
            csms.wait_connected("CP1", count=3, timeout=0.1)
    finally:
        hang_up(second)


@pytest.mark.timeout(30)
def test_credentials_and_subprotocol_are_enforced():
    with LocalCsms(password="secret") as csms:
        for kwargs in ({"password": "wrong"}, {"password": "secret", "username": "CP2"}, {}):
            with pytest.raises(websocket.WebSocketBadStatusException) as excinfo:
                connect(csms, **kwargs)
            assert excinfo.value.status_code == 401
        with pytest.raises(websocket.WebSocketBadStatusException) as excinfo:
            connect(csms, password="secret", subprotocols=("ocpp2.0.1",))
        assert excinfo.value.status_code == 400
        assert [(r.username, r.password, r.status) for r in csms.rejected] == [
            ("CP1", "wrong", 401), ("CP2", "secret", 401), (None, None, 401), ("CP1", "secret", 400)]
        ws = connect(csms, password="secret")
        try:
            assert ws.getsubprotocol() == "ocpp1.6"
            conn = csms.wait_connected("CP1")
            assert (conn.cp_id, conn.username, conn.password, conn.subprotocol) == (
                "CP1", "CP1", "secret", "ocpp1.6")
        finally:
            hang_up(ws)


@pytest.mark.timeout(30)
def test_stop_and_restart_on_the_same_port():
    csms = LocalCsms().start()
    port = csms.port
    ws = connect(csms)
    try:
        assert call(ws, "1", "StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 0,
                                                  "timestamp": "2024-01-01T00:00:00Z"})[2]["transactionId"] == 1
        started = time.monotonic()
        csms.stop()
        assert time.monotonic() - started < 3
        expect_close(ws, 1001)
    finally:
        hang_up(ws)
    again = LocalCsms(port=port).start()
    try:
        assert again.url == f"ws://127.0.0.1:{port}/"
        ws = connect(again)
        try:
            assert call(ws, "1", "StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 0,
                                                      "timestamp": "2024-01-01T00:00:00Z"})[2]["transactionId"] == 1
        finally:
            hang_up(ws)
    finally:
        again.stop()
