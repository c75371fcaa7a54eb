//! The layout of a customer's statement files (saved per customer), and a statement's lines as
//! they were read and paired.

use super::statements::PageQuery;
use super::ErrorBody;
use crate::api::extract::{ok_json, run, Auth, JsonBody};
use crate::error::AppResult;
use crate::services::customer_statements::lines::{self as statement_lines, StatementLinePage};
use crate::services::customer_statements::mappings::{self as statement_mappings, StatementMappingView};
use crate::state::AppState;
use crate::statement_formats::StatementMapping;
use actix_web::http::StatusCode;
use actix_web::{delete, get, put, web, HttpResponse};
use uuid::Uuid;

/// The customer's saved statement mapping (`mapping: null` when none: layouts are detected).
#[utoipa::path(operation_id = "getStatementMapping", tag = "statements", params(("code" = String, Path)), responses((status = 200, body = StatementMappingView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/customers/{code}/statement-mapping")]
pub async fn get_mapping(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| statement_mappings::get(conn, &p, &code)).await?))
}

/// Save how this customer's statement files are laid out: columns by header name or 0-based
/// index (`date`, `their_ref`, `our_ref`, `text`, `doc_type`, `currency`, `customer_code`), the
/// amount convention (`{"convention": "unsigned"|"signed"|"debit_credit"|"indicator", ...,
/// "invoices": "auto"|"credit"|"debit"}`), `delimiter`, `quote`, `skip_rows`, `encoding`
/// (utf-8, gbk, gb18030), `decimal_separator`, `thousands_separator`, `date_formats` (chrono),
/// `default_currency` and `doc_types` (their words -> invoice, credit_note, payment, adjustment).
/// Everything is optional; what is left out is detected per file. Statements posted through the
/// API, the portal and signed pushes are all read with it.
#[utoipa::path(operation_id = "replaceStatementMapping", 
    tag = "statements",
    params(("code" = String, Path)),
    request_body(content = Object, description = "The mapping (see docs/customer-statements.md)"),
    responses((status = 200, body = StatementMappingView), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/customers/{code}/statement-mapping")]
pub async fn put_mapping(
    Auth(p): Auth,
    code: web::Path<String>,
    body: JsonBody<StatementMapping>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, principal, mapping| {
        statement_mappings::put(conn, principal, &code, mapping)
    })
    .await
}

/// Remove the customer's statement mapping: layouts are detected from each file's header again.
#[utoipa::path(operation_id = "deleteStatementMapping", tag = "statements", params(("code" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/customers/{code}/statement-mapping")]
pub async fn delete_mapping(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    run(&state.pool, move |conn| statement_mappings::delete(conn, &p, &code)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A statement's lines in file order: as read, and what each was paired with and why.
#[utoipa::path(operation_id = "listStatementLines", tag = "statements", params(("id" = Uuid, Path), PageQuery), responses((status = 200, body = StatementLinePage), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/statements/{id}/lines")]
pub async fn lines(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let (id, q, max) = (id.into_inner(), q.into_inner(), state.settings.list_max_limit);
    Ok(ok_json(
        &run(&state.pool, move |conn| statement_lines::list(conn, &p, id, q.cursor.as_deref(), q.limit, max)).await?,
    ))
}
