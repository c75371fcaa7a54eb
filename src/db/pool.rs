//! The connection pool: r2d2 over diesel's `PgConnection`, with a fair queue in front of it for
//! requests and a cheaper health check than r2d2's default.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, ManageConnection, Pool, PoolError, PooledConnection};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The connection pool, with a fair queue in front of it for requests.
///
/// r2d2 hands a returned connection to whichever thread takes the pool's lock first, not to
/// the one that has waited longest, and a waiter that runs out of its wait slice (see
/// [`checkout`]) starts over at the back. Under load (more requests in flight than connections)
/// a few requests would lose race after race and wait many times longer than the rest. So
/// requests take a permit of a FIFO semaphore sized to the pool before they go to the blocking
/// pool: they are served in arrival order, and at most as many threads as there are connections
/// compete for them. Background workers use the pool directly.
#[derive(Clone)]
pub struct DbPool {
    pool: Pool<PgManager>,
    pub(super) gate: Arc<tokio::sync::Semaphore>,
    /// Callers waiting for a connection now: requests queued at the gate, and any caller
    /// (request or background worker) waiting inside the pool (reported by `GET /metrics`).
    pub(super) waiting: Arc<std::sync::atomic::AtomicUsize>,
}

impl DbPool {
    /// Callers waiting for a connection now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A connection, waiting up to the pool's timeout; the wait is counted in [`DbPool::waiting`].
    /// (Shadows r2d2's `Pool::get`, so the background workers' checkouts are counted too.)
    pub fn get(&self) -> Result<PooledConnection<PgManager>, PoolError> {
        let _waiting = Waiting::enter(&self.waiting);
        self.pool.get()
    }
}

/// Counts a caller waiting for a connection while it lives.
pub(super) struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    pub(super) fn enter(count: &'a std::sync::atomic::AtomicUsize) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl std::ops::Deref for DbPool {
    type Target = Pool<PgManager>;
    fn deref(&self) -> &Self::Target {
        &self.pool
    }
}

/// The pool size when `DUIZHANG_DB_POOL_SIZE` is not set: twice the cores, plus four for the
/// background workers and long jobs (imports, matching runs) that hold a connection for long.
///
/// More busy connections do not make a small machine faster, only its tails longer: past about
/// twice the cores the backends only compete for the CPU, so every statement (even a readiness
/// check's `SELECT 1`) waits longer while throughput stays the same.
pub fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) as u32;
    2 * cores + 4
}

pub fn build_pool(database_url: &str, size: u32, acquire_timeout: Duration) -> Result<DbPool, String> {
    let pool = build_lazy_pool(database_url, size, acquire_timeout);
    // Touch the database once so a wrong URL is reported at start, not on the first request.
    pool.get().map(|_| ()).map_err(|e| format!("cannot connect to the database: {e}"))?;
    Ok(pool)
}

/// A pool that does not connect before it is used: a database that is down must not stop
/// start-up for long; requests then get 503 after `acquire_timeout` (or, for the read replica,
/// the primary) and the pool reconnects by itself when the server is back.
pub fn build_lazy_pool(database_url: &str, size: u32, acquire_timeout: Duration) -> DbPool {
    let pool = Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(acquire_timeout)
        .test_on_check_out(true) // see PgManager::is_valid: a no-op for connections in use
        .build_unchecked(PgManager { inner: ConnectionManager::new(database_url) });
    DbPool { pool, gate: Arc::new(tokio::sync::Semaphore::new(size as usize)), waiting: Arc::default() }
}

/// How often a request waiting for a connection looks whether the pool still has any.
const EMPTY_POOL_WAIT: Duration = Duration::from_millis(300);

/// A pooled connection. While the pool has connections (busy or idle), a request waits for one
/// up to the acquire timeout: they come free. A pool that has none at all has lost the database
/// (broken connections are dropped on return or, idle, when taken; otherwise the pool keeps at
/// least one open and re-opens it in the background): waiting the whole timeout there would only pile requests up
/// on the blocking threads, so the wait ends at the next look (a reconnect in progress finishes
/// well within it) with a 503. The background reconnects go on, so the pool recovers by itself.
pub(super) fn checkout(pool: &DbPool, deadline: Instant) -> Result<PooledConnection<PgManager>, PoolError> {
    let _waiting = Waiting::enter(&pool.waiting);
    loop {
        let slice = deadline.saturating_duration_since(Instant::now()).min(EMPTY_POOL_WAIT);
        match pool.get_timeout(slice) {
            Ok(conn) => return Ok(conn),
            Err(e) if pool.state().connections == 0 || Instant::now() >= deadline => return Err(e),
            Err(_) => continue,
        }
    }
}

/// A connection used within this window is not pinged when it is taken again (HikariCP's
/// "alive bypass window"): a ping at every checkout (r2d2's default) is a round trip and a
/// statement on every request, about a quarter of the cost of a simple read, and a connection
/// used a moment ago is alive.
/// A connection that broke while in use is not lost track of: diesel marks it broken from
/// libpq's status after the failed statement, and r2d2 drops it on return
/// ([`PgManager::has_broken`]).
const RECENTLY_USED: Duration = Duration::from_millis(500);

/// Set on every connection when it is opened.
///
/// JIT off: the service's large statements (an import's plan, a run's loads, the reports) are
/// costed far above PostgreSQL's JIT thresholds, and compiling them cost more than it saved:
/// 0.3 s of a 100,000-row ledger request's 1.4 s plan, 1 to 13 s of a report on 1.46M
/// documents. Each plan runs once, so the compiled code is never reused.
const SESSION_SETTINGS: &str = "SET jit = off";

/// diesel's r2d2 manager, with connections that remember when they were last used.
#[derive(Debug)]
pub struct PgManager {
    inner: ConnectionManager<PgConnection>,
}

/// A pooled PostgreSQL connection: derefs to diesel's `PgConnection`.
pub struct PgConn {
    conn: PgConnection,
    returned_at: Instant,
}

impl std::ops::Deref for PgConn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

impl ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConn, Self::Error> {
        let mut conn = self.inner.connect()?;
        conn.batch_execute(SESSION_SETTINGS).map_err(diesel::r2d2::Error::QueryError)?;
        Ok(PgConn { conn, returned_at: Instant::now() })
    }

    /// Run when a connection is taken: pings only one that has been idle, since a database
    /// restart or an idle timeout on the way may have closed it meanwhile.
    fn is_valid(&self, c: &mut PgConn) -> Result<(), Self::Error> {
        if c.returned_at.elapsed() < RECENTLY_USED {
            return Ok(());
        }
        self.inner.is_valid(&mut c.conn)
    }

    /// Run when a connection comes back: diesel's verdict (a lost connection, or a transaction
    /// left open or in error).
    fn has_broken(&self, c: &mut PgConn) -> bool {
        c.returned_at = Instant::now();
        self.inner.has_broken(&mut c.conn)
    }
}
