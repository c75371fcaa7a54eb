//! The backlog and lag figures `GET /metrics` reports, read from the shared database at scrape
//! time: every process behind a load balancer reports the same values for them, and no
//! background sampler is needed. One statement of small aggregates over partial indexes or
//! small tables; it reads no tenant's data, only counts and ages.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct QueueFigures {
    /// Outbox events not yet dispatched to webhook deliveries.
    pub outbox_undispatched: i64,
    /// Webhook deliveries waiting for (another) attempt.
    pub webhook_backlog: i64,
    /// Age of the oldest waiting webhook delivery, seconds (0 when none waits).
    pub webhook_oldest_seconds: f64,
    /// Audit entries committed but not yet sealed into the hash chain.
    pub audit_unsealed: i64,
    /// Age of the oldest unsealed audit entry, seconds.
    pub audit_sealing_lag_seconds: f64,
    /// Enabled connectors whose next sync is overdue, and by how long the most overdue one is.
    pub connectors_due: i64,
    pub connector_lag_seconds: f64,
    /// Reconciliation and statement runs by status.
    pub runs: Vec<RunCount>,
}

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct RunCount {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    outbox_undispatched: i64,
    #[diesel(sql_type = BigInt)]
    webhook_backlog: i64,
    #[diesel(sql_type = Double)]
    webhook_oldest_seconds: f64,
    #[diesel(sql_type = BigInt)]
    audit_unsealed: i64,
    #[diesel(sql_type = Double)]
    audit_sealing_lag_seconds: f64,
    #[diesel(sql_type = BigInt)]
    connectors_due: i64,
    #[diesel(sql_type = Double)]
    connector_lag_seconds: f64,
}

const QUEUES: &str = "
SELECT
  (SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL) AS outbox_undispatched,
  (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS webhook_backlog,
  COALESCE((SELECT extract(epoch FROM now() - min(created_at))::float8
            FROM webhook_deliveries WHERE status = 'pending'), 0) AS webhook_oldest_seconds,
  (SELECT count(*) FROM audit_pending) AS audit_unsealed,
  COALESCE((SELECT extract(epoch FROM now() - min(occurred_at))::float8 FROM audit_pending), 0)
    AS audit_sealing_lag_seconds,
  (SELECT count(*) FROM connectors WHERE enabled AND next_run_at < now()) AS connectors_due,
  COALESCE((SELECT extract(epoch FROM now() - min(next_run_at))::float8
            FROM connectors WHERE enabled AND next_run_at < now()), 0) AS connector_lag_seconds";

const RUNS: &str = "
SELECT 'reconciliation' AS kind, status, count(*) AS count FROM reconciliation_runs
 WHERE status IN ('queued', 'running') GROUP BY status
UNION ALL
SELECT 'statement', status, count(*) FROM statement_runs
 WHERE status IN ('queued', 'running') GROUP BY status";

pub fn queue_figures(conn: &mut PgConnection) -> QueryResult<QueueFigures> {
    let row: Row = diesel::sql_query(QUEUES).get_result(conn)?;
    let runs = diesel::sql_query(RUNS).load::<RunCount>(conn)?;
    Ok(QueueFigures {
        outbox_undispatched: row.outbox_undispatched,
        webhook_backlog: row.webhook_backlog,
        webhook_oldest_seconds: row.webhook_oldest_seconds,
        audit_unsealed: row.audit_unsealed,
        audit_sealing_lag_seconds: row.audit_sealing_lag_seconds,
        connectors_due: row.connectors_due,
        connector_lag_seconds: row.connector_lag_seconds,
        runs,
    })
}
