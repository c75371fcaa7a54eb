//! Products and services: the master data document lines name, keyed by the tenant's own code.

use super::import::{ImportFormat, ImportReport, ParsedRows, RejectedRow};
use super::import_sheet::{parse_rows, ReadRows};
use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use crate::db::audit as audit_db;
use crate::db::products::{self as products_db, Product, ProductFilter};
use crate::domain::auth::{Permission, Principal};
use crate::domain::customer::{check_identifier, check_name};
use crate::domain::import_mapping::ImportMapping;
use crate::domain::money::Currency;
use crate::domain::product::{
    check_tax_rate_history, check_unit, parse_tax_rate, parse_unit_price, ProductKind, TaxRateChange,
};
use crate::domain::sheet_columns::ImportKind;
use crate::error::{AppError, AppResult};
use crate::services::audit::{entry, snapshot};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// The tenant's own product or service code (SKU), unique per tenant.
    pub code: String,
    pub name: String,
    /// `product` (default) or `service`.
    pub kind: Option<ProductKind>,
    /// Unit of measure, e.g. "pcs", "kg", "h", "件".
    pub unit: Option<String>,
    /// Decimal string, at most 6 decimals, e.g. "12.50"; needs `currency`.
    pub default_price: Option<String>,
    /// ISO 4217 currency of `default_price`.
    pub currency: Option<String>,
    /// Tax rate in percent, e.g. "13" for 13% VAT.
    pub tax_rate: Option<String>,
    /// Inactive products stay on old documents but are not offered for new ones (default true).
    pub active: Option<bool>,
    /// The rates by date, when the rate changed by law: a document line is checked against the
    /// rate valid on its document's issue date. Absent on an import row: the stored ones stay.
    pub tax_rate_history: Option<Vec<TaxRateChange>>,
}

/// A partial update: absent fields stay as they are; `null` clears a nullable field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub kind: Option<ProductKind>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub unit: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub default_price: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub tax_rate: Option<Option<String>>,
    pub active: Option<bool>,
    /// Replaces the dated rates (`[]` removes them).
    pub tax_rate_history: Option<Vec<TaxRateChange>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct ProductView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: ProductKind,
    pub unit: Option<String>,
    /// Decimal string.
    pub default_price: Option<String>,
    pub currency: Option<String>,
    /// Percent, decimal string.
    pub tax_rate: Option<String>,
    pub active: bool,
    /// Rates by date (see `ProductInput`); empty: `tax_rate` on every date.
    pub tax_rate_history: Vec<TaxRateChange>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        ProductView {
            id: p.id,
            code: p.code,
            name: p.name,
            kind: p.kind,
            unit: p.unit,
            default_price: p.default_price.map(|v| v.normalize().to_string()),
            currency: p.currency,
            tax_rate: p.tax_rate.map(|v| v.normalize().to_string()),
            active: p.active,
            tax_rate_history: stored_history(&p.tax_rate_history),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// The validated fields of a product (everything but identity and timestamps).
#[derive(Debug, Clone, PartialEq)]
struct ProductFields {
    name: String,
    kind: ProductKind,
    unit: Option<String>,
    default_price: Option<Decimal>,
    currency: Option<String>,
    tax_rate: Option<Decimal>,
    active: bool,
    /// `None`: keep what is stored (an import row without the column).
    tax_rate_history: Option<Vec<TaxRateChange>>,
}

/// The stored dated rates (written by this module only, so they read back).
pub fn stored_history(value: &serde_json::Value) -> Vec<TaxRateChange> {
    Vec::<TaxRateChange>::deserialize(value).unwrap_or_default()
}

impl ProductFields {
    fn of(p: &Product) -> ProductFields {
        ProductFields {
            name: p.name.clone(),
            kind: p.kind,
            unit: p.unit.clone(),
            default_price: p.default_price.map(|v| v.normalize()),
            currency: p.currency.clone(),
            tax_rate: p.tax_rate.map(|v| v.normalize()),
            active: p.active,
            tax_rate_history: Some(stored_history(&p.tax_rate_history)),
        }
    }

    /// Equal to what is stored, where the row says something.
    fn same_as(&self, p: &Product) -> bool {
        let stored = ProductFields::of(p);
        let history = self.tax_rate_history.clone().or(stored.tax_rate_history.clone());
        ProductFields { tax_rate_history: history, ..self.clone() } == stored
    }

    fn apply(self, p: &mut Product) {
        p.name = self.name;
        p.kind = self.kind;
        p.unit = self.unit;
        p.default_price = self.default_price;
        p.currency = self.currency;
        p.tax_rate = self.tax_rate;
        p.active = self.active;
        if let Some(history) = self.tax_rate_history {
            p.tax_rate_history = serde_json::to_value(history).unwrap_or_default();
        }
    }
}

fn validate_code(code: &str) -> AppResult<String> {
    check_identifier(code, 64).map_err(|e| AppError::invalid("code", e))
}

fn validate_fields(input: &ProductInput) -> AppResult<ProductFields> {
    let currency = input
        .currency
        .as_deref()
        .map(|c| {
            Currency::parse(&c.trim().to_ascii_uppercase())
                .map(|c| c.code().to_string())
                .map_err(|e| AppError::invalid("currency", e.to_string()))
        })
        .transpose()?;
    let default_price = input
        .default_price
        .as_deref()
        .map(|t| parse_unit_price(t).map_err(|e| AppError::invalid("default_price", e)))
        .transpose()?;
    if default_price.is_some() && currency.is_none() {
        return Err(AppError::invalid("currency", "is required with default_price"));
    }
    Ok(ProductFields {
        name: check_name(&input.name).map_err(|e| AppError::invalid("name", e))?,
        kind: input.kind.unwrap_or(ProductKind::Product),
        unit: input.unit.as_deref().map(check_unit).transpose().map_err(|e| AppError::invalid("unit", e))?,
        default_price,
        currency,
        tax_rate: input
            .tax_rate
            .as_deref()
            .map(parse_tax_rate)
            .transpose()
            .map_err(|e| AppError::invalid("tax_rate", e))?,
        active: input.active.unwrap_or(true),
        tax_rate_history: input
            .tax_rate_history
            .as_deref()
            .map(check_tax_rate_history)
            .transpose()
            .map_err(|e| AppError::invalid("tax_rate_history", e))?,
    })
}

fn new_product(tenant_id: Uuid, code: String, fields: ProductFields) -> Product {
    let now = Utc::now();
    let mut p = Product {
        id: Uuid::now_v7(),
        tenant_id,
        code,
        name: String::new(),
        kind: ProductKind::Product,
        unit: None,
        default_price: None,
        currency: None,
        tax_rate: None,
        active: true,
        created_at: now,
        updated_at: now,
        tax_rate_history: serde_json::json!([]),
    };
    fields.apply(&mut p);
    p
}

pub fn create(conn: &mut PgConnection, principal: &Principal, input: ProductInput) -> AppResult<ProductView> {
    require(principal, Permission::WriteLedger)?;
    let code = validate_code(&input.code)?;
    let fields = validate_fields(&input)?;
    if products_db::find_by_code(conn, principal.tenant_id, &code)?.is_some() {
        return Err(AppError::conflict(format!("product {code:?} already exists"))
            .with_details(serde_json::json!({"field": "code"})));
    }
    let product = new_product(principal.tenant_id, code, fields);
    products_db::insert_many(conn, std::slice::from_ref(&product))?;
    let view = ProductView::from(product);
    let mut e = entry(principal, "product.created", "product", &view.code);
    e.after = snapshot(&view);
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view)
}

fn find(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<Product> {
    products_db::find_by_code(conn, principal.tenant_id, code)?
        .ok_or_else(|| AppError::not_found(format!("product {code:?}")))
}

pub fn get(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<ProductView> {
    require(principal, Permission::Read)?;
    Ok(ProductView::from(find(conn, principal, code)?))
}

pub fn update(
    conn: &mut PgConnection,
    principal: &Principal,
    code: &str,
    patch: ProductPatch,
) -> AppResult<ProductView> {
    require(principal, Permission::WriteLedger)?;
    let existing = find(conn, principal, code)?;
    let current = ProductView::from(existing.clone());
    let merged = ProductInput {
        code: existing.code.clone(),
        name: patch.name.unwrap_or(current.name.clone()),
        kind: Some(patch.kind.unwrap_or(current.kind)),
        unit: patch.unit.unwrap_or(current.unit.clone()),
        default_price: patch.default_price.unwrap_or(current.default_price.clone()),
        currency: patch.currency.unwrap_or(current.currency.clone()),
        tax_rate: patch.tax_rate.unwrap_or(current.tax_rate.clone()),
        active: Some(patch.active.unwrap_or(current.active)),
        tax_rate_history: Some(patch.tax_rate_history.unwrap_or(current.tax_rate_history.clone())),
    };
    let fields = validate_fields(&merged)?;
    if fields.same_as(&existing) {
        return Ok(current);
    }
    let mut updated = existing;
    fields.apply(&mut updated);
    updated.updated_at = Utc::now();
    products_db::update(conn, &updated)?;
    let view = ProductView::from(updated);
    let mut e = entry(principal, "product.updated", "product", &view.code);
    e.before = snapshot(&current);
    e.after = snapshot(&view);
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Exact product code.
    pub code: Option<String>,
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
    pub active: Option<bool>,
    /// Page size (default 50, capped by the server's maximum).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn list(
    conn: &mut PgConnection,
    principal: &Principal,
    q: ProductQuery,
    max_limit: i64,
) -> AppResult<Page<ProductView>> {
    require(principal, Permission::Read)?;
    let limit = effective_limit(q.limit, max_limit)?;
    let filter = ProductFilter {
        code: q.code,
        name: q.name,
        active: q.active,
        after: parse_cursor(q.cursor.as_deref())?,
        limit: limit + 1,
    };
    let rows = products_db::list(conn, principal.tenant_id, &filter)?;
    Ok(page(rows, limit, |p| p.id, ProductView::from))
}

pub const CSV_COLUMNS: [&str; 8] = ["code", "name", "kind", "unit", "default_price", "currency", "tax_rate", "active"];

fn input_from_csv(cells: &HashMap<String, String>) -> Result<ProductInput, String> {
    Ok(ProductInput {
        code: cells.get("code").cloned().ok_or("code: missing")?,
        name: cells.get("name").cloned().ok_or("name: missing")?,
        kind: cells
            .get("kind")
            .map(|v| ProductKind::parse(&v.to_ascii_lowercase()).ok_or_else(|| format!("kind: unknown kind {v:?}")))
            .transpose()?,
        unit: cells.get("unit").cloned(),
        default_price: cells.get("default_price").cloned(),
        currency: cells.get("currency").cloned(),
        tax_rate: cells.get("tax_rate").cloned(),
        active: cells.get("active").map(|v| super::import::parse_yes_no("active", v)).transpose()?,
        tax_rate_history: None,
    })
}

/// Reads an import body (CSV, an .xlsx workbook or a JSON array) into rows; no database.
pub fn parse_import(format: ImportFormat, body: &[u8]) -> AppResult<ParsedRows<ProductInput>> {
    parse_import_with(format, body, None).map(|r| (r.rows, r.rejected))
}

/// [`parse_import`] with the tenant's column mapping for its own layout.
pub fn parse_import_with(
    format: ImportFormat,
    body: &[u8],
    mapping: Option<&ImportMapping>,
) -> AppResult<ReadRows<ProductInput>> {
    parse_rows(format, body, ImportKind::Products, mapping, &["code", "name"], input_from_csv)
}

/// Valid rows by code, in file order; invalid and repeated codes become rejections.
fn validate_rows(inputs: Vec<(u64, ProductInput)>, rejected: &mut Vec<RejectedRow>) -> Vec<(String, ProductFields)> {
    let mut valid = Vec::with_capacity(inputs.len());
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (row, input) in inputs {
        match validate_code(&input.code).and_then(|code| validate_fields(&input).map(|f| (code, f))) {
            Err(e) => rejected.push(RejectedRow::new(row, e.message)),
            Ok((code, _)) if seen.contains_key(&code) => rejected
                .push(RejectedRow::new(row, format!("code {code:?} appears again (first in row {})", seen[&code]))),
            Ok((code, fields)) => {
                seen.insert(code.clone(), row);
                valid.push((code, fields));
            }
        }
    }
    valid
}

/// Upserts products by code: invalid rows are reported, valid ones written, each row whole or
/// not at all, all in the caller's transaction. `mapping` names a saved import mapping.
pub fn import(
    conn: &mut PgConnection,
    principal: &Principal,
    format: ImportFormat,
    body: &[u8],
    mapping: Option<&str>,
) -> AppResult<ImportReport> {
    require(principal, Permission::WriteLedger)?;
    let mapping = super::import_mappings::for_import(conn, principal, ImportKind::Products, mapping)?;
    let ReadRows { rows: inputs, mut rejected, places, notes } = parse_import_with(format, body, mapping.as_ref())?;
    let valid = validate_rows(inputs, &mut rejected);
    let codes: Vec<String> = valid.iter().map(|(code, _)| code.clone()).collect();
    let existing: HashMap<String, Product> = products_db::find_by_codes_for_update(conn, principal.tenant_id, &codes)?
        .into_iter()
        .map(|p| (p.code.clone(), p))
        .collect();
    let mut report = ImportReport::default();
    let (mut to_insert, mut audit) = (Vec::new(), Vec::new());
    for (code, fields) in valid {
        match existing.get(&code) {
            None => {
                let product = new_product(principal.tenant_id, code, fields);
                let mut e = entry(principal, "product.created", "product", &product.code);
                e.after = snapshot(&ProductView::from(product.clone()));
                audit.push(e);
                to_insert.push(product);
                report.created += 1;
            }
            Some(current) if fields.same_as(current) => report.unchanged += 1,
            Some(current) => {
                let mut updated = current.clone();
                fields.apply(&mut updated);
                updated.updated_at = Utc::now();
                products_db::update(conn, &updated)?;
                let mut e = entry(principal, "product.updated", "product", &updated.code);
                e.before = snapshot(&ProductView::from(current.clone()));
                e.after = snapshot(&ProductView::from(updated));
                audit.push(e);
                report.updated += 1;
            }
        }
    }
    products_db::insert_many(conn, &to_insert)?;
    audit_db::append(conn, principal.tenant_id, audit)?;
    places.place_all(&mut rejected);
    report.rejected = rejected;
    report.notes = notes;
    Ok(report)
}
