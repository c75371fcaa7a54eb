//! Retention: delivered outbox events (with their deliveries and attempts), webhook attempts of
//! finished deliveries and finished connector sync logs older than the tenant's
//! `retention_days` (default [`DEFAULT_RETENTION_DAYS`]) are deleted in batches by a background job. The audit trail is
//! never purged: it holds the entries about these rows, and its hash chain must keep verifying.
//!
//! Spooled uploads: request bodies too large for memory go to files in [`spool_dir`], named with
//! the process id. They are removed when the request ends; a process that died leaves them, so
//! every instance sweeps the files of processes no longer running when it starts.

use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use chrono::Utc;
use diesel::PgConnection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use crate::db::data_safety::retention::{purge, PurgeReport, DEFAULT_RETENTION_DAYS, PURGE_BATCH};

/// How often the background job looks for rows past retention.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3600);
/// The first purge after start: not at once, so a starting instance serves first.
pub const FIRST_PURGE_DELAY: Duration = Duration::from_secs(60);

/// Runs [`purge`] every [`PURGE_INTERVAL`] until `stop` is set.
pub fn spawn_worker(pool: DbPool, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("retention".into())
        .spawn(move || {
            let mut next = std::time::Instant::now() + FIRST_PURGE_DELAY;
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
    crate::db::data_safety::retention::put_settings(conn, tenant_id, retention_days, encrypt)?;
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
