"""Reconnect back-off: doubling fixed part, bounded random part."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.backoff import reconnect_delay


def delay(attempt: int, *, wait_minimum: float = 3, random_range: float = 10,
          repeat_times: int = 2, random_fraction: float = 0.0) -> float:
    return reconnect_delay(attempt, wait_minimum=wait_minimum, random_range=random_range,
                           repeat_times=repeat_times, random_fraction=random_fraction)


def test_first_attempt_waits_the_minimum_plus_the_random_part() -> None:
    assert delay(1, random_fraction=0.0) == 3
    assert delay(1, random_fraction=0.5) == 3 + 5


def test_fixed_part_doubles_repeat_times_then_stays_constant() -> None:
    assert [delay(n) for n in range(1, 7)] == [3, 6, 12, 12, 12, 12]


def test_random_part_is_added_after_doubling_not_doubled() -> None:
    assert delay(3, random_fraction=0.25) == 12 + 2.5


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempts_below_one_count_as_the_first(attempt: int) -> None:
    assert delay(attempt) == delay(1)


def test_zero_repeat_times_means_a_constant_wait() -> None:
    assert {delay(n, repeat_times=0) for n in range(1, 10)} == {3}


settings_ = {
    "wait_minimum": st.floats(min_value=0, max_value=3600),
    "random_range": st.floats(min_value=0, max_value=3600),
    "repeat_times": st.integers(min_value=0, max_value=20),
    "random_fraction": st.floats(min_value=0, max_value=1, exclude_max=True),
}


@given(attempt=st.integers(min_value=-3, max_value=100), **settings_)
def test_delay_stays_within_its_bounds(attempt: int, wait_minimum: float, random_range: float,
                                       repeat_times: int, random_fraction: float) -> None:
    wait = reconnect_delay(attempt, wait_minimum=wait_minimum, random_range=random_range,
                           repeat_times=repeat_times, random_fraction=random_fraction)
    assert wait_minimum <= wait <= wait_minimum * 2**repeat_times + random_range


@given(attempt=st.integers(min_value=-3, max_value=100), **settings_)
def test_delay_never_shrinks_from_one_attempt_to_the_next(
        attempt: int, wait_minimum: float, random_range: float, repeat_times: int,
        random_fraction: float) -> None:
    kwargs = {"wait_minimum": wait_minimum, "random_range": random_range,
              "repeat_times": repeat_times, "random_fraction": random_fraction}
    assert reconnect_delay(attempt, **kwargs) <= reconnect_delay(attempt + 1, **kwargs)
