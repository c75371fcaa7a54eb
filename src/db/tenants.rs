use super::schema::tenants;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub base_currency: String,
    pub created_at: DateTime<Utc>,
    /// The short name people log in with (`acme`); unique.
    pub slug: String,
}

pub fn insert(conn: &mut PgConnection, tenant: &Tenant) -> QueryResult<()> {
    diesel::insert_into(tenants::table).values(tenant).execute(conn).map(|_| ())
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Tenant> {
    tenants::table.find(id).select(Tenant::as_select()).first(conn)
}

pub fn find_by_slug(conn: &mut PgConnection, slug: &str) -> QueryResult<Option<Tenant>> {
    tenants::table.filter(tenants::slug.eq(slug)).select(Tenant::as_select()).first(conn).optional()
}

pub fn slug_taken(conn: &mut PgConnection, slug: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(tenants::table.filter(tenants::slug.eq(slug)))).get_result(conn)
}

pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<Tenant>> {
    tenants::table.order(tenants::created_at.asc()).select(Tenant::as_select()).load(conn)
}

/// Every tenant's id, in id order.
pub fn all_ids(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    tenants::table.select(tenants::id).order(tenants::id).load(conn)
}
