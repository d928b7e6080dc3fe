"""Authorization: the local list and the cache, online and offline (OCTT TC_007, TC_008,
TC_042, TC_043, TC_061 in spirit)."""

from __future__ import annotations

import pytest

from conftest import CP_ID, settle, wait_until
from peers.strict import CsmsCallError as StrictCallError
from scenarios.steps import booted, wait_status
from supervisor.local_csms import CsmsCallError, LocalCsms
from supervisor.sim_control import SimController

pytestmark = pytest.mark.timeout(60)

LIST = {"Core": {"SupportedFeatureProfiles": "Core,LocalAuthListManagement", "LocalPreAuthorize": True,
                 "LocalAuthorizeOffline": True},
        "LocalAuthListManagement": {"LocalAuthListEnabled": True, "LocalAuthListMaxLength": 3,
                                    "SendLocalListMaxLength": 2},
        "Internal": {"RetryBackoffWaitMinimum": 2, "RetryBackoffRandomRange": 0, "RetryBackoffRepeatTimes": 0}}
CACHE = {"Core": {"AuthorizationCacheEnabled": True, "LocalPreAuthorize": True}}


def send_list(csms, version, update, entries):
    payload = {"listVersion": version, "updateType": update}
    if entries is not None:
        payload["localAuthorizationList"] = entries
    return csms.call(CP_ID, "SendLocalList", payload)["status"]


def version(csms):
    return csms.call(CP_ID, "GetLocalListVersion", {})["listVersion"]


def accepted(tag, **extra):
    return {"idTag": tag, "idTagInfo": {"status": "Accepted", **extra}}


@pytest.fixture
def with_list(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys=LIST)
    booted(csms, clock, app)
    return app


def test_local_list_not_supported(csms, clock, make_charge_point):
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    assert version(csms) == -1
    assert send_list(csms, 1, "Full", []) == "NotSupported"


def test_an_empty_list_has_version_zero_and_versions_follow_the_csms(csms, with_list):
    assert version(csms) == 0
    assert send_list(csms, 1, "Full", []) == "Accepted"
    assert version(csms) == 0  # empty list: 0, whatever its version
    assert send_list(csms, 2, "Full", [accepted("TAG1")]) == "Accepted"
    assert version(csms) == 2
    assert send_list(csms, 5, "Full", [accepted("TAG1")]) == "Accepted"
    assert send_list(csms, 4, "Differential", [accepted("TAG2")]) == "VersionMismatch"
    assert version(csms) == 5
    assert send_list(csms, 6, "Differential", [accepted("TAG2"), {"idTag": "TAG1"}]) == "Accepted"  # TAG1 removed
    assert version(csms) == 6


def test_lists_too_long_are_refused_and_change_nothing(csms, with_list):
    assert send_list(csms, 1, "Full", [accepted("A"), accepted("B")]) == "Accepted"
    with pytest.raises(CsmsCallError) as too_many:
        send_list(csms, 2, "Differential", [accepted("C"), accepted("D"), accepted("E")])
    assert too_many.value.code == "OccurenceConstraintViolation"
    assert send_list(csms, 2, "Differential", [accepted("C"), accepted("D")]) == "Failed"  # 4 > LocalAuthListMaxLength
    assert version(csms) == 1


def test_an_id_in_the_local_list_starts_without_authorize(csms, with_list):
    sim = SimController(with_list.directory)
    assert send_list(csms, 1, "Full", [accepted("LISTED")]) == "Accepted"
    sim.plug_in(1)
    sim.swipe(1, "LISTED")
    csms.wait_for("StartTransaction")
    wait_status(csms, 1, "Charging")
    assert csms.count("Authorize") == 0


def test_a_blocked_listed_id_is_asked_about_online(csms, with_list):
    sim = SimController(with_list.directory)
    send_list(csms, 1, "Full", [{"idTag": "BLOCKED", "idTagInfo": {"status": "Blocked"}}])
    csms.set_reply("Authorize", {"idTagInfo": {"status": "Blocked"}})
    sim.plug_in(1)
    sim.swipe(1, "BLOCKED")
    csms.wait_for("Authorize")
    settle(with_list)
    assert csms.count("StartTransaction") == 0


def test_offline_a_listed_id_charges_and_an_unknown_one_does_not(csms, clock, with_list):
    sim = SimController(with_list.directory)
    send_list(csms, 1, "Full", [accepted("LISTED")])
    settle(with_list)
    port = csms.port
    csms.stop()
    wait_until(lambda: any(type(h.message).__name__ == "ConnectDue" for h in clock.pending()))
    sim.plug_in(1)
    sim.swipe(1, "STRANGER")  # unknown, and AllowOfflineTxForUnknownId is off
    settle(with_list)
    sim.swipe(1, "LISTED")
    settle(with_list)
    back = LocalCsms(port=port).start()
    try:
        clock.advance(2)
        start = back.wait_for("StartTransaction").payload
        assert start["idTag"] == "LISTED"
        settle(with_list)
        assert back.count("StartTransaction") == 1
    finally:
        back.stop()


def test_the_cache_answers_the_second_time_and_clear_cache_empties_it(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys=CACHE)
    booted(csms, clock, app)
    sim = SimController(app.directory)
    sim.swipe(1, "CACHED")
    csms.wait_for("Authorize")
    settle(app)
    clock.advance(30)  # ConnectionTimeOut: the session ends without a cable
    settle(app)
    sim.swipe(1, "CACHED")
    wait_status(csms, 1, "Preparing")
    settle(app)
    assert csms.count("Authorize") == 1  # the cache answered
    assert csms.call(CP_ID, "ClearCache", {}) == {"status": "Accepted"}
    clock.advance(30)
    settle(app)
    sim.swipe(1, "CACHED")
    wait_until(lambda: csms.count("Authorize") == 2)


def test_nothing_is_cached_when_the_cache_is_disabled(csms, clock, make_charge_point):
    app = make_charge_point(csms.url, keys={"Core": {"AuthorizationCacheEnabled": False, "LocalPreAuthorize": True}})
    booted(csms, clock, app)
    sim = SimController(app.directory)
    for n in (1, 2):
        sim.swipe(1, "TAG")
        wait_until(lambda n=n: csms.count("Authorize") == n)
        settle(app)
        clock.advance(30)
        settle(app)
    assert csms.call(CP_ID, "ClearCache", {}) == {"status": "Rejected"}


def test_list_and_cache_survive_a_restart(csms, clock, make_charge_point):
    keys = {**LIST, "Core": {**LIST["Core"], "AuthorizationCacheEnabled": True}}
    app = make_charge_point(csms.url, keys=keys)
    booted(csms, clock, app)
    send_list(csms, 7, "Full", [accepted("LISTED")])
    sim = SimController(app.directory)
    sim.plug_in(1)
    sim.swipe(1, "CACHED")  # Authorize, then StartTransaction.conf: both land in the cache
    csms.wait_for("StartTransaction")
    sim.swipe(1, "CACHED")
    csms.wait_for("StopTransaction")
    sim.plug_out(1)
    settle(app)
    app.stop()
    reborn = make_charge_point(csms.url, keys=keys)
    csms.wait_for("BootNotification", after=len(csms.received))
    settle(reborn)
    assert version(csms) == 7
    authorizes = csms.count("Authorize")
    SimController(reborn.directory).swipe(1, "CACHED")
    wait_status(csms, 1, "Preparing")
    settle(reborn)
    assert csms.count("Authorize") == authorizes


def test_local_list_operations_pass_strict_validation(strict_csms, clock, make_charge_point):
    app = make_charge_point(strict_csms.url, keys=LIST)
    wait_until(lambda: len(strict_csms.calls_in("StatusNotification")) == 2)
    settle(app)
    assert strict_csms.call(CP_ID, "GetLocalListVersion", {}) == {"listVersion": 0}
    assert strict_csms.call(CP_ID, "SendLocalList", {"listVersion": 3, "updateType": "Full",
                                                      "localAuthorizationList": [accepted("A")]}) == {"status": "Accepted"}
    with pytest.raises(StrictCallError):
        strict_csms.call(CP_ID, "SendLocalList", {"listVersion": 4, "updateType": "Differential",
                                                  "localAuthorizationList": [accepted("B"), accepted("C"), accepted("D")]})
    assert strict_csms.call(CP_ID, "ClearCache", {}) == {"status": "Rejected"}


def test_only_the_same_token_or_its_group_stops_a_transaction(csms, clock, make_charge_point):
    """TC_068 / TC_069: another token does not stop it; a token of the same group does."""
    app = make_charge_point(csms.url)
    booted(csms, clock, app)
    sim = SimController(app.directory)
    csms.set_reply("Authorize", lambda _cp, p: {"idTagInfo": {
        "status": "Accepted", **({"parentIdTag": "FLEET"} if p["idTag"] in ("DRIVER1", "DRIVER2") else {})}})
    sim.plug_in(1)
    sim.swipe(1, "DRIVER1")
    csms.wait_for("StartTransaction")
    wait_status(csms, 1, "Charging")
    sim.swipe(1, "STRANGER")
    csms.wait_for("Authorize", lambda p: p["idTag"] == "STRANGER")
    settle(app)
    assert csms.count("StopTransaction") == 0
    sim.swipe(1, "DRIVER2")
    stop = csms.wait_for("StopTransaction").payload
    assert (stop["reason"], stop["idTag"]) == ("Local", "DRIVER2")


def test_a_full_list_must_say_what_each_id_is(csms, with_list):
    """TC_043_3: an entry without idTagInfo in a Full list fails it, and nothing changes."""
    assert send_list(csms, 1, "Full", [accepted("A")]) == "Accepted"
    assert send_list(csms, 2, "Full", [accepted("B"), {"idTag": "C"}]) == "Failed"
    assert version(csms) == 1
