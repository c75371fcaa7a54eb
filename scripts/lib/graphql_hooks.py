"""Schemathesis hooks of the GraphQL run (scripts/schemathesis.py, loaded via SCHEMATHESIS_HOOKS).

- Strategies for the schema's custom scalars schemathesis does not know (UUID and DateTime it does).
- `no_internal_error`: the check of this run. Schemathesis' own `not_a_server_error` reads any error
  with a `path` as a server failure unless its code is one of Apollo's upper-case ones, but resolver
  refusals here (not_found, forbidden, validation_failed) carry the service's own codes. A failure is
  a 5xx, a body that is not a GraphQL JSON object, or an error without a code or coded `internal`.
"""

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

schemathesis.graphql.scalar("NaiveDate", st.dates().map(str).map(nodes.String))
schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.text(max_size=30).map(nodes.String),
        st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
        st.booleans().map(nodes.Boolean),
    ),
)


@schemathesis.check
def no_internal_error(ctx, response, case):
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:500]}")
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"not JSON: {response.text[:500]}")
    if not isinstance(body, dict) or not ("data" in body or "errors" in body):
        raise AssertionError(f"not a GraphQL response: {response.text[:500]}")
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if not isinstance(code, str) or code == "internal":
            raise AssertionError(f"error without a stable code or internal: {error}")
