"""Driving the simulated charger from Python: the test controller, also used by the demo.

Every call is one SimCommand to the Simulator, the same message the MQTT control topics
``ocpp-cp/sim/<evse_id>/<command>`` become.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from messages.evse_manager import SimCommand

if TYPE_CHECKING:
    from actors.base import Directory

__all__ = ["SimController"]


class SimController:
    """Plug, swipe, pause, break and unplug simulated EVSEs."""

    def __init__(self, directory: Directory, simulator: str = "simulator") -> None:
        self._directory = directory
        self._simulator = simulator

    def send(self, evse_id: int, command: str, **args: object) -> None:
        if not self._directory.tell(self._simulator, SimCommand(evse_id=evse_id, command=command, args=args)):
            msg = "the simulator is not running"
            raise RuntimeError(msg)

    def plug_in(self, evse_id: int) -> None:
        self.send(evse_id, "plug_in")

    def plug_out(self, evse_id: int) -> None:
        self.send(evse_id, "plug_out")

    def swipe(self, evse_id: int, id_tag: str) -> None:
        self.send(evse_id, "swipe", id_tag=id_tag)

    def ev_pause(self, evse_id: int) -> None:
        self.send(evse_id, "ev_pause")

    def ev_resume(self, evse_id: int) -> None:
        self.send(evse_id, "ev_resume")

    def raise_error(self, evse_id: int, error_type: str = "evse_manager/Inoperative", **details: object) -> None:
        self.send(evse_id, "raise_error", type=error_type, **details)

    def clear_error(self, evse_id: int, error_type: str | None = None) -> None:
        self.send(evse_id, "clear_error", **({"type": error_type} if error_type else {}))

    def power_loss(self, evse_id: int) -> None:
        self.send(evse_id, "power_loss")
