#!/usr/bin/env python3
"""A streaming standby's lag while the API imports a ledger and a bank file (docs/scaling.md).

Makes its own primary (initdb, with the same PostgreSQL server binaries the embedded cluster
uses) and a hot standby of it (`pg_basebackup -R -X stream`), starts the release server with
DATABASE_URL on the primary and DATABASE_READ_URL on the standby, loads the project generator's
data through HTTP (customers, the ledger as CSV in chunks, bank accounts, the bank file), and
samples the primary's `pg_stat_replication` every 100 ms: bytes not yet replayed and
`replay_lag`. Prints one table and writes target/bench-replica-lag.md.

Usage: scripts/replica_lag.sh [--lines 100000] [--chunk 50000]
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import dz  # noqa: E402
from dz import log  # noqa: E402


def pg_bin(name):
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise SystemExit(f"{name} not found: install the PostgreSQL server package")
    return found


def as_server_user(cmd):
    """PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user."""
    return (["runuser", "-u", "postgres", "--"] + cmd) if os.geteuid() == 0 else cmd


class Cluster:
    def __init__(self, path, port):
        self.path, self.port = path, port
        self.url = f"postgres://postgres@127.0.0.1:{port}"

    def start(self):
        subprocess.run(as_server_user([pg_bin("pg_ctl"), "-D", self.path, "-l", self.path + ".log", "-w", "-o",
                                       f"-p {self.port} -c listen_addresses=127.0.0.1 -k {os.path.dirname(self.path)}", "start"]),
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        subprocess.run(as_server_user([pg_bin("pg_ctl"), "-D", self.path, "-m", "fast", "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sql(self, sql, db="postgres"):
        out = subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", f"{self.url}/{db}", "-c", sql],
                             check=True, capture_output=True, text=True).stdout
        return [line.split("|") for line in out.strip().splitlines() if line]


def make_pair(work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    if os.geteuid() == 0:
        shutil.chown(work, "postgres", "postgres")
    primary = Cluster(os.path.join(work, "primary"), dz.free_port())
    subprocess.run(as_server_user([pg_bin("initdb"), "-D", primary.path, "-U", "postgres", "--auth=trust",
                                   "-E", "UTF8", "--locale=C"]), check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(primary.path, "postgresql.conf"), "a") as f:
        f.write("wal_level = replica\nmax_wal_senders = 4\nshared_buffers = 256MB\n")
    # pg_ctl -l writes the log beside the data directory, which the server user must own.
    for name in ("primary.log", "standby.log"):
        open(os.path.join(work, name), "a").close()
        if os.geteuid() == 0:
            shutil.chown(os.path.join(work, name), "postgres", "postgres")
    primary.start()
    standby = Cluster(os.path.join(work, "standby"), dz.free_port())
    subprocess.run(as_server_user([pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                                   "-U", "postgres", "-D", standby.path, "-R", "-X", "stream"]), check=True)
    standby.start()
    return primary, standby


class Sampler(threading.Thread):
    """The standby's distance behind the primary, every 100 ms."""

    def __init__(self, primary):
        super().__init__(daemon=True)
        self.primary, self.samples, self.stop = primary, [], threading.Event()

    def run(self):
        sql = ("SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0), "
               "coalesce(extract(epoch FROM replay_lag), 0) FROM pg_stat_replication")
        while not self.stop.is_set():
            rows = self.primary.sql(sql)
            if rows:
                self.samples.append((time.time(), float(rows[0][0]), float(rows[0][1])))
            time.sleep(0.1)


def summary(samples, since, until):
    part = [s for s in samples if since <= s[0] <= until]
    lag_bytes = sorted(s[1] for s in part)
    lag_seconds = sorted(s[2] for s in part)
    return (dz.percentile(lag_bytes, 95), max(lag_bytes, default=0), dz.percentile(lag_seconds, 95),
            max(lag_seconds, default=0))


def load(api, data, chunk, phase):
    with open(os.path.join(data, "customers.csv"), "rb") as f:
        phase("customers", lambda: api.ok("POST", "/customers/import", f.read(), "text/csv"))
    with open(os.path.join(data, "ledger.csv"), "rb") as f:
        header, rows = f.readline(), f.readlines()
    chunks = [header + b"".join(rows[i:i + chunk]) for i in range(0, len(rows), chunk)]
    phase(f"ledger ({len(rows)} documents)", lambda: [api.ok("POST", "/documents/import", c, "text/csv")
                                                       for c in chunks])
    for iban, cur in dz.OUR_ACCOUNTS:
        api.ok("POST", "/bank-accounts", {"account_id": iban, "currency": cur})
    with open(os.path.join(data, "bank.csv"), "rb") as f:
        body = f.read()
    phase("bank file", lambda: api.ok("POST", "/bank-statements?format=csv", body, "text/csv"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--chunk", type=int, default=50_000)
    args = ap.parse_args()
    work = os.path.join(dz.ROOT, "target", "replica-lag")
    data = dz.generate(args.lines, os.path.join(dz.ROOT, "target", "load", f"data-{args.lines}"))
    primary, standby = make_pair(os.path.join(work, "pg"))
    server, sampler, phases = None, Sampler(primary), []
    try:
        primary.sql("CREATE DATABASE duizhang")
        server = dz.Server(f"{primary.url}/duizhang", os.path.join(work, "var"),
                           {"DATABASE_READ_URL": f"{standby.url}/duizhang", "DUIZHANG_CONNECTOR_WORKER": "false"},
                           os.path.join(work, "server.log")).start()
        api = dz.Api(server.base, dz.create_tenant(f"{primary.url}/duizhang", "Replica lag")["api_key"])
        sampler.start()

        def phase(name, work_fn):
            t0 = time.time()
            work_fn()
            t1 = time.time()
            phases.append((name, t0, t1))
            log(f"{name}: {t1 - t0:.1f} s")

        load(api, data, args.chunk, phase)
        time.sleep(1)
    finally:
        sampler.stop.set()
        if server:
            server.stop()
        standby.stop()
        primary.stop()
    lines = [
        "# Replica lag under import", "",
        f"{time.strftime('%Y-%m-%d %H:%M')} UTC; release build; primary and hot standby on the same "
        f"{os.cpu_count()} cores (streaming replication, loopback); `scripts/replica_lag.sh --lines {args.lines} "
        f"--chunk {args.chunk}`; {len(sampler.samples)} samples at 100 ms.", "",
        "| phase | seconds | lag p95 (kB) | lag max (kB) | replay_lag p95 (s) | replay_lag max (s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, t0, t1 in phases:
        b95, bmax, s95, smax = summary(sampler.samples, t0, t1)
        lines.append(f"| {name} | {t1 - t0:.1f} | {b95 / 1024:.0f} | {bmax / 1024:.0f} | {s95:.2f} | {smax:.2f} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(dz.ROOT, "target", "bench-replica-lag.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
