use super::ErrorBody;
use crate::api::extract::{execute_import, ok_json, Auth, JsonBody};
use crate::api::read_routing::Reads;
use crate::error::AppResult;
use crate::services::import::ImportReport;
use crate::services::pagination::Page;
use crate::services::products::{self, ProductInput, ProductPatch, ProductQuery, ProductView};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};

/// Create a product or service.
#[utoipa::path(
    operation_id = "createProduct",
    tag = "products",
    request_body = ProductInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat-safe retries")),
    responses(
        (status = 201, body = ProductView),
        (status = 409, description = "code already used", body = ErrorBody),
        (status = 422, description = "invalid field", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/products")]
pub async fn create(Auth(p): Auth, body: JsonBody<ProductInput>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::CREATED, products::create).await
}

/// List products and services, filtered, one page at a time.
#[utoipa::path(
    operation_id = "listProducts",
    tag = "products",
    params(ProductQuery),
    responses((status = 200, body = Page<ProductView>)),
    security(("bearer" = []))
)]
#[get("/products")]
pub async fn list(
    state: web::Data<AppState>,
    reads: Reads,
    Auth(p): Auth,
    query: web::Query<ProductQuery>,
) -> AppResult<HttpResponse> {
    let max = state.settings.list_max_limit;
    let page = reads.run_statement(move |conn| products::list(conn, &p, query.into_inner(), max)).await?;
    Ok(ok_json(&page))
}

/// Read one product by code.
#[utoipa::path(
    operation_id = "getProduct",
    tag = "products",
    params(("code" = String, Path)),
    responses((status = 200, body = ProductView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/products/{code}")]
pub async fn get(reads: Reads, Auth(p): Auth, code: web::Path<String>) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    let view = reads.run_statement(move |conn| products::get(conn, &p, &code)).await?;
    Ok(ok_json(&view))
}

/// Change some fields of a product (absent fields stay, `null` clears).
#[utoipa::path(
    operation_id = "updateProduct",
    tag = "products",
    params(("code" = String, Path)),
    request_body = ProductPatch,
    responses((status = 200, body = ProductView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/products/{code}")]
pub async fn update(Auth(p): Auth, code: web::Path<String>, body: JsonBody<ProductPatch>) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, principal, patch| products::update(conn, principal, &code, patch))
        .await
}

/// Bulk upsert by code, from CSV (`text/csv`, columns code,name and optionally
/// kind,unit,default_price,currency,tax_rate,active), the same as an .xlsx workbook, or a JSON
/// array of products. Bad rows are reported; good rows are imported.
#[utoipa::path(
    operation_id = "importProducts",
    tag = "products",
    request_body(description = "A JSON array of products, or CSV with a header row (columns of `ProductInput`); or the same as an .xlsx workbook (Content-Type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), whose sheet with a recognised header is read (header row anywhere in the first 30 rows, Chinese labels and common synonyms accepted; see docs/spreadsheets.md). With `mapping`, CSV or .xlsx in the tenant's own layout", content((Vec<ProductInput> = "application/json"), (String = "text/csv"))),
    params(crate::services::import::ImportQuery, ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = ImportReport), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/products/import")]
pub async fn import(
    state: web::Data<AppState>,
    Auth(p): Auth,
    req: HttpRequest,
    q: web::Query<crate::services::import::ImportQuery>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    execute_import(
        &state,
        &p,
        &req,
        payload,
        ("products", q.into_inner().mapping),
        move |conn, format, body, mapping| products::import(conn, &principal, format, body, mapping),
    )
    .await
}
