"""What a BootNotification answer (or its failure) means for the heartbeat and the next boot."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from actors.registration import BOOT_RETRY_S, boot_retry_after_failure, read_boot_answer
from messages.csms import FailureKind, Registration

NOW = "2026-01-01T00:00:00Z"


def configured(**values: object) -> Any:
    return lambda key, default: values.get(key, default)


def never_read(key: str, default: object) -> object:
    raise AssertionError(f"{key} read")


def test_accepted_runs_the_heartbeat_at_the_csms_interval() -> None:
    boot = read_boot_answer({"status": "Accepted", "interval": 300, "currentTime": NOW}, never_read)
    assert (boot.status, boot.interval, boot.heartbeat_s, boot.boot_retry_s) == (Registration.ACCEPTED, 300, 300, 0)
    assert boot.csms_time == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_accepted_with_interval_zero_keeps_the_configured_heartbeat() -> None:
    boot = read_boot_answer({"status": "Accepted", "interval": 0, "currentTime": NOW}, configured(HeartbeatInterval=90))
    assert (boot.interval, boot.heartbeat_s) == (0, 90)
    assert read_boot_answer({"status": "Accepted", "interval": 0, "currentTime": NOW}, configured()).heartbeat_s == 0


@pytest.mark.parametrize("status", ["Pending", "Rejected"])
@pytest.mark.parametrize(("interval", "retry"), [(10, 10), (0, BOOT_RETRY_S)])
def test_pending_and_rejected_boot_again_after_the_interval(status: str, interval: int, retry: int) -> None:
    boot = read_boot_answer({"status": status, "interval": interval, "currentTime": NOW}, never_read)
    assert (boot.status.value, boot.heartbeat_s, boot.boot_retry_s) == (status, 0, retry)


def test_a_failed_boot_is_retried_unless_the_link_went_down() -> None:
    assert boot_retry_after_failure(FailureKind.OFFLINE) is None
    assert {boot_retry_after_failure(k) for k in FailureKind if k is not FailureKind.OFFLINE} == {BOOT_RETRY_S}
