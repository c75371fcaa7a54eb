use super::ErrorBody;
use crate::api::extract::{execute_write, ok_json, run, Auth, JsonBody};
use crate::error::AppResult;
use crate::services::connectors::{self, ConnectorInput, ConnectorPatch, ConnectorSyncView, ConnectorView};
use crate::services::pagination::Page;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Register a connector (admin). Credentials are stored encrypted and never returned; the first
/// sync starts right away.
#[utoipa::path(
    operation_id = "createConnector",
    tag = "connectors",
    request_body = ConnectorInput,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = ConnectorView), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/connectors")]
pub async fn create(
    state: web::Data<AppState>,
    Auth(p): Auth,
    body: JsonBody<ConnectorInput>,
) -> AppResult<HttpResponse> {
    let secrets = state.keyring.clone();
    body.execute(&p, StatusCode::CREATED, move |conn, principal, input| {
        connectors::create(conn, principal, &secrets, input)
    })
    .await
}

/// The tenant's connectors (without credentials).
#[utoipa::path(
    operation_id = "listConnectors",
    tag = "connectors",
    params(ListQuery),
    responses((status = 200, body = Page<ConnectorView>)),
    security(("bearer" = []))
)]
#[get("/connectors")]
pub async fn list(state: web::Data<AppState>, Auth(p): Auth, q: web::Query<ListQuery>) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let max = state.settings.list_max_limit;
    Ok(ok_json(&run(&state.pool, move |conn| connectors::list(conn, &p, q.limit, q.cursor.as_deref(), max)).await?))
}

/// Read one connector: its configuration (never its credentials), schedule and last sync.
#[utoipa::path(
    operation_id = "getConnector",
    tag = "connectors",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/connectors/{id}")]
pub async fn get(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = *id;
    Ok(ok_json(&run(&state.pool, move |conn| connectors::get(conn, &p, id)).await?))
}

/// Change name, config, credentials, schedule; enable/disable; reset the cursor (admin).
#[utoipa::path(
    operation_id = "updateConnector",
    tag = "connectors",
    params(("id" = Uuid, Path)),
    request_body = ConnectorPatch,
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/connectors/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    body: JsonBody<ConnectorPatch>,
) -> AppResult<HttpResponse> {
    let secrets = state.keyring.clone();
    let id = *id;
    let response = body
        .execute(&p, StatusCode::OK, move |conn, principal, patch| {
            connectors::update(conn, principal, &secrets, id, patch)
        })
        .await;
    // Its push keys may have stopped (or started) working.
    state.api_keys.clear();
    response
}

/// Delete a connector with its sync history (admin). Imported data stays.
#[utoipa::path(
    operation_id = "deleteConnector",
    tag = "connectors",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/connectors/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let id = *id;
    let response =
        execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| connectors::delete(conn, &principal, id))
            .await;
    state.api_keys.clear(); // its push keys are gone
    response
}

/// Sync now (admin): makes the connector due; the scheduler picks it up within its poll interval.
#[utoipa::path(
    operation_id = "startConnectorSync",
    tag = "connectors",
    params(("id" = Uuid, Path)),
    responses((status = 202, body = ConnectorView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/connectors/{id}/sync")]
pub async fn sync(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let id = *id;
    execute_write(&state, &p, &req, &[], StatusCode::ACCEPTED, move |conn| {
        connectors::request_sync(conn, &principal, id)
    })
    .await
}

/// The connector's sync history, newest first.
#[utoipa::path(
    operation_id = "listConnectorSyncs",
    tag = "connectors",
    params(("id" = Uuid, Path), ListQuery),
    responses((status = 200, body = Page<ConnectorSyncView>), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/connectors/{id}/syncs")]
pub async fn syncs(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    q: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let id = *id;
    let q = q.into_inner();
    let max = state.settings.list_max_limit;
    Ok(ok_json(
        &run(&state.pool, move |conn| connectors::syncs(conn, &p, id, q.limit, q.cursor.as_deref(), max)).await?,
    ))
}
