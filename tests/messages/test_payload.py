"""Frozen payloads: read-only on the way between actors, plain JSON again for the wire."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages.payload import freeze, thaw

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_thaw_undoes_freeze(value: object) -> None:
    assert thaw(freeze(value)) == value


@given(json_values)
def test_freeze_is_idempotent(value: object) -> None:
    once = freeze(value)
    assert freeze(once) == once
    assert thaw(freeze(once)) == value


def test_frozen_object_is_read_only() -> None:
    frozen = freeze({"idTag": "ABC", "meterValue": [{"sampledValue": []}]})
    assert isinstance(frozen, Mapping)
    with pytest.raises(TypeError):
        frozen["idTag"] = "XYZ"  # type: ignore[index]
    with pytest.raises(TypeError):
        frozen["meterValue"][0]["sampledValue"] = ()  # type: ignore[index]


def test_frozen_list_is_a_read_only_tuple() -> None:
    frozen = freeze([1, [2, 3]])
    assert frozen == (1, (2, 3))
    with pytest.raises(TypeError):
        frozen[0] = 9  # type: ignore[index]


def test_freeze_copies_so_later_changes_to_the_original_do_not_leak() -> None:
    original = {"limits": [16, 32]}
    frozen = freeze(original)
    original["limits"].append(64)
    original["new"] = 1
    assert thaw(frozen) == {"limits": [16, 32]}


def test_thaw_gives_fresh_mutable_json() -> None:
    plain = thaw(freeze({"a": [1]}))
    assert plain == {"a": [1]}
    assert isinstance(plain, dict) and isinstance(plain["a"], list)
    plain["a"].append(2)  # no TypeError: it is a copy
