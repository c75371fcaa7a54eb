use super::ErrorBody;
use crate::api::extract::{
    execute_write, execute_write_digest, import_format, ok_json, read_body, run_read, spool_body, Auth, BodyStore,
    ImportMeter, JsonBody, SpooledBody,
};
use crate::api::read_routing::Reads;
use crate::error::{AppError, AppResult};
use crate::services::document_lines::{self, DocumentSettingsView};
use crate::services::documents::{self, DocumentInput, DocumentPatch, DocumentQuery, DocumentView};
use crate::services::import::{ImportFormat, ImportReport};
use crate::services::pagination::Page;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Create a ledger document (invoice, credit note, payment, adjustment). Invoices and credit
/// notes may carry lines: their gross total must equal the amount, or the document is refused
/// (422 naming expected, actual and the difference); tax anomalies are flagged in `tax_flags`.
#[utoipa::path(
    operation_id = "createDocument",
    tag = "documents",
    request_body = DocumentInput,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = DocumentView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/documents")]
pub async fn create(Auth(p): Auth, body: JsonBody<DocumentInput>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::CREATED, documents::create).await
}

/// The tenant's document settings: how the tax of document lines is rounded.
#[utoipa::path(operation_id = "getDocumentSettings", tag = "documents", responses((status = 200, body = DocumentSettingsView)), security(("bearer" = [])))]
#[get("/document-settings")]
pub async fn get_settings(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run_read(&state.pool, move |conn| document_lines::get_settings(conn, &p)).await?))
}

/// The tenant's document settings (admin). `tax_rounding`: `per_line` rounds each line's tax,
/// `per_document` the tax of each rate on the summed nets, once. Applies to lines written from
/// now on.
#[utoipa::path(operation_id = "replaceDocumentSettings", tag = "documents", request_body = DocumentSettingsView, responses((status = 200, body = DocumentSettingsView), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[put("/document-settings")]
pub async fn put_settings(Auth(p): Auth, body: JsonBody<DocumentSettingsView>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::OK, document_lines::put_settings).await
}

/// Query documents.
#[utoipa::path(operation_id = "listDocuments", tag = "documents", params(DocumentQuery), responses((status = 200, body = Page<DocumentView>)), security(("bearer" = [])))]
#[get("/documents")]
pub async fn list(
    state: web::Data<AppState>,
    reads: Reads,
    Auth(p): Auth,
    query: web::Query<DocumentQuery>,
) -> AppResult<HttpResponse> {
    let max = state.settings.list_max_limit;
    let page = reads.run_statement(move |conn| documents::list(conn, &p, query.into_inner(), max)).await?;
    Ok(ok_json(&page))
}

/// Read one document.
#[utoipa::path(
    operation_id = "getDocument",
    tag = "documents",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = DocumentView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/documents/{id}")]
pub async fn get(reads: Reads, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let view = reads.run_statement(move |conn| documents::get(conn, &p, id)).await?;
    Ok(ok_json(&view))
}

/// Change dates, references, or (while nothing is applied) amount and currency.
#[utoipa::path(
    operation_id = "updateDocument",
    tag = "documents",
    params(("id" = Uuid, Path)),
    request_body = DocumentPatch,
    responses((status = 200, body = DocumentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/documents/{id}")]
pub async fn update(Auth(p): Auth, id: web::Path<Uuid>, body: JsonBody<DocumentPatch>) -> AppResult<HttpResponse> {
    let id = *id;
    body.execute(&p, StatusCode::OK, move |conn, principal, patch| documents::update(conn, principal, id, patch)).await
}

/// Cancel (void) a document that nothing has been applied to. Documents are never erased.
#[utoipa::path(
    operation_id = "cancelDocument",
    tag = "documents",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = DocumentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/documents/{id}")]
pub async fn cancel(
    state: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let id = *id;
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| documents::cancel(conn, &principal, id)).await
}

/// Bulk upsert by (doc_type, doc_no), from CSV (`ledger.csv` columns:
/// doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference[,source_system])
/// or a JSON array of documents.
#[utoipa::path(
    operation_id = "importDocuments",
    tag = "documents",
    request_body(description = "A JSON array of documents, or CSV with a header row (doc_no, doc_type, customer_code, issue_date, due_date, currency, amount, reference, source_system); or the same as an .xlsx workbook (Content-Type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), whose sheet with a recognised header is read (header row anywhere in the first 30 rows, Chinese labels and common synonyms accepted; see docs/spreadsheets.md). With `mapping`, CSV or .xlsx in the tenant's own layout", content((Vec<crate::services::documents::DocumentInput> = "application/json"), (String = "text/csv"))),
    params(crate::services::import::ImportQuery, ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = ImportReport), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/documents/import")]
pub async fn import(
    state: web::Data<AppState>,
    Auth(p): Auth,
    req: HttpRequest,
    q: web::Query<crate::services::import::ImportQuery>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let format = import_format(&req)?;
    // CSV (and .xlsx) is spooled and read as a stream; a JSON array is parsed whole, so it is
    // received as JSON bodies are (with their nesting limit).
    let limit = state.settings.max_import_bytes;
    let (body, digest) = match format {
        ImportFormat::Csv => {
            let body = spool_body(&req, payload, limit).await?;
            let digest = body.sha256;
            (body, digest)
        }
        ImportFormat::Json => {
            let bytes = read_body(&req, payload, limit).await?;
            let digest: [u8; 32] = Sha256::digest(&bytes).into();
            let head = bytes[..bytes.len().min(8192)].to_vec();
            let size = bytes.len() as u64;
            (SpooledBody { store: BodyStore::Memory(bytes), sha256: digest, bytes: size, head }, digest)
        }
    };
    let mapping = q.into_inner().mapping;
    let principal = p.clone();
    let meter = ImportMeter::new("documents");
    let answer = execute_write_digest(
        &state,
        &p,
        &req,
        &digest,
        StatusCode::OK,
        meter.wrap(move |conn| {
            let mut reader = body.open().map_err(AppError::internal)?;
            documents::import_from(conn, &principal, format, &mut reader, mapping.as_deref())
        }),
    )
    .await;
    meter.record(&state.metrics, &answer);
    answer
}
