"""Child specs and flags are checked before anything starts."""

from __future__ import annotations

import dataclasses

import pytest

from supervisor.spec import ChildSpec, Restart, SupFlags, check_specs


def _not_started() -> None:
    msg = "check_specs must not start children"
    raise AssertionError(msg)


def child(id_: str, **kwargs: object) -> ChildSpec:
    return ChildSpec(id=id_, start=_not_started, **kwargs)  # type: ignore[arg-type]


def test_defaults_follow_otp() -> None:
    spec = child("bus")
    assert spec.restart is Restart.PERMANENT
    assert spec.shutdown == 5.0
    assert SupFlags() == SupFlags(intensity=3, period=5.0)


def test_specs_are_frozen_keyword_only_data() -> None:
    spec = child("bus")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ChildSpec("bus", _not_started)  # type: ignore[misc]


def test_a_sound_tree_passes() -> None:
    specs = [child("persistence"), child("bus", restart=Restart.TRANSIENT),
             child("evse/1", restart=Restart.TEMPORARY, shutdown=0.1)]
    check_specs(specs, SupFlags(intensity=0, period=0.001))
    check_specs([], SupFlags())


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate child id 'evse/1'"):
        check_specs([child("evse/1"), child("csms"), child("evse/1")], SupFlags())


@pytest.mark.parametrize("shutdown", [0, -1.0])
def test_shutdown_timeout_must_be_positive(shutdown: float) -> None:
    with pytest.raises(ValueError, match="'csms'.*shutdown"):
        check_specs([child("bus"), child("csms", shutdown=shutdown)], SupFlags())


@pytest.mark.parametrize("flags", [SupFlags(intensity=-1), SupFlags(period=0), SupFlags(period=-5.0)])
def test_bad_flags_are_refused(flags: SupFlags) -> None:
    with pytest.raises(ValueError, match="intensity"):
        check_specs([child("bus")], flags)
