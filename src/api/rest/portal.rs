//! The customer portal API (`/portal/...`, customer-scoped tokens only) and signed statement
//! pushes from customers' systems (`/inbound/...`, Standard Webhooks signatures).

use super::exports::{negotiate, statement_file, StatementExportQuery};
use super::statements::PageQuery;
use super::ErrorBody;
use crate::api::extract::{import_format, ok_json, parse_json_or_default, read_body, run, JsonBody, PortalAuth};
use crate::api::read_routing::Reads;
use crate::error::{AppError, AppResult};
use crate::reports::ExportFormat;
use crate::services::customer_statements::{StatementInput, StatementOptions, StatementView};
use crate::services::differences::{
    self, Action, CommentInput, CommentView, DifferenceDetail, DifferencePage, Party, ResolveInput,
};
use crate::services::portal::{
    self, BalanceConfirmationInput, BalanceConfirmationView, PortalAccount, SignedRequest, StatementOfAccount,
};
use crate::services::tenants;
use crate::state::AppState;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use uuid::Uuid;

/// The customer's account: name, balance per currency and open items.
#[utoipa::path(operation_id = "getPortalAccount", tag = "portal", responses((status = 200, body = PortalAccount), (status = 401, body = ErrorBody)), security(("portal" = [])))]
#[get("/portal/account")]
pub async fn account(reads: Reads, PortalAuth(c): PortalAuth) -> AppResult<HttpResponse> {
    Ok(ok_json(&reads.run(move |conn| portal::account(conn, &c)).await?))
}

/// The customer's statement of account for a period. JSON by default; `format=csv|xlsx|pdf` (or
/// the matching `Accept`) answers a download.
#[utoipa::path(
    operation_id = "getPortalStatementOfAccount",
    tag = "portal",
    params(StatementExportQuery),
    responses(
        (status = 200, description = "The statement; CSV, XLSX and PDF as binary downloads", content(
            (StatementOfAccount = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "application/pdf"),
        )),
        (status = 422, description = "Unknown format or bad period", body = ErrorBody)
    ),
    security(("portal" = []))
)]
#[get("/portal/statement-of-account")]
pub async fn statement_of_account(
    reads: Reads,
    PortalAuth(c): PortalAuth,
    q: web::Query<StatementExportQuery>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let format = negotiate(q.format.as_deref(), &req)?;
    let with_lines = q.lines.unwrap_or(false);
    let (company, statement) = reads
        .run(move |conn| {
            let mut statement = portal::portal_statement_of_account(conn, &c, q.from, q.to)?;
            if with_lines {
                portal::add_document_lines(conn, c.tenant_id, &mut statement)?;
            }
            Ok((tenants::name(conn, c.tenant_id)?, statement))
        })
        .await?;
    if format == ExportFormat::Json {
        return Ok(ok_json(&statement));
    }
    statement_file(format, company, statement).await
}

/// The differences sent to the customer, and what became of them.
#[utoipa::path(operation_id = "listPortalDifferences", tag = "portal", params(PageQuery), responses((status = 200, body = DifferencePage)), security(("portal" = [])))]
#[get("/portal/differences")]
pub async fn list_differences(
    state: web::Data<AppState>,
    reads: Reads,
    PortalAuth(c): PortalAuth,
    q: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let (q, max) = (q.into_inner(), state.settings.list_max_limit);
    Ok(ok_json(
        &reads.run(move |conn| differences::list_for_customer(conn, &c, q.cursor.as_deref(), q.limit, max)).await?,
    ))
}

/// One difference with its thread. Another customer's difference is 404.
#[utoipa::path(operation_id = "getPortalDifference", tag = "portal", params(("id" = Uuid, Path)), responses((status = 200, body = DifferenceDetail), (status = 404, body = ErrorBody)), security(("portal" = [])))]
#[get("/portal/differences/{id}")]
pub async fn get_difference(
    state: web::Data<AppState>,
    PortalAuth(c): PortalAuth,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| differences::get_for_customer(conn, &c, id)).await?))
}

/// Comment on a difference (with attachment metadata).
#[utoipa::path(operation_id = "commentOnPortalDifference", tag = "portal", params(("id" = Uuid, Path)), request_body = CommentInput, responses((status = 201, body = CommentView), (status = 404, body = ErrorBody)), security(("portal" = [])))]
#[post("/portal/differences/{id}/comments")]
pub async fn comment(
    state: web::Data<AppState>,
    PortalAuth(c): PortalAuth,
    id: web::Path<Uuid>,
    body: JsonBody<CommentInput>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let id = id.into_inner();
    let view = run(&state.pool, move |conn| differences::comment(conn, &Party::Customer(&c), id, input)).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Confirm (`confirm`) or dispute (`dispute`, comment required) a difference sent to the customer.
#[utoipa::path(
    operation_id = "transitionPortalDifference",
    tag = "portal",
    params(("id" = Uuid, Path), ("action" = String, Path, description = "confirm | dispute")),
    request_body = Option<CommentInput>,
    responses((status = 200, body = DifferenceDetail), (status = 409, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("portal" = []))
)]
#[post("/portal/differences/{id}/{action}")]
pub async fn act(
    state: web::Data<AppState>,
    PortalAuth(c): PortalAuth,
    path: web::Path<(Uuid, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (id, name) = path.into_inner();
    let action = match name.as_str() {
        "confirm" => Action::Confirm,
        "dispute" => Action::Dispute,
        _ => return Err(AppError::not_found(format!("portal action {name:?} (confirm, dispute)"))),
    };
    // Read after the action is known, not through `JsonBody`: an unknown action answers 404 whatever the body holds.
    let body = read_body(&req, payload, state.settings.max_json_bytes).await?;
    let input: CommentInput = parse_json_or_default(&req, &body)?;
    let input = ResolveInput { body: input.body, attachments: input.attachments, adjustment: None };
    Ok(ok_json(
        &run(&state.pool, move |conn| differences::transition(conn, &Party::Customer(&c), id, action, input)).await?,
    ))
}

/// Confirm the account balance as of a date (对账确认); compared with our books and recorded.
#[utoipa::path(operation_id = "confirmPortalBalance", tag = "portal", request_body = BalanceConfirmationInput, responses((status = 201, body = BalanceConfirmationView), (status = 422, body = ErrorBody)), security(("portal" = [])))]
#[post("/portal/balance-confirmations")]
pub async fn confirm_balance(
    state: web::Data<AppState>,
    PortalAuth(c): PortalAuth,
    body: JsonBody<BalanceConfirmationInput>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let view = run(&state.pool, move |conn| portal::confirm_balance(conn, &c, input)).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Upload the customer's own statement (CSV or JSON, like the tenant's endpoint).
#[utoipa::path(
    operation_id = "submitPortalStatement",
    tag = "portal",
    params(StatementOptions),
    request_body(description = "The statement as JSON, or CSV with a header row (customer_code, their_ref, our_ref, date, kind, amount, currency; the period in the query string); or the same as an .xlsx workbook (Content-Type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), whose sheet with the most values is read as that CSV", content((StatementInput = "application/json"), (String = "text/csv"))),
    responses((status = 201, body = StatementView), (status = 422, body = ErrorBody)),
    security(("portal" = []))
)]
#[post("/portal/statements")]
pub async fn submit_statement(
    state: web::Data<AppState>,
    PortalAuth(c): PortalAuth,
    options: web::Query<StatementOptions>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let format = import_format(&req)?;
    let body = read_body(&req, payload, state.settings.max_import_bytes).await?;
    let options = options.into_inner();
    let view = run(&state.pool, move |conn| portal::submit_statement(conn, &c, format, &body, options)).await?;
    Ok(HttpResponse::Created().json(view))
}

/// A customer's system pushes its statement, signed per Standard Webhooks (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature` with the customer's inbound secret). A repeated
/// `webhook-id` answers the statement it created.
#[utoipa::path(
    operation_id = "pushInboundStatement",
    tag = "portal",
    params(("tenant_id" = Uuid, Path), ("code" = String, Path),
           ("webhook-id" = String, Header), ("webhook-timestamp" = String, Header), ("webhook-signature" = String, Header)),
    request_body(description = "The statement as JSON, or CSV with a header row (customer_code, their_ref, our_ref, date, kind, amount, currency; the period in the query string); or the same as an .xlsx workbook (Content-Type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), whose sheet with the most values is read as that CSV", content((StatementInput = "application/json"), (String = "text/csv"))),
    responses((status = 201, body = StatementView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/inbound/{tenant_id}/customers/{code}/statements")]
pub async fn inbound_statement(
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (tenant_id, code) = path.into_inner();
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let signed = SignedRequest {
        message_id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
    };
    let format = import_format(&req)?;
    let body = read_body(&req, payload, state.settings.max_import_bytes).await?;
    let keys = state.keyring.clone();
    let view =
        run(&state.pool, move |conn| portal::inbound_statement(conn, &keys, tenant_id, &code, signed, format, &body))
            .await?;
    Ok(HttpResponse::Created().json(view))
}
