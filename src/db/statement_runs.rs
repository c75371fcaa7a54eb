//! Statement runs (statements of account for many customers, produced in batches) and their
//! items, one per customer.

use super::schema::{customers, statement_run_items, statement_runs};
use crate::domain::run_status::RunStatus;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Jsonb, Uuid as SqlUuid};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = statement_runs)]
pub struct StatementRun {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub status: RunStatus,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub customers_total: i32,
    pub customers_done: i32,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub actor_type: String,
    pub actor_id: String,
}

/// (id, code) of the tenant's customers with these codes.
pub fn customers_by_code(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    codes: &[String],
) -> QueryResult<Vec<(Uuid, String)>> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::code.eq_any(codes))
        .select((customers::id, customers::code))
        .load(conn)
}

pub fn active_customer_ids(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<Uuid>> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::status.eq("active"))
        .select(customers::id)
        .load(conn)
}

/// The run and one pending item per customer.
pub fn insert(conn: &mut PgConnection, run: &StatementRun, customer_ids: &[Uuid]) -> QueryResult<()> {
    diesel::insert_into(statement_runs::table).values(run).execute(conn)?;
    for chunk in customer_ids.chunks(10_000) {
        let items: Vec<_> = chunk
            .iter()
            .map(|c| {
                (
                    statement_run_items::run_id.eq(run.id),
                    statement_run_items::tenant_id.eq(run.tenant_id),
                    statement_run_items::customer_id.eq(*c),
                )
            })
            .collect();
        diesel::insert_into(statement_run_items::table).values(&items).execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<StatementRun> {
    statement_runs::table
        .filter(statement_runs::tenant_id.eq(tenant_id))
        .filter(statement_runs::id.eq(id))
        .select(StatementRun::as_select())
        .first(conn)
}

/// The oldest unfinished run nobody else is working on, locked for this transaction.
pub fn lock_next_pending(conn: &mut PgConnection) -> QueryResult<Option<StatementRun>> {
    statement_runs::table
        .filter(statement_runs::status.eq_any([RunStatus::Queued.as_str(), RunStatus::Running.as_str()]))
        .order(statement_runs::created_at)
        .select(StatementRun::as_select())
        .for_update()
        .skip_locked()
        .first(conn)
        .optional()
}

/// Ids of up to `limit` customers of the run still to do, in id order (the partial index of
/// pending items: done ones are not walked again by every batch).
pub fn pending_customers(conn: &mut PgConnection, tenant_id: Uuid, run_id: Uuid, limit: i64) -> QueryResult<Vec<Uuid>> {
    statement_run_items::table
        .filter(statement_run_items::tenant_id.eq(tenant_id))
        .filter(statement_run_items::run_id.eq(run_id))
        .filter(diesel::dsl::not(statement_run_items::done))
        .order(statement_run_items::customer_id)
        .limit(limit)
        .select(statement_run_items::customer_id)
        .load(conn)
}

/// (id, code) of the tenant's customers with these ids.
pub fn customer_codes(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, String)>> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq_any(ids))
        .select((customers::id, customers::code))
        .load(conn)
}

/// One customer's statement of the run, produced.
pub struct ItemDone {
    pub customer_id: Uuid,
    pub closing_balances: Value,
    pub lines: i32,
}

/// Marks the customers' items done, with their closing balances, in one statement.
pub fn items_done(conn: &mut PgConnection, tenant_id: Uuid, run_id: Uuid, done: &[ItemDone]) -> QueryResult<()> {
    let ids: Vec<Uuid> = done.iter().map(|d| d.customer_id).collect();
    let balances: Vec<&Value> = done.iter().map(|d| &d.closing_balances).collect();
    let lines: Vec<i32> = done.iter().map(|d| d.lines).collect();
    diesel::sql_query(
        "UPDATE statement_run_items i SET done = true, closing_balances = v.closing, lines = v.lines \
           FROM unnest($2::uuid[], $3::jsonb[], $4::int[]) AS v(customer_id, closing, lines) \
          WHERE i.run_id = $1 AND i.customer_id = v.customer_id AND i.tenant_id = $5",
    )
    .bind::<SqlUuid, _>(run_id)
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Jsonb>, _>(&balances)
    .bind::<Array<Integer>, _>(&lines)
    .bind::<SqlUuid, _>(tenant_id)
    .execute(conn)
    .map(|_| ())
}

pub fn progress(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    run_id: Uuid,
    done: i32,
    status: RunStatus,
    finished_at: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    diesel::update(
        statement_runs::table.filter(statement_runs::tenant_id.eq(tenant_id)).filter(statement_runs::id.eq(run_id)),
    )
    .set((
        statement_runs::customers_done.eq(done),
        statement_runs::status.eq(status.as_str()),
        statement_runs::finished_at.eq(finished_at),
    ))
    .execute(conn)
    .map(|_| ())
}
