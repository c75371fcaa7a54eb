//! Import templates to download and fill in.

use super::ErrorBody;
use crate::api::extract::{ok_json, Auth, PortalAuth};
use crate::error::AppResult;
use crate::reports::ExportFormat;
use crate::services::templates::{self, TemplateView};
use actix_web::{get, web, HttpResponse};

/// The templates: kind, download address, where to send it, and every column (name, Chinese
/// label, required, format, values of a drop-down list, example).
#[utoipa::path(operation_id = "listTemplates", tag = "imports", responses((status = 200, body = Vec<TemplateView>)), security(("bearer" = [])))]
#[get("/templates")]
pub async fn list(Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&templates::list(&p)?))
}

/// A template as an .xlsx workbook: a header row of the import's column names (each with a note
/// giving its Chinese label and format), drop-down lists for columns with fixed values, an example
/// row, and a `Notes` sheet explaining every column. Kinds: `customers`, `products`,
/// `customer-contacts`, `documents`, `bank-statement`, `customer-statement`. The same for every
/// tenant; any credential of the tenant with `read` may download it.
#[utoipa::path(
    operation_id = "downloadTemplate",
    tag = "imports",
    params(("kind" = String, Path, description = "customers, products, customer-contacts, documents, bank-statement or customer-statement")),
    responses(
        (status = 200, description = "The template workbook", content((String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 404, description = "unknown kind", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/templates/{kind}.xlsx")]
pub async fn download(Auth(p): Auth, kind: web::Path<String>) -> AppResult<HttpResponse> {
    let kind = kind.into_inner();
    let (bytes, name) =
        web::block(move || templates::render(&p, &kind)).await.map_err(crate::error::AppError::internal)??;
    Ok(super::exports::download(ExportFormat::Xlsx, &name, bytes))
}

/// The customer statement template (`customer-statement.xlsx`), for the customer to fill in and
/// send back to `POST /portal/statements`.
#[utoipa::path(
    operation_id = "downloadPortalStatementTemplate",
    tag = "portal",
    responses(
        (status = 200, description = "The template workbook", content((String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 401, body = ErrorBody)
    ),
    security(("portal" = []))
)]
#[get("/portal/templates/customer-statement.xlsx")]
pub async fn portal_statement(PortalAuth(_customer): PortalAuth) -> AppResult<HttpResponse> {
    let (bytes, name) = web::block(templates::customer_statement).await.map_err(crate::error::AppError::internal)??;
    Ok(super::exports::download(ExportFormat::Xlsx, &name, bytes))
}
