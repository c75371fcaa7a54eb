use super::ErrorBody;
use crate::api::extract::{execute_import, ok_json, Auth, JsonBody};
use crate::api::read_routing::Reads;
use crate::error::AppResult;
use crate::services::customers::{self, CustomerBalance, CustomerInput, CustomerPatch, CustomerQuery, CustomerView};
use crate::services::import::ImportReport;
use crate::services::pagination::Page;
use crate::services::payment_behaviour::{self as behaviour, BehaviourQuery, PaymentBehaviour};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};

/// Create a customer.
#[utoipa::path(
    operation_id = "createCustomer",
    tag = "customers",
    request_body = CustomerInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat-safe retries")),
    responses(
        (status = 201, body = CustomerView),
        (status = 409, description = "code already used", body = ErrorBody),
        (status = 422, description = "invalid field", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/customers")]
pub async fn create(
    state: web::Data<AppState>,
    Auth(p): Auth,
    body: JsonBody<CustomerInput>,
) -> AppResult<HttpResponse> {
    let keys = state.keyring.clone();
    body.execute(&p, StatusCode::CREATED, move |conn, principal, input| {
        customers::create(conn, principal, &keys, input)
    })
    .await
}

/// List customers, filtered, one page at a time.
#[utoipa::path(
    operation_id = "listCustomers",
    tag = "customers",
    params(CustomerQuery),
    responses((status = 200, body = Page<CustomerView>)),
    security(("bearer" = []))
)]
#[get("/customers")]
pub async fn list(
    state: web::Data<AppState>,
    reads: Reads,
    Auth(p): Auth,
    query: web::Query<CustomerQuery>,
) -> AppResult<HttpResponse> {
    let max = state.settings.list_max_limit;
    let keys = state.keyring.clone();
    let page = reads.run(move |conn| customers::list(conn, &p, &keys, query.into_inner(), max)).await?;
    Ok(ok_json(&page))
}

/// Read one customer by code.
#[utoipa::path(
    operation_id = "getCustomer",
    tag = "customers",
    params(("code" = String, Path)),
    responses((status = 200, body = CustomerView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/customers/{code}")]
pub async fn get(
    state: web::Data<AppState>,
    reads: Reads,
    Auth(p): Auth,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (keys, code) = (state.keyring.clone(), code.into_inner());
    let view = reads.run(move |conn| customers::get(conn, &p, &keys, &code)).await?;
    Ok(ok_json(&view))
}

/// Change some fields of a customer (absent fields stay, `null` clears).
#[utoipa::path(
    operation_id = "updateCustomer",
    tag = "customers",
    params(("code" = String, Path)),
    request_body = CustomerPatch,
    responses((status = 200, body = CustomerView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/customers/{code}")]
pub async fn update(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
    body: JsonBody<CustomerPatch>,
) -> AppResult<HttpResponse> {
    let keys = state.keyring.clone();
    let code = code.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, principal, patch| {
        customers::update(conn, principal, &keys, &code, patch)
    })
    .await
}

/// Bulk upsert by code, from CSV (`text/csv`, columns of `customers.csv`: code,name,country,iban,email
/// and optionally aliases,bank_accounts,default_currency,payment_terms_days,credit_limit,status)
/// or a JSON array of customers. Bad rows are reported; good rows are imported.
#[utoipa::path(
    operation_id = "importCustomers",
    tag = "customers",
    request_body(description = "A JSON array of customers, or CSV with a header row (columns of `CustomerInput`; lists `;`-separated); or the same as an .xlsx workbook (Content-Type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), whose sheet with a recognised header is read (header row anywhere in the first 30 rows, Chinese labels and common synonyms accepted; see docs/spreadsheets.md). With `mapping`, CSV or .xlsx in the tenant's own layout", content((Vec<crate::services::customers::CustomerInput> = "application/json"), (String = "text/csv"))),
    params(crate::services::import::ImportQuery, ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = ImportReport), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/customers/import")]
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
        ("customers", q.into_inner().mapping),
        move |conn, format, body, mapping| customers::import(conn, &principal, &keys, format, body, mapping),
    )
    .await
}

/// Open items and balance per currency.
#[utoipa::path(
    operation_id = "getCustomerBalance",
    tag = "customers",
    params(("code" = String, Path)),
    responses((status = 200, body = CustomerBalance), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/customers/{code}/balance")]
pub async fn balance(reads: Reads, Auth(p): Auth, code: web::Path<String>) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    let view = reads.run_statement(move |conn| customers::balance(conn, &p, &code)).await?;
    Ok(ok_json(&view))
}

/// The customer's payment behaviour (付款规律) over a window ending on `as_of`: days to pay and
/// days late with their trend, share paid on time, partial-payment habit, and a score 0-100
/// with its components and weights.
#[utoipa::path(
    operation_id = "getCustomerPaymentBehaviour",
    tag = "customers",
    params(("code" = String, Path), BehaviourQuery),
    responses((status = 200, body = PaymentBehaviour), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/customers/{code}/payment-behaviour")]
pub async fn payment_behaviour(
    reads: Reads,
    Auth(p): Auth,
    code: web::Path<String>,
    q: web::Query<BehaviourQuery>,
) -> AppResult<HttpResponse> {
    let (code, q) = (code.into_inner(), q.into_inner());
    Ok(ok_json(&reads.run(move |conn| behaviour::of_code(conn, &p, &code, &q)).await?))
}
