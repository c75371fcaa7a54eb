use crate::api::extract::{run, Auth, JsonBody};
use crate::domain::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::services::auth::{self, issue_token, Login, TokenResponse};
use crate::state::AppState;
use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The tenant to log in to: its slug (`acme`) or its id. Required (or `tenant_id`): an
    /// address is unique only within a tenant.
    pub tenant: Option<String>,
    /// The tenant's id, for clients that know it (instead of `tenant`).
    pub tenant_id: Option<Uuid>,
    pub email: String,
    pub password: String,
}

/// Exchange a user's tenant, e-mail and password for a short-lived bearer token (JWT, HS256).
#[utoipa::path(
    operation_id = "createToken",
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "wrong credentials (the same answer for an unknown tenant, address or password)", body = crate::api::rest::ErrorBody),
        (status = 422, description = "malformed request, or no tenant named", body = crate::api::rest::ErrorBody),
        (status = 429, description = "too many failed logins for this address or client (`too_many_attempts`), see Retry-After", body = crate::api::rest::ErrorBody),
    )
)]
#[post("/auth/token")]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<TokenRequest>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let tenant = match (input.tenant, input.tenant_id) {
        (Some(tenant), None) if !tenant.trim().is_empty() => tenant,
        (None, Some(id)) => id.to_string(),
        (Some(_), Some(_)) => return Err(AppError::invalid("tenant", "give tenant or tenant_id, not both")),
        _ => return Err(AppError::invalid("tenant", "name the tenant to log in to: its slug or id")),
    };
    let client_ip = crate::api::client_ip::client_ip(&req, &state.settings.trusted_proxies);
    let login = Login { tenant, email: input.email, password: input.password };
    Ok(HttpResponse::Ok().json(issue_token(state.auth(), login, client_ip).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 12 characters.
    pub new_password: String,
}

/// Change your own password (a user's token; the current password is required). Every other
/// session of yours ends; the answer is a new token for this one.
#[utoipa::path(
    operation_id = "changeOwnPassword",
    tag = "auth",
    request_body = PasswordChange,
    responses((status = 200, body = TokenResponse), (status = 403, description = "not a user's token", body = crate::api::rest::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    Auth(p): Auth,
    req: HttpRequest,
    body: JsonBody<PasswordChange>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let client_ip = crate::api::client_ip::client_ip(&req, &state.settings.trusted_proxies);
    let fresh =
        auth::change_own_password(state.auth(), &p, input.current_password, input.new_password, client_ip).await?;
    Ok(HttpResponse::Ok().json(fresh))
}

/// Log out everywhere: every token of yours (a user's token) stops working, this one included.
#[utoipa::path(
    operation_id = "logoutEverywhere",
    tag = "auth",
    responses((status = 204, description = "logged out everywhere"), (status = 403, description = "not a user's token", body = crate::api::rest::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/auth/logout-everywhere")]
pub async fn logout_everywhere(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    let Actor::User { id } = p.actor else {
        return Err(AppError::forbidden("only a user's token logs out; revoke an API key instead"));
    };
    run(&state.pool, move |conn| crate::services::users::logout_everywhere(conn, &p, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// The token an admin issued (`POST /users/{id}/password-reset`), usable once.
    pub reset_token: String,
    /// At least 12 characters.
    pub new_password: String,
}

/// Set a new password with a one-time reset token from an admin (no credentials needed).
#[utoipa::path(
    operation_id = "completePasswordReset",
    tag = "auth",
    request_body = PasswordReset,
    responses(
        (status = 204, description = "the new password is set; log in with it"),
        (status = 401, description = "the token is unknown, used or expired", body = crate::api::rest::ErrorBody),
    )
)]
#[post("/auth/password-reset")]
pub async fn complete_password_reset(
    state: web::Data<AppState>,
    body: JsonBody<PasswordReset>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    auth::complete_password_reset(state.auth(), input.reset_token, input.new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}
