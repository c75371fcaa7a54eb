//! Difference causes: set by hand, and counted per cause.

use super::ErrorBody;
use crate::api::extract::{ok_json, Auth, JsonBody};
use crate::api::read_routing::Reads;
use crate::error::AppResult;
use crate::services::difference_causes::{self, CauseInput, CauseReport, CauseReportQuery};
use crate::services::differences::DifferenceDetail;
use actix_web::http::StatusCode;
use actix_web::{get, patch, web, HttpResponse};
use uuid::Uuid;

/// Set a difference's cause by hand (`cause_source` becomes manual; audited as
/// `difference.cause_set`). The sub-cause decides the cause; `cause`, when given, must agree.
#[utoipa::path(
    operation_id = "setDifferenceCause",
    tag = "differences",
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = CauseInput,
    responses((status = 200, body = DifferenceDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/differences/{id}")]
pub async fn set_cause(Auth(p): Auth, id: web::Path<Uuid>, body: JsonBody<CauseInput>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, p, input| difference_causes::set_cause(conn, p, id, input)).await
}

/// Differences counted per cause and per sub-cause (null: not classified), optionally of one
/// customer and some statuses.
#[utoipa::path(
    operation_id = "getDifferencesByCause",
    tag = "reports",
    params(CauseReportQuery),
    responses((status = 200, body = CauseReport), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/reports/differences-by-cause")]
pub async fn report(reads: Reads, Auth(p): Auth, q: web::Query<CauseReportQuery>) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    Ok(ok_json(&reads.run(move |conn| difference_causes::report(conn, &p, q)).await?))
}
