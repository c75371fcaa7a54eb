//! Retention: delivered outbox events (with their deliveries and attempts), webhook attempts of
//! finished deliveries and finished connector sync logs older than the tenant's
//! `retention_days` (default 90) are deleted in batches by a background job. The audit trail is
//! never purged: it holds the entries about these rows, and its hash chain must keep verifying.
//!
//! Spooled uploads: request bodies too large for memory go to files in [`spool_dir`], named with
//! the process id. They are removed when the request ends; a process that died leaves them, so
//! every instance sweeps the files of processes no longer running when it starts.

use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Rows deleted per statement: short transactions, no long lock on busy tables.
pub const PURGE_BATCH: i64 = 1000;
/// How often the background job looks for rows past retention.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct PurgeReport {
    pub outbox_events: i64,
    pub webhook_deliveries: i64,
    pub webhook_attempts: i64,
    pub connector_syncs: i64,
    pub batches: i64,
}

/// The cut-off per tenant: `now - retention_days` (tenants without settings: 90 days).
const CUTOFF: &str = "(SELECT $1::timestamptz - make_interval(days => coalesce( \
    (SELECT s.retention_days FROM data_safety_settings s WHERE s.tenant_id = x.tenant_id), 90)))";

/// Deletes everything past retention as of `now`, batch by batch (each its own transaction).
pub fn purge(conn: &mut PgConnection, now: DateTime<Utc>) -> AppResult<PurgeReport> {
    let mut report = PurgeReport::default();
    // Attempts of finished deliveries.
    report.webhook_attempts += batches(
        conn,
        now,
        &mut report.batches,
        &format!(
            "DELETE FROM webhook_attempts WHERE id IN (SELECT x.id FROM webhook_attempts x \
         JOIN webhook_deliveries d ON d.id = x.delivery_id \
         WHERE d.status <> 'pending' AND x.started_at < {CUTOFF} LIMIT {PURGE_BATCH})"
        ),
    )?;
    // Deliveries (their attempts go with them) of events whose every delivery is finished.
    let done_events = format!(
        "SELECT x.id FROM outbox_events x WHERE x.dispatched_at IS NOT NULL AND x.dispatched_at < {CUTOFF} \
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
         WHERE x.finished_at IS NOT NULL AND x.finished_at < {CUTOFF} LIMIT {PURGE_BATCH})"
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

/// Runs [`purge`] every [`PURGE_INTERVAL`] until `stop` is set.
pub fn spawn_worker(pool: DbPool, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("retention".into())
        .spawn(move || {
            let mut next = std::time::Instant::now() + Duration::from_secs(60);
            while !stop.load(Ordering::Relaxed) {
                if std::time::Instant::now() >= next {
                    let result = pool.get().map_err(AppError::internal).and_then(|mut c| purge(&mut c, Utc::now()));
                    match result {
                        Ok(r) if r != PurgeReport { batches: r.batches, ..PurgeReport::default() } => {
                            tracing::info!(?r, "retention: purged rows past retention")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e.message, "retention purge failed; retrying later"),
                    }
                    next = std::time::Instant::now() + PURGE_INTERVAL;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
        .expect("spawn the retention job")
}

/// Sets the tenant's retention (days) and whether it seals customer data.
pub fn put_settings(
    conn: &mut PgConnection,
    tenant_id: uuid::Uuid,
    retention_days: i32,
    encrypt: bool,
) -> AppResult<()> {
    if !(1..=36500).contains(&retention_days) {
        return Err(AppError::invalid("retention_days", "must be between 1 and 36500"));
    }
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

// ----- spooled uploads -----------------------------------------------------------------------

/// Where request bodies are spooled: a folder of the system's temporary directory.
pub fn spool_dir() -> PathBuf {
    std::env::temp_dir().join("duizhang-spool")
}

/// A new spool file of this process (removed when dropped).
pub fn spool_file() -> std::io::Result<tempfile::NamedTempFile> {
    let dir = spool_dir();
    std::fs::create_dir_all(&dir)?;
    tempfile::Builder::new().prefix(&format!("upload-{}-", std::process::id())).tempfile_in(dir)
}

/// Removes the spool files of processes that are no longer running; returns how many.
pub fn sweep_spool(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) =
            name.strip_prefix("upload-").and_then(|r| r.split('-').next()).and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if pid as u32 != std::process::id() && !process_alive(pid) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn process_alive(pid: i32) -> bool {
    // Linux: a running process has /proc/<pid>. Without /proc nothing is taken for dead.
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}
