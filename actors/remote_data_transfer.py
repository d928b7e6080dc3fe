"""RemoteDataTransfer: the required ``data_transfer`` interface, served by a module on the bus.

The DataTransfer actor asks the actor registered as ``requirement/data_transfer`` with a
DataTransferRequest and waits (an ``ask``, at most 5 s) for a DataTransferResult: a CSMS
DataTransfer.req it does not handle itself. Answering that ask means waiting for a CmdResult,
which a mailbox cannot deliver while its handler runs; so this small actor exists only when
``Connections`` names a data_transfer connection, and waits on a future the bus completes
(``BusCall.waiter``). Blocking here blocks nobody else: the EVSE traffic goes through
RemoteModules.

Answers (ask): DataTransferRequest → DataTransferResult; a call that fails (timeout, an
error result, an unreadable result, the bus not running) raises, and DataTransfer answers the
CSMS Rejected and logs why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import pykka

from actors.base import SupervisedActor
from messages import everest
from messages.bus import BusCall, BusCallFailed
from messages.data_transfer import DataTransferRequest, DataTransferResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext

__all__ = ["WAIT_S", "RemoteDataTransfer", "RemoteDataTransferError"]

WAIT_S = 4.5
"""Real seconds to wait for the bus: less than DataTransfer's 5 s ask, so the log says why."""


class RemoteDataTransferError(RuntimeError):
    """The module on the bus gave no usable answer."""


class RemoteDataTransfer(SupervisedActor):
    """The data_transfer requirement over the bus (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {DataTransferRequest: "_on_request"}

    def __init__(self, ctx: ActorContext, name: str, *, bus: str = "bus") -> None:
        super().__init__(ctx, name)
        self._bus = bus

    def _on_request(self, msg: DataTransferRequest) -> DataTransferResult:
        waiter: pykka.ThreadingFuture[object] = pykka.ThreadingFuture()
        if not self.tell(self._bus, BusCall(call=everest.call_for(msg), waiter=waiter, correlation=msg.vendor_id)):
            raise RemoteDataTransferError("the MQTT bus is not running")
        try:
            outcome = waiter.get(timeout=WAIT_S)
        except pykka.Timeout:
            raise RemoteDataTransferError(f"no result for data_transfer within {WAIT_S:g} s") from None
        if isinstance(outcome, BusCallFailed):
            raise RemoteDataTransferError(outcome.message)
        try:
            return everest.data_transfer_result_from_everest(outcome.retval)  # type: ignore[attr-defined]
        except everest.BusFormatError as e:
            raise RemoteDataTransferError(f"unreadable data_transfer result: {e.reason}") from None
