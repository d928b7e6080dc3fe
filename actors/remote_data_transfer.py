"""RemoteDataTransfer: the required ``data_transfer`` interface, served by a module on the bus.

The DataTransfer actor asks the actor registered as ``requirement/data_transfer`` with a
DataTransferRequest and waits (an ``ask``, at most 5 s) for a DataTransferResult: a CSMS
DataTransfer.req it does not handle itself. Answering that ask means waiting for a CmdResult,
which a mailbox cannot deliver while its handler runs; so this small actor exists only when
``Connections`` names a data_transfer connection, and waits on a future the bus completes
(:func:`actors.bus_wait.call_and_wait`). Blocking here blocks nobody else: the EVSE traffic goes through
RemoteModules.

Answers (ask): DataTransferRequest → DataTransferResult; a call that fails (timeout, an
error result, an unreadable result, the bus not running) raises, and DataTransfer answers the
CSMS Rejected and logs why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from actors.base import SupervisedActor
from actors.bus_wait import RemoteCallError, call_and_wait
from messages import everest
from messages.data_transfer import DataTransferRequest, DataTransferResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actors.base import ActorContext

__all__ = ["RemoteDataTransfer"]


class RemoteDataTransfer(SupervisedActor):
    """The data_transfer requirement over the bus (see the module docstring)."""

    HANDLERS: ClassVar[Mapping[type, str]] = {DataTransferRequest: "_on_request"}

    def __init__(self, ctx: ActorContext, name: str, *, bus: str = "bus") -> None:
        super().__init__(ctx, name)
        self._bus = bus

    def _on_request(self, msg: DataTransferRequest) -> DataTransferResult:
        retval = call_and_wait(self.tell, self._bus, everest.call_for(msg), correlation=msg.vendor_id)
        try:
            return everest.data_transfer_result_from_everest(retval)
        except everest.BusFormatError as e:
            raise RemoteCallError(f"unreadable data_transfer result: {e.reason}") from None
