//! Customer groups: a parent company and its subsidiaries (a customer is in one group at most).
//! Paths take the group's code (or its id).

use super::exports::{negotiate, statement_file, StatementExportQuery};
use super::ErrorBody;
use crate::api::extract::{execute_write, ok_json, Auth, JsonBody};
use crate::api::read_routing::Reads;
use crate::domain::statement_of_account::StatementOfAccount;
use crate::error::AppResult;
use crate::reports::ExportFormat;
use crate::services::customer_groups::{
    self as groups, CustomerGroupInput, CustomerGroupPatch, CustomerGroupQuery, CustomerGroupView, GroupMembersInput,
};
use crate::services::pagination::Page;
use crate::services::statement_of_account::{add_document_lines, group_statement_of_account};
use crate::services::tenants;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};

/// Create a customer group, with its parent and members (each customer may be in one group only).
#[utoipa::path(
    operation_id = "createCustomerGroup",
    tag = "customers",
    request_body = CustomerGroupInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat-safe retries")),
    responses(
        (status = 201, body = CustomerGroupView),
        (status = 409, description = "code already used, or a member already in another group", body = ErrorBody),
        (status = 422, description = "invalid field or unknown customer", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/customer-groups")]
pub async fn create(Auth(p): Auth, body: JsonBody<CustomerGroupInput>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::CREATED, groups::create).await
}

/// List customer groups with their members, one page at a time.
#[utoipa::path(
    operation_id = "listCustomerGroups",
    tag = "customers",
    params(CustomerGroupQuery),
    responses((status = 200, body = Page<CustomerGroupView>)),
    security(("bearer" = []))
)]
#[get("/customer-groups")]
pub async fn list(
    state: web::Data<AppState>,
    reads: Reads,
    Auth(p): Auth,
    query: web::Query<CustomerGroupQuery>,
) -> AppResult<HttpResponse> {
    let max = state.settings.list_max_limit;
    Ok(ok_json(&reads.run(move |conn| groups::list(conn, &p, query.into_inner(), max)).await?))
}

/// Read one customer group by code (or id).
#[utoipa::path(
    operation_id = "getCustomerGroup",
    tag = "customers",
    params(("code" = String, Path, description = "the group's code or id")),
    responses((status = 200, body = CustomerGroupView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/customer-groups/{code}")]
pub async fn get(reads: Reads, Auth(p): Auth, code: web::Path<String>) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    Ok(ok_json(&reads.run(move |conn| groups::get(conn, &p, &code)).await?))
}

/// Rename a group or set its parent (`null` clears the parent, which stays a member; a new parent
/// joins the group).
#[utoipa::path(
    operation_id = "updateCustomerGroup",
    tag = "customers",
    params(("code" = String, Path, description = "the group's code or id")),
    request_body = CustomerGroupPatch,
    responses(
        (status = 200, body = CustomerGroupView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the new parent is in another group", body = ErrorBody),
        (status = 422, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[patch("/customer-groups/{code}")]
pub async fn update(
    Auth(p): Auth,
    code: web::Path<String>,
    body: JsonBody<CustomerGroupPatch>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, principal, patch| groups::update(conn, principal, &code, patch)).await
}

/// Replace the members: customers left out are released, new ones join (the parent must stay).
#[utoipa::path(
    operation_id = "replaceCustomerGroupMembers",
    tag = "customers",
    params(("code" = String, Path, description = "the group's code or id")),
    request_body = GroupMembersInput,
    responses(
        (status = 200, body = CustomerGroupView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "a customer is already in another group", body = ErrorBody),
        (status = 422, description = "unknown customer, or the parent left out", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[put("/customer-groups/{code}/members")]
pub async fn put_members(
    Auth(p): Auth,
    code: web::Path<String>,
    body: JsonBody<GroupMembersInput>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    body.execute(&p, StatusCode::OK, move |conn, principal, input| groups::put_members(conn, principal, &code, input))
        .await
}

/// Delete a group: its members are released (the customers stay). Answers the group as it was.
#[utoipa::path(
    operation_id = "deleteCustomerGroup",
    tag = "customers",
    params(("code" = String, Path, description = "the group's code or id")),
    responses((status = 200, body = CustomerGroupView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/customer-groups/{code}")]
pub async fn remove(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let (principal, code) = (p.clone(), code.into_inner());
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| groups::delete(conn, &principal, &code)).await
}

/// A customer group's statement of account: its members' documents, payments and write-offs
/// together, per currency with one running balance, every row naming its member
/// (`customer_code`); aging and payment behaviour of the group. JSON by default;
/// `format=csv|xlsx|pdf` (or the matching `Accept`) answers a download.
#[utoipa::path(
    operation_id = "getCustomerGroupStatementOfAccount",
    tag = "statements",
    params(("code" = String, Path, description = "the group's code or id"), StatementExportQuery),
    responses(
        (status = 200, description = "The statement; CSV, XLSX and PDF as binary downloads", content(
            (StatementOfAccount = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "application/pdf"),
        )),
        (status = 404, body = ErrorBody),
        (status = 422, description = "Unknown format or bad period", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/customer-groups/{code}/statement-of-account")]
pub async fn statement_of_account(
    reads: Reads,
    Auth(p): Auth,
    code: web::Path<String>,
    q: web::Query<StatementExportQuery>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let (code, q) = (code.into_inner(), q.into_inner());
    let format = negotiate(q.format.as_deref(), &req)?;
    let with_lines = q.lines.unwrap_or(false);
    let (company, statement) = reads
        .run(move |conn| {
            let mut statement = group_statement_of_account(conn, &p, &code, q.from, q.to)?;
            if with_lines {
                add_document_lines(conn, p.tenant_id, &mut statement)?;
            }
            Ok((tenants::name(conn, p.tenant_id)?, statement))
        })
        .await?;
    if format == ExportFormat::Json {
        return Ok(ok_json(&statement));
    }
    statement_file(format, company, statement).await
}
