#!/usr/bin/env bash
# Shows that openapi/openapi.json makes working clients: generates a TypeScript client
# (openapi-typescript types + openapi-fetch) and a Python client (openapi-python-client),
# type-checks both (tsc --strict, mypy --strict), then runs the same five-call tour with each
# (tenant from the CLI, import customers, import documents, a balance, a list of documents)
# against a debug server on a fresh embedded cluster.
# Needs Node.js 18+ with npm and python3 with venv (docs/api.md). Tool versions are pinned in
# scripts/client_check/ (package-lock.json, requirements.txt); everything is installed under
# target/client_check (about 25 s from scratch). DZ_BIN picks the binary (default
# target/debug/duizhang, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD/scripts/client_check
work=$PWD/target/client_check
bin=${DZ_BIN:-target/debug/duizhang}
started=$SECONDS
say() { echo "client_check: $*"; }

command -v node >/dev/null && command -v npm >/dev/null || { say "needs Node.js and npm"; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' || { say "needs Node.js 18 or newer"; exit 1; }
[ -x "$bin" ] || cargo build --quiet
mkdir -p "$work"

# TypeScript: the pinned tools, installed from the committed lock file.
ts=$work/ts
mkdir -p "$ts"
cp "$src/package.json" "$src/package-lock.json" "$src/tsconfig.json" "$src/tour.ts" "$ts/"
(cd "$ts" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
"$ts/node_modules/.bin/openapi-typescript" openapi/openapi.json --output "$ts/api.d.ts" >/dev/null
"$ts/node_modules/.bin/tsc" -p "$ts"
say "typescript client generated and type-checked"

# Python: a venv with the pinned generator and mypy.
venv=$work/venv
if ! cmp -s "$src/requirements.txt" "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$src/requirements.txt"
  cp "$src/requirements.txt" "$venv/requirements.txt"
fi
py=$work/py
rm -rf "$py" && mkdir -p "$py"
# The generator runs ruff from PATH on its output.
(cd "$py" && PATH="$venv/bin:$PATH" "$venv/bin/openapi-python-client" generate \
  --path ../../../openapi/openapi.json --config ../../../scripts/client_check/generator.yaml \
  --output-path duizhang_client --meta none >generate.log 2>&1) \
  || { cat "$py/generate.log"; exit 1; }
# It cannot send text/csv bodies and skips those variants (the JSON variant of the same operation
# stays); any other warning is a defect of the document.
warnings=$(grep -c '^WARNING' "$py/generate.log" || true)
csv=$(grep -c '^Unsupported content type text/csv$' "$py/generate.log" || true)
if [ "$warnings" != "$csv" ] || grep -q '^ERROR' "$py/generate.log"; then
  cat "$py/generate.log"
  say "the Python generator found problems in the document"
  exit 1
fi
(cd "$py" && "$venv/bin/mypy" --config-file "$src/mypy.ini" --cache-dir "$work/mypy-cache" duizhang_client "$src/tour.py")
say "python client generated and type-checked"

# A debug server on a fresh embedded cluster, and a tenant from the CLI.
. scripts/lib/serve.sh
dz_serve "$work"
key=$(dz_tenant "Client check GmbH")
say "tenant created with the CLI"

node "$ts/out/tour.js" "$base" "$key"
PYTHONPATH=$py "$venv/bin/python" "$src/tour.py" "$base" "$key"
say "both clients passed the tour in $((SECONDS - started)) s"
