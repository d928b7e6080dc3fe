"""A recorded trace as a regression test: ``assert_replays(path)`` fails with the replay's
report of the first difference. To keep a field problem fixed, copy its trace directory
into ``tests/traces/recorded/``: every directory there is replayed by the test suite."""

from __future__ import annotations

from typing import TYPE_CHECKING

from supervisor.replay import replay_trace

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["assert_replays"]


def assert_replays(path: Path) -> None:
    warnings: list[str] = []
    result = replay_trace(path, warn=warnings.append)
    assert result.matched, "\n".join([f"{path} does not replay:", *result.report, *warnings])
    assert not warnings, warnings
