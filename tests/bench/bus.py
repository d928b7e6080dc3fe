"""Benchmark of issue #9: the EVerest MQTT bus. Command round trips through mosquitto, next to
paho-mqtt's raw publish -> receive in the same run; session events per second across 128 EVSEs,
next to the same charge point with its simulator embedded (no bus).

Run from the repository root::

    .venv/bin/python tests/bench/bus.py [--quick] [--json FILE] [--energy-sinks]

Everything runs on 127.0.0.1 on free ports: Debian's ``mosquitto`` (``tests/peers/mosquitto.py``,
persistence on, as the contract wants), the project's LocalCsms, in-process charge points on
the real clock. Every broker, process, client and actor system started here is stopped again.
MQTT 3.1.1 throughout; the bus's own traffic is QoS 2 (the contract).

Two TCP set-ups, each measured in full:

* ``shipped``: as the project runs today. Neither paho-mqtt nor mosquitto (``set_tcp_nodelay``
  defaults to false) switches Nagle's algorithm off, so on loopback a small segment written
  while an earlier one is unacknowledged waits for the peer's delayed ACK (40 ms on Linux).
  A QoS 2 exchange where both ends answer (PUBREC/PUBREL/PUBCOMP plus the response's PUBLISH)
  hits that twice: a request/response costs ~88 ms, a one-way publish well under 1 ms.
* ``nodelay``: what if: the broker with ``set_tcp_nodelay true`` (added to the helper's
  config) and TCP_NODELAY on every paho socket, our ``MqttEdge``'s included (set by this
  benchmark through paho's ``on_socket_open``, in this process and in the simulator's).
  Here the cost of our own stack shows.

1. Command round trips, per set-up (all in this process: the charge point, ``EvseCount`` 1, on
   the bus; the real simulator side, ``supervisor.sim_process.SimProcess`` with 1 EVSE, also on
   the bus; two plain paho clients). N = 1000 of each series (100 with ``--quick``), one at a
   time, in R rounds (10; 2 with ``--quick``) whose series take turns (the order rotates every
   round; WARMUP untimed samples of each series per round), so a noisy phase hits every series:
   (a) ours -> peer: a ``BusCall`` of ``get_session_state`` (our extension) told to the bus actor
       with a waiter; timed from the tell to the waiter holding the ``BusCallAnswered``: the bus
       actor, its paho client, the broker, the simulator's bridge (which asks its Simulator for
       the state), and back;
   (b) peer -> ours: a plain paho client publishes a Cmd on
       ``everest/modules/ocpp/impl/main/cmd/get_configuration_key`` (keys: HeartbeatInterval) and
       waits for the CmdResult on its response topic: the bus actor, ProvidedInterfaces, the
       Configuration actor, and back;
   baselines: raw request/response between two plain paho clients (the requester publishes the
   same bytes as (b)'s Cmd, the responder answers from its on_message with one of (b)'s
   CmdResults, on another topic) at QoS 2, the floor that any command round trip pays, and at
   QoS 0; raw publish -> receive (one way) at QoS 2 and QoS 0. Every sample is timed by the
   waiting thread: perf_counter before the publish (or the tell), and after it woke up.
2. Session events, 128 EVSEs: ``ocpp-cp sim --evses 128`` as its own process (as deployed; for
   ``nodelay`` started through a two-line bootstrap that sets the socket option), the charge
   point with ``EvseCount`` 128 on the bus, LocalCsms on loopback. Three modes take turns
   (R rounds, 3; 1 with ``--quick``; the order rotates; a fresh charge point each time): on the
   bus ``shipped``, on the bus ``nodelay``, and the baseline: the same charge point with its
   Simulator embedded (no ``MqttServerAddress``). All are driven the same way: the control topics
   ``ocpp-cp/sim/<evse>/<command>`` (a paho client, QoS 2) on the bus, ``SimController`` (actor
   tells) embedded. Session events are counted where the charge point handles them: each
   ``SessionEvent`` an ``Evse`` actor has handled, with its time. Keys: LocalPreAuthorize and
   AuthorizationCacheEnabled on, MeterValueSampleInterval 0; one untimed warm-up cycle on every
   EVSE first (it also fills the authorization cache, so swipes are decided locally; the CSMS
   still gets every StatusNotification, StartTransaction and StopTransaction; ``--quick`` skips
   it, so its start wave has 128 Authorize round trips).
   - start: plug in + swipe on all 128 at once: session events per second (SessionStarted,
     TransactionStarted, ChargingStarted: 384) from the first command sent to the last event
     handled; as context, the time until all 128 StartTransactions reached the CSMS, the CPU
     this process spent in the wave (by thread: the charge point's actors and paho's thread),
     and what the charge point's MqttEdge published meanwhile (messages, bytes, by kind);
   - stop: plug out on all 128 at once (TransactionFinished, SessionFinished: 256), context;
   - burst: every EVSE cycles K times (5; 1 with ``--quick``) in a closed loop, each step sent
     when the charge point has handled the event before it (ChargingStarted -> plug out,
     SessionFinished -> plug in + swipe): the sustained rate of session events; as context, the
     time until the CSMS had every StopTransaction;
   - context, once per round and set-up: raw paho throughput, 640 session_event-sized messages
     published back to back at QoS 2 (paho's default 20 in flight, as our edge) to one
     subscriber: the broker's and paho's ceiling for what the simulator publishes.
   The energy sinks are not connected (``Connections {"evse_energy_sink": []}``) unless
   ``--energy-sinks``: at every transaction start and end the SchedulePublisher sends every
   EVSE's schedule again, 128 ``set_external_limits`` commands, so a wave of 128 sessions puts
   32,768 commands on the bus, more than it carries (they time out after 10 s, and the session
   events queue behind them). The charge point's attempts are counted (``NotConnected``, one
   log line each, which this benchmark counts and keeps off the console). Each of those rounds
   also publishes the ``ocpp_generic`` ``charging_schedules`` var (129 schedules), connected
   or not; embedded, the same rounds tell the Simulator 128 ExternalLimits each.

``main(argv) -> int`` is the entry point for the smoke test as well
(``tests/bench/test_bench_bus_smoke.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import platform
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import paho.mqtt.client as mqtt  # noqa: E402
import pykka  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from actors.evse import Evse  # noqa: E402
from actors.mqtt_edge import MqttEdge  # noqa: E402
from messages import everest  # noqa: E402
from messages.bus import BusCall, BusCallAnswered, GetBusStats  # noqa: E402
from messages.csms import GetLinkStats  # noqa: E402
from messages.evse_manager import GetSessionState, SessionEvent, SessionEventType  # noqa: E402
from supervisor.local_csms import LocalCsms, utc_now  # noqa: E402
from supervisor.sim_control import SimController  # noqa: E402
from supervisor.sim_process import SimProcess, SimSettings  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from supervisor.app import ChargePointApp

__all__ = ["main"]

HOST = "127.0.0.1"
EVSES = 128
ORIGIN = "bench"
"""The module id our test client calls our provided interfaces as."""
SETUPS = ("shipped", "nodelay")
SETUP_TEXT = {"shipped": "as shipped (our MqttEdge sets TCP_NODELAY; the broker and the raw clients keep the defaults)",
              "nodelay": "TCP_NODELAY on every socket (broker set_tcp_nodelay true; set by the benchmark)"}
WARMUP = 5
"""Untimed samples of each series at the start of every round."""
WAIT_S = 10.0
SERIES = ("ours_to_peer", "peer_to_ours", "raw_rr_qos2", "raw_rr_qos0", "raw_one_way_qos2", "raw_one_way_qos0")
"""Round-trip series, in the order of the first round (each round starts one further on)."""
MODES = ("bus", "bus_nodelay", "embedded")
"""Session modes, in the order of the first round (each round starts one further on)."""
KEYS = {"Core": {"LocalPreAuthorize": True, "AuthorizationCacheEnabled": True, "MeterValueSampleInterval": 0}}
NO_ENERGY_SINKS = {"Connections": json.dumps({"evse_energy_sink": []})}
EVENTS_PER_CYCLE = 5
"""SessionStarted, TransactionStarted, ChargingStarted, TransactionFinished, SessionFinished."""
FLOOD_MESSAGES = EVENTS_PER_CYCLE * EVSES
POLL_S = 0.01
"""Sleep between polls of the CSMS's counts and the actors' stats: each poll takes the GIL, or a
place in an actor's inbox, from what is measured (run.py's 0.2 ms polls would)."""
E = SessionEventType

SIM_NODELAY_BOOTSTRAP = """
import socket, sys
from actors.mqtt_edge import MqttEdge
_start = MqttEdge.start
def start(self):
    self._client.on_socket_open = lambda _c, _u, sock: sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _start(self)
MqttEdge.start = start
from supervisor.cli import main
sys.exit(main())
"""
"""``python -c`` this + ``sim ...``: ``ocpp-cp sim`` whose MQTT sockets have TCP_NODELAY."""


def _load(name: str, path: Path) -> Any:
    """A module by path (tests/bench and tests/peers are no packages)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load("ocpp_cp_bench_run_helpers", Path(__file__).with_name("run.py"))
"""tests/bench/run.py: _build_app, _summary, _ocpp_cp_command, _stop_process."""
peers = _load("ocpp_cp_bench_mosquitto", REPO / "tests" / "peers" / "mosquitto.py")
"""tests/peers/mosquitto.py: Mosquitto."""


# --- TCP_NODELAY, brokers, plain paho clients, waiting ------------------------------------------------


def _nodelay(_client: object, _userdata: object, sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@contextlib.contextmanager
def _edges_nodelay(on: bool) -> Iterator[None]:  # noqa: FBT001
    """While inside (if ``on``): every MqttEdge started in this process sets TCP_NODELAY on its sockets."""
    if not on:
        yield
        return
    inner = MqttEdge.start

    def start(self: MqttEdge) -> None:
        self._client.on_socket_open = _nodelay
        inner(self)

    MqttEdge.start = start  # type: ignore[method-assign]
    try:
        yield
    finally:
        MqttEdge.start = inner  # type: ignore[method-assign]


class _NoDelayConfig(type(Path())):  # type: ignore[misc]
    """The helper's config file, with ``set_tcp_nodelay true`` added whenever it is written."""

    def write_text(self, data: str, *args: Any, **kwargs: Any) -> int:
        return super().write_text(data + "set_tcp_nodelay true\n", *args, **kwargs)


def _broker(directory: Path, *, nodelay: bool) -> Any:
    """A tests/peers Mosquitto (not started), with set_tcp_nodelay if asked."""
    broker = peers.Mosquitto(directory)
    if nodelay:
        broker.config = _NoDelayConfig(broker.config)
    return broker


class _Client:
    """A plain paho-mqtt client (no envelope, no actor): connected and subscribed once
    :meth:`start` returns; ``on_message(topic, payload)`` runs on paho's thread."""

    def __init__(self, port: int, client_id: str, *, subscriptions: Sequence[tuple[str, int]] = (),
                 on_message: Callable[[str, bytes], None] | None = None, nodelay: bool = False) -> None:
        self._port = port
        self._subscriptions = list(subscriptions)
        self._ready = threading.Event()
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=True, protocol=mqtt.MQTTv311)
        client.on_connect = self._connected
        client.on_subscribe = lambda *_: self._ready.set()
        if on_message is not None:
            client.on_message = lambda _c, _u, m: on_message(m.topic, m.payload)
        if nodelay:
            client.on_socket_open = _nodelay
        self._client = client

    def _connected(self, client: mqtt.Client, _userdata: object, _flags: object, reason: mqtt.ReasonCode,
                   _properties: object) -> None:
        if reason.is_failure:
            return
        if self._subscriptions:
            client.subscribe(self._subscriptions)
        else:
            self._ready.set()

    def start(self) -> _Client:
        self._client.connect(HOST, self._port, keepalive=60)
        self._client.loop_start()
        if not self._ready.wait(WAIT_S):
            self.stop()
            msg = "a paho client did not connect and subscribe"
            raise RuntimeError(msg)
        return self

    def publish(self, topic: str, payload: bytes, qos: int) -> None:
        info = self._client.publish(topic, payload, qos=qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            msg = f"paho refused a message on {topic}: {info.rc}"
            raise RuntimeError(msg)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@contextlib.contextmanager
def _started(client: _Client) -> Iterator[_Client]:
    client.start()
    try:
        yield client
    finally:
        client.stop()


def _wait_until(condition: Callable[[], object], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout} s waiting for {what}"
            raise TimeoutError(msg)
        time.sleep(POLL_S)
    return value


def _quiet(app: ChargePointApp, timeout: float = 60.0) -> None:
    """Nothing queued or in flight on the CSMS link, no bus call waiting for its result, and every
    actor idle with an empty inbox, twice in a row (``app.wait_quiet`` and run.py's ``_wait_idle``,
    polled every POLL_S)."""
    ask = app.directory.ask

    def idle() -> bool:
        names = app.directory.names()
        if "bus" in names and ask("bus", GetBusStats(), timeout=10).pending:
            return False
        if ask("csms", GetLinkStats(), timeout=10).busy:
            return False
        busy, handled = app.ctx.activity.snapshot()
        inboxes = all(ref is None or ref.actor_inbox.empty() for ref in map(app.directory.get, names))
        return busy == 0 and inboxes and app.ctx.activity.snapshot() == (0, handled)

    _wait_until(lambda: idle() and (time.sleep(POLL_S) or idle()), timeout, "a quiet charge point")


def _boot_reply(_cp_id: str, _payload: object) -> dict[str, Any]:
    return {"status": "Accepted", "interval": 86400, "currentTime": utc_now()}


def _booted(app: ChargePointApp, csms: LocalCsms, cp_id: str, evses: int) -> None:
    """Registered, every StatusNotification answered, on the bus (if it is) with every call of
    the start (the resync) answered; then quiet."""
    csms.wait_for("BootNotification", cp_id=cp_id, timeout=60)
    _wait_until(lambda: csms.count("StatusNotification", cp_id) >= evses + 1, 60, "the StatusNotifications")
    if app.directory.get("bus") is not None:
        _wait_until(lambda: app.directory.ask("bus", GetBusStats(), timeout=10).connected, 60, "the bus connected")
    _quiet(app)


# --- 1. command round trips -----------------------------------------------------------------------


class _Arrival:
    """The one message a sample waits for (samples go one at a time): its payload and a wake-up."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.payload = b""

    def __call__(self, _topic: str, payload: bytes) -> None:
        self.payload = payload
        self.event.set()

    def wait(self, what: str) -> bytes:
        if not self.event.wait(WAIT_S):
            msg = f"no {what} within {WAIT_S} s"
            raise TimeoutError(msg)
        self.event.clear()
        return self.payload


class _RoundTrips:
    """The six series of measure 1, one sample at a time."""

    def __init__(self, app: ChargePointApp, requester: _Client, arrival: _Arrival, one_way: _Arrival) -> None:
        self.app, self.requester, self.arrival, self.one_way = app, requester, arrival, one_way
        self.call = everest.call_for(GetSessionState(evse_id=1))
        self.cmd_topic = everest.cmd_topic(everest.OCPP_MODULE_ID, "main", "get_configuration_key")
        self.request = self._cmd(str(uuid.uuid4()))
        self.reply = b""
        """What the raw responder answers: one of our CmdResults (set by every (b) sample)."""

    @staticmethod
    def _cmd(cmd_id: str) -> bytes:
        return everest.encode(everest.Cmd(id=cmd_id, args={"keys": ["HeartbeatInterval"]}, origin=ORIGIN))

    def ours_to_peer(self) -> float:
        waiter: pykka.ThreadingFuture[object] = pykka.ThreadingFuture()
        t0 = time.perf_counter()
        if not self.app.directory.tell("bus", BusCall(call=self.call, waiter=waiter, correlation=ORIGIN)):
            msg = "the bus actor is not running"
            raise RuntimeError(msg)
        outcome = waiter.get(timeout=WAIT_S)
        took = time.perf_counter() - t0
        if not isinstance(outcome, BusCallAnswered) or "plugged" not in outcome.retval:  # type: ignore[operator]
            msg = f"get_session_state: {outcome!r}"
            raise RuntimeError(msg)
        return took

    def peer_to_ours(self) -> float:
        cmd_id = str(uuid.uuid4())
        payload = self._cmd(cmd_id)
        t0 = time.perf_counter()
        self.requester.publish(self.cmd_topic, payload, everest.QOS)
        answer = self.arrival.wait("CmdResult of get_configuration_key")
        took = time.perf_counter() - t0
        result = everest.decode(answer)
        if not (isinstance(result, everest.CmdResult) and result.id == cmd_id and result.error is None
                and result.retval["configuration_keys"][0]["key"] == "HeartbeatInterval"):  # type: ignore[index]
            msg = f"get_configuration_key answered {answer!r}"
            raise RuntimeError(msg)
        self.reply = answer
        return took

    def raw_rr(self, qos: int) -> float:
        t0 = time.perf_counter()
        self.requester.publish(f"bench/req/{qos}", self.request, qos)
        self.arrival.wait(f"raw answer at QoS {qos}")
        return time.perf_counter() - t0

    def raw_one_way(self, qos: int) -> float:
        t0 = time.perf_counter()
        self.requester.publish(f"bench/oneway/{qos}", self.request, qos)
        self.one_way.wait(f"raw message at QoS {qos}")
        return time.perf_counter() - t0

    def sample(self, series: str) -> float:
        if series.startswith("raw_rr_qos"):
            return self.raw_rr(int(series[-1]))
        if series.startswith("raw_one_way_qos"):
            return self.raw_one_way(int(series[-1]))
        return getattr(self, series)()


def bench_round_trips(workdir: Path, n: int, rounds: int, *, nodelay: bool) -> dict[str, Any]:
    setup = "nodelay" if nodelay else "shipped"
    cp_id = f"BENCH-RT-{setup.upper()}"
    samples: dict[str, list[float]] = {s: [] for s in SERIES}
    per_round: list[dict[str, float]] = []
    sizes = [n // rounds + (1 if r < n % rounds else 0) for r in range(rounds)]
    with contextlib.ExitStack() as stack:
        stack.enter_context(_edges_nodelay(nodelay))
        broker = stack.enter_context(_broker(workdir / f"broker-round-trips-{setup}", nodelay=nodelay))
        csms = LocalCsms().start()
        stack.callback(csms.stop)
        csms.set_reply("BootNotification", _boot_reply, cp_id=cp_id)
        sim = SimProcess(SimSettings(host=HOST, port=broker.port, evse_count=1)).start()
        stack.callback(sim.stop)
        _wait_until(lambda: sim.bus_status().connected, 30, "the simulator on the bus")
        app = bench._build_app(csms.url, cp_id, workdir, None, evses=1,
                               options={"MqttServerAddress": HOST, "MqttServerPort": broker.port})
        app.start()
        stack.callback(app.stop)
        _booted(app, csms, cp_id, 1)

        arrival, one_way = _Arrival(), _Arrival()
        result_topic = everest.result_topic(everest.OCPP_MODULE_ID, "main", "get_configuration_key", ORIGIN)
        requester = stack.enter_context(_started(_Client(
            broker.port, f"bench-requester-{setup}", on_message=arrival, nodelay=nodelay,
            subscriptions=[(result_topic, 2), ("bench/resp/+", 2)])))
        trips = _RoundTrips(app, requester, arrival, one_way)

        def respond(topic: str, payload: bytes) -> None:
            if topic.startswith("bench/req/"):
                qos = int(topic.rsplit("/", 1)[1])
                responder.publish(f"bench/resp/{qos}", trips.reply, qos)
            else:
                one_way(topic, payload)

        responder = stack.enter_context(_started(_Client(
            broker.port, f"bench-responder-{setup}", on_message=respond, nodelay=nodelay,
            subscriptions=[("bench/req/+", 2), ("bench/oneway/+", 2)])))
        trips.peer_to_ours()  # gives the raw responder its reply
        for r, size in enumerate(sizes):
            order = SERIES[r % len(SERIES):] + SERIES[:r % len(SERIES)]
            mine: dict[str, list[float]] = {}
            for series in order:
                for _ in range(WARMUP):
                    trips.sample(series)
                mine[series] = [trips.sample(series) for _ in range(size)]
                samples[series] += mine[series]
            floor = statistics.median(mine["raw_rr_qos2"])
            per_round.append({"ours_to_peer_ms": statistics.median(mine["ours_to_peer"]) * 1000,
                              "peer_to_ours_ms": statistics.median(mine["peer_to_ours"]) * 1000,
                              "raw_rr_qos2_ms": floor * 1000,
                              "ours_to_peer_ratio": statistics.median(mine["ours_to_peer"]) / floor,
                              "peer_to_ours_ratio": statistics.median(mine["peer_to_ours"]) / floor})
        failures = len(csms.failures)
    out: dict[str, Any] = {s: bench._summary(v) for s, v in samples.items()}
    floor_ms = out["raw_rr_qos2"]
    out["ratios"] = {s: {"median": out[s]["median_ms"] / floor_ms["median_ms"],
                         "p99": out[s]["p99_ms"] / floor_ms["p99_ms"]} for s in ("ours_to_peer", "peer_to_ours")}
    out["above_floor_ms"] = {s: out[s]["median_ms"] - floor_ms["median_ms"] for s in ("ours_to_peer", "peer_to_ours")}
    out["rounds"] = per_round
    out["payload_bytes"] = {"request": len(trips.request), "reply": len(trips.reply)}
    out["csms_failures"] = failures
    return out


# --- 2. session events, 128 EVSEs ------------------------------------------------------------------


@contextlib.contextmanager
def _session_events() -> Iterator[queue.SimpleQueue[tuple[float, int, SessionEventType]]]:
    """While inside: (monotonic time, EVSE, event) of every SessionEvent an Evse actor has handled."""
    handled: queue.SimpleQueue[tuple[float, int, SessionEventType]] = queue.SimpleQueue()
    inner = Evse._on_session_event

    def on_session_event(self: Evse, msg: SessionEvent) -> None:
        inner(self, msg)
        handled.put((time.monotonic(), msg.evse_id, msg.event))

    Evse._on_session_event = on_session_event  # type: ignore[method-assign]
    try:
        yield handled
    finally:
        Evse._on_session_event = inner  # type: ignore[method-assign]


class _NotSent(logging.Filter):
    """Counts (and keeps off the console) the charge point's ``set_external_limits`` that found
    no energy sink connected: RemoteModules logs one error line for each."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "NotConnected" in record.getMessage() and "set_external_limits not sent" in record.getMessage():
            self.count += 1
            return False
        return True


@contextlib.contextmanager
def _not_sent() -> Iterator[_NotSent]:
    counter = _NotSent()
    logger = logging.getLogger("ocpp_cp.evse_manager")  # RemoteModules runs as "evse_manager"
    logger.addFilter(counter)
    try:
        yield counter
    finally:
        logger.removeFilter(counter)


@contextlib.contextmanager
def _edge_traffic() -> Iterator[dict[str, list[int]]]:
    """While inside: what the MqttEdges of this process published, by kind (``var/<name>``,
    ``cmd/<name>``, ``result``, ``ready``, ``error``): ``{kind: [messages, bytes]}``."""
    published: dict[str, list[int]] = {}
    lock = threading.Lock()
    inner = MqttEdge.publish

    def publish(self: MqttEdge, topic: str, payload: bytes, qos: int, retain: bool = False) -> bool:  # noqa: FBT001, FBT002
        parts = topic.split("/")
        kind = ("result" if "response" in parts else "ready" if parts[-1] == "ready"
                else "error" if "error" in parts else "/".join(parts[-2:]))
        with lock:
            row = published.setdefault(kind, [0, 0])
            row[0] += 1
            row[1] += len(payload)
        return inner(self, topic, payload, qos, retain)

    MqttEdge.publish = publish  # type: ignore[method-assign]
    try:
        yield published
    finally:
        MqttEdge.publish = inner  # type: ignore[method-assign]


def _traffic_since(now: dict[str, list[int]], before: dict[str, list[int]]) -> dict[str, dict[str, int]]:
    out = {kind: {"messages": m - before.get(kind, [0, 0])[0], "bytes": b - before.get(kind, [0, 0])[1]}
           for kind, (m, b) in list(now.items())}
    return {kind: row for kind, row in sorted(out.items(), key=lambda kv: -kv[1]["bytes"]) if row["messages"]}


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of this process's threads, by name less its ``-<n>`` suffix."""
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        try:
            seconds = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, ProcessLookupError):  # it ended meanwhile
            continue
        head, _, tail = thread.name.rpartition("-")
        name = head if head and tail.isdigit() else thread.name
        out[name] = out.get(name, 0.0) + seconds
    return out


def _cpu_since(now: dict[str, float], before: dict[str, float], top: int = 6) -> dict[str, float]:
    spent = {name: now[name] - before.get(name, 0.0) for name in now}
    return {name: s for name, s in sorted(spent.items(), key=lambda kv: -kv[1])[:top] if s > 0}


class _Driver:
    """Sends the simulator commands (on the bus or by actor tells) and follows the Evses' events."""

    def __init__(self, send: Callable[[int, str, dict[str, Any]], None],
                 events: queue.SimpleQueue[tuple[float, int, SessionEventType]]) -> None:
        self.send, self._events = send, events
        self.kinds: dict[str, int] = {}

    def _next(self, deadline: float) -> tuple[float, int, SessionEventType]:
        try:
            at, evse, kind = self._events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            msg = f"session events stopped coming ({self.kinds} so far)"
            raise TimeoutError(msg) from None
        self.kinds[kind.value] = self.kinds.get(kind.value, 0) + 1
        return at, evse, kind

    def drain(self) -> None:
        while True:
            try:
                self._events.get_nowait()
            except queue.Empty:
                return

    def start_session(self, evse: int) -> None:
        self.send(evse, "plug_in", {})
        self.send(evse, "swipe", {"id_tag": f"T{evse}"})

    def plug_out(self, evse: int) -> None:
        self.send(evse, "plug_out", {})

    def wave(self, command: Callable[[int], None], until: SessionEventType, timeout: float = 120.0) -> dict[str, Any]:
        """``command`` on every EVSE at once; until each has handled ``until``."""
        waiting = set(range(1, EVSES + 1))
        events = 0
        t0 = time.monotonic()
        for evse in range(1, EVSES + 1):
            command(evse)
        deadline, last = t0 + timeout, t0
        while waiting:
            last, evse, kind = self._next(deadline)
            events += 1
            if kind is until:
                waiting.discard(evse)
        return {"t0": t0, "events": events, "s": last - t0, "events_per_s": events / (last - t0)}

    def burst(self, cycles: int, timeout: float = 300.0) -> dict[str, Any]:
        """Every EVSE ``cycles`` times through a session, each step when the one before was handled."""
        left = dict.fromkeys(range(1, EVSES + 1), cycles)
        events = 0
        t0 = time.monotonic()
        for evse in left:
            self.start_session(evse)
        deadline, last = t0 + timeout, t0
        while any(left.values()):
            last, evse, kind = self._next(deadline)
            events += 1
            if kind is E.CHARGING_STARTED:
                self.plug_out(evse)
            elif kind is E.SESSION_FINISHED:
                left[evse] -= 1
                if left[evse]:
                    self.start_session(evse)
        return {"t0": t0, "events": events, "cycles": cycles * EVSES, "s": last - t0,
                "events_per_s": events / (last - t0), "cycles_per_s": cycles * EVSES / (last - t0)}


def _raw_flood(port: int, n: int, *, nodelay: bool) -> dict[str, Any]:
    """``n`` session_event-sized messages published back to back at QoS 2 to one subscriber."""
    event = SessionEvent(evse_id=1, event=E.TRANSACTION_STARTED, session_id=str(uuid.uuid4()), id_tag="T1",
                         meter_wh=1000.0, timestamp=datetime.now(timezone.utc).replace(microsecond=0))
    payload = everest.encode(everest.Var(value=everest.session_event_to_everest(event)))
    got: list[float] = []
    done = threading.Event()

    def arrived(_topic: str, _payload: bytes) -> None:
        got.append(time.monotonic())
        if len(got) == n:
            done.set()

    with _started(_Client(port, "bench-sink", subscriptions=[("bench/flood", 2)], on_message=arrived,
                          nodelay=nodelay)), _started(_Client(port, "bench-source", nodelay=nodelay)) as source:
        t0 = time.monotonic()
        for _ in range(n):
            source.publish("bench/flood", payload, 2)
        if not done.wait(60):
            msg = f"the raw flood: {len(got)} of {n} arrived"
            raise TimeoutError(msg)
    return {"messages": n, "bytes": len(payload), "s": got[-1] - t0, "messages_per_s": n / (got[-1] - t0)}


class _Bus:
    """One set-up's broker, ``ocpp-cp sim --evses 128`` and control client, for all rounds."""

    def __init__(self, stack: contextlib.ExitStack, workdir: Path, *, nodelay: bool) -> None:
        self.nodelay = nodelay
        setup = "nodelay" if nodelay else "shipped"
        self.broker = stack.enter_context(_broker(workdir / f"broker-sessions-{setup}", nodelay=nodelay))
        ready = threading.Event()
        ready_topic = everest.module_ready_topic(everest.SIM_MODULE_ID)
        self.control = stack.enter_context(_started(_Client(
            self.broker.port, f"bench-control-{setup}", subscriptions=[("everest/modules/+/ready", 2)],
            on_message=lambda topic, _payload: topic == ready_topic and ready.set(), nodelay=nodelay)))
        log_path = workdir / f"ocpp-cp-sim-{setup}.log"
        log = stack.enter_context(log_path.open("wb"))
        command = [sys.executable, "-c", SIM_NODELAY_BOOTSTRAP] if nodelay else bench._ocpp_cp_command()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        sim = subprocess.Popen([*command, "sim", "--mqtt", f"{HOST}:{self.broker.port}", "--evses", str(EVSES)],  # noqa: S603
                               cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        stack.callback(bench._stop_process, sim)
        if not ready.wait(60):
            msg = f"ocpp-cp sim ({setup}) did not get on the bus:\n{log_path.read_text()[-2000:]}"
            raise RuntimeError(msg)

    def send(self, evse: int, command: str, args: dict[str, Any]) -> None:
        self.control.publish(everest.sim_control_topic(evse, command), json.dumps(args).encode(), 2)


def _session_round(mode: str, r: int, workdir: Path, csms: LocalCsms, bus: _Bus | None, cycles: int,  # noqa: PLR0913
                   events: queue.SimpleQueue[tuple[float, int, SessionEventType]],
                   traffic: dict[str, list[int]], *, energy_sinks: bool, warmup: bool) -> dict[str, Any]:
    """One fresh charge point (on the bus, or with its simulator embedded): warm-up, start, stop, burst."""
    cp_id = f"BENCH-{mode.upper().replace('_', '-')}-{r}"
    csms.set_reply("BootNotification", _boot_reply, cp_id=cp_id)
    options = {} if bus is None else {"MqttServerAddress": HOST, "MqttServerPort": bus.broker.port,
                                      **({} if energy_sinks else NO_ENERGY_SINKS)}
    with _edges_nodelay(bus is not None and bus.nodelay), _not_sent() as not_sent:
        app = bench._build_app(csms.url, cp_id, workdir, None, evses=EVSES, keys=KEYS, options=options)
        app.start()
        try:
            _booted(app, csms, cp_id, EVSES)
            if bus is None:
                controller = SimController(app.directory)
                driver = _Driver(lambda evse, command, args: controller.send(evse, command, **args), events)
            else:
                driver = _Driver(bus.send, events)
            driver.drain()

            def settled(stops: int) -> None:
                _wait_until(lambda: csms.count("StopTransaction", cp_id) >= stops, 120, f"{stops} StopTransactions")
                _quiet(app)

            stops0 = 0
            if warmup:  # not timed: every path taken once, the authorization cache filled
                driver.burst(1)
                stops0 = EVSES
                settled(stops0)
                driver.kinds.clear()

            starts0 = csms.count("StartTransaction", cp_id)
            not_sent0 = not_sent.count
            traffic0, threads0, cpu0 = {k: list(v) for k, v in traffic.items()}, _thread_cpu(), time.process_time()
            start = driver.wave(driver.start_session, E.CHARGING_STARTED)
            start["process_cpu_s"] = time.process_time() - cpu0
            start["thread_cpu_s"] = _cpu_since(_thread_cpu(), threads0)
            _wait_until(lambda: csms.count("StartTransaction", cp_id) >= starts0 + EVSES, 120, "the StartTransactions")
            start["csms_all_started_s"] = max(x.at for x in csms.received
                                              if x.cp_id == cp_id and x.action == "StartTransaction") - start["t0"]
            _quiet(app)
            start["set_external_limits_not_sent"] = None if bus is None else not_sent.count - not_sent0
            start["published"] = _traffic_since(traffic, traffic0) if bus is not None else None
            stop = driver.wave(driver.plug_out, E.SESSION_FINISHED)
            settled(stops0 + EVSES)

            burst = driver.burst(cycles)
            settled(stops0 + (1 + cycles) * EVSES)
            burst["csms_all_stopped_s"] = max(x.at for x in csms.received
                                              if x.cp_id == cp_id and x.action == "StopTransaction") - burst["t0"]
            authorize = csms.count("Authorize", cp_id)
        finally:
            app.stop()
    return {"start": start, "stop": stop, "burst": burst, "kinds": dict(driver.kinds), "authorize_calls": authorize}


def bench_sessions(workdir: Path, rounds: int, cycles: int, *, energy_sinks: bool, warmup: bool = True
                   ) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    floods: dict[str, list[dict[str, Any]]] = {setup: [] for setup in SETUPS}
    with contextlib.ExitStack() as stack:
        buses = {"bus": _Bus(stack, workdir, nodelay=False), "bus_nodelay": _Bus(stack, workdir, nodelay=True)}
        csms = LocalCsms().start()
        stack.callback(csms.stop)
        events = stack.enter_context(_session_events())
        traffic = stack.enter_context(_edge_traffic())
        for r in range(rounds):
            for mode in MODES[r % len(MODES):] + MODES[:r % len(MODES)]:
                print(f"  round {r + 1}/{rounds}: {mode} ...", flush=True)
                runs[mode].append(_session_round(mode, r, workdir, csms, buses.get(mode), cycles, events, traffic,
                                                 energy_sinks=energy_sinks, warmup=warmup))
            for setup, bus in zip(SETUPS, buses.values(), strict=True):
                floods[setup].append(_raw_flood(bus.broker.port, FLOOD_MESSAGES, nodelay=bus.nodelay))
        failures = len(csms.failures)
    return {"runs": runs, "raw_flood": floods, "rounds": rounds, "cycles": cycles, "csms_failures": failures,
            "energy_sinks_connected": energy_sinks, "warmup": warmup,
            **{mode: _session_summary(mode_runs) for mode, mode_runs in runs.items()},
            "raw_flood_messages_per_s": {setup: statistics.median(f["messages_per_s"] for f in setup_floods)
                                         for setup, setup_floods in floods.items()}}


def _session_summary(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds."""
    def med(part: str, key: str) -> float:
        return statistics.median(run[part][key] for run in runs)
    return {"start_events_per_s": med("start", "events_per_s"), "start_all_charging_s": med("start", "s"),
            "start_csms_all_started_s": med("start", "csms_all_started_s"),
            "stop_events_per_s": med("stop", "events_per_s"), "stop_s": med("stop", "s"),
            "burst_events_per_s": med("burst", "events_per_s"), "burst_cycles_per_s": med("burst", "cycles_per_s"),
            "burst_s": med("burst", "s"), "burst_csms_all_stopped_s": med("burst", "csms_all_stopped_s"),
            "start_events": runs[0]["start"]["events"], "stop_events": runs[0]["stop"]["events"],
            "burst_events": runs[0]["burst"]["events"],
            "set_external_limits_not_sent_per_start_wave": runs[0]["start"]["set_external_limits_not_sent"],
            "start_process_cpu_s": med("start", "process_cpu_s"),
            "start_published": _median_traffic([run["start"]["published"] for run in runs]),
            "start_thread_cpu_s": runs[0]["start"]["thread_cpu_s"]}


def _median_traffic(rows: Sequence[dict[str, dict[str, int]] | None]) -> dict[str, Any] | None:
    """What the charge point published in a start wave: messages and bytes in all, and the kind
    with the most bytes (medians over the rounds)."""
    if any(row is None for row in rows):
        return None
    totals = [(sum(r["messages"] for r in row.values()), sum(r["bytes"] for r in row.values()))
              for row in rows if row is not None]
    first = rows[0] or {}
    top = next(iter(first), "")
    return {"messages": statistics.median(t[0] for t in totals), "bytes": statistics.median(t[1] for t in totals),
            "top_kind": top, "top_kind_messages": first[top]["messages"] if top else None,
            "top_kind_bytes": first[top]["bytes"] if top else None}


# --- derived figures, the tables ------------------------------------------------------------------------


def _derive(results: dict[str, Any]) -> None:
    sessions = results["sessions"]
    emb = sessions["embedded"]
    ratios: dict[str, float] = {}
    for mode in ("bus", "bus_nodelay"):
        ours = sessions[mode]
        for key in ("start_events_per_s", "start_csms_all_started_s", "stop_events_per_s", "burst_events_per_s"):
            ratios[f"{mode}_{key}_over_embedded"] = ours[key] / emb[key]
    for mode, setup in (("bus", "shipped"), ("bus_nodelay", "nodelay")):
        ratios[f"{mode}_burst_over_raw_flood"] = (sessions[mode]["burst_events_per_s"]
                                                  / sessions["raw_flood_messages_per_s"][setup])
    sessions["ratios"] = ratios
    every = [run for mode_runs in sessions["runs"].values() for run in mode_runs]
    sessions["checks"] = {
        "events_as_expected": all(
            run["start"]["events"] == 3 * EVSES and run["stop"]["events"] == 2 * EVSES
            and run["burst"]["events"] == EVENTS_PER_CYCLE * EVSES * sessions["cycles"] for run in every),
        "authorize_calls_max": max(run["authorize_calls"] for run in every),
    }
    trips = results["round_trips"]
    results["nodelay_gain"] = {s: trips["shipped"][s]["median_ms"] / trips["nodelay"][s]["median_ms"]
                               for s in ("ours_to_peer", "peer_to_ours", "raw_rr_qos2")}


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"  # noqa: PLR2004


def _render(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    cells = [tuple(header), *(tuple(r) for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    return [line(cells[0]), "  ".join("-" * w for w in widths), *(line(row) for row in cells[1:])]


def _trip_rows(setup: str, rt: dict[str, Any]) -> list[tuple[str, ...]]:
    floor = rt["raw_rr_qos2"]

    def row(name: str, key: str, baseline: dict[str, Any] | None, note: str) -> tuple[str, ...]:
        s = rt[key]
        return (name, str(s["n"]), f"{s['median_ms']:.3f}", f"{s['p99_ms']:.3f}", f"{s['max_ms']:.2f}",
                "-" if baseline is None else f"{baseline['median_ms']:.3f}",
                "-" if baseline is None else f"{s['median_ms'] / baseline['median_ms']:.2f}",
                "-" if baseline is None else f"{s['p99_ms'] / baseline['p99_ms']:.2f}", note)

    def rounds(key: str) -> str:
        return "per-round ratios " + "/".join(f"{r[key]:.2f}" for r in rt["rounds"])

    return [
        (f"{setup}: {SETUP_TEXT[setup]}", "", "", "", "", "", "", "", ""),
        row("  ours -> peer: BusCall get_session_state -> BusCallAnswered", "ours_to_peer", floor,
            f"{rt['above_floor_ms']['ours_to_peer']:+.3f} ms against the floor; peer: SimProcess; "
            f"{rounds('ours_to_peer_ratio')}"),
        row("  peer -> ours: client Cmd main.get_configuration_key -> CmdResult", "peer_to_ours", floor,
            f"{rt['above_floor_ms']['peer_to_ours']:+.3f} ms against the floor; {rounds('peer_to_ours_ratio')}"),
        row("  raw request/response, QoS 2, paho <-> paho: the floor", "raw_rr_qos2", None,
            f"the baseline of the two rows above; {rt['payload_bytes']['request']} B out, "
            f"{rt['payload_bytes']['reply']} B back"),
        row("    raw request/response, QoS 0", "raw_rr_qos0", floor, "context"),
        row("    raw publish -> receive, QoS 2", "raw_one_way_qos2", floor, "context: one way"),
        row("    raw publish -> receive, QoS 0", "raw_one_way_qos0", floor, "context: one way"),
    ]


def _threads(cpu: dict[str, float], top: int = 4) -> str:
    return ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in list(cpu.items())[:top])


def _table(results: dict[str, Any]) -> str:
    trips, sessions = results["round_trips"], results["sessions"]
    rows = [*_trip_rows("shipped", trips["shipped"]), *_trip_rows("nodelay", trips["nodelay"])]
    gain = results["nodelay_gain"]
    out = [f"command round trips through mosquitto (issue #9), milliseconds; ratio = value / baseline; "
           f"{len(trips['shipped']['rounds'])} rounds of alternating series per set-up"]
    out += _render(("measure", "n", "median", "p99", "max", "baseline", "ratio", "p99 ratio", "note"), rows,
                   {1, 2, 3, 4, 5, 6, 7})
    out.append(f"shipped / nodelay, medians: ours -> peer {gain['ours_to_peer']:.0f}x, peer -> ours "
               f"{gain['peer_to_ours']:.0f}x, raw request/response QoS 2 {gain['raw_rr_qos2']:.0f}x")

    bus, fast, emb, ratios = sessions["bus"], sessions["bus_nodelay"], sessions["embedded"], sessions["ratios"]
    k, n = sessions["cycles"], sessions["rounds"]
    flood = sessions["raw_flood_messages_per_s"]

    def ratio(key: str) -> str:
        return f"{ratios[f'bus_{key}_over_embedded']:.2f} / {ratios[f'bus_nodelay_{key}_over_embedded']:.2f}"

    def ms(part: dict[str, Any], key: str) -> str:
        return f"{part[key] * 1000:.0f}"

    srows = [
        ("plug in + swipe, all 128 at once", "events/s", _num(bus["start_events_per_s"]),
         _num(fast["start_events_per_s"]), _num(emb["start_events_per_s"]), ratio("start_events_per_s"),
         f"{bus['start_events']} session events; the last after {ms(bus, 'start_all_charging_s')} / "
         f"{ms(fast, 'start_all_charging_s')} / {ms(emb, 'start_all_charging_s')} ms"),
        ("  -> all 128 StartTransactions at the CSMS", "ms", ms(bus, "start_csms_all_started_s"),
         ms(fast, "start_csms_all_started_s"), ms(emb, "start_csms_all_started_s"),
         ratio("start_csms_all_started_s"), "context: from the first command; one CALL at a time on the link"),
        ("  CPU of this process in that wave", "s", f"{bus['start_process_cpu_s']:.2f}",
         f"{fast['start_process_cpu_s']:.2f}", f"{emb['start_process_cpu_s']:.2f}",
         f"{bus['start_process_cpu_s'] / emb['start_process_cpu_s']:.2f} / "
         f"{fast['start_process_cpu_s'] / emb['start_process_cpu_s']:.2f}",
         "context: the charge point (+ LocalCsms, control client); threads, bus: " + _threads(bus["start_thread_cpu_s"])),
        ("  published by the charge point in that wave", "kB", _num(bus["start_published"]["bytes"] / 1000),
         _num(fast["start_published"]["bytes"] / 1000), "-", "-",
         f"context: {bus['start_published']['messages']:,.0f} messages; the most bytes: "
         f"{bus['start_published']['top_kind']} ({bus['start_published']['top_kind_messages']:,} messages, "
         f"{bus['start_published']['top_kind_bytes'] / 1000:,.0f} kB)"),
        ("plug out, all 128 at once", "events/s", _num(bus["stop_events_per_s"]), _num(fast["stop_events_per_s"]),
         _num(emb["stop_events_per_s"]), ratio("stop_events_per_s"),
         f"context: {bus['stop_events']} events; the last after {ms(bus, 'stop_s')} / {ms(fast, 'stop_s')} / "
         f"{ms(emb, 'stop_s')} ms"),
        (f"burst: {k} session(s) per EVSE, closed loop", "events/s", _num(bus["burst_events_per_s"]),
         _num(fast["burst_events_per_s"]), _num(emb["burst_events_per_s"]), ratio("burst_events_per_s"),
         f"{bus['burst_events']} events; {bus['burst_cycles_per_s']:.0f} / {fast['burst_cycles_per_s']:.0f} / "
         f"{emb['burst_cycles_per_s']:.0f} sessions/s; the CSMS had every StopTransaction after "
         f"{bus['burst_csms_all_stopped_s']:.2f} / {fast['burst_csms_all_stopped_s']:.2f} / "
         f"{emb['burst_csms_all_stopped_s']:.2f} s"),
        ("  raw paho QoS 2 flood, one publisher -> one subscriber", "msgs/s", _num(flood["shipped"]),
         _num(flood["nodelay"]), "-",
         f"{ratios['bus_burst_over_raw_flood']:.2f} / {ratios['bus_nodelay_burst_over_raw_flood']:.2f}",
         f"context: {FLOOD_MESSAGES} session_event-sized messages; ratio = the burst above / this ceiling"),
    ]
    sinks = ("connected" if sessions["energy_sinks_connected"] else
             f"not connected: the charge point tried {bus['set_external_limits_not_sent_per_start_wave']:,} "
             "set_external_limits in a start wave")
    out += ["", f"session events, {EVSES} EVSEs, handled by the charge point's Evses: bus = ocpp-cp sim (own process) "
                f"+ charge point on mosquitto, as shipped / with TCP_NODELAY; baseline = the same charge point with "
                f"its simulator embedded; medians of {n} round(s); ratios = bus / embedded (shipped / nodelay); "
                f"energy sinks {sinks}"]
    out += _render(("measure", "unit", "bus", "bus nodelay", "embedded", "ratios", "note"), srows, {2, 3, 4, 5})
    return "\n".join(out)


# --- entry point -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/bench/bus.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and rounds (for the smoke test)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    parser.add_argument("--energy-sinks", action="store_true",
                        help="connect the energy sinks in measure 2 (see the docstring: today this floods the bus)")
    args = parser.parse_args(argv)

    n_trips = 100 if args.quick else 1000
    trip_rounds = 2 if args.quick else 10
    session_rounds = 1 if args.quick else 3
    cycles = 1 if args.quick else 5

    began = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {"quick": args.quick, "python": platform.python_version(), "cpus": os.cpu_count(),
                 "paho_mqtt": version("paho-mqtt"), "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "evses": EVSES, "round_trips": n_trips, "round_trip_rounds": trip_rounds,
                 "session_rounds": session_rounds, "burst_cycles": cycles,
                 "units": "milliseconds unless said; ratio = ours / baseline"},
    }
    print(f"MQTT bus, {'quick' if args.quick else 'full'} run", flush=True)
    with tempfile.TemporaryDirectory(prefix="ocpp-bench-bus-") as tmp:
        workdir = Path(tmp)
        results["round_trips"] = {}
        for i, setup in enumerate(SETUPS, 1):
            print(f"[{i}/3] command round trips, {setup}: {n_trips} of each series in {trip_rounds} rounds ...",
                  flush=True)
            results["round_trips"][setup] = bench_round_trips(workdir, n_trips, trip_rounds, nodelay=setup == "nodelay")
        print(f"[3/3] session events, {EVSES} EVSEs: bus, bus with TCP_NODELAY, embedded; {session_rounds} round(s),"
              f" bursts of {cycles} session(s) per EVSE ...", flush=True)
        results["sessions"] = bench_sessions(workdir, session_rounds, cycles, energy_sinks=args.energy_sinks,
                                             warmup=not args.quick)
    _derive(results)
    results["meta"]["duration_s"] = time.perf_counter() - began
    results["meta"]["csms_failures"] = (sum(rt["csms_failures"] for rt in results["round_trips"].values())
                                        + results["sessions"]["csms_failures"])

    print()
    print(_table(results))
    checks = results["sessions"]["checks"]
    print(f"\nchecks: session events {'as expected' if checks['events_as_expected'] else 'NOT as expected'} "
          f"({EVENTS_PER_CYCLE} a session); at most {checks['authorize_calls_max']} Authorize calls per charge point "
          f"(one per tag: the cache answers the rest); the CSMS saw {results['meta']['csms_failures']} invalid frame(s); "
          f"{results['meta']['duration_s']:.1f} s in all")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
