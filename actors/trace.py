"""Recording what crosses the edges of the actor system, for replay (``ocpp-cp replay``).

The edges are: frames from and to the CSMS and the connection's openings and closings (the
CSMS link), what the EVSE manager tells the system and answers it (the simulator here, an
EVerest module over MQTT on a real charger), timer firings, test-hook crashes, and the
configuration at start (in each segment's header). Each record carries ``t``, the injected
clock's seconds since the recording started; the file format is :mod:`messages.trace`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from messages.trace import TraceWriter, encode_message

if TYPE_CHECKING:
    from actors.clock import Clock, Target

__all__ = ["NO_TRACE", "Trace", "TracedTarget"]

log = logging.getLogger(__name__)

SECRET_KEYS = frozenset({"AuthorizationKey"})
"""Never written to a trace."""


class Trace:
    """Appends records to a TraceWriter; safe to call from any actor's thread."""

    enabled = True

    def __init__(self, writer: TraceWriter, clock: Clock) -> None:
        self._writer = writer
        self._clock = clock
        self._t0 = clock.monotonic()

    @classmethod
    def start(cls, directory: str, clock: Clock, *, charge_point_id: str, software: str,
              options: dict[str, Any], config: dict[str, dict[str, Any]]) -> Trace:
        safe = {profile: {k: v for k, v in keys.items() if k not in SECRET_KEYS} for profile, keys in config.items()}
        header = {"charge_point_id": charge_point_id, "software": software, "options": options, "config": safe,
                  "started_at": clock.now().isoformat(timespec="microseconds").replace("+00:00", "Z")}
        return cls(TraceWriter(directory, header), clock)

    def record(self, kind: str, **fields: Any) -> None:
        try:
            self._writer.write({"k": kind, "t": round(self._clock.monotonic() - self._t0, 6), **fields})
        except OSError:
            log.exception("trace record lost")  # a full disk must not stop the charger

    def message(self, kind: str, message: object, **fields: Any) -> None:
        self.record(kind, msg=encode_message(message), **fields)

    def close(self) -> None:
        self._writer.close()


class _NoTrace:
    """Recording off: every call is a no-op."""

    enabled = False

    def record(self, kind: str, **fields: Any) -> None:
        pass

    def message(self, kind: str, message: object, **fields: Any) -> None:
        pass

    def close(self) -> None:
        pass


NO_TRACE: Any = _NoTrace()


class TracedTarget:
    """A timer target that records each firing before delivering it."""

    def __init__(self, target: Target, name: str, trace: Trace) -> None:
        self._target, self._name, self._trace = target, name, trace

    def tell(self, message: object) -> None:
        self._trace.record("timer", to=self._name, msg=type(message).__name__)
        self._target.tell(message)
