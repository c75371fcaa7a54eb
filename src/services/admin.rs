//! API keys of a tenant: admin-only. Users are in `services::users`.

use super::require;
use crate::db::{api_keys, audit as audit_db};
use crate::domain::auth::{Permission, Principal, Role};
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    pub role: Role,
    /// Narrow the role to these permissions: `read`, `ledger:write`, `bank:write`,
    /// `matching:write`, `collections:write`, `credit:write`, `admin`. Empty or absent: everything the role grants.
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub role: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The connector a push key belongs to (see `POST /connectors/{id}/push-keys`).
    pub connector_id: Option<Uuid>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The secret, shown only in this answer.
    pub api_key: String,
}

impl From<api_keys::ApiKey> for ApiKeyView {
    fn from(k: api_keys::ApiKey) -> Self {
        ApiKeyView {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            role: k.role,
            scopes: k.scopes,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            connector_id: k.connector_id,
        }
    }
}

pub fn create_api_key(conn: &mut PgConnection, principal: &Principal, input: NewApiKey) -> AppResult<CreatedApiKey> {
    require(principal, Permission::Admin)?;
    for (i, scope) in input.scopes.iter().enumerate() {
        if !Permission::is_known_scope(scope) {
            return Err(AppError::invalid(&format!("scopes[{i}]"), format!("unknown scope {scope:?}")));
        }
    }
    issue_api_key(conn, principal, &input.name, input.role, input.scopes, None)
}

/// Creates and audits a key (the caller has checked permission and scopes): an ordinary key, or
/// with `connector_id` a connector's push key. The plaintext is only in the answer.
pub(crate) fn issue_api_key(
    conn: &mut PgConnection,
    principal: &Principal,
    name: &str,
    role: Role,
    scopes: Vec<String>,
    connector_id: Option<Uuid>,
) -> AppResult<CreatedApiKey> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("name", "must be 1 to 200 characters"));
    }
    let (plaintext, prefix, hash) = super::auth::generate_api_key();
    let key = api_keys::ApiKey {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        name: name.to_string(),
        prefix,
        key_hash: hash,
        role: role.as_str().into(),
        scopes,
        created_at: Utc::now(),
        revoked_at: None,
        connector_id,
    };
    api_keys::insert(conn, &key)?;
    let mut e = entry(principal, "api_key.created", "api_key", &key.id.to_string());
    let mut after =
        serde_json::json!({ "name": key.name, "role": key.role, "scopes": key.scopes, "prefix": key.prefix });
    if let Some(connector_id) = connector_id {
        after["connector_id"] = serde_json::json!(connector_id);
    }
    e.after = Some(after);
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(CreatedApiKey { key: key.into(), api_key: plaintext })
}

pub fn list_api_keys(conn: &mut PgConnection, principal: &Principal) -> AppResult<Vec<ApiKeyView>> {
    require(principal, Permission::Admin)?;
    Ok(api_keys::list(conn, principal.tenant_id)?.into_iter().map(ApiKeyView::from).collect())
}

pub fn revoke_api_key(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<ApiKeyView> {
    require(principal, Permission::Admin)?;
    let now = Utc::now();
    api_keys::find(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("API key"))?;
    api_keys::revoke(conn, principal.tenant_id, id, now)?;
    let key = api_keys::find(conn, principal.tenant_id, id)?;
    let mut e = entry(principal, "api_key.revoked", "api_key", &id.to_string());
    e.after = Some(serde_json::json!({ "revoked_at": key.revoked_at }));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(key.into())
}
