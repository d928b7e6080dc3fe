#!/usr/bin/env bash
# The whole test suite: sets up this checkout and its test peers if needed, then runs pytest
# (arguments go to pytest, e.g. -k boot) and a short benchmark smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh --test
.venv/bin/python -m pytest -q "$@"
