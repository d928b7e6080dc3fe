"""The ``mosquitto`` fixture: a fresh broker per test, on its own port, always cleaned up.

Test modules of the MQTT bus import it (conftest.py is shared and stays as it is)::

    from peers.mosquitto_fixture import mosquitto  # noqa: F401
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from peers.mosquitto import BINARY, Mosquitto

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["mosquitto"]


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running broker with persistence under ``tmp_path/mosquitto``."""
    if not os.access(BINARY, os.X_OK):
        pytest.fail(f"mosquitto not found ({BINARY}); deploy/setup.sh --test installs it")
    broker = Mosquitto(tmp_path / "mosquitto")
    try:
        yield broker.start()
    finally:
        broker.close()
