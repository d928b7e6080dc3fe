#!/usr/bin/env bash
# Prepares this checkout on a fresh Debian machine with Python 3.11, idempotently:
# a virtualenv in .venv with the package and its test extras, and (with --test) the test
# peers: Debian's mosquitto (broker and mosquitto_pub/sub) and npm's ocpp-rpc. Re-running only redoes what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
want_test_peers=false
[ "${1:-}" = "--test" ] && want_test_peers=true

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv
fi
stamp=.venv/.installed
wanted="$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  echo "$wanted" > "$stamp"
fi

if $want_test_peers; then
  if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ] || ! command -v mosquitto_pub >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto mosquitto-clients
  fi
  if ! command -v npm >/dev/null; then
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
  fi
  peers=tests/peers/strict_csms
  lock_hash="$(sha256sum $peers/package-lock.json | cut -d' ' -f1)"
  if [ "$(cat $peers/node_modules/.installed 2>/dev/null)" != "$lock_hash" ]; then
    npm ci --prefix $peers --no-audit --no-fund --loglevel=error
    echo "$lock_hash" > $peers/node_modules/.installed
  fi
fi
