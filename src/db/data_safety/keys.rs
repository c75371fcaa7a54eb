//! Tenants' data keys, wrapped by a master key (`tenant_keys`).

use diesel::prelude::*;
use diesel::sql_types::{Bytea, Int4, Text, Uuid as SqlUuid};
use uuid::Uuid;

#[derive(Debug, QueryableByName)]
pub struct KeyRow {
    #[diesel(sql_type = Int4)]
    pub version: i32,
    #[diesel(sql_type = Bytea)]
    pub wrapped_key: Vec<u8>,
    #[diesel(sql_type = Text)]
    pub master_key_id: String,
}

#[derive(QueryableByName)]
struct VersionRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<Int4>)]
    version: Option<i32>,
}

/// The tenant's newest data key version (`None`: it has no data key yet).
pub fn newest_version(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Option<i32>> {
    let newest: VersionRow = diesel::sql_query("SELECT max(version) AS version FROM tenant_keys WHERE tenant_id = $1")
        .bind::<SqlUuid, _>(tenant_id)
        .get_result(conn)?;
    Ok(newest.version)
}

/// Stores the tenant's first data key; a concurrent first use waits for this row and then keeps
/// the one that won.
pub fn insert_first_key(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    wrapped: &[u8],
    master_key_id: &str,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO tenant_keys (tenant_id, version, wrapped_key, master_key_id) VALUES ($1, 1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Bytea, _>(wrapped)
    .bind::<Text, _>(master_key_id)
    .execute(conn)?;
    Ok(())
}

/// The tenant's data keys, oldest version first.
pub fn tenant_keys(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<KeyRow>> {
    diesel::sql_query(
        "SELECT version, wrapped_key, master_key_id FROM tenant_keys WHERE tenant_id = $1 ORDER BY version",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)
}
