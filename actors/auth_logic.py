"""The OCPP 1.6 authorization decision, as pure functions (issue #6).

Kept apart from the Auth actor so the rules fit on one screen and can be read against the
specification: §3.5 Local Authorization & Offline Behavior (3.5.1 Authorization Cache, 3.5.2
Local Authorization List, 3.5.3 their relation, 3.5.4 Unknown Offline Authorization), §4.1
Authorize and §9.1 (the keys). It follows the specification, not libocpp, which offline with
AllowOfflineTxForUnknownId accepts ids the cache holds as expired or NOT-valid (and, with
LocalAuthorizeOffline off, Blocked list entries), and writes the cache while it is disabled.

idTags are CiString20 (case-insensitive): ``may_stop`` compares them so; ``decide`` looks
them up as given, so the list and cache stores must key them case-insensitively.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

__all__ = ["CASES", "EXPIRED_ACCEPTED", "STATUSES", "AuthSettings", "Case", "Decision",
           "IdTagInfo", "Step", "cache_after_answer", "cases_markdown", "decide", "may_stop"]

STATUSES = ("Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx")
"""OCPP 1.6 AuthorizationStatus."""


@dataclass(frozen=True)
class IdTagInfo:
    """What the CSMS (or the local list / cache) says about an idTag."""

    status: str
    expiry: datetime | None = None
    parent_id_tag: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"not an AuthorizationStatus: {self.status!r}")


def _flag(value: object) -> bool:
    """A boolean key: typed config gives bools; the wire form is "true"/"false"."""
    return value.strip().lower() == "true" if isinstance(value, str) else value is True


@dataclass(frozen=True)
class AuthSettings:
    """The five keys the decision depends on (§9.1; a missing optional key means off)."""

    local_pre_authorize: bool
    local_authorize_offline: bool
    authorization_cache_enabled: bool
    allow_offline_tx_for_unknown_id: bool
    local_auth_list_enabled: bool

    @classmethod
    def from_config(cls, get: Callable[[str, object], object]) -> AuthSettings:
        """Read the keys through ``get(key, default)``, e.g. ``config.get``."""
        def read(key: str) -> bool:
            return _flag(get(key, False))
        return cls(local_pre_authorize=read("LocalPreAuthorize"),
                   local_authorize_offline=read("LocalAuthorizeOffline"),
                   authorization_cache_enabled=read("AuthorizationCacheEnabled"),
                   allow_offline_tx_for_unknown_id=read("AllowOfflineTxForUnknownId"),
                   local_auth_list_enabled=read("LocalAuthListEnabled"))


class Step(enum.Enum):
    """What the caller does next."""

    ACCEPT_LOCALLY = "accept locally"
    REJECT_LOCALLY = "reject locally"
    ASK_CSMS = "ask the CSMS"  # send Authorize.req and act on its idTagInfo


@dataclass(frozen=True)
class Decision:
    """The outcome of ``decide``.

    ``info`` is the idTagInfo to act on (None for ASK_CSMS); ``source`` is one of "local
    list", "cache", "offline rule", "csms", "none"; ``cache_update`` is set when an Accepted
    cache entry was found expired: the caller writes it back (§3.5.1 "SHALL be changed to
    expired in the Cache").
    """

    step: Step
    info: IdTagInfo | None
    source: str
    reason: str
    cache_update: IdTagInfo | None = None


def _effective(info: IdTagInfo, now: datetime) -> IdTagInfo:
    """An Accepted entry past its expiryDate counts as Expired (§3.5.1, §3.5.4)."""
    if info.status == "Accepted" and info.expiry is not None and info.expiry <= now:
        return replace(info, status="Expired")
    return info


def _local_entry(id_tag: str, settings: AuthSettings, local_list: Mapping[str, IdTagInfo],
                 cache: Mapping[str, IdTagInfo], now: datetime
                 ) -> tuple[str, IdTagInfo | None, IdTagInfo | None]:
    """(where, effective entry, cache update): the list first, it has priority (§3.5.3).

    A disabled store is not read at all. The list is never rewritten (§3.5.2: only
    SendLocalList changes it), so only a cache entry yields an update.
    """
    if settings.local_auth_list_enabled and (entry := local_list.get(id_tag)) is not None:
        return "local list", _effective(entry, now), None
    if settings.authorization_cache_enabled and (entry := cache.get(id_tag)) is not None:
        seen = _effective(entry, now)
        return "cache", seen, (seen if seen is not entry else None)
    return "none", None, None


def decide(id_tag: str, *, online: bool, settings: AuthSettings,
           local_list: Mapping[str, IdTagInfo], cache: Mapping[str, IdTagInfo],
           now: datetime) -> Decision:
    """Accept, reject or ask the CSMS about ``id_tag`` (the rules: docs/authorization.md)."""
    if online and not settings.local_pre_authorize:
        # §9.1.13: only LocalPreAuthorize lets an online Charge Point skip Authorize.req.
        return Decision(Step.ASK_CSMS, None, "csms", "online, LocalPreAuthorize is off")
    where, entry, update = _local_entry(id_tag, settings, local_list, cache, now)
    name = {"local list": "the local authorization list", "cache": "the authorization cache"}
    valid = entry is not None and entry.status == "Accepted"
    if online:
        if valid:
            return Decision(Step.ACCEPT_LOCALLY, entry, where, f"Accepted in {name[where]}")
        # Online, a NOT-valid local entry is not final: §3.5.1 says an Authorize.req SHOULD
        # be sent for a NOT-valid cache entry, and §4.1 lets us ask about any listed id.
        # We treat a NOT-valid list entry like a cache entry: LocalPreAuthorize (§9.1.13)
        # only speeds up locally *authorized* ids; the CSMS has the current state. An
        # unknown id SHALL be asked about (§4.1).
        why = f"{entry.status} in {name[where]}" if entry else "unknown locally"
        return Decision(Step.ASK_CSMS, None, "csms", f"online, {why}: asking the CSMS", update)
    # Offline. A local entry that is not Accepted (ConcurrentTx included: §3.5.4 says "other
    # than Accepted"), or an Accepted one past its expiryDate, MUST be rejected (§3.5.4).
    # An id the cache knows as NOT-valid is not "unknown", so it is refused as well. These
    # refusals hold even with LocalAuthorizeOffline off: it only gates local *acceptance*.
    if entry is not None and not valid:
        return Decision(Step.REJECT_LOCALLY, entry, where, f"{entry.status} in {name[where]}",
                        update)
    if valid and settings.local_authorize_offline:
        return Decision(Step.ACCEPT_LOCALLY, entry, where, f"Accepted in {name[where]}")
    # Unknown Offline Authorization (§3.5.4, §9.1.1) decides the rest: ids no local entry
    # authorizes, which with LocalAuthorizeOffline off is every id not refused above.
    why = "unknown locally" if entry is None else "LocalAuthorizeOffline is off"
    if settings.allow_offline_tx_for_unknown_id:
        return Decision(Step.ACCEPT_LOCALLY, entry or IdTagInfo("Accepted"), "offline rule",
                        f"offline, {why}: AllowOfflineTxForUnknownId")
    return Decision(Step.REJECT_LOCALLY, IdTagInfo("Invalid"), "none",
                    f"offline, {why}, AllowOfflineTxForUnknownId is off")


def _same(a: str | None, b: str | None) -> bool:
    """Equal non-empty CiString20 values."""
    return bool(a and b and a.casefold() == b.casefold())


def may_stop(transaction_id_tag: str, transaction_parent: str | None,
             presented_id_tag: str, presented_parent: str | None) -> bool:
    """The idTag that started a transaction may stop it; so may one with the same non-empty
    parentIdTag (§3.4: "the same group"). §3.4 also: no Authorize.req for the same idTag."""
    return (transaction_id_tag.casefold() == presented_id_tag.casefold()
            or _same(transaction_parent, presented_parent))


def cache_after_answer(cache_enabled: bool, id_tag: str, info: IdTagInfo, *,
                       in_local_list: bool = False) -> tuple[str, IdTagInfo] | None:
    """The cache write after an Authorize/StartTransaction/StopTransaction.conf idTagInfo.

    Every answer is cached, valid or not (§3.5.1), but nothing while the cache is disabled
    (libocpp writes anyway) and nothing for an id in the local list (§3.5.3, §4.1).
    """
    if not cache_enabled or in_local_list:
        return None
    return id_tag, info


# ------------------------------------------------------------------ the table of cases

EXPIRED_ACCEPTED = "Accepted (expired)"
"""In ``Case.in_list`` / ``Case.in_cache``: an Accepted entry whose expiryDate has passed."""


@dataclass(frozen=True)
class Case:
    """One row of the decision table: inputs, then the expected step and source."""

    online: bool
    pre_authorize: bool
    authorize_offline: bool
    list_enabled: bool
    cache_enabled: bool
    allow_unknown_offline: bool
    in_list: str | None
    in_cache: str | None
    step: Step
    source: str


Y, N = True, False
ACC, REJ, ASK = Step.ACCEPT_LOCALLY, Step.REJECT_LOCALLY, Step.ASK_CSMS
XA = EXPIRED_ACCEPTED
CASES: tuple[Case, ...] = (
    # on = online, pre = LocalPreAuthorize, off = LocalAuthorizeOffline, lst = LocalAuthList-
    # Enabled, cch = AuthorizationCacheEnabled, unk = AllowOfflineTxForUnknownId; then the
    # idTag's entry in the list and in the cache (None: no entry), the step and the source.
    #    on pre off lst cch unk in_list         in_cache      step source
    # online: LocalPreAuthorize decides whether anything local is looked at
    Case(Y, N, Y, Y, Y, Y, "Accepted",     "Accepted",   ASK, "csms"),
    Case(Y, N, N, N, N, N, None,           None,         ASK, "csms"),
    Case(Y, Y, N, Y, N, N, "Accepted",     None,         ACC, "local list"),
    Case(Y, Y, N, Y, N, N, XA,             None,         ASK, "csms"),
    Case(Y, Y, N, Y, N, N, "Blocked",      None,         ASK, "csms"),
    Case(Y, Y, N, Y, N, N, "Invalid",      None,         ASK, "csms"),
    Case(Y, Y, N, Y, N, N, "ConcurrentTx", None,         ASK, "csms"),
    Case(Y, Y, N, N, N, N, "Accepted",     None,         ASK, "csms"),
    Case(Y, Y, N, Y, Y, N, "Blocked",      "Accepted",   ASK, "csms"),
    Case(Y, Y, N, Y, Y, N, None,           "Accepted",   ACC, "cache"),
    Case(Y, Y, N, Y, Y, N, "Accepted",     "Blocked",    ACC, "local list"),
    Case(Y, Y, N, N, Y, N, None,           "Accepted",   ACC, "cache"),
    Case(Y, Y, N, N, Y, N, None,           XA,           ASK, "csms"),
    Case(Y, Y, N, N, Y, N, None,           "Blocked",    ASK, "csms"),
    Case(Y, Y, N, N, N, N, None,           "Accepted",   ASK, "csms"),
    Case(Y, Y, Y, Y, Y, Y, None,           None,         ASK, "csms"),
    # offline, LocalAuthorizeOffline on: the list, then the cache, then the offline rule
    Case(N, N, Y, Y, N, N, "Accepted",     None,         ACC, "local list"),
    Case(N, N, Y, Y, N, Y, XA,             None,         REJ, "local list"),
    Case(N, N, Y, Y, N, Y, "Blocked",      None,         REJ, "local list"),
    Case(N, N, Y, Y, N, Y, "Invalid",      None,         REJ, "local list"),
    Case(N, N, Y, Y, N, Y, "Expired",      None,         REJ, "local list"),
    Case(N, N, Y, Y, N, Y, "ConcurrentTx", None,         REJ, "local list"),
    Case(N, N, Y, N, N, N, "Accepted",     None,         REJ, "none"),
    Case(N, N, Y, Y, Y, Y, "Blocked",      "Accepted",   REJ, "local list"),
    Case(N, N, Y, Y, Y, N, "Accepted",     "Blocked",    ACC, "local list"),
    Case(N, N, Y, N, Y, N, None,           "Accepted",   ACC, "cache"),
    Case(N, N, Y, N, Y, Y, None,           XA,           REJ, "cache"),
    Case(N, N, Y, N, Y, Y, None,           "Blocked",    REJ, "cache"),
    Case(N, N, Y, N, N, N, None,           "Accepted",   REJ, "none"),
    Case(N, N, Y, N, N, Y, None,           "Blocked",    ACC, "offline rule"),
    Case(N, N, Y, Y, Y, Y, None,           None,         ACC, "offline rule"),
    Case(N, Y, Y, Y, Y, N, None,           None,         REJ, "none"),
    # offline, LocalAuthorizeOffline off: entries can only refuse; the offline rule decides
    Case(N, N, N, Y, N, N, "Accepted",     None,         REJ, "none"),
    Case(N, N, N, N, Y, N, None,           "Accepted",   REJ, "none"),
    Case(N, Y, N, Y, Y, N, None,           None,         REJ, "none"),
    Case(N, N, N, Y, Y, Y, None,           None,         ACC, "offline rule"),
    Case(N, N, N, Y, N, Y, "Accepted",     None,         ACC, "offline rule"),
    Case(N, N, N, Y, N, Y, "Blocked",      None,         REJ, "local list"),
    Case(N, N, N, N, Y, Y, None,           XA,           REJ, "cache"),
)
del Y, N, ACC, REJ, ASK, XA


def cases_markdown() -> str:
    """CASES as the Markdown table in docs/authorization.md."""
    def yn(flag: bool) -> str:
        return "yes" if flag else "no"
    head = ("| online | LocalPreAuthorize | LocalAuthorizeOffline | LocalAuthListEnabled "
            "| AuthorizationCacheEnabled | AllowOfflineTxForUnknownId | in list | in cache "
            "| step | source |")
    rows = [head, "|" + "---|" * 10]
    for c in CASES:
        cells = [yn(c.online), yn(c.pre_authorize), yn(c.authorize_offline), yn(c.list_enabled),
                 yn(c.cache_enabled), yn(c.allow_unknown_offline), c.in_list or "–",
                 c.in_cache or "–", c.step.value, c.source]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"
