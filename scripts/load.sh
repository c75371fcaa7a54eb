#!/usr/bin/env bash
# Load test against the release build with wrk (installed from Debian if missing): see
# scripts/load.py. Usage: scripts/load.sh [--lines 20000] [--connections 32] [--duration 15]
# DATABASE_URL: the PostgreSQL server to use (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
fi
cargo build --release --quiet
exec python3 scripts/load.py "$@"
