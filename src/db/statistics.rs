//! Planner statistics of the tables bulk writes grow. PostgreSQL plans every read from them, and
//! autovacuum refreshes them a minute or more after a table changed: right after a ledger import,
//! a bank file or a run had grown a table severalfold, reads were planned for the table as it had
//! been (a report asking for twenty customers' payments hashed every allocation: 7 s instead of
//! 20 ms). A write that grew or rewrote a good part of a table takes its statistics again, in its
//! own transaction (ANALYZE counts the transaction's own rows), so they commit with the rows.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// Tables that a single request can grow by hundreds of thousands of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grown {
    Documents,
    BankLines,
    /// Only the columns reads filter and join on: the explanations are large and never filtered.
    Allocations,
}

impl Grown {
    fn analyze(self) -> String {
        match self {
            Grown::Allocations => {
                format!("ANALYZE {} (tenant_id, document_id, bank_line_id, state, amount)", self.name())
            }
            _ => format!("ANALYZE {}", self.name()),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Grown::Documents => "documents",
            Grown::BankLines => "bank_lines",
            Grown::Allocations => "allocations",
        }
    }
}

/// Fewer rows than this never refresh statistics (autovacuum's own threshold takes care of them).
const MIN_ROWS: u64 = 10_000;

/// A write of at least this share of the table's rows (as last estimated) refreshes them.
const SHARE: f64 = 0.2;

/// Refreshes `table`'s statistics when `written` rows are a good part of it; returns whether it
/// did. Never waits: when another transaction is taking them (another import's, autovacuum's),
/// this one leaves it at that. Call it last in the transaction: it runs in a savepoint, so a
/// refusal leaves the transaction as it was.
pub fn refresh_if_grown(conn: &mut PgConnection, table: Grown, written: u64) -> QueryResult<bool> {
    if written < MIN_ROWS {
        return Ok(false);
    }
    #[derive(QueryableByName)]
    struct Estimate {
        #[diesel(sql_type = diesel::sql_types::Double)]
        rows: f64,
    }
    let estimate: Estimate =
        diesel::sql_query("SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = $1::regclass")
            .bind::<diesel::sql_types::Text, _>(table.name())
            .get_result(conn)?;
    // -1: never analysed.
    if estimate.rows >= 0.0 && (written as f64) < SHARE * estimate.rows {
        return Ok(false);
    }
    let analysed = conn.transaction(|c| {
        c.batch_execute(&format!(
            "SELECT set_config('duizhang.lock_timeout', current_setting('lock_timeout'), true); \
             SET LOCAL lock_timeout = '100ms'; {}; \
             SELECT set_config('lock_timeout', current_setting('duizhang.lock_timeout'), true)",
            table.analyze()
        ))
    });
    match analysed {
        Ok(()) => Ok(true),
        Err(diesel::result::Error::DatabaseError(_, info)) if info.message().contains("lock timeout") => Ok(false),
        Err(e) => Err(e),
    }
}
