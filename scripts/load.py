#!/usr/bin/env python3
"""Load test of the release server with wrk on loopback: reads (document by id, customer
balance, list page) and writes (document create with an Idempotency-Key, small bank statement
imports) against a seeded database. Writes target/bench-load.md.

Usage: scripts/load.sh [--lines 20000] [--connections 32] [--duration 15] [--processes 1]
With --processes N, N servers share the database and N wrk instances run at once, each with
1/N of the connections against one server (what a round-robin balancer does); the table sums
their requests and takes the worst p50/p99.
DATABASE_URL names the PostgreSQL server (default postgres://postgres@127.0.0.1:5432); a fresh
database is created on it and dropped afterwards (DZ_KEEP_DB=1 keeps it).
"""

import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import dz  # noqa: E402
from dz import log  # noqa: E402

LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "load")
# name, kind, script, targets (req/s, p99 ms or None)
SCENARIOS = [
    ("GET /documents/{id}", "read", "get_document.lua", (5000, 20.0)),
    ("GET /customers/{code}/balance", "read", "get_balance.lua", (5000, 20.0)),
    ("GET /documents?customer=&limit=50", "read", "list_documents.lua", (5000, 20.0)),
    ("POST /documents (Idempotency-Key)", "write", "post_document.lua", (1000, None)),
    ("POST /bank-statements (5-line CSV)", "write", "post_statement.lua", (1000, None)),
]


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = {}
    for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M):
        pct[int(p)] = to_ms(v, u)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": pct.get(50), "p99": pct.get(99), "requests": total,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else ""}


def wrk_all(bases, script, args, connections, duration):
    """One wrk per server at once, the connections split between them; their figures combined."""
    share = max(1, connections // len(bases))
    cmds = [["wrk", "-t", "1" if len(bases) > 1 else "2", "-c", str(share), "-d", f"{duration}s", "--latency",
             "-s", os.path.join(LUA, script), base, "--"] + args for base in bases]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
    outs = [p.communicate()[0] for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit("wrk failed")
    parts = [parse_wrk(o) for o in outs]
    return {"rps": sum(r["rps"] for r in parts), "p50": max(r["p50"] for r in parts),
            "p99": max(r["p99"] for r in parts), "requests": sum(r["requests"] for r in parts),
            "non2xx": sum(r["non2xx"] for r in parts),
            "socket_errors": "; ".join(r["socket_errors"] for r in parts if r["socket_errors"])}


def settle(db, timeout=120):
    """Measures the steady state, not the aftermath of seeding: waits until the audit sealer has
    chained every entry the seeding wrote (it works in the background and would compete for the
    two cores with the first scenario), then vacuums and analyses so autovacuum does not start
    on the freshly loaded tables in the middle of a measurement."""
    deadline = time.time() + timeout
    while int(db.scalar("SELECT count(*) FROM audit_pending")) > 0 and time.time() < deadline:
        time.sleep(0.5)
    db.query("VACUUM ANALYZE")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=20_000, help="generated bank lines (sizes the ledger)")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--duration", type=int, default=15, help="seconds measured per scenario")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--only", help="run only scenarios whose name contains this")
    ap.add_argument("--processes", type=int, default=1, help="servers sharing the database")
    ap.add_argument("--label", default="", help="a note for the report (e.g. before/after a change)")
    args = ap.parse_args()
    work = os.path.join(dz.ROOT, "target", "load")
    os.makedirs(work, exist_ok=True)
    data = dz.generate(args.lines, os.path.join(work, f"data-{args.lines}"))
    db = dz.Database("dz_load")
    workers = os.environ.get("DUIZHANG_WORKERS", str(os.cpu_count() or 2))
    servers = [dz.Server(db.url, os.path.join(work, "var"), {
        "DUIZHANG_WORKERS": workers,
        "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
        "DUIZHANG_CONNECTOR_WORKER": "false",
    }, os.path.join(work, f"server{i}.log")) for i in range(args.processes)]
    server = servers[0]
    results = []
    try:
        for s in servers:
            s.start()
        tenant = dz.create_tenant(db.url, "Load test")
        key = tenant["api_key"]
        api = dz.Api(server.base, key)
        log("seeding")
        dz.load_master_data(api, data)
        with open(os.path.join(data, "bank.csv"), "rb") as f:
            api.ok("POST", "/bank-statements?format=csv", f.read(), "text/csv")
        settle(db)
        docs = [r[0] for r in db.query("SELECT id FROM documents ORDER BY random() LIMIT 5000")]
        codes = [r[0] for r in db.query("SELECT code FROM customers ORDER BY code")]
        counts = db.query("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM customers), "
                          "(SELECT count(*) FROM bank_lines)")[0]
        ids_file, codes_file = os.path.join(work, "doc_ids.txt"), os.path.join(work, "codes.txt")
        with open(ids_file, "w") as f:
            f.write("\n".join(docs) + "\n")
        with open(codes_file, "w") as f:
            f.write("\n".join(codes) + "\n")
        def argv(script, nonce):
            # The nonce keeps document numbers, keys and bank references unique per wrk run.
            return {
                "get_document.lua": [key, ids_file],
                "get_balance.lua": [key, codes_file],
                "list_documents.lua": [key, codes_file],
                "post_document.lua": [key, codes_file, nonce],
                "post_statement.lua": [key, dz.OUR_ACCOUNTS[0][0], nonce],
            }[script]
        for name, kind, script, targets in SCENARIOS:
            if args.only and args.only not in name:
                continue
            settle(db)  # also between scenarios: a write scenario leaves the sealer a backlog
            log(f"{name}: warm-up {args.warmup} s, then {args.duration} s at {args.connections} connections")
            bases = [s.base for s in servers]
            wrk_all(bases, script, argv(script, f"w{int(time.time())}"), args.connections, args.warmup)
            r = wrk_all(bases, script, argv(script, f"m{int(time.time())}"), args.connections, args.duration)
            r.update(name=name, kind=kind, targets=targets)
            log(f"  {r['rps']:.0f} req/s, p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, non-2xx {r['non2xx']}")
            results.append(r)
    finally:
        for s in servers:
            s.stop()
        db.drop()
    lines = [
        f"# Load test {args.label}".rstrip(), "",
        f"{time.strftime('%Y-%m-%d %H:%M')} UTC; release build, {args.processes} process(es) with {workers} HTTP workers each, wrk with 2 threads and "
        f"{args.connections} connections on the same {os.cpu_count()} cores, loopback; PostgreSQL at "
        f"{db.url.rsplit('@', 1)[-1].rsplit('/', 1)[0]}; {counts[0]} documents, {counts[1]} customers, "
        f"{counts[2]} bank lines; {args.duration} s per scenario after {args.warmup} s warm-up.", "",
        "| scenario | req/s | p50 ms | p99 ms | requests | non-2xx | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    all_met = True
    for r in results:
        min_rps, max_p99 = r["targets"]
        met = r["rps"] >= min_rps and (max_p99 is None or r["p99"] < max_p99) and r["non2xx"] == 0
        all_met &= met
        target = f">= {min_rps} req/s" + (f", p99 < {max_p99:.0f} ms" if max_p99 else "")
        lines.append(f"| {r['name']} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['requests']} | "
                     f"{r['non2xx']} | {target} | {'yes' if met else '**no**'} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(dz.ROOT, "target", "bench-load.md"), "w") as f:
        f.write(text)
    print(text)
    return 0 if all(r["non2xx"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
