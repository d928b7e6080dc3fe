"""The authorization decision: the table of cases, properties over every input, the docs."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.auth_logic import (
    CASES,
    EXPIRED_ACCEPTED,
    STATUSES,
    AuthSettings,
    Case,
    Decision,
    IdTagInfo,
    Step,
    cache_after_answer,
    cases_markdown,
    decide,
    may_stop,
)

UTC = timezone.utc
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TAG = "TAG-1"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "authorization.md"
SOURCES = {"local list", "cache", "offline rule", "csms", "none"}


class Untouchable(Mapping[str, IdTagInfo]):
    """A store that fails the test when it is read at all."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __getitem__(self, key: str) -> IdTagInfo:
        raise AssertionError(f"the {self.what} was read")

    def __iter__(self) -> Iterator[str]:
        raise AssertionError(f"the {self.what} was iterated")

    def __len__(self) -> int:
        raise AssertionError(f"the {self.what} was sized")


def entry(kind: str | None, now: datetime = NOW) -> IdTagInfo | None:
    """A table cell as a store entry: None, a status, or an expired Accepted."""
    if kind is None:
        return None
    if kind == EXPIRED_ACCEPTED:
        return IdTagInfo("Accepted", expiry=now - timedelta(hours=1), parent_id_tag="P")
    return IdTagInfo(kind, parent_id_tag="P")


def store(kind: str | None) -> dict[str, IdTagInfo]:
    found = entry(kind)
    return {} if found is None else {TAG: found}


def run(case: Case, *, list_store: Mapping[str, IdTagInfo] | None = None,
        cache_store: Mapping[str, IdTagInfo] | None = None) -> Decision:
    settings = AuthSettings(local_pre_authorize=case.pre_authorize,
                            local_authorize_offline=case.authorize_offline,
                            authorization_cache_enabled=case.cache_enabled,
                            allow_offline_tx_for_unknown_id=case.allow_unknown_offline,
                            local_auth_list_enabled=case.list_enabled)
    return decide(TAG, online=case.online, settings=settings,
                  local_list=store(case.in_list) if list_store is None else list_store,
                  cache=store(case.in_cache) if cache_store is None else cache_store, now=NOW)


KINDS = (None, *STATUSES, EXPIRED_ACCEPTED)
ALL = [Case(*flags, in_list, in_cache, Step.ASK_CSMS, "")  # step/source unused: inputs only
       for flags in itertools.product((True, False), repeat=6)
       for in_list in KINDS for in_cache in KINDS]


def effective(case: Case) -> tuple[str, IdTagInfo | None]:
    """Which entry the spec says decides (list priority, disabled stores ignored)."""
    if case.list_enabled and case.in_list is not None:
        return "local list", entry(case.in_list)
    if case.cache_enabled and case.in_cache is not None:
        return "cache", entry(case.in_cache)
    return "none", None


@contextmanager
def about(case: Case) -> Iterator[None]:
    """Name the input in a failure inside a loop over many inputs."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{case}: {exc}") from exc


def valid(info: IdTagInfo | None) -> bool:
    return info is not None and info.status == "Accepted" and (
        info.expiry is None or info.expiry > NOW)


# ------------------------------------------------------------------ the table

@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.step.name}-{c.source}")
def test_decide_matches_the_table(case: Case) -> None:
    got = run(case)
    assert (got.step, got.source) == (case.step, case.source), got.reason


def test_the_table_has_no_duplicate_inputs() -> None:
    assert len({dataclasses.astuple(c)[:-2] for c in CASES}) == len(CASES)


def test_the_table_shows_every_reachable_outcome() -> None:
    reachable = {(d.step, d.source) for d in map(run, ALL)}
    assert {(c.step, c.source) for c in CASES} == reachable


def test_the_docs_page_lists_every_case() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert cases_markdown() in text, "regenerate the table in docs/authorization.md"
    assert text.count("\n| yes ") + text.count("\n| no ") == len(CASES)


# ------------------------------------------------------------------ properties, exhaustive

def test_properties_of_every_input() -> None:
    for case in ALL:
        with about(case):
            check_properties(case)


def check_properties(case: Case) -> None:
    got = run(case)
    where, deciding = effective(case)
    assert got.source in SOURCES and got.reason
    # Nothing is accepted on a Blocked/Expired/Invalid/ConcurrentTx or expired entry.
    if got.step is Step.ACCEPT_LOCALLY:
        assert deciding is None or valid(deciding)
        assert got.info is not None and got.info.status == "Accepted"
    if got.step is Step.REJECT_LOCALLY:
        assert got.info is not None and got.info.status != "Accepted"
    if got.step is Step.ASK_CSMS:
        assert got.info is None and got.source == "csms"
    if case.online:
        # Online nothing is refused locally: the CSMS has the last word.
        assert got.step is not Step.REJECT_LOCALLY
        # With neither the list nor the cache consulted, nothing is accepted locally.
        if not case.pre_authorize or where == "none":
            assert got.step is Step.ASK_CSMS
    else:
        assert got.step is not Step.ASK_CSMS
        # Offline, without a local acceptance and without the offline rule: refused.
        locally_ok = case.authorize_offline and valid(deciding)
        if not locally_ok and not case.allow_unknown_offline:
            assert got.step is Step.REJECT_LOCALLY
        # A known NOT-valid entry is never "unknown" (3.5.4).
        if deciding is not None and not valid(deciding):
            assert (got.step, got.source) == (Step.REJECT_LOCALLY, where)
    # The cache is rewritten only for an expired Accepted cache entry, to Expired.
    if got.cache_update is not None:
        assert where == "cache" and case.in_cache == EXPIRED_ACCEPTED
        assert got.cache_update == IdTagInfo("Expired", entry(EXPIRED_ACCEPTED).expiry, "P")
    elif where == "cache" and case.in_cache == EXPIRED_ACCEPTED:
        assert case.online and not case.pre_authorize


def test_a_disabled_cache_is_never_read() -> None:
    for case in (c for c in ALL if not c.cache_enabled):
        with about(case):
            assert run(case, cache_store=Untouchable("cache")) == run(case)


def test_a_disabled_list_is_never_read() -> None:
    for case in (c for c in ALL if not c.list_enabled):
        with about(case):
            assert run(case, list_store=Untouchable("list")) == run(case)


def test_online_without_local_pre_authorize_reads_nothing() -> None:
    for case in (c for c in ALL if c.online and not c.pre_authorize):
        with about(case):
            got = run(case, list_store=Untouchable("list"), cache_store=Untouchable("cache"))
            assert got.step is Step.ASK_CSMS


def test_a_list_entry_has_priority_over_the_cache() -> None:
    for case in (c for c in ALL if c.list_enabled and c.in_list is not None):
        with about(case):
            assert run(case, cache_store=Untouchable("cache")) == run(case)


# ------------------------------------------------------------------ properties, hypothesis

settings_st = st.builds(AuthSettings, st.booleans(), st.booleans(), st.booleans(),
                        st.booleans(), st.booleans())
offsets = st.integers(min_value=-10**7, max_value=10**7).map(lambda s: timedelta(seconds=s))
entries = st.one_of(st.none(), st.builds(IdTagInfo, st.sampled_from(STATUSES),
                                         st.one_of(st.none(), offsets.map(lambda d: NOW + d)),
                                         st.one_of(st.none(), st.just("PARENT"))))


@given(settings=settings_st, online=st.booleans(), in_list=entries, in_cache=entries,
       now_shift=offsets)
def test_expiry_is_judged_against_now(settings: AuthSettings, online: bool,
                                      in_list: IdTagInfo | None, in_cache: IdTagInfo | None,
                                      now_shift: timedelta) -> None:
    now = NOW + now_shift
    lst = {} if in_list is None else {TAG: in_list}
    cache = {} if in_cache is None else {TAG: in_cache}
    got = decide(TAG, online=online, settings=settings, local_list=lst,
                 cache=cache if settings.authorization_cache_enabled else Untouchable("cache"),
                 now=now)
    deciding = (in_list if settings.local_auth_list_enabled and in_list is not None
                else in_cache if settings.authorization_cache_enabled else None)
    if got.step is Step.ACCEPT_LOCALLY and deciding is not None:
        assert deciding.status == "Accepted"
        assert deciding.expiry is None or deciding.expiry > now
    if not online and not settings.allow_offline_tx_for_unknown_id and not (
            settings.local_authorize_offline and deciding is not None
            and deciding.status == "Accepted"):
        assert got.step is Step.REJECT_LOCALLY


def test_an_entry_expiring_exactly_now_is_expired() -> None:
    settings = AuthSettings(False, True, True, False, False)
    got = decide(TAG, online=False, settings=settings, local_list={},
                 cache={TAG: IdTagInfo("Accepted", expiry=NOW)}, now=NOW)
    assert (got.step, got.source, got.info.status) == (Step.REJECT_LOCALLY, "cache", "Expired")
    assert got.cache_update == IdTagInfo("Expired", expiry=NOW)


tags = st.text(alphabet="ABCabc123-", min_size=1, max_size=20)
parents = st.one_of(st.none(), st.just(""), tags)


@given(tag=tags, parent=parents, other_parent=parents)
def test_the_same_tag_may_always_stop(tag: str, parent: str | None,
                                      other_parent: str | None) -> None:
    assert may_stop(tag, parent, tag, other_parent)
    assert may_stop(tag, parent, tag.swapcase(), other_parent)  # CiString20


@given(a=tags, b=tags, pa=parents, pb=parents)
def test_may_stop_is_symmetric_and_needs_a_shared_parent(a: str, b: str, pa: str | None,
                                                         pb: str | None) -> None:
    assert may_stop(a, pa, b, pb) == may_stop(b, pb, a, pa)
    if a.casefold() != b.casefold():
        assert may_stop(a, pa, b, pb) == bool(pa and pb and pa.casefold() == pb.casefold())
        assert not may_stop(a, None, b, pb) and not may_stop(a, pa, b, None)
        assert not may_stop(a, "", b, "")


@given(enabled=st.booleans(), in_list=st.booleans(), tag=tags,
       info=entries.filter(lambda e: e is not None))
def test_cache_after_answer(enabled: bool, in_list: bool, tag: str, info: IdTagInfo) -> None:
    got = cache_after_answer(enabled, tag, info, in_local_list=in_list)
    if not enabled or in_list:
        assert got is None
    else:
        assert got == (tag, info)  # valid and NOT-valid answers alike (3.5.1)


# ------------------------------------------------------------------ settings and records

def test_settings_from_config_default_to_off() -> None:
    assert AuthSettings.from_config(lambda key, default: default) == AuthSettings(
        False, False, False, False, False)


def test_settings_from_config_reads_the_five_keys() -> None:
    values: dict[str, object] = {"LocalPreAuthorize": True, "LocalAuthorizeOffline": "TRUE",
                                 "AuthorizationCacheEnabled": "false",
                                 "AllowOfflineTxForUnknownId": True}
    got = AuthSettings.from_config(lambda key, default: values.get(key, default))
    assert got == AuthSettings(local_pre_authorize=True, local_authorize_offline=True,
                               authorization_cache_enabled=False,
                               allow_offline_tx_for_unknown_id=True,
                               local_auth_list_enabled=False)


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="AuthorizationStatus"):
        IdTagInfo("accepted")
