"""The link's URL, credentials, ping interval and reconnect wait, read from the configuration."""

from __future__ import annotations

import base64
from typing import Any

from actors.backoff import reconnect_delay
from actors.link_settings import auth_headers, charge_point_url, ping_interval, reconnect_wait


def configured(**values: object) -> Any:
    return lambda key, default: values.get(key, default)


def test_the_charge_point_id_is_appended_exactly_once() -> None:
    assert charge_point_url("ws://csms:9000/ocpp", "CP1") == "ws://csms:9000/ocpp/CP1"
    assert charge_point_url("ws://csms:9000/ocpp/", "CP1") == "ws://csms:9000/ocpp/CP1"
    assert charge_point_url("ws://csms:9000/ocpp/CP1/", "CP1") == "ws://csms:9000/ocpp/CP1"


def test_basic_auth_from_security_profile_1_on() -> None:
    assert auth_headers("CP1", configured()) == []
    assert auth_headers("CP1", configured(SecurityProfile=0, AuthorizationKey="secret")) == []
    token = base64.b64encode(b"CP1:secret").decode()
    assert auth_headers("CP1", configured(SecurityProfile=1, AuthorizationKey="secret")) == [
        f"Authorization: Basic {token}"]


def test_no_ping_interval_means_no_pings() -> None:
    assert ping_interval(configured()) == 0
    assert ping_interval(configured(WebSocketPingInterval=None)) == 0
    assert ping_interval(configured(WebSocketPingInterval=30)) == 30


def test_reconnect_wait_uses_the_retry_backoff_keys_and_their_defaults() -> None:
    assert reconnect_wait(2, configured(), 0.5) == reconnect_delay(
        2, wait_minimum=3, random_range=10, repeat_times=3, random_fraction=0.5)
    tuned = configured(RetryBackoffWaitMinimum=1, RetryBackoffRandomRange=0, RetryBackoffRepeatTimes=1)
    assert [reconnect_wait(n, tuned, 0.9) for n in (1, 2, 3)] == [1, 2, 2]
