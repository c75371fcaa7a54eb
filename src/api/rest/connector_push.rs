//! Push access for connectors: push keys, the push-signing secret, and the signed push endpoints
//! (`/inbound/{tenant_id}/connectors/{connector_id}/...`) for systems that cannot hold a key.

use super::bank::{spool_statement, ImportParams, StatementFile};
use super::ErrorBody;
use crate::api::extract::{
    execute_write, import_format, ok_json, read_body, render_stored, request_fingerprint, run, Auth, JsonBody,
    OrDefault,
};
use crate::error::{AppError, AppResult};
use crate::services::admin::{ApiKeyView, CreatedApiKey};
use crate::services::bank::{self, ImportedStatement};
use crate::services::connector_push::{self, NewPushKey, PushSecretIssued, PushTarget, SignedHeaders, SignedPush};
use crate::services::import::ImportReport;
use crate::services::{customers, documents};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use std::io::Read;
use uuid::Uuid;

/// Create an API key bound to this connector (admin). It carries only the scope the connector's
/// data needs (`ledger:write` or `bank:write`) and stops working when the connector is disabled
/// or deleted. Revoke it with `DELETE /api-keys/{id}`. The key is shown only in this answer.
#[utoipa::path(
    operation_id = "createPushKey",
    tag = "connectors",
    params(("id" = Uuid, Path)),
    request_body(content = Option<NewPushKey>, description = "optional: the key's name"),
    responses((status = 201, body = CreatedApiKey), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/connectors/{id}/push-keys")]
pub async fn create_push_key(
    Auth(p): Auth,
    id: web::Path<Uuid>,
    body: JsonBody<NewPushKey, OrDefault>,
) -> AppResult<HttpResponse> {
    let id = *id;
    body.execute(&p, StatusCode::CREATED, move |conn, principal, input| {
        connector_push::create_push_key(conn, principal, id, input)
    })
    .await
}

/// The connector's push keys, revoked ones included (admin).
#[utoipa::path(
    operation_id = "listPushKeys",
    tag = "connectors",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<ApiKeyView>), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/connectors/{id}/push-keys")]
pub async fn list_push_keys(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = *id;
    Ok(ok_json(&run(&state.pool, move |conn| connector_push::list_push_keys(conn, &p, id)).await?))
}

/// Create or rotate the connector's push-signing secret (admin). The previous secret stays valid
/// for 24 hours. The secret is shown only in this answer.
#[utoipa::path(
    operation_id = "rotatePushSecret",
    tag = "connectors",
    params(("id" = Uuid, Path)),
    responses((status = 201, body = PushSecretIssued), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/connectors/{id}/push-secret")]
pub async fn rotate_push_secret(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let (principal, id) = (p.clone(), *id);
    let secrets = state.keyring.clone();
    execute_write(&state, &p, &req, &[], StatusCode::CREATED, move |conn| {
        connector_push::rotate_push_secret(conn, &principal, &secrets, id)
    })
    .await
}

fn signed_headers(req: &HttpRequest) -> SignedHeaders {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    SignedHeaders {
        message_id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
    }
}

/// Customers pushed by an ERP connector's system, signed with the connector's push secret
/// (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`). Same body and
/// answer as `POST /customers/import`; a repeated `webhook-id` gets the first answer again.
#[utoipa::path(
    operation_id = "pushCustomers",
    tag = "connectors",
    params(("tenant_id" = Uuid, Path), ("connector_id" = Uuid, Path),
        ("webhook-id" = String, Header), ("webhook-timestamp" = String, Header), ("webhook-signature" = String, Header)),
    request_body(description = "A JSON array of customers, or CSV with a header row (columns of `CustomerInput`; lists `;`-separated); or the same as an .xlsx workbook (Content-Type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), whose sheet with a recognised header is read (see docs/spreadsheets.md)", content((Vec<crate::services::customers::CustomerInput> = "application/json"), (String = "text/csv"))),
    responses((status = 200, body = ImportReport), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
)]
#[post("/inbound/{tenant_id}/connectors/{connector_id}/customers")]
pub async fn push_customers(
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    ledger_push(state, path.into_inner(), PushTarget::Customers, req, payload).await
}

/// Ledger documents pushed by an ERP connector's system, signed with the connector's push
/// secret. Same body and answer as `POST /documents/import`.
#[utoipa::path(
    operation_id = "pushDocuments",
    tag = "connectors",
    params(("tenant_id" = Uuid, Path), ("connector_id" = Uuid, Path),
        ("webhook-id" = String, Header), ("webhook-timestamp" = String, Header), ("webhook-signature" = String, Header)),
    request_body(description = "A JSON array of documents, or CSV with a header row (doc_no, doc_type, customer_code, issue_date, due_date, currency, amount, reference, source_system); or the same as an .xlsx workbook (Content-Type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), whose sheet with a recognised header is read (see docs/spreadsheets.md)", content((Vec<crate::services::documents::DocumentInput> = "application/json"), (String = "text/csv"))),
    responses((status = 200, body = ImportReport), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
)]
#[post("/inbound/{tenant_id}/connectors/{connector_id}/documents")]
pub async fn push_documents(
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    ledger_push(state, path.into_inner(), PushTarget::Documents, req, payload).await
}

async fn ledger_push(
    state: web::Data<AppState>,
    (tenant_id, connector_id): (Uuid, Uuid),
    target: PushTarget,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let format = import_format(&req)?;
    let headers = signed_headers(&req);
    let body = read_body(&req, payload, state.settings.max_import_bytes).await?;
    let push = SignedPush {
        tenant_id,
        connector_id,
        target,
        headers,
        request_hash: request_fingerprint(&req, &Sha256::digest(&body)),
    };
    let signed = body.clone();
    let keys = state.keyring.clone();
    let stored = connector_push::execute_signed(
        &state.pool,
        state.keyring.clone(),
        push,
        StatusCode::OK.as_u16(),
        move |verifier| {
            verifier.update(&signed);
            Ok(())
        },
        move |conn, principal| -> AppResult<ImportReport> {
            match target {
                PushTarget::Customers => customers::import(conn, principal, &keys, format, &body, None),
                _ => documents::import(conn, principal, format, &body),
            }
        },
    )
    .await?;
    Ok(render_stored(stored))
}

/// A bank statement file pushed by a bank connector's system, signed with the connector's push
/// secret. Same body, parameters and answer as `POST /bank-statements`.
#[utoipa::path(
    operation_id = "pushBankStatement",
    tag = "connectors",
    params(("tenant_id" = Uuid, Path), ("connector_id" = Uuid, Path), ImportParams,
        ("webhook-id" = String, Header), ("webhook-timestamp" = String, Header), ("webhook-signature" = String, Header)),
    request_body(content = inline(StatementFile), content_type = "application/octet-stream", description = "camt.053/054 XML, MT940, CSV, BAI2, or a CSV export saved as an .xlsx workbook"),
    responses((status = 201, body = ImportedStatement), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
)]
#[post("/inbound/{tenant_id}/connectors/{connector_id}/bank-statements")]
pub async fn push_bank_statement(
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    params: web::Query<ImportParams>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (tenant_id, connector_id) = path.into_inner();
    let headers = signed_headers(&req);
    let (upload, body, sha256) = spool_statement(&state, &req, params.into_inner(), payload).await?;
    let push = SignedPush {
        tenant_id,
        connector_id,
        target: PushTarget::BankStatements,
        headers,
        request_hash: request_fingerprint(&req, &sha256),
    };
    let body = std::sync::Arc::new(body);
    let signed = body.clone();
    let stored = connector_push::execute_signed(
        &state.pool,
        state.keyring.clone(),
        push,
        StatusCode::CREATED.as_u16(),
        move |verifier| {
            // A large file is spooled to disk: feed the signature check in chunks.
            let mut reader = signed.open().map_err(AppError::internal)?;
            let mut chunk = vec![0u8; 256 * 1024];
            loop {
                let n = reader.read(&mut chunk).map_err(AppError::internal)?;
                if n == 0 {
                    return Ok(());
                }
                verifier.update(&chunk[..n]);
            }
        },
        move |conn, principal| {
            let input = body.statement_input().map_err(AppError::internal)?;
            bank::import_statement(conn, principal, upload, input)
        },
    )
    .await?;
    Ok(render_stored(stored))
}
