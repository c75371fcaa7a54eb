//! Read-only work on a streaming standby (`DATABASE_READ_URL`), with read-your-writes.
//!
//! After a caller's write the API remembers the primary's WAL position (an [`Lsn`]) for that
//! caller; the caller's next reads go to the replica only once it has replayed that position,
//! waiting at most `DUIZHANG_READ_YOUR_WRITES_WAIT_MS`, else they are answered by the primary.
//! A replica that cannot be reached, or fails a read, is left alone for [`DOWN_FOR`] and its
//! reads go to the primary. Which routes are read-only is the API's decision; this module only
//! chooses the server for the work it is handed.

use crate::db::{self, replica as replica_db, DbPool};
use crate::error::{AppError, AppResult, ErrorCode};
use diesel::PgConnection;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a replica that failed is not asked again (its reads go to the primary meanwhile).
pub const DOWN_FOR: Duration = Duration::from_secs(5);

/// Callers whose last write is remembered; beyond this the oldest are forgotten (first those the
/// replica has replayed already, which need nothing).
pub const REMEMBERED_CALLERS: usize = 10_000;

/// A position in the primary's WAL, PostgreSQL's `pg_lsn` (`16/B374D848`: high and low 32 bits
/// in hex). Callers get it as the `Duizhang-Lsn` header and may send it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

impl Lsn {
    pub fn parse(text: &str) -> Option<Lsn> {
        let (high, low) = text.trim().split_once('/')?;
        let (high, low) = (u32::from_str_radix(high, 16).ok()?, u32::from_str_radix(low, 16).ok()?);
        Some(Lsn((u64::from(high) << 32) | u64::from(low)))
    }
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Whose writes a read must see: the tenant and the API key, user or portal token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallerKey {
    pub tenant: Uuid,
    pub principal: Uuid,
}

/// Which server answered a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSource {
    Replica,
    Primary,
}

impl ReadSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadSource::Replica => "replica",
            ReadSource::Primary => "primary",
        }
    }
}

/// The replica's pool and what this process knows about it. One per app instance.
pub struct ReadReplica {
    pool: DbPool,
    wait: Duration,
    /// Each caller's last write: its position and when it was made.
    writes: Mutex<HashMap<CallerKey, (Lsn, Instant)>>,
    /// The furthest replay position seen on the replica: positions up to it need no question.
    replayed: AtomicU64,
    down_until: Mutex<Option<Instant>>,
}

impl ReadReplica {
    pub fn new(pool: DbPool, read_your_writes_wait: Duration) -> ReadReplica {
        ReadReplica {
            pool,
            wait: read_your_writes_wait,
            writes: Mutex::default(),
            replayed: AtomicU64::new(0),
            down_until: Mutex::default(),
        }
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// After a write by `caller` committed: the primary's WAL position now, remembered for the
    /// caller. `None` when the primary could not say (the caller's reads then wait for nothing
    /// they can name; the write's own answer already reached them).
    pub async fn record_write(&self, primary: &DbPool, caller: Option<CallerKey>) -> Option<Lsn> {
        let text = db::read(primary, |conn| replica_db::current_wal_lsn(conn).map_err(AppError::from)).await;
        let lsn = Lsn::parse(&text.ok()??)?;
        if let Some(caller) = caller {
            self.remember(caller, lsn);
        }
        Some(lsn)
    }

    fn remember(&self, caller: CallerKey, lsn: Lsn) {
        let mut writes = self.writes.lock().expect("replica writes lock");
        if writes.len() >= REMEMBERED_CALLERS && !writes.contains_key(&caller) {
            let replayed = Lsn(self.replayed.load(Ordering::Relaxed));
            writes.retain(|_, (lsn, _)| *lsn > replayed);
            if writes.len() >= REMEMBERED_CALLERS {
                let oldest = writes.iter().min_by_key(|(_, (_, at))| *at).map(|(key, _)| *key);
                writes.remove(&oldest.expect("a full map has an oldest entry"));
            }
        }
        let entry = writes.entry(caller).or_insert((lsn, Instant::now()));
        *entry = (entry.0.max(lsn), Instant::now());
    }

    /// Callers remembered now (for tests and the bound above).
    pub fn remembered(&self) -> usize {
        self.writes.lock().expect("replica writes lock").len()
    }

    fn last_write(&self, caller: Option<CallerKey>) -> Option<Lsn> {
        let caller = caller?;
        let mut writes = self.writes.lock().expect("replica writes lock");
        let lsn = writes.get(&caller)?.0;
        // Replayed already: nothing more to wait for, now or later.
        if lsn.0 <= self.replayed.load(Ordering::Relaxed) {
            writes.remove(&caller);
            return None;
        }
        Some(lsn)
    }

    fn is_down(&self) -> bool {
        let down = self.down_until.lock().expect("replica state lock");
        down.is_some_and(|until| Instant::now() < until)
    }

    /// The replica failed: its reads go to the primary for [`DOWN_FOR`]. What it had replayed
    /// is forgotten, since a restarted standby may begin behind that.
    pub fn mark_down(&self) {
        *self.down_until.lock().expect("replica state lock") = Some(Instant::now() + DOWN_FOR);
        self.replayed.store(0, Ordering::Relaxed);
    }

    /// A read failed on the replica (it runs again on the primary). Only an outage takes the
    /// replica out of use; a refused statement or a cancelled query concerns that read alone.
    pub fn failed(&self, error: &AppError) {
        tracing::warn!(code = error.code.as_str(), error = %error.message, "read failed on the replica; answering from the primary");
        if error.code == ErrorCode::ServiceUnavailable {
            self.mark_down();
        }
    }

    /// Where a read by `caller` (who may also name a position, `client_lsn`) runs: the replica
    /// unless it is down, or has not replayed the caller's last write within the bounded wait.
    pub async fn choose(&self, caller: Option<CallerKey>, client_lsn: Option<Lsn>) -> ReadSource {
        if self.is_down() {
            return ReadSource::Primary;
        }
        let Some(need) = self.last_write(caller).max(client_lsn) else {
            return ReadSource::Replica;
        };
        if need.0 <= self.replayed.load(Ordering::Relaxed) {
            return ReadSource::Replica;
        }
        self.wait_for(need).await
    }

    /// Polls the replica's replay position until it reaches `need` (replica) or the wait ends
    /// (primary). The pause between questions grows from 5 ms to 50 ms.
    async fn wait_for(&self, need: Lsn) -> ReadSource {
        let deadline = Instant::now() + self.wait;
        let mut pause = Duration::from_millis(5);
        loop {
            let asked = db::read(&self.pool, |conn| replica_db::replay_lsn(conn).map_err(AppError::from)).await;
            match asked {
                Ok(Some(text)) => {
                    let replayed = Lsn::parse(&text).unwrap_or(Lsn(0));
                    self.replayed.fetch_max(replayed.0, Ordering::Relaxed);
                    if replayed >= need {
                        return ReadSource::Replica;
                    }
                }
                // Not a standby: nothing says it holds the write.
                Ok(None) => return ReadSource::Primary,
                Err(e) => {
                    tracing::warn!(error = %e.message, "read replica unreachable; reading from the primary");
                    self.mark_down();
                    return ReadSource::Primary;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return ReadSource::Primary;
            }
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// The replica's lag in seconds (see `db::replica::replay_lag_seconds`); `None` when it
    /// cannot be reached or is not a standby.
    pub async fn lag_seconds(&self) -> Option<f64> {
        if self.is_down() {
            return None;
        }
        db::read(&self.pool, |conn| replica_db::replay_lag_seconds(conn).map_err(AppError::from)).await.ok().flatten()
    }
}

/// How a read-only use case runs: one transaction (answers built from several queries agree),
/// or statements on their own (a single SELECT, see `db::read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    Transaction,
    Statement,
}

/// Where a read comes from and for whom: the caller, and the position the caller sent back.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadContext {
    pub caller: Option<CallerKey>,
    pub client_lsn: Option<Lsn>,
}

/// Runs a read-only use case on the replica when [`ReadReplica::choose`] allows it, else on the
/// primary. An error the replica caused (unreachable, a conflict with recovery, a statement a
/// standby refuses) is not the caller's: the work runs again on the primary, which is why it
/// must be `Clone` and must not write. The source is `None` without a replica.
pub async fn run_read_only<T, F>(
    primary: &DbPool,
    replica: Option<&ReadReplica>,
    context: ReadContext,
    mode: ReadMode,
    work: F,
) -> (AppResult<T>, Option<ReadSource>)
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Clone + Send + 'static,
    T: Send + 'static,
{
    let Some(replica) = replica else {
        return (run_on(primary, mode, work).await, None);
    };
    if replica.choose(context.caller, context.client_lsn).await == ReadSource::Replica {
        match run_on(&replica.pool, mode, work.clone()).await {
            Err(e) if is_replica_failure(&e) => replica.failed(&e),
            answered => return (answered, Some(ReadSource::Replica)),
        }
    }
    (run_on(primary, mode, work).await, Some(ReadSource::Primary))
}

/// Errors that say nothing about the request, only about the server that ran it: an outage
/// (503), a statement a standby refuses or another failure (500), a query cancelled by a
/// conflict with recovery (SQLSTATE 40001, which reads as a concurrent update).
pub fn is_replica_failure(error: &AppError) -> bool {
    match error.code {
        ErrorCode::Internal | ErrorCode::ServiceUnavailable => true,
        ErrorCode::Conflict => error.message == crate::error::CONCURRENT_UPDATE,
        _ => false,
    }
}

async fn run_on<T, F>(pool: &DbPool, mode: ReadMode, work: F) -> AppResult<T>
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    match mode {
        ReadMode::Transaction => db::transaction(pool, work).await,
        ReadMode::Statement => db::read(pool, work).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text_round_trips_and_orders() {
        let lsn = Lsn::parse("16/B374D848").unwrap();
        assert_eq!(lsn.0, 0x16_B374_D848);
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert!(Lsn::parse("0/1").unwrap() < Lsn::parse("1/0").unwrap());
        for bad in ["", "16", "x/1", "1/", "100000000/0"] {
            assert_eq!(Lsn::parse(bad), None, "{bad}");
        }
    }

    /// A replica whose server is never asked (nothing here needs one).
    fn unreachable_replica() -> ReadReplica {
        let pool = db::build_lazy_pool("postgres://nobody@127.0.0.1:1/none", 1, Duration::from_millis(10));
        ReadReplica::new(pool, Duration::from_millis(10))
    }

    fn caller(n: u128) -> CallerKey {
        CallerKey { tenant: Uuid::from_u128(1), principal: Uuid::from_u128(n) }
    }

    #[test]
    fn the_remembered_writes_stay_bounded_and_replayed_ones_go_first() {
        let replica = unreachable_replica();
        replica.remember(caller(0), Lsn(100));
        std::thread::sleep(Duration::from_millis(2)); // strictly the oldest
        for n in 1..REMEMBERED_CALLERS as u128 {
            replica.remember(caller(n), Lsn(100 + n as u64));
        }
        assert_eq!(replica.remembered(), REMEMBERED_CALLERS);
        // Full, nothing replayed: the oldest caller is forgotten for the new one.
        replica.remember(caller(u128::MAX), Lsn(1));
        assert_eq!(replica.remembered(), REMEMBERED_CALLERS);
        assert_eq!(replica.last_write(Some(caller(0))), None);
        assert_eq!(replica.last_write(Some(caller(1))), Some(Lsn(101)));
        // A caller's position only grows.
        replica.remember(caller(1), Lsn(5));
        assert_eq!(replica.last_write(Some(caller(1))), Some(Lsn(101)));
        // Once the replica has replayed past them, entries make room all at once.
        replica.replayed.store(100 + 5_000, Ordering::Relaxed);
        replica.remember(caller(u128::MAX - 1), Lsn(1));
        assert!(replica.remembered() <= REMEMBERED_CALLERS - 4_000, "{}", replica.remembered());
        assert_eq!(replica.last_write(Some(caller(9_000))), Some(Lsn(9_100)));
    }

    #[tokio::test]
    async fn callers_without_writes_read_the_replica_unless_it_is_down() {
        let replica = unreachable_replica();
        assert_eq!(replica.choose(Some(caller(1)), None).await, ReadSource::Replica);
        assert_eq!(replica.choose(None, None).await, ReadSource::Replica);
        replica.mark_down();
        assert_eq!(replica.choose(Some(caller(1)), None).await, ReadSource::Primary);
    }

    #[test]
    fn only_errors_of_the_server_send_a_read_to_the_primary() {
        assert!(is_replica_failure(&AppError::unavailable("gone")));
        assert!(is_replica_failure(&AppError::new(ErrorCode::Internal, "internal error")));
        assert!(is_replica_failure(&AppError::conflict(crate::error::CONCURRENT_UPDATE)));
        assert!(!is_replica_failure(&AppError::conflict("already confirmed")));
        assert!(!is_replica_failure(&AppError::new(ErrorCode::NotFound, "not found")));
        assert!(!is_replica_failure(&AppError::forbidden("no")));
    }
}
