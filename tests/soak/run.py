"""Soak: several simulated EVSEs charge through random network faults and random kill -9s of
the charge point, then the CSMS's ledger says whether anything was lost, doubled or reordered.

    .venv/bin/python tests/soak/run.py [--evses 4] [--faults 200] [--kills 20] [--seed N] [--quick]

The charge point is ``ocpp-cp demo --csms <proxy>`` in its own process, on one database for
the whole run. Between it and the CSMS sits a fault proxy that cuts, stalls, black-holes or
refuses the connection. At the end the faults stop, the last process is killed too, and a
final ``--sessions 1`` run must start and stop a session on every EVSE; then the ledger is
checked. Bounded in time (``--max-seconds``); stops by itself; exits 0 when the ledger holds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from peers.fault_proxy import FaultProxy  # noqa: E402
from soak.ledger import Ledger, idempotent_start_transaction  # noqa: E402
from supervisor.local_csms import LocalCsms  # noqa: E402

SOAK_KEYS = {
    "Internal": {"RetryBackoffWaitMinimum": 1, "RetryBackoffRandomRange": 1, "RetryBackoffRepeatTimes": 1},
    "Core": {"WebSocketPingInterval": 3, "TransactionMessageAttempts": 20, "TransactionMessageRetryInterval": 1,
             "AllowOfflineTxForUnknownId": True, "MeterValueSampleInterval": 2,
             "StopTxnSampledData": "Energy.Active.Import.Register"},
}


class ChargePointProcess:
    """``ocpp-cp demo`` against the proxy, restartable on the same database."""

    def __init__(self, workdir: Path, url: str, evses: int, charge_seconds: float) -> None:
        base = json.loads((REPO / "deploy" / "charge-point-config.json").read_text())
        for profile, keys in SOAK_KEYS.items():
            base.setdefault(profile, {}).update(keys)
        config = workdir / "charge-point-config.json"
        config.write_text(json.dumps(base))
        self._args = ["demo", "--csms", url, "--evses", str(evses), "--charge-seconds", str(charge_seconds),
                      "--set", f"ChargePointConfigPath={config}", "--set", f"DatabasePath={workdir / 'db'}",
                      "--set", f"MessageLogPath={workdir / 'log'}", "--set", f"TracePath={workdir / 'trace'}"]
        self._log = (workdir / "charge-point.log").open("a")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen([sys.executable, "-m", "supervisor.cli", *self._args, *extra], cwd=REPO,
                                        env=env, stdout=self._log, stderr=self._log)
        return self.process

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def close(self) -> None:
        self.kill()
        self._log.close()


def soak(evses: int, faults: int, kills: int, seed: int, max_seconds: float, charge_seconds: float,
         workdir: Path) -> int:
    rng = random.Random(seed)
    csms = LocalCsms().start()
    idempotent_start_transaction(csms)
    proxy = FaultProxy(csms.port).start()
    cp = ChargePointProcess(workdir, proxy.url, evses, charge_seconds)
    deadline = time.monotonic() + max_seconds
    done_faults = done_kills = 0
    kill_every = max(faults // max(kills, 1), 1)
    try:
        cp.start()
        while (done_faults < faults or done_kills < kills) and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.2, 1.2))
            if done_faults < faults:
                name = proxy.random_fault(rng)
                time.sleep(rng.uniform(0.1, 2.5))
                proxy.resume()
                done_faults += 1
                print(f"fault {done_faults}/{faults}: {name}", flush=True)
            if done_kills < kills and (done_faults % kill_every == 0 or done_faults >= faults):
                cp.kill()
                done_kills += 1
                print(f"kill -9 {done_kills}/{kills}", flush=True)
                time.sleep(rng.uniform(0.0, 1.0))
                cp.start()
        proxy.resume()
        cp.kill()
        final = cp.start("--sessions", "1")
        try:
            final_code = final.wait(timeout=max(60.0, 12 * charge_seconds))
        except subprocess.TimeoutExpired:
            final.kill()
            final_code = -1
        time.sleep(0.5)
        report = Ledger(csms.received, [c.at for c in csms.closed]).check()
    finally:
        cp.close()
        proxy.stop()
        csms.stop()
    print(f"soak: {done_faults} network faults, {done_kills} kill -9, final run exit {final_code}")
    print("ledger:", *report.lines(), sep="\n")
    if done_faults < faults or done_kills < kills:
        print(f"soak: ran out of time ({max_seconds:g} s) before all faults and kills", file=sys.stderr)
        return 1
    return 0 if report.ok and final_code == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evses", type=int, default=4)
    parser.add_argument("--faults", type=int, default=200)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--charge-seconds", type=float, default=6.0)
    parser.add_argument("--quick", action="store_true", help="the CI version: 20 faults, 3 kills, 2 EVSEs")
    args = parser.parse_args(argv)
    if args.quick:
        args.evses, args.faults, args.kills, args.max_seconds = 2, 20, 3, 120.0
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"soak: seed {seed}, {args.evses} EVSEs, {args.faults} faults, {args.kills} kills", flush=True)
    with tempfile.TemporaryDirectory(prefix="ocpp-cp-soak-") as workdir:
        return soak(args.evses, args.faults, args.kills, seed, args.max_seconds, args.charge_seconds, Path(workdir))


if __name__ == "__main__":
    sys.exit(main())
