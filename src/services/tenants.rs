//! Creating a tenant: the first step of an installation (`duizhang tenant create`).

use crate::db::{api_keys, audit as audit_db, tenants};
use crate::domain::auth::{Actor, Principal, Role};
use crate::domain::money::Currency;
use crate::domain::tenant::{check_slug, slug_from_name};
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use chrono::Utc;
use diesel::PgConnection;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize)]
pub struct CreatedTenant {
    pub tenant_id: Uuid,
    /// What its people give as `tenant` when they log in.
    pub slug: String,
    /// An admin API key, shown once.
    pub api_key: String,
}

/// A tenant with a slug made from its name (made unique with a piece of its id if taken).
pub fn create(conn: &mut PgConnection, name: &str, base_currency: &str) -> AppResult<CreatedTenant> {
    create_with_slug(conn, name, None, base_currency)
}

/// A tenant with the given slug (refused when taken), or one made from its name.
pub fn create_with_slug(
    conn: &mut PgConnection,
    name: &str,
    slug: Option<&str>,
    base_currency: &str,
) -> AppResult<CreatedTenant> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("name", "must be 1 to 200 characters"));
    }
    let currency = Currency::parse(base_currency).map_err(|e| AppError::invalid("base_currency", e.to_string()))?;
    let id = Uuid::now_v7();
    let slug = match slug {
        Some(slug) => {
            check_slug(slug).map_err(|e| AppError::invalid("slug", e))?;
            if tenants::slug_taken(conn, slug)? {
                return Err(AppError::conflict(format!("the slug {slug:?} belongs to another tenant")));
            }
            slug.to_string()
        }
        None => {
            let slug = slug_from_name(name);
            if tenants::slug_taken(conn, &slug)? {
                format!("{slug}-{}", &id.simple().to_string()[..8])
            } else {
                slug
            }
        }
    };
    let tenant = tenants::Tenant {
        id,
        name: name.to_string(),
        base_currency: currency.code().to_string(),
        created_at: Utc::now(),
        slug,
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
    created.after =
        Some(serde_json::json!({ "name": tenant.name, "slug": tenant.slug, "base_currency": tenant.base_currency }));
    let mut key_entry = entry(&system, "api_key.created", "api_key", &key.id.to_string());
    key_entry.after = Some(serde_json::json!({ "name": key.name, "role": key.role, "prefix": key.prefix }));
    audit_db::append(conn, tenant.id, vec![created, key_entry])?;
    Ok(CreatedTenant { tenant_id: tenant.id, slug: tenant.slug, api_key: plaintext })
}

/// The tenant a login or the command line names: its id, or its slug.
pub fn find(conn: &mut PgConnection, selector: &str) -> AppResult<Option<tenants::Tenant>> {
    let selector = selector.trim();
    if let Ok(id) = Uuid::parse_str(selector) {
        return match tenants::find(conn, id) {
            Ok(tenant) => Ok(Some(tenant)),
            Err(diesel::result::Error::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        };
    }
    Ok(tenants::find_by_slug(conn, &selector.to_ascii_lowercase())?)
}

/// Every tenant of the installation, oldest first (`duizhang tenant list`).
pub fn list(conn: &mut PgConnection) -> AppResult<Vec<tenants::Tenant>> {
    Ok(tenants::list(conn)?)
}

/// The tenant's name, as reports print it (the issuing company).
pub fn name(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<String> {
    Ok(tenants::find(conn, tenant_id)?.name)
}
