//! Dispute work orders (争议处理工单, docs/disputes.md): opened automatically when a customer
//! disputes a difference, or by hand from any differences or documents; assigned, prioritised,
//! due by the tenant's service level for their cause, moved along their lifecycle and commented.
//! A comment visible to the customer is also written into every linked difference's thread,
//! where the portal reads it. Every change is audited and announced (`work_order.*`, with the
//! order's customer and `{"work_order": <view>}`).

mod changes;
pub mod sweep;

pub(crate) use changes::customer_replied;
pub use changes::{comment, create, open_for_dispute, update};
pub use changes::{WorkOrderCommentInput, WorkOrderInput, WorkOrderPatch};
pub use sweep::{get_settings, put_settings, sweep_overdue, sweep_tenant, SweepOutcome};

use super::events::{self, EventType};
use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use crate::db::work_orders::{self as wo_db, WorkOrder, WorkOrderComment, WorkOrderFilter};
use crate::domain::auth::{Permission, Principal};
use crate::domain::difference_cause::Cause;
use crate::domain::work_order::{Priority, WorkOrderStatus};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct WorkOrderCommentView {
    pub id: Uuid,
    /// user | api_key | system | customer
    pub author_type: String,
    pub author_id: String,
    pub body: String,
    /// Also written into the linked differences' threads (the portal sees it there).
    pub visible_to_customer: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct LinkedDocument {
    pub id: Uuid,
    pub doc_no: String,
}

/// A work order as `GET /work-orders/{id}` shows it, and as every `work_order.*` event carries it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct WorkOrderView {
    pub id: Uuid,
    pub title: String,
    pub status: WorkOrderStatus,
    pub priority: Priority,
    /// technical | process | dispute; null when not classified.
    pub cause: Option<Cause>,
    /// A user of the tenant.
    pub assignee_id: Option<Uuid>,
    pub customer_code: Option<String>,
    pub due_at: DateTime<Utc>,
    /// When the SLA sweep announced the breach of `due_at` (reset when `due_at` changes).
    pub overdue_notified_at: Option<DateTime<Utc>>,
    pub visible_to_customer: bool,
    /// The disputed difference that opened it, when it was opened automatically.
    pub dispute_difference_id: Option<Uuid>,
    pub difference_ids: Vec<Uuid>,
    pub documents: Vec<LinkedDocument>,
    pub comments: Vec<WorkOrderCommentView>,
    pub created_by_type: String,
    pub created_by_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn comment_view(c: WorkOrderComment) -> WorkOrderCommentView {
    WorkOrderCommentView {
        id: c.id,
        author_type: c.author_type,
        author_id: c.author_id,
        body: c.body,
        visible_to_customer: c.visible_to_customer,
        created_at: c.created_at,
    }
}

pub(crate) fn view(conn: &mut PgConnection, w: WorkOrder, customer_code: Option<String>) -> AppResult<WorkOrderView> {
    let difference_ids = wo_db::linked_differences(conn, w.tenant_id, w.id)?;
    let documents = wo_db::linked_documents(conn, w.tenant_id, w.id)?
        .into_iter()
        .map(|(id, doc_no)| LinkedDocument { id, doc_no })
        .collect();
    let comments = wo_db::comments(conn, w.tenant_id, w.id)?.into_iter().map(comment_view).collect();
    Ok(WorkOrderView {
        id: w.id,
        title: w.title,
        status: w.status,
        priority: w.priority,
        cause: w.cause,
        assignee_id: w.assignee_id,
        customer_code,
        due_at: w.due_at,
        overdue_notified_at: w.overdue_notified_at,
        visible_to_customer: w.visible_to_customer,
        dispute_difference_id: w.dispute_difference_id,
        difference_ids,
        documents,
        comments,
        created_by_type: w.created_by_type,
        created_by_id: w.created_by_id,
        created_at: w.created_at,
        updated_at: w.updated_at,
    })
}

/// Emits a `work_order.*` event: the order's customer, and the view under `work_order`.
pub(crate) fn announce(
    conn: &mut PgConnection,
    w: &WorkOrder,
    event: EventType,
    view: &WorkOrderView,
    extra: Option<(&str, serde_json::Value)>,
) -> AppResult<()> {
    let mut data = json!({ "work_order": view });
    if let Some((k, v)) = extra {
        data[k] = v;
    }
    events::emit(conn, w.tenant_id, w.customer_id, event, data)?;
    Ok(())
}

pub fn get(conn: &mut PgConnection, p: &Principal, id: Uuid) -> AppResult<WorkOrderView> {
    require(p, Permission::Read)?;
    let (w, code) = wo_db::find(conn, p.tenant_id, id).map_err(|_| AppError::not_found("work order"))?;
    view(conn, w, code)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WorkOrderQuery {
    /// A user id.
    pub assignee: Option<Uuid>,
    /// One status or several, comma-separated (`open,in_progress`).
    pub status: Option<String>,
    /// Due strictly before this time.
    pub due_before: Option<DateTime<Utc>>,
    /// Due at or after this time.
    pub due_after: Option<DateTime<Utc>>,
    /// technical | process | dispute
    pub cause: Option<String>,
    /// Customer code.
    pub customer: Option<String>,
    /// `opened` (default: in the order they were opened) or `due_at` (soonest due first, what is
    /// about to breach its service level on top).
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn filter_of(conn: &mut PgConnection, tenant_id: Uuid, q: &WorkOrderQuery) -> AppResult<WorkOrderFilter> {
    let words = WorkOrderStatus::ALL.map(WorkOrderStatus::as_str);
    let statuses =
        crate::services::pagination::parse_word_list("status", q.status.as_deref(), &words, WorkOrderStatus::parse)?;
    let cause = match q.cause.as_deref() {
        Some(c) => Some(Cause::parse(c).ok_or_else(|| AppError::invalid("cause", format!("unknown cause {c:?}")))?),
        None => None,
    };
    let customer_id = crate::services::customers::filter_id(conn, tenant_id, q.customer.as_deref())?;
    let by_due = match q.sort.as_deref() {
        None | Some("opened") => false,
        Some("due_at") => true,
        Some(other) => return Err(AppError::invalid("sort", format!("opened or due_at, not {other:?}"))),
    };
    Ok(WorkOrderFilter {
        by_due,
        assignee_id: q.assignee,
        statuses,
        due_before: q.due_before,
        due_after: q.due_after,
        cause,
        customer_id,
        visible_to_customer: false,
        after: parse_cursor(q.cursor.as_deref())?,
        limit: 0,
    })
}

pub fn list(conn: &mut PgConnection, p: &Principal, q: WorkOrderQuery, max: i64) -> AppResult<Page<WorkOrderView>> {
    require(p, Permission::Read)?;
    let limit = effective_limit(q.limit, max)?;
    let mut f = filter_of(conn, p.tenant_id, &q)?;
    f.limit = limit + 1;
    // In due order the cursor's own due date is where the next page starts: it must exist.
    let rows = match wo_db::list(conn, p.tenant_id, &f) {
        Err(diesel::result::Error::NotFound) => {
            return Err(AppError::invalid("cursor", "not a cursor returned by this API"));
        }
        rows => rows?,
    };
    let pg = page(rows, limit, |(w, _)| w.id, |r| r);
    let mut items = Vec::with_capacity(pg.items.len());
    for (w, code) in pg.items {
        items.push(view(conn, w, code)?);
    }
    Ok(Page { items, next_cursor: pg.next_cursor })
}
