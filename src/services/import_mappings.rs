//! Saved column mappings for imports: a tenant names how its own spreadsheet layout maps onto an
//! import's columns once, then sends its files as they are with `?mapping=<name>`.

use crate::db::audit as audit_db;
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
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportMappingView {
    /// `customers`, `products`, `customer-contacts` or `documents`.
    pub kind: ImportKind,
    pub name: String,
    pub mapping: ImportMapping,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ImportMappingView {
    fn of(saved: SavedImportMapping) -> AppResult<ImportMappingView> {
        Ok(ImportMappingView {
            kind: saved.kind,
            name: saved.name,
            // Stored only after validation: a row that does not read back is a defect, not input.
            mapping: serde_json::from_value(saved.mapping).map_err(AppError::internal)?,
            created_at: saved.created_at,
            updated_at: saved.updated_at,
        })
    }
}

/// The kind in a path (`customers`, `products`, `customer-contacts`, `documents`).
pub fn parse_kind(kind: &str) -> AppResult<ImportKind> {
    ImportKind::parse(kind).ok_or_else(|| {
        let kinds: Vec<&str> = ImportKind::ALL.iter().map(|k| k.as_str()).collect();
        AppError::not_found(format!("import kind {kind:?} (kinds: {})", kinds.join(", ")))
    })
}

fn check_name(name: &str) -> AppResult<String> {
    let name = check_identifier(name, 64).map_err(|e| AppError::invalid("name", e))?;
    if name.contains('/') {
        return Err(AppError::invalid("name", "must not contain '/'"));
    }
    Ok(name)
}

fn audit_id(kind: ImportKind, name: &str) -> String {
    format!("{}/{name}", kind.as_str())
}

pub fn list(conn: &mut PgConnection, principal: &Principal, kind: Option<&str>) -> AppResult<Vec<ImportMappingView>> {
    require(principal, Permission::Read)?;
    let kind = kind.map(parse_kind).transpose()?;
    mappings_db::list(conn, principal.tenant_id, kind)?.into_iter().map(ImportMappingView::of).collect()
}

pub fn get(conn: &mut PgConnection, principal: &Principal, kind: &str, name: &str) -> AppResult<ImportMappingView> {
    require(principal, Permission::Read)?;
    let kind = parse_kind(kind)?;
    let saved = mappings_db::find(conn, principal.tenant_id, kind, name)?
        .ok_or_else(|| AppError::not_found(format!("import mapping {name:?} for {}", kind.as_str())))?;
    ImportMappingView::of(saved)
}

/// Saves (creates or replaces) a mapping after checking it against the import's columns.
pub fn put(
    conn: &mut PgConnection,
    principal: &Principal,
    kind: &str,
    name: &str,
    mapping: ImportMapping,
) -> AppResult<ImportMappingView> {
    require(principal, Permission::WriteLedger)?;
    let kind = parse_kind(kind)?;
    let name = check_name(name)?;
    mapping.validate(kind).map_err(|e| AppError::invalid("mapping", e))?;
    let before = mappings_db::find(conn, principal.tenant_id, kind, &name)?;
    let now = Utc::now();
    let row = SavedImportMapping {
        id: before.as_ref().map_or_else(Uuid::now_v7, |b| b.id),
        tenant_id: principal.tenant_id,
        kind,
        name: name.clone(),
        mapping: serde_json::to_value(&mapping).map_err(AppError::internal)?,
        created_at: before.as_ref().map_or(now, |b| b.created_at),
        updated_at: now,
    };
    if before.as_ref().is_some_and(|b| b.mapping == row.mapping) {
        return ImportMappingView::of(before.expect("checked"));
    }
    mappings_db::save(conn, &row)?;
    let mut e = entry(principal, "import_mapping.saved", "import_mapping", &audit_id(kind, &name));
    e.before = before.map(|b| b.mapping);
    e.after = Some(row.mapping.clone());
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    ImportMappingView::of(row)
}

pub fn delete(conn: &mut PgConnection, principal: &Principal, kind: &str, name: &str) -> AppResult<()> {
    require(principal, Permission::WriteLedger)?;
    let kind = parse_kind(kind)?;
    let before = mappings_db::find(conn, principal.tenant_id, kind, name)?
        .ok_or_else(|| AppError::not_found(format!("import mapping {name:?} for {}", kind.as_str())))?;
    mappings_db::delete(conn, principal.tenant_id, kind, name)?;
    let mut e = entry(principal, "import_mapping.deleted", "import_mapping", &audit_id(kind, name));
    e.before = Some(before.mapping);
    audit_db::append(conn, principal.tenant_id, vec![e])?;
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
