"""The short soak in CI: 2 EVSEs through 20 random network faults and 3 kill -9s, then the
ledger must hold (the full run is `tests/soak/run.py`, see README)."""

from __future__ import annotations

import pytest

from soak.run import main


@pytest.mark.timeout(300)
def test_short_soak_loses_nothing(capsys):
    code = main(["--quick", "--seed", "20261124"])
    output = capsys.readouterr().out
    assert code == 0, output
    assert "problems 0" in output
