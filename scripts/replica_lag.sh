#!/usr/bin/env bash
# A streaming standby's lag while the API imports (scripts/replica_lag.py). Needs the
# PostgreSQL server package (initdb, pg_ctl, pg_basebackup) and psql.
# Usage: scripts/replica_lag.sh [--lines 100000] [--chunk 50000]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 scripts/replica_lag.py "$@"
