#!/usr/bin/env python3
"""kill -9 the release server during a 100k-line bank import, during a matching run and while
webhooks are in flight; after each restart check that nothing is half there, that the work
resumes, that no webhook is lost, and end with `duizhang check-integrity`.

Usage: scripts/fault_kill.sh [--lines 100000]   (report: target/fault-kill.md)
DATABASE_URL names the PostgreSQL server to use (default postgres://postgres@127.0.0.1:5432);
a fresh database is created on it and dropped afterwards (DZ_KEEP_DB=1 keeps it).
"""

import argparse
import concurrent.futures
import http.server
import os
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import dz  # noqa: E402
from dz import log  # noqa: E402

FAILURES = []
REPORT = []


def check(cond, what):
    REPORT.append(f"- {'PASS' if cond else 'FAIL'}: {what}")
    log(("PASS " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


class Receiver:
    """A tiny webhook receiver: records every webhook-id it gets, answers 200 a little slowly so
    that deliveries are in flight when the server dies."""

    def __init__(self, delay):
        self.ids = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                self.rfile.read(length)
                time.sleep(delay)
                with receiver.lock:
                    receiver.ids.append(self.headers.get("webhook-id"))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def received(self):
        with self.lock:
            return list(self.ids)


def wait_until(pred, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    return pred()


def active_query_like(db, pattern):
    return int(db.scalar(
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
        f"AND pid <> pg_backend_pid() AND query ILIKE '{pattern}'") or 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--confirms", type=int, default=300, help="proposals confirmed to make webhook events")
    args = ap.parse_args()
    work = os.path.join(dz.ROOT, "target", "fault")
    os.makedirs(work, exist_ok=True)
    data = dz.generate(args.lines, os.path.join(work, f"data-{args.lines}"))
    db = dz.Database("dz_fault")
    env = {
        # Quick webhook recovery: a delivery claimed by the killed process is due again after
        # the lease (10 s instead of 60 s), failed attempts are retried after a second.
        "DUIZHANG_WEBHOOK_POLL_MS": "200",
        "DUIZHANG_WEBHOOK_TIMEOUT_MS": "5000",
        "DUIZHANG_WEBHOOK_LEASE_MS": "10000",
        "DUIZHANG_WEBHOOK_RETRY_SCHEDULE": "1s,1s,2s,5s,10s",
        "DUIZHANG_CONNECTOR_WORKER": "false",
    }
    server = dz.Server(db.url, os.path.join(work, "var"), env, os.path.join(work, "server.log"))
    started = time.time()
    try:
        server.start()
        tenant = dz.create_tenant(db.url, "Fault test")
        api = dz.Api(server.base, tenant["api_key"])
        # 0.5 s per answer with 16 requests in flight: a few hundred events take seconds to send.
        receiver = Receiver(delay=0.5)
        api.ok("PUT", "/webhook-settings", {"allow_private_targets": True})
        api.ok("POST", "/webhook-endpoints", {"url": f"http://127.0.0.1:{receiver.port}/hook"})
        log("loading customers and ledger")
        dz.load_master_data(api, data)
        with open(os.path.join(data, "bank.csv"), "rb") as f:
            bank_csv = f.read()
        expected_lines = bank_csv.count(b"\n") - 1
        REPORT.append(f"Bank file: {expected_lines} lines, {len(bank_csv) / 1e6:.1f} MB; "
                      f"documents: {db.scalar('SELECT count(*) FROM documents')}.\n")

        # ---- 1. kill -9 during the import -------------------------------------------------
        key = str(uuid.uuid4())
        result = {}

        def send_import():
            result["answer"] = api.call("POST", "/bank-statements?format=csv", bank_csv, "text/csv",
                                        {"Idempotency-Key": key})

        t = threading.Thread(target=send_import, daemon=True)
        t0 = time.time()
        t.start()
        # Wait until the server is writing lines (the staging COPY / INSERT of the import).
        seen = wait_until(lambda: active_query_like(db, "%bank_line%"), 60, 0.02)
        time.sleep(0.3)
        server.kill9()
        killed_after = time.time() - t0
        t.join(30)
        lines_after_kill = int(db.scalar("SELECT count(*) FROM bank_lines"))
        statements_after_kill = int(db.scalar("SELECT count(*) FROM bank_statements"))
        log(f"killed {killed_after:.2f} s into the import (writing seen: {bool(seen)}); "
            f"lines present: {lines_after_kill}")
        check(bool(seen), f"the kill hit the import while it was writing lines ({killed_after:.2f} s in)")
        check(lines_after_kill in (0, expected_lines) and statements_after_kill in (0, 1)
              and (lines_after_kill == 0) == (statements_after_kill == 0),
              f"after kill -9 the import is all or nothing: {lines_after_kill} lines, "
              f"{statements_after_kill} import rows")
        server.start()
        status, headers, answer = api.call("POST", "/bank-statements?format=csv", bank_csv, "text/csv",
                                           {"Idempotency-Key": key})
        check(status == 201 and answer.get("lines_imported") == expected_lines - lines_after_kill,
              f"re-sending with the same Idempotency-Key imports the file once: {status}, "
              f"{answer.get('lines_imported') if isinstance(answer, dict) else answer} lines")
        status2, headers2, answer2 = api.call("POST", "/bank-statements?format=csv", bank_csv, "text/csv",
                                              {"Idempotency-Key": key})
        replayed = {k.lower(): v for k, v in headers2.items()}.get("idempotent-replayed")
        check(status2 == 201 and replayed == "true" and answer2 == answer,
              "a third send with that key replays the stored answer (Idempotent-Replayed: true)")
        status3, _, answer3 = api.call("POST", "/bank-statements?format=csv", bank_csv, "text/csv")
        check(status3 == 201 and answer3.get("lines_imported") == 0
              and answer3.get("duplicates_skipped") == expected_lines,
              f"the same file under a new key adds nothing ({answer3.get('duplicates_skipped')} duplicates)")
        check(int(db.scalar("SELECT count(*) FROM bank_lines")) == expected_lines,
              f"{expected_lines} lines in the database after the retries")

        # ---- 2. kill -9 during a matching run ---------------------------------------------
        run = api.ok("POST", "/reconciliations", {})
        run_id = run["id"]
        running = wait_until(lambda: db.scalar(f"SELECT status FROM reconciliation_runs WHERE id = '{run_id}'")
                             == "running", 60, 0.02)
        # Let it load the open book and start matching / copying allocations.
        wait_until(lambda: active_query_like(db, "%allocations%"), 30, 0.02)
        time.sleep(0.5)
        server.kill9()
        state = db.query(f"SELECT status, lines_processed FROM reconciliation_runs WHERE id = '{run_id}'")[0]
        allocations_after_kill = int(db.scalar("SELECT count(*) FROM allocations"))
        applied_lines = int(db.scalar("SELECT count(*) FROM bank_lines WHERE applied_amount <> 0"))
        log(f"killed the run: status {state[0]}, {allocations_after_kill} allocations, {applied_lines} lines applied")
        check(bool(running) and state[0] == "running", f"the kill hit the run while it was running ({state})")
        check(allocations_after_kill == 0 and applied_lines == 0,
              f"nothing of the killed run is applied ({allocations_after_kill} allocations, "
              f"{applied_lines} lines with an applied amount)")
        t_restart = time.time()
        server.start()
        wait_until(lambda: db.scalar(f"SELECT status FROM reconciliation_runs WHERE id = '{run_id}'")
                          in ("completed", "failed"), 300, 0.2)
        run = api.ok("GET", f"/reconciliations/{run_id}")
        recovered_in = time.time() - t_restart
        check(run["status"] == "completed",
              f"the run was taken over after the restart and completed in {recovered_in:.1f} s "
              f"(status {run['status']}, {run['auto_applied']} auto-applied, {run['proposed']} proposed)")
        attempts = int(db.scalar(f"SELECT attempts FROM reconciliation_runs WHERE id = '{run_id}'"))
        check(attempts == 2, f"it ran twice in all (attempts = {attempts})")
        integrity = subprocess.run([dz.BIN, "check-integrity"], env=dz.server_env(db.url, 0, "/tmp"),
                                   capture_output=True, text=True)
        check(integrity.returncode == 0, "check-integrity after the run's recovery")

        # ---- 3. kill -9 with webhooks in flight -------------------------------------------
        proposals = []
        cursor = None
        while len(proposals) < args.confirms:
            q = "/allocations?state=proposed&limit=500" + (f"&cursor={cursor}" if cursor else "")
            page = api.ok("GET", q)
            proposals += [a for a in page["items"] if a["candidate_set"] == 0]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        by_line = {}
        for a in proposals:
            by_line.setdefault(a["bank_line_id"], a)
        chosen = list(by_line.values())[: args.confirms]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda a: api.call("POST", f"/allocations/{a['id']}/confirm")[0], chosen))
        confirmed = sum(1 for c in codes if c == 200)
        log(f"confirmed {confirmed} of {len(chosen)} proposals ({set(codes)})")
        wait_until(lambda: len(receiver.received()) > 20, 30, 0.05)
        before_kill = len(set(receiver.received()))
        server.kill9()
        events = {row[0] for row in db.query("SELECT id FROM outbox_events")}
        pending = int(db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"))
        log(f"killed with {len(events)} events, {before_kill} received, {pending} deliveries pending")
        check(pending > 0 and before_kill < len(events),
              f"the kill hit while deliveries were in flight ({before_kill} of {len(events)} events received, "
              f"{pending} deliveries pending)")
        t_restart = time.time()
        server.start()
        all_in = wait_until(lambda: events <= set(receiver.received()), 120, 0.5)
        got = receiver.received()
        duplicates = len(got) - len(set(got))
        check(bool(all_in), f"every event reached the receiver after the restart ({len(events & set(got))} of "
                            f"{len(events)} in {time.time() - t_restart:.1f} s; {duplicates} sent twice: "
                            f"at least once, deduplicate on webhook-id)")

        # ---- 4. integrity at the end --------------------------------------------------------
        server.stop()
        integrity = subprocess.run([dz.BIN, "check-integrity"], env=dz.server_env(db.url, 0, "/tmp"),
                                   capture_output=True, text=True)
        check(integrity.returncode == 0, "check-integrity at the end: every invariant holds")
        if integrity.returncode != 0:
            print(integrity.stdout)
    finally:
        server.stop()
        db.drop()
    summary = "PASSED" if not FAILURES else f"FAILED ({len(FAILURES)})"
    text = (f"# Fault test (kill -9)\n\n{time.strftime('%Y-%m-%d %H:%M')} UTC, {args.lines} generated lines, "
            f"{time.time() - started:.0f} s in all: **{summary}**\n\n" + "\n".join(REPORT) + "\n")
    with open(os.path.join(dz.ROOT, "target", "fault-kill.md"), "w") as f:
        f.write(text)
    print(text)
    return 0 if not FAILURES else 1


if __name__ == "__main__":
    sys.exit(main())
