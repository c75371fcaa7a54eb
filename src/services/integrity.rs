//! Integrity check over a whole database (operator command `duizhang check-integrity`, run at
//! the end of the fault tests): the invariants the use cases maintain, recomputed from the rows
//! instead of trusted. Each check is one SQL query that returns the offending rows, so a check
//! costs one scan however large the database is, and a report names what is wrong.
//!
//! It is read-only and runs in one REPEATABLE READ transaction: every check sees the same
//! snapshot, so a concurrent use case cannot make two consistent rows look inconsistent.

use crate::db::integrity as integrity_db;
use crate::error::AppResult;
use diesel::PgConnection;
use serde::Serialize;

/// At most this many offending rows are read per check (the count says "at least" then).
const MAX_ROWS: usize = 1000;
/// Offending rows shown per check in the report.
const EXAMPLES: usize = 20;
/// A running matching run without a heartbeat for this long has lost its worker (the worker
/// beats every 50,000 lines and the service takes such runs over after 120 s).
const STUCK_RUN_SQL_INTERVAL: &str = "interval '5 minutes'";

#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub tenant_id: String,
    /// The row at fault (a document, a bank line, an allocation, an event ...).
    pub subject: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: &'static str,
    pub description: &'static str,
    pub ok: bool,
    /// Offending rows found (capped: `truncated` says there are more).
    pub violations: usize,
    pub truncated: bool,
    pub examples: Vec<Violation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntegrityReport {
    pub ok: bool,
    pub checks: Vec<CheckResult>,
}

impl IntegrityReport {
    pub fn failed_checks(&self) -> Vec<&'static str> {
        self.checks.iter().filter(|c| !c.ok).map(|c| c.name).collect()
    }
}

struct SqlCheck {
    name: &'static str,
    description: &'static str,
    /// Selects `tenant_id, subject, detail` (all text) of every offending row.
    sql: String,
}

/// Active allocations (those that move money) per document and per bank line, and unreversed
/// write-offs per document: the sums every open amount is derived from.
const APPLIED_CTE: &str = "\
    applied AS (SELECT tenant_id, document_id, sum(abs(amount)) AS amount FROM allocations \
                WHERE state IN ('auto_applied', 'confirmed') GROUP BY tenant_id, document_id), \
    written AS (SELECT tenant_id, document_id, sum(amount) AS amount FROM write_offs \
                WHERE reversed_at IS NULL GROUP BY tenant_id, document_id)";

fn checks() -> Vec<SqlCheck> {
    [document_checks(), allocation_checks(), process_checks()].into_iter().flatten().collect()
}

/// A document's amounts and status against its allocations and write-offs.
fn document_checks() -> Vec<SqlCheck> {
    vec![
        SqlCheck {
            name: "document_open_amount",
            description: "a document's open amount is its amount minus its active allocations and unreversed \
                          write-offs (zero, with nothing applied, when cancelled)",
            sql: format!(
                "WITH {APPLIED_CTE} \
                 SELECT d.tenant_id::text, d.id::text AS subject, \
                        format('%s %s: amount %s, open %s, allocated %s, written off %s, status %s', d.doc_type, \
                               d.doc_no, d.amount, d.open_amount, coalesce(a.amount, 0), coalesce(w.amount, 0), \
                               d.status) AS detail \
                 FROM documents d \
                 LEFT JOIN applied a ON a.tenant_id = d.tenant_id AND a.document_id = d.id \
                 LEFT JOIN written w ON w.tenant_id = d.tenant_id AND w.document_id = d.id \
                 WHERE CASE WHEN d.status = 'cancelled' \
                            THEN d.open_amount <> 0 OR coalesce(a.amount, 0) <> 0 OR coalesce(w.amount, 0) <> 0 \
                            ELSE d.open_amount <> d.amount - coalesce(a.amount, 0) - coalesce(w.amount, 0) END"
            ),
        },
        SqlCheck {
            name: "document_within_amount",
            description: "active allocations plus write-offs of a document do not exceed its amount",
            sql: format!(
                "WITH {APPLIED_CTE} \
                 SELECT d.tenant_id::text, d.id::text AS subject, \
                        format('%s %s: amount %s, allocated %s, written off %s', d.doc_type, d.doc_no, d.amount, \
                               coalesce(a.amount, 0), coalesce(w.amount, 0)) AS detail \
                 FROM documents d \
                 LEFT JOIN applied a ON a.tenant_id = d.tenant_id AND a.document_id = d.id \
                 LEFT JOIN written w ON w.tenant_id = d.tenant_id AND w.document_id = d.id \
                 WHERE coalesce(a.amount, 0) + coalesce(w.amount, 0) > abs(d.amount)"
            ),
        },
        SqlCheck {
            name: "document_customer",
            description: "every document belongs to an existing customer of its own tenant",
            sql: "SELECT d.tenant_id::text, d.id::text AS subject, \
                         format('%s %s: customer %s missing', d.doc_type, d.doc_no, d.customer_id) AS detail \
                  FROM documents d LEFT JOIN customers c ON c.tenant_id = d.tenant_id AND c.id = d.customer_id \
                  WHERE c.id IS NULL"
                .into(),
        },
        SqlCheck {
            name: "document_status",
            description: "a document's status follows its open amount (open, partially_paid, paid)",
            sql: "SELECT tenant_id::text, id::text AS subject, \
                         format('%s %s: amount %s, open %s, status %s', doc_type, doc_no, amount, open_amount, \
                                status) AS detail \
                  FROM documents \
                  WHERE status <> 'cancelled' AND status <> CASE WHEN open_amount = 0 THEN 'paid' \
                        WHEN open_amount = amount THEN 'open' ELSE 'partially_paid' END"
                .into(),
        },
        SqlCheck {
            name: "instalment_plan",
            description: "an instalment plan belongs to an invoice of its tenant, adds up to the invoice's amount \
                          and ends on the invoice's due date",
            sql: "SELECT p.tenant_id::text, p.document_id::text AS subject, \
                         format('%s %s: amount %s, due %s; %s instalments add up to %s, the last due %s', \
                                d.doc_type, d.doc_no, d.amount, d.due_date, p.n, p.total, p.last_due) AS detail \
                  FROM (SELECT tenant_id, document_id, count(*) AS n, sum(amount) AS total, max(due_date) AS last_due \
                          FROM document_instalments GROUP BY tenant_id, document_id) p \
                  JOIN documents d ON d.id = p.document_id \
                  WHERE d.tenant_id <> p.tenant_id OR d.doc_type <> 'invoice' OR d.amount <> p.total \
                     OR d.due_date IS DISTINCT FROM p.last_due"
                .into(),
        },
    ]
}

/// Bank lines, allocations and write-offs: where money moves between lines and documents.
fn allocation_checks() -> Vec<SqlCheck> {
    vec![
        SqlCheck {
            name: "bank_line_applied_amount",
            description: "a bank line's applied amount is the sum of its active allocations, within the line's \
                          amount, and its status follows it",
            sql: "WITH used AS (SELECT tenant_id, bank_line_id, sum(line_amount) AS amount FROM allocations \
                                WHERE state IN ('auto_applied', 'confirmed') GROUP BY tenant_id, bank_line_id) \
                  SELECT l.tenant_id::text, l.id::text AS subject, \
                         format('line %s: amount %s, applied %s, allocated %s, status %s', \
                                coalesce(l.bank_reference, l.dedupe_key), l.amount, l.applied_amount, \
                                coalesce(u.amount, 0), l.status) AS detail \
                  FROM bank_lines l \
                  LEFT JOIN used u ON u.tenant_id = l.tenant_id AND u.bank_line_id = l.id \
                  WHERE l.applied_amount <> coalesce(u.amount, 0) \
                     OR abs(coalesce(u.amount, 0)) > abs(l.amount) \
                     OR (l.status <> 'ignored' AND l.status <> CASE WHEN l.applied_amount = 0 THEN 'unapplied' \
                         WHEN l.applied_amount = l.amount THEN 'applied' ELSE 'partly_applied' END)"
                .into(),
        },
        SqlCheck {
            name: "allocation_targets",
            description: "every allocation points to an existing document, bank line and run (if any) of its \
                          own tenant, and an active one to a document that is not cancelled",
            sql: "SELECT a.tenant_id::text, a.id::text AS subject, \
                         CASE WHEN d.id IS NULL THEN 'document missing' \
                              WHEN l.id IS NULL THEN 'bank line missing' \
                              WHEN a.run_id IS NOT NULL AND r.id IS NULL THEN 'reconciliation run missing' \
                              ELSE format('document %s is cancelled', d.doc_no) END AS detail \
                  FROM allocations a \
                  LEFT JOIN documents d ON d.tenant_id = a.tenant_id AND d.id = a.document_id \
                  LEFT JOIN bank_lines l ON l.tenant_id = a.tenant_id AND l.id = a.bank_line_id \
                  LEFT JOIN reconciliation_runs r ON r.tenant_id = a.tenant_id AND r.id = a.run_id \
                  WHERE d.id IS NULL OR l.id IS NULL OR (a.run_id IS NOT NULL AND r.id IS NULL) \
                     OR (a.state IN ('auto_applied', 'confirmed') AND d.status = 'cancelled')"
                .into(),
        },
        SqlCheck {
            name: "allocation_currency",
            description: "an active allocation between a document and a line in different currencies records \
                          its FX rate (or both amounts were given by a person)",
            sql: "SELECT a.tenant_id::text, a.id::text AS subject, \
                         format('document %s in %s, line in %s, rule %s, no FX rate', d.doc_no, d.currency, \
                                l.currency, a.rule) AS detail \
                  FROM allocations a \
                  JOIN documents d ON d.tenant_id = a.tenant_id AND d.id = a.document_id \
                  JOIN bank_lines l ON l.tenant_id = a.tenant_id AND l.id = a.bank_line_id \
                  WHERE a.state IN ('auto_applied', 'confirmed') AND d.currency <> l.currency \
                    AND a.fx_rate IS NULL AND a.rule <> 'manual'"
                .into(),
        },
        SqlCheck {
            name: "write_off_allocation",
            description: "a write-off points to an allocation and a document of its own tenant; an unreversed \
                          one belongs to an active allocation of the same document, in the document's currency",
            sql: "SELECT w.tenant_id::text, w.id::text AS subject, \
                         CASE WHEN a.id IS NULL THEN 'allocation missing' \
                              WHEN d.id IS NULL THEN 'document missing' \
                              WHEN a.tenant_id <> w.tenant_id OR d.tenant_id <> w.tenant_id \
                                  THEN 'allocation or document of another tenant' \
                              WHEN a.state NOT IN ('auto_applied', 'confirmed') \
                                  THEN format('allocation %s is %s', a.id, a.state) \
                              WHEN a.document_id <> w.document_id THEN 'allocation of another document' \
                              ELSE format('currency %s, document in %s', w.currency, d.currency) END AS detail \
                  FROM write_offs w \
                  LEFT JOIN allocations a ON a.id = w.allocation_id \
                  LEFT JOIN documents d ON d.id = w.document_id \
                  WHERE a.id IS NULL OR d.id IS NULL OR a.tenant_id <> w.tenant_id OR d.tenant_id <> w.tenant_id \
                     OR (w.reversed_at IS NULL \
                         AND (a.state NOT IN ('auto_applied', 'confirmed') OR a.document_id <> w.document_id \
                              OR d.currency <> w.currency))"
                .into(),
        },
    ]
}

/// Processes that must finish or hand over: imports, matching runs, event delivery, audit sealing.
fn process_checks() -> Vec<SqlCheck> {
    vec![
        SqlCheck {
            name: "bank_statement_lines",
            description: "an import's recorded line count equals the lines that carry its id (all or nothing)",
            sql: "SELECT s.tenant_id::text, s.id::text AS subject, \
                         format('%s import: %s lines recorded, %s present', s.format, s.lines_imported, \
                                count(l.id)) AS detail \
                  FROM bank_statements s \
                  LEFT JOIN bank_lines l ON l.tenant_id = s.tenant_id AND l.statement_id = s.id \
                  GROUP BY s.tenant_id, s.id, s.format, s.lines_imported \
                  HAVING count(l.id) <> s.lines_imported"
                .into(),
        },
        SqlCheck {
            name: "matching_run_alive",
            description: "a running matching run has a live worker (a recent heartbeat)",
            sql: format!(
                "SELECT tenant_id::text, id::text AS subject, \
                        format('running since %s, last heartbeat %s, attempt %s', started_at, heartbeat_at, \
                               attempts) AS detail \
                 FROM reconciliation_runs \
                 WHERE status = 'running' AND coalesce(heartbeat_at, started_at, created_at) \
                       < now() - {STUCK_RUN_SQL_INTERVAL}"
            ),
        },
        SqlCheck {
            name: "outbox_delivered",
            description: "a dispatched event has a delivery for every enabled endpoint subscribed to it (endpoints \
                          changed after the event are not judged: their state at the time is unknown)",
            sql: "SELECT e.tenant_id::text, e.id::text AS subject, \
                         format('%s event of %s has no delivery to endpoint %s', e.event_type, e.created_at, \
                                ep.id) AS detail \
                  FROM outbox_events e \
                  JOIN webhook_endpoints ep ON ep.tenant_id = e.tenant_id AND ep.enabled \
                       AND ep.created_at <= e.created_at AND ep.updated_at <= e.created_at \
                       AND (ep.customer_id IS NULL OR ep.customer_id = e.customer_id) \
                       AND (cardinality(ep.event_types) = 0 OR e.event_type = ANY (ep.event_types)) \
                  WHERE e.dispatched_at IS NOT NULL \
                    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
                                    WHERE d.endpoint_id = ep.id AND d.event_id = e.id)"
                .into(),
        },
        SqlCheck {
            name: "webhook_delivery_state",
            description: "a pending delivery has a next attempt; a succeeded one has a delivery time",
            sql: "SELECT tenant_id::text, id::text AS subject, \
                         format('%s delivery of event %s: next attempt %s, delivered %s', status, event_id, \
                                next_attempt_at, delivered_at) AS detail \
                  FROM webhook_deliveries \
                  WHERE (status = 'pending' AND next_attempt_at IS NULL) \
                     OR (status = 'succeeded' AND delivered_at IS NULL)"
                .into(),
        },
        SqlCheck {
            name: "audit_sealed",
            description: "no audit entry waits to be sealed into the hash chain longer than the bound (a sealer runs \
                          in every server process)",
            sql: format!(
                "SELECT tenant_id::text, min(id)::text AS subject, \
                        format('%s audit entries unsealed, the oldest since %s', count(*), min(occurred_at)) AS detail \
                 FROM audit_pending \
                 WHERE occurred_at < now() - interval '{} seconds' \
                 GROUP BY tenant_id",
                crate::services::audit_sealer::UNSEALED_BOUND.as_secs()
            ),
        },
    ]
}

/// Runs every check (and the audit chain verification of every tenant) on one snapshot.
pub fn check(conn: &mut PgConnection) -> AppResult<IntegrityReport> {
    conn.build_transaction().repeatable_read().read_only().run(|conn| {
        integrity_db::hash_joins_only(conn)?;
        let mut results = Vec::new();
        for c in checks() {
            let rows = integrity_db::offending_rows(conn, &c.sql, MAX_ROWS + 1)?;
            results.push(result_of(
                c.name,
                c.description,
                rows.into_iter()
                    .map(|r| Violation { tenant_id: r.tenant_id, subject: r.subject, detail: r.detail })
                    .collect(),
            ));
        }
        // The hash chain is recomputed in Rust (the same code as `verify-audit`).
        let chains = crate::services::audit::verify_all(conn)?;
        let broken = chains
            .into_iter()
            .filter(|c| !c.valid)
            .map(|c| Violation {
                tenant_id: c.tenant_id.to_string(),
                subject: format!("audit_log seq {}", c.first_broken_seq.unwrap_or_default()),
                detail: format!("hash chain broken after {} entries", c.entries_checked),
            })
            .collect();
        results.push(result_of("audit_chain", "every tenant's audit entries hash-chain to its recorded head", broken));
        Ok(IntegrityReport { ok: results.iter().all(|r| r.ok), checks: results })
    })
}

fn result_of(name: &'static str, description: &'static str, mut rows: Vec<Violation>) -> CheckResult {
    let truncated = rows.len() > MAX_ROWS;
    rows.truncate(MAX_ROWS);
    let violations = rows.len();
    rows.truncate(EXAMPLES);
    CheckResult { name, description, ok: violations == 0, violations, truncated, examples: rows }
}
