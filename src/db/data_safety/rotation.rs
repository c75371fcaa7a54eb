//! Key rotations (`key_rotations`) and the rows a rotation rewrites: wrapped data keys and every
//! sealed value.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Bytea, Int4, Int8, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

#[derive(QueryableByName, Debug, Clone)]
pub struct Rotation {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Bool)]
    pub rotate_data_keys: bool,
    #[diesel(sql_type = Text)]
    pub master_key_id: String,
    #[diesel(sql_type = Text)]
    pub phase: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub cursor: Option<String>,
    #[diesel(sql_type = Int4)]
    pub batches: i32,
    #[diesel(sql_type = Int8)]
    pub rows_done: i64,
    #[diesel(sql_type = Timestamptz)]
    pub started_at: chrono::DateTime<chrono::Utc>,
}

/// The rotation not finished yet, if any.
pub fn unfinished(conn: &mut PgConnection) -> QueryResult<Option<Rotation>> {
    diesel::sql_query(
        "SELECT id, rotate_data_keys, master_key_id, phase, cursor, batches, rows_done, started_at \
         FROM key_rotations WHERE finished_at IS NULL",
    )
    .get_result(conn)
    .optional()
}

/// Stores the rotation's progress (and its end when `finished`).
pub fn save(conn: &mut PgConnection, r: &Rotation, finished: bool) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE key_rotations SET phase = $2, cursor = $3, batches = $4, rows_done = $5, updated_at = now(), \
         finished_at = CASE WHEN $6 THEN now() END WHERE id = $1",
    )
    .bind::<SqlUuid, _>(r.id)
    .bind::<Text, _>(&r.phase)
    .bind::<Nullable<Text>, _>(&r.cursor)
    .bind::<Int4, _>(r.batches)
    .bind::<Int8, _>(r.rows_done)
    .bind::<Bool, _>(finished)
    .execute(conn)?;
    Ok(())
}

/// Starts a rotation in its first phase ('wrap').
pub fn insert(conn: &mut PgConnection, id: Uuid, rotate_data_keys: bool, master_key_id: &str) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO key_rotations (id, rotate_data_keys, master_key_id, phase) VALUES ($1, $2, $3, 'wrap')",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Bool, _>(rotate_data_keys)
    .bind::<Text, _>(master_key_id)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
pub struct WrappedRow {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = Int4)]
    pub version: i32,
    #[diesel(sql_type = Bytea)]
    pub wrapped_key: Vec<u8>,
    #[diesel(sql_type = Text)]
    pub master_key_id: String,
}

/// Up to `limit` data keys not wrapped by `master_key_id`, locked (skipping rows others hold).
pub fn lock_not_wrapped_by(conn: &mut PgConnection, master_key_id: &str, limit: i64) -> QueryResult<Vec<WrappedRow>> {
    diesel::sql_query(format!(
        "SELECT tenant_id, version, wrapped_key, master_key_id FROM tenant_keys WHERE master_key_id <> $1 \
         ORDER BY tenant_id, version LIMIT {limit} FOR UPDATE SKIP LOCKED"
    ))
    .bind::<Text, _>(master_key_id)
    .load(conn)
}

/// Replaces a data key's wrapping.
pub fn rewrap(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    version: i32,
    wrapped: &[u8],
    master_key_id: &str,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE tenant_keys SET wrapped_key = $3, master_key_id = $4 WHERE tenant_id = $1 AND version = $2",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Int4, _>(version)
    .bind::<Bytea, _>(wrapped)
    .bind::<Text, _>(master_key_id)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
pub struct NewestKey {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = Int4)]
    pub version: i32,
}

/// Up to `limit` tenants whose newest data key was made before `started_at`, with its version.
pub fn tenants_with_keys_before(
    conn: &mut PgConnection,
    started_at: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> QueryResult<Vec<NewestKey>> {
    diesel::sql_query(format!(
        "SELECT tenant_id, max(version) AS version FROM tenant_keys GROUP BY tenant_id \
         HAVING max(created_at) < $1 ORDER BY tenant_id LIMIT {limit}"
    ))
    .bind::<Timestamptz, _>(started_at)
    .load(conn)
}

/// Adds a data key version (a concurrent insert of the same version wins).
pub fn insert_key_version(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    version: i32,
    wrapped: &[u8],
    master_key_id: &str,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO tenant_keys (tenant_id, version, wrapped_key, master_key_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Int4, _>(version)
    .bind::<Bytea, _>(wrapped)
    .bind::<Text, _>(master_key_id)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
pub struct SealedText {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = Text)]
    pub what: String,
    #[diesel(sql_type = Text)]
    pub value: String,
}

#[derive(QueryableByName)]
pub struct SealedBytes {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = Text)]
    pub what: String,
    #[diesel(sql_type = Bytea)]
    pub value: Vec<u8>,
}

/// Every sealed text value of every tenant, named by table and row.
pub fn all_sealed_texts(conn: &mut PgConnection) -> QueryResult<Vec<SealedText>> {
    diesel::sql_query(
        "SELECT tenant_id, 'webhook_endpoints ' || id AS what, secret AS value FROM webhook_endpoints \
         UNION ALL SELECT tenant_id, 'webhook_endpoints ' || id, previous_secret FROM webhook_endpoints WHERE previous_secret IS NOT NULL \
         UNION ALL SELECT tenant_id, 'inbound_secrets ' || id, secret FROM inbound_secrets \
         UNION ALL SELECT tenant_id, 'customers ' || code, email FROM customers WHERE email IS NOT NULL \
         UNION ALL SELECT tenant_id, 'customers ' || code, unnest(bank_accounts) FROM customers",
    )
    .load(conn)
}

/// Every sealed binary value of every tenant, named by table and row.
pub fn all_sealed_bytes(conn: &mut PgConnection) -> QueryResult<Vec<SealedBytes>> {
    diesel::sql_query(
        "SELECT tenant_id, 'connectors ' || id AS what, credentials AS value FROM connectors WHERE credentials IS NOT NULL \
         UNION ALL SELECT tenant_id, 'connector_push_secrets ' || id, sealed_secret FROM connector_push_secrets",
    )
    .load(conn)
}

/// The master keys some data key is wrapped by.
pub fn used_master_ids(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        master_key_id: String,
    }
    let used: Vec<Row> = diesel::sql_query("SELECT DISTINCT master_key_id FROM tenant_keys").load(conn)?;
    Ok(used.into_iter().map(|r| r.master_key_id).collect())
}
