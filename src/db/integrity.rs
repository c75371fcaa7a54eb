//! The integrity check's queries: each check is a SELECT of `tenant_id, subject, detail` (all
//! text) of every offending row; `services::integrity` defines the checks and reports them.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

#[derive(QueryableByName)]
pub struct OffendingRow {
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Text)]
    pub detail: String,
}

/// For the rest of the transaction: hash joins only, so every check is one pass over its
/// tables whatever the statistics say (on tables never analysed the planner may merge-join on
/// `tenant_id` alone and compare every pair).
pub fn hash_joins_only(conn: &mut PgConnection) -> QueryResult<()> {
    conn.batch_execute("SET LOCAL enable_mergejoin = off; SET LOCAL enable_nestloop = off")
}

/// At most `limit` rows of a check's SELECT.
pub fn offending_rows(conn: &mut PgConnection, check_sql: &str, limit: usize) -> QueryResult<Vec<OffendingRow>> {
    diesel::sql_query(format!("{check_sql} LIMIT {limit}")).load(conn)
}
