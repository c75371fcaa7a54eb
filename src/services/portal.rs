//! The customer side: portal tokens (customer-scoped JWTs the tenant issues), what a portal may
//! read (account, statement of account, open items), the customer's balance confirmation
//! (对账确认), and statements pushed by a customer's system with a Standard Webhooks signature.

use super::audit::entry;
use super::events::{self, EventType};
use super::import::ImportFormat;
use super::require;
use super::statements::{self, Source, StatementOptions, StatementView};
use crate::db::audit::{self as audit_db, NewAuditEntry};
use crate::db::customers::{self as customers_db, Customer};
use crate::db::differences::{self as diff_db, BalanceConfirmation};
use crate::db::portal::{self as portal_db, InboundSecret, PortalToken};
use crate::db::statements as st_db;
use crate::domain::auth::{Actor, Permission, PortalPrincipal, Principal, Role};
use crate::domain::document::DocType;
use crate::domain::money::{format_amount, Currency};
use crate::domain::webhook_signature;
use crate::error::{AppError, AppResult};
use crate::services::customers::{self, CustomerBalance};
use crate::services::jwt::{JwtKeys, PortalClaims, JWT_AUDIENCE_PORTAL, JWT_ISSUER};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

pub use super::statement_of_account::{portal_statement_of_account, tenant_statement_of_account};
pub use crate::domain::statement_of_account::StatementOfAccount;

const DEFAULT_TOKEN_HOURS: i64 = 24 * 30;
const MAX_TOKEN_HOURS: i64 = 24 * 366;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct PortalTokenRequest {
    /// Lifetime in hours, default 720 (30 days), at most 8784.
    pub ttl_hours: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct PortalTokenIssued {
    pub token_id: Uuid,
    /// Give this to the customer's portal; it is shown once.
    pub token: String,
    pub customer_code: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct PortalTokenView {
    pub token_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

fn find_customer(conn: &mut PgConnection, tenant_id: Uuid, code: &str) -> AppResult<Customer> {
    customers_db::find_by_code(conn, tenant_id, code).map_err(|_| AppError::not_found("customer"))
}

/// Issues a customer-scoped portal token.
pub fn issue_token(
    conn: &mut PgConnection,
    principal: &Principal,
    jwt: &JwtKeys,
    customer_code: &str,
    req: PortalTokenRequest,
) -> AppResult<PortalTokenIssued> {
    require(principal, Permission::WriteMatching)?;
    let hours = req.ttl_hours.unwrap_or(DEFAULT_TOKEN_HOURS);
    if !(1..=MAX_TOKEN_HOURS).contains(&hours) {
        return Err(AppError::invalid("ttl_hours", format!("must be 1..={MAX_TOKEN_HOURS}")));
    }
    let customer = find_customer(conn, principal.tenant_id, customer_code)?;
    let now = Utc::now();
    let expires_at = now + Duration::hours(hours);
    let row = PortalToken {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        customer_id: customer.id,
        expires_at,
        revoked_at: None,
        created_at: now,
        created_by: format!("{}:{}", principal.actor.kind(), principal.actor.id()),
    };
    portal_db::insert_token(conn, &row)?;
    let claims = PortalClaims {
        sub: customer.id,
        tid: principal.tenant_id,
        cus: customer.code.clone(),
        jti: row.id,
        iss: JWT_ISSUER.into(),
        aud: JWT_AUDIENCE_PORTAL.into(),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
    };
    let token = jwt.sign(&claims)?;
    let mut e = entry(principal, "portal_token.issued", "portal_token", &row.id.to_string());
    e.after = Some(json!({"customer_code": customer.code, "expires_at": expires_at}));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(PortalTokenIssued { token_id: row.id, token, customer_code: customer.code, expires_at })
}

pub fn list_tokens(
    conn: &mut PgConnection,
    principal: &Principal,
    customer_code: &str,
) -> AppResult<Vec<PortalTokenView>> {
    require(principal, Permission::Read)?;
    let customer = find_customer(conn, principal.tenant_id, customer_code)?;
    Ok(portal_db::tokens_of(conn, principal.tenant_id, customer.id)?
        .into_iter()
        .map(|t| PortalTokenView {
            token_id: t.id,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            created_at: t.created_at,
            created_by: t.created_by,
        })
        .collect())
}

pub fn revoke_token(conn: &mut PgConnection, principal: &Principal, customer_code: &str, id: Uuid) -> AppResult<()> {
    require(principal, Permission::WriteMatching)?;
    let customer = find_customer(conn, principal.tenant_id, customer_code)?;
    if portal_db::revoke_token(conn, principal.tenant_id, customer.id, id)? == 0 {
        return Err(AppError::not_found("portal token"));
    }
    let e = entry(principal, "portal_token.revoked", "portal_token", &id.to_string());
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(())
}

/// Resolves a portal token: signature, audience, expiry, and that the tenant has not revoked it.
pub async fn authenticate(state: &super::AppState, token: &str) -> AppResult<PortalPrincipal> {
    let claims: PortalClaims = state.jwt.verify(token, JWT_AUDIENCE_PORTAL)?;
    let (tid, cid, jti) = (claims.tid, claims.sub, claims.jti);
    let row =
        crate::db::transaction(&state.pool, move |conn| Ok(portal_db::active_token(conn, jti, tid, cid)?)).await?;
    row.ok_or_else(|| AppError::unauthenticated("portal token revoked"))?;
    Ok(PortalPrincipal { tenant_id: tid, customer_id: cid, customer_code: claims.cus, token_id: jti })
}

/// Reads on the portal's behalf reuse the tenant's read use cases, always with the customer the
/// token names (never one from the request).
fn reader(portal: &PortalPrincipal) -> Principal {
    Principal { tenant_id: portal.tenant_id, actor: Actor::System, role: Role::Viewer, scopes: vec!["read".into()] }
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct PortalAccount {
    pub customer_code: String,
    pub name: String,
    /// Open items and balance per currency.
    pub balance: CustomerBalance,
}

pub fn account(conn: &mut PgConnection, portal: &PortalPrincipal) -> AppResult<PortalAccount> {
    let customer = customers_db::find_by_id(conn, portal.tenant_id, portal.customer_id)?;
    let balance = customers::balance(conn, &reader(portal), &customer.code)?;
    Ok(PortalAccount { customer_code: customer.code, name: customer.name, balance })
}

// ----- balance confirmation (对账确认) ---------------------------------------------------------

#[derive(
    Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::InputObject, async_graphql::SimpleObject,
)]
#[graphql(input_name = "ConfirmedBalanceInput")]
#[serde(deny_unknown_fields)]
pub struct ConfirmedBalance {
    pub currency: String,
    /// What the customer owes as of the date, by its books (decimal string).
    pub balance: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct BalanceConfirmationInput {
    pub as_of: NaiveDate,
    pub balances: Vec<ConfirmedBalance>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct BalanceComparison {
    pub currency: String,
    pub confirmed: String,
    pub ours: String,
    pub agrees: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct BalanceConfirmationView {
    pub id: Uuid,
    pub customer_code: String,
    pub as_of: NaiveDate,
    pub balances: Vec<BalanceComparison>,
    /// Every currency agrees with our books (and none of ours is missing).
    pub agrees: bool,
    pub comment: Option<String>,
    pub confirmed_by: String,
    pub created_at: DateTime<Utc>,
}

fn confirmation_view(c: BalanceConfirmation, code: String) -> BalanceConfirmationView {
    let balances: Vec<BalanceComparison> = serde_json::from_value(c.balances).unwrap_or_default();
    BalanceConfirmationView {
        id: c.id,
        customer_code: code,
        as_of: c.as_of,
        agrees: balances.iter().all(|b| b.agrees),
        balances,
        comment: c.comment,
        confirmed_by: c.confirmed_by,
        created_at: c.created_at,
    }
}

/// The customer confirms its balance as of a date. It is compared with ours as of that date
/// and recorded either way; `agrees` tells whether the balances are agreed.
pub fn confirm_balance(
    conn: &mut PgConnection,
    portal: &PortalPrincipal,
    input: BalanceConfirmationInput,
) -> AppResult<BalanceConfirmationView> {
    if input.balances.is_empty() || input.balances.len() > 50 {
        return Err(AppError::invalid("balances", "give 1 to 50 balances, one per currency"));
    }
    if input.comment.as_ref().is_some_and(|c| c.len() > 10_000) {
        return Err(AppError::invalid("comment", "at most 10000 characters"));
    }
    let mut confirmed: BTreeMap<String, Decimal> = BTreeMap::new();
    for (i, b) in input.balances.iter().enumerate() {
        let c = Currency::parse(b.currency.trim())
            .map_err(|e| AppError::invalid(&format!("balances[{i}].currency"), e.to_string()))?;
        let amount = c
            .parse_amount(b.balance.trim())
            .map_err(|e| AppError::invalid(&format!("balances[{i}].balance"), e.to_string()))?;
        if confirmed.insert(c.code().to_string(), amount).is_some() {
            return Err(AppError::invalid(&format!("balances[{i}].currency"), "each currency once"));
        }
    }
    let items = st_db::our_items(conn, portal.tenant_id, portal.customer_id, None, Some(input.as_of))?;
    let mut ours: BTreeMap<String, Decimal> = BTreeMap::new();
    for it in items {
        let kind = DocType::parse(&it.kind).unwrap_or(DocType::Adjustment);
        *ours.entry(it.currency).or_default() += kind.balance_sign() * it.amount;
    }
    let mut currencies: Vec<String> = confirmed.keys().chain(ours.keys()).cloned().collect();
    currencies.sort();
    currencies.dedup();
    let comparisons: Vec<BalanceComparison> = currencies
        .into_iter()
        .filter_map(|cur| {
            let theirs = confirmed.get(&cur).copied();
            let our = ours.get(&cur).copied().unwrap_or_default();
            // A currency we hold at zero and they did not mention is not a disagreement.
            if theirs.is_none() && our.is_zero() {
                return None;
            }
            let theirs = theirs.unwrap_or_default();
            Some(BalanceComparison {
                confirmed: format_amount(&cur, theirs),
                ours: format_amount(&cur, our),
                agrees: theirs == our,
                currency: cur,
            })
        })
        .collect();
    let row = BalanceConfirmation {
        id: Uuid::now_v7(),
        tenant_id: portal.tenant_id,
        customer_id: portal.customer_id,
        as_of: input.as_of,
        balances: serde_json::to_value(&comparisons).map_err(AppError::internal)?,
        comment: input.comment.clone(),
        confirmed_by: format!("customer:{}", portal.customer_code),
        created_at: Utc::now(),
    };
    diff_db::insert_confirmation(conn, &row)?;
    let view = confirmation_view(row, portal.customer_code.clone());
    audit_db::append(
        conn,
        portal.tenant_id,
        vec![NewAuditEntry {
            actor_type: "customer".into(),
            actor_id: portal.customer_code.clone(),
            action: "balance.confirmed".into(),
            entity_type: "balance_confirmation".into(),
            entity_id: view.id.to_string(),
            before: None,
            after: serde_json::to_value(&view).ok(),
        }],
    )?;
    events::emit(conn, portal.tenant_id, Some(portal.customer_id), EventType::BalanceConfirmed, json!(view))?;
    Ok(view)
}

pub fn confirmations(
    conn: &mut PgConnection,
    principal: &Principal,
    customer_code: &str,
) -> AppResult<Vec<BalanceConfirmationView>> {
    require(principal, Permission::Read)?;
    let customer = find_customer(conn, principal.tenant_id, customer_code)?;
    Ok(diff_db::confirmations(conn, principal.tenant_id, customer.id)?
        .into_iter()
        .map(|c| confirmation_view(c, customer.code.clone()))
        .collect())
}

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

// ----- signed pushes from a customer's system ------------------------------------------------

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
    customer_code: &str,
) -> AppResult<InboundSecretIssued> {
    require(principal, Permission::Admin)?;
    let customer = find_customer(conn, principal.tenant_id, customer_code)?;
    let now = Utc::now();
    let secret = webhook_signature::generate_secret();
    let previous_valid_until = now + Duration::hours(24);
    portal_db::rotate_secret(
        conn,
        &InboundSecret {
            id: Uuid::now_v7(),
            tenant_id: principal.tenant_id,
            customer_id: customer.id,
            secret: secret.clone(),
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
    tenant_id: Uuid,
    customer_code: &str,
    signed: SignedRequest,
    format: ImportFormat,
    body: &[u8],
) -> AppResult<StatementView> {
    let denied = |m: &str| AppError::unauthenticated(m.to_string());
    let customer = customers_db::find_by_code_for_update(conn, tenant_id, customer_code)
        .map_err(|_| denied("unknown tenant or customer, or no inbound secret configured"))?;
    let keys: Vec<Vec<u8>> = portal_db::valid_secrets(conn, tenant_id, customer.id)?
        .iter()
        .filter_map(|s| webhook_signature::secret_key(&s.secret))
        .collect();
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
