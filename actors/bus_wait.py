"""Waiting for a bus command's result inside a handler: for the requirement proxies that must
answer an ``ask`` (RemoteDataTransfer, RemoteSecurity).

A CmdResult cannot reach a mailbox whose handler is running, so such a proxy hands the bus a
future (``BusCall.waiter``) and blocks on it; it is a small actor of its own, so the wait
blocks nobody else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pykka

from messages.bus import BusCall, BusCallFailed

if TYPE_CHECKING:
    from collections.abc import Callable

    from messages.everest import Call

__all__ = ["WAIT_S", "RemoteCallError", "call_and_wait"]

WAIT_S = 4.5
"""Real seconds to wait for the bus: less than the askers' 5 s, so the log says why."""


class RemoteCallError(RuntimeError):
    """The module on the bus gave no usable answer."""


def call_and_wait(tell: Callable[[str, object], bool], bus: str, call: Call, correlation: str) -> object:
    """Have the bus make ``call`` and return its result's retval; RemoteCallError when the bus
    is not running, nothing came within :data:`WAIT_S`, or the module answered an error."""
    waiter: pykka.ThreadingFuture[object] = pykka.ThreadingFuture()
    if not tell(bus, BusCall(call=call, waiter=waiter, correlation=correlation)):
        raise RemoteCallError("the MQTT bus is not running")
    try:
        outcome = waiter.get(timeout=WAIT_S)
    except pykka.Timeout:
        raise RemoteCallError(f"no result for {call.cmd} within {WAIT_S:g} s") from None
    if isinstance(outcome, BusCallFailed):
        raise RemoteCallError(outcome.message)
    return outcome.retval  # type: ignore[attr-defined]
