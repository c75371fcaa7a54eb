//! Collection work: tasks for people from dunning levels and broken promises, the contact log
//! with promises to pay, the promise check, and the tenant's collection settings.

use super::ErrorBody;
use crate::api::extract::{ok_json, run, Auth, JsonBody, OrDefault};
use crate::error::AppResult;
use crate::services::collection_tasks::{self, CollectionSettingsView, CollectionTaskView, TaskPatch, TaskQuery};
use crate::services::contact_log::{self, ContactLogEntry, ContactLogInput, ContactLogQuery};
use crate::services::pagination::Page;
use crate::services::promises::{self, PromiseSweepRequest, PromiseSweepView, PromiseView};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, put, web, HttpResponse};
use uuid::Uuid;

/// Collection tasks, oldest first, filtered by assignee, status, customer and due date.
#[utoipa::path(operation_id = "listCollectionTasks", tag = "collections", params(TaskQuery), responses((status = 200, body = Page<CollectionTaskView>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[get("/collection-tasks")]
pub async fn list_tasks(
    state: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<TaskQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| collection_tasks::list(conn, &p, q)).await?))
}

/// One collection task.
#[utoipa::path(operation_id = "getCollectionTask", tag = "collections", params(("id" = Uuid, Path)), responses((status = 200, body = CollectionTaskView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/collection-tasks/{id}")]
pub async fn get_task(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| collection_tasks::get(conn, &p, id)).await?))
}

/// Work a task: status open | done | cancelled, reassign (`assignee_user_id`, null: nobody),
/// move its due date, note what was done.
#[utoipa::path(operation_id = "updateCollectionTask", tag = "collections", params(("id" = Uuid, Path)), request_body = TaskPatch, responses((status = 200, body = CollectionTaskView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[patch("/collection-tasks/{id}")]
pub async fn update_task(Auth(p): Auth, id: web::Path<Uuid>, body: JsonBody<TaskPatch>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, principal, patch| collection_tasks::update(conn, principal, id, patch))
        .await
}

/// Log a contact made for a task (with its outcome; `promise_to_pay` records the promise).
#[utoipa::path(operation_id = "logTaskContact", tag = "collections", params(("id" = Uuid, Path)), request_body = ContactLogInput, responses((status = 201, body = ContactLogEntry), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[post("/collection-tasks/{id}/contacts")]
pub async fn log_task_contact(
    Auth(p): Auth,
    id: web::Path<Uuid>,
    body: JsonBody<ContactLogInput>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    body.execute(&p, StatusCode::CREATED, move |conn, principal, input| {
        contact_log::log_for_task(conn, principal, id, input)
    })
    .await
}

/// Log a contact with the customer: channel, outcome (reached, promise_to_pay, refused,
/// wrong_contact, no_answer), note, contact person; `promise_to_pay` needs `promise`.
#[utoipa::path(operation_id = "logCustomerContact", tag = "collections", params(("code" = String, Path)), request_body = ContactLogInput, responses((status = 201, body = ContactLogEntry), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[post("/customers/{code}/contact-log")]
pub async fn log_contact(
    Auth(p): Auth,
    code: web::Path<String>,
    body: JsonBody<ContactLogInput>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    body.execute(&p, StatusCode::CREATED, move |conn, principal, input| contact_log::log(conn, principal, &code, input))
        .await
}

/// The customer's contact log, newest first, each entry with its promise.
#[utoipa::path(operation_id = "listCustomerContactLog", tag = "collections", params(("code" = String, Path), ContactLogQuery), responses((status = 200, body = Page<ContactLogEntry>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/customers/{code}/contact-log")]
pub async fn contact_log_of(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
    q: web::Query<ContactLogQuery>,
) -> AppResult<HttpResponse> {
    let (code, q) = (code.into_inner(), q.into_inner());
    Ok(ok_json(&run(&state.pool, move |conn| contact_log::list(conn, &p, &code, q)).await?))
}

/// The customer's promises to pay (pending, kept, partially_kept, broken), newest first.
#[utoipa::path(operation_id = "listCustomerPromises", tag = "collections", params(("code" = String, Path)), responses((status = 200, body = Vec<PromiseView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/customers/{code}/promises")]
pub async fn promises_of(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| promises::of_customer(conn, &p, &code)).await?))
}

/// Judge the promises dated before `as_of` (default today): kept, partially kept or broken;
/// broken ones create a follow-up task or raise the dunning level (collection settings). A
/// dunning run does the same first.
#[utoipa::path(operation_id = "checkPromises", tag = "collections", request_body = Option<PromiseSweepRequest>, responses((status = 200, body = PromiseSweepView)), security(("bearer" = [])))]
#[post("/promises/check")]
pub async fn check_promises(Auth(p): Auth, body: JsonBody<PromiseSweepRequest, OrDefault>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::OK, promises::sweep).await
}

/// How collection tasks are assigned and due, and what a broken promise leads to.
#[utoipa::path(operation_id = "getCollectionSettings", tag = "collections", responses((status = 200, body = CollectionSettingsView)), security(("bearer" = [])))]
#[get("/collection-settings")]
pub async fn get_settings(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run(&state.pool, move |conn| collection_tasks::get_settings(conn, &p)).await?))
}

/// Replace the collection settings (admin), e.g. `{"assignment": "round_robin", "team": [user ids],
/// "task_due_days": 2, "broken_promise_action": "raise_level"}`.
#[utoipa::path(operation_id = "putCollectionSettings", tag = "collections", request_body = CollectionSettingsView, responses((status = 200, body = CollectionSettingsView), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[put("/collection-settings")]
pub async fn put_settings(Auth(p): Auth, body: JsonBody<CollectionSettingsView>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::OK, collection_tasks::put_settings).await
}
