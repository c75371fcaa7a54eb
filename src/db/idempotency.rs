use super::schema::idempotency_keys;
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub struct SavedRequest {
    pub request_hash: String,
    pub response_status: Option<i16>,
    pub response_body: Option<Vec<u8>>,
    pub content_type: Option<String>,
}

/// Claims the key. Returns false when it was already claimed; a concurrent claim in an open
/// transaction makes this wait until that transaction ends.
pub fn try_claim(conn: &mut PgConnection, tenant_id: Uuid, key: &str, request_hash: &str) -> QueryResult<bool> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::tenant_id.eq(tenant_id),
            idempotency_keys::idempotency_key.eq(key),
            idempotency_keys::request_hash.eq(request_hash),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(inserted == 1)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, key: &str) -> QueryResult<SavedRequest> {
    idempotency_keys::table.find((tenant_id, key)).select(SavedRequest::as_select()).first(conn)
}

pub fn save_response(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    key: &str,
    status: u16,
    body: &[u8],
    content_type: &str,
) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find((tenant_id, key)))
        .set((
            idempotency_keys::response_status.eq(Some(status as i16)),
            idempotency_keys::response_body.eq(Some(body)),
            idempotency_keys::content_type.eq(Some(content_type)),
        ))
        .execute(conn)
        .map(|_| ())
}
