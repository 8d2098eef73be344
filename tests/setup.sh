#!/usr/bin/env bash
# Installs the pinned test dependencies the suite runs beside cargo: the npm harnesses
# (lock files in tests/e2e and tests/interop) and the Python tools (hashes in
# tests/interop/requirements.lock) in ./.venv. The only step of the test run that uses the network.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --prefix tests/e2e --no-audit --no-fund
if [ -f tests/interop/package-lock.json ]; then
    npm ci --prefix tests/interop --no-audit --no-fund
fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r tests/interop/requirements.lock
