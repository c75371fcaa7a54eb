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
}

pub fn insert(conn: &mut PgConnection, tenant: &Tenant) -> QueryResult<()> {
    diesel::insert_into(tenants::table).values(tenant).execute(conn).map(|_| ())
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Tenant> {
    tenants::table.find(id).select(Tenant::as_select()).first(conn)
}
