use crate::api::extract::{parse_json, read_body};
use crate::error::AppResult;
use crate::services::auth::{issue_token, TokenResponse};
use crate::state::AppState;
use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub email: String,
    pub password: String,
    /// Needed only when the e-mail address belongs to users of several tenants.
    pub tenant_id: Option<Uuid>,
}

/// Exchange a user's e-mail and password for a short-lived bearer token (JWT, HS256).
#[utoipa::path(
    operation_id = "createToken",
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "wrong credentials", body = crate::api::rest::ErrorBody),
        (status = 422, description = "malformed request", body = crate::api::rest::ErrorBody),
        (status = 429, description = "too many failed logins for this address or client (`too_many_attempts`), see Retry-After", body = crate::api::rest::ErrorBody),
    )
)]
#[post("/auth/token")]
pub async fn token(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> AppResult<HttpResponse> {
    let body = read_body(&req, payload, 64 * 1024).await?;
    let input: TokenRequest = parse_json(&req, &body)?;
    let client_ip = crate::api::client_ip::client_ip(&req, &state.settings.trusted_proxies);
    let token = issue_token(&state, input.email, input.password, input.tenant_id, client_ip).await?;
    Ok(HttpResponse::Ok().json(token))
}
