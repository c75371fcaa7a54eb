//! Differences found by statement reconciliation and their life with the customer: sending,
//! the customer's confirmation or dispute, resolution (optionally with an adjustment document),
//! cancellation, and the comment thread both sides see. Every change is audited, commented in
//! the thread and announced through the outbox.

use super::difference_causes::view_for_customer;
use super::events::{self, EventType};
use super::pagination::{effective_limit, page, parse_cursor};
use super::require;
use crate::db::audit::{self as audit_db, NewAuditEntry};
use crate::db::customers as customers_db;
use crate::db::differences::{self as diff_db, Comment, Difference, DifferenceFilter};
use crate::domain::auth::{Permission, PortalPrincipal, Principal};
use crate::domain::difference::{DifferenceKind, DifferenceStatus};
use crate::domain::difference_cause::{Cause, CauseSource, SubCause};
use crate::domain::document::DocType;
use crate::domain::money::format_amount;
use crate::error::{AppError, AppResult};
use crate::services::documents::{self, DocumentInput};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DifferenceView {
    pub id: Uuid,
    pub customer_code: String,
    pub statement_id: Uuid,
    pub kind: DifferenceKind,
    pub status: DifferenceStatus,
    /// Our document number (or bank line / write-off description) involved, if any.
    pub our_ref: Option<String>,
    pub our_document_id: Option<Uuid>,
    /// The customer's reference, if their side has the item.
    pub their_ref: Option<String>,
    pub our_amount: Option<String>,
    pub their_amount: Option<String>,
    pub currency: String,
    pub our_date: Option<NaiveDate>,
    pub their_date: Option<NaiveDate>,
    /// For people: what differs and the likely cause.
    pub explanation: String,
    /// What this difference adds to (our balance - their balance).
    pub balance_effect: String,
    pub resolution_note: Option<String>,
    pub adjustment_document_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// technical | process | dispute; null while not classified (docs/disputes.md).
    pub cause: Option<Cause>,
    pub sub_cause: Option<SubCause>,
    /// suggested (by the service, from the evidence or the customer's dispute) | manual.
    pub cause_source: Option<CauseSource>,
    /// Why the cause was suggested, or the note of whoever set it (not shown in the portal).
    pub cause_explanation: Option<String>,
}

impl DifferenceView {
    pub fn new(d: Difference, customer_code: String) -> DifferenceView {
        let amount = |a: Option<rust_decimal::Decimal>| a.map(|a| format_amount(&d.currency, a));
        DifferenceView {
            id: d.id,
            customer_code,
            statement_id: d.statement_id,
            kind: d.kind,
            status: d.status,
            our_amount: amount(d.our_amount),
            their_amount: amount(d.their_amount),
            balance_effect: format_amount(&d.currency, d.balance_effect),
            our_ref: d.our_ref,
            our_document_id: d.our_document_id,
            their_ref: d.their_ref,
            currency: d.currency,
            our_date: d.our_date,
            their_date: d.their_date,
            explanation: d.explanation,
            resolution_note: d.resolution_note,
            adjustment_document_id: d.adjustment_document_id,
            created_at: d.created_at,
            updated_at: d.updated_at,
            cause: d.cause,
            sub_cause: d.sub_cause,
            cause_source: d.cause_source,
            cause_explanation: d.cause_explanation,
        }
    }
}

/// Metadata of a file attached to a comment (the file itself stays with the client).
#[derive(
    Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::InputObject, async_graphql::SimpleObject,
)]
#[graphql(input_name = "AttachmentInput")]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub name: String,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    /// Hex SHA-256 of the file, so both sides can tell they look at the same one.
    pub sha256: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CommentView {
    pub id: Uuid,
    /// user | api_key | system | customer
    pub author_type: String,
    pub author_id: String,
    pub body: String,
    pub attachments: Vec<Attachment>,
    /// Set when the comment came with a status change (e.g. "disputed").
    pub status_change: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl CommentView {
    fn new(c: Comment) -> CommentView {
        CommentView {
            id: c.id,
            author_type: c.author_type,
            author_id: c.author_id,
            body: c.body,
            attachments: serde_json::from_value(c.attachments).unwrap_or_default(),
            status_change: c.status_change,
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DifferenceDetail {
    pub difference: DifferenceView,
    pub comments: Vec<CommentView>,
}

/// A comment, optionally with a status change.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// Resolution of a difference. With `adjustment`, an adjustment document that brings our
/// balance to theirs (amount = minus the difference's balance effect) is created.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub adjustment: Option<AdjustmentInput>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    /// Default: ADJ- and the difference id's last 12 hex digits.
    pub doc_no: Option<String>,
    /// Default: today.
    pub issue_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DifferenceQuery {
    /// Customer code.
    pub customer: Option<String>,
    /// One status or several, comma-separated (`open,sent`).
    pub status: Option<String>,
    pub kind: Option<String>,
    /// technical | process | dispute
    pub cause: Option<String>,
    /// A sub-cause (docs/disputes.md), e.g. `transposition`.
    pub sub_cause: Option<String>,
    pub statement_id: Option<Uuid>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DifferencePage {
    pub items: Vec<DifferenceView>,
    pub next_cursor: Option<String>,
}

/// `?status=open,sent`: the statuses a list or report is filtered by.
pub(crate) fn parse_statuses(text: Option<&str>) -> AppResult<Vec<DifferenceStatus>> {
    let words = DifferenceStatus::ALL.map(DifferenceStatus::as_str);
    super::pagination::parse_word_list("status", text, &words, DifferenceStatus::parse)
}

fn filter_of(conn: &mut PgConnection, tenant_id: Uuid, q: &DifferenceQuery) -> AppResult<DifferenceFilter> {
    let customer_id = crate::services::customers::filter_id(conn, tenant_id, q.customer.as_deref())?;
    let statuses = parse_statuses(q.status.as_deref())?;
    let kind = match &q.kind {
        Some(k) => Some(
            DifferenceKind::parse(k)
                .ok_or_else(|| AppError::invalid("kind", format!("unknown difference kind {k:?}")))?,
        ),
        None => None,
    };
    let (cause, sub_cause) = super::difference_causes::parse_filter(q.cause.as_deref(), q.sub_cause.as_deref())?;
    Ok(DifferenceFilter {
        customer_id,
        statement_id: q.statement_id,
        statuses,
        kind,
        cause,
        sub_cause,
        after: parse_cursor(q.cursor.as_deref())?,
        limit: 0,
    })
}

pub fn list(conn: &mut PgConnection, principal: &Principal, q: DifferenceQuery, max: i64) -> AppResult<DifferencePage> {
    require(principal, Permission::Read)?;
    let limit = effective_limit(q.limit, max)?;
    let mut f = filter_of(conn, principal.tenant_id, &q)?;
    f.limit = limit + 1;
    let rows = diff_db::list(conn, principal.tenant_id, &f)?;
    let p = page(rows, limit, |(d, _)| d.id, |(d, c)| DifferenceView::new(d, c));
    Ok(DifferencePage { items: p.items, next_cursor: p.next_cursor })
}

/// All matching differences as CSV: `customer_code,kind,our_ref,their_ref,our_amount,their_amount,status`.
pub fn list_csv(conn: &mut PgConnection, principal: &Principal, q: DifferenceQuery) -> AppResult<Vec<u8>> {
    require(principal, Permission::Read)?;
    let mut f = filter_of(conn, principal.tenant_id, &q)?;
    f.limit = 1_000_000;
    let rows = diff_db::list(conn, principal.tenant_id, &f)?;
    let mut w = crate::reports::csv_cell::CsvWriter::new();
    let io = |e: csv::Error| AppError::internal(e);
    w.row(["customer_code", "kind", "our_ref", "their_ref", "our_amount", "their_amount", "status"]).map_err(io)?;
    for (d, code) in rows {
        let v = DifferenceView::new(d, code);
        w.row([
            v.customer_code.as_str(),
            v.kind.as_str(),
            v.our_ref.as_deref().unwrap_or(""),
            v.their_ref.as_deref().unwrap_or(""),
            v.our_amount.as_deref().unwrap_or(""),
            v.their_amount.as_deref().unwrap_or(""),
            v.status.as_str(),
        ])
        .map_err(io)?;
    }
    w.finish().map_err(io)
}

pub fn get(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<DifferenceDetail> {
    require(principal, Permission::Read)?;
    let (d, code) = diff_db::find(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("difference"))?;
    detail(conn, d, code)
}

pub(crate) fn detail(conn: &mut PgConnection, d: Difference, code: String) -> AppResult<DifferenceDetail> {
    let comments = diff_db::comments(conn, d.tenant_id, d.id)?.into_iter().map(CommentView::new).collect();
    Ok(DifferenceDetail { difference: DifferenceView::new(d, code), comments })
}

/// Who acts on a difference: the tenant (its users and API keys) or the customer (portal).
#[derive(Debug, Clone)]
pub enum Party<'a> {
    Tenant(&'a Principal),
    Customer(&'a PortalPrincipal),
}

impl Party<'_> {
    pub(crate) fn tenant_id(&self) -> Uuid {
        match self {
            Party::Tenant(p) => p.tenant_id,
            Party::Customer(c) => c.tenant_id,
        }
    }
    pub(crate) fn actor(&self) -> (String, String) {
        match self {
            Party::Tenant(p) => (p.actor.kind().to_string(), p.actor.id()),
            Party::Customer(c) => ("customer".to_string(), c.customer_code.clone()),
        }
    }
}

/// What the customer sees of its differences: those we sent, and what became of them.
pub const VISIBLE_TO_CUSTOMER: [DifferenceStatus; 4] =
    [DifferenceStatus::Sent, DifferenceStatus::Confirmed, DifferenceStatus::Disputed, DifferenceStatus::Resolved];

/// Loads and locks a difference the party may act on; anything else is "not found", so a portal
/// cannot probe for other customers' ids.
pub(crate) fn load_for(conn: &mut PgConnection, party: &Party, id: Uuid) -> AppResult<(Difference, String)> {
    let (d, code) =
        diff_db::find_for_update(conn, party.tenant_id(), id).map_err(|_| AppError::not_found("difference"))?;
    if let Party::Customer(c) = party {
        let visible = VISIBLE_TO_CUSTOMER.contains(&d.status);
        if d.customer_id != c.customer_id || !visible {
            return Err(AppError::not_found("difference"));
        }
    }
    Ok((d, code))
}

pub(crate) fn validate_comment(input: &CommentInput, required: bool) -> AppResult<()> {
    if required && input.body.trim().is_empty() {
        return Err(AppError::invalid("body", "a comment saying why is required"));
    }
    if input.body.len() > 10_000 {
        return Err(AppError::invalid("body", "at most 10000 characters"));
    }
    if input.attachments.len() > 20 {
        return Err(AppError::invalid("attachments", "at most 20 attachments"));
    }
    // PostgreSQL text and jsonb cannot hold a NUL character.
    if input.body.contains('\0') {
        return Err(AppError::invalid("body", "must not contain NUL characters"));
    }
    for (i, a) in input.attachments.iter().enumerate() {
        let field = |f: &str| format!("attachments[{i}].{f}");
        let texts = [Some(&a.name), a.content_type.as_ref(), a.sha256.as_ref(), a.url.as_ref()];
        if texts.iter().flatten().any(|t| t.contains('\0')) {
            return Err(AppError::invalid(&format!("attachments[{i}]"), "must not contain NUL characters"));
        }
        if a.name.trim().is_empty() || a.name.len() > 255 {
            return Err(AppError::invalid(&field("name"), "1 to 255 characters"));
        }
        if a.size_bytes.is_some_and(|s| s < 0) {
            return Err(AppError::invalid(&field("size_bytes"), "must not be negative"));
        }
        if a.sha256.as_ref().is_some_and(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(AppError::invalid(&field("sha256"), "64 hexadecimal digits"));
        }
        if a.url.as_ref().is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000) {
            return Err(AppError::invalid(&field("url"), "an http(s) URL of at most 2000 characters"));
        }
    }
    Ok(())
}

fn add_comment(
    conn: &mut PgConnection,
    party: &Party,
    d: &Difference,
    input: &CommentInput,
    status_change: Option<DifferenceStatus>,
) -> AppResult<Option<CommentView>> {
    if input.body.trim().is_empty() && input.attachments.is_empty() && status_change.is_none() {
        return Ok(None);
    }
    let (author_type, author_id) = party.actor();
    let c = Comment {
        id: Uuid::now_v7(),
        tenant_id: d.tenant_id,
        difference_id: d.id,
        author_type,
        author_id,
        body: input.body.trim().to_string(),
        attachments: serde_json::to_value(&input.attachments).map_err(AppError::internal)?,
        status_change: status_change.map(|s| s.as_str().to_string()),
        created_at: Utc::now(),
    };
    diff_db::insert_comment(conn, &c)?;
    Ok(Some(CommentView::new(c)))
}

/// A status change on one difference, by the tenant or the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Send,
    Confirm,
    Dispute,
    Resolve,
    Cancel,
}

impl Action {
    fn target(self) -> DifferenceStatus {
        match self {
            Action::Send => DifferenceStatus::Sent,
            Action::Confirm => DifferenceStatus::Confirmed,
            Action::Dispute => DifferenceStatus::Disputed,
            Action::Resolve => DifferenceStatus::Resolved,
            Action::Cancel => DifferenceStatus::Cancelled,
        }
    }
    fn event(self) -> Option<EventType> {
        match self {
            Action::Send => Some(EventType::DifferenceSent),
            Action::Confirm => Some(EventType::DifferenceConfirmed),
            Action::Dispute => Some(EventType::DifferenceDisputed),
            Action::Resolve => Some(EventType::DifferenceResolved),
            Action::Cancel => None,
        }
    }
}

/// The adjustment document that books a difference's balance effect.
fn adjustment_document(
    conn: &mut PgConnection,
    p: &Principal,
    d: &Difference,
    code: &str,
    adj: &AdjustmentInput,
) -> AppResult<documents::DocumentView> {
    let doc_no = adj.doc_no.clone().unwrap_or_else(|| {
        let hex = d.id.simple().to_string();
        format!("ADJ-{}", &hex[hex.len() - 12..])
    });
    documents::create(
        conn,
        p,
        DocumentInput {
            doc_type: DocType::Adjustment,
            doc_no,
            customer_code: code.to_string(),
            issue_date: adj.issue_date.unwrap_or_else(|| Utc::now().date_naive()),
            due_date: None,
            currency: d.currency.clone(),
            amount: (-d.balance_effect).normalize().to_string(),
            external_reference: d.their_ref.clone(),
            source_system: Some("duizhang:difference".into()),
            lines: None,
            instalments: None,
        },
    )
}

/// Moves a difference along its lifecycle. The customer may only confirm or dispute; the tenant
/// may do anything the lifecycle allows (confirming or disputing on the customer's behalf is
/// recorded as the tenant's act). Disputes need a comment.
pub fn transition(
    conn: &mut PgConnection,
    party: &Party,
    id: Uuid,
    action: Action,
    input: ResolveInput,
) -> AppResult<DifferenceDetail> {
    match party {
        Party::Tenant(p) => require(p, Permission::WriteMatching)?,
        Party::Customer(_) if matches!(action, Action::Confirm | Action::Dispute) => {}
        Party::Customer(_) => return Err(AppError::forbidden("a customer may only confirm or dispute a difference")),
    }
    let comment = CommentInput { body: input.body.clone(), attachments: input.attachments.clone() };
    validate_comment(&comment, action == Action::Dispute)?;
    if input.adjustment.is_some() && action != Action::Resolve {
        return Err(AppError::invalid("adjustment", "only a resolution creates an adjustment"));
    }
    let (d, code) = load_for(conn, party, id)?;
    let from = d.status;
    let to = action.target();
    if !from.can_become(to) {
        return Err(AppError::conflict(format!("a {} difference cannot become {}", from.as_str(), to.as_str()))
            .with_details(json!({"status": from.as_str(), "requested": to.as_str()})));
    }
    let before = DifferenceView::new(d.clone(), code.clone());

    let mut adjustment_id = d.adjustment_document_id;
    if let (Some(adj), Party::Tenant(p)) = (&input.adjustment, party) {
        if d.balance_effect.is_zero() {
            return Err(AppError::invalid("adjustment", "this difference has no balance effect to adjust"));
        }
        let doc = adjustment_document(conn, p, &d, &code, adj)?;
        adjustment_id = Some(doc.id);
    }
    if action == Action::Dispute {
        super::difference_causes::classify_dispute(conn, &d, &input.body)?;
    }
    let note = (!input.body.trim().is_empty()).then(|| input.body.trim().to_string()).or(d.resolution_note.clone());
    diff_db::set_status(conn, d.tenant_id, d.id, to, note.as_deref(), adjustment_id)?;
    add_comment(conn, party, &d, &comment, Some(to))?;

    let (after_row, code) = diff_db::find(conn, d.tenant_id, d.id)?;
    let after = DifferenceView::new(after_row.clone(), code.clone());
    let (actor_type, actor_id) = party.actor();
    audit_db::append(
        conn,
        d.tenant_id,
        vec![NewAuditEntry {
            actor_type,
            actor_id,
            action: format!("difference.{}", to.as_str()),
            entity_type: "difference".into(),
            entity_id: d.id.to_string(),
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&after).ok(),
        }],
    )?;
    if let Some(event) = action.event() {
        let mut data = json!(after);
        data["comment"] = json!(comment.body);
        events::emit(conn, d.tenant_id, Some(d.customer_id), event, data)?;
    }
    match (action, party) {
        (Action::Dispute, _) => {
            super::work_orders::open_for_dispute(conn, party, &after_row, &code, &input.body)?;
        }
        (_, Party::Customer(_)) => super::work_orders::customer_replied(conn, &after_row, party, &input.body)?,
        _ => {}
    }
    let out = detail(conn, after_row, code)?;
    Ok(match party {
        Party::Customer(_) => super::difference_causes::for_customer(out),
        Party::Tenant(_) => out,
    })
}

/// Sends every open difference of a customer (one `difference.sent` event each).
pub fn send_all(conn: &mut PgConnection, principal: &Principal, customer_code: &str) -> AppResult<Vec<DifferenceView>> {
    require(principal, Permission::WriteMatching)?;
    let customer = customers_db::find_by_code(conn, principal.tenant_id, customer_code)
        .map_err(|_| AppError::not_found("customer"))?;
    let filter = DifferenceFilter {
        customer_id: Some(customer.id),
        statuses: vec![DifferenceStatus::Open],
        limit: 100_000,
        ..Default::default()
    };
    let ids: Vec<Uuid> = diff_db::list(conn, principal.tenant_id, &filter)?.into_iter().map(|(d, _)| d.id).collect();
    let party = Party::Tenant(principal);
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(transition(conn, &party, id, Action::Send, ResolveInput::default())?.difference);
    }
    Ok(out)
}

/// A comment in the thread, by either side.
pub fn comment(conn: &mut PgConnection, party: &Party, id: Uuid, input: CommentInput) -> AppResult<CommentView> {
    if let Party::Tenant(p) = party {
        require(p, Permission::WriteMatching)?;
    }
    validate_comment(&input, true)?;
    let (d, _) = load_for(conn, party, id)?;
    let view = add_comment(conn, party, &d, &input, None)?.ok_or_else(|| AppError::invalid("body", "empty comment"))?;
    if let Party::Customer(_) = party {
        super::work_orders::customer_replied(conn, &d, party, &input.body)?;
    }
    let (actor_type, actor_id) = party.actor();
    audit_db::append(
        conn,
        d.tenant_id,
        vec![NewAuditEntry {
            actor_type,
            actor_id,
            action: "difference.commented".into(),
            entity_type: "difference".into(),
            entity_id: d.id.to_string(),
            before: None,
            after: serde_json::to_value(&view).ok(),
        }],
    )?;
    events::emit(
        conn,
        d.tenant_id,
        Some(d.customer_id),
        EventType::DifferenceCommented,
        json!({"difference_id": d.id, "comment": view}),
    )?;
    Ok(view)
}

/// Differences of the portal's customer that it may see.
pub fn list_for_customer(
    conn: &mut PgConnection,
    portal: &PortalPrincipal,
    cursor: Option<&str>,
    limit: Option<i64>,
    max: i64,
) -> AppResult<DifferencePage> {
    let limit = effective_limit(limit, max)?;
    let f = DifferenceFilter {
        customer_id: Some(portal.customer_id),
        statuses: VISIBLE_TO_CUSTOMER.to_vec(),
        after: parse_cursor(cursor)?,
        limit: limit + 1,
        ..Default::default()
    };
    let rows = diff_db::list(conn, portal.tenant_id, &f)?;
    let p = page(rows, limit, |(d, _)| d.id, |(d, c)| view_for_customer(DifferenceView::new(d, c)));
    Ok(DifferencePage { items: p.items, next_cursor: p.next_cursor })
}

pub fn get_for_customer(conn: &mut PgConnection, portal: &PortalPrincipal, id: Uuid) -> AppResult<DifferenceDetail> {
    let (d, code) = diff_db::find(conn, portal.tenant_id, id).map_err(|_| AppError::not_found("difference"))?;
    let visible = VISIBLE_TO_CUSTOMER.contains(&d.status);
    if d.customer_id != portal.customer_id || !visible {
        return Err(AppError::not_found("difference"));
    }
    Ok(super::difference_causes::for_customer(detail(conn, d, code)?))
}
