//! Signed tokens: HS256 keys and the claims of the two audiences (API users, customer portal).
//! Shared by `auth` (API tokens) and `portal` (portal tokens), which do not depend on each other.

use crate::error::{AppError, AppResult};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

pub const JWT_ISSUER: &str = "duizhang";
pub const JWT_AUDIENCE_API: &str = "duizhang-api";
/// Customer portal tokens carry their own audience, so they can never pass as API tokens.
pub const JWT_AUDIENCE_PORTAL: &str = "duizhang-portal";

/// HS256 only: one algorithm, so "alg: none" or RSA/HMAC confusion cannot be accepted.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> JwtKeys {
        JwtKeys { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), ttl }
    }

    fn validation(audience: &str) -> Validation {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[JWT_ISSUER]);
        v.set_audience(&[audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 5;
        v
    }

    pub fn sign<C: Serialize>(&self, claims: &C) -> AppResult<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(AppError::internal)
    }

    pub fn verify<C: for<'de> Deserialize<'de>>(&self, token: &str, audience: &str) -> AppResult<C> {
        jsonwebtoken::decode::<C>(token, &self.decoding, &Self::validation(audience)).map(|data| data.claims).map_err(
            |e| {
                use jsonwebtoken::errors::ErrorKind;
                let reason = match e.kind() {
                    ErrorKind::ExpiredSignature => "token expired",
                    ErrorKind::InvalidAudience => "token is not for this API (audience)",
                    ErrorKind::InvalidIssuer => "token issuer not accepted",
                    ErrorKind::InvalidSignature => "token signature invalid",
                    ErrorKind::InvalidAlgorithm => "token algorithm not accepted",
                    _ => "token invalid",
                };
                AppError::unauthenticated(reason)
            },
        )
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PortalClaims {
    /// The customer's id.
    pub sub: Uuid,
    pub tid: Uuid,
    /// The customer's code, for display.
    pub cus: String,
    pub jti: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}
