//! Dispute work orders (争议处理工单): create, list, read, change, comment; the service levels
//! per cause; one SLA sweep on demand.

use super::ErrorBody;
use crate::api::extract::{ok_json, run, Auth, JsonBody};
use crate::api::read_routing::Reads;
use crate::domain::work_order::SlaHours;
use crate::error::AppResult;
use crate::services::pagination::Page;
use crate::services::work_orders::{
    self, SweepOutcome, WorkOrderCommentInput, WorkOrderCommentView, WorkOrderInput, WorkOrderPatch, WorkOrderQuery,
    WorkOrderView,
};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, put, web, HttpResponse};
use uuid::Uuid;

/// Open a work order by hand from differences and/or documents (all of one customer). Due by the
/// tenant's service level for its cause unless `due_at` is given.
#[utoipa::path(
    operation_id = "createWorkOrder",
    tag = "work_orders",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = WorkOrderInput,
    responses((status = 201, body = WorkOrderView), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/work-orders")]
pub async fn create(Auth(p): Auth, body: JsonBody<WorkOrderInput>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::CREATED, work_orders::create).await
}

/// Work orders, filtered by assignee, status, due date, cause and customer.
#[utoipa::path(
    operation_id = "listWorkOrders",
    tag = "work_orders",
    params(WorkOrderQuery),
    responses((status = 200, body = Page<WorkOrderView>), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/work-orders")]
pub async fn list(
    state: web::Data<AppState>,
    reads: Reads,
    Auth(p): Auth,
    q: web::Query<WorkOrderQuery>,
) -> AppResult<HttpResponse> {
    let (q, max) = (q.into_inner(), state.settings.list_max_limit);
    Ok(ok_json(&reads.run(move |conn| work_orders::list(conn, &p, q, max)).await?))
}

/// One work order with its links and comments (the view every `work_order.*` event carries).
#[utoipa::path(
    operation_id = "getWorkOrder",
    tag = "work_orders",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkOrderView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/work-orders/{id}")]
pub async fn get(reads: Reads, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(ok_json(&reads.run(move |conn| work_orders::get(conn, &p, id)).await?))
}

/// Change a work order: title, assignee, priority, cause, status (allowed transitions only, else
/// 409), due date, visibility to the customer; add links.
#[utoipa::path(
    operation_id = "updateWorkOrder",
    tag = "work_orders",
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = WorkOrderPatch,
    responses((status = 200, body = WorkOrderView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/work-orders/{id}")]
pub async fn update(Auth(p): Auth, id: web::Path<Uuid>, body: JsonBody<WorkOrderPatch>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, p, patch| work_orders::update(conn, p, id, patch)).await
}

/// Comment on a work order; `visible_to_customer` also writes it into the linked differences'
/// threads, where the portal reads it.
#[utoipa::path(
    operation_id = "commentWorkOrder",
    tag = "work_orders",
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = WorkOrderCommentInput,
    responses((status = 201, body = WorkOrderCommentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/work-orders/{id}/comments")]
pub async fn comment(
    Auth(p): Auth,
    id: web::Path<Uuid>,
    body: JsonBody<WorkOrderCommentInput>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    body.execute(&p, StatusCode::CREATED, move |conn, p, input| work_orders::comment(conn, p, id, input)).await
}

/// The service level (hours to resolve) per cause.
#[utoipa::path(operation_id = "getWorkOrderSettings", tag = "work_orders", responses((status = 200, body = SlaHours)), security(("bearer" = [])))]
#[get("/work-order-settings")]
pub async fn get_settings(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run(&state.pool, move |conn| work_orders::get_settings(conn, &p)).await?))
}

/// Replace the service levels (admin); they apply to work orders opened from then on.
#[utoipa::path(operation_id = "replaceWorkOrderSettings", tag = "work_orders", request_body = SlaHours, responses((status = 200, body = SlaHours), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[put("/work-order-settings")]
pub async fn put_settings(Auth(p): Auth, body: JsonBody<SlaHours>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::OK, work_orders::put_settings).await
}

/// Run the SLA sweep of the caller's tenant now (admin), by the app's clock: announces
/// `work_order.overdue` for every active order past its due date not yet announced. The
/// background worker does the same for every tenant.
#[utoipa::path(operation_id = "sweepOverdueWorkOrders", tag = "work_orders", responses((status = 200, body = SweepOutcome)), security(("bearer" = [])))]
#[post("/work-orders/overdue-sweep")]
pub async fn sweep(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    let now = state.clock().now();
    Ok(ok_json(&run(&state.pool, move |conn| work_orders::sweep_tenant(conn, &p, now)).await?))
}
