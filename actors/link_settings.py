"""How the CSMS link reaches the CSMS, read from the charge point configuration.

The URL (CentralSystemURI + ChargePointId), the HTTP Basic credentials of security profiles
1 and 2, the websocket ping interval, and the wait before the next reconnect attempt
(RetryBackoff*). Plain functions of the configuration, so the keys and their defaults stand
in one place and the link only opens, closes and waits. (TLS: :mod:`actors.tls`.)

Security profiles, as the OCPP 1.6 security whitepaper and libocpp have them:

====  ==========  =============================================================================
  0    ws://       no authentication (tests only)
  1    ws://       HTTP Basic: ``base64(ChargePointId:AuthorizationKey)``
  2    wss://      TLS, the CSMS's certificate checked against the CSMS roots, plus HTTP Basic
  3    wss://      TLS with the charge point's client certificate; no Basic header
====  ==========  =============================================================================

The URL's scheme follows the profile, as in libocpp: a CentralSystemURI without a scheme
(``csms.example.com:443/ocpp``) gets ``ws://`` on profiles 0 and 1 and ``wss://`` on 2 and 3,
so a SecurityProfile raised from 1 to 2 can keep the same address. ``ws://`` on profile 2 or 3
is refused with :class:`LinkSettingsError` (profiles 2 and 3 are TLS or nothing;
ChangeConfiguration refuses the raise already, a file can still say it). ``wss://`` on profile
0 or 1 is honoured, with the same TLS settings and server certificate check as profile 2:
libocpp refuses it, but this charge point connected to such URLs before it had profiles 2 and
3 (``ocpp-cp demo --csms wss://...``), and a URL that asks for TLS never gets less. Any other
scheme is refused.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from actors.backoff import reconnect_delay

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["LinkSettingsError", "auth_headers", "charge_point_url", "ping_interval", "reconnect_wait",
           "security_profile", "uri_scheme"]

TLS_PROFILES = frozenset({2, 3})


class LinkSettingsError(ValueError):
    """The configuration cannot make a URL for this security profile (the message says why)."""


def security_profile(get: Callable[[str, Any], Any]) -> int:
    """Security.SecurityProfile (0 when unset)."""
    return int(get("SecurityProfile", 0) or 0)


def uri_scheme(central_system_uri: str) -> str | None:
    """``ws`` / ``wss`` / any other scheme, lower case; None when the URI has none."""
    scheme, sep, _rest = central_system_uri.partition("://")
    return scheme.lower() if sep else None


def charge_point_url(central_system_uri: str, charge_point_id: str, profile: int | None = None) -> str:
    """CentralSystemURI + ChargePointId, the id appended exactly once. With ``profile``, the
    scheme follows the security profile (see the module docstring)."""
    base = central_system_uri.strip().rstrip("/")
    if profile is not None:
        scheme = uri_scheme(base)
        if scheme is None:
            base = f"{'wss' if profile in TLS_PROFILES else 'ws'}://{base}"
        elif scheme not in ("ws", "wss") or (scheme == "ws" and profile in TLS_PROFILES):
            msg = (f"CentralSystemURI {central_system_uri!r} is {scheme}:// but SecurityProfile {profile} "
                   f"connects with {'wss://' if profile in TLS_PROFILES else 'ws:// or wss://'} "
                   "(or give the URI without a scheme)")
            raise LinkSettingsError(msg)
    if base.endswith("/" + charge_point_id):
        return base
    return f"{base}/{charge_point_id}"


def auth_headers(charge_point_id: str, get: Callable[[str, Any], Any]) -> list[str]:
    """The handshake's extra headers: HTTP Basic (ChargePointId:AuthorizationKey) on
    SecurityProfile 1 and 2; none on 0, nor on 3 (the client certificate authenticates).
    ``get(key, default)`` reads the configuration."""
    if security_profile(get) not in (1, 2):
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
