"""Schemathesis hooks of the REST run (scripts/schemathesis.py, loaded via SCHEMATHESIS_HOOKS).

A client sends a fresh `Idempotency-Key` for each new request and the same key only to retry it.
Schemathesis draws keys from a small space and sends the same example body with the same key in
different scenarios, so a later "create" is answered with the stored response of an earlier one,
whose resource a scenario may have deleted since: correct replay, but not what the scenario means.
Every valid key of a stateful scenario is made unique here; the other phases send each case once,
and editing their headers would make schemathesis re-read which header a coverage case left out.
Replays are tested in tests/api/idempotency.rs.
"""

import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"^[\x21-\x7E]{1,255}$")


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.meta is None or case.meta.phase.name != "stateful":
        return
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str) and VALID_KEY.match(headers[name]):
            headers[name] = f"st-{uuid.uuid4()}"
