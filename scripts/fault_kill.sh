#!/usr/bin/env bash
# kill -9 fault test against the release build: see scripts/fault_kill.py for what it checks.
# Usage: scripts/fault_kill.sh [--lines 100000] [--confirms 300]
# DATABASE_URL: the PostgreSQL server to use (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 scripts/fault_kill.py "$@"
