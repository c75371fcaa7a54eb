//! Connectors: scheduled pulls from other systems. This module holds the management use cases
//! (admin to manage, read to view); `connector_worker` runs the syncs. Credentials are sealed
//! with AES-256-GCM before they reach the database and are never returned nor audited.

use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use crate::db::audit as audit_db;
use crate::db::connectors::{self as c_db, Connector, ConnectorSync};
use crate::domain::auth::{Permission, Principal};
use crate::domain::ssrf;
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::data_safety::{sealing, Keyring};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

pub const DEFAULT_SCHEDULE_SECONDS: i32 = 3600;
pub const MIN_SCHEDULE_SECONDS: i32 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorType {
    /// ERPNext / Frappe REST: customers and sales invoices.
    Erpnext,
    /// A camt.053 / MT940 / CSV / BAI2 file fetched over HTTP(S) and imported as a bank statement.
    BankFile,
    /// Odoo JSON-RPC: customers (res.partner) and posted invoices / credit notes (account.move).
    Odoo,
    /// An open-banking (NextGenPSD2-style) JSON transactions API, imported as bank lines.
    OpenBanking,
    /// Any JSON/REST invoice list, described by a URL template, paths and a paging style.
    GenericJson,
}

impl ConnectorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorType::Erpnext => "erpnext",
            ConnectorType::BankFile => "bank_file",
            ConnectorType::Odoo => "odoo",
            ConnectorType::OpenBanking => "open_banking",
            ConnectorType::GenericJson => "generic_json",
        }
    }

    pub fn parse(s: &str) -> Option<ConnectorType> {
        match s {
            "erpnext" => Some(ConnectorType::Erpnext),
            "bank_file" => Some(ConnectorType::BankFile),
            "odoo" => Some(ConnectorType::Odoo),
            "open_banking" => Some(ConnectorType::OpenBanking),
            "generic_json" => Some(ConnectorType::GenericJson),
            _ => None,
        }
    }
}

// The configs and credentials live with their clients (`crate::connectors`).
pub use crate::connectors::bank_file::{BankFileConfig, BankFileCredentials};
pub use crate::connectors::erpnext::{ErpnextConfig, ErpnextCredentials};
pub use crate::connectors::generic_json::{GenericJsonConfig, GenericJsonCredentials};
pub use crate::connectors::odoo::{OdooConfig, OdooCredentials};
pub use crate::connectors::open_banking::{OpenBankingConfig, OpenBankingCredentials};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ConnectorInput {
    pub connector_type: ConnectorType,
    pub name: String,
    /// erpnext: `{"base_url","page_size","sync_customers","sync_payments"}`; bank_file: `{"url","format","bank_account"}`;
    /// odoo: `{"base_url","database","username","page_size","sync_customers","sync_payments"}`; open_banking:
    /// `{"base_url","accounts","date_from"}`; generic_json: `{"url","base_url","records_path",
    /// "mapping","cursor_field","paging","default_currency","doc_type_values",...}` (see the README).
    #[schema(value_type = Object)]
    pub config: Value,
    /// Write-only. erpnext: `{"api_key","api_secret"}` (required); bank_file: optional
    /// `{"bearer_token"}` or `{"username","password"}`; odoo: `{"api_key"}` (required);
    /// open_banking: `{"access_token","consent_id"}` (required); generic_json: optional
    /// `{"bearer_token"}`, `{"header_name","header_value"}` or `{"username","password"}`.
    /// Stored encrypted, never returned.
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<Value>,
    /// Seconds between scheduled syncs (at least 60; default 3600).
    pub schedule_seconds: Option<i32>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ConnectorPatch {
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
    /// Replaces the stored credentials (write-only).
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<Value>,
    pub schedule_seconds: Option<i32>,
    pub enabled: Option<bool>,
    /// `true`: forget the cursor, so the next sync starts from the beginning (imports stay
    /// idempotent).
    pub reset_cursor: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct ConnectorView {
    pub id: Uuid,
    pub connector_type: ConnectorType,
    pub name: String,
    #[schema(value_type = Object)]
    pub config: Value,
    /// Whether credentials are stored (they are never shown).
    pub has_credentials: bool,
    pub schedule_seconds: i32,
    /// Where the next sync starts.
    #[schema(value_type = Object)]
    pub cursor: Value,
    pub enabled: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    /// A worker holds the connector (a sync is running).
    pub running: bool,
    pub consecutive_failures: i32,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn view(c: Connector) -> ConnectorView {
    let now = Utc::now();
    ConnectorView {
        id: c.id,
        connector_type: ConnectorType::parse(&c.connector_type).unwrap_or(ConnectorType::Erpnext),
        name: c.name,
        config: c.config,
        has_credentials: c.credentials.is_some(),
        schedule_seconds: c.schedule_seconds,
        cursor: c.sync_cursor,
        enabled: c.enabled,
        next_run_at: c.next_run_at,
        running: c.lease_until.is_some_and(|t| t > now),
        consecutive_failures: c.consecutive_failures,
        last_status: c.last_status.map(|s| s.as_str().to_string()),
        last_error: c.last_error,
        last_sync_at: c.last_sync_at,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct ConnectorSyncView {
    pub id: Uuid,
    /// running, succeeded or failed.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Pages (or files) committed.
    pub pages: i32,
    pub created: i32,
    pub updated: i32,
    /// Unchanged, duplicate or rejected records.
    pub skipped: i32,
    /// Records the import rejected (up to 50), with the reason.
    #[schema(value_type = Vec<Object>)]
    pub rejected: Value,
    pub error: Option<String>,
}

fn sync_view(s: ConnectorSync) -> ConnectorSyncView {
    ConnectorSyncView {
        id: s.id,
        status: s.status.as_str().to_string(),
        started_at: s.started_at,
        finished_at: s.finished_at,
        pages: s.pages,
        created: s.created,
        updated: s.updated,
        skipped: s.skipped,
        rejected: s.rejected,
        error: s.error,
    }
}

fn validate_name(name: &str) -> AppResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 {
        return Err(AppError::invalid("name", "1 to 200 characters"));
    }
    Ok(n.to_string())
}

fn validate_schedule(s: Option<i32>) -> AppResult<i32> {
    let s = s.unwrap_or(DEFAULT_SCHEDULE_SECONDS);
    if s < MIN_SCHEDULE_SECONDS {
        return Err(AppError::invalid("schedule_seconds", format!("at least {MIN_SCHEDULE_SECONDS}")));
    }
    Ok(s)
}

fn typed<T: serde::de::DeserializeOwned>(field: &str, value: Value) -> AppResult<T> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| AppError::invalid(field, crate::services::import::describe_json_error(&e)))
}

/// Checks `config` for its type and returns it normalised (defaults filled in).
fn validate_config(conn: &mut PgConnection, tenant_id: Uuid, kind: ConnectorType, config: Value) -> AppResult<Value> {
    let allow_private = c_db::tenant_allows_private(conn, tenant_id)?;
    let check_url = |field: &str, raw: &str| {
        ssrf::validate_url(raw, allow_private).map(|u| u.to_string()).map_err(|e| AppError::invalid(field, e))
    };
    match kind {
        ConnectorType::Erpnext => {
            let mut c: ErpnextConfig = typed("config", config)?;
            c.base_url = check_url("config.base_url", &c.base_url)?.trim_end_matches('/').to_string();
            if !(1..=1000).contains(&c.page_size) {
                return Err(AppError::invalid("config.page_size", "1 to 1000"));
            }
            serde_json::to_value(c).map_err(AppError::internal)
        }
        ConnectorType::BankFile => {
            let mut c: BankFileConfig = typed("config", config)?;
            c.url = check_url("config.url", &c.url)?;
            if let Some(f) = &c.format {
                crate::services::bank::parse_format(f)
                    .map_err(|_| AppError::invalid("config.format", "camt053, camt054, mt940, csv or bai2"))?;
            }
            serde_json::to_value(c).map_err(AppError::internal)
        }
        ConnectorType::Odoo => {
            let mut c: OdooConfig = typed("config", config)?;
            c.base_url = check_url("config.base_url", &c.base_url)?.trim_end_matches('/').to_string();
            if !(1..=1000).contains(&c.page_size) {
                return Err(AppError::invalid("config.page_size", "1 to 1000"));
            }
            for (field, v) in [("config.database", &c.database), ("config.username", &c.username)] {
                if v.trim().is_empty() {
                    return Err(AppError::invalid(field, "required"));
                }
            }
            serde_json::to_value(c).map_err(AppError::internal)
        }
        ConnectorType::OpenBanking => {
            let mut c: OpenBankingConfig = typed("config", config)?;
            c.base_url = check_url("config.base_url", &c.base_url)?.trim_end_matches('/').to_string();
            if c.accounts.as_ref().is_some_and(|a| a.is_empty()) {
                return Err(AppError::invalid("config.accounts", "list at least one IBAN, or leave it out for all"));
            }
            serde_json::to_value(c).map_err(AppError::internal)
        }
        ConnectorType::GenericJson => {
            let mut c: GenericJsonConfig = typed("config", config)?;
            if let Some(base) = &c.base_url {
                c.base_url = Some(check_url("config.base_url", base)?.trim_end_matches('/').to_string());
            }
            let first = c.validate().map_err(|(field, e)| AppError::invalid(&field, e))?;
            check_url("config.url", &first)?;
            serde_json::to_value(c).map_err(AppError::internal)
        }
    }
}

/// Checks the credentials for the type and seals them.
fn seal_credentials(
    conn: &mut PgConnection,
    secrets: &Keyring,
    tenant_id: Uuid,
    kind: ConnectorType,
    credentials: Value,
) -> AppResult<Vec<u8>> {
    let plain = match kind {
        ConnectorType::Erpnext => {
            let c: ErpnextCredentials = typed("credentials", credentials)?;
            if c.api_key.trim().is_empty() || c.api_secret.trim().is_empty() {
                return Err(AppError::invalid("credentials", "api_key and api_secret are required"));
            }
            serde_json::to_vec(&c)
        }
        ConnectorType::BankFile => {
            let c: BankFileCredentials = typed("credentials", credentials)?;
            if c.bearer_token.is_some() && (c.username.is_some() || c.password.is_some()) {
                return Err(AppError::invalid("credentials", "either bearer_token or username/password"));
            }
            serde_json::to_vec(&c)
        }
        ConnectorType::Odoo => {
            let c: OdooCredentials = typed("credentials", credentials)?;
            if c.api_key.trim().is_empty() {
                return Err(AppError::invalid("credentials", "api_key is required"));
            }
            serde_json::to_vec(&c)
        }
        ConnectorType::OpenBanking => {
            let c: OpenBankingCredentials = typed("credentials", credentials)?;
            if c.access_token.trim().is_empty() {
                return Err(AppError::invalid("credentials", "access_token is required"));
            }
            serde_json::to_vec(&c)
        }
        ConnectorType::GenericJson => {
            let c: GenericJsonCredentials = typed("credentials", credentials)?;
            c.validate().map_err(|e| AppError::invalid("credentials", e))?;
            serde_json::to_vec(&c)
        }
    }
    .map_err(AppError::internal)?;
    sealing::seal_bytes(secrets, conn, tenant_id, &plain)
}

fn load(conn: &mut PgConnection, principal: &Principal, id: Uuid, for_update: bool) -> AppResult<Connector> {
    let found = if for_update {
        c_db::lock(conn, principal.tenant_id, id)?
    } else {
        c_db::find(conn, principal.tenant_id, id)?
    };
    found.ok_or_else(|| AppError::not_found("connector"))
}

fn audit_view(c: &Connector) -> Value {
    // The view carries no secret: only whether credentials exist.
    serde_json::to_value(view(c.clone())).unwrap_or(Value::Null)
}

pub fn create(
    conn: &mut PgConnection,
    principal: &Principal,
    secrets: &Keyring,
    input: ConnectorInput,
) -> AppResult<ConnectorView> {
    require(principal, Permission::Admin)?;
    let kind = input.connector_type;
    let name = validate_name(&input.name)?;
    let schedule = validate_schedule(input.schedule_seconds)?;
    let config = validate_config(conn, principal.tenant_id, kind, input.config)?;
    let credentials = match (kind, input.credentials) {
        (_, Some(c)) => Some(seal_credentials(conn, secrets, principal.tenant_id, kind, c)?),
        (ConnectorType::Erpnext, None) => {
            return Err(AppError::invalid("credentials", "api_key and api_secret are required"))
        }
        (ConnectorType::Odoo, None) => return Err(AppError::invalid("credentials", "api_key is required")),
        (ConnectorType::OpenBanking, None) => return Err(AppError::invalid("credentials", "access_token is required")),
        (ConnectorType::BankFile | ConnectorType::GenericJson, None) => None,
    };
    let now = Utc::now();
    let enabled = input.enabled.unwrap_or(true);
    let c = Connector {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        connector_type: kind.as_str().into(),
        name,
        config,
        credentials,
        schedule_seconds: schedule,
        sync_cursor: serde_json::json!({}),
        enabled,
        // The first sync runs right away.
        next_run_at: Some(now),
        lease_owner: None,
        lease_until: None,
        consecutive_failures: 0,
        last_status: None,
        last_error: None,
        last_sync_at: None,
        created_at: now,
        updated_at: now,
    };
    c_db::insert(conn, &c)?;
    let mut e = entry(principal, "connector.created", "connector", &c.id.to_string());
    e.after = Some(audit_view(&c));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view(c))
}

pub fn list(
    conn: &mut PgConnection,
    principal: &Principal,
    limit: Option<i64>,
    cursor: Option<&str>,
    max: i64,
) -> AppResult<Page<ConnectorView>> {
    require(principal, Permission::Read)?;
    let limit = effective_limit(limit, max)?;
    let rows = c_db::list(conn, principal.tenant_id, parse_cursor(cursor)?, limit + 1)?;
    Ok(page(rows, limit, |r| r.id, view))
}

pub fn get(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<ConnectorView> {
    require(principal, Permission::Read)?;
    Ok(view(load(conn, principal, id, false)?))
}

pub fn update(
    conn: &mut PgConnection,
    principal: &Principal,
    secrets: &Keyring,
    id: Uuid,
    patch: ConnectorPatch,
) -> AppResult<ConnectorView> {
    require(principal, Permission::Admin)?;
    let mut c = load(conn, principal, id, true)?;
    let before = audit_view(&c);
    let kind = ConnectorType::parse(&c.connector_type).ok_or_else(|| AppError::internal("unknown connector type"))?;
    let mut changed_credentials = false;
    if let Some(name) = patch.name {
        c.name = validate_name(&name)?;
    }
    if let Some(config) = patch.config {
        c.config = validate_config(conn, principal.tenant_id, kind, config)?;
    }
    if let Some(creds) = patch.credentials {
        c.credentials = Some(seal_credentials(conn, secrets, principal.tenant_id, kind, creds)?);
        changed_credentials = true;
    }
    if patch.schedule_seconds.is_some() {
        c.schedule_seconds = validate_schedule(patch.schedule_seconds)?;
    }
    let now = Utc::now();
    if let Some(enabled) = patch.enabled {
        if enabled && !c.enabled {
            c.next_run_at = Some(now);
            c.consecutive_failures = 0;
        }
        c.enabled = enabled;
    }
    if patch.reset_cursor == Some(true) {
        c.sync_cursor = serde_json::json!({});
    }
    c.updated_at = now;
    c_db::save(conn, &c)?;
    let mut e = entry(principal, "connector.updated", "connector", &c.id.to_string());
    e.before = Some(before);
    let mut after = audit_view(&c);
    if changed_credentials {
        after["credentials_replaced"] = Value::Bool(true);
    }
    e.after = Some(after);
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view(c))
}

pub fn delete(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<ConnectorView> {
    require(principal, Permission::Admin)?;
    let c = load(conn, principal, id, true)?;
    c_db::delete(conn, c.tenant_id, c.id)?;
    let mut e = entry(principal, "connector.deleted", "connector", &c.id.to_string());
    e.before = Some(audit_view(&c));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view(c))
}

/// Makes the connector due now (a running sync is not interrupted; the next one starts after it).
pub fn request_sync(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<ConnectorView> {
    require(principal, Permission::Admin)?;
    let mut c = load(conn, principal, id, true)?;
    if !c.enabled {
        return Err(AppError::conflict("the connector is disabled; enable it first"));
    }
    let now = Utc::now();
    c.next_run_at = Some(now);
    c.updated_at = now;
    c_db::save(conn, &c)?;
    let e = entry(principal, "connector.sync_requested", "connector", &c.id.to_string());
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view(c))
}

pub fn syncs(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    limit: Option<i64>,
    cursor: Option<&str>,
    max: i64,
) -> AppResult<Page<ConnectorSyncView>> {
    require(principal, Permission::Read)?;
    load(conn, principal, id, false)?;
    let limit = effective_limit(limit, max)?;
    let rows = c_db::syncs(conn, principal.tenant_id, id, parse_cursor(cursor)?, limit + 1)?;
    Ok(page(rows, limit, |r| r.id, sync_view))
}
