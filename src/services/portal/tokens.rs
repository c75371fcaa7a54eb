//! Portal tokens: customer-scoped JWTs the tenant issues, lists and revokes, and their check
//! on every portal request.

use crate::db::audit::{self as audit_db};
use crate::db::portal::{self as portal_db, PortalToken};
use crate::domain::auth::{Permission, PortalPrincipal, Principal};
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::auth::AuthContext;
use crate::services::jwt::{JwtKeys, PortalClaims, JWT_AUDIENCE_PORTAL, JWT_ISSUER};
use crate::services::require;
use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::find_customer;

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
pub async fn authenticate(auth: AuthContext<'_>, token: &str) -> AppResult<PortalPrincipal> {
    let claims: PortalClaims = auth.jwt.verify(token, JWT_AUDIENCE_PORTAL)?;
    let (tid, cid, jti) = (claims.tid, claims.sub, claims.jti);
    let row = crate::db::transaction(auth.pool, move |conn| Ok(portal_db::active_token(conn, jti, tid, cid)?)).await?;
    row.ok_or_else(|| AppError::unauthenticated("portal token revoked"))?;
    Ok(PortalPrincipal { tenant_id: tid, customer_id: cid, customer_code: claims.cus, token_id: jti })
}
