//! Writes run as one transaction each and honour `Idempotency-Key`: a repeated key with the same request
//! replays the stored answer, with another request it is refused.

use super::json_body::JsonBody;
use crate::domain::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{self, StoredResponse};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::PgConnection;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Runs a write as one transaction, honouring `Idempotency-Key`, and renders its answer.
pub async fn execute_write<T, F>(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    body: &[u8],
    success: StatusCode,
    work: F,
) -> AppResult<HttpResponse>
where
    T: Serialize,
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
{
    let body_digest = Sha256::digest(body);
    execute_write_digest(state, principal, req, &body_digest, success, work).await
}

/// `execute_write` for bodies that were streamed elsewhere: the caller passes their SHA-256.
pub async fn execute_write_digest<T, F>(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    body_digest: &[u8],
    success: StatusCode,
    work: F,
) -> AppResult<HttpResponse>
where
    T: Serialize,
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
{
    let key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => {
            let key =
                v.to_str().map_err(|_| AppError::invalid("Idempotency-Key", "must be visible ASCII"))?.to_string();
            idempotency::validate_key(&key)?;
            Some(key)
        }
    };
    let request_hash = request_fingerprint(req, body_digest);
    let tenant_id = principal.tenant_id;
    let stored = idempotency::execute_json(&state.pool, tenant_id, key, request_hash, success.as_u16(), work).await?;
    Ok(render_stored(stored))
}

/// The HTTP answer of a stored (possibly replayed) response.
pub fn render_stored(stored: StoredResponse) -> HttpResponse {
    let mut response = HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
    if stored.replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.content_type(stored.content_type).body(stored.body)
}

/// What makes two requests "the same" for idempotency: method, path, query and body digest.
pub fn request_fingerprint(req: &HttpRequest, body_digest: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update(b"\n");
    h.update(req.uri().path().as_bytes());
    h.update(b"\n");
    h.update(req.uri().query().unwrap_or("").as_bytes());
    h.update(b"\n");
    h.update(body_digest);
    hex::encode(h.finalize())
}

impl<T: Send + 'static, E> JsonBody<T, E> {
    /// Runs the write `work` on the parsed body as one transaction, honouring `Idempotency-Key` (the raw body
    /// is part of the request's fingerprint), and answers `success` with the JSON of its result.
    pub async fn execute<R, F>(self, principal: &Principal, success: StatusCode, work: F) -> AppResult<HttpResponse>
    where
        R: Serialize,
        F: FnOnce(&mut PgConnection, &Principal, T) -> AppResult<R> + Send + 'static,
    {
        let state = self.req.app_data::<web::Data<AppState>>().cloned();
        let state = state.ok_or_else(|| AppError::internal("app state missing"))?;
        let (caller, value) = (principal.clone(), self.value);
        execute_write(&state, principal, &self.req, &self.raw, success, move |conn| work(conn, &caller, value)).await
    }
}
