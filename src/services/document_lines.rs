//! Lines of invoices and credit notes: validated against products, computed under the tenant's
//! tax rounding rule (`domain::document_lines`), checked against the header amount, stored with
//! their tax flags; and the tenant's rounding setting.

use super::require;
use crate::db::audit as audit_db;
use crate::db::document_lines::{self as lines_db, DocumentLine};
use crate::db::products::Product as LineProduct;
use crate::domain::auth::{Permission, Principal};
use crate::domain::document::DocType;
use crate::domain::document_lines::{
    self as arithmetic, header_mismatch, parse_discount_percent, parse_quantity, LineSpec, TaxFlag, TaxFlagKind,
    TaxRounding,
};
use crate::domain::money::{display_amount, Currency};
use crate::domain::product::{check_unit, parse_tax_rate, parse_unit_price, tax_rate_on};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::services::audit::entry;
use chrono::NaiveDate;
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// One line of an invoice or credit note. Amounts are decimal strings. What is left out is taken
/// from the product when the line names one (description, unit, unit price in the document's
/// currency, tax rate). Net, tax and gross are computed; when given they are checked (see
/// docs/documents.md).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct DocumentLineInput {
    /// A product's code (master data); the line is free text without it.
    pub product_code: Option<String>,
    pub description: Option<String>,
    /// Default 1; may be negative (a return; a credit note written with negated lines).
    pub quantity: Option<String>,
    pub unit: Option<String>,
    /// Not negative, at most six decimals.
    pub unit_price: Option<String>,
    /// An amount in the document's currency taken off quantity × unit price.
    pub discount: Option<String>,
    /// A percent taken off quantity × unit price (instead of `discount`).
    pub discount_percent: Option<String>,
    /// Percent ("13" is 13%).
    pub tax_rate: Option<String>,
    pub net: Option<String>,
    pub tax: Option<String>,
    pub gross: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct DocumentLineView {
    pub line_no: i32,
    pub product_code: Option<String>,
    pub description: String,
    pub quantity: String,
    pub unit: Option<String>,
    pub unit_price: String,
    pub discount: Option<String>,
    pub discount_percent: Option<String>,
    pub tax_rate: String,
    pub net: String,
    pub tax: String,
    pub gross: String,
}

/// A tax anomaly of a line: flagged, not refused.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct TaxFlagView {
    pub line_no: i32,
    /// rate_differs_from_product | tax_amount_off
    pub kind: TaxFlagKind,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[serde(deny_unknown_fields)]
pub struct DocumentSettingsView {
    /// `per_line` (default): tax rounded on every line; `per_document`: per rate on the summed
    /// nets, rounded once.
    pub tax_rounding: TaxRounding,
}

/// Lines ready to be stored (the document id is set when written) with their views.
#[derive(Debug, Clone, Default)]
pub struct PreparedLines {
    pub rows: Vec<DocumentLine>,
    pub views: Vec<DocumentLineView>,
    pub flags: Vec<TaxFlagView>,
}

impl PreparedLines {
    pub fn for_document(mut self, document_id: Uuid) -> PreparedLines {
        self.rows.iter_mut().for_each(|r| r.document_id = document_id);
        self
    }
}

fn line_error(index: usize, field: &str, reason: impl Into<String>) -> AppError {
    let reason = reason.into();
    AppError::new(ErrorCode::ValidationFailed, format!("line {}: {field}: {reason}", index + 1)).with_details(
        serde_json::json!({ "field": format!("lines[{index}].{field}"), "line_no": index + 1, "reason": reason }),
    )
}

fn money(currency: &Currency, index: usize, field: &str, text: Option<&str>) -> AppResult<Option<Decimal>> {
    text.map(|t| currency.parse_amount(t).map_err(|e| line_error(index, field, e.to_string()))).transpose()
}

/// One input line as the arithmetic's spec and the text fields stored beside it.
fn spec_of(
    index: usize,
    input: &DocumentLineInput,
    product: Option<&LineProduct>,
    currency: &Currency,
    issue_date: NaiveDate,
) -> AppResult<(LineSpec, String, Option<String>)> {
    let err = |field: &str, reason: String| line_error(index, field, reason);
    let description = match input.description.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) if d.chars().count() > 500 || d.chars().any(char::is_control) => {
            return Err(err("description", "must be at most 500 printable characters".into()))
        }
        Some(d) => d.to_string(),
        None => {
            product.map(|p| p.name.clone()).ok_or_else(|| err("description", "required without a product".into()))?
        }
    };
    let unit = match input.unit.as_deref() {
        Some(u) => Some(check_unit(u).map_err(|e| err("unit", e))?),
        None => product.and_then(|p| p.unit.clone()),
    };
    let quantity =
        input.quantity.as_deref().map_or(Ok(Decimal::ONE), parse_quantity).map_err(|e| err("quantity", e))?;
    let product_price =
        product.filter(|p| p.currency.as_deref() == Some(currency.code())).and_then(|p| p.default_price);
    let unit_price = match input.unit_price.as_deref() {
        Some(t) => parse_unit_price(t).map_err(|e| err("unit_price", e))?,
        None => product_price
            .ok_or_else(|| err("unit_price", format!("required (no product price in {})", currency.code())))?,
    };
    let discount = money(currency, index, "discount", input.discount.as_deref())?.unwrap_or_default();
    if discount.is_sign_negative() {
        return Err(err("discount", "must not be negative".into()));
    }
    let discount_percent = input
        .discount_percent
        .as_deref()
        .map(parse_discount_percent)
        .transpose()
        .map_err(|e| err("discount_percent", e))?;
    if discount_percent.is_some() && !discount.is_zero() {
        return Err(err("discount", "give a discount or a discount_percent, not both".into()));
    }
    let dated = product.and_then(|p| {
        let history = crate::services::products::stored_history(&p.tax_rate_history);
        tax_rate_on(p.tax_rate, &history, issue_date).map(|(rate, from)| ((p.code.clone(), rate), from))
    });
    let product_rate_from = dated.as_ref().and_then(|(_, from)| *from);
    let product_rate = dated.map(|(rate, _)| rate);
    let tax_rate = match input.tax_rate.as_deref() {
        Some(t) => parse_tax_rate(t).map_err(|e| err("tax_rate", e))?,
        None => product_rate
            .as_ref()
            .map(|(_, r)| *r)
            .ok_or_else(|| err("tax_rate", "required (no product tax rate to take)".into()))?,
    };
    let spec = LineSpec {
        quantity,
        unit_price,
        discount,
        discount_percent: discount_percent.unwrap_or_default(),
        tax_rate,
        product_rate,
        product_rate_from,
        net: money(currency, index, "net", input.net.as_deref())?,
        tax: money(currency, index, "tax", input.tax.as_deref())?,
        gross: money(currency, index, "gross", input.gross.as_deref())?,
    };
    Ok((spec, description, unit))
}

/// What preparing lines needs from the database: the tenant's rounding rule and the products
/// the lines name. Loaded once for a document, or once for all rows of an import.
pub struct LineContext {
    tenant_id: Uuid,
    rounding: TaxRounding,
    products: HashMap<String, LineProduct>,
}

impl LineContext {
    pub fn load<'a>(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        inputs: impl Iterator<Item = &'a DocumentLineInput>,
    ) -> AppResult<LineContext> {
        let mut codes: Vec<String> =
            inputs.filter_map(|l| l.product_code.as_deref()).map(|c| c.trim().to_string()).collect();
        codes.sort();
        codes.dedup();
        let mut products = HashMap::new();
        for chunk in codes.chunks(10_000) {
            products
                .extend(lines_db::products_by_codes(conn, tenant_id, chunk)?.into_iter().map(|p| (p.code.clone(), p)));
        }
        Ok(LineContext { tenant_id, rounding: lines_db::tax_rounding(conn, tenant_id)?, products })
    }
}

/// Validates and computes a document's lines and checks that they add up to its amount.
/// Nothing is written: a refusal leaves no trace.
pub fn prepare(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    doc: LinedDocument<'_>,
    inputs: &[DocumentLineInput],
) -> AppResult<PreparedLines> {
    if inputs.is_empty() {
        return Ok(PreparedLines::default());
    }
    let ctx = LineContext::load(conn, tenant_id, inputs.iter())?;
    prepare_with(&ctx, doc, inputs)
}

/// The header fields lines are checked against.
#[derive(Clone, Copy)]
pub struct LinedDocument<'a> {
    pub doc_type: DocType,
    pub currency: &'a Currency,
    pub amount: Decimal,
    /// Dated product tax rates are read on this date.
    pub issue_date: NaiveDate,
}

/// [`prepare`] with what it needs from the database already loaded.
pub fn prepare_with(
    ctx: &LineContext,
    doc: LinedDocument<'_>,
    inputs: &[DocumentLineInput],
) -> AppResult<PreparedLines> {
    let LinedDocument { doc_type, currency, amount, issue_date } = doc;
    if inputs.is_empty() {
        return Ok(PreparedLines::default());
    }
    if !matches!(doc_type, DocType::Invoice | DocType::CreditNote) {
        return Err(AppError::invalid("lines", "only invoices and credit notes carry lines"));
    }
    if inputs.len() > arithmetic::MAX_LINES {
        return Err(AppError::invalid("lines", format!("at most {} lines", arithmetic::MAX_LINES)));
    }
    let mut specs = Vec::with_capacity(inputs.len());
    let mut texts = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let product = match input.product_code.as_deref().map(str::trim) {
            Some(code) => Some(
                ctx.products
                    .get(code)
                    .ok_or_else(|| line_error(i, "product_code", format!("unknown product {code:?}")))?,
            ),
            None => None,
        };
        let (spec, description, unit) = spec_of(i, input, product, currency, issue_date)?;
        specs.push(spec);
        texts.push((product.map(|p| (p.id, p.code.clone())), description, unit));
    }
    let computed = arithmetic::compute(&specs, currency, ctx.rounding)
        .map_err(|e| line_error(e.line_no - 1, e.field, e.message))?;
    if let Some(expected) = header_mismatch(doc_type == DocType::CreditNote, amount, computed.gross_total()) {
        return Err(total_mismatch(currency, amount, expected));
    }
    Ok(assemble(ctx.tenant_id, currency, &specs, texts, computed))
}

fn total_mismatch(currency: &Currency, amount: Decimal, expected: Decimal) -> AppError {
    let code = currency.code();
    let difference = amount - expected;
    AppError::new(
        ErrorCode::ValidationFailed,
        format!(
            "amount: {} {code} is not the lines' gross total {} {code} (difference {} {code})",
            display_amount(code, amount),
            display_amount(code, expected),
            display_amount(code, difference)
        ),
    )
    .with_details(serde_json::json!({
        "field": "amount",
        "reason": "does not equal the lines' gross total",
        "expected": currency.format(expected),
        "actual": currency.format(amount),
        "difference": currency.format(difference),
    }))
}

type LineTexts = (Option<(Uuid, String)>, String, Option<String>);

fn assemble(
    tenant_id: Uuid,
    currency: &Currency,
    specs: &[LineSpec],
    texts: Vec<LineTexts>,
    computed: arithmetic::Computed,
) -> PreparedLines {
    let mut out = PreparedLines::default();
    for (i, ((spec, (product, description, unit)), amounts)) in specs.iter().zip(texts).zip(computed.lines).enumerate()
    {
        let line_no = i as i32 + 1;
        let flags: Vec<&TaxFlag> = computed.flags.iter().filter(|f| f.line_no == i + 1).collect();
        let row = DocumentLine {
            tenant_id,
            document_id: Uuid::nil(),
            line_no,
            product_id: product.as_ref().map(|(id, _)| *id),
            description,
            quantity: spec.quantity,
            unit,
            unit_price: spec.unit_price,
            discount: spec.discount,
            discount_percent: spec.discount_percent,
            tax_rate: spec.tax_rate,
            net: amounts.net,
            tax: amounts.tax,
            gross: amounts.gross,
            tax_flags: serde_json::json!(flags
                .iter()
                .map(|f| serde_json::json!({"kind": f.kind, "message": f.message}))
                .collect::<Vec<_>>()),
        };
        out.views.push(line_view(&row, product.map(|(_, code)| code), currency.code()));
        out.rows.push(row);
    }
    out.flags = flag_views(&out.rows);
    out
}

fn line_view(row: &DocumentLine, product_code: Option<String>, currency: &str) -> DocumentLineView {
    let amount = |v: Decimal| crate::domain::money::format_amount(currency, v);
    DocumentLineView {
        line_no: row.line_no,
        product_code,
        description: row.description.clone(),
        quantity: row.quantity.normalize().to_string(),
        unit: row.unit.clone(),
        unit_price: row.unit_price.normalize().to_string(),
        discount: (!row.discount.is_zero()).then(|| amount(row.discount)),
        discount_percent: (!row.discount_percent.is_zero()).then(|| row.discount_percent.normalize().to_string()),
        tax_rate: row.tax_rate.normalize().to_string(),
        net: amount(row.net),
        tax: amount(row.tax),
        gross: amount(row.gross),
    }
}

fn flag_views(rows: &[DocumentLine]) -> Vec<TaxFlagView> {
    let mut out = Vec::new();
    for row in rows {
        let flags: Vec<TaxFlag> = row
            .tax_flags
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| {
                let mut f = f.clone();
                f["line_no"] = serde_json::json!(row.line_no);
                serde_json::from_value(f).ok()
            })
            .collect();
        out.extend(flags.into_iter().map(|f| TaxFlagView { line_no: row.line_no, kind: f.kind, message: f.message }));
    }
    out
}

/// A document's lines as answered, with their tax flags.
pub type LinesAndFlags = (Vec<DocumentLineView>, Vec<TaxFlagView>);

/// The lines of stored documents as answered, by document id, with their tax flags.
pub fn views_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    docs: &[(Uuid, &str)],
) -> AppResult<HashMap<Uuid, LinesAndFlags>> {
    let ids: Vec<Uuid> = docs.iter().map(|(id, _)| *id).collect();
    let currency: HashMap<Uuid, &str> = docs.iter().copied().collect();
    let mut rows: HashMap<Uuid, Vec<(DocumentLine, Option<String>)>> = HashMap::new();
    for (row, code) in lines_db::of_documents(conn, tenant_id, &ids)? {
        rows.entry(row.document_id).or_default().push((row, code));
    }
    Ok(rows
        .into_iter()
        .map(|(id, lines)| {
            let cur = currency.get(&id).copied().unwrap_or("");
            let views = lines.iter().map(|(r, code)| line_view(r, code.clone(), cur)).collect();
            let plain: Vec<DocumentLine> = lines.into_iter().map(|(r, _)| r).collect();
            (id, (views, flag_views(&plain)))
        })
        .collect())
}

/// The lines a patch gives, prepared; or, when it gives none but changes the amount or currency of
/// a document with lines, the check that the stored lines still add up (or a refusal).
pub(super) fn for_patch(
    conn: &mut PgConnection,
    doc: &crate::db::documents::Document,
    fields: &super::documents::DocumentFields,
    stated: Option<&[DocumentLineInput]>,
) -> AppResult<Option<PreparedLines>> {
    let currency = Currency::parse(&fields.currency).map_err(|e| AppError::invalid("currency", e.to_string()))?;
    if let Some(stated) = stated {
        let header = LinedDocument {
            doc_type: doc.doc_type,
            currency: &currency,
            amount: fields.amount,
            issue_date: fields.issue_date,
        };
        let prepared = prepare(conn, doc.tenant_id, header, stated)?;
        return Ok(Some(prepared.for_document(doc.id)));
    }
    if fields.amount == doc.amount && fields.currency == doc.currency {
        return Ok(None);
    }
    let stored = lines_db::of_documents(conn, doc.tenant_id, &[doc.id])?;
    if stored.is_empty() {
        return Ok(None);
    }
    if fields.currency != doc.currency {
        return Err(AppError::invalid(
            "currency",
            "a document with lines changes currency only together with its lines",
        ));
    }
    let total: Decimal = stored.iter().map(|(l, _)| l.gross).sum();
    match header_mismatch(doc.doc_type == DocType::CreditNote, fields.amount, total) {
        Some(expected) => Err(total_mismatch(&currency, fields.amount, expected)),
        None => Ok(None),
    }
}

/// Whether prepared lines are the ones a document already shows.
pub(super) fn same_as(views: &[DocumentLineView], before: &super::documents::DocumentView) -> bool {
    let now = serde_json::to_value(views).ok();
    now.is_some() && now == serde_json::to_value(before.lines.as_deref().unwrap_or_default()).ok()
}

/// Net and tax per rate of the documents that have lines, in each document's own sense (a
/// credit note's negated lines turned positive), for explaining gaps that are tax.
pub fn rate_groups_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<arithmetic::RateGroup>>> {
    let mut per: HashMap<Uuid, Vec<(Decimal, arithmetic::LineAmounts)>> = HashMap::new();
    for (l, _) in lines_db::of_documents(conn, tenant_id, ids)? {
        let amounts = arithmetic::LineAmounts { net: l.net, tax: l.tax, gross: l.gross };
        per.entry(l.document_id).or_default().push((l.tax_rate, amounts));
    }
    Ok(per
        .into_iter()
        .map(|(id, lines)| {
            let negated = lines.iter().map(|(_, a)| a.gross).sum::<Decimal>().is_sign_negative();
            let mut groups = arithmetic::rate_groups(lines);
            if negated {
                groups.iter_mut().for_each(|g| (g.net, g.tax) = (-g.net, -g.tax));
            }
            (id, groups)
        })
        .collect())
}

/// Stores prepared lines in place of the document's current ones.
pub fn store(conn: &mut PgConnection, tenant_id: Uuid, document_id: Uuid, lines: &PreparedLines) -> AppResult<()> {
    lines_db::replace(conn, tenant_id, document_id, &lines.rows)?;
    Ok(())
}

pub fn get_settings(conn: &mut PgConnection, principal: &Principal) -> AppResult<DocumentSettingsView> {
    require(principal, Permission::Read)?;
    Ok(DocumentSettingsView { tax_rounding: lines_db::tax_rounding(conn, principal.tenant_id)? })
}

/// The rule applies to lines written from now on; stored lines keep their amounts.
pub fn put_settings(
    conn: &mut PgConnection,
    principal: &Principal,
    input: DocumentSettingsView,
) -> AppResult<DocumentSettingsView> {
    require(principal, Permission::Admin)?;
    let before = lines_db::tax_rounding(conn, principal.tenant_id)?;
    lines_db::save_tax_rounding(conn, principal.tenant_id, input.tax_rounding)?;
    let mut a = entry(principal, "document_settings.updated", "document_settings", &principal.tenant_id.to_string());
    a.before = Some(serde_json::json!({ "tax_rounding": before }));
    a.after = serde_json::to_value(&input).ok();
    audit_db::append(conn, principal.tenant_id, vec![a])?;
    Ok(input)
}
