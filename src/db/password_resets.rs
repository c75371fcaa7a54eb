use super::schema::password_reset_tokens as tokens;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tokens)]
pub struct PasswordResetToken {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    /// SHA-256 (hex) of the token; the token itself is only in the admin's answer.
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub fn insert(conn: &mut PgConnection, token: &PasswordResetToken) -> QueryResult<()> {
    diesel::insert_into(tokens::table).values(token).execute(conn).map(|_| ())
}

/// Unused tokens of a user end when a new one is issued, or the user is disabled or deleted.
pub fn retire_unused(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        tokens::table
            .filter(tokens::tenant_id.eq(tenant_id))
            .filter(tokens::user_id.eq(user_id))
            .filter(tokens::used_at.is_null()),
    )
    .set(tokens::used_at.eq(now))
    .execute(conn)
}

/// The unused, unexpired token with this hash, locked so it is used once.
pub fn find_usable_for_update(
    conn: &mut PgConnection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<PasswordResetToken>> {
    tokens::table
        .filter(tokens::token_hash.eq(token_hash))
        .filter(tokens::used_at.is_null())
        .filter(tokens::expires_at.gt(now))
        .select(PasswordResetToken::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn mark_used(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(tokens::table.filter(tokens::tenant_id.eq(tenant_id)).find(id))
        .set(tokens::used_at.eq(now))
        .execute(conn)
}
