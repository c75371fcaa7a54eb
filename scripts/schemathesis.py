#!/usr/bin/env python3
"""Schemathesis against the committed OpenAPI document: the server (DZ_BIN, default the release
build) on a fresh database, a tenant with an admin API key, some rows to find, then
`schemathesis run openapi/openapi.json` with every check but three (see below). Fails on any 5xx,
any undocumented status or content type, any answer that violates its schema, and any
schema-violating request that is accepted.

Then, GraphQL mode against /graphql with the committed schema/schema.graphql (queries and
mutations generated from it, the same credentials), for --graphql-max-time seconds: it fails on any
5xx, any answer that is not a GraphQL JSON object and any error without a stable code or coded
`internal` (scripts/lib/graphql_hooks.py). Both runs must pass and the server log must show no panic.

Usage: scripts/schemathesis.sh [--max-time 120] [--graphql-max-time 60] [--max-examples N] [--seed N]
"""

import argparse
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import dz  # noqa: E402
from dz import log  # noqa: E402

VENV = os.path.join(dz.ROOT, "target", "schemathesis-venv")


def seed(api):
    """A few rows so that reads by id and code can hit something."""
    api.ok("POST", "/customers", {"code": "C1", "name": "Kalomer GmbH", "default_currency": "EUR"})
    api.ok("POST", "/documents", {"doc_type": "invoice", "doc_no": "INV-1", "customer_code": "C1",
                                  "issue_date": "2026-01-05", "due_date": "2026-02-04", "currency": "EUR",
                                  "amount": "100.00"})
    api.ok("POST", "/bank-accounts", {"account_id": "DE89370400440532013000", "currency": "EUR"})


def run_graphql(server, tenant, args, work):
    """GraphQL mode: operations generated from the committed SDL, sent to /graphql."""
    cmd = [os.path.join(VENV, "bin", "schemathesis"), "run", os.path.join(dz.ROOT, "schema", "schema.graphql"),
           "--url", server.base + "/graphql",
           "-H", f"Authorization: Bearer {tenant['api_key']}",
           "--checks", "no_internal_error,response_schema_conformance",
           "--max-time", str(args.graphql_max_time),
           "--workers", args.workers,
           "--request-timeout", "30",
           "--generation-database", "none",
           "--no-color",
           "--report", "junit", "--report-dir", os.path.join(work, "graphql")]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    env = dict(os.environ, SCHEMATHESIS_HOOKS="graphql_hooks",
               PYTHONPATH=os.path.join(dz.ROOT, "scripts", "lib"))
    log("running " + " ".join(c if "Bearer" not in c else "-H 'Authorization: Bearer ...'" for c in cmd))
    return subprocess.run(cmd, env=env).returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-time", type=int, default=120, help="seconds for the whole schemathesis run")
    ap.add_argument("--graphql-max-time", type=int, default=60, help="seconds for the GraphQL run (0: skip it)")
    ap.add_argument("--max-examples", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    # One worker: with two threads, CPython 3.11's ast (which hypothesis uses to describe its
    # strategies) fails now and then with "AST constructor recursion depth mismatch".
    ap.add_argument("--workers", default="1")
    args, extra = ap.parse_known_args()
    work = os.path.join(dz.ROOT, "target", "schemathesis")
    os.makedirs(work, exist_ok=True)
    var = os.path.join(work, "var")
    # A fresh database on the given server, or else (CI) a fresh embedded cluster of the binary.
    db = dz.Database("dz_schemathesis") if dz.postgres_reachable() else None
    if db is None:
        shutil.rmtree(var, ignore_errors=True)
    url = db.url if db else None
    server = dz.Server(url, var, {
        "DUIZHANG_WORKERS": "2",
        "DUIZHANG_CONNECTOR_WORKER": "false",
        "DUIZHANG_WEBHOOK_WORKER": "false",
    }, os.path.join(work, "server.log"))
    try:
        server.start()
        tenant = dz.create_tenant(url, "Schemathesis", var)
        api = dz.Api(server.base, tenant["api_key"])
        seed(api)
        cmd = [os.path.join(VENV, "bin", "schemathesis"), "run", os.path.join(dz.ROOT, "openapi", "openapi.json"),
               "--url", server.base + "/api/v1",
               "-H", f"Authorization: Bearer {tenant['api_key']}",
               "--checks", "all",
               # Not judged, on purpose:
               # - positive_data_acceptance expects a 2xx for every schema-valid input, but business
               #   rules (an existing customer code, a period of 1 to 3660 days, an amount with the
               #   currency's decimals, a comment required to dispute) are not all expressible in
               #   OpenAPI; those inputs get a documented 404/409/422, never a 5xx.
               # - unsupported_method wants 405 for an undeclared method; unknown routes and methods
               #   answer 404 `not_found` (one error answer for "no such route").
               # - use_after_free wants 404 for a resource after its DELETE; DELETE /documents/{id}
               #   cancels the document, which stays readable with status `cancelled` (accounting
               #   records are never erased; reports as of earlier dates still show it).
               "--exclude-checks", "positive_data_acceptance,unsupported_method,use_after_free",
               "--max-time", str(args.max_time),
               "--workers", args.workers,
               "--request-timeout", "30",
               "--generation-database", "none",
               "--no-color",
               "--report", "junit", "--report-dir", work]
        if args.max_examples:
            cmd += ["--max-examples", str(args.max_examples)]
        if args.seed is not None:
            cmd += ["--seed", str(args.seed)]
        cmd += extra
        log("running " + " ".join(c if "Bearer" not in c else "-H 'Authorization: Bearer ...'" for c in cmd))
        env = dict(os.environ, SCHEMATHESIS_HOOKS="rest_hooks", PYTHONPATH=os.path.join(dz.ROOT, "scripts", "lib"))
        code = subprocess.run(cmd, env=env).returncode
        graphql_code = 0
        if args.graphql_max_time > 0:
            graphql_code = run_graphql(server, tenant, args, work)
        server_errors = subprocess.run(["grep", "-c", "panicked", server.log_path], capture_output=True,
                                       text=True).stdout.strip()
        log(f"schemathesis exit codes: REST {code}, GraphQL {graphql_code}; "
            f"panics in the server log: {server_errors or 0}")
        if server_errors not in ("", "0"):
            return 1
        return code or graphql_code
    finally:
        server.stop()
        if db:
            db.drop()


if __name__ == "__main__":
    sys.exit(main())
