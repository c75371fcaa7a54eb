use super::ErrorBody;
use crate::api::extract::{execute_write, ok_json, run, Auth, JsonBody};
use crate::domain::auth::Permission;
use crate::error::{AppError, AppResult};
use crate::services::admin::{self, ApiKeyView, CreatedApiKey, NewApiKey};
use crate::services::users::{self, NewUser, UserView};
use crate::services::{auth::hash_password, require};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use uuid::Uuid;

/// Create a user who signs in with e-mail and password (admin).
#[utoipa::path(
    operation_id = "createUser",
    tag = "admin",
    request_body = NewUser,
    responses((status = 201, body = UserView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/users")]
pub async fn create_user(Auth(p): Auth, body: JsonBody<NewUser>) -> AppResult<HttpResponse> {
    require(&p, Permission::Admin)?;
    users::validate_new_user(body.value())?;
    // argon2 is deliberately slow: hash before taking a database connection.
    let password = body.value().password.clone();
    let hash = web::block(move || hash_password(&password)).await.map_err(AppError::internal)??;
    body.execute(&p, StatusCode::CREATED, move |conn, principal, input| {
        users::create_user(conn, principal, input, hash)
    })
    .await
}

/// List the tenant's users (admin).
#[utoipa::path(operation_id = "listUsers", tag = "admin", responses((status = 200, body = Vec<UserView>)), security(("bearer" = [])))]
#[get("/users")]
pub async fn list_users(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run(&state.pool, move |conn| users::list_users(conn, &p)).await?))
}

/// Create an API key for a machine client (admin). The secret is in this answer only.
#[utoipa::path(
    operation_id = "createApiKey",
    tag = "admin",
    request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api-keys")]
pub async fn create_api_key(Auth(p): Auth, body: JsonBody<NewApiKey>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::CREATED, admin::create_api_key).await
}

/// List API keys (admin); secrets are never shown again.
#[utoipa::path(operation_id = "listApiKeys", tag = "admin", responses((status = 200, body = Vec<ApiKeyView>)), security(("bearer" = [])))]
#[get("/api-keys")]
pub async fn list_api_keys(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run(&state.pool, move |conn| admin::list_api_keys(conn, &p)).await?))
}

/// Revoke an API key (admin).
#[utoipa::path(
    operation_id = "revokeApiKey",
    tag = "admin",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ApiKeyView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/api-keys/{id}")]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let id = *id;
    let response =
        execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| admin::revoke_api_key(conn, &principal, id))
            .await;
    state.api_keys.clear(); // the revoked key stops at once in this process
    response
}
