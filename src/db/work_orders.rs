//! Dispute work orders, their links to differences and documents, their comments, the tenant's
//! service levels, and the SLA sweep's claim of breached orders.

use super::schema::{
    customers, documents, users, work_order_comments, work_order_differences, work_order_documents,
    work_order_settings, work_orders,
};
use crate::domain::difference_cause::Cause;
use crate::domain::work_order::{Priority, WorkOrderStatus};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = work_orders)]
pub struct WorkOrder {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub title: String,
    pub customer_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub priority: Priority,
    pub cause: Option<Cause>,
    pub status: WorkOrderStatus,
    pub due_at: DateTime<Utc>,
    pub visible_to_customer: bool,
    pub dispute_difference_id: Option<Uuid>,
    pub created_by_type: String,
    pub created_by_id: String,
    pub overdue_notified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = work_order_comments)]
pub struct WorkOrderComment {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub work_order_id: Uuid,
    pub author_type: String,
    pub author_id: String,
    pub body: String,
    pub visible_to_customer: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default, Clone)]
pub struct WorkOrderFilter {
    /// Soonest due first (then by id), else by id (the order they were opened in).
    pub by_due: bool,
    pub assignee_id: Option<Uuid>,
    pub statuses: Vec<WorkOrderStatus>,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub cause: Option<Cause>,
    pub customer_id: Option<Uuid>,
    /// Only orders the customer may see (the portal).
    pub visible_to_customer: bool,
    pub after: Option<Uuid>,
    pub limit: i64,
}

pub fn insert(conn: &mut PgConnection, w: &WorkOrder) -> QueryResult<()> {
    diesel::insert_into(work_orders::table).values(w).execute(conn)?;
    Ok(())
}

/// Links (ignoring links that exist already).
pub fn link(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    differences: &[Uuid],
    docs: &[Uuid],
) -> QueryResult<()> {
    let d: Vec<_> = differences
        .iter()
        .map(|x| {
            (
                work_order_differences::tenant_id.eq(tenant_id),
                work_order_differences::work_order_id.eq(id),
                work_order_differences::difference_id.eq(*x),
            )
        })
        .collect();
    diesel::insert_into(work_order_differences::table).values(d).on_conflict_do_nothing().execute(conn)?;
    let docs: Vec<_> = docs
        .iter()
        .map(|x| {
            (
                work_order_documents::tenant_id.eq(tenant_id),
                work_order_documents::work_order_id.eq(id),
                work_order_documents::document_id.eq(*x),
            )
        })
        .collect();
    diesel::insert_into(work_order_documents::table).values(docs).on_conflict_do_nothing().execute(conn)?;
    Ok(())
}

pub fn linked_differences(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Vec<Uuid>> {
    work_order_differences::table
        .filter(work_order_differences::tenant_id.eq(tenant_id))
        .filter(work_order_differences::work_order_id.eq(id))
        .select(work_order_differences::difference_id)
        .order(work_order_differences::difference_id)
        .load(conn)
}

/// Linked documents: (id, doc_no).
pub fn linked_documents(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Vec<(Uuid, String)>> {
    work_order_documents::table
        .inner_join(documents::table.on(documents::id.eq(work_order_documents::document_id)))
        .filter(work_order_documents::tenant_id.eq(tenant_id))
        .filter(documents::tenant_id.eq(tenant_id))
        .filter(work_order_documents::work_order_id.eq(id))
        .select((documents::id, documents::doc_no))
        .order(documents::doc_no)
        .load(conn)
}

/// The work orders linked to a difference.
pub fn of_difference(conn: &mut PgConnection, tenant_id: Uuid, difference_id: Uuid) -> QueryResult<Vec<Uuid>> {
    work_order_differences::table
        .filter(work_order_differences::tenant_id.eq(tenant_id))
        .filter(work_order_differences::difference_id.eq(difference_id))
        .select(work_order_differences::work_order_id)
        .load(conn)
}

/// A work order with its customer's code.
pub type WorkOrderWithCustomer = (WorkOrder, Option<String>);

fn with_code(conn: &mut PgConnection, w: WorkOrder) -> QueryResult<WorkOrderWithCustomer> {
    let code = match w.customer_id {
        Some(c) => Some(
            customers::table
                .filter(customers::tenant_id.eq(w.tenant_id))
                .filter(customers::id.eq(c))
                .select(customers::code)
                .first(conn)?,
        ),
        None => None,
    };
    Ok((w, code))
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<WorkOrderWithCustomer> {
    let w = work_orders::table
        .filter(work_orders::tenant_id.eq(tenant_id))
        .filter(work_orders::id.eq(id))
        .select(WorkOrder::as_select())
        .first(conn)?;
    with_code(conn, w)
}

pub fn find_for_update(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<WorkOrderWithCustomer> {
    let w = work_orders::table
        .filter(work_orders::tenant_id.eq(tenant_id))
        .filter(work_orders::id.eq(id))
        .select(WorkOrder::as_select())
        .for_update()
        .first(conn)?;
    with_code(conn, w)
}

/// A page of work orders; `NotFound` when, in due order, the cursor names no work order.
pub fn list(conn: &mut PgConnection, tenant_id: Uuid, f: &WorkOrderFilter) -> QueryResult<Vec<WorkOrderWithCustomer>> {
    let mut q = work_orders::table
        .left_join(customers::table.on(customers::id.nullable().eq(work_orders::customer_id)))
        .filter(work_orders::tenant_id.eq(tenant_id))
        .filter(customers::tenant_id.eq(tenant_id).or(customers::tenant_id.is_null()))
        .select((WorkOrder::as_select(), customers::code.nullable()))
        .limit(f.limit)
        .into_boxed();
    q = if f.by_due { q.order((work_orders::due_at, work_orders::id)) } else { q.order(work_orders::id) };
    if let Some(a) = f.assignee_id {
        q = q.filter(work_orders::assignee_id.eq(a));
    }
    if !f.statuses.is_empty() {
        q = q.filter(work_orders::status.eq_any(f.statuses.clone()));
    }
    if let Some(t) = f.due_before {
        q = q.filter(work_orders::due_at.lt(t));
    }
    if let Some(t) = f.due_after {
        q = q.filter(work_orders::due_at.ge(t));
    }
    if let Some(c) = f.cause {
        q = q.filter(work_orders::cause.eq(c));
    }
    if let Some(c) = f.customer_id {
        q = q.filter(work_orders::customer_id.eq(c));
    }
    if f.visible_to_customer {
        q = q.filter(work_orders::visible_to_customer.eq(true));
    }
    match (f.after, f.by_due) {
        (Some(a), false) => q = q.filter(work_orders::id.gt(a)),
        (Some(a), true) => {
            // The cursor is the last order of the page before: continue after its (due_at, id).
            // One that names no work order is `NotFound` (it cannot say where the page starts).
            let due: DateTime<Utc> = work_orders::table
                .filter(work_orders::tenant_id.eq(tenant_id))
                .filter(work_orders::id.eq(a))
                .select(work_orders::due_at)
                .first(conn)?;
            q = q.filter(work_orders::due_at.gt(due).or(work_orders::due_at.eq(due).and(work_orders::id.gt(a))));
        }
        (None, _) => {}
    }
    q.load(conn)
}

/// The changeable fields, written whole.
pub fn update(conn: &mut PgConnection, w: &WorkOrder) -> QueryResult<()> {
    diesel::update(work_orders::table.filter(work_orders::tenant_id.eq(w.tenant_id)).filter(work_orders::id.eq(w.id)))
        .set((
            work_orders::title.eq(&w.title),
            work_orders::assignee_id.eq(w.assignee_id),
            work_orders::priority.eq(w.priority),
            work_orders::cause.eq(w.cause),
            work_orders::status.eq(w.status),
            work_orders::due_at.eq(w.due_at),
            work_orders::visible_to_customer.eq(w.visible_to_customer),
            work_orders::overdue_notified_at.eq(w.overdue_notified_at),
            work_orders::updated_at.eq(w.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_comment(conn: &mut PgConnection, c: &WorkOrderComment) -> QueryResult<()> {
    diesel::insert_into(work_order_comments::table).values(c).execute(conn)?;
    Ok(())
}

pub fn comments(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Vec<WorkOrderComment>> {
    work_order_comments::table
        .filter(work_order_comments::tenant_id.eq(tenant_id))
        .filter(work_order_comments::work_order_id.eq(id))
        .select(WorkOrderComment::as_select())
        .order((work_order_comments::created_at, work_order_comments::id))
        .load(conn)
}

/// Whether the user belongs to the tenant.
pub fn user_exists(conn: &mut PgConnection, tenant_id: Uuid, user_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::tenant_id.eq(tenant_id)).filter(users::id.eq(user_id)),
    ))
    .get_result(conn)
}

/// Service levels: (technical, process, dispute, unclassified) hours.
pub fn settings(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Option<(i32, i32, i32, i32)>> {
    work_order_settings::table
        .find(tenant_id)
        .select((
            work_order_settings::technical_hours,
            work_order_settings::process_hours,
            work_order_settings::dispute_hours,
            work_order_settings::unclassified_hours,
        ))
        .first(conn)
        .optional()
}

pub fn save_settings(conn: &mut PgConnection, tenant_id: Uuid, h: (i32, i32, i32, i32)) -> QueryResult<()> {
    let row = (
        work_order_settings::tenant_id.eq(tenant_id),
        work_order_settings::technical_hours.eq(h.0),
        work_order_settings::process_hours.eq(h.1),
        work_order_settings::dispute_hours.eq(h.2),
        work_order_settings::unclassified_hours.eq(h.3),
        work_order_settings::updated_at.eq(Utc::now()),
    );
    diesel::insert_into(work_order_settings::table)
        .values(row)
        .on_conflict(work_order_settings::tenant_id)
        .do_update()
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Claims up to `limit` active work orders whose due date passed by `now` and that no sweep has
/// announced yet: marks them announced in the same statement, so of several processes sweeping
/// at once exactly one gets each (the row lock of the UPDATE; `SKIP LOCKED` lets the others move
/// on). The caller emits the events in the same transaction.
pub fn claim_overdue(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    tenant_id: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<WorkOrder>> {
    let every_tenant = tenant_id.is_none().into_sql::<diesel::sql_types::Bool>();
    let ids: Vec<(Uuid, Uuid)> = work_orders::table
        .filter(work_orders::tenant_id.eq(tenant_id.unwrap_or_default()).or(every_tenant))
        .filter(work_orders::overdue_notified_at.is_null())
        .filter(work_orders::due_at.lt(now))
        .filter(work_orders::status.eq_any([
            WorkOrderStatus::Open,
            WorkOrderStatus::InProgress,
            WorkOrderStatus::WaitingForCustomer,
        ]))
        .select((work_orders::id, work_orders::tenant_id))
        .order(work_orders::due_at)
        .limit(limit)
        .for_update()
        .skip_locked()
        .load(conn)?;
    let mut out = Vec::with_capacity(ids.len());
    for (id, tenant_id) in ids {
        let claimed: Option<WorkOrder> = diesel::update(
            work_orders::table
                .filter(work_orders::tenant_id.eq(tenant_id))
                .filter(work_orders::id.eq(id))
                .filter(work_orders::overdue_notified_at.is_null()),
        )
        .set(work_orders::overdue_notified_at.eq(now))
        .returning(WorkOrder::as_returning())
        .get_result(conn)
        .optional()?;
        out.extend(claimed);
    }
    Ok(out)
}
