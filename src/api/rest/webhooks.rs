use super::ErrorBody;
use crate::api::extract::{execute_write, ok_json, run, Auth, JsonBody};
use crate::error::AppResult;
use crate::services::pagination::Page;
use crate::services::webhooks::{
    self, DeliveryQuery, WebhookDeliveryDetail, WebhookDeliveryView, WebhookEndpointInput, WebhookEndpointPatch,
    WebhookEndpointView, WebhookSettingsView,
};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EndpointQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Register a webhook endpoint (admin). The answer carries the signing secret, shown only here
/// and on rotate-secret.
#[utoipa::path(
    operation_id = "createWebhookEndpoint",
    tag = "webhooks",
    request_body = WebhookEndpointInput,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = WebhookEndpointView), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/webhook-endpoints")]
pub async fn create(
    state: web::Data<AppState>,
    Auth(p): Auth,
    body: JsonBody<WebhookEndpointInput>,
) -> AppResult<HttpResponse> {
    let keys = state.keyring.clone();
    body.execute(&p, StatusCode::CREATED, move |conn, principal, input| {
        webhooks::create_endpoint(conn, principal, &keys, input)
    })
    .await
}

/// The tenant's webhook endpoints (without secrets).
#[utoipa::path(
    operation_id = "listWebhookEndpoints",
    tag = "webhooks",
    params(EndpointQuery),
    responses((status = 200, body = Page<WebhookEndpointView>)),
    security(("bearer" = []))
)]
#[get("/webhook-endpoints")]
pub async fn list(state: web::Data<AppState>, Auth(p): Auth, q: web::Query<EndpointQuery>) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let max = state.settings.list_max_limit;
    Ok(ok_json(
        &run(&state.pool, move |conn| webhooks::list_endpoints(conn, &p, q.limit, q.cursor.as_deref(), max)).await?,
    ))
}

/// Read one webhook endpoint (its secret is shown only when created or rotated).
#[utoipa::path(
    operation_id = "getWebhookEndpoint",
    tag = "webhooks",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookEndpointView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/webhook-endpoints/{id}")]
pub async fn get(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = *id;
    Ok(ok_json(&run(&state.pool, move |conn| webhooks::get_endpoint(conn, &p, id)).await?))
}

/// Change URL, description, event types, customer, or enable/disable (admin). Disabling cancels
/// pending deliveries.
#[utoipa::path(
    operation_id = "updateWebhookEndpoint",
    tag = "webhooks",
    params(("id" = Uuid, Path)),
    request_body = WebhookEndpointPatch,
    responses((status = 200, body = WebhookEndpointView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/webhook-endpoints/{id}")]
pub async fn update(
    Auth(p): Auth,
    id: web::Path<Uuid>,
    body: JsonBody<WebhookEndpointPatch>,
) -> AppResult<HttpResponse> {
    let id = *id;
    body.execute(&p, StatusCode::OK, move |conn, principal, patch| {
        webhooks::update_endpoint(conn, principal, id, patch)
    })
    .await
}

/// Delete an endpoint with its delivery history (admin).
#[utoipa::path(
    operation_id = "deleteWebhookEndpoint",
    tag = "webhooks",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookEndpointView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/webhook-endpoints/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let id = *id;
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| webhooks::delete_endpoint(conn, &principal, id))
        .await
}

/// A new signing secret (admin). The previous one keeps signing for 24 hours, so both
/// signatures are sent meanwhile.
#[utoipa::path(
    operation_id = "rotateWebhookSecret",
    tag = "webhooks",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookEndpointView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/webhook-endpoints/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let id = *id;
    let overlap = state.settings.webhooks.rotation_overlap;
    let keys = state.keyring.clone();
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| {
        webhooks::rotate_secret(conn, &principal, &keys, id, overlap)
    })
    .await
}

/// An endpoint's deliveries, oldest first.
#[utoipa::path(
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    params(("id" = Uuid, Path), DeliveryQuery),
    responses((status = 200, body = Page<WebhookDeliveryView>), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/webhook-endpoints/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    q: web::Query<DeliveryQuery>,
) -> AppResult<HttpResponse> {
    let (id, q, max) = (*id, q.into_inner(), state.settings.list_max_limit);
    Ok(ok_json(&run(&state.pool, move |conn| webhooks::list_deliveries(conn, &p, id, q, max)).await?))
}

/// A delivery with its payload and every attempt.
#[utoipa::path(
    operation_id = "getWebhookDelivery",
    tag = "webhooks",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookDeliveryDetail), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/webhook-deliveries/{id}")]
pub async fn delivery(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = *id;
    Ok(ok_json(&run(&state.pool, move |conn| webhooks::get_delivery(conn, &p, id)).await?))
}

/// Send a delivery again (admin), from the start of the retry schedule, with the same webhook-id.
#[utoipa::path(
    operation_id = "redeliverWebhook",
    tag = "webhooks",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookDeliveryDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/webhook-deliveries/{id}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let id = *id;
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| webhooks::redeliver(conn, &principal, id)).await
}

/// The tenant's webhook policy.
#[utoipa::path(operation_id = "getWebhookSettings", tag = "webhooks", responses((status = 200, body = WebhookSettingsView)), security(("bearer" = [])))]
#[get("/webhook-settings")]
pub async fn get_settings(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run(&state.pool, move |conn| webhooks::get_settings(conn, &p)).await?))
}

/// The tenant's webhook policy (admin): `allow_private_targets` lets endpoints point at
/// private, loopback and link-local addresses (self-hosted receivers, tests).
#[utoipa::path(operation_id = "replaceWebhookSettings", tag = "webhooks", request_body = WebhookSettingsView, responses((status = 200, body = WebhookSettingsView), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[put("/webhook-settings")]
pub async fn put_settings(Auth(p): Auth, body: JsonBody<WebhookSettingsView>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::OK, webhooks::put_settings).await
}
