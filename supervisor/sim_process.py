"""``ocpp-cp sim``: the simulated charger as its own process on the MQTT bus.

Its own small actor system: a Directory, a clock (injectable, as everywhere) and a supervisor
(:mod:`supervisor.runtime`) with three children (four with ``--certs-path``), in start order:

* ``simulator``: the same :class:`actors.simulator.Simulator` the charge point embeds, unchanged;
* ``system_transfers``: the same :class:`actors.system_transfers.SystemTransfers` the charge
  point embeds, for the system's firmware and log transfers (files under ``--system-path``; an
  upload packs ``--log-file``);
* ``security`` (only with ``--certs-path``): the same :class:`actors.evse_security.EvseSecurity`
  certificate store the charge point embeds, on the files under ``--certs-path``, for the
  ``security`` implementation (EVerest's evse_security);
* ``bridge``: :class:`actors.sim_bridge.SimBridge`, the bus edge, also registered as
  ``evse/1..N`` and ``auth``, the names the Simulator tells (so it needs no change).

The Simulator reads three charge point keys (ConnectionTimeOut, StopTransactionOnEVSideDisconnect,
SupplyVoltage). This process has no charge point config of its own, so it uses the embedded
default (``deploy/charge-point-config.json`` with the schema's defaults and NumberOfConnectors =
N, no user config, nothing written to disk); ConnectionTimeOut then follows the OCPP side's
``auth/cmd/set_connection_timeout``, as EVerest's Auth module does.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import tempfile
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pykka

from actors.base import ActorContext, Directory
from actors.certificates import CERTS_PATH_KEY
from actors.clock import SystemClock
from actors.evse_security import EvseSecurity
from actors.sim_bridge import BusStatus, GetBusStatus, SimBridge
from actors.simulator import Simulator
from actors.system_transfers import SystemTransfers
from messages import everest
from messages.lifecycle import Ping
from supervisor import config_schema
from supervisor.config import DEFAULT_CHARGE_POINT_CONFIG, ChargePointConfig, LiveConfig, load_module_config, load_schema
from supervisor.exit_codes import EXIT_GAVE_UP
from supervisor.runtime import Supervisor
from supervisor.spec import ChildSpec, SupFlags

if TYPE_CHECKING:
    from actors.clock import Clock

__all__ = ["FLAGS", "SimProcess", "SimSettings", "run_sim", "sim_charge_point_config"]

log = logging.getLogger("ocpp_cp.sim")

FLAGS = SupFlags(intensity=3, period=5.0)
"""As the charge point's: systemd (or whoever started us) is the next level up."""
SIMULATOR, BRIDGE, SYSTEM, SECURITY = "simulator", "bridge", "system_transfers", "security"


@dataclass(frozen=True, slots=True, kw_only=True)
class SimSettings:
    """What ``ocpp-cp sim`` is told on its command line."""

    host: str
    port: int
    evse_count: int = 1
    module_id: str = everest.SIM_MODULE_ID
    """Our module id on the bus (``--module-id``); MQTT client id ``ocpp-cp-<module_id>``."""
    ocpp_module_id: str = everest.OCPP_MODULE_ID
    """The OCPP module whose auth_validator and auth_provider we use (``--ocpp-module-id``)."""
    prefix: str = everest.PREFIX
    """EVerest's mqtt_everest_prefix (``--everest-prefix``), with its trailing slash."""
    meter_interval: float = 1.0
    """Seconds between meter readings."""
    system_path: str = ""
    """Where the system keeps downloaded and installed firmware (``--system-path``); empty:
    ``<temp dir>/ocpp-cp-<module_id>/system``."""
    log_file: str = ""
    """The log that upload_logs packs (``--log-file``); empty: the module option default,
    ``<MessageLogPath>/<ChargePointId>.log`` of the embedded default config."""
    certs_path: str = ""
    """The certificate store of the ``security`` implementation (``--certs-path``); empty: the
    simulator serves no ``security`` implementation."""


def sim_charge_point_config(evse_count: int, certs_path: str = "") -> ChargePointConfig:
    """The embedded default charge point config, for the three keys the Simulator reads (and
    ``Internal.CertsPath``, the store EvseSecurity uses, when ``certs_path`` is given)."""
    profiles: dict[str, Any] = json.loads(DEFAULT_CHARGE_POINT_CONFIG.read_text(encoding="utf-8"))
    profiles.setdefault("Core", {})["NumberOfConnectors"] = evse_count
    if certs_path:
        profiles.setdefault("Internal", {})[CERTS_PATH_KEY] = str(Path(certs_path).resolve())
    config_schema.apply_defaults(load_schema(), profiles)
    return ChargePointConfig(profiles=profiles, base_path=DEFAULT_CHARGE_POINT_CONFIG,
                             user_config_path=Path(os.devnull))


class SimProcess:
    """The simulator's actor system: started, stopped, and told when it gave up."""

    def __init__(self, settings: SimSettings, *, clock: Clock | None = None, flags: SupFlags = FLAGS) -> None:
        self.settings = settings
        self.directory = Directory()
        self.ctx = ActorContext(clock=clock or SystemClock(), directory=self.directory,
                                options=load_module_config(None, [f"EvseCount={settings.evse_count}"]),
                                config=LiveConfig(sim_charge_point_config(settings.evse_count, settings.certs_path)))
        self._flags = flags
        self._supervisor: pykka.ActorRef[Any] | None = None
        self.finished = threading.Event()
        """Set when the supervisor gave up: the process should exit."""
        self.exit_code: int | None = None
        self.give_up_reason = ""

    def child_specs(self) -> tuple[ChildSpec, ...]:
        s = self.settings
        aliases = (*(f"evse/{i}" for i in range(1, s.evse_count + 1)), "auth")
        security = (ChildSpec(id=SECURITY, start=partial(EvseSecurity.start, self.ctx, SECURITY)),) \
            if s.certs_path else ()
        return (
            ChildSpec(id=SIMULATOR, start=partial(Simulator.start, self.ctx, SIMULATOR, evse_count=s.evse_count,
                                                  meter_interval=s.meter_interval)),
            ChildSpec(id=SYSTEM, start=partial(SystemTransfers.start, self.ctx, SYSTEM,
                                               directory=s.system_path or str(Path(tempfile.gettempdir())
                                                                              / f"ocpp-cp-{s.module_id}" / "system"),
                                               log_file=s.log_file or None)),
            *security,
            ChildSpec(id=BRIDGE, start=partial(SimBridge.start, self.ctx, BRIDGE, evse_count=s.evse_count,
                                               host=s.host, port=s.port, module_id=s.module_id,
                                               ocpp_module_id=s.ocpp_module_id, prefix=s.prefix,
                                               simulator=SIMULATOR, aliases=aliases, system=SYSTEM,
                                               security=SECURITY if s.certs_path else "")),
        )

    def start(self, timeout: float = 30.0) -> SimProcess:
        """Start both children; returns once they have started (the broker may still be away)."""
        self._supervisor = Supervisor.start(self.child_specs(), self._flags, directory=self.directory,
                                            clock=self.ctx.clock, on_give_up=self._on_give_up,
                                            activity=self.ctx.activity)
        try:
            self._supervisor.ask(Ping(), timeout=timeout)
        except pykka.ActorDeadError:
            pass  # it gave up while starting
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the bridge (a clean MQTT disconnect: the broker keeps our session), then the Simulator."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is None:
            return
        try:
            supervisor.stop(block=True, timeout=timeout)
        except pykka.Timeout:
            log.error("the simulator did not stop within %g s; going on without it", timeout)

    def bus_status(self, timeout: float = 5.0) -> BusStatus:
        return self.directory.ask(BRIDGE, GetBusStatus(), timeout=timeout)

    def _on_give_up(self, reason: str) -> None:
        self.give_up_reason = reason
        self.exit_code = EXIT_GAVE_UP
        self.finished.set()

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def run_sim(settings: SimSettings) -> int:
    """Run until SIGTERM/SIGINT (exit 0), or until the supervisor gives up (exit 70)."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    process = SimProcess(settings).start()
    log.info("simulator with %d EVSE(s) started as module %s on %s:%d", settings.evse_count, settings.module_id,
             settings.host, settings.port)
    threading.Thread(target=lambda: (process.finished.wait(), stop.set()), daemon=True).start()
    stop.wait()
    if process.finished.is_set():
        log.critical("exiting: %s", process.give_up_reason)
    else:
        log.info("stopping")
    process.stop()
    return process.exit_code or 0
