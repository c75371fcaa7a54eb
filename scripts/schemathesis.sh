#!/usr/bin/env bash
# Schemathesis against openapi/openapi.json (REST) and schema/schema.graphql (GraphQL at /graphql):
# see scripts/schemathesis.py.
# Usage: scripts/schemathesis.sh [--max-time 120] [--graphql-max-time 60] [more schemathesis options]
# DZ_BIN picks the binary (default: target/release/duizhang, built here).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  # Pinned: a new major version changes the CLI and the checks.
  "$venv/bin/pip" install -q 'schemathesis==4.32.5'
fi
if [ -z "${DZ_BIN:-}" ]; then
  cargo build --release --quiet
fi
exec python3 scripts/schemathesis.py "$@"
