#!/usr/bin/env python3
"""A month of a large company through the API (issue 21), timed phase by phase.

Generates the month with the project's generator (`duizhang demo-data`; default 1,000,000 bank
lines: 50,040 customers, about 1.46M documents), starts the release server on a fresh embedded
cluster, loads everything as an ERP and a bank would (customers; the ledger as CSV in
100,000-row requests; bank accounts and rates; the bank file; one reconciliation run, polled to
done), times the reports (aging, collections, overdue ranking, one customer's statement of
account as JSON and PDF) and a statement run for every customer, samples the server's RSS, and
prints one table (phase, seconds, rate, peak RSS).

Usage: scripts/month_bench [--lines 1000000] [--statements 40] [--chunk 100000] [--idle 60]
  --months N           N consecutive months of the same customers (`demo-data --months N`), each
                       loaded and reconciled on top of the ones before, timed month by month: a
                       later month should cost what its own size costs, not what the history costs
  --database-url URL   load into a fresh database on that server instead of an embedded cluster
                       (kept afterwards, for profiling)
  --reuse URL|DIR --api-key KEY [--key-dir DIR]
                       skip generating and loading: time the reports and the statement run on a
                       database loaded before (--database-url ... --keep; --key-dir: the folder
                       it printed, which holds the master key of the tenant's data keys), or on
                       the embedded cluster of a folder kept by --keep
  --keep               keep the embedded cluster's directory / the database and its key folder
"""

import argparse
import calendar
import collections
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import dz  # noqa: E402
from dz import log  # noqa: E402


class RssSampler:
    """Samples VmRSS of one process every 100 ms; `phase` starts a new per-phase peak."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0
        self.phase_peak = 0
        self.last = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def status(self):
        out = {}
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(("VmRSS:", "VmHWM:")):
                        key, value = line.split(":", 1)
                        out[key] = int(value.split()[0]) * 1024
        except OSError:
            pass
        return out

    def run(self):
        while not self.stop.is_set():
            rss = self.status().get("VmRSS", 0)
            self.last = rss
            self.peak = max(self.peak, rss)
            self.phase_peak = max(self.phase_peak, rss)
            time.sleep(0.1)

    def phase(self):
        self.phase_peak = self.last
        return self


class Bench:
    def __init__(self, sampler):
        self.sampler = sampler
        self.rows = []

    def timed(self, name, fn, count=None, unit=""):
        self.sampler.phase()
        t0 = time.perf_counter()
        result = fn()
        secs = time.perf_counter() - t0
        n = count(result) if callable(count) else count
        rate = f"{n / secs:,.0f} {unit}/s" if n else ""
        self.rows.append((name, secs, rate, self.sampler.phase_peak))
        log(f"{name}: {secs:.2f} s {rate}")
        return result

    def table(self):
        out = ["| phase | seconds | rate | peak RSS |", "|---|---:|---:|---:|"]
        for name, secs, rate, peak in self.rows:
            out.append(f"| {name} | {secs:.2f} | {rate} | {peak / 2**20:,.0f} MiB |")
        return "\n".join(out)


def read_rows(path):
    with open(path, "rb") as f:
        header = f.readline()
        return header, f.readlines()


def post_csv(api, path, body):
    r = api.ok("POST", path, body, "text/csv")
    if isinstance(r, dict) and r.get("rejected"):
        raise SystemExit(f"{path}: rejected {r['rejected'][:3]}")
    return r


def poll(api, path, what, interval=0.2, timeout=7200, progress=None):
    deadline = time.time() + timeout
    last_log = 0
    while time.time() < deadline:
        r = api.ok("GET", path)
        if r["status"] in ("completed", "failed"):
            if r["status"] == "failed":
                raise SystemExit(f"{what} failed: {r.get('error')}")
            return r
        if progress and time.time() - last_log > 10:
            log(f"  {what}: {progress(r)}")
            last_log = time.time()
        time.sleep(interval)
    raise SystemExit(f"{what} did not finish")


def load(bench, api, data, chunk, month=1):
    """Loads one month's folder; `month` > 1: on top of the months before (the customers again,
    unchanged; the new documents; the month's bank file; a run over every line still open)."""
    p = f"month {month}: " if month > 1 else ""
    header, customers = read_rows(os.path.join(data, "customers.csv"))
    bench.timed(f"{p}customers import", lambda: post_csv(api, "/customers/import", header + b"".join(customers)),
                len(customers), "customers")
    header, ledger = read_rows(os.path.join(data, "ledger.csv"))

    def ledger_import():
        for i in range(0, len(ledger), chunk):
            t0 = time.perf_counter()
            post_csv(api, "/documents/import", header + b"".join(ledger[i:i + chunk]))
            if i == 0:
                bench.first_chunk = (min(chunk, len(ledger)), time.perf_counter() - t0)

    bench.timed(f"{p}ledger import ({len(ledger):,} documents, {chunk:,}-row requests)", ledger_import,
                len(ledger), "documents")
    n, secs = bench.first_chunk
    bench.rows.append((f"  first request ({n:,} rows)", secs, f"{n / secs:,.0f} documents/s", 0))
    if month == 1:
        bench.timed("the first ledger request again (unchanged)",
                    lambda: post_csv(api, "/documents/import", header + b"".join(ledger[:chunk])),
                    min(chunk, len(ledger)), "documents")

    def accounts():
        for iban, cur in dz.OUR_ACCOUNTS:
            api.ok("POST", "/bank-accounts", {"account_id": iban, "currency": cur})
        api.ok("POST", "/fx-rates", [{"from_currency": c, "to_currency": "EUR", "rate": r, "valid_on": "2026-01-01"}
                                     for c, r in dz.RATES_TO_EUR])

    if month == 1:
        bench.timed("bank accounts and rates", accounts)
    bank_path = os.path.join(data, "bank.csv")
    with open(bank_path, "rb") as f:
        bank = f.read()
    lines = bank.count(b"\n") - 1
    bench.timed(f"{p}bank file ({lines:,} lines, {len(bank) / 1e6:.0f} MB CSV)",
                lambda: api.ok("POST", "/bank-statements?format=csv", bank, "text/csv"), lines, "lines")
    del bank

    def reconcile():
        run = api.ok("POST", "/reconciliations", {})
        return poll(api, f"/reconciliations/{run['id']}", "reconciliation",
                    progress=lambda r: f"{r['lines_processed']}/{r['lines_total']} lines")

    run = bench.timed(f"{p}reconciliation run (request to persisted)", reconcile, lambda r: r["lines_total"], "lines")
    log(f"  auto-applied {run['auto_applied']}, proposed {run['proposed']}, unmatched {run['unmatched']}")
    return ledger


def pick_customer(ledger_rows, target=30):
    """A customer with about `target` documents (the first in code order among the closest)."""
    counts = collections.Counter(row.split(b",", 3)[2] for row in ledger_rows)
    code, _ = min(counts.items(), key=lambda kv: (abs(kv[1] - target), kv[0]))
    return code.decode(), counts[code]


def month_of(ledger_rows):
    """The month the run closes: the latest calendar month of the ledger with at least half an
    average month's documents (the generator's period ends a few days into its last month)."""
    months = collections.Counter(row.split(b",", 4)[3][:7].decode() for row in ledger_rows)
    average = sum(months.values()) / len(months)
    last = max(m for m, n in months.items() if n >= average / 2)
    d = datetime.date.fromisoformat(last + "-01")
    return d, d.replace(day=calendar.monthrange(d.year, d.month)[1])


def reports(bench, api, code, docs, month):
    for i in range(2):
        bench.timed(f"report: aging (JSON) #{i + 1}", lambda: api.ok("GET", "/reports/aging"))
        bench.timed(f"report: collections, 90 days #{i + 1}", lambda: api.ok("GET", "/reports/collections"))
        bench.timed(f"report: overdue ranking, top 20 #{i + 1}",
                    lambda: api.ok("GET", "/reports/overdue-ranking?limit=20"))
    for fmt in ("json", "pdf"):
        for i in range(3):
            bench.timed(f"statement of account {code} ({docs} documents), {fmt.upper()} #{i + 1}",
                        lambda: soa(api, code, fmt))
    frm, to = month
    bench.timed(f"statement of account {code}, {frm:%B %Y}, JSON",
                lambda: soa(api, code, "json", f"&from={frm}&to={to}"))


def soa(api, code, fmt, period=""):
    req = urllib.request.Request(f"{api.base}/customers/{code}/statement-of-account?format={fmt}{period}")
    req.add_header("Authorization", f"Bearer {api.key}")
    with urllib.request.urlopen(req, timeout=600) as r:
        body = r.read()
    if fmt == "pdf" and not body.startswith(b"%PDF"):
        raise SystemExit(f"statement of account {code}: not a PDF")
    return body


def statement_run(bench, api, month):
    frm, to = month

    def go():
        run = api.ok("POST", "/statement-runs", {"period_from": str(frm), "period_to": str(to)})
        return poll(api, f"/statement-runs/{run['id']}", "statement run", interval=0.5,
                    progress=lambda r: f"{r['customers_done']}/{r['customers_total']} customers")

    bench.timed(f"statement run {frm:%B %Y}, all customers", go, lambda r: r["customers_total"], "statements")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000, help="bank lines (customers: one per 20 lines)")
    ap.add_argument("--statements", type=int, default=40, help="customers who send their own statements")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--months", type=int, default=1, help="consecutive months, each loaded on the ones before")
    ap.add_argument("--chunk", type=int, default=100_000, help="ledger rows per request")
    ap.add_argument("--idle", type=int, default=60, help="seconds to wait idle at the end before the last RSS")
    ap.add_argument("--database-url", help="a PostgreSQL server to load into (a fresh database) instead of "
                                           "an embedded cluster")
    ap.add_argument("--reuse", metavar="URL|DIR",
                    help="a loaded database or kept cluster folder: time reports and the statement run only")
    ap.add_argument("--api-key", help="with --reuse: the tenant's API key")
    ap.add_argument("--key-dir", help="with --reuse URL: the key folder printed when the database was kept")
    ap.add_argument("--skip-run", action="store_true", help="no statement run")
    ap.add_argument("--keep", action="store_true", help="keep the cluster directory / database")
    args = ap.parse_args()
    if args.reuse and not args.api_key:
        ap.error("--reuse needs --api-key")
    if not os.path.exists(dz.BIN):
        raise SystemExit(f"{dz.BIN} missing: build the release binary first (scripts/month_bench does)")

    work = os.path.join(dz.ROOT, "target", "month_bench")
    os.makedirs(work, exist_ok=True)
    suffix = f"-m{args.months}" if args.months > 1 else ""
    data = os.path.join(work, f"data-{args.lines}-{args.statements}-{args.seed}{suffix}")
    folders = [os.path.join(data, f"month{m}") for m in range(1, args.months + 1)] if args.months > 1 else [data]
    rows = []
    t_gen = 0.0
    if not os.path.exists(os.path.join(folders[-1], "bank.csv")):
        log(f"generating {args.lines:,} lines into {data}")
        t0 = time.perf_counter()
        subprocess.run([dz.BIN, "demo-data", "--lines", str(args.lines), "--statements", str(args.statements),
                        "--seed", str(args.seed), "--months", str(args.months), "--out", data],
                       check=True, stdout=subprocess.DEVNULL)
        t_gen = time.perf_counter() - t0
        what = "the month" if args.months == 1 else f"{args.months} months"
        rows.append((f"generate {what} (demo-data)", t_gen, "", 0))

    db = None
    reuse_dir = args.reuse and os.path.isdir(args.reuse)
    if reuse_dir:
        data_dir = args.reuse
    elif args.reuse and args.key_dir:
        data_dir = args.key_dir
    else:
        data_dir = tempfile.mkdtemp(prefix="cluster-", dir=work)
        # The embedded server runs as an unprivileged user (when we are root): it must be able
        # to enter the folder, or the cluster goes to a fallback folder under /tmp.
        os.chmod(data_dir, 0o755)
    if reuse_dir:
        db_url = None
    elif args.reuse:
        db_url = args.reuse
    elif args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        db = dz.Database("month_bench")
        db_url = db.url
    else:
        db_url = None  # the embedded cluster in data_dir
    server = dz.Server(db_url, data_dir, {"DUIZHANG_CONNECTOR_WORKER": "false"},
                       os.path.join(work, "server.log"))
    t_total = time.perf_counter()
    try:
        if args.reuse:
            key = args.api_key
        else:
            # Created before the server starts: it initialises (and stops) the embedded cluster.
            key = dz.create_tenant(db_url, "Month bench", data_dir)["api_key"]
        server.start()
        sampler = RssSampler(server.proc.pid)
        bench = Bench(sampler)
        bench.rows.extend(rows)
        api = dz.Api(server.base, key)
        _, ledger = read_rows(os.path.join(folders[0], "ledger.csv"))
        if not args.reuse:
            for m, folder in enumerate(folders, start=1):
                t0 = time.perf_counter()
                load(bench, api, folder, args.chunk, m)
                what = "whole month loaded" if m == 1 else f"month {m}: loaded"
                bench.rows.append((f"{what} (customers to reconciled)", time.perf_counter() - t0, "", sampler.peak))
        code, docs = pick_customer(ledger)
        month = month_of(read_rows(os.path.join(folders[-1], "ledger.csv"))[1] if len(folders) > 1 else ledger)
        del ledger
        reports(bench, api, code, docs, month)
        if not args.skip_run:
            statement_run(bench, api, month)
        total = time.perf_counter() - t_total
        bench.rows.append(("everything (server start to last statement)", total, "", sampler.peak))
        if args.idle:
            log(f"idle {args.idle} s")
            time.sleep(args.idle)
        status = sampler.status()
        bench.rows.append((f"idle {args.idle} s afterwards: RSS (VmHWM {status.get('VmHWM', 0) / 2**20:,.0f} MiB)",
                           0.0, "", status.get("VmRSS", 0)))
        sampler.stop.set()
    finally:
        server.stop()
        if db and not args.keep:
            db.drop()
        elif db:
            # The tenant's data keys are wrapped by the master key in the server's data folder:
            # without it the kept database cannot be read again.
            log(f"kept database {db.url} (API key {key}) and its key folder {data_dir}")
        if args.keep and not (args.reuse or db):
            log(f"kept the cluster in {data_dir} (API key {key})")
        elif not (reuse_dir or args.key_dir or (db and args.keep)):
            shutil.rmtree(data_dir, ignore_errors=True)
    print()
    print(f"{time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores, "
          f"{'database ' + db_url.rsplit('@', 1)[-1] if db_url else 'embedded PostgreSQL'}, "
          f"scripts/month_bench {' '.join('KEY' if a == args.api_key else a for a in sys.argv[1:])}")
    print()
    print(bench.table())
    with open(os.path.join(dz.ROOT, "target", "bench-month.md"), "w") as f:
        f.write(bench.table() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
