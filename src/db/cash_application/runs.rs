//! Reconciliation runs: the queue, the claim (SKIP LOCKED plus a session advisory lock per run),
//! heartbeats, hand-back and completion.

use super::super::schema::reconciliation_runs;
use crate::domain::run_status::RunStatus;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reconciliation_runs)]
pub struct Run {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub status: RunStatus,
    pub bank_account_id: Option<Uuid>,
    pub booked_from: Option<NaiveDate>,
    pub booked_to: Option<NaiveDate>,
    pub lines_total: i32,
    pub lines_processed: i32,
    pub auto_applied: i32,
    pub proposed: i32,
    pub unmatched: i32,
    pub error: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub actor_type: String,
    pub actor_id: String,
    pub heartbeat_at: Option<DateTime<Utc>>,
}

pub fn insert_run(conn: &mut PgConnection, run: &Run) -> QueryResult<()> {
    diesel::insert_into(reconciliation_runs::table).values(run).execute(conn).map(|_| ())
}

pub fn find_run(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Run> {
    reconciliation_runs::table
        .filter(reconciliation_runs::tenant_id.eq(tenant_id))
        .filter(reconciliation_runs::id.eq(id))
        .select(Run::as_select())
        .first(conn)
}

/// The session-level advisory lock a worker holds on its connection while it owns a run. The
/// lock dies with the connection: when the process is killed (or loses the database), PostgreSQL
/// drops the connection, rolls the run's transaction back and frees the lock, so a run that says
/// `running` while nobody holds its lock has lost its worker and can be taken over at once,
/// without waiting for a heartbeat timeout. (The low 8 bytes of a UUIDv7 are random.)
fn run_lock_key(run_id: Uuid) -> i64 {
    let low: [u8; 8] = run_id.as_bytes()[8..].try_into().unwrap_or([0; 8]);
    i64::from_be_bytes(low) ^ 0x7275_6e5f_6c6f_636b // "run_lock"
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Takes the run's lock for this connection's session unless another session holds it.
fn try_lock_run(conn: &mut PgConnection, run_id: Uuid) -> QueryResult<bool> {
    diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<diesel::sql_types::BigInt, _>(run_lock_key(run_id))
        .get_result::<Locked>(conn)
        .map(|r| r.locked)
}

/// Releases the lock [`claim_run`] took; call it on the same connection when the run is done.
pub fn unlock_run(conn: &mut PgConnection, run_id: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(run_lock_key(run_id))
        .execute(conn)
        .map(|_| ())
}

/// Claims the oldest queued run, or a running one whose worker is gone (nobody holds its lock:
/// the worker died, its transaction rolled back, so the run starts over). On success the run's
/// lock is held by this connection's session until [`unlock_run`]. Several server processes can
/// call this at once: SKIP LOCKED and the advisory lock hand each run to one of them.
pub fn claim_run(conn: &mut PgConnection) -> QueryResult<Option<Run>> {
    let candidates: Vec<Run> = reconciliation_runs::table
        .filter(reconciliation_runs::status.eq_any([RunStatus::Queued.as_str(), RunStatus::Running.as_str()]))
        .order(reconciliation_runs::created_at.asc())
        .select(Run::as_select())
        .for_update()
        .skip_locked()
        .limit(20)
        .load(conn)?;
    let mut claimed = None;
    for run in candidates {
        if try_lock_run(conn, run.id)? {
            claimed = Some(run);
            break;
        }
    }
    let Some(run) = claimed else { return Ok(None) };
    let now = Utc::now();
    let this_run = || reconciliation_runs::table.filter(reconciliation_runs::tenant_id.eq(run.tenant_id)).find(run.id);
    diesel::update(this_run())
        .set((
            reconciliation_runs::status.eq(RunStatus::Running.as_str()),
            reconciliation_runs::started_at.eq(Some(now)),
            reconciliation_runs::heartbeat_at.eq(Some(now)),
            reconciliation_runs::attempts.eq(run.attempts + 1),
            reconciliation_runs::lines_processed.eq(0),
        ))
        .execute(conn)?;
    this_run().select(Run::as_select()).first(conn).map(Some)
}

/// Puts a run this session holds back in the queue, as it was before [`claim_run`] took it (its
/// attempt not counted): a graceful shutdown stopped it, so another process takes it at once.
pub fn requeue_run(conn: &mut PgConnection, id: Uuid, attempts: i32) -> QueryResult<()> {
    diesel::update(reconciliation_runs::table.find(id))
        .set((
            reconciliation_runs::status.eq(RunStatus::Queued.as_str()),
            reconciliation_runs::started_at.eq(None::<DateTime<Utc>>),
            reconciliation_runs::attempts.eq(attempts),
            reconciliation_runs::lines_processed.eq(0),
        ))
        .execute(conn)
        .map(|_| ())
}

/// This connection's server process, for [`cancel_backend`] from another connection.
pub fn backend_pid(conn: &mut PgConnection) -> QueryResult<i32> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("pg_backend_pid()")).get_result(conn)
}

/// Cancels the statement the server process `pid` is running (nothing when it is idle).
pub fn cancel_backend(conn: &mut PgConnection, pid: i32) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_cancel_backend($1)")
        .bind::<diesel::sql_types::Integer, _>(pid)
        .execute(conn)
        .map(|_| ())
}

pub fn heartbeat(conn: &mut PgConnection, id: Uuid, lines_total: i32, processed: i32) -> QueryResult<()> {
    diesel::update(reconciliation_runs::table.find(id))
        .set((
            reconciliation_runs::heartbeat_at.eq(Some(Utc::now())),
            reconciliation_runs::lines_total.eq(lines_total),
            reconciliation_runs::lines_processed.eq(processed),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn finish_run(conn: &mut PgConnection, run: &Run) -> QueryResult<()> {
    diesel::update(reconciliation_runs::table.filter(reconciliation_runs::tenant_id.eq(run.tenant_id)).find(run.id))
        .set((
            reconciliation_runs::status.eq(run.status.as_str()),
            reconciliation_runs::lines_total.eq(run.lines_total),
            reconciliation_runs::lines_processed.eq(run.lines_processed),
            reconciliation_runs::auto_applied.eq(run.auto_applied),
            reconciliation_runs::proposed.eq(run.proposed),
            reconciliation_runs::unmatched.eq(run.unmatched),
            reconciliation_runs::error.eq(&run.error),
            reconciliation_runs::finished_at.eq(run.finished_at),
            reconciliation_runs::heartbeat_at.eq(Some(Utc::now())),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Drops every advisory lock this connection's session holds (so none stays on a pooled
/// connection after an error).
pub fn release_session_locks(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_unlock_all()").execute(conn).map(|_| ())
}
