use super::schema::products;
use crate::domain::product::ProductKind;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = products, treat_none_as_null = true)]
pub struct Product {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: ProductKind,
    pub unit: Option<String>,
    pub default_price: Option<Decimal>,
    pub currency: Option<String>,
    pub tax_rate: Option<Decimal>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Earlier and later rates by date (`domain::product::TaxRateChange` as JSON).
    pub tax_rate_history: serde_json::Value,
}

#[derive(Debug, Default, Clone)]
pub struct ProductFilter {
    pub code: Option<String>,
    pub name: Option<String>,
    pub active: Option<bool>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

pub fn insert_many(conn: &mut PgConnection, rows: &[Product]) -> QueryResult<()> {
    // 12 columns per row, below PostgreSQL's 65,535 bind parameters per statement.
    for chunk in rows.chunks(4000) {
        diesel::insert_into(products::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

pub fn update(conn: &mut PgConnection, p: &Product) -> QueryResult<()> {
    diesel::update(products::table)
        .filter(products::tenant_id.eq(p.tenant_id))
        .filter(products::id.eq(p.id))
        .set(p)
        .execute(conn)
        .map(|_| ())
}

pub fn find_by_code(conn: &mut PgConnection, tenant_id: Uuid, code: &str) -> QueryResult<Option<Product>> {
    products::table
        .filter(products::tenant_id.eq(tenant_id))
        .filter(products::code.eq(code))
        .select(Product::as_select())
        .first(conn)
        .optional()
}

/// The products with these codes, locked against concurrent imports of the same codes.
pub fn find_by_codes_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    codes: &[String],
) -> QueryResult<Vec<Product>> {
    products::table
        .filter(products::tenant_id.eq(tenant_id))
        .filter(products::code.eq_any(codes))
        .select(Product::as_select())
        .for_update()
        .load(conn)
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid, f: &ProductFilter) -> QueryResult<Vec<Product>> {
    let mut q = products::table.filter(products::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(code) = &f.code {
        q = q.filter(products::code.eq(code));
    }
    if let Some(name) = &f.name {
        q = q.filter(products::name.ilike(super::like_pattern(name)));
    }
    if let Some(active) = f.active {
        q = q.filter(products::active.eq(active));
    }
    if let Some(after) = f.after {
        q = q.filter(products::id.gt(after));
    }
    q.order(products::id.asc()).limit(f.limit).select(Product::as_select()).load(conn)
}
