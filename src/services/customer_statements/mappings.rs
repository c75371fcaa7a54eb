//! The layout of a customer's statement files, saved per customer like a bank account's CSV
//! mapping: which columns hold what, how amounts and their sides are written, dates, encoding,
//! and the customer's own document type words. Without one, the layout is detected per file.

use crate::db::audit as audit_db;
use crate::db::customer_statement_mappings::{self as mappings_db, SavedMapping};
use crate::db::customers as customers_db;
use crate::domain::auth::{Permission, Principal};
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::require;
use crate::statement_formats::StatementMapping;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementMappingView {
    pub customer_code: String,
    /// The saved mapping; `null`: none saved, each file's layout is detected from its header.
    #[schema(value_type = Option<Object>)]
    pub mapping: Option<serde_json::Value>,
    pub updated_at: Option<DateTime<Utc>>,
}

fn customer(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<customers_db::Customer> {
    customers_db::find_by_code(conn, principal.tenant_id, code)
        .map_err(|_| AppError::not_found(format!("customer {code:?}")))
}

fn view(code: String, saved: Option<SavedMapping>) -> StatementMappingView {
    StatementMappingView {
        customer_code: code,
        updated_at: saved.as_ref().map(|s| s.updated_at),
        mapping: saved.map(|s| s.mapping),
    }
}

pub fn get(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<StatementMappingView> {
    require(principal, Permission::Read)?;
    let c = customer(conn, principal, code)?;
    let saved = mappings_db::find(conn, principal.tenant_id, c.id)?;
    Ok(view(c.code, saved))
}

/// Saves (replaces) the customer's mapping after checking it.
pub fn put(
    conn: &mut PgConnection,
    principal: &Principal,
    code: &str,
    mapping: StatementMapping,
) -> AppResult<StatementMappingView> {
    require(principal, Permission::WriteMatching)?;
    mapping.validate().map_err(|e| AppError::invalid("mapping", e))?;
    let c = customer(conn, principal, code)?;
    let before = mappings_db::find(conn, principal.tenant_id, c.id)?;
    let now = Utc::now();
    let row = SavedMapping {
        customer_id: c.id,
        tenant_id: principal.tenant_id,
        mapping: serde_json::to_value(&mapping).map_err(AppError::internal)?,
        created_at: before.as_ref().map_or(now, |b| b.created_at),
        updated_at: now,
    };
    mappings_db::save(conn, &row)?;
    let mut e = entry(principal, "statement_mapping.saved", "customer", &c.code);
    e.before = before.map(|b| b.mapping);
    e.after = Some(row.mapping.clone());
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view(c.code, Some(row)))
}

/// Removes the customer's mapping: files are read with a detected layout again.
pub fn delete(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<()> {
    require(principal, Permission::WriteMatching)?;
    let c = customer(conn, principal, code)?;
    let before = mappings_db::find(conn, principal.tenant_id, c.id)?;
    let Some(before) = before else { return Err(AppError::not_found("statement mapping")) };
    mappings_db::delete(conn, principal.tenant_id, c.id)?;
    let mut e = entry(principal, "statement_mapping.deleted", "customer", &c.code);
    e.before = Some(before.mapping);
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(())
}

/// The mapping statements of this customer are read with (the default detects everything).
pub(crate) fn load(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> AppResult<StatementMapping> {
    match mappings_db::find(conn, tenant_id, customer_id)? {
        None => Ok(StatementMapping::default()),
        // Stored only after validation: a row that does not read back is a defect, not input.
        Some(saved) => serde_json::from_value(saved.mapping).map_err(AppError::internal),
    }
}
