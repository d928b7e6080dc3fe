"""MqttEdge: the one place that touches paho-mqtt, for both ends of the EVerest bus.

Why a plain class and not an actor: paho runs its own network thread and calls back on it, so
an actor would only add a second mailbox between two threads. Its owner (the OCPP side's bus
actor, or the simulator's) builds one and hands it two callbacks that only ``tell`` the owner:
they run on paho's thread, where blocking would stall keepalive and every other message.
:meth:`MqttEdge.publish` may be called from any thread.

Session (``docs/mqtt-bus.md``): MQTT 3.1.1 (what EVerest's framework speaks) with a fixed client
id and, by default, a persistent session (``clean_session`` False): the broker keeps our
subscriptions and queues QoS 1/2 messages while we are away, across its own restart when it
runs with persistence. Subscriptions are still made again at every connect, for a broker that
lost the session. Reconnects are paho's, with back-off 0.5, 1, 2, 4, 4, ... s; a QoS 1/2
publish while disconnected waits in paho's memory and goes out after the reconnect (QoS 0 is
dropped), so a publisher that outlives the outage loses nothing.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["RECONNECT_MAX_S", "RECONNECT_MIN_S", "MqttEdge"]

RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 4.0
KEEPALIVE_S = 30

log = logging.getLogger(__name__)


class MqttEdge:
    """A connection to the broker that stays up: subscribes at every connect, reports when it is
    usable and when it is lost, and hands every message over as (topic, payload)."""

    def __init__(self, host: str, port: int, client_id: str, *, username: str | None = None,  # noqa: PLR0913
                 password: str | None = None, tls_ca: str | None = None,
                 subscriptions: Sequence[tuple[str, int]] = (), on_message: Callable[[str, bytes], None],
                 on_connection: Callable[[bool], None], clean_start: bool = False) -> None:
        """Args:
            subscriptions: (topic filter, QoS) pairs, made at every connect.
            on_message: called on paho's thread for every message; must not block.
            on_connection: called on paho's thread with True once connected *and* every
                subscription is acknowledged (so a command published then gets its answer), and
                with False when that connection is lost; must not block.
            clean_start: True to start without the broker's stored session (and keep none).
        """
        self._host, self._port = host, port
        self._subscriptions = list(subscriptions)
        self._on_message, self._on_connection = on_message, on_connection
        self._lock = threading.Lock()
        self._up = False
        self._stopping = False
        self._pending_sub: int | None = None
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=clean_start, protocol=mqtt.MQTTv311)
        if username is not None:
            client.username_pw_set(username, password)
        if tls_ca is not None:
            client.tls_set(ca_certs=tls_ca)
        client.reconnect_delay_set(min_delay=RECONNECT_MIN_S, max_delay=RECONNECT_MAX_S)  # type: ignore[arg-type]
        client.on_connect = self._connected
        client.on_subscribe = self._subscribed
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        client.on_connect_fail = self._connect_failed
        client.on_socket_open = _no_delay
        self._client = client

    @property
    def connected(self) -> bool:
        """True between on_connection(True) and on_connection(False)."""
        return self._up

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers) and keep connected."""
        self._client.connect_async(self._host, self._port, keepalive=KEEPALIVE_S)
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> bool:  # noqa: FBT001, FBT002
        """Send, or queue until the reconnect (QoS 1/2); False when the message was dropped
        (QoS 0 while disconnected, or paho refused it)."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS or (qos > 0 and info.rc == mqtt.MQTT_ERR_NO_CONN)

    def stop(self) -> None:
        """Disconnect cleanly (the broker keeps a persistent session) and end paho's thread;
        no callback runs after this returns."""
        with self._lock:
            self._stopping = True
            self._up = False
        self._client.disconnect()
        self._client.loop_stop()

    # --- paho's thread ------------------------------------------------------------------------

    def _connected(self, client: mqtt.Client, _userdata: object, flags: mqtt.ConnectFlags,
                   reason: mqtt.ReasonCode, _properties: object) -> None:
        if reason.is_failure:
            log.warning("MQTT %s:%d refused the connection: %s", self._host, self._port, reason)
            return
        log.info("MQTT connected to %s:%d (session present: %s)", self._host, self._port, flags.session_present)
        if not self._subscriptions:
            self._report(up=True)
            return
        _rc, mid = client.subscribe(self._subscriptions)
        with self._lock:
            self._pending_sub = mid

    def _subscribed(self, _client: mqtt.Client, _userdata: object, mid: int,
                    reasons: list[mqtt.ReasonCode], _properties: object) -> None:
        with self._lock:
            if mid != self._pending_sub:
                return
            self._pending_sub = None
        for (topic, _qos), reason in zip(self._subscriptions, reasons):
            if reason.is_failure:
                log.error("MQTT subscription to %s refused: %s", topic, reason)
        self._report(up=True)

    def _disconnected(self, _client: mqtt.Client, _userdata: object, _flags: object,
                      reason: mqtt.ReasonCode, _properties: object) -> None:
        if not self._stopping:
            log.warning("MQTT connection to %s:%d lost: %s", self._host, self._port, reason)
        self._report(up=False)

    def _connect_failed(self, _client: mqtt.Client, _userdata: object) -> None:
        log.debug("MQTT %s:%d not reachable; retrying", self._host, self._port)

    def _message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if self._stopping:
            return
        try:
            self._on_message(message.topic, message.payload)
        except Exception:
            log.exception("MQTT message handler failed on %s", message.topic)

    def _report(self, *, up: bool) -> None:
        with self._lock:
            if self._stopping or self._up == up:
                return
            self._up = up
        try:
            self._on_connection(up)
        except Exception:
            log.exception("MQTT connection handler failed")


def _no_delay(_client: object, _userdata: object, sock: object) -> None:
    """TCP_NODELAY on the broker connection: a QoS 2 command and its result are four small
    packets each way, and Nagle's algorithm with delayed ACKs held every round trip at 88 ms
    (0.9 ms without; tests/bench/bus.py)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        pass  # not a TCP socket (e.g. a unix socket): nothing to tune
