use super::ErrorBody;
use crate::api::extract::{execute_import, execute_write, ok_json, run_read, Auth, JsonBody};
use crate::error::AppResult;
use crate::services::customer_contacts::{self, ContactImportRow, ContactInput, ContactPatch, ContactView};
use crate::services::import::ImportReport;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use uuid::Uuid;

/// The customer's contacts and addresses.
#[utoipa::path(
    operation_id = "listCustomerContacts",
    tag = "customers",
    params(("code" = String, Path)),
    responses((status = 200, body = Vec<ContactView>), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/customers/{code}/contacts")]
pub async fn list(state: web::Data<AppState>, Auth(p): Auth, code: web::Path<String>) -> AppResult<HttpResponse> {
    let keys = state.keyring.clone();
    let view = run_read(&state.pool, move |conn| customer_contacts::list(conn, &p, &keys, &code)).await?;
    Ok(ok_json(&view))
}

/// Add a contact (a person or department, with an address) to a customer. `for_statements`
/// or `for_dunning` moves that role off the contact that had it.
#[utoipa::path(
    operation_id = "createCustomerContact",
    tag = "customers",
    params(("code" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "repeat-safe retries")),
    request_body = ContactInput,
    responses((status = 201, body = ContactView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/customers/{code}/contacts")]
pub async fn create(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
    body: JsonBody<ContactInput>,
) -> AppResult<HttpResponse> {
    let keys = state.keyring.clone();
    let code = code.into_inner();
    body.execute(&p, StatusCode::CREATED, move |conn, principal, input| {
        customer_contacts::create(conn, principal, &keys, &code, input)
    })
    .await
}

/// Change some fields of a contact (absent fields stay, `null` clears).
#[utoipa::path(
    operation_id = "updateCustomerContact",
    tag = "customers",
    params(("code" = String, Path), ("id" = Uuid, Path)),
    request_body = ContactPatch,
    responses((status = 200, body = ContactView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/customers/{code}/contacts/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, Uuid)>,
    body: JsonBody<ContactPatch>,
) -> AppResult<HttpResponse> {
    let keys = state.keyring.clone();
    let (code, id) = path.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, principal, patch| {
        customer_contacts::update(conn, principal, &keys, &code, id, patch)
    })
    .await
}

/// Remove a contact.
#[utoipa::path(
    operation_id = "deleteCustomerContact",
    tag = "customers",
    params(("code" = String, Path), ("id" = Uuid, Path)),
    responses((status = 200, body = ContactView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/customers/{code}/contacts/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, Uuid)>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let keys = state.keyring.clone();
    let principal = p.clone();
    let (code, id) = path.into_inner();
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| {
        customer_contacts::delete(conn, &principal, &keys, &code, id)
    })
    .await
}

/// Bulk upsert of contacts keyed by customer code and contact name, from CSV (columns
/// customer_code,name and optionally role,email,phone,address (lines split by `|`),postal_code,
/// city,country,for_statements,for_dunning), the same as an .xlsx workbook, or a JSON array.
#[utoipa::path(
    operation_id = "importCustomerContacts",
    tag = "customers",
    request_body(description = "A JSON array of contacts with `customer_code`, or CSV with a header row; or the same as an .xlsx workbook (Content-Type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), whose sheet with a recognised header is read (header row anywhere in the first 30 rows, Chinese labels and common synonyms accepted; see docs/spreadsheets.md). With `mapping`, CSV or .xlsx in the tenant's own layout", content((Vec<ContactImportRow> = "application/json"), (String = "text/csv"))),
    params(crate::services::import::ImportQuery, ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = ImportReport), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/customer-contacts/import")]
pub async fn import(
    state: web::Data<AppState>,
    Auth(p): Auth,
    req: HttpRequest,
    q: web::Query<crate::services::import::ImportQuery>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (principal, keys) = (p.clone(), state.keyring.clone());
    execute_import(
        &state,
        &p,
        &req,
        payload,
        ("contacts", q.into_inner().mapping),
        move |conn, format, body, mapping| customer_contacts::import(conn, &principal, &keys, format, body, mapping),
    )
    .await
}
