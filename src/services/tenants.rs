//! Creating a tenant: the first step of an installation (`duizhang tenant create`).

use crate::db::{api_keys, audit as audit_db, tenants};
use crate::domain::auth::{Actor, Principal, Role};
use crate::domain::money::Currency;
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use chrono::Utc;
use diesel::PgConnection;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize)]
pub struct CreatedTenant {
    pub tenant_id: Uuid,
    /// An admin API key, shown once.
    pub api_key: String,
}

pub fn create(conn: &mut PgConnection, name: &str, base_currency: &str) -> AppResult<CreatedTenant> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("name", "must be 1 to 200 characters"));
    }
    let currency = Currency::parse(base_currency).map_err(|e| AppError::invalid("base_currency", e.to_string()))?;
    let tenant = tenants::Tenant {
        id: Uuid::now_v7(),
        name: name.to_string(),
        base_currency: currency.code().to_string(),
        created_at: Utc::now(),
    };
    tenants::insert(conn, &tenant)?;
    let (plaintext, prefix, hash) = super::auth::generate_api_key();
    let key = api_keys::ApiKey {
        id: Uuid::now_v7(),
        tenant_id: tenant.id,
        name: "initial admin key".into(),
        prefix,
        key_hash: hash,
        role: Role::Admin.as_str().into(),
        scopes: vec![],
        created_at: Utc::now(),
        revoked_at: None,
        connector_id: None,
    };
    api_keys::insert(conn, &key)?;
    let system = Principal { tenant_id: tenant.id, actor: Actor::System, role: Role::Admin, scopes: vec![] };
    let mut created = entry(&system, "tenant.created", "tenant", &tenant.id.to_string());
    created.after = Some(serde_json::json!({ "name": tenant.name, "base_currency": tenant.base_currency }));
    let mut key_entry = entry(&system, "api_key.created", "api_key", &key.id.to_string());
    key_entry.after = Some(serde_json::json!({ "name": key.name, "role": key.role, "prefix": key.prefix }));
    audit_db::append(conn, tenant.id, vec![created, key_entry])?;
    Ok(CreatedTenant { tenant_id: tenant.id, api_key: plaintext })
}

/// The tenant's name, as reports print it (the issuing company).
pub fn name(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<String> {
    Ok(tenants::find(conn, tenant_id)?.name)
}
