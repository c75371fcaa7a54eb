//! Saved column mappings for imports: the tenant's own spreadsheet layouts, by kind and name.

use super::ErrorBody;
use crate::api::extract::{ok_json, run, run_read, Auth, JsonBody};
use crate::error::AppResult;
use crate::services::import_mappings::{self, ImportMappingInput, ImportMappingReplace, ImportMappingView};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MappingListQuery {
    /// Only mappings of this kind (`customers`, `products`, `customer-contacts`, `documents`).
    pub kind: Option<String>,
}

/// The tenant's import mappings, by kind and name.
#[utoipa::path(operation_id = "listImportMappings", tag = "imports", params(MappingListQuery), responses((status = 200, body = Vec<ImportMappingView>), (status = 422, description = "unknown kind", body = ErrorBody)), security(("bearer" = [])))]
#[get("/import-mappings")]
pub async fn list(
    state: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<MappingListQuery>,
) -> AppResult<HttpResponse> {
    let kind = q.into_inner().kind;
    Ok(ok_json(&run_read(&state.pool, move |conn| import_mappings::list(conn, &p, kind.as_deref())).await?))
}

/// Save how one of the tenant's own layouts maps onto an import's columns. `mapping`:
/// `columns` (header as in the file → the import's column), `ignore` (headers not imported),
/// `sheet`, `header_row` (1-based; default: found in the first 30 rows), `header_rows` (rows a
/// header spans, for merged group headers) and `date_formats` (chrono). Imports use it with
/// `?mapping=<name>` (`POST /customers/import?mapping=erp`).
#[utoipa::path(operation_id = "createImportMapping",
    tag = "imports",
    request_body = ImportMappingInput,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = ImportMappingView), (status = 409, description = "name taken for this kind", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/import-mappings")]
pub async fn create(Auth(p): Auth, body: JsonBody<ImportMappingInput>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::CREATED, import_mappings::create).await
}

/// One import mapping.
#[utoipa::path(operation_id = "getImportMapping", tag = "imports", params(("id" = Uuid, Path)), responses((status = 200, body = ImportMappingView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/import-mappings/{id}")]
pub async fn get(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(ok_json(&run_read(&state.pool, move |conn| import_mappings::get(conn, &p, id)).await?))
}

/// Replace a mapping's name and content (its kind stays).
#[utoipa::path(operation_id = "replaceImportMapping",
    tag = "imports",
    params(("id" = Uuid, Path)),
    request_body = ImportMappingReplace,
    responses((status = 200, body = ImportMappingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/import-mappings/{id}")]
pub async fn replace(
    Auth(p): Auth,
    id: web::Path<Uuid>,
    body: JsonBody<ImportMappingReplace>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, principal, input| import_mappings::replace(conn, principal, id, input))
        .await
}

/// Delete an import mapping; imports naming it are refused from then on.
#[utoipa::path(operation_id = "deleteImportMapping", tag = "imports", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/import-mappings/{id}")]
pub async fn remove(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    run(&state.pool, move |conn| import_mappings::delete(conn, &p, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
