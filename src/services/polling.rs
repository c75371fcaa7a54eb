//! The one loop every background worker runs: poll for work, do it, sleep when there is none,
//! back off after errors, stop when the process shuts down.
//!
//! Two shapes, one policy:
//!
//! * [`Polling::spawn`] — a worker that does its work in rounds on a thread of its own (runs,
//!   statement batches, the audit sealer). Each round returns `Ok(true)` when it did work (the
//!   next round starts at once, so a backlog drains without sleeping), `Ok(false)` when there was
//!   none (sleep one interval).
//!
//!   ```ignore
//!   Polling::new("statement-run-worker", Duration::from_millis(250)).spawn(stop, move || process_next_batch(&pool))
//!   ```
//!
//! * [`Polling::run_claiming`] — a worker that claims jobs with a lease (`FOR UPDATE SKIP LOCKED`,
//!   a lease time pushed forward in the same transaction) and runs up to `concurrency` of them at
//!   once as async tasks (webhook deliveries, connector syncs). `claim(free)` takes at most
//!   `free` jobs and may report that more work is waiting ([`Claimed::more`]); a round that filled
//!   every free slot polls again at once. When idle it sleeps one interval, or until a running job
//!   finishes and frees a slot. At shutdown it claims nothing more and gives the jobs it holds up
//!   to the drain time ([`Polling::drain_within`], [`DRAIN_IN_FLIGHT`] unless set) to finish; a
//!   job still running then is stopped and its key returned, so the worker hands it back at once
//!   (another process takes it on its next poll instead of when the lease would have run out).
//!   [`spawn_runtime_thread`] gives such a worker its thread and single-threaded runtime.
//!
//! The policy: an idle sleep is the interval with ±10 % jitter, so the workers of several
//! processes drift apart instead of polling in lockstep. After an error the sleep doubles per
//! consecutive error up to [`MAX_BACKOFF`] (a database that is down is not hammered) and the first
//! error of a streak is logged as a warning, the rest at debug. Blocking sleeps are cut into short
//! slices that watch the stop flag, so shutdown never waits for a long back-off.

use crate::error::AppResult;
use rand::Rng;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{Id, JoinSet};

/// Longest sleep after repeated errors (or the interval, when that is longer).
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// At shutdown, how long jobs already claimed may take to finish (a webhook request's timeout
/// is 10 s by default) before they are stopped and handed back, unless the worker sets its own.
pub const DRAIN_IN_FLIGHT: Duration = Duration::from_secs(15);
/// A blocking sleep looks at the stop flag this often.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// A worker's name (for its thread and its log lines) and its idle interval.
#[derive(Debug, Clone)]
pub struct Polling {
    pub name: &'static str,
    pub interval: Duration,
    /// At shutdown, how long claimed jobs may take to finish before they are stopped.
    pub drain: Duration,
}

/// What one claiming round took.
pub struct Claimed<J> {
    /// Jobs this worker now holds the lease of, at most the `free` it was asked for.
    pub jobs: Vec<J>,
    /// More work is known to be waiting (e.g. a full batch of something the claim also did), so
    /// poll again at once.
    pub more: bool,
}

impl<J> Claimed<J> {
    pub fn jobs(jobs: Vec<J>) -> Self {
        Claimed { jobs, more: false }
    }
}

/// How long to sleep next: the interval, or the back-off after errors; both with jitter.
#[derive(Debug, Default)]
struct Pace {
    errors: u32,
}

impl Pace {
    fn ok(&mut self) {
        self.errors = 0;
    }

    fn failed(&mut self, name: &str, message: &str) {
        self.errors += 1;
        if self.errors == 1 {
            tracing::warn!(worker = name, error = %message, "worker round failed; backing off");
        } else {
            tracing::debug!(worker = name, error = %message, errors = self.errors, "worker round failed again");
        }
    }

    fn sleep_for(&self, interval: Duration) -> Duration {
        let base = if self.errors == 0 {
            interval
        } else {
            interval.saturating_mul(1 << self.errors.min(6)).min(MAX_BACKOFF.max(interval))
        };
        base.mul_f64(rand::thread_rng().gen_range(0.9..=1.1))
    }
}

impl Polling {
    pub fn new(name: &'static str, interval: Duration) -> Self {
        Polling { name, interval, drain: DRAIN_IN_FLIGHT }
    }

    /// How long claimed jobs may take to finish at shutdown (the process's shutdown timeout,
    /// less the time needed to hand the rest back).
    pub fn drain_within(self, drain: Duration) -> Self {
        Polling { drain, ..self }
    }

    /// Runs `round` on a thread of its own until `stop` is set (see the module documentation).
    pub fn spawn<F>(self, stop: Arc<AtomicBool>, mut round: F) -> std::thread::JoinHandle<()>
    where
        F: FnMut() -> AppResult<bool> + Send + 'static,
    {
        std::thread::Builder::new()
            .name(self.name.into())
            .spawn(move || {
                let mut pace = Pace::default();
                while !stop.load(Ordering::Relaxed) {
                    match round() {
                        Ok(true) => {
                            pace.ok();
                            continue;
                        }
                        Ok(false) => pace.ok(),
                        Err(e) => pace.failed(self.name, &e.message),
                    }
                    sleep_unless_stopped(pace.sleep_for(self.interval), &stop);
                }
            })
            .unwrap_or_else(|e| panic!("spawn the {}: {e}", self.name))
    }

    /// Claims jobs with `claim(free)` and runs each as a task made by `work(job)`, at most
    /// `concurrency` at once, until `stop` is set (see the module documentation). Returns the
    /// `key` of every job stopped unfinished at the end of the drain: the caller hands them back.
    pub async fn run_claiming<J, K, C, CF, W, WF>(
        &self,
        stop: &AtomicBool,
        concurrency: usize,
        mut claim: C,
        mut work: W,
        key: impl Fn(&J) -> K,
    ) -> Vec<K>
    where
        C: FnMut(usize) -> CF,
        CF: Future<Output = AppResult<Claimed<J>>>,
        W: FnMut(J) -> WF,
        WF: Future<Output = ()> + Send + 'static,
    {
        let mut in_flight: JoinSet<()> = JoinSet::new();
        let mut held: HashMap<Id, K> = HashMap::new();
        let mut pace = Pace::default();
        while !stop.load(Ordering::Relaxed) {
            while let Some(done) = in_flight.try_join_next_with_id() {
                held.remove(&finished_id(&done));
            }
            let free = concurrency.saturating_sub(in_flight.len());
            let busy = match claim(free).await {
                Ok(claimed) => {
                    pace.ok();
                    let taken = claimed.jobs.len();
                    for job in claimed.jobs {
                        let k = key(&job);
                        held.insert(in_flight.spawn(work(job)).id(), k);
                    }
                    claimed.more || (taken > 0 && taken >= free)
                }
                Err(e) => {
                    pace.failed(self.name, &e.message);
                    false
                }
            };
            if !busy {
                // Idle: wake up for the next poll, or as soon as a job finishes (a slot is free).
                tokio::select! {
                    Some(done) = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                        held.remove(&finished_id(&done));
                    }
                    _ = tokio::time::sleep(pace.sleep_for(self.interval)) => {}
                }
            }
        }
        // Claimed jobs finish rather than wait for their leases to run out in another process.
        let drained = tokio::time::timeout(self.drain, async {
            while let Some(done) = in_flight.join_next_with_id().await {
                held.remove(&finished_id(&done));
            }
        });
        if drained.await.is_err() {
            tracing::warn!(
                worker = self.name,
                jobs = in_flight.len(),
                "jobs unfinished at shutdown; handing them back"
            );
        }
        // Stopped jobs keep what they committed. Their futures are dropped (requests cancelled)
        // before they are handed back; a job that finished meanwhile is not handed back.
        in_flight.abort_all();
        while let Some(done) = in_flight.join_next_with_id().await {
            if !matches!(&done, Err(e) if e.is_cancelled()) {
                held.remove(&finished_id(&done));
            }
        }
        held.into_values().collect()
    }
}

fn finished_id(done: &Result<(Id, ()), tokio::task::JoinError>) -> Id {
    match done {
        Ok((id, ())) => *id,
        Err(e) => e.id(),
    }
}

/// A thread named `name` running the future `make()` on a single-threaded runtime of its own (a
/// worker that waits on HTTP keeps its waiting off the server's threads).
pub fn spawn_runtime_thread<M, F>(name: &'static str, make: M) -> std::thread::JoinHandle<()>
where
    M: FnOnce() -> F + Send + 'static,
    F: Future<Output = ()>,
{
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(make()),
            Err(e) => tracing::error!(worker = name, error = %e, "cannot start the worker's runtime"),
        })
        .unwrap_or_else(|e| panic!("spawn the {name}: {e}"))
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let mut left = total;
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let slice = left.min(STOP_CHECK);
        std::thread::sleep(slice);
        left -= slice;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    #[test]
    fn back_off_doubles_and_is_capped() {
        let interval = Duration::from_millis(200);
        let mut pace = Pace::default();
        let within = |d: Duration, base: Duration| d >= base.mul_f64(0.89) && d <= base.mul_f64(1.11);
        assert!(within(pace.sleep_for(interval), interval));
        pace.failed("test", "down");
        assert!(within(pace.sleep_for(interval), interval * 2));
        for _ in 0..10 {
            pace.failed("test", "down");
        }
        assert!(within(pace.sleep_for(interval), MAX_BACKOFF));
        pace.ok();
        assert!(within(pace.sleep_for(interval), interval));
        // An interval longer than the cap is never shortened by an error.
        let long = Duration::from_secs(60);
        pace.failed("test", "down");
        assert!(within(pace.sleep_for(long), long));
    }

    #[test]
    fn drains_a_backlog_without_sleeping_then_stops_promptly() {
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicUsize::new(0));
        let counter = rounds.clone();
        let started = Instant::now();
        let handle = Polling::new("polling-test", Duration::from_secs(30)).spawn(stop.clone(), move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            if n == 2 {
                return Err(AppError::internal("one failure"));
            }
            Ok(n < 2 || (3..10).contains(&n))
        });
        while rounds.load(Ordering::SeqCst) < 3 {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(50));
        stop.store(true, Ordering::SeqCst);
        handle.join().unwrap();
        // Two busy rounds, then the error: its back-off (over 30 s) was cut short by the stop flag.
        assert_eq!(rounds.load(Ordering::SeqCst), 3);
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[test]
    fn claims_up_to_the_free_slots_and_polls_again_when_full() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let stop = AtomicBool::new(false);
        let asked = std::cell::RefCell::new(Vec::new());
        let done = Arc::new(AtomicUsize::new(0));
        let mut backlog = 7usize;
        let unfinished = runtime.block_on(Polling::new("claim-test", Duration::from_millis(20)).run_claiming(
            &stop,
            3,
            |free| {
                asked.borrow_mut().push(free);
                let n = free.min(backlog);
                backlog -= n;
                if backlog == 0 && n == 0 {
                    stop.store(true, Ordering::SeqCst);
                }
                async move { Ok(Claimed::jobs(vec![(); n])) }
            },
            |()| {
                let done = done.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    done.fetch_add(1, Ordering::SeqCst);
                }
            },
            |()| (),
        ));
        let asked = asked.into_inner();
        assert!(asked.iter().all(|&free| free <= 3), "{asked:?}");
        // Every slot filled: polled again at once (before any job ran), with none free.
        assert_eq!(asked[..2], [3, 0], "{asked:?}");
        // The whole backlog was claimed, and the jobs still running at the stop finished.
        assert_eq!(backlog, 0);
        assert_eq!(done.load(Ordering::SeqCst), 7);
        assert!(unfinished.is_empty());
    }

    #[test]
    fn jobs_unfinished_after_the_drain_are_returned_to_hand_back() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let stop = AtomicBool::new(false);
        let mut batch = Some(vec![1u32, 2, 3]);
        let started = Instant::now();
        let mut unfinished = runtime.block_on(
            Polling::new("hand-back-test", Duration::from_millis(10))
                .drain_within(Duration::from_millis(200))
                .run_claiming(
                    &stop,
                    4,
                    |_| {
                        let jobs = batch.take().unwrap_or_default();
                        if jobs.is_empty() {
                            stop.store(true, Ordering::SeqCst);
                        }
                        async move { Ok(Claimed::jobs(jobs)) }
                    },
                    // Job 2 finishes quickly; 1 and 3 would take a minute.
                    |n| async move { tokio::time::sleep(Duration::from_millis(if n == 2 { 5 } else { 60_000 })).await },
                    |n| *n * 10,
                ),
        );
        unfinished.sort_unstable();
        assert_eq!(unfinished, [10, 30]);
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }
}
