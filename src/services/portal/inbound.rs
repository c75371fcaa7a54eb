//! Statements the customer sends: uploaded through its portal, or pushed by its system with a
//! Standard Webhooks signature (the inbound secret).

use crate::db::audit::{self as audit_db};
use crate::db::customers::{self as customers_db};
use crate::db::portal::{self as portal_db, InboundSecret};
use crate::domain::auth::{Actor, Permission, PortalPrincipal, Principal, Role};
use crate::domain::webhook_signature;
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::customer_statements::{self as statements, Source, StatementOptions, StatementView};
use crate::services::data_safety::{sealing, Keyring};
use crate::services::import::ImportFormat;
use crate::services::require;
use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use serde::Serialize;
use uuid::Uuid;

use super::find_customer;

/// A statement the customer uploads through its portal.
pub fn submit_statement(
    conn: &mut PgConnection,
    portal: &PortalPrincipal,
    format: ImportFormat,
    body: &[u8],
    options: StatementOptions,
) -> AppResult<StatementView> {
    let customer = customers_db::find_by_code_for_update(conn, portal.tenant_id, &portal.customer_code)?;
    statements::submit_for(
        conn,
        portal.tenant_id,
        &customer,
        (format, body, options),
        Source::Portal,
        ("customer", portal.customer_code.clone()),
    )
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct InboundSecretIssued {
    pub customer_code: String,
    /// `whsec_...`: the customer's system signs pushes with it (Standard Webhooks). Shown once.
    pub secret: String,
    /// Until then the previous secret is accepted too.
    pub previous_valid_until: DateTime<Utc>,
}

/// Creates (or rotates) the secret with which a customer's system signs its statement pushes.
pub fn rotate_inbound_secret(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    customer_code: &str,
) -> AppResult<InboundSecretIssued> {
    require(principal, Permission::Admin)?;
    let customer = find_customer(conn, principal.tenant_id, customer_code)?;
    let now = Utc::now();
    let secret = webhook_signature::generate_secret();
    let previous_valid_until = now + Duration::hours(24);
    let sealed = sealing::seal_text(keys, conn, principal.tenant_id, &secret)?;
    portal_db::rotate_secret(
        conn,
        &InboundSecret {
            id: Uuid::now_v7(),
            tenant_id: principal.tenant_id,
            customer_id: customer.id,
            secret: sealed,
            expires_at: None,
            created_at: now,
        },
        previous_valid_until,
    )?;
    let e = entry(principal, "inbound_secret.rotated", "customer", &customer.id.to_string());
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(InboundSecretIssued { customer_code: customer.code, secret, previous_valid_until })
}

/// The Standard Webhooks headers of an inbound request.
pub struct SignedRequest {
    pub message_id: String,
    pub timestamp: String,
    pub signature: String,
}

/// A statement pushed by the customer's system, signed with its inbound secret. A message id
/// seen before answers the statement it created (a retry), never a second import.
pub fn inbound_statement(
    conn: &mut PgConnection,
    keys: &Keyring,
    tenant_id: Uuid,
    customer_code: &str,
    signed: SignedRequest,
    format: ImportFormat,
    body: &[u8],
) -> AppResult<StatementView> {
    let denied = |m: &str| AppError::unauthenticated(m.to_string());
    let customer = customers_db::find_by_code_for_update(conn, tenant_id, customer_code)
        .map_err(|_| denied("unknown tenant or customer, or no inbound secret configured"))?;
    let stored = portal_db::valid_secrets(conn, tenant_id, customer.id)?;
    let mut secrets = Vec::with_capacity(stored.len());
    for s in &stored {
        secrets.push(sealing::open_text(keys, conn, tenant_id, &s.secret)?);
    }
    let keys: Vec<Vec<u8>> = secrets.iter().filter_map(|s| webhook_signature::secret_key(s)).collect();
    if keys.is_empty() {
        return Err(denied("unknown tenant or customer, or no inbound secret configured"));
    }
    webhook_signature::verify(
        &keys,
        &signed.message_id,
        &signed.timestamp,
        &signed.signature,
        body,
        Utc::now().timestamp(),
    )
    .map_err(|e| denied(e.message()))?;
    if signed.message_id.len() > 200 {
        return Err(AppError::invalid("webhook-id", "at most 200 characters"));
    }
    if !portal_db::claim_message(conn, tenant_id, &signed.message_id)? {
        return match portal_db::message_statement(conn, tenant_id, &signed.message_id)? {
            Some(id) => {
                let reader = Principal { tenant_id, actor: Actor::System, role: Role::Viewer, scopes: vec![] };
                statements::get(conn, &reader, id)
            }
            None => Err(AppError::conflict("this webhook-id was already received")),
        };
    }
    let view = statements::submit_for(
        conn,
        tenant_id,
        &customer,
        (format, body, StatementOptions::default()),
        Source::Inbound,
        ("customer", customer.code.clone()),
    )?;
    portal_db::set_message_statement(conn, tenant_id, &signed.message_id, view.id)?;
    Ok(view)
}
