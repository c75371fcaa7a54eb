"""Shared helpers of the hardening scripts (stdlib only): a database for the run, the release
server as a child process, tenant creation, small HTTP calls."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# DZ_BIN: another build of the binary (the schemathesis run in CI uses the debug one).
BIN = os.environ.get("DZ_BIN") or os.path.join(ROOT, "target", "release", "duizhang")
OUR_ACCOUNTS = [
    ("DE89370400440532013000", "EUR"),
    ("GB29NWBK60161331926819", "GBP"),
    ("DE44500105175407324931", "USD"),
    ("CN5810000000000123456789", "CNY"),
    ("GB33BUKB20201555555555", "JPY"),
]
RATES_TO_EUR = [("USD", "0.92"), ("CNY", "0.128"), ("JPY", "0.0061"), ("GBP", "1.17")]


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def postgres_reachable():
    """Is a PostgreSQL server given (DATABASE_URL) or listening on the default local port?"""
    if os.environ.get("DZ_EMBEDDED"):
        return False
    if os.environ.get("DATABASE_URL"):
        return True
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


class Database:
    """A fresh database on the server of $DATABASE_URL (default: the local PostgreSQL at
    127.0.0.1:5432 as user postgres), dropped at the end unless DZ_KEEP_DB is set."""

    def __init__(self, prefix):
        server = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
        base, _, _ = server.rpartition("/")
        self.admin = base + "/postgres"
        self.name = f"{prefix}_{os.getpid()}_{int(time.time())}"
        self.url = f"{base}/{self.name}"
        self.psql_admin(f"CREATE DATABASE {self.name}")

    def psql_admin(self, sql):
        subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", self.admin, "-c", sql], check=True,
                       stdout=subprocess.DEVNULL)

    def query(self, sql):
        out = subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", self.url, "-c", sql], check=True,
                             capture_output=True, text=True).stdout
        return [line.split("|") for line in out.strip().splitlines() if line]

    def scalar(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def drop(self):
        if os.environ.get("DZ_KEEP_DB"):
            log(f"kept database {self.url}")
            return
        try:
            self.psql_admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except subprocess.CalledProcessError:
            pass


def server_env(db_url, port, data_dir, extra=None):
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    if db_url:
        env["DATABASE_URL"] = db_url
    env.update({
        "DUIZHANG_PORT": str(port),
        "DUIZHANG_DATA_DIR": data_dir,
        "DUIZHANG_JWT_SECRET": "hardening-scripts-secret-0123456789abcdef",
        "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
        # Another change may add a rate limiter: the tools measure the service, not the limiter.
        "DUIZHANG_RATE_LIMIT_PER_SECOND": "0",
    })
    env.update(extra or {})
    return env


class Server:
    """The release binary serving on a free port; `kill9` is the fault, `stop` the clean end."""

    def __init__(self, db_url, data_dir, extra_env=None, log_path=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = server_env(db_url, self.port, data_dir, extra_env)
        self.log_path = log_path
        self.proc = None

    def start(self, timeout=120):
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen([BIN, "serve"], env=self.env, stdout=out, stderr=out)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode} (log: {self.log_path})")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("server did not become ready")

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def create_tenant(db_url, name, data_dir="/tmp"):
    """`duizhang tenant create`; with db_url None it reuses the embedded cluster in data_dir."""
    out = subprocess.run([BIN, "tenant", "create", "--name", name], env=server_env(db_url, 0, data_dir),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


class Api:
    def __init__(self, base, key):
        self.base = base + "/api/v1"
        self.key = key

    def call(self, method, path, body=None, content_type="application/json", headers=None, timeout=600):
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.key}")
        if data is not None:
            req.add_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, dict(r.headers), (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, dict(e.headers), json.loads(raw)
            except ValueError:
                return e.code, dict(e.headers), raw.decode(errors="replace")

    def ok(self, method, path, body=None, content_type="application/json", headers=None, expect=(200, 201, 202)):
        status, _, answer = self.call(method, path, body, content_type, headers)
        if status not in expect:
            raise SystemExit(f"{method} {path}: {status} {answer}")
        return answer


def generate(lines, out_dir, seed=42):
    """The project generator's folder (`duizhang demo-data`) for `lines` bank lines (reused when
    already there)."""
    if not os.path.exists(os.path.join(out_dir, "bank.csv")):
        log(f"generating {lines} lines into {out_dir}")
        subprocess.run([BIN, "demo-data", "--lines", str(lines), "--statements", "2", "--seed", str(seed),
                        "--out", out_dir], check=True, stdout=subprocess.DEVNULL)
    return out_dir


def load_master_data(api, data_dir):
    """Customers, ledger, the generator's bank accounts and FX rates, through the API."""
    for name, path in (("customers", "/customers/import"), ("documents", "/documents/import")):
        with open(os.path.join(data_dir, "customers.csv" if name == "customers" else "ledger.csv"), "rb") as f:
            r = api.ok("POST", path, f.read(), "text/csv")
        if r.get("rejected"):
            raise SystemExit(f"{name} rejected: {r['rejected'][:3]}")
    for iban, cur in OUR_ACCOUNTS:
        api.ok("POST", "/bank-accounts", {"account_id": iban, "currency": cur})
    api.ok("POST", "/fx-rates", [{"from_currency": c, "to_currency": "EUR", "rate": r, "valid_on": "2026-01-01"}
                                 for c, r in RATES_TO_EUR])


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]
