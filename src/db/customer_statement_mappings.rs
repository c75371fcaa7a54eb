//! The statement mapping saved for a customer (one row per customer).

use super::schema::customer_statement_mappings as m;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = m)]
pub struct SavedMapping {
    pub customer_id: Uuid,
    pub tenant_id: Uuid,
    pub mapping: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<Option<SavedMapping>> {
    m::table
        .filter(m::tenant_id.eq(tenant_id))
        .filter(m::customer_id.eq(customer_id))
        .select(SavedMapping::as_select())
        .first(conn)
        .optional()
}

/// Inserts or replaces the customer's mapping.
pub fn save(conn: &mut PgConnection, row: &SavedMapping) -> QueryResult<()> {
    diesel::insert_into(m::table)
        .values(row)
        .on_conflict((m::customer_id, m::tenant_id))
        .do_update()
        .set((m::mapping.eq(&row.mapping), m::updated_at.eq(row.updated_at)))
        .execute(conn)
        .map(|_| ())
}

/// Removes the customer's mapping; whether there was one.
pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<bool> {
    diesel::delete(m::table.filter(m::tenant_id.eq(tenant_id)).filter(m::customer_id.eq(customer_id)))
        .execute(conn)
        .map(|n| n > 0)
}
