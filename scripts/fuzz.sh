#!/usr/bin/env bash
# Runs every cargo-fuzz target (tests/fuzz) for a bounded time each.
# Usage: scripts/fuzz.sh [seconds per target, default 60] [target ...]
# Needs cargo-fuzz (installed here if missing). cargo-fuzz wants a nightly compiler;
# RUSTC_BOOTSTRAP=1 lets the stable one build the targets. Sanitizer off (-s none): the
# parsers are safe Rust, and the address sanitizer multiplies the build time.
# A crash leaves its input under tests/fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list --fuzz-dir tests/fuzz)
fi
cargo fuzz build --fuzz-dir tests/fuzz -s none
failed=()
for t in "${targets[@]}"; do
  corpus="tests/fuzz/corpus/$t"
  mkdir -p "$corpus"
  echo "== $t (${seconds}s)"
  # The fixtures, and the real bank files of each format, are the seeds of the bank format targets.
  seeds=()
  real=tests/fixtures/real
  case "$t" in
    camt053|camt054|mt940|bai2) seeds=(tests/fixtures "$real/$t") ;;
    csv|csv_presets|bank_csv_mapping) seeds=(tests/fixtures "$real/csv" tests/fixtures/real-extra/csv) ;;
    detect) seeds=(tests/fixtures "$real"/* tests/fixtures/real-extra/csv) ;;
  esac
  if ! cargo fuzz run --fuzz-dir tests/fuzz -s none "$t" "$corpus" "${seeds[@]}" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>"target/fuzz-$t.log"; then
    failed+=("$t")
    tail -30 "target/fuzz-$t.log"
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "target/fuzz-$t.log" | tr '\n' ' ' || true
  echo
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all ${#targets[@]} targets ran ${seconds}s each without a failure"
