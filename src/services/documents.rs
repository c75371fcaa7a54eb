//! Ledger documents: the company's invoices, credit notes, payments and adjustments.

use super::import::{ImportFormat, ImportReport, ParsedRows};
use super::import_sheet::parse_rows;
use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use crate::db::customers as customers_db;
use crate::db::documents::{self as documents_db, Document, DocumentFilter};
use crate::db::instalments as instalments_db;
use crate::db::{audit as audit_db, audit::NewAuditEntry};
use crate::domain::auth::{Permission, Principal};
use crate::domain::customer::check_identifier;
use crate::domain::document::{DocStatus, DocType};
use crate::domain::instalments::Instalment;
use crate::domain::money::{format_amount, Currency};
use crate::domain::sheet_columns::ImportKind;
use crate::error::{AppError, AppResult};
use crate::services::audit::{entry, snapshot};
use crate::services::document_lines::{self as lines, DocumentLineInput, DocumentLineView, TaxFlagView};
use crate::services::instalments::{self, InstalmentInput, InstalmentView};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    pub doc_type: DocType,
    /// Unique per tenant and document type.
    pub doc_no: String,
    pub customer_code: String,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    /// ISO 4217.
    pub currency: String,
    /// Decimal string with at most the currency's minor units; positive (adjustments may be negative).
    pub amount: String,
    pub external_reference: Option<String>,
    pub source_system: Option<String>,
    /// Invoices and credit notes only: the lines, whose gross total must equal `amount`.
    #[serde(default)]
    pub lines: Option<Vec<DocumentLineInput>>,
    /// An invoice due in parts (see docs/documents.md). The due date is then the last
    /// instalment's. Absent in an import row: a stored plan is kept.
    #[serde(default)]
    pub instalments: Option<Vec<InstalmentInput>>,
}

/// A partial update of what may change after issue. Amount and currency only change while
/// nothing has been applied to the document.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentPatch {
    pub issue_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<Option<NaiveDate>>,
    pub currency: Option<String>,
    pub amount: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub external_reference: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub source_system: Option<Option<String>>,
    /// Replaces all lines (an empty list removes them); their gross total must equal the amount.
    pub lines: Option<Vec<DocumentLineInput>>,
    /// Replaces the instalment plan; `null` or `[]` removes it. Absent: the plan is kept (and
    /// must still fit the amount and dates).
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<Vec<InstalmentInput>>)]
    pub instalments: Option<Option<Vec<InstalmentInput>>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DocumentView {
    pub id: Uuid,
    pub doc_type: DocType,
    pub doc_no: String,
    pub customer_code: String,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub currency: String,
    pub amount: String,
    pub open_amount: String,
    pub external_reference: Option<String>,
    pub source_system: Option<String>,
    pub status: DocStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The lines (invoices and credit notes), where a single document is answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<DocumentLineView>>,
    /// Tax anomalies of the lines: flagged, not refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_flags: Option<Vec<TaxFlagView>>,
    /// The instalment plan with what is open of each instalment; absent: due at once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub instalments: Vec<InstalmentView>,
}

impl DocumentView {
    pub fn new(d: Document, customer_code: String) -> DocumentView {
        DocumentView {
            id: d.id,
            doc_type: d.doc_type,
            doc_no: d.doc_no,
            customer_code,
            issue_date: d.issue_date,
            due_date: d.due_date,
            amount: format_amount(&d.currency, d.amount),
            open_amount: format_amount(&d.currency, d.open_amount),
            currency: d.currency,
            external_reference: d.external_reference,
            source_system: d.source_system,
            status: d.status,
            created_at: d.created_at,
            updated_at: d.updated_at,
            lines: None,
            tax_flags: None,
            instalments: Vec::new(),
        }
    }

    /// The view of a document with its instalment plan.
    pub fn with_plan(d: Document, customer_code: String, plan: &[Instalment]) -> DocumentView {
        let instalments = instalments::views(&d, plan);
        DocumentView { instalments, ..DocumentView::new(d, customer_code) }
    }

    pub fn with_lines(mut self, lines: Vec<DocumentLineView>, flags: Vec<TaxFlagView>) -> DocumentView {
        self.lines = Some(lines);
        self.tax_flags = Some(flags);
        self
    }

    /// The view with the document's stored lines.
    pub(super) fn with_stored_lines(self, conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<DocumentView> {
        let mut found = lines::views_of(conn, tenant_id, &[(self.id, &self.currency)])?;
        let (l, f) = found.remove(&self.id).unwrap_or_default();
        Ok(self.with_lines(l, f))
    }
}

/// The validated content of a document as the ledger states it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentFields {
    pub(super) issue_date: NaiveDate,
    pub(super) due_date: Option<NaiveDate>,
    pub(super) currency: String,
    pub(super) amount: Decimal,
    pub(super) external_reference: Option<String>,
    pub(super) source_system: Option<String>,
}

impl DocumentFields {
    pub(super) fn of(d: &Document) -> DocumentFields {
        DocumentFields {
            issue_date: d.issue_date,
            due_date: d.due_date,
            currency: d.currency.clone(),
            amount: d.amount,
            external_reference: d.external_reference.clone(),
            source_system: d.source_system.clone(),
        }
    }
}

fn optional_text(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => {
            Err(AppError::invalid(field, format!("must be at most {max} printable characters")))
        }
        Some(v) => Ok(Some(v.to_string())),
    }
}

fn validate_fields(
    doc_type: DocType,
    issue_date: NaiveDate,
    due_date: Option<NaiveDate>,
    currency: &str,
    amount: &str,
    external_reference: Option<&str>,
    source_system: Option<&str>,
) -> AppResult<DocumentFields> {
    let currency = Currency::parse(currency).map_err(|e| AppError::invalid("currency", e.to_string()))?;
    let amount = currency.parse_amount(amount).map_err(|e| AppError::invalid("amount", e.to_string()))?;
    if amount.is_zero() {
        return Err(AppError::invalid("amount", "must not be zero"));
    }
    if amount.is_sign_negative() && !doc_type.allows_negative() {
        return Err(AppError::invalid("amount", format!("a {} amount must be positive", doc_type.as_str())));
    }
    if let Some(due) = due_date {
        if due < issue_date {
            return Err(AppError::invalid("due_date", "must not be before issue_date"));
        }
    }
    Ok(DocumentFields {
        issue_date,
        due_date,
        currency: currency.code().to_string(),
        amount,
        external_reference: optional_text("external_reference", external_reference, 500)?,
        source_system: optional_text("source_system", source_system, 100)?,
    })
}

pub fn validate_input(input: &DocumentInput) -> AppResult<(String, String, DocumentFields)> {
    let doc_no = check_identifier(&input.doc_no, 64).map_err(|e| AppError::invalid("doc_no", e))?;
    let customer_code =
        check_identifier(&input.customer_code, 64).map_err(|e| AppError::invalid("customer_code", e))?;
    let fields = validate_fields(
        input.doc_type,
        input.issue_date,
        input.due_date,
        &input.currency,
        &input.amount,
        input.external_reference.as_deref(),
        input.source_system.as_deref(),
    )?;
    Ok((doc_no, customer_code, fields))
}

fn new_document(tenant_id: Uuid, customer_id: Uuid, doc_type: DocType, doc_no: String, f: DocumentFields) -> Document {
    let now = Utc::now();
    Document {
        id: Uuid::now_v7(),
        tenant_id,
        customer_id,
        doc_type,
        doc_no,
        issue_date: f.issue_date,
        due_date: f.due_date,
        currency: f.currency,
        amount: f.amount,
        open_amount: f.amount,
        external_reference: f.external_reference,
        source_system: f.source_system,
        status: DocStatus::Open,
        created_at: now,
        updated_at: now,
    }
}

/// Applies new ledger content to a stored document, refusing what would corrupt settlements.
pub(super) fn apply_fields(doc: &mut Document, f: DocumentFields) -> AppResult<()> {
    if doc.status == DocStatus::Cancelled {
        return Err(AppError::conflict(format!("document {} is cancelled", doc.doc_no)));
    }
    let applied = doc.open_amount != doc.amount;
    if applied && (f.amount != doc.amount || f.currency != doc.currency) {
        return Err(AppError::conflict(format!(
            "document {} is partly or fully settled: its amount and currency can no longer change",
            doc.doc_no
        )));
    }
    if !applied {
        doc.open_amount = f.amount;
    }
    doc.issue_date = f.issue_date;
    doc.due_date = f.due_date;
    doc.currency = f.currency;
    doc.amount = f.amount;
    doc.external_reference = f.external_reference;
    doc.source_system = f.source_system;
    doc.status = DocStatus::from_open_amount(doc.amount, doc.open_amount);
    doc.updated_at = Utc::now();
    Ok(())
}

pub(super) fn audit_entry(
    principal: &Principal,
    action: &str,
    before: Option<&DocumentView>,
    after: &DocumentView,
) -> NewAuditEntry {
    let mut e = entry(principal, action, "document", &after.id.to_string());
    e.before = before.and_then(snapshot);
    e.after = snapshot(after);
    e
}

pub fn create(conn: &mut PgConnection, principal: &Principal, input: DocumentInput) -> AppResult<DocumentView> {
    require(principal, Permission::WriteLedger)?;
    let (doc_no, customer_code, mut fields) = validate_input(&input)?;
    let plan = instalments::validate(
        input.doc_type,
        &fields.currency,
        fields.amount,
        fields.issue_date,
        fields.due_date,
        input.instalments.as_deref().unwrap_or_default(),
    )?;
    fields.due_date = instalments::header_due_date(&plan, fields.due_date);
    let customer = customers_db::find_by_code(conn, principal.tenant_id, &customer_code)
        .map_err(|_| AppError::invalid("customer_code", format!("unknown customer {customer_code:?}")))?;
    let currency = Currency::parse(&fields.currency).map_err(|e| AppError::invalid("currency", e.to_string()))?;
    let stated = input.lines.as_deref().unwrap_or_default();
    let header = lines::LinedDocument {
        doc_type: input.doc_type,
        currency: &currency,
        amount: fields.amount,
        issue_date: fields.issue_date,
    };
    let prepared = lines::prepare(conn, principal.tenant_id, header, stated)?;
    let doc = new_document(principal.tenant_id, customer.id, input.doc_type, doc_no, fields);
    documents_db::insert_many(conn, std::slice::from_ref(&doc)).map_err(|e| match AppError::from(e) {
        err if err.code == crate::error::ErrorCode::Conflict => {
            AppError::conflict(format!("{} {:?} already exists", input.doc_type.as_str(), doc.doc_no))
                .with_details(serde_json::json!({"field": "doc_no"}))
        }
        err => err,
    })?;
    if !plan.is_empty() {
        instalments_db::replace(conn, principal.tenant_id, doc.id, &plan)?;
    }
    let prepared = prepared.for_document(doc.id);
    if !prepared.rows.is_empty() {
        lines::store(conn, principal.tenant_id, doc.id, &prepared)?;
    }
    let view = DocumentView::with_plan(doc, customer.code, &plan).with_lines(prepared.views, prepared.flags);
    audit_db::append(conn, principal.tenant_id, vec![audit_entry(principal, "document.created", None, &view)])?;
    Ok(view)
}

pub fn get(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<DocumentView> {
    require(principal, Permission::Read)?;
    let (doc, code) = documents_db::find(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("document"))?;
    let plan = instalments::plan_of(conn, principal.tenant_id, &doc)?;
    DocumentView::with_plan(doc, code, &plan).with_stored_lines(conn, principal.tenant_id)
}

pub fn update(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    patch: DocumentPatch,
) -> AppResult<DocumentView> {
    require(principal, Permission::WriteLedger)?;
    let (mut doc, code) =
        documents_db::find_for_update(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("document"))?;
    let old_plan = instalments::plan_of(conn, principal.tenant_id, &doc)?;
    let before =
        DocumentView::with_plan(doc.clone(), code.clone(), &old_plan).with_stored_lines(conn, principal.tenant_id)?;
    let doc_type = doc.doc_type;
    let currency = patch.currency.clone().unwrap_or_else(|| doc.currency.clone());
    // An amount is validated against the (possibly new) currency; the stored one is re-rendered.
    let amount = patch.amount.clone().unwrap_or_else(|| format_amount(&currency, doc.amount));
    // A new plan brings its own due date (its last instalment's) unless one is given.
    let new_plan_given = matches!(&patch.instalments, Some(Some(v)) if !v.is_empty());
    let due_date = patch.due_date.unwrap_or(if new_plan_given { None } else { doc.due_date });
    let mut fields = validate_fields(
        doc_type,
        patch.issue_date.unwrap_or(doc.issue_date),
        due_date,
        &currency,
        &amount,
        patch.external_reference.clone().unwrap_or(doc.external_reference.clone()).as_deref(),
        patch.source_system.clone().unwrap_or(doc.source_system.clone()).as_deref(),
    )?;
    let plan = match &patch.instalments {
        None => {
            instalments::check_fits(&old_plan, fields.amount, fields.issue_date, fields.due_date)?;
            old_plan.clone()
        }
        Some(asked) => instalments::validate(
            doc_type,
            &fields.currency,
            fields.amount,
            fields.issue_date,
            fields.due_date,
            asked.as_deref().unwrap_or_default(),
        )?,
    };
    fields.due_date = instalments::header_due_date(&plan, fields.due_date);
    let new_lines = lines::for_patch(conn, &doc, &fields, patch.lines.as_deref())?;
    let same_lines = new_lines.as_ref().is_none_or(|l| lines::same_as(&l.views, &before));
    if fields == DocumentFields::of(&doc) && plan == old_plan && same_lines {
        return Ok(before);
    }
    apply_fields(&mut doc, fields)?;
    documents_db::update(conn, &doc)?;
    if plan != old_plan {
        instalments_db::replace(conn, principal.tenant_id, doc.id, &plan)?;
    }
    if let Some(l) = &new_lines {
        lines::store(conn, principal.tenant_id, doc.id, l)?;
    }
    let view = match new_lines {
        Some(l) => DocumentView::with_plan(doc, code, &plan).with_lines(l.views, l.flags),
        None => DocumentView::with_plan(doc, code, &plan).with_stored_lines(conn, principal.tenant_id)?,
    };
    audit_db::append(
        conn,
        principal.tenant_id,
        vec![audit_entry(principal, "document.updated", Some(&before), &view)],
    )?;
    Ok(view)
}

/// Voids a document. Books are never deleted from: a cancelled document stays, with nothing open.
pub fn cancel(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<DocumentView> {
    require(principal, Permission::WriteLedger)?;
    let (mut doc, code) =
        documents_db::find_for_update(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("document"))?;
    if doc.status == DocStatus::Cancelled {
        return Ok(DocumentView::new(doc, code));
    }
    if doc.open_amount != doc.amount {
        return Err(AppError::conflict("the document is partly or fully settled: unapply its allocations first"));
    }
    let before = DocumentView::new(doc.clone(), code.clone());
    doc.status = DocStatus::Cancelled;
    doc.open_amount = Decimal::ZERO;
    doc.updated_at = Utc::now();
    documents_db::mark_cancelled(conn, principal.tenant_id, doc.id, doc.updated_at)?;
    let view = DocumentView::new(doc, code);
    audit_db::append(
        conn,
        principal.tenant_id,
        vec![audit_entry(principal, "document.cancelled", Some(&before), &view)],
    )?;
    Ok(view)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    /// Customer code.
    pub customer: Option<String>,
    pub doc_type: Option<DocType>,
    pub status: Option<DocStatus>,
    /// Issued on or after this date.
    pub issued_from: Option<NaiveDate>,
    /// Issued on or before this date.
    pub issued_to: Option<NaiveDate>,
    /// Due strictly before this date.
    pub due_before: Option<NaiveDate>,
    /// Only open and partially paid documents.
    pub open_only: Option<bool>,
    pub currency: Option<String>,
    /// Case-insensitive text in doc_no or external_reference.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub fn list(
    conn: &mut PgConnection,
    principal: &Principal,
    q: DocumentQuery,
    max_limit: i64,
) -> AppResult<Page<DocumentView>> {
    require(principal, Permission::Read)?;
    let limit = effective_limit(q.limit, max_limit)?;
    // One statement: the customer code is matched in the join (an unknown code: an empty page).
    let filter = DocumentFilter {
        customer_id: None,
        customer_code: q.customer,
        doc_type: q.doc_type,
        status: q.status,
        issued_from: q.issued_from,
        issued_to: q.issued_to,
        due_before: q.due_before,
        open_only: q.open_only.unwrap_or(false),
        text: q.q.filter(|t| !t.trim().is_empty()),
        currency: q.currency,
        after: parse_cursor(q.cursor.as_deref())?,
        limit: limit + 1,
    };
    let rows = documents_db::list(conn, principal.tenant_id, &filter)?;
    let plans = instalments::plans_of(conn, principal.tenant_id, &rows.iter().map(|(d, _)| d).collect::<Vec<_>>())?;
    Ok(page(
        rows,
        limit,
        |(d, _)| d.id,
        |(d, code)| {
            let plan = plans.get(&d.id).map(Vec::as_slice).unwrap_or_default();
            DocumentView::with_plan(d, code, plan)
        },
    ))
}

/// Columns of the generator's `ledger.csv`, plus the optional source system.
pub const CSV_COLUMNS: [&str; 17] = [
    "doc_no",
    "doc_type",
    "customer_code",
    "issue_date",
    "due_date",
    "currency",
    "amount",
    "reference",
    "source_system",
    // One line per row (see `document_line_rows`).
    "line_product",
    "line_description",
    "line_quantity",
    "line_unit",
    "line_unit_price",
    "line_discount",
    "line_discount_percent",
    "line_tax_rate",
];

/// One CSV row as a document; `cell` gives a column's non-empty value.
pub(super) fn input_from_csv<'a>(cell: impl Fn(&str) -> Option<&'a str>) -> Result<DocumentInput, String> {
    let text = |name: &str| cell(name).map(str::to_string).ok_or_else(|| format!("{name}: missing"));
    let date = |name: &str, v: &str| {
        NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| format!("{name}: {v:?} is not a date (YYYY-MM-DD)"))
    };
    let doc_type_text = text("doc_type")?;
    Ok(DocumentInput {
        doc_type: DocType::parse(&doc_type_text).ok_or_else(|| format!("doc_type: unknown type {doc_type_text:?}"))?,
        doc_no: text("doc_no")?,
        customer_code: text("customer_code")?,
        issue_date: date("issue_date", &text("issue_date")?)?,
        due_date: cell("due_date").map(|v| date("due_date", v)).transpose()?,
        currency: text("currency")?,
        amount: text("amount")?,
        external_reference: cell("reference").map(str::to_string),
        source_system: cell("source_system").map(str::to_string),
        lines: super::document_line_rows::line_from_cells(&cell).map(|line| vec![line]),
        instalments: None,
    })
}

/// The CSV columns an import needs.
pub(super) const REQUIRED_COLUMNS: [&str; 6] =
    ["doc_no", "doc_type", "customer_code", "issue_date", "currency", "amount"];

/// Reads an import body (CSV, .xlsx or a JSON array) into rows; no database, so it can be
/// fuzzed. Rows that cannot be read are rejections; a body that cannot be read at all is an error.
pub fn parse_import(format: ImportFormat, body: &[u8]) -> AppResult<ParsedRows<DocumentInput>> {
    let read = parse_rows(format, body, ImportKind::Documents, None, &REQUIRED_COLUMNS, |cells| {
        input_from_csv(|name| cells.get(name).map(String::as_str))
    })?;
    Ok((super::document_line_rows::group(read.rows), read.rejected))
}

/// Upserts documents by (doc_type, doc_no); see `document_import` for how, and
/// `customers::import` for the row rules.
pub fn import(
    conn: &mut PgConnection,
    principal: &Principal,
    format: ImportFormat,
    body: &[u8],
) -> AppResult<ImportReport> {
    let mut body = body;
    super::document_import::import(conn, principal, format, &mut body, None)
}

/// [`import`] of a body read as a stream (a spooled upload), with `mapping` naming a saved
/// import mapping for the file's own layout.
pub fn import_from(
    conn: &mut PgConnection,
    principal: &Principal,
    format: ImportFormat,
    body: &mut (dyn std::io::BufRead + Send),
    mapping: Option<&str>,
) -> AppResult<ImportReport> {
    super::document_import::import(conn, principal, format, body, mapping)
}
