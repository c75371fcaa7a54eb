//! Authentication: API keys for machines, e-mail/password exchanged for short-lived JWTs for
//! people. Both resolve to a `Principal` bound to one tenant. People log in to a named tenant
//! (its slug or id): an address is unique only within a tenant, so nothing one tenant does with
//! its users can change how another's log in, and no answer tells which addresses exist.

use crate::db::{self, api_keys, connector_push, users, DbPool};
use crate::domain::auth::{Actor, Principal, Role};
use crate::error::{AppError, AppResult};
use crate::services::api_key_cache::{ApiKeyCache, CachedKey};
use crate::services::jwt::{JwtKeys, PortalClaims, JWT_AUDIENCE_API, JWT_AUDIENCE_PORTAL, JWT_ISSUER};
use crate::services::login_throttle::LoginThrottle;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

const API_KEY_PREFIX: &str = "dz_";

#[derive(Debug, Serialize, Deserialize)]
pub struct UserClaims {
    pub sub: Uuid,
    pub tid: Uuid,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// The user's token version when the token was issued; lifecycle steps bump the stored one,
    /// which ends every token issued before. Absent in tokens from before versions (0).
    #[serde(default)]
    pub ver: i32,
}

/// What authentication reads of the application: the database, the token keys, the API keys
/// checked recently and the failed logins (`AppState::auth`), and nothing else of it.
#[derive(Clone, Copy)]
pub struct AuthContext<'a> {
    pub pool: &'a DbPool,
    pub jwt: &'a JwtKeys,
    pub api_keys: &'a ApiKeyCache,
    pub login_throttle: &'a LoginThrottle,
}

/// Resolves `Authorization: Bearer <token>` to a principal.
pub async fn authenticate(auth: AuthContext<'_>, token: &str) -> AppResult<Principal> {
    if let Some(rest) = token.strip_prefix(API_KEY_PREFIX) {
        let (prefix, _) = rest.split_once('_').ok_or_else(|| AppError::unauthenticated("malformed API key"))?;
        let prefix = prefix.to_string();
        let presented_hash = hash_api_key(token);
        let cached = match auth.api_keys.get(&prefix) {
            Some(cached) => cached,
            None => {
                let lookup = prefix.clone();
                let found = db::transaction(auth.pool, move |conn| {
                    let Some(key) = api_keys::find_active_by_prefix(conn, &lookup)? else { return Ok(None) };
                    // A connector's push key lives only as long as its connector is enabled.
                    let usable = match key.connector_id {
                        None => true,
                        Some(connector_id) => connector_push::connector_enabled(conn, key.tenant_id, connector_id)?,
                    };
                    Ok(Some((key, usable)))
                })
                .await?;
                let (key, usable) = found.ok_or_else(|| AppError::unauthenticated("unknown or revoked API key"))?;
                let role = Role::parse(&key.role).ok_or_else(|| AppError::internal("api key with unknown role"))?;
                let principal = Principal {
                    tenant_id: key.tenant_id,
                    actor: Actor::ApiKey { id: key.id },
                    role,
                    scopes: key.scopes,
                };
                let cached = CachedKey { key_hash: key.key_hash, principal, usable };
                auth.api_keys.put(prefix, cached.clone());
                cached
            }
        };
        if !bool::from(cached.key_hash.as_bytes().ct_eq(presented_hash.as_bytes())) {
            return Err(AppError::unauthenticated("unknown or revoked API key"));
        }
        if !cached.usable {
            return Err(AppError::unauthenticated("this push key's connector is disabled or deleted"));
        }
        return Ok(cached.principal);
    }
    let claims: UserClaims = match auth.jwt.verify(token, JWT_AUDIENCE_API) {
        Ok(c) => c,
        Err(e) => {
            if auth.jwt.verify::<PortalClaims>(token, JWT_AUDIENCE_PORTAL).is_ok() {
                return Err(AppError::forbidden("a portal token only reaches /api/v1/portal/..."));
            }
            return Err(e);
        }
    };
    // A valid signature is not enough: the user must still exist, be enabled and belong to the
    // tenant the token names (a disabled user's tokens stop at once, and a token can never
    // carry a user into another tenant). The role is the current one, not the token's.
    let (tid, sub) = (claims.tid, claims.sub);
    let user = db::read(auth.pool, move |conn| Ok(users::find_active(conn, tid, sub)?))
        .await?
        .ok_or_else(|| AppError::unauthenticated("token's user is unknown or disabled"))?;
    if user.token_version != claims.ver {
        return Err(AppError::unauthenticated(
            "token revoked: the user was logged out everywhere, or their password or role changed",
        ));
    }
    let role = Role::parse(&user.role).ok_or_else(|| AppError::internal("user with unknown role"))?;
    Ok(Principal { tenant_id: user.tenant_id, actor: Actor::User { id: user.id }, role, scopes: vec![] })
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub tenant_id: Uuid,
    pub role: Role,
}

/// What a person logs in with.
#[derive(Debug)]
pub struct Login {
    /// The tenant's slug or id.
    pub tenant: String,
    pub email: String,
    pub password: String,
}

/// Exchanges tenant, e-mail and password for a JWT. Every failure (unknown tenant, unknown
/// address, wrong password, disabled user) gives the same answer after the same work, so the
/// endpoint does not tell which tenants or addresses exist. Failed attempts count against the
/// address in its tenant and against `client_ip` (`services::login_throttle`); once either is
/// over its limit the password is not even checked.
pub async fn issue_token(
    auth: AuthContext<'_>,
    login: Login,
    client_ip: Option<std::net::IpAddr>,
) -> AppResult<TokenResponse> {
    let Login { tenant, email, password } = login;
    let lookup_email = email.clone();
    let (tenant_id, user) = db::read(auth.pool, move |conn| {
        let Some(tenant) = crate::services::tenants::find(conn, &tenant)? else { return Ok((None, None)) };
        Ok((Some(tenant.id), users::find_active_by_email(conn, tenant.id, &lookup_email)?))
    })
    .await?;
    // Counted per address within its tenant: failures in one tenant never lock out another's user.
    let attempted = format!("{}/{}", tenant_id.map(|t| t.to_string()).unwrap_or_default(), email.trim());
    auth.login_throttle.check(&attempted, client_ip)?;
    let stored = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_string());
    let ok = actix_web::web::block(move || verify_password(&password, &stored)).await.map_err(AppError::internal)?;
    let user = match user {
        Some(user) if ok => user,
        _ => {
            auth.login_throttle.record_failure(&attempted, client_ip);
            return Err(AppError::unauthenticated("invalid tenant, e-mail or password"));
        }
    };
    auth.login_throttle.record_success(&attempted);
    token_for(auth, &user)
}

/// A token for the user as stored now (its role and token version).
pub fn token_for(auth: AuthContext<'_>, user: &users::User) -> AppResult<TokenResponse> {
    let role = Role::parse(&user.role).ok_or_else(|| AppError::internal("user with unknown role"))?;
    let now = chrono::Utc::now().timestamp();
    let ttl = auth.jwt.ttl.as_secs();
    let claims = UserClaims {
        sub: user.id,
        tid: user.tenant_id,
        role,
        iss: JWT_ISSUER.into(),
        aud: JWT_AUDIENCE_API.into(),
        iat: now,
        exp: now + ttl as i64,
        ver: user.token_version,
    };
    Ok(TokenResponse {
        access_token: auth.jwt.sign(&claims)?,
        token_type: "Bearer",
        expires_in: ttl,
        tenant_id: user.tenant_id,
        role,
    })
}

/// The caller (a user's token) changes their own password, proving the current one: every
/// other session ends, and the answer is a new token for this one.
pub async fn change_own_password(
    auth: AuthContext<'_>,
    principal: &Principal,
    current_password: String,
    new_password: String,
    client_ip: Option<std::net::IpAddr>,
) -> AppResult<TokenResponse> {
    let Actor::User { id } = principal.actor else {
        return Err(AppError::forbidden("only a user's own token can change its password"));
    };
    crate::services::users::validate_password("new_password", &new_password)?;
    let tenant_id = principal.tenant_id;
    let user = db::read(auth.pool, move |conn| Ok(users::find_active(conn, tenant_id, id)?))
        .await?
        .ok_or_else(|| AppError::unauthenticated("token's user is unknown or disabled"))?;
    // A stolen token must not let its holder guess the password at full speed.
    let attempted = format!("{}/{}", user.tenant_id, user.email);
    auth.login_throttle.check(&attempted, client_ip)?;
    let stored = user.password_hash.clone();
    let (ok, new_hash) = actix_web::web::block(move || {
        let ok = verify_password(&current_password, &stored);
        (ok, ok.then(|| hash_password(&new_password)))
    })
    .await
    .map_err(AppError::internal)?;
    if !ok {
        auth.login_throttle.record_failure(&attempted, client_ip);
        return Err(AppError::invalid("current_password", "is not the current password"));
    }
    let new_hash = new_hash.ok_or_else(|| AppError::internal("no hash"))??;
    let principal = principal.clone();
    let verified = user.password_hash;
    let updated = db::transaction(auth.pool, move |conn| {
        crate::services::users::change_own_password(conn, &principal, &verified, new_hash)
    })
    .await?;
    token_for(auth, &updated)
}

/// Redeems an admin's reset token with a new password (no credentials: the token is the proof).
pub async fn complete_password_reset(auth: AuthContext<'_>, token: String, new_password: String) -> AppResult<()> {
    crate::services::users::validate_password("new_password", &new_password)?;
    if !token.starts_with(RESET_TOKEN_PREFIX) {
        return Err(AppError::unauthenticated("the reset token is unknown, used or expired"));
    }
    let token_hash = hash_api_key(&token);
    let new_hash = actix_web::web::block(move || hash_password(&new_password)).await.map_err(AppError::internal)??;
    db::transaction(auth.pool, move |conn| crate::services::users::complete_password_reset(conn, &token_hash, new_hash))
        .await
}

/// Stored instead of a hash while a reset is pending: no password matches it.
pub const UNUSABLE_PASSWORD: &str = "!reset-pending";
const RESET_TOKEN_PREFIX: &str = "dzr_";

/// A one-time password reset token and its SHA-256 (the only thing stored).
pub fn generate_reset_token() -> (String, String) {
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let token = format!("{RESET_TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret));
    let hash = hash_api_key(&token);
    (token, hash)
}

/// A valid argon2id hash of a random password, checked when the user does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Jt5bOQ3HnOxKVcQCM8E8iS1+0oDqS8xTTG/WkR6Pj8c";

pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(AppError::internal)
}

/// A stored value that is no hash (a pending reset) is checked against the dummy hash, so the
/// answer takes as long as for a real password.
fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => {
            let _ = PasswordHash::new(DUMMY_HASH).map(|h| Argon2::default().verify_password(password.as_bytes(), &h));
            false
        }
    }
}

/// A new API key: (plaintext shown once, prefix stored for lookup, hash stored for checking).
pub fn generate_api_key() -> (String, String, String) {
    let mut prefix_bytes = [0u8; 6];
    let mut secret_bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut prefix_bytes);
    rand::thread_rng().fill_bytes(&mut secret_bytes);
    let prefix = hex::encode(prefix_bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret_bytes).replace('_', "-");
    let key = format!("{API_KEY_PREFIX}{prefix}_{secret}");
    let hash = hash_api_key(&key);
    (key, prefix, hash)
}

pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_is_a_valid_argon2_hash() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn api_keys_have_the_documented_shape() {
        let (key, prefix, hash) = generate_api_key();
        assert!(key.starts_with(&format!("dz_{prefix}_")));
        assert_eq!(hash, hash_api_key(&key));
        assert_eq!(key.matches('_').count(), 2, "the secret must not contain '_': {key}");
    }

    #[test]
    fn jwt_round_trip_and_audience() {
        use crate::services::jwt::JwtKeys;
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", std::time::Duration::from_secs(60));
        let now = chrono::Utc::now().timestamp();
        let claims = UserClaims {
            sub: Uuid::nil(),
            tid: Uuid::nil(),
            role: Role::Viewer,
            iss: JWT_ISSUER.into(),
            aud: JWT_AUDIENCE_API.into(),
            iat: now,
            exp: now + 60,
            ver: 0,
        };
        let token = keys.sign(&claims).unwrap();
        assert!(keys.verify::<UserClaims>(&token, JWT_AUDIENCE_API).is_ok());
        assert!(keys.verify::<UserClaims>(&token, "duizhang-portal").is_err());
    }
}
