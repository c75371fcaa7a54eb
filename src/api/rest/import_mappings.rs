//! Saved column mappings for imports: the tenant's own spreadsheet layouts, by kind and name.

use super::ErrorBody;
use crate::api::extract::{ok_json, run, run_read, Auth, JsonBody};
use crate::domain::import_mapping::ImportMapping;
use crate::error::AppResult;
use crate::services::import_mappings::{self, ImportMappingView};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, put, web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MappingListQuery {
    /// Only mappings of this kind (`customers`, `products`, `customer-contacts`, `documents`).
    pub kind: Option<String>,
}

/// The tenant's import mappings, by kind and name.
#[utoipa::path(operation_id = "listImportMappings", tag = "imports", params(MappingListQuery), responses((status = 200, body = Vec<ImportMappingView>), (status = 404, description = "unknown kind", body = ErrorBody)), security(("bearer" = [])))]
#[get("/import-mappings")]
pub async fn list(state: web::Data<AppState>, Auth(p): Auth, q: web::Query<MappingListQuery>) -> AppResult<HttpResponse> {
    let kind = q.into_inner().kind;
    Ok(ok_json(&run_read(&state.pool, move |conn| import_mappings::list(conn, &p, kind.as_deref())).await?))
}

/// One import mapping.
#[utoipa::path(operation_id = "getImportMapping", tag = "imports", params(("kind" = String, Path), ("name" = String, Path)), responses((status = 200, body = ImportMappingView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/import-mappings/{kind}/{name}")]
pub async fn get(state: web::Data<AppState>, Auth(p): Auth, path: web::Path<(String, String)>) -> AppResult<HttpResponse> {
    let (kind, name) = path.into_inner();
    Ok(ok_json(&run_read(&state.pool, move |conn| import_mappings::get(conn, &p, &kind, &name)).await?))
}

/// Save (create or replace) how one of the tenant's own layouts maps onto an import's columns:
/// `columns` (header as in the file → the import's column), `ignore` (headers not imported),
/// `sheet`, `header_row` (1-based; default: found in the first 30 rows), `header_rows` (rows a
/// header spans, for merged group headers) and `date_formats` (chrono). Used with
/// `?mapping=<name>` on `POST /{kind}/import` (`customer-contacts/import` for contacts).
#[utoipa::path(operation_id = "replaceImportMapping",
    tag = "imports",
    params(("kind" = String, Path), ("name" = String, Path)),
    request_body = ImportMapping,
    responses((status = 200, body = ImportMappingView), (status = 404, description = "unknown kind", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/import-mappings/{kind}/{name}")]
pub async fn put(Auth(p): Auth, path: web::Path<(String, String)>, body: JsonBody<ImportMapping>) -> AppResult<HttpResponse> {
    let (kind, name) = path.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, principal, mapping| {
        import_mappings::put(conn, principal, &kind, &name, mapping)
    })
    .await
}

/// Delete an import mapping; imports naming it are refused from then on.
#[utoipa::path(operation_id = "deleteImportMapping", tag = "imports", params(("kind" = String, Path), ("name" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/import-mappings/{kind}/{name}")]
pub async fn remove(state: web::Data<AppState>, Auth(p): Auth, path: web::Path<(String, String)>) -> AppResult<HttpResponse> {
    let (kind, name) = path.into_inner();
    run(&state.pool, move |conn| import_mappings::delete(conn, &p, &kind, &name)).await?;
    Ok(HttpResponse::NoContent().finish())
}
