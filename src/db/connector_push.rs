//! Push access to a connector: the API keys bound to it and its push-signing secrets.

use super::api_keys::ApiKey;
use super::schema::{api_keys, connector_push_secrets, connectors};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = connector_push_secrets)]
pub struct PushSecret {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub connector_id: Uuid,
    pub sealed_secret: Vec<u8>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Whether a push key's connector still exists and is enabled.
pub fn connector_enabled(conn: &mut PgConnection, tenant_id: Uuid, connector_id: Uuid) -> QueryResult<bool> {
    connectors::table
        .filter(connectors::tenant_id.eq(tenant_id))
        .filter(connectors::id.eq(connector_id))
        .select(connectors::enabled)
        .first::<bool>(conn)
        .optional()
        .map(|enabled| enabled.unwrap_or(false))
}

pub fn keys(conn: &mut PgConnection, tenant_id: Uuid, connector_id: Uuid) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .filter(api_keys::tenant_id.eq(tenant_id))
        .filter(api_keys::connector_id.eq(connector_id))
        .order(api_keys::created_at.asc())
        .select(ApiKey::as_select())
        .load(conn)
}

/// Stores a new secret; the ones still valid keep working until `previous_valid_until`.
pub fn rotate_secret(
    conn: &mut PgConnection,
    secret: &PushSecret,
    previous_valid_until: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(connector_push_secrets::table)
        .filter(connector_push_secrets::tenant_id.eq(secret.tenant_id))
        .filter(connector_push_secrets::connector_id.eq(secret.connector_id))
        .filter(
            connector_push_secrets::expires_at
                .is_null()
                .or(connector_push_secrets::expires_at.gt(previous_valid_until)),
        )
        .set(connector_push_secrets::expires_at.eq(Some(previous_valid_until)))
        .execute(conn)?;
    diesel::insert_into(connector_push_secrets::table).values(secret).execute(conn).map(|_| ())
}

/// The secrets a push may be signed with right now.
pub fn valid_secrets(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    connector_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Vec<PushSecret>> {
    connector_push_secrets::table
        .filter(connector_push_secrets::tenant_id.eq(tenant_id))
        .filter(connector_push_secrets::connector_id.eq(connector_id))
        .filter(connector_push_secrets::expires_at.is_null().or(connector_push_secrets::expires_at.gt(now)))
        .order(connector_push_secrets::created_at.desc())
        .select(PushSecret::as_select())
        .load(conn)
}
