"""Tests of the strict CSMS peer itself, driven by a minimal synchronous OCPP-J client.

Why: every charge-point test relies on this peer as its schema oracle, so it must flag invalid frames,
pass valid ones, and clean up after itself.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import websocket

from .strict import CsmsCallError, StrictCsms

CALL, CALLRESULT, CALLERROR = 2, 3, 4
VALID_BOOT = {"chargePointVendor": "Acme", "chargePointModel": "Model-1"}


@pytest.fixture
def csms():
    with StrictCsms() as peer:
        yield peer


def connect(url: str, identity: str = "CP1", **options) -> websocket.WebSocket:
    return websocket.create_connection(url + identity, subprotocols=["ocpp1.6"], timeout=5, **options)


def send_call(ws: websocket.WebSocket, action: str, payload: object) -> list:
    """Send a CALL and return the decoded CALLRESULT/CALLERROR frame answering it."""
    message_id = str(uuid.uuid4())
    ws.send(json.dumps([CALL, message_id, action, payload]))
    response = json.loads(ws.recv())
    assert response[1] == message_id
    return response


@pytest.mark.timeout(30)
def test_valid_boot_notification_is_accepted_without_strict_failures(csms):
    ws = connect(csms.url)
    try:
        response = send_call(ws, "BootNotification", VALID_BOOT)
    finally:
        ws.close()

    assert response[0] == CALLRESULT
    assert response[2]["status"] == "Accepted"
    assert response[2]["interval"] == 300
    assert csms.wait_for("BootNotification", cp="CP1") == VALID_BOOT
    assert csms.wait_event("connected")["protocol"] == "ocpp1.6"
    csms.assert_no_strict_failures()


@pytest.mark.timeout(30)
def test_extra_property_is_reported_as_strict_failure(csms):
    ws = connect(csms.url)
    try:
        response = send_call(ws, "BootNotification", {**VALID_BOOT, "colour": "red"})
    finally:
        ws.close()

    assert response[0] == CALLERROR
    assert response[2] == "PropertyConstraintViolation"
    failure = csms.wait_event("strict_fail")
    assert failure["cp"] == "CP1"
    assert failure["direction"] == "in"
    assert failure["action"] == "BootNotification"
    assert failure["code"] == "PropertyConstraintViolation"
    with pytest.raises(AssertionError, match="strict OCPP violation"):
        csms.assert_no_strict_failures()


@pytest.mark.timeout(30)
def test_csms_call_round_trip(csms):
    ws = connect(csms.url)
    csms.wait_event("connected")
    params = {"idTag": "TAG1", "connectorId": 1}
    with ThreadPoolExecutor(max_workers=1) as executor:
        pending = executor.submit(csms.call, "CP1", "RemoteStartTransaction", params)
        frame = json.loads(ws.recv())
        assert frame[0] == CALL and frame[2] == "RemoteStartTransaction" and frame[3] == params
        ws.send(json.dumps([CALLRESULT, frame[1], {"status": "Accepted"}]))
        assert pending.result(timeout=10) == {"status": "Accepted"}
    ws.close()
    assert csms.wait_event("call_result")["action"] == "RemoteStartTransaction"
    csms.assert_no_strict_failures()


@pytest.mark.timeout(30)
def test_invalid_answer_to_csms_call_is_a_strict_failure(csms):
    ws = connect(csms.url)
    csms.wait_event("connected")
    with ThreadPoolExecutor(max_workers=1) as executor:
        pending = executor.submit(csms.call, "CP1", "Reset", {"type": "Soft"})
        frame = json.loads(ws.recv())
        ws.send(json.dumps([CALLRESULT, frame[1], {"status": "Maybe"}]))
        with pytest.raises(CsmsCallError) as raised:
            pending.result(timeout=10)
    ws.close()

    assert raised.value.kind == "strict"
    failure = csms.wait_event("strict_fail")
    assert (failure["direction"], failure["kind"], failure["action"]) == ("in", "result", "Reset")


@pytest.mark.timeout(30)
def test_reply_override_can_answer_with_callerror(csms):
    csms.set_reply("CP1", "Heartbeat", {"__callerror": "InternalError"})
    ws = connect(csms.url)
    try:
        response = send_call(ws, "Heartbeat", {})
    finally:
        ws.close()

    assert response[0] == CALLERROR
    assert response[2] == "InternalError"
    csms.assert_no_strict_failures()


@pytest.mark.timeout(30)
def test_missing_subprotocol_is_refused(csms):
    with pytest.raises(websocket.WebSocketBadStatusException) as raised:
        websocket.create_connection(csms.url + "CP1", timeout=5)

    assert raised.value.status_code == 400
    assert csms.wait_event("rejected")["status"] == 400


@pytest.mark.timeout(30)
def test_wrong_password_is_refused_and_right_one_reported():
    def basic_auth(password: str) -> list[str]:
        token = base64.b64encode(f"CP1:{password}".encode()).decode()
        return [f"Authorization: Basic {token}"]

    with StrictCsms(password="s3cret") as csms:
        with pytest.raises(websocket.WebSocketBadStatusException) as raised:
            connect(csms.url, header=basic_auth("wrong"))
        assert raised.value.status_code == 401
        with pytest.raises(websocket.WebSocketBadStatusException):
            connect(csms.url)

        connect(csms.url, header=basic_auth("s3cret")).close()
        connected = csms.wait_event("connected")
        assert (connected["cp"], connected["password"]) == ("CP1", "s3cret")


@pytest.mark.timeout(30)
def test_stop_leaves_no_node_process():
    csms = StrictCsms().start()
    pid = csms.pid
    ws = connect(csms.url)
    csms.stop()
    ws.close()

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
