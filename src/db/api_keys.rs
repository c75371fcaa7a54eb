use super::schema::api_keys;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub role: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Set for a connector's push key: it works only while that connector is enabled.
    pub connector_id: Option<Uuid>,
}

pub fn insert(conn: &mut PgConnection, key: &ApiKey) -> QueryResult<()> {
    diesel::insert_into(api_keys::table).values(key).execute(conn).map(|_| ())
}

/// The key row for a presented prefix, whatever its tenant: the caller checks the hash.
pub fn find_active_by_prefix(conn: &mut PgConnection, prefix: &str) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::prefix.eq(prefix))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .filter(api_keys::tenant_id.eq(tenant_id))
        .order(api_keys::created_at.asc())
        .select(ApiKey::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<ApiKey> {
    api_keys::table
        .filter(api_keys::tenant_id.eq(tenant_id))
        .filter(api_keys::id.eq(id))
        .select(ApiKey::as_select())
        .first(conn)
}

pub fn revoke(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, at: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(api_keys::table)
        .filter(api_keys::tenant_id.eq(tenant_id))
        .filter(api_keys::id.eq(id))
        .filter(api_keys::revoked_at.is_null())
        .set(api_keys::revoked_at.eq(Some(at)))
        .execute(conn)
}
