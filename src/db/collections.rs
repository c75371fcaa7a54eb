//! Collection work: the tenant's collection settings, tasks, the contact log and promises to pay.

use super::schema::{collection_settings, collection_tasks, contact_log, customers, payment_promises};
use crate::domain::collection::{
    AssignmentRule, BrokenPromiseAction, ContactChannel, ContactOutcome, PromiseStatus, TaskKind, TaskSource,
    TaskStatus,
};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Date, Numeric, Text, Uuid as SqlUuid};
use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = collection_settings, treat_none_as_null = true)]
pub struct Settings {
    pub tenant_id: Uuid,
    pub assignment: AssignmentRule,
    pub team: Vec<Uuid>,
    pub round_robin_next: i32,
    pub task_due_days: i32,
    pub broken_promise_action: BrokenPromiseAction,
    pub updated_at: DateTime<Utc>,
}

pub fn settings(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Option<Settings>> {
    collection_settings::table.find(tenant_id).select(Settings::as_select()).first(conn).optional()
}

pub fn save_settings(conn: &mut PgConnection, s: &Settings) -> QueryResult<()> {
    diesel::insert_into(collection_settings::table)
        .values(s)
        .on_conflict(collection_settings::tenant_id)
        .do_update()
        .set(s)
        .execute(conn)
        .map(|_| ())
}

/// Stores where the team's turn continues (only that: the settings are not rewritten).
pub fn set_round_robin_next(conn: &mut PgConnection, tenant_id: Uuid, next: i32) -> QueryResult<()> {
    diesel::update(collection_settings::table.find(tenant_id))
        .set(collection_settings::round_robin_next.eq(next))
        .execute(conn)
        .map(|_| ())
}

/// Owners of the given customers (those without one are left out).
pub fn owners(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, Uuid)>> {
    let rows: Vec<(Uuid, Option<Uuid>)> = customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq_any(ids))
        .filter(customers::owner_user_id.is_not_null())
        .select((customers::id, customers::owner_user_id))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(c, o)| o.map(|o| (c, o))).collect())
}

pub fn set_owner(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid, owner: Option<Uuid>) -> QueryResult<()> {
    diesel::update(customers::table)
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq(customer_id))
        .set((customers::owner_user_id.eq(owner), customers::updated_at.eq(Utc::now())))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = collection_tasks, treat_none_as_null = true)]
pub struct Task {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub source: TaskSource,
    pub assignee_user_id: Option<Uuid>,
    pub due_on: NaiveDate,
    pub level_code: Option<String>,
    pub run_id: Option<Uuid>,
    pub promise_id: Option<Uuid>,
    pub reason: String,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

pub fn insert_tasks(conn: &mut PgConnection, rows: &[Task]) -> QueryResult<()> {
    for chunk in rows.chunks(3000) {
        diesel::insert_into(collection_tasks::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

pub fn update_task(conn: &mut PgConnection, t: &Task) -> QueryResult<()> {
    diesel::update(collection_tasks::table)
        .filter(collection_tasks::tenant_id.eq(t.tenant_id))
        .filter(collection_tasks::id.eq(t.id))
        .set(t)
        .execute(conn)
        .map(|_| ())
}

pub fn task(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Task>> {
    collection_tasks::table
        .filter(collection_tasks::tenant_id.eq(tenant_id))
        .filter(collection_tasks::id.eq(id))
        .select(Task::as_select())
        .first(conn)
        .optional()
}

pub fn task_for_update(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Task>> {
    collection_tasks::table
        .filter(collection_tasks::tenant_id.eq(tenant_id))
        .filter(collection_tasks::id.eq(id))
        .select(Task::as_select())
        .for_update()
        .first(conn)
        .optional()
}

#[derive(Debug, Default, Clone)]
pub struct TaskFilter {
    pub assignee: Option<Uuid>,
    pub status: Option<TaskStatus>,
    pub customer_id: Option<Uuid>,
    pub due_before: Option<NaiveDate>,
    pub due_after: Option<NaiveDate>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// Tasks in id order (creation order), `limit + 1` of them so the caller knows if more exist.
pub fn tasks(conn: &mut PgConnection, tenant_id: Uuid, f: &TaskFilter) -> QueryResult<Vec<Task>> {
    let mut q = collection_tasks::table
        .filter(collection_tasks::tenant_id.eq(tenant_id))
        .select(Task::as_select())
        .into_boxed();
    if let Some(a) = f.assignee {
        q = q.filter(collection_tasks::assignee_user_id.eq(a));
    }
    if let Some(s) = f.status {
        q = q.filter(collection_tasks::status.eq(s));
    }
    if let Some(c) = f.customer_id {
        q = q.filter(collection_tasks::customer_id.eq(c));
    }
    if let Some(d) = f.due_before {
        q = q.filter(collection_tasks::due_on.le(d));
    }
    if let Some(d) = f.due_after {
        q = q.filter(collection_tasks::due_on.ge(d));
    }
    if let Some(after) = f.after {
        q = q.filter(collection_tasks::id.gt(after));
    }
    q.order(collection_tasks::id.asc()).limit(f.limit + 1).load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contact_log)]
pub struct ContactEntry {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub task_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub channel: ContactChannel,
    pub outcome: ContactOutcome,
    pub note: Option<String>,
    pub contacted_on: NaiveDate,
    pub actor_type: String,
    pub actor_id: String,
    pub created_at: DateTime<Utc>,
}

pub fn insert_contact(conn: &mut PgConnection, e: &ContactEntry) -> QueryResult<()> {
    diesel::insert_into(contact_log::table).values(e).execute(conn).map(|_| ())
}

/// A customer's contact log, newest first, `limit + 1` entries before `before` (a cursor).
pub fn contacts_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ContactEntry>> {
    let mut q = contact_log::table
        .filter(contact_log::tenant_id.eq(tenant_id))
        .filter(contact_log::customer_id.eq(customer_id))
        .select(ContactEntry::as_select())
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(contact_log::id.lt(b));
    }
    q.order(contact_log::id.desc()).limit(limit + 1).load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, QueryableByName)]
#[diesel(table_name = payment_promises)]
pub struct Promise {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub contact_log_id: Uuid,
    pub made_on: NaiveDate,
    pub promised_date: NaiveDate,
    pub amount: Decimal,
    pub currency: String,
    pub status: PromiseStatus,
    pub paid_amount: Decimal,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub fn insert_promise(conn: &mut PgConnection, p: &Promise) -> QueryResult<()> {
    diesel::insert_into(payment_promises::table).values(p).execute(conn).map(|_| ())
}

pub fn promises_of(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<Vec<Promise>> {
    payment_promises::table
        .filter(payment_promises::tenant_id.eq(tenant_id))
        .filter(payment_promises::customer_id.eq(customer_id))
        .order(payment_promises::id.desc())
        .limit(500)
        .select(Promise::as_select())
        .load(conn)
}

/// Whether the tenant has any pending promise (most runs then skip the check).
pub fn any_pending(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        payment_promises::table
            .filter(payment_promises::tenant_id.eq(tenant_id))
            .filter(payment_promises::status.eq(PromiseStatus::Pending)),
    ))
    .get_result(conn)
}

/// The promises in `status` of the customers owning the given documents, locked for their update.
pub fn of_documents_in_status(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    documents: &[Uuid],
    status: PromiseStatus,
) -> QueryResult<Vec<Promise>> {
    diesel::sql_query(
        "SELECT p.* FROM payment_promises p \
          WHERE p.tenant_id = $1 AND p.status = $3 AND p.customer_id IN \
                (SELECT d.customer_id FROM documents d JOIN unnest($2::uuid[]) AS k(id) ON d.id = k.id WHERE d.tenant_id = $1) \
          ORDER BY p.id FOR UPDATE OF p",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(documents)
    .bind::<diesel::sql_types::Text, _>(status.as_str())
    .load(conn)
}

/// Pending promises whose date is before `as_of`, locked for their update.
pub fn pending_due_before(conn: &mut PgConnection, tenant_id: Uuid, as_of: NaiveDate) -> QueryResult<Vec<Promise>> {
    payment_promises::table
        .filter(payment_promises::tenant_id.eq(tenant_id))
        .filter(payment_promises::status.eq(PromiseStatus::Pending))
        .filter(payment_promises::promised_date.lt(as_of))
        .order(payment_promises::id.asc())
        .select(Promise::as_select())
        .for_update()
        .load(conn)
}

pub fn resolve_promise(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    status: PromiseStatus,
    paid: Decimal,
) -> QueryResult<()> {
    let resolved_at = (status != PromiseStatus::Pending).then(Utc::now);
    diesel::update(payment_promises::table)
        .filter(payment_promises::tenant_id.eq(tenant_id))
        .filter(payment_promises::id.eq(id))
        .set((
            payment_promises::status.eq(status),
            payment_promises::paid_amount.eq(paid),
            payment_promises::resolved_at.eq(resolved_at),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(QueryableByName)]
struct Paid {
    #[diesel(sql_type = Numeric)]
    paid: Decimal,
}

/// What the customer paid toward a promise: applied allocations (auto-applied or confirmed) to
/// its documents in the promise's currency, from bank lines booked between `from` and `to`.
pub fn paid_between(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    currency: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Decimal> {
    let row: Paid = diesel::sql_query(
        "SELECT coalesce(sum(al.amount), 0) AS paid FROM allocations al \
           JOIN documents d ON d.tenant_id = al.tenant_id AND d.id = al.document_id \
           JOIN bank_lines l ON l.tenant_id = al.tenant_id AND l.id = al.bank_line_id \
          WHERE al.tenant_id = $1 AND d.customer_id = $2 AND d.currency = $3 \
            AND al.state IN ('auto_applied', 'confirmed') AND l.booking_date BETWEEN $4 AND $5",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(customer_id)
    .bind::<Text, _>(currency)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .get_result(conn)?;
    Ok(row.paid)
}

/// The promised dates of the customers' promises that were broken or only partly kept, from a
/// day on.
pub fn broken_since(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    customers: &[Uuid],
    since: NaiveDate,
) -> QueryResult<Vec<(Uuid, NaiveDate)>> {
    payment_promises::table
        .filter(payment_promises::tenant_id.eq(tenant_id))
        .filter(payment_promises::customer_id.eq_any(customers))
        .filter(payment_promises::status.eq_any([PromiseStatus::Broken, PromiseStatus::PartiallyKept]))
        .filter(payment_promises::promised_date.ge(since))
        .select((payment_promises::customer_id, payment_promises::promised_date))
        .load(conn)
}
