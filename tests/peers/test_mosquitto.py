"""The broker helper and MqttEdge together: what the bus contract relies on, shown on a real
mosquitto — delivery, reconnects after a broker restart on the same port, and QoS 1 messages
that survive the broker going down, for a subscriber with a persistent session."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import pytest

from actors.mqtt_edge import MqttEdge
from peers.mosquitto_fixture import mosquitto  # noqa: F401

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from peers.mosquitto import Mosquitto

WAIT_S = 15.0


class Recorder:
    """What an edge's callbacks saw, with waiting helpers (the callbacks run on paho's thread)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.connections: list[bool] = []
        self._cond = threading.Condition()

    def on_message(self, topic: str, payload: bytes) -> None:
        with self._cond:
            self.messages.append((topic, payload))
            self._cond.notify_all()

    def on_connection(self, up: bool) -> None:  # noqa: FBT001
        with self._cond:
            self.connections.append(up)
            self._cond.notify_all()

    def wait(self, condition: Callable[[], bool], what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(condition, WAIT_S):
                raise AssertionError(f"timed out waiting for {what}; saw {self.messages} {self.connections}")

    def wait_up(self, times: int = 1) -> None:
        self.wait(lambda: self.connections.count(True) >= times and self.connections[-1], f"connection #{times}")

    def wait_payloads(self, *payloads: bytes) -> None:
        self.wait(lambda: all(p in [m for _t, m in self.messages] for p in payloads), f"{payloads}")


class Edges:
    """Builds edges against one broker and stops them all at the end."""

    def __init__(self, broker: Mosquitto) -> None:
        self.broker = broker
        self.made: list[MqttEdge] = []

    def __call__(self, client_id: str, *subscriptions: tuple[str, int],
                 clean_start: bool = False) -> tuple[MqttEdge, Recorder]:
        seen = Recorder()
        edge = MqttEdge("127.0.0.1", self.broker.port, client_id, subscriptions=list(subscriptions),
                        on_message=seen.on_message, on_connection=seen.on_connection, clean_start=clean_start)
        self.made.append(edge)
        edge.start()
        return edge, seen

    def stop_all(self) -> None:
        for edge in self.made:
            edge.stop()


@pytest.fixture
def broker(mosquitto: Mosquitto) -> Mosquitto:  # noqa: F811
    return mosquitto


@pytest.fixture
def edges(broker: Mosquitto) -> Iterator[Edges]:
    made = Edges(broker)
    try:
        yield made
    finally:
        made.stop_all()


def test_publish_subscribe(edges: Edges) -> None:
    sub, seen = edges("t-sub", ("bus/#", 2))
    pub, pub_seen = edges("t-pub")
    seen.wait_up()
    pub_seen.wait_up()
    assert sub.connected and pub.connected
    for qos in (0, 1, 2):
        assert pub.publish(f"bus/q{qos}", f"q{qos}".encode(), qos)
    seen.wait_payloads(b"q0", b"q1", b"q2")
    assert ("bus/q2", b"q2") in seen.messages


def test_connected_means_subscribed(edges: Edges) -> None:
    """A message published the moment on_connection(True) fires comes back: the subscriptions
    are acknowledged before it is reported (a resync's answers are not missed)."""
    box: dict[str, MqttEdge] = {}

    def echo(up: bool) -> None:  # noqa: FBT001
        if up:
            box["edge"].publish("self/ping", b"ping", 1)
        seen.on_connection(up)

    seen = Recorder()
    box["edge"] = edge = MqttEdge("127.0.0.1", edges.broker.port, "t-self", subscriptions=[("self/#", 1)],
                                  on_message=seen.on_message, on_connection=echo, clean_start=True)
    edges.made.append(edge)
    edge.start()
    seen.wait_payloads(b"ping")


def test_restart_on_the_same_port_reconnects(edges: Edges, broker: Mosquitto) -> None:
    port = broker.port
    sub, seen = edges("t-sub", ("bus/#", 1))
    pub, pub_seen = edges("t-pub")
    seen.wait_up()
    pub_seen.wait_up()
    broker.restart()
    assert broker.port == port and broker.running
    seen.wait(lambda: False in seen.connections, "the loss")
    seen.wait_up(2)
    pub_seen.wait_up(2)
    assert pub.publish("bus/after", b"after", 1)
    seen.wait_payloads(b"after")


def test_qos1_published_while_the_broker_is_down_arrives_after_restart(edges: Edges, broker: Mosquitto) -> None:
    _sub, seen = edges("t-sub", ("bus/#", 1))
    pub, pub_seen = edges("t-pub")
    seen.wait_up()
    pub_seen.wait_up()
    assert broker.stop() == 0
    pub_seen.wait(lambda: pub_seen.connections[-1] is False, "the publisher to notice")
    assert pub.publish("bus/down", b"sent while down", 1)  # queued by paho, not dropped
    assert not pub.publish("bus/down", b"qos0 while down", 0)
    time.sleep(0.3)
    broker.start()
    seen.wait_payloads(b"sent while down")
    assert b"qos0 while down" not in [m for _t, m in seen.messages]


def test_the_broker_keeps_queued_messages_for_an_absent_subscriber_across_sigterm(
        edges: Edges, broker: Mosquitto) -> None:
    """The OCPP side is down, the simulator publishes, the broker restarts (SIGTERM): when the OCPP
    side comes back under the same client id, the message is there, and only once."""
    first, seen = edges("t-ocpp", ("bus/#", 1))
    pub, pub_seen = edges("t-sim")
    seen.wait_up()
    pub_seen.wait_up()
    first.stop()  # a clean disconnect: the persistent session stays on the broker
    assert pub.publish("bus/queued", b"TransactionStarted", 1)
    assert pub.publish("bus/queued", b"TransactionFinished", 2)
    time.sleep(0.3)  # let the broker take them (the publisher's QoS handshake)
    broker.restart()
    pub_seen.wait_up(2)
    _again, seen_again = edges("t-ocpp", ("bus/#", 1))
    seen_again.wait_payloads(b"TransactionStarted", b"TransactionFinished")
    time.sleep(0.3)
    assert [m for _t, m in seen_again.messages] == [b"TransactionStarted", b"TransactionFinished"]


def test_kill_loses_the_broker_but_not_the_helper(broker: Mosquitto) -> None:
    pid = broker.pid
    assert pid is not None
    broker.kill()
    assert not broker.running
    broker.start()
    assert broker.running and broker.pid != pid
