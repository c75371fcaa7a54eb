use super::ErrorBody;
use crate::api::extract::{execute_write, ok_json, run, Auth, JsonBody, OrDefault};
use crate::api::read_routing::Reads;
use crate::error::AppResult;
use crate::services::cash_application::{
    self as matching, AllocationPage, AllocationQuery, AllocationView, DryRunReport, DryRunRequest, FxRateInput,
    ManualAllocation, MatchingSettingsView, RunRequest, RunView,
};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use uuid::Uuid;

/// Start a matching run over unapplied bank lines (optionally one account, a booking date range).
/// It runs in the background: poll `GET /reconciliations/{id}`.
#[utoipa::path(
    operation_id = "startReconciliation",
    tag = "matching",
    request_body = Option<RunRequest>,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = RunView), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/reconciliations")]
pub async fn start(Auth(p): Auth, body: JsonBody<RunRequest, OrDefault>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::ACCEPTED, matching::start_run).await
}

/// Progress and outcome counts of a run.
#[utoipa::path(
    operation_id = "getReconciliation",
    tag = "matching",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RunView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/reconciliations/{id}")]
pub async fn get(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = *id;
    Ok(ok_json(&run(&state.pool, move |conn| matching::get_run(conn, &p, id)).await?))
}

/// Allocations as JSON pages, or all of them as CSV (`Accept: text/csv`;
/// columns `line_id,doc_no,amount,state,confidence`).
#[utoipa::path(
    operation_id = "listAllocations",
    tag = "matching",
    params(AllocationQuery),
    responses((status = 200, description = "A page as JSON, or every row as CSV with `Accept: text/csv`", content((AllocationPage = "application/json"), (String = "text/csv")))),
    security(("bearer" = []))
)]
#[get("/allocations")]
pub async fn list(
    state: web::Data<AppState>,
    reads: Reads,
    Auth(p): Auth,
    query: web::Query<AllocationQuery>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let wants_csv = req.headers().get("accept").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/csv"));
    let q = query.into_inner();
    if wants_csv {
        let bytes = reads.run(move |conn| matching::allocations_csv(conn, &p, q)).await?;
        return Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(bytes));
    }
    let max = state.settings.list_max_limit;
    Ok(ok_json(&reads.run(move |conn| matching::list_allocations(conn, &p, q, max)).await?))
}

/// Confirm a proposed allocation (with the rest of its candidate set); the line's other
/// proposals are rejected. Answers the line's allocations.
#[utoipa::path(
    operation_id = "confirmAllocation",
    tag = "matching",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<AllocationView>), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/allocations/{id}/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let id = *id;
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| matching::confirm(conn, &principal, id)).await
}

/// Reject a proposal, or unapply an applied allocation (open amounts and write-offs restored).
#[utoipa::path(
    operation_id = "rejectAllocation",
    tag = "matching",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<AllocationView>), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/allocations/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let id = *id;
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| matching::reject(conn, &principal, id)).await
}

/// The tenant's matching settings (auto-apply threshold, tolerances).
#[utoipa::path(operation_id = "getMatchingSettings", tag = "matching", responses((status = 200, body = MatchingSettingsView)), security(("bearer" = [])))]
#[get("/matching-settings")]
pub async fn get_settings(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run(&state.pool, move |conn| matching::get_settings(conn, &p)).await?))
}

/// Replace the matching settings (admin).
#[utoipa::path(operation_id = "replaceMatchingSettings", tag = "matching", request_body = MatchingSettingsView, responses((status = 200, body = MatchingSettingsView), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[put("/matching-settings")]
pub async fn put_settings(Auth(p): Auth, body: JsonBody<MatchingSettingsView>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::OK, matching::put_settings).await
}

/// The rate table used for foreign-currency payments.
#[utoipa::path(operation_id = "listFxRates", tag = "matching", responses((status = 200, body = Vec<FxRateInput>)), security(("bearer" = [])))]
#[get("/fx-rates")]
pub async fn list_rates(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run(&state.pool, move |conn| matching::list_rates(conn, &p)).await?))
}

/// Add or replace rates (per currency pair and date).
#[utoipa::path(operation_id = "upsertFxRates", tag = "matching", request_body = Vec<FxRateInput>, responses((status = 200, body = Vec<FxRateInput>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[post("/fx-rates")]
pub async fn put_rates(Auth(p): Auth, body: JsonBody<Vec<FxRateInput>>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::OK, matching::put_rates).await
}

/// Apply a bank line to documents by hand, in any split (confirmed allocations; optional
/// write-offs settle the rest of a document).
#[utoipa::path(
    operation_id = "createAllocation",
    tag = "matching",
    request_body = ManualAllocation,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Vec<AllocationView>), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/allocations")]
pub async fn allocate(Auth(p): Auth, body: JsonBody<ManualAllocation>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::CREATED, matching::allocate_manually).await
}

/// Try a draft rule set without writing anything: the chosen lines (`line_ids`, at most 10,000, or
/// an imported statement's lines, optionally within booking dates) are matched under the live
/// rules and under the draft, each on a fresh engine loaded as a run loads it, in a read-only
/// transaction. Each line gets both outcomes (decision, documents, the rule behind them,
/// explanation) and `change`: gained, lost, changed or same. Only unapplied credit lines are
/// matched; the others say why not. A draft that does not validate answers 422 naming the field
/// (`rules[2].definition.when.remittance`).
#[utoipa::path(
    operation_id = "dryRunMatchingRules",
    tag = "matching",
    request_body = DryRunRequest,
    responses((status = 200, body = DryRunReport), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/matching-rules/dry-run")]
pub async fn dry_run_rules(
    state: web::Data<AppState>,
    Auth(p): Auth,
    body: JsonBody<DryRunRequest>,
) -> AppResult<HttpResponse> {
    let keys = state.keyring.clone();
    let req = body.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| matching::dry_run(conn, &keys, &p, req)).await?))
}
