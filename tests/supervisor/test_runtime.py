"""The supervisor actor with stand-in children: start order, reverse stop order, stale exits."""

from __future__ import annotations

import pytest

from actors.base import ActorContext, Directory, SupervisedActor
from actors.clock import ManualClock
from conftest import wait_until
from messages.lifecycle import InjectCrash
from supervisor.runtime import Supervisor
from supervisor.spec import ChildSpec, Restart, SupFlags

pytestmark = pytest.mark.timeout(30)


class Recorder(SupervisedActor):
    """A child that writes its start and stop into a shared journal."""

    journal: list[str] = []

    def started(self) -> None:
        Recorder.journal.append(f"start {self.name}")

    def stopping(self) -> None:
        Recorder.journal.append(f"stop {self.name}")


@pytest.fixture
def tree():
    Recorder.journal = []
    directory, clock = Directory(), ManualClock()
    ctx = ActorContext(clock=clock, directory=directory, options=None, config=None)  # type: ignore[arg-type]
    gave_up: list[str] = []

    def make(*restarts: Restart, flags: SupFlags = SupFlags()):
        specs = [ChildSpec(id=f"c{i}", start=lambda i=i: Recorder.start(ctx, f"c{i}"), restart=r)
                 for i, r in enumerate(restarts)]
        return Supervisor.start(specs, flags, directory=directory, clock=clock, on_give_up=gave_up.append)

    made = []
    yield lambda *a, **k: made.append(make(*a, **k)) or (made[-1], directory, gave_up)
    for ref in made:
        ref.stop()


def test_children_start_in_order_and_stop_in_reverse(tree):
    sup, _directory, _ = tree(Restart.PERMANENT, Restart.PERMANENT, Restart.PERMANENT)
    wait_until(lambda: len(Recorder.journal) == 3)
    sup.stop()
    assert Recorder.journal == ["start c0", "start c1", "start c2", "stop c2", "stop c1", "stop c0"]


def test_temporary_child_is_not_restarted(tree):
    _sup, directory, gave_up = tree(Restart.TEMPORARY, Restart.PERMANENT)
    wait_until(lambda: len(Recorder.journal) == 2)
    directory.get("c0").tell(InjectCrash())
    wait_until(lambda: directory.get("c0") is None)
    assert Recorder.journal.count("start c0") == 1 and not gave_up


def test_intensity_zero_gives_up_on_the_first_crash(tree):
    _sup, directory, gave_up = tree(Restart.PERMANENT, flags=SupFlags(intensity=0, period=5))
    wait_until(lambda: directory.get("c0") is not None)
    directory.get("c0").tell(InjectCrash())
    wait_until(lambda: gave_up)
    assert "c0" in gave_up[0]
