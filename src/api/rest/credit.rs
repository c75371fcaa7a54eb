//! Credit policy per customer (limit, terms, prepayment, hold, with its history), the tenant's
//! credit rules, and the credit check ERPs call before taking an order.

use super::ErrorBody;
use crate::api::extract::{ok_json, run, Auth, JsonBody};
use crate::error::AppResult;
use crate::services::credit_check::{self, CreditCheckQuery, CreditCheckView};
use crate::services::credit_policy::{self, CreditPolicyInput, CreditPolicyView};
use crate::services::credit_rules::{self, CreditRule};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{get, put, web, HttpResponse};

/// The customer's credit policy and the history of its changes (each explained).
#[utoipa::path(operation_id = "getCreditPolicy", tag = "collections", params(("code" = String, Path)), responses((status = 200, body = CreditPolicyView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/customers/{code}/credit-policy")]
pub async fn get_policy(state: web::Data<AppState>, Auth(p): Auth, code: web::Path<String>) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| credit_policy::get(conn, &p, &code)).await?))
}

/// Set the customer's credit policy by hand (`credit:write`), with an explanation. A hold or
/// prepayment set here is not lifted by rules.
#[utoipa::path(operation_id = "putCreditPolicy", tag = "collections", params(("code" = String, Path)), request_body = CreditPolicyInput, responses((status = 200, body = CreditPolicyView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[put("/customers/{code}/credit-policy")]
pub async fn put_policy(
    Auth(p): Auth,
    code: web::Path<String>,
    body: JsonBody<CreditPolicyInput>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, principal, input| credit_policy::put(conn, principal, &code, input))
        .await
}

/// May the customer order this much? Allowed, or refused with reasons (on_hold,
/// prepayment_required, limit_exceeded), and the figures: limit, exposure, available.
#[utoipa::path(operation_id = "creditCheck", tag = "collections", params(("code" = String, Path), CreditCheckQuery), responses((status = 200, body = CreditCheckView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[get("/customers/{code}/credit-check")]
pub async fn check(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
    q: web::Query<CreditCheckQuery>,
) -> AppResult<HttpResponse> {
    let (code, q) = (code.into_inner(), q.into_inner());
    Ok(ok_json(&run(&state.pool, move |conn| credit_check::check(conn, &p, &code, q)).await?))
}

/// The tenant's credit rules, in order.
#[utoipa::path(operation_id = "getCreditRules", tag = "collections", responses((status = 200, body = Vec<CreditRule>)), security(("bearer" = [])))]
#[get("/credit-rules")]
pub async fn get_rules(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run(&state.pool, move |conn| credit_rules::get(conn, &p)).await?))
}

/// Replace the credit rules (admin), e.g. `[{"code": "hold-l3", "condition":
/// "dunning_severity_at_least", "severity": 3, "effect": "hold"}, {"code": "prepay",
/// "condition": "broken_promises", "count": 2, "days": 90, "effect": "prepayment_required"}]`.
#[utoipa::path(operation_id = "putCreditRules", tag = "collections", request_body = Vec<CreditRule>, responses((status = 200, body = Vec<CreditRule>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[put("/credit-rules")]
pub async fn put_rules(Auth(p): Auth, body: JsonBody<Vec<CreditRule>>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::OK, credit_rules::put).await
}
