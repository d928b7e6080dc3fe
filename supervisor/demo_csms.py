"""The demo's bundled CSMS: a LocalCsms that accepts everything and remembers which
connector got which transaction id, so that a ``--sessions`` run can be checked from the
CSMS's side too, not only from the charge point's."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from supervisor.local_csms import LocalCsms, utc_now

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from supervisor.local_csms import Received

__all__ = ["BundledCsms", "csms_check"]


def csms_check(received: Sequence[Received], issued: Mapping[int, set[int]], evses: int, sessions: int) -> str | None:
    """What the bundled CSMS is missing of ``sessions`` sessions per EVSE (None: nothing).
    ``issued`` maps each connector to the transaction ids the CSMS handed out for it."""
    for evse_id in range(1, evses + 1):
        starts = sum(1 for r in received if r.action == "StartTransaction" and r.payload.get("connectorId") == evse_id)
        if starts < sessions:
            return f"EVSE {evse_id}: session {starts + 1} never started at the CSMS"
        ids = issued.get(evse_id, set())
        stops = sum(1 for r in received if r.action == "StopTransaction" and r.payload.get("transactionId") in ids)
        if stops < sessions:
            return f"EVSE {evse_id}: session {stops + 1} never stopped at the CSMS"
    return None


class BundledCsms:
    """The LocalCsms of the demo, remembering which connector got which transaction id."""

    def __init__(self, show_frame: Callable[[str], None] | None = None) -> None:
        """``show_frame`` gets every frame between the charge point and this CSMS, as one line."""
        self.issued: dict[int, set[int]] = {}
        self._ids = itertools.count(1)
        self.server = LocalCsms(on_frame=None if show_frame is None else (
            lambda cp_id, direction, frame: show_frame(
                f"{'CP  -> CSMS' if direction == 'in' else 'CSMS -> CP '} {cp_id}: {frame}")))
        self.server.set_reply("BootNotification", lambda _cp, _p: {
            "status": "Accepted", "interval": 10, "currentTime": utc_now()})
        self.server.set_reply("StartTransaction", self._start_transaction)

    def _start_transaction(self, _cp_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        transaction_id = next(self._ids)
        self.issued.setdefault(int(payload["connectorId"]), set()).add(transaction_id)
        return {"transactionId": transaction_id, "idTagInfo": {"status": "Accepted"}}
