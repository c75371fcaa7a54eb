//! Sealing the audit trail. Use cases record their audit entries unsealed, in their own
//! transaction (`db::audit::append`), so no write waits for another tenant write's commit. The
//! sealer moves committed entries into the hash chain in batches: one transaction per tenant and
//! batch, holding the tenant's chain head, assigns consecutive `seq` and hashes (see
//! `db::audit::seal`). It runs in every process (`DUIZHANG_AUDIT_SEALER`), every
//! `DUIZHANG_AUDIT_SEAL_MS`; several processes share the work through `SKIP LOCKED` on the heads.
//! Reading or verifying the trail seals the tenant's pending entries first, so readers see the
//! whole trail. A crash between a change's commit and the seal leaves its entry pending, and the
//! next sealer run (in any process) seals it; a sealer that dies mid-batch rolls back whole.

use crate::db::audit::{self as audit_db, HeadLock};
use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::services::polling::Polling;
use diesel::{Connection, PgConnection};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Entries sealed per transaction.
pub const BATCH: i64 = 2000;

/// Unsealed entries older than this are reported by `check-integrity` (`audit_sealed`): a sealer
/// runs in every server process, so an entry this old means no sealer has been running.
pub const UNSEALED_BOUND: Duration = Duration::from_secs(300);

/// Seals all of one tenant's committed pending entries in the caller's transaction, waiting for
/// the chain head if another sealer holds it. Used before reading or verifying the trail.
pub fn seal_tenant(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<usize> {
    let mut sealed = 0;
    loop {
        // A batch may stop short of BATCH (at `audit_db::BATCH_BYTES`): done only when empty.
        let n = audit_db::seal(conn, tenant_id, BATCH, HeadLock::Wait)?.unwrap_or(0);
        sealed += n;
        if n == 0 {
            return Ok(sealed);
        }
    }
}

/// One pass over every tenant with pending entries, each batch in a transaction of its own.
/// Tenants whose head another sealer holds are skipped (that sealer is sealing them).
pub fn seal_all(conn: &mut PgConnection) -> AppResult<usize> {
    let mut sealed = 0;
    for tenant_id in audit_db::tenants_with_pending(conn)? {
        loop {
            let n = conn.transaction(|c| audit_db::seal(c, tenant_id, BATCH, HeadLock::SkipLocked))?;
            match n {
                Some(n) => {
                    sealed += n;
                    if n == 0 {
                        break;
                    }
                }
                None => break,
            }
        }
    }
    Ok(sealed)
}

/// Seals every tenant's pending entries, waiting for heads other sealers hold (operator
/// commands and tests: afterwards nothing committed before the call is unsealed).
pub fn seal_everything(conn: &mut PgConnection) -> AppResult<usize> {
    let mut sealed = 0;
    for tenant_id in audit_db::tenants_with_pending(conn)? {
        sealed += conn.transaction(|c| seal_tenant(c, tenant_id))?;
    }
    Ok(sealed)
}

/// The background sealer of this process: one pass over the pending entries per interval.
pub fn spawn_worker(pool: DbPool, interval: Duration, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    Polling::new("audit-sealer", interval).spawn(stop, move || {
        let mut conn = pool.get().map_err(AppError::internal)?;
        // A pass drains every tenant it can lock, so there is nothing to poll again for at once.
        seal_all(&mut conn).map(|_| false)
    })
}
