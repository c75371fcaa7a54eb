//! Matching rules as data: the tenant's ordered, versioned rules, their versions, and the
//! templates rules are made from.

use super::ErrorBody;
use crate::api::extract::{ok_json, run, run_read, Auth, JsonBody};
use crate::error::AppResult;
use crate::services::matching_rules::{
    self as rules, MatchingRuleFromTemplateInput, MatchingRuleInput, MatchingRuleOrder, MatchingRulePatch,
    MatchingRuleQuery, MatchingRuleTemplateView, MatchingRuleVersionView, MatchingRuleView,
};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use uuid::Uuid;

/// The tenant's matching rules in evaluation order (`?include_retired=true`: retired ones after them).
#[utoipa::path(operation_id = "listMatchingRules", tag = "matching", params(MatchingRuleQuery), responses((status = 200, body = Vec<MatchingRuleView>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[get("/matching-rules")]
pub async fn list(
    state: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<MatchingRuleQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    Ok(ok_json(&run_read(&state.pool, move |conn| rules::list(conn, &p, q)).await?))
}

/// Add a rule (admin). `definition`: `when` (line conditions), `candidates` (document
/// conditions), `then` (actions); a bad one answers 422 naming the field (`definition.when.remittance`).
/// Placed at `position` (default: last); enabled unless `enabled: false`.
#[utoipa::path(operation_id = "createMatchingRule",
    tag = "matching",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = MatchingRuleInput,
    responses((status = 201, body = MatchingRuleView), (status = 409, description = "name taken, or 200 live rules already", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/matching-rules")]
pub async fn create(Auth(p): Auth, body: JsonBody<MatchingRuleInput>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::CREATED, rules::create).await
}

/// Make a rule from a template (admin) with its parameters (defaults for the rest). It starts
/// disabled unless `enabled: true`: try it with a dry run first.
#[utoipa::path(operation_id = "createMatchingRuleFromTemplate",
    tag = "matching",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = MatchingRuleFromTemplateInput,
    responses((status = 201, body = MatchingRuleView), (status = 409, body = ErrorBody), (status = 422, description = "unknown template, or a parameter out of range (`details.field`: `parameters.<key>`)", body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/matching-rules/from-template")]
pub async fn from_template(Auth(p): Auth, body: JsonBody<MatchingRuleFromTemplateInput>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::CREATED, rules::create_from_template).await
}

/// Put the live rules in a new order (admin): `ids` lists every live rule exactly once, first
/// evaluated first (else 422).
#[utoipa::path(operation_id = "reorderMatchingRules",
    tag = "matching",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = MatchingRuleOrder,
    responses((status = 200, body = Vec<MatchingRuleView>), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/matching-rules/order")]
pub async fn reorder(Auth(p): Auth, body: JsonBody<MatchingRuleOrder>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::OK, rules::reorder).await
}

/// One rule, live or retired.
#[utoipa::path(operation_id = "getMatchingRule", tag = "matching", params(("id" = Uuid, Path)), responses((status = 200, body = MatchingRuleView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/matching-rules/{id}")]
pub async fn get(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(ok_json(&run_read(&state.pool, move |conn| rules::get(conn, &p, id)).await?))
}

/// Change a live rule (admin): name, description, definition, enabled. A change saves a new
/// version; with `expected_version` a change based on an older version is refused (409).
#[utoipa::path(operation_id = "updateMatchingRule",
    tag = "matching",
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = MatchingRulePatch,
    responses((status = 200, body = MatchingRuleView), (status = 404, body = ErrorBody), (status = 409, description = "stale `expected_version`, a retired rule, or a name taken", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/matching-rules/{id}")]
pub async fn update(Auth(p): Auth, id: web::Path<Uuid>, body: JsonBody<MatchingRulePatch>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, p, patch| rules::update(conn, p, id, patch)).await
}

/// Retire a rule (admin): it leaves the order and is no longer evaluated; it and its versions
/// stay readable, as do the allocations that name it.
#[utoipa::path(operation_id = "retireMatchingRule", tag = "matching", params(("id" = Uuid, Path)), responses((status = 200, body = MatchingRuleView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/matching-rules/{id}")]
pub async fn retire(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| rules::retire(conn, &p, id)).await?))
}

/// Every saved version of a rule, oldest first, with who saved it and when.
#[utoipa::path(operation_id = "listMatchingRuleVersions", tag = "matching", params(("id" = Uuid, Path)), responses((status = 200, body = Vec<MatchingRuleVersionView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/matching-rules/{id}/versions")]
pub async fn versions(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| rules::versions(conn, &p, id)).await?))
}

/// One saved version of a rule: the exact definition an allocation naming it was made with.
#[utoipa::path(operation_id = "getMatchingRuleVersion", tag = "matching", params(("id" = Uuid, Path), ("version" = i32, Path)), responses((status = 200, body = MatchingRuleVersionView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/matching-rules/{id}/versions/{version}")]
pub async fn version(
    state: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(Uuid, i32)>,
) -> AppResult<HttpResponse> {
    let (id, version) = path.into_inner();
    Ok(ok_json(&run_read(&state.pool, move |conn| rules::version(conn, &p, id, version)).await?))
}

/// The preset rules: key, category, description, an example bank line with what the rule does
/// to it, and the parameters with their defaults.
#[utoipa::path(operation_id = "listMatchingRuleTemplates", tag = "matching", responses((status = 200, body = Vec<MatchingRuleTemplateView>)), security(("bearer" = [])))]
#[get("/matching-rule-templates")]
pub async fn templates(Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&rules::list_templates(&p)?))
}
