//! Customer-facing access: portal tokens, and the secrets and message ids of signed statement
//! pushes from customers' systems.

use super::schema::{inbound_messages, inbound_secrets, portal_tokens};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = portal_tokens)]
pub struct PortalToken {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

pub fn insert_token(conn: &mut PgConnection, t: &PortalToken) -> QueryResult<()> {
    diesel::insert_into(portal_tokens::table).values(t).execute(conn)?;
    Ok(())
}

/// The token row if it exists, belongs to that tenant and customer and is not revoked.
pub fn active_token(
    conn: &mut PgConnection,
    id: Uuid,
    tenant_id: Uuid,
    customer_id: Uuid,
) -> QueryResult<Option<PortalToken>> {
    portal_tokens::table
        .filter(portal_tokens::id.eq(id))
        .filter(portal_tokens::tenant_id.eq(tenant_id))
        .filter(portal_tokens::customer_id.eq(customer_id))
        .filter(portal_tokens::revoked_at.is_null())
        .select(PortalToken::as_select())
        .first(conn)
        .optional()
}

pub fn tokens_of(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<Vec<PortalToken>> {
    portal_tokens::table
        .filter(portal_tokens::tenant_id.eq(tenant_id))
        .filter(portal_tokens::customer_id.eq(customer_id))
        .select(PortalToken::as_select())
        .order(portal_tokens::id.desc())
        .limit(200)
        .load(conn)
}

pub fn revoke_token(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::update(
        portal_tokens::table
            .filter(portal_tokens::tenant_id.eq(tenant_id))
            .filter(portal_tokens::customer_id.eq(customer_id))
            .filter(portal_tokens::id.eq(id))
            .filter(portal_tokens::revoked_at.is_null()),
    )
    .set(portal_tokens::revoked_at.eq(Utc::now()))
    .execute(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inbound_secrets)]
pub struct InboundSecret {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub secret: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Secrets valid now (the current one and, during rotation, the previous one).
pub fn valid_secrets(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<Vec<InboundSecret>> {
    let now = Utc::now();
    inbound_secrets::table
        .filter(inbound_secrets::tenant_id.eq(tenant_id))
        .filter(inbound_secrets::customer_id.eq(customer_id))
        .filter(inbound_secrets::expires_at.is_null().or(inbound_secrets::expires_at.gt(now)))
        .select(InboundSecret::as_select())
        .load(conn)
}

/// Replaces the customer's secret: the previous ones stay valid until `old_valid_until`.
pub fn rotate_secret(conn: &mut PgConnection, new: &InboundSecret, old_valid_until: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(
        inbound_secrets::table
            .filter(inbound_secrets::tenant_id.eq(new.tenant_id))
            .filter(inbound_secrets::customer_id.eq(new.customer_id))
            .filter(inbound_secrets::expires_at.is_null().or(inbound_secrets::expires_at.gt(old_valid_until))),
    )
    .set(inbound_secrets::expires_at.eq(old_valid_until))
    .execute(conn)?;
    diesel::insert_into(inbound_secrets::table).values(new).execute(conn)?;
    Ok(())
}

/// Records a message id; false when it was seen before (a replay or a retry of a success).
pub fn claim_message(conn: &mut PgConnection, tenant_id: Uuid, message_id: &str) -> QueryResult<bool> {
    let n = diesel::insert_into(inbound_messages::table)
        .values((inbound_messages::tenant_id.eq(tenant_id), inbound_messages::message_id.eq(message_id)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(n == 1)
}

pub fn message_statement(conn: &mut PgConnection, tenant_id: Uuid, message_id: &str) -> QueryResult<Option<Uuid>> {
    inbound_messages::table
        .filter(inbound_messages::tenant_id.eq(tenant_id))
        .filter(inbound_messages::message_id.eq(message_id))
        .select(inbound_messages::statement_id)
        .first::<Option<Uuid>>(conn)
        .optional()
        .map(Option::flatten)
}

pub fn set_message_statement(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    message_id: &str,
    statement_id: Uuid,
) -> QueryResult<()> {
    diesel::update(
        inbound_messages::table
            .filter(inbound_messages::tenant_id.eq(tenant_id))
            .filter(inbound_messages::message_id.eq(message_id)),
    )
    .set(inbound_messages::statement_id.eq(statement_id))
    .execute(conn)?;
    Ok(())
}
