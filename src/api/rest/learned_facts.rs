//! Learned facts: what matching learned from people's confirmations, manual allocations and
//! rejections; listed, read with provenance, revoked.

use super::ErrorBody;
use crate::api::extract::{execute_write, ok_json, Auth};
use crate::api::read_routing::Reads;
use crate::error::AppResult;
use crate::services::cash_application::{self as matching, LearnedFactDetail, LearnedFactQuery, LearnedFactView};
use crate::services::pagination::Page;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, web, HttpRequest, HttpResponse};
use uuid::Uuid;

/// Learned facts (payer IBAN or name -> customer, combined payments), live ones unless
/// `include_revoked`; filtered by kind and customer code.
#[utoipa::path(
    operation_id = "listLearnedFacts",
    tag = "matching",
    params(LearnedFactQuery),
    responses((status = 200, body = Page<LearnedFactView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/learned-facts")]
pub async fn list(
    state: web::Data<AppState>,
    reads: Reads,
    Auth(p): Auth,
    q: web::Query<LearnedFactQuery>,
) -> AppResult<HttpResponse> {
    let (q, max) = (q.into_inner(), state.settings.list_max_limit);
    Ok(ok_json(&reads.run(move |conn| matching::list_learned_facts(conn, &p, q, max)).await?))
}

/// One learned fact with its provenance: who taught it, when, from which bank line and
/// allocation, and how.
#[utoipa::path(
    operation_id = "getLearnedFact",
    tag = "matching",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = LearnedFactDetail), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/learned-facts/{id}")]
pub async fn get(reads: Reads, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(ok_json(&reads.run(move |conn| matching::get_learned_fact(conn, &p, id)).await?))
}

/// Revoke a learned fact (audited): runs stop using it and it is not learned again from the
/// same bank lines. Answers the revoked fact.
#[utoipa::path(
    operation_id = "revokeLearnedFact",
    tag = "matching",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = LearnedFactDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/learned-facts/{id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let id = id.into_inner();
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| {
        matching::revoke_learned_fact(conn, &principal, id)
    })
    .await
}
