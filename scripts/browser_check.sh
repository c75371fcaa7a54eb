#!/usr/bin/env bash
# Opens Swagger UI (/api/v1/docs/) and GraphiQL (/graphql) in the distribution's headless
# Chromium, driven by playwright-core, against a debug server on a fresh embedded cluster, with
# every request to another host refused: both pages must render from the binary alone, GraphiQL
# under a strict Content-Security-Policy, and each must run one call with an API key. Screenshots:
# target/browser_check/graphiql.png and swagger-ui.png.
# Needs Node.js 18+ with npm and Chromium (Debian: apt-get install chromium; CHROMIUM=path to use
# another). playwright-core is pinned in scripts/browser_check/package-lock.json and installed
# under target/. DZ_BIN picks the binary (default target/debug/duizhang, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD/scripts/browser_check
work=$PWD/target/browser_check
bin=${DZ_BIN:-target/debug/duizhang}
chromium=${CHROMIUM:-/usr/bin/chromium}
started=$SECONDS

[ -x "$chromium" ] || { echo "browser_check: needs Chromium at $chromium (Debian: apt-get install chromium)"; exit 1; }
command -v npm >/dev/null || { echo "browser_check: needs Node.js and npm"; exit 1; }
[ -x "$bin" ] || cargo build --quiet
mkdir -p "$work/node"
cp "$src/package.json" "$src/package-lock.json" "$src/check.mjs" "$work/node/"
(cd "$work/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

. scripts/lib/serve.sh
dz_serve "$work"
key=$(dz_tenant "Browser check GmbH")
# One customer for both pages to find.
python3 - "$base" "$key" <<'PY'
import json, sys, urllib.request
body = json.dumps({"code": "C-BROWSER-1", "name": "Zhejiang Lüyuan Tea Co.", "country": "CN"}).encode()
req = urllib.request.Request(sys.argv[1] + "/api/v1/customers", data=body, method="POST",
                             headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=30)
PY
rm -f "$work"/*.png
CHROMIUM=$chromium node "$work/node/check.mjs" "$base" "$key" C-BROWSER-1 "$work"
echo "browser_check: passed in $((SECONDS - started)) s"
