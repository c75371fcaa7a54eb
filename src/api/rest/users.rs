//! A tenant's users after creation (admin): read one, change the role, disable and enable, log
//! out everywhere, issue a password reset, delete. Creating and listing are in `admin`.

use super::ErrorBody;
use crate::api::extract::{execute_write, ok_json, run, Auth, JsonBody};
use crate::error::AppResult;
use crate::services::users::{self, PasswordResetIssued, UserPatch, UserView};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use uuid::Uuid;

/// One user of the tenant (admin).
#[utoipa::path(
    operation_id = "getUser",
    tag = "admin",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/users/{id}")]
pub async fn get_user(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = *id;
    Ok(ok_json(&run(&state.pool, move |conn| users::get_user(conn, &p, id)).await?))
}

/// Change a user's role (admin); their tokens stop working (they log in again with the new role).
#[utoipa::path(
    operation_id = "updateUser",
    tag = "admin",
    params(("id" = Uuid, Path)),
    request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, description = "demoting yourself", body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/users/{id}")]
pub async fn update_user(Auth(p): Auth, id: web::Path<Uuid>, body: JsonBody<UserPatch>) -> AppResult<HttpResponse> {
    let id = *id;
    body.execute(&p, StatusCode::OK, move |conn, principal, input| users::set_role(conn, principal, id, input.role))
        .await
}

/// A lifecycle step without a body, run idempotently.
async fn step<F>(
    state: &AppState,
    p: crate::domain::auth::Principal,
    req: &HttpRequest,
    work: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce(&mut diesel::PgConnection, &crate::domain::auth::Principal) -> AppResult<UserView> + Send + 'static,
{
    let principal = p.clone();
    execute_write(state, &p, req, &[], StatusCode::OK, move |conn| work(conn, &principal)).await
}

/// Disable a user (admin): they cannot log in and their tokens stop at once.
#[utoipa::path(
    operation_id = "disableUser",
    tag = "admin",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, description = "disabling yourself", body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/users/{id}/disable")]
pub async fn disable_user(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = *id;
    step(&state, p, &req, move |conn, p| users::disable(conn, p, id)).await
}

/// Enable a disabled user again (admin).
#[utoipa::path(
    operation_id = "enableUser",
    tag = "admin",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/users/{id}/enable")]
pub async fn enable_user(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = *id;
    step(&state, p, &req, move |conn, p| users::enable(conn, p, id)).await
}

/// End every session of a user (admin): all their tokens stop working.
#[utoipa::path(
    operation_id = "logoutUserEverywhere",
    tag = "admin",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/users/{id}/logout-everywhere")]
pub async fn logout_user_everywhere(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = *id;
    step(&state, p, &req, move |conn, p| users::logout_everywhere(conn, p, id)).await
}

/// Issue a one-time password reset token for a user (admin), shown only in this answer. Their
/// current password stops working and their sessions end; they set a new password with the
/// token at `POST /auth/password-reset` within `DUIZHANG_PASSWORD_RESET_TTL_SECONDS`.
#[utoipa::path(
    operation_id = "issuePasswordReset",
    tag = "admin",
    params(("id" = Uuid, Path)),
    responses((status = 201, body = PasswordResetIssued), (status = 404, body = ErrorBody), (status = 409, description = "the user is disabled", body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/users/{id}/password-reset")]
pub async fn issue_password_reset(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let (principal, id, ttl) = (p.clone(), *id, state.settings.password_reset_ttl);
    execute_write(&state, &p, &req, &[], StatusCode::CREATED, move |conn| {
        users::issue_password_reset(conn, &principal, id, ttl)
    })
    .await
}

/// Delete a user (admin): they are gone from the tenant, their address can be given to someone
/// else; the audit trail keeps what they did.
#[utoipa::path(
    operation_id = "deleteUser",
    tag = "admin",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, description = "deleting yourself", body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/users/{id}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = *id;
    step(&state, p, &req, move |conn, p| users::delete(conn, p, id)).await
}
