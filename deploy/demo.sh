#!/usr/bin/env bash
# The demo: sets up this checkout if needed, then runs the charge point against the bundled
# local CSMS with simulated EVSEs. Arguments go to `ocpp-cp demo` (e.g. --evses 8).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh
exec .venv/bin/ocpp-cp demo "$@"
