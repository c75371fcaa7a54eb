# Sourced by the client and browser checks: a debug server on a fresh embedded cluster.
# dz_serve WORK_DIR: starts "$bin serve" with its data in WORK_DIR/var (emptied first) on a free
# port, sets $base and $server, stops it on exit. dz_tenant NAME: prints a new tenant's API key
# (the CLI `duizhang tenant create`, on the same cluster).

dz_serve() {
  dz_var=$1/var
  rm -rf "$dz_var"
  mkdir -p "$1"
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base=http://127.0.0.1:$port
  DUIZHANG_DATA_DIR=$dz_var DUIZHANG_PORT=$port RUST_LOG=warn "$bin" serve >"$1/server.log" 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
  for _ in $(seq 240); do
    if python3 -c "import urllib.request; urllib.request.urlopen('$base/readyz', timeout=2)" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$server" 2>/dev/null; then
      cat "$1/server.log"
      echo "the server did not start" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "the server was not ready within 2 minutes" >&2
  return 1
}

dz_tenant() {
  DUIZHANG_DATA_DIR=$dz_var RUST_LOG=warn "$bin" tenant create --name "$1" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])'
}
