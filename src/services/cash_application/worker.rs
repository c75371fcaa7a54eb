//! The background worker: claims queued runs (or runs whose worker died) and executes each in
//! one transaction.

use crate::db::cash_application::{self as cash_db, Run};
use crate::db::DbPool;
use crate::domain::run_status::RunStatus;
use crate::error::{AppError, AppResult};
use crate::services::data_safety::Keyring;
use crate::services::metrics::Metrics;
use chrono::Utc;
use diesel::{Connection, PgConnection};
use std::time::Duration;

/// A run that has lost its worker this many times (the process died each time: out of memory,
/// killed, a crash in the run) is marked failed instead of being tried again forever.
const MAX_RUN_ATTEMPTS: i32 = 3;

/// Claims and processes one run; returns false when there was nothing to do.
pub fn process_next_run(pool: &DbPool, keys: &Keyring) -> AppResult<bool> {
    process_next_run_observed(pool, keys, None)
}

/// [`process_next_run`], recording the run's phase durations in `metrics`.
pub fn process_next_run_observed(pool: &DbPool, keys: &Keyring, metrics: Option<&Metrics>) -> AppResult<bool> {
    let mut conn = pool.get()?;
    let claimed = match conn.transaction(|c| cash_db::claim_run(c).map_err(AppError::from)) {
        Ok(claimed) => claimed,
        Err(e) => {
            // The run's session lock may have been taken before the error: never keep it on a
            // pooled connection.
            let _ = cash_db::release_session_locks(&mut conn);
            return Err(e);
        }
    };
    let Some(run) = claimed else { return Ok(false) };
    let result = execute_and_finish(&mut conn, pool, keys, &run, metrics);
    let _ = cash_db::unlock_run(&mut conn, run.id);
    result.map(|_| true)
}

fn execute_and_finish(
    conn: &mut PgConnection,
    pool: &DbPool,
    keys: &Keyring,
    run: &Run,
    metrics: Option<&Metrics>,
) -> AppResult<()> {
    let mut finished = run.clone();
    if run.attempts > MAX_RUN_ATTEMPTS {
        tracing::warn!(run = %run.id, attempts = run.attempts, "reconciliation run abandoned");
        finished.finished_at = Some(Utc::now());
        finished.status = RunStatus::Failed;
        finished.error = Some(format!(
            "the worker stopped {} times while running it; nothing of it was applied, start a new run",
            run.attempts - 1
        ));
        return conn.transaction(|c| cash_db::finish_run(c, &finished).map_err(AppError::from));
    }
    let heartbeat_pool = pool.clone();
    // The run is marked completed in the transaction that writes its effects: a worker dying
    // between the two would otherwise leave a `running` run whose allocations, audit entry and
    // event are committed, and the next worker would run it again (a second event, 0 lines).
    let outcome = conn.transaction(|c| {
        let done = super::execute::execute_run(c, keys, run, &heartbeat_pool, metrics)?;
        let done = Run { finished_at: Some(Utc::now()), ..done };
        cash_db::finish_run(c, &done)?;
        Ok::<_, AppError>(())
    });
    let Err(e) = outcome else { return Ok(()) };
    tracing::warn!(run = %run.id, error = %e.message, "reconciliation run failed");
    finished.finished_at = Some(Utc::now());
    finished.status = RunStatus::Failed;
    finished.error = Some(e.message);
    conn.transaction(|c| cash_db::finish_run(c, &finished).map_err(AppError::from))
}

/// Runs queued reconciliations until `stop` is set: one thread per server process.
pub fn spawn_worker(
    pool: DbPool,
    keys: std::sync::Arc<Keyring>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    metrics: std::sync::Arc<Metrics>,
) -> std::thread::JoinHandle<()> {
    crate::services::polling::Polling::new("reconciliation-worker", Duration::from_millis(200))
        .spawn(stop, move || process_next_run_observed(&pool, &keys, Some(&metrics)))
}
