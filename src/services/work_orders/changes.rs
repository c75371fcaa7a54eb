//! Opening, changing and commenting work orders: one transaction each, audited, announced.

use super::sweep::sla_of;
use super::{announce, view, WorkOrderCommentView, WorkOrderView};
use crate::db::audit as audit_db;
use crate::db::differences::{self as diff_db, Comment as DifferenceComment, Difference};
use crate::db::documents as documents_db;
use crate::db::work_orders::{self as wo_db, WorkOrder, WorkOrderComment};
use crate::domain::auth::{Permission, Principal};
use crate::domain::difference_cause::Cause;
use crate::domain::work_order::{Priority, WorkOrderStatus};
use crate::error::{AppError, AppResult};
use crate::services::audit::snapshot;
use crate::services::differences::Party;
use crate::services::events::EventType;
use crate::services::require;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// A work order opened by hand from differences and/or documents (at least one, all of one
/// customer).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[graphql(name = "WorkOrderInput")]
#[serde(deny_unknown_fields)]
pub struct WorkOrderInput {
    pub title: String,
    pub assignee_id: Option<Uuid>,
    /// Default normal.
    pub priority: Option<Priority>,
    /// Default: the cause of the first linked difference that has one.
    pub cause: Option<Cause>,
    /// Default: now plus the tenant's service level for the cause.
    pub due_at: Option<DateTime<Utc>>,
    /// Default false. Only then are comments marked visible shared with the customer.
    #[serde(default)]
    #[graphql(default)]
    pub visible_to_customer: bool,
    #[serde(default)]
    #[graphql(default)]
    pub difference_ids: Vec<Uuid>,
    #[serde(default)]
    #[graphql(default)]
    pub document_ids: Vec<Uuid>,
}

/// Changes to a work order; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[graphql(name = "WorkOrderPatchInput")]
#[serde(deny_unknown_fields)]
pub struct WorkOrderPatch {
    pub title: Option<String>,
    /// A user id; null unassigns.
    #[serde(default, deserialize_with = "crate::services::present")]
    #[schema(value_type = Option<Uuid>)]
    #[graphql(skip)]
    pub assignee_id: Option<Option<Uuid>>,
    pub priority: Option<Priority>,
    /// A new cause recomputes `due_at` from the creation time unless `due_at` is given.
    pub cause: Option<Cause>,
    pub status: Option<WorkOrderStatus>,
    /// A new due date also re-arms the SLA breach announcement.
    pub due_at: Option<DateTime<Utc>>,
    pub visible_to_customer: Option<bool>,
    #[serde(default)]
    #[graphql(default)]
    pub add_difference_ids: Vec<Uuid>,
    #[serde(default)]
    #[graphql(default)]
    pub add_document_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[graphql(name = "WorkOrderCommentInput")]
#[serde(deny_unknown_fields)]
pub struct WorkOrderCommentInput {
    pub body: String,
    /// Share with the customer (in the linked differences' threads); needs a work order
    /// visible to the customer.
    #[serde(default)]
    #[graphql(default)]
    pub visible_to_customer: bool,
}

fn check_title(title: &str) -> AppResult<String> {
    let t = title.trim();
    if t.is_empty() || t.chars().count() > 200 || t.contains('\0') {
        return Err(AppError::invalid("title", "1 to 200 characters, no NUL"));
    }
    Ok(t.to_string())
}

fn check_assignee(conn: &mut PgConnection, tenant_id: Uuid, a: Option<Uuid>) -> AppResult<()> {
    if let Some(a) = a {
        if !wo_db::user_exists(conn, tenant_id, a)? {
            return Err(AppError::invalid("assignee_id", format!("no user {a} in this tenant")));
        }
    }
    Ok(())
}

/// The links' customer (all must share one) and the first difference cause found.
fn resolve_links(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    differences: &[Uuid],
    documents: &[Uuid],
    mut customer: Option<Uuid>,
) -> AppResult<(Option<Uuid>, Option<Cause>)> {
    let mut cause = None;
    let mut same = |c: Uuid, field: &str| -> AppResult<()> {
        match customer {
            Some(x) if x != c => Err(AppError::invalid(field, "every link must be of the work order's one customer")),
            _ => {
                customer = Some(c);
                Ok(())
            }
        }
    };
    for id in differences {
        let (d, _) = diff_db::find(conn, tenant_id, *id)
            .map_err(|_| AppError::invalid("difference_ids", format!("no difference {id}")))?;
        same(d.customer_id, "difference_ids")?;
        cause = cause.or(d.cause);
    }
    for id in documents {
        let (d, _) = documents_db::find(conn, tenant_id, *id)
            .map_err(|_| AppError::invalid("document_ids", format!("no document {id}")))?;
        same(d.customer_id, "document_ids")?;
    }
    Ok((customer, cause))
}

fn audit(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: (String, String),
    action: &str,
    id: Uuid,
    states: (Option<&WorkOrderView>, Option<&WorkOrderView>),
) -> AppResult<()> {
    let e = audit_db::NewAuditEntry {
        actor_type: actor.0,
        actor_id: actor.1,
        action: action.into(),
        entity_type: "work_order".into(),
        entity_id: id.to_string(),
        before: states.0.and_then(snapshot),
        after: states.1.and_then(snapshot),
    };
    audit_db::append(conn, tenant_id, vec![e])?;
    Ok(())
}

fn new_comment(w: &WorkOrder, author: (&str, &str), body: &str, visible: bool, at: DateTime<Utc>) -> WorkOrderComment {
    WorkOrderComment {
        id: Uuid::now_v7(),
        tenant_id: w.tenant_id,
        work_order_id: w.id,
        author_type: author.0.to_string(),
        author_id: author.1.to_string(),
        body: body.to_string(),
        visible_to_customer: visible,
        created_at: at,
    }
}

fn actor_of(p: &Principal) -> (String, String) {
    (p.actor.kind().to_string(), p.actor.id())
}

/// Inserts, links, audits and announces a new work order.
fn open(
    conn: &mut PgConnection,
    w: WorkOrder,
    links: (&[Uuid], &[Uuid]),
    actor: (String, String),
) -> AppResult<WorkOrderView> {
    wo_db::insert(conn, &w)?;
    wo_db::link(conn, w.tenant_id, w.id, links.0, links.1)?;
    let (row, code) = wo_db::find(conn, w.tenant_id, w.id)?;
    let v = view(conn, row.clone(), code)?;
    audit(conn, w.tenant_id, actor, "work_order.created", w.id, (None, Some(&v)))?;
    announce(conn, &row, EventType::WorkOrderCreated, &v, None)?;
    Ok(v)
}

pub fn create(conn: &mut PgConnection, p: &Principal, input: WorkOrderInput) -> AppResult<WorkOrderView> {
    require(p, Permission::WriteMatching)?;
    let title = check_title(&input.title)?;
    if input.difference_ids.is_empty() && input.document_ids.is_empty() {
        return Err(AppError::invalid("difference_ids", "link at least one difference or document"));
    }
    if input.difference_ids.len() + input.document_ids.len() > 100 {
        return Err(AppError::invalid("difference_ids", "at most 100 links"));
    }
    check_assignee(conn, p.tenant_id, input.assignee_id)?;
    let (customer_id, linked_cause) =
        resolve_links(conn, p.tenant_id, &input.difference_ids, &input.document_ids, None)?;
    let now = Utc::now();
    let cause = input.cause.or(linked_cause);
    let due_at = input.due_at.unwrap_or_else(|| sla_of(conn, p.tenant_id).due_at(cause, now));
    let (created_by_type, created_by_id) = actor_of(p);
    let w = WorkOrder {
        id: Uuid::now_v7(),
        tenant_id: p.tenant_id,
        title,
        customer_id,
        assignee_id: input.assignee_id,
        priority: input.priority.unwrap_or(Priority::Normal),
        cause,
        status: WorkOrderStatus::Open,
        due_at,
        visible_to_customer: input.visible_to_customer,
        dispute_difference_id: None,
        created_by_type,
        created_by_id,
        overdue_notified_at: None,
        created_at: now,
        updated_at: now,
    };
    open(conn, w, (&input.difference_ids, &input.document_ids), actor_of(p))
}

/// The work order a dispute opens (in the dispute's transaction), as the system's act (recorded
/// as `system` / `dispute`; the dispute itself is the party's): visible to the customer, due by
/// the dispute service level, linked to the difference and its document, with the reason given
/// as its first comment, written by the party that disputed.
pub fn open_for_dispute(
    conn: &mut PgConnection,
    party: &Party,
    d: &Difference,
    customer_code: &str,
    reason: &str,
) -> AppResult<WorkOrderView> {
    let now = Utc::now();
    let what = d.our_ref.clone().or(d.their_ref.clone()).unwrap_or_else(|| d.kind.as_str().to_string());
    let sub = d.sub_cause.map(|s| format!(" ({})", s.as_str())).unwrap_or_default();
    let (author_type, author_id) = party.actor();
    let (created_by_type, created_by_id) = ("system".to_string(), "dispute".to_string());
    let w = WorkOrder {
        id: Uuid::now_v7(),
        tenant_id: d.tenant_id,
        title: format!("Dispute of {customer_code}: {what}{sub}"),
        customer_id: Some(d.customer_id),
        assignee_id: None,
        priority: Priority::Normal,
        cause: d.cause.or(Some(Cause::Dispute)),
        status: WorkOrderStatus::Open,
        due_at: sla_of(conn, d.tenant_id).due_at(d.cause.or(Some(Cause::Dispute)), now),
        visible_to_customer: true,
        dispute_difference_id: Some(d.id),
        created_by_type,
        created_by_id,
        overdue_notified_at: None,
        created_at: now,
        updated_at: now,
    };
    let docs: Vec<Uuid> = d.our_document_id.into_iter().collect();
    wo_db::insert(conn, &w)?;
    wo_db::link(conn, w.tenant_id, w.id, &[d.id], &docs)?;
    if !reason.trim().is_empty() {
        wo_db::insert_comment(conn, &new_comment(&w, (&author_type, &author_id), reason.trim(), true, now))?;
    }
    let (row, code) = wo_db::find(conn, w.tenant_id, w.id)?;
    let v = view(conn, row.clone(), code)?;
    audit(conn, w.tenant_id, ("system".into(), "dispute".into()), "work_order.created", w.id, (None, Some(&v)))?;
    announce(conn, &row, EventType::WorkOrderCreated, &v, None)?;
    Ok(v)
}

/// Applies a patch's field changes to the row (links are added by the caller).
fn apply(conn: &mut PgConnection, w: &mut WorkOrder, patch: &WorkOrderPatch) -> AppResult<()> {
    if let Some(t) = &patch.title {
        w.title = check_title(t)?;
    }
    if let Some(a) = patch.assignee_id {
        check_assignee(conn, w.tenant_id, a)?;
        w.assignee_id = a;
    }
    if let Some(p) = patch.priority {
        w.priority = p;
    }
    if let Some(s) = patch.status {
        if s != w.status && !w.status.can_become(s) {
            return Err(AppError::conflict(format!("a {} work order cannot become {}", w.status.as_str(), s.as_str()))
                .with_details(json!({"status": w.status.as_str(), "requested": s.as_str()})));
        }
        w.status = s;
    }
    if let Some(c) = patch.cause {
        if w.cause != Some(c) && patch.due_at.is_none() {
            w.due_at = sla_of(conn, w.tenant_id).due_at(Some(c), w.created_at);
            w.overdue_notified_at = None;
        }
        w.cause = Some(c);
    }
    if let Some(due) = patch.due_at {
        if due != w.due_at {
            w.due_at = due;
            w.overdue_notified_at = None;
        }
    }
    if let Some(v) = patch.visible_to_customer {
        w.visible_to_customer = v;
    }
    Ok(())
}

pub fn update(conn: &mut PgConnection, p: &Principal, id: Uuid, patch: WorkOrderPatch) -> AppResult<WorkOrderView> {
    require(p, Permission::WriteMatching)?;
    let (mut w, code) = wo_db::find_for_update(conn, p.tenant_id, id).map_err(|_| AppError::not_found("work order"))?;
    let before = view(conn, w.clone(), code)?;
    apply(conn, &mut w, &patch)?;
    if !patch.add_difference_ids.is_empty() || !patch.add_document_ids.is_empty() {
        resolve_links(conn, p.tenant_id, &patch.add_difference_ids, &patch.add_document_ids, w.customer_id)?;
        wo_db::link(conn, w.tenant_id, w.id, &patch.add_difference_ids, &patch.add_document_ids)?;
    }
    w.updated_at = Utc::now();
    wo_db::update(conn, &w)?;
    let (row, code) = wo_db::find(conn, p.tenant_id, id)?;
    let after = view(conn, row.clone(), code)?;
    audit(conn, p.tenant_id, actor_of(p), "work_order.updated", id, (Some(&before), Some(&after)))?;
    announce(conn, &row, EventType::WorkOrderUpdated, &after, None)?;
    Ok(after)
}

/// A comment; one visible to the customer is also written into every linked difference's thread.
pub fn comment(
    conn: &mut PgConnection,
    p: &Principal,
    id: Uuid,
    input: WorkOrderCommentInput,
) -> AppResult<WorkOrderCommentView> {
    require(p, Permission::WriteMatching)?;
    let body = input.body.trim();
    if body.is_empty() || body.len() > 10_000 || body.contains('\0') {
        return Err(AppError::invalid("body", "1 to 10000 characters, no NUL"));
    }
    let (w, _) = wo_db::find_for_update(conn, p.tenant_id, id).map_err(|_| AppError::not_found("work order"))?;
    if input.visible_to_customer && !w.visible_to_customer {
        return Err(AppError::invalid("visible_to_customer", "the work order is not visible to the customer"));
    }
    let (author_type, author_id) = actor_of(p);
    let now = Utc::now();
    let c = new_comment(&w, (&author_type, &author_id), body, input.visible_to_customer, now);
    wo_db::insert_comment(conn, &c)?;
    if input.visible_to_customer {
        for difference_id in wo_db::linked_differences(conn, w.tenant_id, w.id)? {
            let shared = DifferenceComment {
                id: Uuid::now_v7(),
                tenant_id: w.tenant_id,
                difference_id,
                author_type: author_type.clone(),
                author_id: author_id.clone(),
                body: body.to_string(),
                attachments: json!([]),
                status_change: None,
                created_at: now,
            };
            diff_db::insert_comment(conn, &shared)?;
        }
    }
    let comment = super::comment_view(c);
    let (row, code) = wo_db::find(conn, p.tenant_id, id)?;
    let v = view(conn, row.clone(), code)?;
    let mut e = crate::services::audit::entry(p, "work_order.commented", "work_order", &id.to_string());
    e.after = snapshot(&comment);
    audit_db::append(conn, p.tenant_id, vec![e])?;
    announce(conn, &row, EventType::WorkOrderCommented, &v, Some(("comment", json!(comment))))?;
    Ok(comment)
}

/// A customer's comment on a difference reaches every work order linked to it that the customer
/// can see and that is still being worked on: the owner reads the reply there and is told by
/// `work_order.commented`. An order waiting for the customer is back in progress.
pub(crate) fn customer_replied(conn: &mut PgConnection, d: &Difference, party: &Party, body: &str) -> AppResult<()> {
    let body = body.trim();
    if body.is_empty() {
        return Ok(());
    }
    let (author_type, author_id) = party.actor();
    for id in wo_db::of_difference(conn, d.tenant_id, d.id)? {
        let (mut w, _) = wo_db::find_for_update(conn, d.tenant_id, id)?;
        if !w.visible_to_customer || matches!(w.status, WorkOrderStatus::Resolved | WorkOrderStatus::Cancelled) {
            continue;
        }
        let now = Utc::now();
        let c = new_comment(&w, (&author_type, &author_id), body, true, now);
        wo_db::insert_comment(conn, &c)?;
        // The customer answered: an order waiting for it is back in progress.
        let before = match w.status {
            WorkOrderStatus::WaitingForCustomer => {
                let (row, code) = wo_db::find(conn, w.tenant_id, w.id)?;
                let before = view(conn, row, code)?;
                w.status = WorkOrderStatus::InProgress;
                w.updated_at = now;
                wo_db::update(conn, &w)?;
                Some(before)
            }
            _ => None,
        };
        let (row, code) = wo_db::find(conn, w.tenant_id, w.id)?;
        let v = view(conn, row.clone(), code)?;
        if let Some(before) = before {
            let actor = (author_type.clone(), author_id.clone());
            audit(conn, w.tenant_id, actor, "work_order.updated", w.id, (Some(&before), Some(&v)))?;
            announce(conn, &row, EventType::WorkOrderUpdated, &v, None)?;
        }
        let comment = super::comment_view(c);
        let e = audit_db::NewAuditEntry {
            actor_type: author_type.clone(),
            actor_id: author_id.clone(),
            action: "work_order.commented".into(),
            entity_type: "work_order".into(),
            entity_id: w.id.to_string(),
            before: None,
            after: snapshot(&comment),
        };
        audit_db::append(conn, w.tenant_id, vec![e])?;
        announce(conn, &row, EventType::WorkOrderCommented, &v, Some(("comment", json!(comment))))?;
    }
    Ok(())
}
