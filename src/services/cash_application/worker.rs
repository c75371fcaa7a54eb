//! The background worker: claims queued runs (or runs whose worker died) and executes each in
//! one transaction.
//!
//! At a graceful shutdown the run in progress may finish within the drain time; if it has not,
//! it is stopped (its statement in progress cancelled on the server, the engine stopped at its
//! next line), rolled back and **handed back**: queued again with its attempt not counted and its
//! lock released, so another process takes it on its next poll.

use crate::db::cash_application::{self as cash_db, Run};
use crate::db::DbPool;
use crate::domain::run_status::RunStatus;
use crate::error::{AppError, AppResult};
use crate::services::data_safety::Keyring;
use crate::services::metrics::Metrics;
use chrono::Utc;
use diesel::{Connection, PgConnection};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A run that has lost its worker this many times (the process died each time: out of memory,
/// killed, a crash in the run) is marked failed instead of being tried again forever.
const MAX_RUN_ATTEMPTS: i32 = 3;
/// How often the shutdown watch looks at the stop flag, and cancels again a run still going.
const WATCH: Duration = Duration::from_millis(50);

/// When a run in progress is stopped: `drain` after `stop` is set.
#[derive(Clone, Copy)]
pub struct Stopping<'a> {
    pub stop: &'a AtomicBool,
    pub drain: Duration,
}

/// Claims and processes one run; returns false when there was nothing to do.
pub fn process_next_run(pool: &DbPool, keys: &Keyring) -> AppResult<bool> {
    process_next_run_observed(pool, keys, None, None)
}

/// [`process_next_run`], recording the run's phase durations in `metrics`, and stopping the run
/// (handed back) when `stopping` says so.
pub fn process_next_run_observed(
    pool: &DbPool,
    keys: &Keyring,
    metrics: Option<&Metrics>,
    stopping: Option<Stopping<'_>>,
) -> AppResult<bool> {
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
    let cancel = AtomicBool::new(false);
    let result = match stopping {
        None => execute_and_finish(&mut conn, pool, keys, &run, metrics, &cancel),
        Some(stopping) => {
            let pid = cash_db::backend_pid(&mut conn)?;
            let done = AtomicBool::new(false);
            // The watch ends (and cancels nothing more) before the run is handed back.
            std::thread::scope(|scope| {
                scope.spawn(|| watch_shutdown(pool, pid, stopping, &done, &cancel));
                let result = execute(&mut conn, pool, keys, &run, metrics, &cancel);
                done.store(true, Ordering::Relaxed);
                result
            })
            .or_else(|e| after_failure(&mut conn, &run, e, cancel.load(Ordering::Relaxed)))
        }
    };
    let _ = cash_db::unlock_run(&mut conn, run.id);
    result.map(|_| true)
}

/// Waits while the run goes on; once `stopping.drain` has passed since the stop, sets `cancel`
/// and cancels the run's statement on the server until the run is over.
fn watch_shutdown(pool: &DbPool, pid: i32, stopping: Stopping<'_>, done: &AtomicBool, cancel: &AtomicBool) {
    let mut stopped_at = None;
    while !done.load(Ordering::Relaxed) {
        if stopping.stop.load(Ordering::Relaxed) {
            let since = *stopped_at.get_or_insert_with(Instant::now);
            if since.elapsed() >= stopping.drain {
                cancel.store(true, Ordering::Relaxed);
                if let Ok(mut other) = pool.get() {
                    let _ = cash_db::cancel_backend(&mut other, pid);
                }
            }
        }
        std::thread::sleep(WATCH);
    }
}

fn execute_and_finish(
    conn: &mut PgConnection,
    pool: &DbPool,
    keys: &Keyring,
    run: &Run,
    metrics: Option<&Metrics>,
    cancel: &AtomicBool,
) -> AppResult<()> {
    execute(conn, pool, keys, run, metrics, cancel).or_else(|e| after_failure(conn, run, e, false))
}

/// Runs the run in one transaction that also marks it completed. A run tried too often is
/// marked failed instead.
fn execute(
    conn: &mut PgConnection,
    pool: &DbPool,
    keys: &Keyring,
    run: &Run,
    metrics: Option<&Metrics>,
    cancel: &AtomicBool,
) -> AppResult<()> {
    if run.attempts > MAX_RUN_ATTEMPTS {
        tracing::warn!(run = %run.id, attempts = run.attempts, "reconciliation run abandoned");
        let error = format!(
            "the worker stopped {} times while running it; nothing of it was applied, start a new run",
            run.attempts - 1
        );
        return finish_failed(conn, run, error);
    }
    let heartbeat_pool = pool.clone();
    // The run is marked completed in the transaction that writes its effects: a worker dying
    // between the two would otherwise leave a `running` run whose allocations, audit entry and
    // event are committed, and the next worker would run it again (a second event, 0 lines).
    conn.transaction(|c| {
        let done = super::execute::execute_run(c, keys, run, &heartbeat_pool, metrics, cancel)?;
        let done = Run { finished_at: Some(Utc::now()), ..done };
        cash_db::finish_run(c, &done)?;
        Ok::<_, AppError>(())
    })
}

/// After the run's transaction failed: handed back when it was stopped for a shutdown, else
/// marked failed with the error.
fn after_failure(conn: &mut PgConnection, run: &Run, e: AppError, cancelled: bool) -> AppResult<()> {
    if cancelled {
        tracing::info!(run = %run.id, error = %e.message, "reconciliation run stopped for a shutdown; handed back");
        let attempts = run.attempts - 1;
        return conn.transaction(|c| cash_db::requeue_run(c, run.id, attempts).map_err(AppError::from));
    }
    tracing::warn!(run = %run.id, error = %e.message, "reconciliation run failed");
    finish_failed(conn, run, e.message)
}

fn finish_failed(conn: &mut PgConnection, run: &Run, error: String) -> AppResult<()> {
    let finished = Run { finished_at: Some(Utc::now()), status: RunStatus::Failed, error: Some(error), ..run.clone() };
    conn.transaction(|c| cash_db::finish_run(c, &finished).map_err(AppError::from))
}

/// Runs queued reconciliations until `stop` is set: one thread per server process. A run still
/// going `drain` after the stop is handed back.
pub fn spawn_worker(
    pool: DbPool,
    keys: Arc<Keyring>,
    stop: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    drain: Duration,
) -> std::thread::JoinHandle<()> {
    let flag = stop.clone();
    crate::services::polling::Polling::new("reconciliation-worker", Duration::from_millis(200)).spawn(stop, move || {
        process_next_run_observed(&pool, &keys, Some(&metrics), Some(Stopping { stop: &flag, drain }))
    })
}
