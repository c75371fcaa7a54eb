//! Customer statements (对账), the differences they reveal and their lifecycle, portal tokens
//! and inbound secrets: the tenant's side.

use super::exports::{negotiate, statement_file, StatementExportQuery};
use super::ErrorBody;
use crate::api::extract::{execute_write, ok_json, parse_json_or_default, read_body, run, Auth, JsonBody, OrDefault};
use crate::api::read_routing::Reads;
use crate::error::AppResult;
use crate::reports::ExportFormat;
use crate::services::customer_statements::{
    self as statements, StatementInput, StatementOptions, StatementPage, StatementView,
};
use crate::services::differences::{
    self, Action, CommentInput, CommentView, DifferenceDetail, DifferencePage, DifferenceQuery, DifferenceView, Party,
    ResolveInput,
};
use crate::services::import::ImportFormat;
use crate::services::portal::{
    self, BalanceConfirmationView, InboundSecretIssued, PortalTokenIssued, PortalTokenRequest, PortalTokenView,
    StatementOfAccount,
};
use crate::services::tenants;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

fn content_type(req: &HttpRequest) -> Option<&str> {
    req.headers().get("content-type").and_then(|v| v.to_str().ok())
}

/// Reconcile a customer's statement with our books. Body: CSV with the columns
/// `customer_code,their_ref,our_ref,date,kind,amount,currency` (customer_code optional; period
/// and tolerance as query parameters) or JSON (`StatementInput`). Answers the balances and
/// every difference found.
#[utoipa::path(
    operation_id = "submitCustomerStatement",
    tag = "statements",
    params(("code" = String, Path), StatementOptions, ("Idempotency-Key" = Option<String>, Header)),
    request_body(description = "The statement as JSON, or CSV with a header row (customer_code, their_ref, our_ref, date, kind, amount, currency; the period in the query string); or the same as an .xlsx workbook (Content-Type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), whose sheet with the most values is read as that CSV", content((StatementInput = "application/json"), (String = "text/csv"))),
    responses((status = 201, body = StatementView), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/customers/{code}/statements")]
pub async fn submit(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
    options: web::Query<StatementOptions>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let format = ImportFormat::from_content_type(content_type(&req))?;
    let body = read_body(&req, payload, state.settings.max_import_bytes).await?;
    let (principal, code, data, options) = (p.clone(), code.into_inner(), body.clone(), options.into_inner());
    execute_write(&state, &p, &req, &body, StatusCode::CREATED, move |conn| {
        statements::submit(conn, &principal, &code, format, &data, options)
    })
    .await
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// A customer's statements, newest first.
#[utoipa::path(operation_id = "listCustomerStatements", tag = "statements", params(("code" = String, Path), PageQuery), responses((status = 200, body = StatementPage)), security(("bearer" = [])))]
#[get("/customers/{code}/statements")]
pub async fn list(
    state: web::Data<AppState>,
    reads: Reads,
    Auth(p): Auth,
    code: web::Path<String>,
    q: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let (code, q, max) = (code.into_inner(), q.into_inner(), state.settings.list_max_limit);
    Ok(ok_json(&reads.run(move |conn| statements::list(conn, &p, &code, q.cursor.as_deref(), q.limit, max)).await?))
}

/// One statement with its balances and differences.
#[utoipa::path(operation_id = "getCustomerStatement", tag = "statements", params(("id" = Uuid, Path)), responses((status = 200, body = StatementView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/statements/{id}")]
pub async fn get(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| statements::get(conn, &p, id)).await?))
}

/// Differences as JSON pages, or all of them as CSV (`Accept: text/csv`; columns
/// `customer_code,kind,our_ref,their_ref,our_amount,their_amount,status`).
#[utoipa::path(
    operation_id = "listDifferences",
    tag = "differences",
    params(DifferenceQuery),
    responses((status = 200, description = "A page as JSON, or every row as CSV with `Accept: text/csv`", content((DifferencePage = "application/json"), (String = "text/csv")))),
    security(("bearer" = []))
)]
#[get("/differences")]
pub async fn list_differences(
    state: web::Data<AppState>,
    reads: Reads,
    Auth(p): Auth,
    q: web::Query<DifferenceQuery>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let wants_csv = req.headers().get("accept").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/csv"));
    let q = q.into_inner();
    if wants_csv {
        let bytes = reads.run(move |conn| differences::list_csv(conn, &p, q)).await?;
        return Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(bytes));
    }
    let max = state.settings.list_max_limit;
    Ok(ok_json(&reads.run(move |conn| differences::list(conn, &p, q, max)).await?))
}

/// One difference with its comment thread.
#[utoipa::path(operation_id = "getDifference", tag = "differences", params(("id" = Uuid, Path)), responses((status = 200, body = DifferenceDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/differences/{id}")]
pub async fn get_difference(reads: Reads, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(ok_json(&reads.run(move |conn| differences::get(conn, &p, id)).await?))
}

fn parse_action(name: &str) -> Option<Action> {
    match name {
        "send" => Some(Action::Send),
        "confirm" => Some(Action::Confirm),
        "dispute" => Some(Action::Dispute),
        "resolve" => Some(Action::Resolve),
        "cancel" => Some(Action::Cancel),
        _ => None,
    }
}

/// Move a difference along its lifecycle: `send` (open -> sent), `confirm` / `dispute` (on the
/// customer's behalf; a dispute needs a comment), `resolve` (optionally with an adjustment
/// document), `cancel`. Only allowed transitions; anything else is 409.
#[utoipa::path(
    operation_id = "transitionDifference",
    tag = "differences",
    params(("id" = Uuid, Path), ("action" = String, Path, description = "send | confirm | dispute | resolve | cancel"), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<ResolveInput>, description = "optional: comment, attachments; adjustment only with resolve"),
    responses((status = 200, body = DifferenceDetail), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/differences/{id}/{action}")]
pub async fn act(
    state: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(Uuid, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (id, action_name) = path.into_inner();
    // Read by hand, not through `JsonBody`: an unknown action answers 404 whatever the body holds.
    let body = read_body(&req, payload, state.settings.max_json_bytes).await?;
    let action = parse_action(&action_name).ok_or_else(|| {
        crate::error::AppError::not_found(format!(
            "difference action {action_name:?} (send, confirm, dispute, resolve, cancel)"
        ))
    })?;
    let input: ResolveInput = parse_json_or_default(&req, &body)?;
    let principal = p.clone();
    execute_write(&state, &p, &req, &body, StatusCode::OK, move |conn| {
        differences::transition(conn, &Party::Tenant(&principal), id, action, input)
    })
    .await
}

/// Add a comment to a difference's thread (visible to the customer once the difference is sent).
#[utoipa::path(
    operation_id = "commentOnDifference",
    tag = "differences",
    params(("id" = Uuid, Path)),
    request_body = CommentInput,
    responses((status = 201, body = CommentView), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/differences/{id}/comments")]
pub async fn comment(Auth(p): Auth, id: web::Path<Uuid>, body: JsonBody<CommentInput>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    body.execute(&p, StatusCode::CREATED, move |conn, principal, input| {
        differences::comment(conn, &Party::Tenant(principal), id, input)
    })
    .await
}

/// Send every open difference of a customer (each emits `difference.sent`).
#[utoipa::path(operation_id = "sendCustomerDifferences", tag = "differences", params(("code" = String, Path)), responses((status = 200, body = Vec<DifferenceView>)), security(("bearer" = [])))]
#[post("/customers/{code}/differences/send")]
pub async fn send_all(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let (principal, code) = (p.clone(), code.into_inner());
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| differences::send_all(conn, &principal, &code))
        .await
}

/// Statement of account: opening balance, every item with a running balance, closing balance,
/// per currency. JSON by default; `format=csv|xlsx|pdf` (or the matching `Accept`) answers a
/// download (`Content-Disposition: attachment`).
#[utoipa::path(
    operation_id = "getStatementOfAccount",
    tag = "statements",
    params(("code" = String, Path), StatementExportQuery),
    responses(
        (status = 200, description = "The statement; CSV, XLSX and PDF as binary downloads", content(
            (StatementOfAccount = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "application/pdf"),
        )),
        (status = 422, description = "Unknown format or bad period", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/customers/{code}/statement-of-account")]
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
            let mut statement = portal::tenant_statement_of_account(conn, &p, &code, q.from, q.to)?;
            if with_lines {
                portal::add_document_lines(conn, p.tenant_id, &mut statement)?;
            }
            Ok((tenants::name(conn, p.tenant_id)?, statement))
        })
        .await?;
    if format == ExportFormat::Json {
        return Ok(ok_json(&statement));
    }
    statement_file(format, company, statement).await
}

/// Issue a customer-scoped portal token (JWT). The token is shown once.
#[utoipa::path(
    operation_id = "createPortalToken",
    tag = "portal",
    params(("code" = String, Path)),
    request_body = Option<PortalTokenRequest>,
    responses((status = 201, body = PortalTokenIssued)),
    security(("bearer" = []))
)]
#[post("/customers/{code}/portal-tokens")]
pub async fn issue_portal_token(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
    body: JsonBody<PortalTokenRequest, OrDefault>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let (code, jwt) = (code.into_inner(), state.jwt.clone());
    // Not replayable through Idempotency-Key: the answer holds a credential.
    let view = run(&state.pool, move |conn| portal::issue_token(conn, &p, &jwt, &code, input)).await?;
    Ok(HttpResponse::Created().json(view))
}

/// The customer's portal tokens (without the tokens themselves).
#[utoipa::path(operation_id = "listPortalTokens", tag = "portal", params(("code" = String, Path)), responses((status = 200, body = Vec<PortalTokenView>)), security(("bearer" = [])))]
#[get("/customers/{code}/portal-tokens")]
pub async fn list_portal_tokens(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| portal::list_tokens(conn, &p, &code)).await?))
}

/// Revoke a portal token at once.
#[utoipa::path(operation_id = "revokePortalToken", tag = "portal", params(("code" = String, Path), ("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[delete("/customers/{code}/portal-tokens/{id}")]
pub async fn revoke_portal_token(
    state: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, Uuid)>,
) -> AppResult<HttpResponse> {
    let (code, id) = path.into_inner();
    run(&state.pool, move |conn| portal::revoke_token(conn, &p, &code, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Create or rotate the secret with which the customer's system signs statement pushes
/// (`POST /inbound/{tenant_id}/customers/{code}/statements`). The previous secret stays valid
/// for 24 hours.
#[utoipa::path(operation_id = "rotateInboundSecret", tag = "portal", params(("code" = String, Path)), responses((status = 201, body = InboundSecretIssued)), security(("bearer" = [])))]
#[post("/customers/{code}/inbound-secret")]
pub async fn rotate_inbound_secret(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    let keys = state.keyring.clone();
    let view = run(&state.pool, move |conn| portal::rotate_inbound_secret(conn, &p, &keys, &code)).await?;
    Ok(HttpResponse::Created().json(view))
}

/// The customer's balance confirmations (对账确认), newest first.
#[utoipa::path(operation_id = "listBalanceConfirmations", tag = "portal", params(("code" = String, Path)), responses((status = 200, body = Vec<BalanceConfirmationView>)), security(("bearer" = [])))]
#[get("/customers/{code}/balance-confirmations")]
pub async fn confirmations(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| portal::confirmations(conn, &p, &code)).await?))
}
