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
}

pub fn insert(conn: &mut PgConnection, user: &User) -> QueryResult<()> {
    diesel::insert_into(users::table).values(user).execute(conn).map(|_| ())
}

/// Active users with this e-mail address, across tenants (login may name the tenant).
pub fn find_active_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Vec<User>> {
    diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
    users::table
        .filter(lower(users::email).eq(email.to_lowercase()))
        .filter(users::disabled_at.is_null())
        .select(User::as_select())
        .load(conn)
}

/// The user a token names, if it still exists, is enabled and belongs to `tenant_id`.
pub fn find_active(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .filter(users::id.eq(id))
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::disabled_at.is_null())
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .order(users::created_at.asc())
        .select(User::as_select())
        .load(conn)
}
