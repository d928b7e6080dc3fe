"""How the CSMS link reaches the CSMS, read from the charge point configuration.

The URL (CentralSystemURI + ChargePointId), the HTTP Basic credentials of security profiles
1-3, the websocket ping interval, and the wait before the next reconnect attempt
(RetryBackoff*). Plain functions of the configuration, so the keys and their defaults stand
in one place and the link only opens, closes and waits.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from actors.backoff import reconnect_delay

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["auth_headers", "charge_point_url", "ping_interval", "reconnect_wait"]

def charge_point_url(central_system_uri: str, charge_point_id: str) -> str:
    """CentralSystemURI + ChargePointId, the id appended exactly once."""
    base = central_system_uri.rstrip("/")
    if base.endswith("/" + charge_point_id):
        return base
    return f"{base}/{charge_point_id}"


def auth_headers(charge_point_id: str, get: Callable[[str, Any], Any]) -> list[str]:
    """The handshake's extra headers: HTTP Basic (ChargePointId:AuthorizationKey) from
    SecurityProfile 1 on, none below. ``get(key, default)`` reads the configuration."""
    if int(get("SecurityProfile", 0)) < 1:
        return []
    key = str(get("AuthorizationKey", ""))
    token = base64.b64encode(f"{charge_point_id}:{key}".encode()).decode()
    return [f"Authorization: Basic {token}"]


def ping_interval(get: Callable[[str, Any], Any]) -> int:
    """WebSocketPingInterval in seconds (0 or unset: no pings)."""
    return int(get("WebSocketPingInterval", 0) or 0)


def reconnect_wait(failed_attempts: int, get: Callable[[str, Any], Any], random_fraction: float) -> float:
    """Seconds before the next connection attempt after ``failed_attempts`` failures in a row."""
    return reconnect_delay(failed_attempts,
                           wait_minimum=float(get("RetryBackoffWaitMinimum", 3)),
                           random_range=float(get("RetryBackoffRandomRange", 10)),
                           repeat_times=int(get("RetryBackoffRepeatTimes", 3)),
                           random_fraction=random_fraction)
