//! Lines of invoices and credit notes, and the tenant's tax rounding rule.

use super::products::Product;
use super::schema::{document_lines, document_settings, products};
use crate::domain::document_lines::TaxRounding;
use chrono::Utc;
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = document_lines, treat_none_as_null = true)]
pub struct DocumentLine {
    pub tenant_id: Uuid,
    pub document_id: Uuid,
    pub line_no: i32,
    pub product_id: Option<Uuid>,
    pub description: String,
    pub quantity: Decimal,
    pub unit: Option<String>,
    pub unit_price: Decimal,
    pub discount: Decimal,
    pub discount_percent: Decimal,
    pub tax_rate: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
    pub gross: Decimal,
    pub tax_flags: serde_json::Value,
}

/// Replaces a document's lines with these (none: the document has no lines any more).
pub fn replace(conn: &mut PgConnection, tenant_id: Uuid, document_id: Uuid, lines: &[DocumentLine]) -> QueryResult<()> {
    diesel::delete(document_lines::table)
        .filter(document_lines::tenant_id.eq(tenant_id))
        .filter(document_lines::document_id.eq(document_id))
        .execute(conn)?;
    insert_many(conn, lines)
}

/// Replaces the lines of several documents at once.
pub fn replace_many(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    document_ids: &[Uuid],
    lines: &[DocumentLine],
) -> QueryResult<()> {
    for chunk in document_ids.chunks(10_000) {
        diesel::delete(document_lines::table)
            .filter(document_lines::tenant_id.eq(tenant_id))
            .filter(document_lines::document_id.eq_any(chunk))
            .execute(conn)?;
    }
    insert_many(conn, lines)
}

pub fn insert_many(conn: &mut PgConnection, lines: &[DocumentLine]) -> QueryResult<()> {
    // 15 bind parameters per row, below PostgreSQL's 65,535 per statement.
    for chunk in lines.chunks(4000) {
        diesel::insert_into(document_lines::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

/// The lines of some documents with their products' codes, by document and line number.
pub fn of_documents(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<(DocumentLine, Option<String>)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(10_000) {
        out.extend(
            document_lines::table
                .left_join(
                    products::table.on(products::id
                        .nullable()
                        .eq(document_lines::product_id)
                        .and(products::tenant_id.eq(document_lines::tenant_id))),
                )
                .filter(document_lines::tenant_id.eq(tenant_id))
                .filter(document_lines::document_id.eq_any(chunk))
                .order((document_lines::document_id, document_lines::line_no))
                .select((DocumentLine::as_select(), products::code.nullable()))
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Which of these documents have lines.
pub fn documents_with_lines(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<std::collections::HashSet<Uuid>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let found: Vec<Uuid> = document_lines::table
        .filter(document_lines::tenant_id.eq(tenant_id))
        .filter(document_lines::document_id.eq_any(ids))
        .filter(document_lines::line_no.eq(1))
        .select(document_lines::document_id)
        .load(conn)?;
    Ok(found.into_iter().collect())
}

/// The tenant's products with these codes (lines name products by code).
pub fn products_by_codes(conn: &mut PgConnection, tenant_id: Uuid, codes: &[String]) -> QueryResult<Vec<Product>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    products::table
        .filter(products::tenant_id.eq(tenant_id))
        .filter(products::code.eq_any(codes))
        .select(Product::as_select())
        .load(conn)
}

pub fn tax_rounding(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<TaxRounding> {
    document_settings::table
        .find(tenant_id)
        .select(document_settings::tax_rounding)
        .first::<TaxRounding>(conn)
        .optional()
        .map(|v| v.unwrap_or(TaxRounding::PerLine))
}

pub fn save_tax_rounding(conn: &mut PgConnection, tenant_id: Uuid, rounding: TaxRounding) -> QueryResult<()> {
    let now = Utc::now();
    diesel::insert_into(document_settings::table)
        .values((
            document_settings::tenant_id.eq(tenant_id),
            document_settings::tax_rounding.eq(rounding),
            document_settings::updated_at.eq(now),
        ))
        .on_conflict(document_settings::tenant_id)
        .do_update()
        .set((document_settings::tax_rounding.eq(rounding), document_settings::updated_at.eq(now)))
        .execute(conn)
        .map(|_| ())
}
