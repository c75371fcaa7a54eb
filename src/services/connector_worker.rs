//! The connector scheduler: one thread per server process with its own small async runtime.
//! In a loop it
//!
//! 1. **claims** due, enabled connectors (`FOR UPDATE SKIP LOCKED`), gives each a lease
//!    (`lease_owner`, `lease_until`, and `next_run_at` pushed to the lease's end so a crashed
//!    worker's connector becomes due again by itself), opens a `running` sync in the history and
//!    commits: the connection goes back to the pool;
//! 2. runs the connector's client (`crate::connectors::*`), which **fetches** pages over HTTP
//!    with no database connection held and hands each to this worker as a [`Page`];
//! 3. **commits each page** in its own transaction through the ordinary import use cases
//!    (`customers::import`, `documents::import`, `bank::import_statement`), advancing the cursor
//!    and renewing the lease in that same transaction, so an interrupted sync resumes after the
//!    last committed page and a page is written whole or not at all;
//! 4. **finishes**: success schedules the next run after `schedule_seconds`; a failure is
//!    recorded in the history and retried with exponential backoff. Each connector is handled on
//!    its own, so one failing connector never holds up the others.
//!
//! At a graceful shutdown a sync stops after the page it is committing (or, still fetching at
//! the end of the drain time, is stopped) and **hands its connector back**: lease cleared, due at
//! once (a "sync now" request keeps its time), the sync recorded as stopped, so another process
//! resumes after the last committed page on its next poll instead of after the lease.

use crate::config::ConnectorConfig;
use crate::connectors::http::Clients;
use crate::connectors::{self as remote, Batch, CommitFuture, Page, PageSink, SyncEnv};
use crate::db::connectors::{self as c_db, Connector, ConnectorSync};
use crate::db::DbPool;
use crate::domain::auth::{Actor, Principal, Role};
use crate::domain::run_status::SyncStatus;
use crate::error::{AppError, AppResult};
use crate::services::bank::{self, StatementUpload};
use crate::services::connectors::ConnectorType;
use crate::services::data_safety::{sealing, Keyring};
use crate::services::import::{ImportFormat, ImportReport};
use crate::services::polling::{spawn_runtime_thread, Claimed, Polling};
use crate::services::webhook_worker::blocking;
use crate::services::{customers, documents};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Connectors synced at once per process.
const CONCURRENCY: usize = 4;
/// Rejected records kept on a sync.
const MAX_REJECTED: usize = 50;
/// First retry delay after a failed sync; doubles per consecutive failure.
const BACKOFF_BASE_SECONDS: i64 = 60;
const BACKOFF_MAX_SECONDS: i64 = 6 * 3600;

/// `drain`: at shutdown, how long a sync may take to reach its next committed page before it is
/// stopped and handed back.
pub fn spawn_worker(
    pool: DbPool,
    config: ConnectorConfig,
    secrets: Arc<Keyring>,
    stop: Arc<AtomicBool>,
    drain: Duration,
) -> std::thread::JoinHandle<()> {
    spawn_runtime_thread("connector-worker", move || run(pool, config, secrets, stop, drain))
}

async fn run(pool: DbPool, config: ConnectorConfig, secrets: Arc<Keyring>, stop: Arc<AtomicBool>, drain: Duration) {
    let clients = match Clients::new(config.request_timeout) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            tracing::error!(error = %e, "connector worker: cannot build the HTTP client");
            return;
        }
    };
    let lease = config.lease;
    let claim_jobs = |free: usize| {
        let pool = pool.clone();
        async move {
            if free == 0 {
                return Ok(Claimed::jobs(Vec::new()));
            }
            Ok(Claimed::jobs(blocking(&pool, move |c| claim(c, Utc::now(), free as i64, lease)).await?))
        }
    };
    let unfinished = Polling::new("connector-worker", config.poll_interval)
        .drain_within(drain)
        .run_claiming(
            &stop,
            CONCURRENCY,
            claim_jobs,
            |job| {
                let ctx = Ctx {
                    pool: pool.clone(),
                    clients: clients.clone(),
                    keys: secrets.clone(),
                    lease,
                    job,
                    stop: stop.clone(),
                    stopped: AtomicBool::new(false),
                };
                run_job(ctx, secrets.clone())
            },
            |job| (job.connector.id, job.owner, job.sync_id),
        )
        .await;
    // Stopped syncs keep their committed pages and resume after them in the next worker.
    for (id, owner, sync_id) in unfinished {
        hand_back_logged(&pool, id, owner, sync_id).await;
    }
}

/// A claimed connector.
#[derive(Debug, Clone)]
pub struct Job {
    pub connector: Connector,
    pub owner: Uuid,
    pub sync_id: Uuid,
    pub allow_private: bool,
}

fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::seconds(300))
}

fn claim(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64, lease: Duration) -> AppResult<Vec<Job>> {
    let due = c_db::lock_due(conn, now, limit)?;
    let mut jobs = Vec::with_capacity(due.len());
    for mut c in due {
        let owner = Uuid::new_v4();
        let until = lease_end(now, lease);
        c.lease_owner = Some(owner);
        c.lease_until = Some(until);
        c.next_run_at = Some(until);
        c.updated_at = now;
        c_db::save(conn, &c)?;
        let sync = ConnectorSync {
            id: Uuid::now_v7(),
            tenant_id: c.tenant_id,
            connector_id: c.id,
            status: SyncStatus::Running,
            started_at: now,
            finished_at: None,
            pages: 0,
            created: 0,
            updated: 0,
            skipped: 0,
            rejected: json!([]),
            error: None,
        };
        c_db::insert_sync(conn, &sync)?;
        let allow_private = c_db::tenant_allows_private(conn, c.tenant_id)?;
        jobs.push(Job { connector: c, owner, sync_id: sync.id, allow_private });
    }
    Ok(jobs)
}

/// What a sync needs besides its job.
pub struct Ctx {
    pool: DbPool,
    clients: Arc<Clients>,
    keys: Arc<Keyring>,
    lease: Duration,
    job: Job,
    /// The process is shutting down: stop after the page being committed.
    stop: Arc<AtomicBool>,
    /// The sync stopped for the shutdown after a committed page.
    stopped: AtomicBool,
}

/// What a page commit answers when the sync is to stop there for a shutdown.
const STOPPING: &str = "stopping for a shutdown";

impl Ctx {
    fn system(&self) -> Principal {
        Principal { tenant_id: self.job.connector.tenant_id, actor: Actor::System, role: Role::Admin, scopes: vec![] }
    }

    /// One page in one transaction: the import, the cursor (merged into the stored one), the
    /// lease renewal and the counts of the sync. Fails when the lease was lost.
    async fn commit_page<F>(&self, cursor_patch: Value, work: F) -> Result<(), String>
    where
        F: FnOnce(&mut PgConnection, &Principal) -> AppResult<PageCounts> + Send + 'static,
    {
        let (id, owner, sync_id, lease) = (self.job.connector.id, self.job.owner, self.job.sync_id, self.lease);
        let principal = self.system();
        blocking(&self.pool, move |conn| {
            let mut c = c_db::lock_leased(conn, id, owner)?
                .ok_or_else(|| AppError::conflict("the connector's lease was lost to another worker"))?;
            let counts = work(conn, &principal)?;
            let now = Utc::now();
            merge(&mut c.sync_cursor, cursor_patch);
            // Keep a manual "sync now" (next_run_at moved before the lease end) intact.
            let requested = c.next_run_at != c.lease_until;
            c.lease_until = Some(lease_end(now, lease));
            if !requested {
                c.next_run_at = c.lease_until;
            }
            c.updated_at = now;
            c_db::save(conn, &c)?;
            let mut s = c_db::find_sync(conn, sync_id)?;
            s.pages += 1;
            s.created += counts.created;
            s.updated += counts.updated;
            s.skipped += counts.skipped;
            if let Value::Array(list) = &mut s.rejected {
                for r in counts.rejected {
                    if list.len() < MAX_REJECTED {
                        list.push(r);
                    }
                }
            }
            c_db::save_sync(conn, &s)?;
            Ok(())
        })
        .await
        .map_err(|e| e.message)
    }
}

#[derive(Debug, Default)]
pub struct PageCounts {
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub rejected: Vec<Value>,
}

impl PageCounts {
    fn add_report(&mut self, report: ImportReport, names: &[String], kind: &str) {
        self.created += report.created as i32;
        self.updated += report.updated as i32;
        self.skipped += (report.unchanged as usize + report.rejected.len()) as i32;
        for r in report.rejected {
            let record = names.get(r.row as usize - 1).cloned().unwrap_or_default();
            self.rejected.push(json!({ "kind": kind, "record": record, "error": r.error }));
        }
    }
}

fn merge(target: &mut Value, patch: Value) {
    if !target.is_object() {
        *target = json!({});
    }
    if let (Value::Object(t), Value::Object(p)) = (target, patch) {
        for (k, v) in p {
            t.insert(k, v);
        }
    }
}

async fn run_job(ctx: Ctx, secrets: Arc<Keyring>) {
    let id = ctx.job.connector.id;
    let result = sync(&ctx, &secrets).await;
    let (owner, sync_id) = (ctx.job.owner, ctx.job.sync_id);
    if ctx.stopped.load(Ordering::Relaxed) {
        return hand_back_logged(&ctx.pool, id, owner, sync_id).await;
    }
    if let Err(e) = &result {
        tracing::info!(connector = %id, error = %e, "connector sync failed");
    }
    if let Err(e) = blocking(&ctx.pool, move |c| finish(c, id, owner, sync_id, result, Utc::now())).await {
        // The lease runs out and the connector runs again.
        tracing::warn!(connector = %id, error = %e.message, "connector sync outcome not recorded");
    }
}

async fn hand_back_logged(pool: &DbPool, id: Uuid, owner: Uuid, sync_id: Uuid) {
    match blocking(pool, move |c| hand_back(c, id, owner, sync_id, Utc::now())).await {
        Ok(true) => tracing::info!(connector = %id, "connector sync stopped for the shutdown; handed back"),
        Ok(false) => {}
        // The lease runs out and the connector runs again.
        Err(e) => tracing::warn!(connector = %id, error = %e.message, "connector not handed back at shutdown"),
    }
}

/// Gives a connector whose sync stopped for a shutdown back at once: no lease, due now (unless a
/// "sync now" already set its time), the sync recorded as stopped. Its failure count and last
/// status stay as they were: the sync did not fail. False when the lease was no longer ours.
fn hand_back(conn: &mut PgConnection, id: Uuid, owner: Uuid, sync_id: Uuid, now: DateTime<Utc>) -> AppResult<bool> {
    let Some(mut c) = c_db::lock_leased(conn, id, owner)? else { return Ok(false) };
    let requested = c.next_run_at != c.lease_until;
    c.lease_owner = None;
    c.lease_until = None;
    if !requested {
        c.next_run_at = Some(now);
    }
    c.updated_at = now;
    c_db::save(conn, &c)?;
    let mut s = c_db::find_sync(conn, sync_id)?;
    s.status = SyncStatus::Failed;
    s.finished_at = Some(now);
    s.error = Some(format!(
        "stopped by a shutdown after {} committed pages; the next sync resumes after the last of them",
        s.pages
    ));
    c_db::save_sync(conn, &s)?;
    Ok(true)
}

/// Delay before retrying after the `failures`th consecutive failure.
pub fn backoff(failures: i32, schedule_seconds: i32) -> chrono::Duration {
    let exp = (failures.max(1) - 1).min(20) as u32;
    let secs = BACKOFF_BASE_SECONDS.saturating_mul(1i64 << exp);
    chrono::Duration::seconds(secs.min(BACKOFF_MAX_SECONDS.max(schedule_seconds as i64)))
}

fn finish(
    conn: &mut PgConnection,
    id: Uuid,
    owner: Uuid,
    sync_id: Uuid,
    result: Result<(), String>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut s = c_db::find_sync(conn, sync_id)?;
    s.finished_at = Some(now);
    match c_db::lock_leased(conn, id, owner)? {
        None => {
            s.status = SyncStatus::Failed;
            s.error = Some(result.err().unwrap_or_else(|| "the lease was lost to another worker".into()));
        }
        Some(mut c) => {
            let requested = c.next_run_at != c.lease_until;
            c.lease_owner = None;
            c.lease_until = None;
            c.last_sync_at = Some(now);
            match &result {
                Ok(()) => {
                    s.status = SyncStatus::Succeeded;
                    c.consecutive_failures = 0;
                    c.last_status = Some(SyncStatus::Succeeded);
                    c.last_error = None;
                    if !requested {
                        c.next_run_at = Some(now + chrono::Duration::seconds(c.schedule_seconds as i64));
                    }
                }
                Err(e) => {
                    s.status = SyncStatus::Failed;
                    s.error = Some(e.clone());
                    c.consecutive_failures += 1;
                    c.last_status = Some(SyncStatus::Failed);
                    c.last_error = Some(e.clone());
                    if !requested {
                        c.next_run_at = Some(now + backoff(c.consecutive_failures, c.schedule_seconds));
                    }
                }
            }
            c.updated_at = now;
            c_db::save(conn, &c)?;
        }
    }
    c_db::save_sync(conn, &s)?;
    Ok(())
}

impl PageSink for Ctx {
    fn commit(&self, page: Page) -> CommitFuture<'_> {
        Box::pin(async move {
            let Page { cursor, batches, rejected } = page;
            let keys = self.keys.clone();
            self.commit_page(cursor, move |conn, principal| {
                let mut counts = PageCounts { skipped: rejected.len() as i32, rejected, ..PageCounts::default() };
                for batch in batches {
                    import_batch(conn, principal, &keys, batch, &mut counts)?;
                }
                Ok(counts)
            })
            .await?;
            if self.stop.load(Ordering::Relaxed) {
                self.stopped.store(true, Ordering::Relaxed);
                return Err(STOPPING.into());
            }
            Ok(())
        })
    }
}

/// Writes one batch through its ordinary import use case.
fn import_batch(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    batch: Batch,
    counts: &mut PageCounts,
) -> AppResult<()> {
    match batch {
        // An import of nothing is not called (a page whose every record was refused by the mapping).
        Batch::Customers { rows, .. } | Batch::Documents { rows, .. } if rows.is_empty() => {}
        Batch::Customers { kind, rows, names } => {
            let body = serde_json::to_vec(&rows).map_err(AppError::internal)?;
            counts.add_report(customers::import(conn, principal, keys, ImportFormat::Json, &body, None)?, &names, kind);
        }
        Batch::Documents { kind, rows, names } => {
            let body = serde_json::to_vec(&rows).map_err(AppError::internal)?;
            counts.add_report(documents::import(conn, principal, ImportFormat::Json, &body)?, &names, kind);
        }
        Batch::BankStatement(file) => {
            let format = file.format.as_deref().map(bank::parse_format).transpose()?;
            let upload = StatementUpload {
                format,
                head: file.body[..file.body.len().min(8192)].to_vec(),
                sha256: file.sha256,
                bytes: file.body.len() as u64,
                bank_account: file.bank_account,
                ..Default::default()
            };
            let imported =
                bank::import_statement(conn, principal, upload, crate::bank_formats::Input::Bytes(&file.body))?;
            counts.created += imported.lines_imported as i32;
            counts.skipped += imported.duplicates_skipped as i32;
        }
    }
    Ok(())
}

async fn sync(ctx: &Ctx, secrets: &Arc<Keyring>) -> Result<(), String> {
    let c = &ctx.job.connector;
    let credentials: Option<Value> = match &c.credentials {
        None => None,
        Some(sealed) => {
            let (keys, sealed, tenant) = (secrets.clone(), sealed.clone(), c.tenant_id);
            let plain = blocking(&ctx.pool, move |conn| sealing::open_bytes(&keys, conn, tenant, &sealed))
                .await
                .map_err(|e| e.message)?;
            Some(serde_json::from_slice(&plain).map_err(|_| "the stored credentials are unreadable".to_string())?)
        }
    };
    let env = SyncEnv { http: ctx.clients.for_tenant(ctx.job.allow_private), cursor: &c.sync_cursor, sink: ctx };
    let no_credentials = || "the connector has no credentials".to_string();
    match ConnectorType::parse(&c.connector_type) {
        Some(ConnectorType::Erpnext) => {
            let creds = remote::credentials(credentials)?.ok_or_else(no_credentials)?;
            remote::erpnext::sync(&env, &remote::config(&c.config)?, &creds).await
        }
        Some(ConnectorType::BankFile) => {
            let creds = remote::credentials(credentials)?.unwrap_or_default();
            remote::bank_file::sync(&env, &remote::config(&c.config)?, &creds).await
        }
        Some(ConnectorType::Odoo) => {
            let creds = remote::credentials(credentials)?.ok_or_else(no_credentials)?;
            remote::odoo::sync(&env, &remote::config(&c.config)?, &creds).await
        }
        Some(ConnectorType::OpenBanking) => {
            let creds = remote::credentials(credentials)?.ok_or_else(no_credentials)?;
            remote::open_banking::sync(&env, &remote::config(&c.config)?, &creds).await
        }
        Some(ConnectorType::GenericJson) => {
            let creds = remote::credentials(credentials)?.unwrap_or_default();
            remote::generic_json::sync(&env, &remote::config(&c.config)?, &creds).await
        }
        None => Err(format!("unknown connector type {:?}", c.connector_type)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1, 3600).num_seconds(), 60);
        assert_eq!(backoff(2, 3600).num_seconds(), 120);
        assert_eq!(backoff(30, 3600).num_seconds(), BACKOFF_MAX_SECONDS);
    }
}
