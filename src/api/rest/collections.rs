//! Collections: dunning levels and runs, a customer's dunning state and history, recovery
//! figures per level; monthly statement runs.

use super::ErrorBody;
use crate::api::extract::{ok_json, run, Auth, JsonBody, OrDefault};
use crate::error::AppResult;
use crate::services::dunning::{
    self, CustomerDunning, DunningLevel, DunningRunRequest, DunningRunView, RecoveryFigure, RecoveryQuery,
};
use crate::services::statement_runs::{self, StatementRunRequest, StatementRunView};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{get, post, put, web, HttpResponse};
use uuid::Uuid;

/// The tenant's dunning levels, most severe first.
#[utoipa::path(operation_id = "getDunningLevels", tag = "collections", responses((status = 200, body = Vec<DunningLevel>)), security(("bearer" = [])))]
#[get("/dunning-levels")]
pub async fn get_levels(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run(&state.pool, move |conn| dunning::get_levels(conn, &p)).await?))
}

/// Replace the dunning levels (admin), e.g. A: 90 days -> legal letter and credit hold;
/// B: 30 days -> reminder every 7 days; C: due within 3 days -> reminder.
#[utoipa::path(operation_id = "replaceDunningLevels", tag = "collections", request_body = Vec<DunningLevel>, responses((status = 200, body = Vec<DunningLevel>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[put("/dunning-levels")]
pub async fn put_levels(Auth(p): Auth, body: JsonBody<Vec<DunningLevel>>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::OK, dunning::put_levels).await
}

/// Run dunning as of a date (default today): assigns levels, records level changes and
/// reminders due, sets credit holds, emits `dunning.level_changed` / `dunning.reminder_due`.
#[utoipa::path(operation_id = "startDunningRun", tag = "collections", request_body = Option<DunningRunRequest>, responses((status = 201, body = DunningRunView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
#[post("/dunning-runs")]
pub async fn run_dunning(Auth(p): Auth, body: JsonBody<DunningRunRequest, OrDefault>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::CREATED, dunning::run).await
}

/// A customer's dunning level, credit hold and history.
#[utoipa::path(operation_id = "getCustomerDunning", tag = "collections", params(("code" = String, Path)), responses((status = 200, body = CustomerDunning), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/customers/{code}/dunning")]
pub async fn customer_dunning(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| dunning::customer_state(conn, &p, &code)).await?))
}

/// Weekly recovery per level: overdue at each run and what came in during the following 7 days.
#[utoipa::path(operation_id = "getDunningRecovery", tag = "collections", params(RecoveryQuery), responses((status = 200, body = Vec<RecoveryFigure>)), security(("bearer" = [])))]
#[get("/dunning/recovery")]
pub async fn recovery(
    state: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<RecoveryQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| dunning::recovery(conn, &p, q)).await?))
}

/// Start a statement run for all (or the listed) customers: each customer's statement of
/// account for the period is produced in the background and announced (`statement.issued`).
#[utoipa::path(operation_id = "startStatementRun", tag = "collections", request_body = StatementRunRequest, responses((status = 202, body = StatementRunView), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[post("/statement-runs")]
pub async fn start_statement_run(Auth(p): Auth, body: JsonBody<StatementRunRequest>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::ACCEPTED, statement_runs::start).await
}

/// Progress of a statement run.
#[utoipa::path(operation_id = "getStatementRun", tag = "collections", params(("id" = Uuid, Path)), responses((status = 200, body = StatementRunView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/statement-runs/{id}")]
pub async fn get_statement_run(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| statement_runs::get(conn, &p, id)).await?))
}
