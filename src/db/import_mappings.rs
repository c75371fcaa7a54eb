//! Saved column mappings for imports, by tenant, kind and name.

use super::schema::import_mappings as m;
use crate::domain::sheet_columns::ImportKind;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = m)]
pub struct SavedImportMapping {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: ImportKind,
    pub name: String,
    pub mapping: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn find(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    kind: ImportKind,
    name: &str,
) -> QueryResult<Option<SavedImportMapping>> {
    m::table
        .filter(m::tenant_id.eq(tenant_id))
        .filter(m::kind.eq(kind))
        .filter(m::name.eq(name))
        .select(SavedImportMapping::as_select())
        .first(conn)
        .optional()
}

/// The tenant's mappings (of one kind if given), by kind and name.
pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    kind: Option<ImportKind>,
) -> QueryResult<Vec<SavedImportMapping>> {
    let mut q = m::table.filter(m::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(kind) = kind {
        q = q.filter(m::kind.eq(kind));
    }
    q.order((m::kind.asc(), m::name.asc())).select(SavedImportMapping::as_select()).load(conn)
}

pub fn find_by_id(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<SavedImportMapping>> {
    m::table
        .filter(m::tenant_id.eq(tenant_id))
        .filter(m::id.eq(id))
        .select(SavedImportMapping::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut PgConnection, row: &SavedImportMapping) -> QueryResult<()> {
    diesel::insert_into(m::table).values(row).execute(conn).map(|_| ())
}

/// Writes the mapping's name, mapping and time of change.
pub fn update(conn: &mut PgConnection, row: &SavedImportMapping) -> QueryResult<()> {
    diesel::update(m::table.filter(m::tenant_id.eq(row.tenant_id)).filter(m::id.eq(row.id)))
        .set((m::name.eq(&row.name), m::mapping.eq(&row.mapping), m::updated_at.eq(row.updated_at)))
        .execute(conn)
        .map(|_| ())
}

pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    diesel::delete(m::table.filter(m::tenant_id.eq(tenant_id)).filter(m::id.eq(id))).execute(conn).map(|n| n > 0)
}
