"""The SecurityProfile switch of the CSMS link: upgrade on the next connection, fall back when
the new profile cannot connect, and which connection failures are security events.

**How a change takes effect.** ChangeConfiguration (or the charger's set_configuration_key)
may only raise SecurityProfile (:mod:`actors.configuration_rules` checks the new profile's
prerequisites: an AuthorizationKey for 1 and 2, a ``wss://`` or scheme-less URI and CSMS roots
for 2 and 3, a valid client certificate for 3). The Configuration actor writes the new value
to the user config and announces it; the link then

1. keeps the profile it was using in the user config, as ``Internal.FallbackSecurityProfile``,
   before anything else (an upgrade that is still unproven when the power goes keeps its way
   back across the restart);
2. reports ReconfigurationOfSecurityParameters, closes the connection (after the
   ChangeConfiguration answer has gone) and connects at once with the new profile;
3. on the first connection that opens with the new profile, removes the fallback key: the
   upgrade is done;
4. after ``ATTEMPTS_BEFORE_FALLBACK`` attempts in a row with the new profile that did not
   open (refused, TLS failure, 401, timeout; the usual back-off waits between them), writes
   the old profile back to Security.SecurityProfile (file and live config), removes the
   fallback key, reports ReconfigurationOfSecurityParameters again and connects at once with
   the old profile. GetConfiguration then shows the old profile, as in EVerest's
   ``test_chargepoint_update_security_profile_fallback``.

libocpp tries the new profile once, 2 s after the change; one attempt turns a passing network
glitch into a reverted upgrade, so we allow three (with the reconnect back-off between them, 9 to
29 s with the default RetryBackoff* keys).

Two small windows are accepted and named here: the fallback key is written just after the
Configuration actor has written the new profile (a power cut between the two writes leaves
the new profile without a way back), and the link replaces the live config itself when it
falls back (the Configuration actor would refuse a lowered SecurityProfile, rightly, from
anyone else), so a charger-side configuration change in the same millisecond could be lost.

**Security events** (the whitepaper's critical ones, sent by the Station as
SecurityEventNotification, durable): a failed TLS handshake as :mod:`actors.tls` classifies
it, and FailedToAuthenticateAtCentralSystem for an HTTP 401 at the handshake. Each type is
reported once per outage (until a connection opens again), not at every retry: a CSMS with an
expired certificate would otherwise fill the durable queue over a long weekend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from actors.tls import REJECTED_BY_CSMS, security_event
from supervisor.config import ChargePointConfig

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Mapping

    from supervisor.config import LiveConfig

__all__ = [
    "ATTEMPTS_BEFORE_FALLBACK",
    "FALLBACK_KEY",
    "RECONFIGURED",
    "ProfileSwitch",
    "SecurityProfileKeeper",
    "connect_failure_event",
    "without_key",
]

FALLBACK_KEY = "FallbackSecurityProfile"
"""Internal key: the profile to go back to while a raised SecurityProfile has not connected."""
ATTEMPTS_BEFORE_FALLBACK = 3
RECONFIGURED = "ReconfigurationOfSecurityParameters"


def connect_failure_event(reason: str, http_status: int | None) -> tuple[str, str] | None:
    """(security event type, details) for an attempt that did not open, or None."""
    if http_status == 401:
        return REJECTED_BY_CSMS, "HTTP 401 at the websocket handshake"
    return security_event(reason)


def without_key(config: ChargePointConfig, profile: str, key: str) -> ChargePointConfig:
    """A copy of ``config`` without ``[profile][key]`` (as the user config's ``null`` removes it)."""
    profiles = config.as_dict()
    section: Mapping[str, object] | None = profiles.get(profile)
    if isinstance(section, dict):
        section.pop(key, None)
    return ChargePointConfig(profiles=profiles, base_path=config.base_path, user_config_path=config.user_config_path,
                             read_only_keys=config.read_only_keys, write_only_keys=config.write_only_keys)


@dataclass
class ProfileSwitch:
    """Where the link stands with its security profile (no I/O: the link does what it says)."""

    in_use: int
    """The profile of the last connection that opened (at start: the configured one)."""
    fallback: int | None = None
    """The profile to go back to while an upgrade has not connected; None when none is pending."""
    failures: int = 0
    """Attempts in a row with the pending profile that did not open."""
    reported: set[str] = field(default_factory=set)
    """Security events reported during this outage."""

    def changed(self, new: int) -> tuple[bool, int | None]:
        """SecurityProfile is now ``new``. Returns (whether the fallback key must be written,
        its value: the profile to keep as the way back, or None to remove the key)."""
        self.failures = 0
        if new == self.in_use:  # back to the profile in use: nothing pending any more
            had, self.fallback = self.fallback, None
            return had is not None, None
        if self.fallback is None:
            self.fallback = self.in_use
            return True, self.fallback
        return False, self.fallback  # raised again before the last raise connected: keep the proven way back

    def opened(self, profile: int) -> bool:
        """A connection opened with ``profile``; True when that commits a pending upgrade."""
        self.in_use = profile
        self.failures = 0
        self.reported.clear()
        committed, self.fallback = self.fallback is not None, None
        return committed

    def failed(self, profile: int, configured: int) -> int | None:
        """An attempt with ``profile`` did not open; the profile to fall back to when it is time."""
        if self.fallback is None or profile != configured:
            return None
        self.failures += 1
        if self.failures < ATTEMPTS_BEFORE_FALLBACK:
            return None
        back, self.fallback, self.failures = self.fallback, None, 0
        self.in_use = back
        return back

    def first_report(self, event_type: str) -> bool:
        """True the first time ``event_type`` happens in this outage."""
        if event_type in self.reported:
            return False
        self.reported.add(event_type)
        return True


class SecurityProfileKeeper:
    """The switch with its effects, for the link: the user config (through ``write``, the
    link's ask to Persistence), the live config, the security events (``report``) and the log.

    Args:
        config: the live charge point config.
        write: ``write(profile, key, value)`` writes one key of the user config (None: remove it).
        report: ``report(event_type, info)`` raises a security event.
        log: the link's logger.
    """

    def __init__(self, config: LiveConfig, write: Callable[[str, str, object], None],
                 report: Callable[[str, str], None], log: logging.Logger) -> None:
        self._config, self._write, self._report, self._log = config, write, report, log
        fallback = config.get(FALLBACK_KEY)
        fallback = fallback if isinstance(fallback, int) and not isinstance(fallback, bool) else None
        configured = self.configured()
        self.switch = ProfileSwitch(in_use=configured if fallback is None else fallback, fallback=fallback)

    def configured(self) -> int:
        """Security.SecurityProfile now: what the next attempt uses."""
        return int(self._config.get("SecurityProfile", 0) or 0)

    def changed(self, new: int) -> None:
        """SecurityProfile was changed to ``new`` (ConfigurationChanged)."""
        in_use = self.switch.in_use
        write, fallback = self.switch.changed(new)
        if write:
            self._store_fallback(fallback)
        if new != in_use or write:
            self._log.warning("SecurityProfile %d -> %d: used from the next connection", in_use, new)
            self._report(RECONFIGURED, f"SecurityProfile {in_use} -> {new}")

    def opened(self, profile: int) -> None:
        """A connection opened with ``profile``."""
        if self.switch.opened(profile):
            self._log.info("SecurityProfile %d connected: the upgrade is kept", profile)
            self._store_fallback(None)

    def failed(self, profile: int, reason: str, http_status: int | None) -> bool:
        """An attempt with ``profile`` ended without opening: report its security event (once
        per outage), count it; True when that made the link fall back to the old profile."""
        event = connect_failure_event(reason, http_status)
        if event is not None and self.switch.first_report(event[0]):
            self._report(*event)
        back = self.switch.failed(profile, self.configured())
        if back is None:
            return False
        self._log.error("SecurityProfile %d could not connect %d times in a row: back to %d",
                        profile, ATTEMPTS_BEFORE_FALLBACK, back)
        self._write("Security", "SecurityProfile", back)
        self._write("Internal", FALLBACK_KEY, None)
        live = self._config.current.with_value("Security", "SecurityProfile", back)
        self._config.replace(without_key(live, "Internal", FALLBACK_KEY))
        self._report(RECONFIGURED, f"SecurityProfile {profile} could not connect; back to {back}")
        return True

    def _store_fallback(self, profile: int | None) -> None:
        """Internal.FallbackSecurityProfile in the user config (``null`` removes it from the
        overlay) and in the live config."""
        self._write("Internal", FALLBACK_KEY, profile)
        live = self._config.current
        self._config.replace(without_key(live, "Internal", FALLBACK_KEY) if profile is None
                             else live.with_value("Internal", FALLBACK_KEY, profile))
