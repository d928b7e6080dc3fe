"""The OCPP message log: every frame in and out, one line each, for operators.

Lines read ``<UTC time> <in|out> <frame>``. It lives in MessageLogPath, one file per
charge point id, appended across restarts. Secrets (a new AuthorizationKey) are redacted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from messages.frames import redact

if TYPE_CHECKING:
    from actors.clock import Clock

__all__ = ["MessageLog"]


class MessageLog:
    """Appends frames to ``<directory>/<charge_point_id>.log``; used by one actor only."""

    def __init__(self, directory: str, charge_point_id: str, clock: Clock) -> None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.path = path / f"{charge_point_id}.log"
        self._file = self.path.open("a", encoding="utf-8", buffering=1)
        self._clock = clock

    def write(self, direction: str, frame: str) -> None:
        stamp = self._clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self._file.write(f"{stamp} {direction} {redact(frame)}\n")

    def close(self) -> None:
        self._file.close()
