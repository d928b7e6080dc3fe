"""Record the traces kept in tests/traces/recorded/ (each is replayed by the test suite).

    .venv/bin/python tests/traces/record_samples.py

- demo-3-evses: ``ocpp-cp demo`` on the real clock, one session on each of 3 EVSEs.
- faults-2-evses: the same demo against a CSMS behind the fault proxy, which cuts the
  connection and later stalls it in the middle of the sessions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from peers.fault_proxy import FaultProxy  # noqa: E402
from supervisor.local_csms import LocalCsms  # noqa: E402

RECORDED = Path(__file__).parent / "recorded"


def demo(trace: Path, *args: str) -> None:
    shutil.rmtree(trace, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "supervisor.cli", "demo", "--sessions", "1", "--charge-seconds", "6",
                    "--set", f"TracePath={trace}", *args], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def main() -> int:
    demo(RECORDED / "demo-3-evses", "--evses", "3")
    with LocalCsms() as csms, FaultProxy(csms.port) as proxy:
        def faults() -> None:
            time.sleep(4)
            proxy.cut()
            time.sleep(6)
            proxy.stall()
            time.sleep(2)
            proxy.resume()
        threading.Thread(target=faults, daemon=True).start()
        demo(RECORDED / "faults-2-evses", "--evses", "2", "--csms", proxy.url)
    for trace in sorted(RECORDED.iterdir()):
        size = sum(p.stat().st_size for p in trace.iterdir())
        print(f"{trace.relative_to(REPO)}: {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
