//! Saved column mappings for imports: a tenant names how its own spreadsheet layout maps onto an
//! import's columns once, then sends its files as they are with `?mapping=<name>`.

use crate::db::audit as audit_db;
use crate::db::audit::NewAuditEntry;
use crate::db::import_mappings::{self as mappings_db, SavedImportMapping};
use crate::domain::auth::{Permission, Principal};
use crate::domain::customer::check_identifier;
use crate::domain::import_mapping::ImportMapping;
use crate::domain::sheet_columns::ImportKind;
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::require;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportMappingView {
    pub id: Uuid,
    /// `customers`, `products`, `customer-contacts` or `documents`.
    pub kind: ImportKind,
    /// The name imports give with `?mapping=`; unique per kind.
    pub name: String,
    pub mapping: ImportMapping,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ImportMappingView {
    fn of(saved: SavedImportMapping) -> AppResult<ImportMappingView> {
        Ok(ImportMappingView {
            id: saved.id,
            kind: saved.kind,
            name: saved.name,
            // Stored only after validation: a row that does not read back is a defect, not input.
            mapping: serde_json::from_value(saved.mapping).map_err(AppError::internal)?,
            created_at: saved.created_at,
            updated_at: saved.updated_at,
        })
    }
}

/// A new import mapping.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportMappingInput {
    /// `customers`, `products`, `customer-contacts` or `documents`.
    pub kind: String,
    /// Up to 64 characters, no `/`; unique per kind.
    pub name: String,
    pub mapping: ImportMapping,
}

/// A mapping's new name and content (its kind stays).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportMappingReplace {
    pub name: String,
    pub mapping: ImportMapping,
}

/// The kind of an import (`customers`, `products`, `customer-contacts`, `documents`).
pub fn parse_kind(kind: &str) -> AppResult<ImportKind> {
    ImportKind::parse(kind).ok_or_else(|| {
        let kinds: Vec<&str> = ImportKind::ALL.iter().map(|k| k.as_str()).collect();
        AppError::invalid("kind", format!("unknown import kind {kind:?}; kinds: {}", kinds.join(", ")))
    })
}

fn check_name(name: &str) -> AppResult<String> {
    let name = check_identifier(name, 64).map_err(|e| AppError::invalid("name", e))?;
    if name.contains('/') {
        return Err(AppError::invalid("name", "must not contain '/'"));
    }
    Ok(name)
}

/// The name is free for this kind (but for the mapping `except`, which keeps it).
fn check_free(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    kind: ImportKind,
    name: &str,
    except: Option<Uuid>,
) -> AppResult<()> {
    match mappings_db::find(conn, tenant_id, kind, name)? {
        Some(other) if Some(other.id) != except => {
            Err(AppError::conflict(format!("an import mapping {name:?} for {} exists already", kind.as_str()))
                .with_details(serde_json::json!({"field": "name"})))
        }
        _ => Ok(()),
    }
}

fn audited(
    principal: &Principal,
    action: &str,
    before: Option<&SavedImportMapping>,
    after: Option<&SavedImportMapping>,
) -> NewAuditEntry {
    let id = after.or(before).map(|m| m.id.to_string()).unwrap_or_default();
    let mut e = entry(principal, action, "import_mapping", &id);
    let snap =
        |m: &SavedImportMapping| serde_json::json!({"kind": m.kind.as_str(), "name": m.name, "mapping": m.mapping});
    e.before = before.map(snap);
    e.after = after.map(snap);
    e
}

pub fn list(conn: &mut PgConnection, principal: &Principal, kind: Option<&str>) -> AppResult<Vec<ImportMappingView>> {
    require(principal, Permission::Read)?;
    let kind = kind.map(parse_kind).transpose()?;
    mappings_db::list(conn, principal.tenant_id, kind)?.into_iter().map(ImportMappingView::of).collect()
}

fn find(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<SavedImportMapping> {
    mappings_db::find_by_id(conn, principal.tenant_id, id)?.ok_or_else(|| AppError::not_found("import mapping"))
}

pub fn get(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<ImportMappingView> {
    require(principal, Permission::Read)?;
    ImportMappingView::of(find(conn, principal, id)?)
}

/// Saves a new mapping after checking it against the import's columns.
pub fn create(
    conn: &mut PgConnection,
    principal: &Principal,
    input: ImportMappingInput,
) -> AppResult<ImportMappingView> {
    require(principal, Permission::WriteLedger)?;
    let kind = parse_kind(&input.kind)?;
    let name = check_name(&input.name)?;
    input.mapping.validate(kind).map_err(|e| AppError::invalid("mapping", e))?;
    check_free(conn, principal.tenant_id, kind, &name, None)?;
    let now = Utc::now();
    let row = SavedImportMapping {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        kind,
        name,
        mapping: serde_json::to_value(&input.mapping).map_err(AppError::internal)?,
        created_at: now,
        updated_at: now,
    };
    mappings_db::insert(conn, &row)?;
    audit_db::append(conn, principal.tenant_id, vec![audited(principal, "import_mapping.created", None, Some(&row))])?;
    ImportMappingView::of(row)
}

/// Replaces a mapping's name and content.
pub fn replace(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    input: ImportMappingReplace,
) -> AppResult<ImportMappingView> {
    require(principal, Permission::WriteLedger)?;
    let current = find(conn, principal, id)?;
    let name = check_name(&input.name)?;
    input.mapping.validate(current.kind).map_err(|e| AppError::invalid("mapping", e))?;
    check_free(conn, principal.tenant_id, current.kind, &name, Some(id))?;
    let mut row = current.clone();
    row.name = name;
    row.mapping = serde_json::to_value(&input.mapping).map_err(AppError::internal)?;
    if row.name == current.name && row.mapping == current.mapping {
        return ImportMappingView::of(current);
    }
    row.updated_at = Utc::now();
    mappings_db::update(conn, &row)?;
    let e = audited(principal, "import_mapping.updated", Some(&current), Some(&row));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    ImportMappingView::of(row)
}

pub fn delete(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<()> {
    require(principal, Permission::WriteLedger)?;
    let current = find(conn, principal, id)?;
    mappings_db::delete(conn, principal.tenant_id, id)?;
    audit_db::append(
        conn,
        principal.tenant_id,
        vec![audited(principal, "import_mapping.deleted", Some(&current), None)],
    )?;
    Ok(())
}

/// The mapping an import names with `?mapping=`: an unknown name refuses the import (nothing is
/// written), as a file that does not fit its mapping does.
pub fn for_import(
    conn: &mut PgConnection,
    principal: &Principal,
    kind: ImportKind,
    name: Option<&str>,
) -> AppResult<Option<ImportMapping>> {
    let Some(name) = name else { return Ok(None) };
    let saved = mappings_db::find(conn, principal.tenant_id, kind, name)?.ok_or_else(|| {
        AppError::invalid(
            "mapping",
            format!("no import mapping {name:?} for {} (GET /api/v1/import-mappings lists them)", kind.as_str()),
        )
    })?;
    Ok(Some(ImportMappingView::of(saved)?.mapping))
}
