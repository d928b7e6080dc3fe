"""Tests of FaultProxy, with a websocket-client peer talking to LocalCsms through it."""

import json
import random
import socket
import threading
import time

import pytest
import websocket

from peers.fault_proxy import FAULTS, FaultProxy
from supervisor.local_csms import LocalCsms

BOOT = {"chargePointVendor": "V", "chargePointModel": "M"}


@pytest.fixture
def csms():
    with LocalCsms() as server:
        yield server


@pytest.fixture
def proxy(csms):
    with FaultProxy(csms.port) as fault_proxy:
        yield fault_proxy


def connect(proxy, cp_id="CP1", timeout=5):
    return websocket.create_connection(proxy.url + cp_id, subprotocols=["ocpp1.6"], timeout=timeout)


def send_boot(ws, message_id):
    ws.send(json.dumps([2, message_id, "BootNotification", BOOT]))


def expect_answer(ws, message_id):
    answer = json.loads(ws.recv())
    assert answer[:2] == [3, message_id]
    assert answer[2]["status"] == "Accepted"


def boot(ws, message_id="1"):
    send_boot(ws, message_id)
    expect_answer(ws, message_id)


def expect_silence(ws, seconds=0.9, poll=0.3):
    """Poll recv with a short timeout: nothing may arrive."""
    ws.settimeout(poll)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv()
    ws.settimeout(5)


def expect_closed(ws):
    """recv must fail (or see the end of the stream), not time out."""
    try:
        assert ws.recv() == ""
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        pass


def hang_up(ws):
    try:
        ws.close(timeout=1)
    except (websocket.WebSocketException, OSError):
        pass
    ws.shutdown()


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def proxy_threads():
    return [t for t in threading.enumerate() if t.name.startswith("FaultProxy") and t.is_alive()]


@pytest.mark.timeout(30)
def test_passes_a_boot_notification_through(csms, proxy):
    ws = connect(proxy)
    try:
        boot(ws)
        assert csms.wait_for("BootNotification").payload == BOOT
        assert proxy.connections == 1 and proxy.bytes_up > 0 and proxy.bytes_down > 0
        assert proxy.url == f"ws://127.0.0.1:{proxy.port}/" and proxy.port != csms.port
    finally:
        hang_up(ws)
    wait_until(lambda: len(csms.closed) == 1)
    assert csms.closed[0].code == 1000  # the close handshake passed through too


@pytest.mark.timeout(30)
def test_cut_resets_current_connections_and_new_ones_work(csms, proxy):
    ws = connect(proxy)
    boot(ws)
    proxy.cut()
    expect_closed(ws)
    ws.shutdown()
    wait_until(lambda: len(csms.closed) == 1)
    assert csms.closed[0].code is None  # no close frame: the CSMS saw a reset
    ws = connect(proxy)
    try:
        boot(ws, "2")
    finally:
        hang_up(ws)
    assert [name for _, name in proxy.faults] == ["cut"]


@pytest.mark.timeout(30)
def test_stall_holds_bytes_until_resume(csms, proxy):
    ws = connect(proxy)
    try:
        boot(ws)
        proxy.stall()
        send_boot(ws, "2")
        expect_silence(ws)
        assert csms.count("BootNotification") == 1  # held upstream too, not just the answer
        proxy.resume()
        expect_answer(ws, "2")
        boot(ws, "3")
    finally:
        hang_up(ws)


@pytest.mark.timeout(30)
def test_stall_holds_new_connections_too(csms, proxy):
    proxy.stall()
    result = {}

    def open_and_boot():
        ws = connect(proxy, "CP2")
        boot(ws, "9")
        result["ws"] = ws

    opener = threading.Thread(target=open_and_boot)
    opener.start()
    opener.join(0.8)
    assert opener.is_alive() and not csms.connections  # the handshake is held
    proxy.resume()
    opener.join(5)
    assert "ws" in result
    hang_up(result["ws"])


@pytest.mark.timeout(30)
def test_blackhole_eats_bytes_and_hangs_new_handshakes(csms, proxy):
    old = connect(proxy)
    boot(old)
    proxy.blackhole()
    send_boot(old, "2")
    expect_silence(old)
    with pytest.raises((websocket.WebSocketTimeoutException, TimeoutError)):
        connect(proxy, "CP2", timeout=1)
    assert len(csms.connections) == 1 and proxy.connections == 2
    proxy.resume()
    send_boot(old, "3")
    expect_silence(old)  # a black-holed connection stays dead after resume
    assert csms.count("BootNotification") == 1
    ws = connect(proxy, "CP3")
    try:
        boot(ws, "4")
    finally:
        hang_up(ws)
    old.shutdown()  # the client gives up: the black hole resets the CSMS side
    wait_until(lambda: "CP1" in [c.cp_id for c in csms.closed])


@pytest.mark.timeout(30)
def test_cut_ends_a_black_hole(csms, proxy):
    old = connect(proxy)
    proxy.blackhole()
    proxy.cut()
    expect_closed(old)
    old.shutdown()
    proxy.resume()
    ws = connect(proxy, "CP2")
    try:
        boot(ws)
    finally:
        hang_up(ws)


@pytest.mark.timeout(30)
def test_refuse_then_resume_on_the_same_port(csms, proxy):
    old = connect(proxy)
    port = proxy.port
    proxy.refuse()
    with pytest.raises(ConnectionRefusedError):
        connect(proxy, "CP2")
    boot(old)  # established connections are not affected
    proxy.resume()
    assert proxy.port == port
    ws = connect(proxy, "CP3")
    try:
        boot(ws, "2")
    finally:
        hang_up(ws)
        hang_up(old)


@pytest.mark.timeout(30)
def test_faults_racing_pending_connects_keep_the_proxy_alive(csms, proxy):
    """A connect waiting in the backlog while refuse() closes the listener (a regression)."""
    pending = []
    try:
        for _ in range(500):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", proxy.port))
            pending.append(sock)
            proxy.refuse()  # raises RuntimeError once the loop thread has died
            proxy.resume()
    finally:
        for sock in pending:
            sock.close()
    ws = connect(proxy)
    try:
        boot(ws)
    finally:
        hang_up(ws)


@pytest.mark.timeout(30)
def test_random_fault_applies_and_records_a_fault(csms, proxy):
    rng = random.Random(7)
    names = []
    for _ in range(8):
        names.append(proxy.random_fault(rng))
        proxy.resume()
    assert set(names) <= set(FAULTS)
    assert [name for _, name in proxy.faults] == [n for name in names for n in (name, "resume")]
    ws = connect(proxy)
    try:
        boot(ws)
    finally:
        hang_up(ws)


@pytest.mark.timeout(30)
def test_stop_leaves_no_thread_or_listener(csms):
    before = proxy_threads()
    proxy = FaultProxy(csms.port).start()
    ws = connect(proxy)
    boot(ws)
    proxy.stall()
    proxy.stop()
    proxy.stop()  # idempotent
    assert proxy_threads() == before == []
    expect_closed(ws)
    ws.shutdown()
    with pytest.raises(ConnectionRefusedError):
        connect(proxy, "CP2")
    with pytest.raises(RuntimeError):
        proxy.cut()
    wait_until(lambda: len(csms.closed) == 1)
