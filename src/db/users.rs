use super::schema::users;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Tokens name the version they were issued under; a different one is refused.
    pub token_version: i32,
    /// Soft deletion: the row stays for the audit trail, the user is gone from everything else.
    pub deleted_at: Option<DateTime<Utc>>,
    pub password_changed_at: Option<DateTime<Utc>>,
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub fn insert(conn: &mut PgConnection, user: &User) -> QueryResult<()> {
    diesel::insert_into(users::table).values(user).execute(conn).map(|_| ())
}

/// The enabled, not deleted user of `tenant_id` with this address (case-insensitive).
pub fn find_active_by_email(conn: &mut PgConnection, tenant_id: Uuid, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(lower(users::email).eq(email.trim().to_lowercase()))
        .filter(users::disabled_at.is_null())
        .filter(users::deleted_at.is_null())
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The not deleted user of `tenant_id` with this address, enabled or not (the CLI's lookup).
pub fn find_by_email(conn: &mut PgConnection, tenant_id: Uuid, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(lower(users::email).eq(email.trim().to_lowercase()))
        .filter(users::deleted_at.is_null())
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The user a token names, if it still exists, is enabled and belongs to `tenant_id`.
pub fn find_active(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .filter(users::id.eq(id))
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::disabled_at.is_null())
        .filter(users::deleted_at.is_null())
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// A not deleted user of the tenant, locked for an update.
pub fn find_for_update(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .filter(users::id.eq(id))
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::deleted_at.is_null())
        .select(User::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::deleted_at.is_null())
        .order(users::created_at.asc())
        .select(User::as_select())
        .load(conn)
}

/// What a lifecycle step changes; `None` leaves a column as it is. Every step also bumps the
/// token version, which ends the user's sessions.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChange {
    pub role: Option<String>,
    pub disabled_at: Option<Option<DateTime<Utc>>>,
    pub deleted_at: Option<Option<DateTime<Utc>>>,
    pub password_hash: Option<String>,
    pub password_changed_at: Option<Option<DateTime<Utc>>>,
}

/// Applies `change` and bumps the token version; returns the user as it is now.
pub fn update(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, change: UserChange) -> QueryResult<User> {
    let target = users::table.filter(users::id.eq(id)).filter(users::tenant_id.eq(tenant_id));
    diesel::update(target)
        .set((&change, users::token_version.eq(users::token_version + 1)))
        .returning(User::as_returning())
        .get_result(conn)
}
