//! What the read routing asks the servers: the primary's WAL position after a write, how far a
//! standby has replayed, and how far behind it is. `pg_lsn` travels as its text (`16/B374D848`).

use diesel::pg::PgConnection;
use diesel::sql_types::{Double, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Nullable<Text>)]
    lsn: Option<String>,
}

/// The primary's current WAL insert position: every transaction committed before this call
/// ends at or before it. Not `pg_current_wal_lsn()` (what has been written out): with
/// `synchronous_commit = off` a commit record may not be written yet when its answer is sent.
pub fn current_wal_lsn(conn: &mut PgConnection) -> diesel::QueryResult<Option<String>> {
    diesel::sql_query("SELECT pg_current_wal_insert_lsn()::text AS lsn").get_result::<Position>(conn).map(|p| p.lsn)
}

/// How far a standby has replayed the primary's WAL; `None` on a server that is not in
/// recovery (a primary named as the read URL).
pub fn replay_lsn(conn: &mut PgConnection) -> diesel::QueryResult<Option<String>> {
    diesel::sql_query("SELECT pg_last_wal_replay_lsn()::text AS lsn").get_result::<Position>(conn).map(|p| p.lsn)
}

#[derive(QueryableByName)]
struct Lag {
    #[diesel(sql_type = Nullable<Double>)]
    seconds: Option<f64>,
}

/// Seconds since the last transaction the standby replayed was committed on the primary, or 0
/// when it has replayed all it received (an idle primary sends nothing, and the standby is not
/// behind then); `None` on a server that is not in recovery.
pub fn replay_lag_seconds(conn: &mut PgConnection) -> diesel::QueryResult<Option<f64>> {
    diesel::sql_query(
        "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL \
                     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                     ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) \
                END::float8 AS seconds",
    )
    .get_result::<Lag>(conn)
    .map(|l| l.seconds)
}
