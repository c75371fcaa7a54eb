//! Retention: deleting rows past the tenant's retention, batch by batch.

use crate::error::AppResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use serde::Serialize;

/// Rows deleted per statement: short transactions, no long lock on busy tables.
pub const PURGE_BATCH: i64 = 1000;

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct PurgeReport {
    pub outbox_events: i64,
    pub webhook_deliveries: i64,
    pub webhook_attempts: i64,
    pub connector_syncs: i64,
    pub batches: i64,
}

/// Retention of tenants without settings (the column default of `data_safety_settings`).
pub const DEFAULT_RETENTION_DAYS: i32 = 90;

/// The cut-off per tenant: `now - retention_days` (tenants without settings:
/// [`DEFAULT_RETENTION_DAYS`]).
fn cutoff() -> String {
    format!(
        "(SELECT $1::timestamptz - make_interval(days => coalesce( \
         (SELECT s.retention_days FROM data_safety_settings s WHERE s.tenant_id = x.tenant_id), {DEFAULT_RETENTION_DAYS})))"
    )
}

/// Deletes everything past retention as of `now`, batch by batch (each its own transaction).
pub fn purge(conn: &mut PgConnection, now: DateTime<Utc>) -> AppResult<PurgeReport> {
    let mut report = PurgeReport::default();
    let cutoff = cutoff();
    // Attempts of finished deliveries.
    report.webhook_attempts += batches(
        conn,
        now,
        &mut report.batches,
        &format!(
            "DELETE FROM webhook_attempts WHERE id IN (SELECT x.id FROM webhook_attempts x \
         JOIN webhook_deliveries d ON d.id = x.delivery_id \
         WHERE d.status <> 'pending' AND x.started_at < {cutoff} LIMIT {PURGE_BATCH})"
        ),
    )?;
    // Deliveries (their attempts go with them) of events whose every delivery is finished.
    let done_events = format!(
        "SELECT x.id FROM outbox_events x WHERE x.dispatched_at IS NOT NULL AND x.dispatched_at < {cutoff} \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.event_id = x.id AND p.status = 'pending')"
    );
    report.webhook_deliveries += batches(
        conn,
        now,
        &mut report.batches,
        &format!(
            "DELETE FROM webhook_deliveries WHERE id IN (SELECT d.id FROM webhook_deliveries d \
         WHERE d.event_id IN ({done_events}) LIMIT {PURGE_BATCH})"
        ),
    )?;
    report.outbox_events += batches(
        conn,
        now,
        &mut report.batches,
        &format!(
            "DELETE FROM outbox_events WHERE id IN ({done_events} \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = x.id) LIMIT {PURGE_BATCH})"
        ),
    )?;
    report.connector_syncs += batches(
        conn,
        now,
        &mut report.batches,
        &format!(
            "DELETE FROM connector_syncs WHERE id IN (SELECT x.id FROM connector_syncs x \
         WHERE x.finished_at IS NOT NULL AND x.finished_at < {cutoff} LIMIT {PURGE_BATCH})"
        ),
    )?;
    Ok(report)
}

fn batches(conn: &mut PgConnection, now: DateTime<Utc>, count: &mut i64, sql: &str) -> AppResult<i64> {
    let mut total = 0;
    loop {
        let n = conn.transaction(|c| diesel::sql_query(sql).bind::<Timestamptz, _>(now).execute(c))?;
        *count += 1;
        total += n as i64;
        if (n as i64) < PURGE_BATCH {
            return Ok(total);
        }
    }
}

/// Stores the tenant's retention (days) and whether it seals customer data.
pub fn put_settings(
    conn: &mut PgConnection,
    tenant_id: uuid::Uuid,
    retention_days: i32,
    encrypt: bool,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO data_safety_settings (tenant_id, retention_days, encrypt_customer_data) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET retention_days = $2, encrypt_customer_data = $3, updated_at = now()",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<diesel::sql_types::Int4, _>(retention_days)
    .bind::<diesel::sql_types::Bool, _>(encrypt)
    .execute(conn)?;
    Ok(())
}
