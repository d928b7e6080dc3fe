"""What the demo shows: the observer actor that collects every EVSE's view, and the pure
functions that turn those views into the live table or into plain progress lines.

Rendering is kept pure (views in, lines out) so it can be tested without a terminal; only
:class:`LiveScreen` writes ANSI escapes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

import pykka

from messages.csms import ConnectionChanged, RegistrationChanged
from messages.station import EvseStateChanged
from supervisor.demo_script import acknowledged_stop

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = ["DemoObserver", "HeldLogs", "LineWriter", "LiveScreen", "Snapshot", "TakeSnapshot", "progress_line", "row_text",
           "table_lines"]

_COLUMNS = (("EVSE", 4, ">"), ("status", 15, "<"), ("tx id", 6, ">"), ("kWh", 7, ">"), ("last OCPP action", 18, "<"))
HELD_LOG_LINES = 500
_GAP = "  "
_BLOCK_GAP = "   "
_ROW_WIDTH = sum(w for _, w, _ in _COLUMNS) + len(_GAP) * (len(_COLUMNS) - 1)
_STATUS_COLORS = {"Charging": "32", "Preparing": "33", "Finishing": "33", "SuspendedEV": "36",
                  "SuspendedEVSE": "36", "Faulted": "31", "Unavailable": "31"}


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeSnapshot:
    """Query (ask, demo driver → DemoObserver → :class:`Snapshot`); clears the change list."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Everything the observer has seen, as of now."""

    views: dict[int, EvseStateChanged]
    acknowledged: dict[int, frozenset[int]]
    """EVSE → ids of the transactions whose StopTransaction the CSMS answered."""
    changes: list[tuple[float, EvseStateChanged]]
    """Every view published since the last snapshot, with its wall-clock time."""
    registration: str
    connected: bool


class DemoObserver(pykka.ThreadingActor):
    """Subscribed to EvseStateChanged, RegistrationChanged and ConnectionChanged by the demo.

    Not part of the supervised tree: it must outlive the charge point's stop, and a demo
    that lost its view would show nothing useful anyway.
    """

    use_daemon_thread = True

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[int, EvseStateChanged] = {}
        self.acknowledged: dict[int, frozenset[int]] = {}
        self.changes: list[tuple[float, EvseStateChanged]] = []
        self.registration = "Unknown"
        self.connected = False

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, EvseStateChanged):
            stopped = acknowledged_stop(self.views.get(message.evse_id), message)
            if stopped is not None:
                self.acknowledged[message.evse_id] = self.acknowledged.get(message.evse_id, frozenset()) | {stopped}
            self.views[message.evse_id] = message
            self.changes.append((time.time(), message))
        elif isinstance(message, RegistrationChanged):
            self.registration = message.status.value
        elif isinstance(message, ConnectionChanged):
            self.connected = message.connected
        elif isinstance(message, TakeSnapshot):
            changes, self.changes = self.changes, []
            return Snapshot(views=dict(self.views), acknowledged=dict(self.acknowledged), changes=changes,
                            registration=self.registration, connected=self.connected)
        return None


def _status_text(view: EvseStateChanged) -> str:
    return view.status if view.error_code == "NoError" else f"{view.status} {view.error_code}"


def _tx(view: EvseStateChanged) -> str:
    return "-" if view.transaction_id is None else str(view.transaction_id)


def _kwh(view: EvseStateChanged) -> str:
    return "-" if view.energy_wh is None else f"{max(view.energy_wh, 0.0) / 1000:.3f}"  # meterStart is rounded


def _fit(text: str, width: int, align: str) -> str:
    if len(text) > width:
        text = text[:width - 1] + "…"
    return f"{text:{align}{width}}"


def row_text(evse_id: int, view: EvseStateChanged | None, *, color: bool = False) -> str:
    """One EVSE's row of the table (fixed width); ``?`` until the EVSE has published."""
    cells = ([str(evse_id), _status_text(view), _tx(view), _kwh(view), view.last_action or "-"]
             if view is not None else [str(evse_id), "?", "-", "-", "-"])
    padded = [_fit(text, width, align) for text, (_, width, align) in zip(cells, _COLUMNS)]
    code = _STATUS_COLORS.get(view.status) if color and view is not None else None
    if code:
        padded[1] = f"\x1b[{code}m{padded[1]}\x1b[0m"
    return _GAP.join(padded)


def table_lines(views: Mapping[int, EvseStateChanged], evse_count: int, *, width: int = 80,
                height: int | None = 24, color: bool = False) -> list[str]:
    """The table of every EVSE within ``width`` × ``height`` characters (``None``: as tall as
    it takes): a header and one row per EVSE, in side-by-side blocks when the rows do not fit
    one under the other; what still does not fit is summed up in a last line."""
    header = _GAP.join(_fit(name, w, align) for name, w, align in _COLUMNS)
    blocks = max(1, (width + len(_BLOCK_GAP)) // (_ROW_WIDTH + len(_BLOCK_GAP)))
    rows_per_block = max(1, height - 1) if height is not None else -(-evse_count // blocks)
    if evse_count > blocks * rows_per_block:
        rows_per_block = max(1, rows_per_block - 1)  # room for the "more" line
    blocks = min(blocks, -(-evse_count // rows_per_block))
    shown = min(evse_count, blocks * rows_per_block)
    rows_per_block = -(-shown // blocks)
    lines = [_BLOCK_GAP.join([header] * blocks).rstrip()]
    for r in range(rows_per_block):
        cells = [row_text(i, views.get(i), color=color)
                 for i in (b * rows_per_block + r + 1 for b in range(blocks)) if i <= shown]
        lines.append(_BLOCK_GAP.join(cells).rstrip())
    if shown < evse_count:
        lines.append(f"… and {evse_count - shown} more EVSEs (a bigger terminal shows them)")
    return lines


def progress_line(at: float, view: EvseStateChanged) -> str:
    """The plain (no terminal) form of one change, e.g.
    ``12:00:01 EVSE 2 Charging tx 5 0.12 kWh StartTransaction``."""
    clock = datetime.fromtimestamp(at).strftime("%H:%M:%S")
    return f"{clock} EVSE {view.evse_id} {_status_text(view)} tx {_tx(view)} {_kwh(view)} kWh " \
           f"{view.last_action or '-'}"


class HeldLogs(logging.Handler):
    """While the live table owns the screen, warnings are kept (the last one is shown under
    the table) and written to stderr once the terminal is back."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: deque[str] = deque(maxlen=HELD_LOG_LINES)
        self._saved: list[logging.Handler] = []

    def __enter__(self) -> HeldLogs:
        root = logging.getLogger()
        self._saved, root.handlers = root.handlers, [self]
        if self._saved:
            self.setFormatter(self._saved[0].formatter)
        return self

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().handlers = self._saved
        for line in self.lines:
            print(line, file=sys.stderr)


class LineWriter:
    """Whole lines to a stream, from any thread (the frames come from the CSMS's). A reader
    that went away (``| head``) ends the demo like Ctrl-C would, without a traceback."""

    def __init__(self, out: TextIO, on_closed: Callable[[], None]) -> None:
        self._out, self._on_closed = out, on_closed
        self._lock = threading.Lock()
        self.closed = False

    def __call__(self, line: str) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except BrokenPipeError:
                self.closed = True
                with contextlib.suppress(OSError, ValueError):  # nothing left to flush at exit
                    os.dup2(os.open(os.devnull, os.O_WRONLY), self._out.fileno())
                self._on_closed()


class LiveScreen:
    """The terminal while the live table runs: alternate screen, hidden cursor, each frame
    drawn from the top-left corner; :meth:`close` restores the terminal as it was."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._open = False

    def open(self) -> None:
        self._out.write("\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J")
        self._out.flush()
        self._open = True

    def draw(self, lines: Sequence[str]) -> None:
        if self._open:
            body = "\r\n".join(f"{line}\x1b[K" for line in lines)  # no newline after the last: no scrolling
            self._out.write(f"\x1b[H{body}\x1b[J")
            self._out.flush()

    def close(self) -> None:
        if self._open:
            self._open = False
            self._out.write("\x1b[?25h\x1b[?1049l")
            self._out.flush()
