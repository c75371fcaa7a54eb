use super::ErrorBody;
use crate::api::extract::{execute_write_digest, ok_json, run, spool_body, Auth, ImportMeter, JsonBody, SpooledBody};
use crate::api::read_routing::Reads;
use crate::error::{AppError, AppResult};
use crate::services::bank::{
    self, BankAccountInput, BankAccountPatch, BankAccountView, BankFormats, BankImportSettings, BankLineQuery,
    BankLineView, ImportedStatement, StatementUpload,
};
use crate::services::pagination::Page;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

/// Register one of our bank accounts (admin). Statements are only imported for registered accounts.
#[utoipa::path(
    operation_id = "createBankAccount",
    tag = "bank",
    request_body = BankAccountInput,
    responses((status = 201, body = BankAccountView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/bank-accounts")]
pub async fn create_account(Auth(p): Auth, body: JsonBody<BankAccountInput>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::CREATED, bank::create_account).await
}

/// List our bank accounts.
#[utoipa::path(operation_id = "listBankAccounts", tag = "bank", responses((status = 200, body = Vec<BankAccountView>)), security(("bearer" = [])))]
#[get("/bank-accounts")]
pub async fn list_accounts(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run(&state.pool, move |conn| bank::list_accounts(conn, &p)).await?))
}

/// Change a bank account's names or its saved CSV column mapping (admin).
#[utoipa::path(
    operation_id = "updateBankAccount",
    tag = "bank",
    params(("id" = Uuid, Path)),
    request_body = BankAccountPatch,
    responses((status = 200, body = BankAccountView), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/bank-accounts/{id}")]
pub async fn update_account(
    Auth(p): Auth,
    id: web::Path<Uuid>,
    body: JsonBody<BankAccountPatch>,
) -> AppResult<HttpResponse> {
    let id = *id;
    body.execute(&p, StatusCode::OK, move |conn, principal, patch| bank::update_account(conn, principal, id, patch))
        .await
}

/// A statement file sent as the raw request body: bytes in any encoding, so generated clients
/// take a file, not a text string.
pub struct StatementFile;

impl utoipa::PartialSchema for StatementFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for StatementFile {}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `camt053`, `camt054`, `mt940`, `csv` or `bai2`; detected from the content when absent.
    pub format: Option<String>,
    /// The account (id or IBAN) for files that do not name one; a CSV then uses its saved mapping.
    pub bank_account: Option<String>,
    /// A bank's CSV export layout by name (`icbc_debit`) or family (`icbc`); see
    /// `GET /bank-formats`. Without it a CSV is recognised by its header row.
    pub preset: Option<String>,
    /// Register the accounts the file names that are not registered yet (admin keys); absent:
    /// the tenant's setting (`PUT /bank-import-settings`).
    pub register_accounts: Option<bool>,
}

/// Import a bank statement file, sent as the raw request body. A line already imported (same
/// account, reference and content: date, amount, counterparty, texts) is skipped and listed in
/// `duplicates`; a repeated reference with other content is a new line. A file that does not
/// parse leaves nothing behind and gets 422 with the line or byte position.
#[utoipa::path(
    operation_id = "importBankStatement",
    tag = "bank",
    params(ImportParams, ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = inline(StatementFile), content_type = "application/octet-stream", description = "camt.053/054 XML, MT940, CSV, BAI2, or a CSV export saved as an .xlsx workbook"),
    responses((status = 201, body = ImportedStatement), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/bank-statements")]
pub async fn import(
    state: web::Data<AppState>,
    Auth(p): Auth,
    params: web::Query<ImportParams>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    crate::services::require(&p, crate::domain::auth::Permission::WriteBank)?;
    let (upload, body, sha256) = spool_statement(&state, &req, params.into_inner(), payload).await?;
    let principal = p.clone();
    let meter = ImportMeter::new("bank_lines");
    let answer = execute_write_digest(
        &state,
        &p,
        &req,
        &sha256,
        StatusCode::CREATED,
        meter.wrap(move |conn| {
            bank::import_statement(conn, &principal, upload, body.statement_input().map_err(AppError::internal)?)
        }),
    )
    .await;
    meter.record(&state.metrics, &answer);
    answer
}

/// Receives a statement file (in memory when small, spooled to disk when large) and describes it
/// for `bank::import_statement`: the upload, the body, and its SHA-256 (for idempotency
/// fingerprints).
pub async fn spool_statement(
    state: &AppState,
    req: &HttpRequest,
    params: ImportParams,
    payload: web::Payload,
) -> AppResult<(StatementUpload, SpooledBody, [u8; 32])> {
    let format = params.format.as_deref().map(bank::parse_format).transpose()?;
    let body = spool_body(req, payload, state.settings.max_import_bytes).await?;
    if body.bytes == 0 {
        return Err(AppError::invalid("body", "the statement file is empty"));
    }
    let upload = StatementUpload {
        format,
        head: body.head.clone(),
        sha256: hex::encode(body.sha256),
        bytes: body.bytes,
        bank_account: params.bank_account,
        preset: params.preset,
        register_accounts: params.register_accounts,
    };
    let sha256 = body.sha256;
    Ok((upload, body, sha256))
}

/// One imported statement file: counts, statements found, warnings.
#[utoipa::path(
    operation_id = "getBankStatement",
    tag = "bank",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ImportedStatement), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/bank-statements/{id}")]
pub async fn get_statement(state: web::Data<AppState>, Auth(p): Auth, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = *id;
    Ok(ok_json(&run(&state.pool, move |conn| bank::get_statement(conn, &p, id)).await?))
}

/// Query bank lines.
#[utoipa::path(operation_id = "listBankLines", tag = "bank", params(BankLineQuery), responses((status = 200, body = Page<BankLineView>)), security(("bearer" = [])))]
#[get("/bank-lines")]
pub async fn list_lines(
    state: web::Data<AppState>,
    reads: Reads,
    Auth(p): Auth,
    query: web::Query<BankLineQuery>,
) -> AppResult<HttpResponse> {
    let max = state.settings.list_max_limit;
    let page = reads.run(move |conn| bank::list_lines(conn, &p, query.into_inner(), max)).await?;
    Ok(ok_json(&page))
}

/// The statement formats the import reads, with their dialects, and the CSV presets of banks'
/// exports (name, bank, the header names that identify the export, the mapping).
#[utoipa::path(operation_id = "listBankFormats", tag = "bank", responses((status = 200, body = BankFormats)), security(("bearer" = [])))]
#[get("/bank-formats")]
pub async fn formats(Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&bank::formats(&p)?))
}

/// Whether uploads register the accounts their files name.
#[utoipa::path(operation_id = "getBankImportSettings", tag = "bank", responses((status = 200, body = BankImportSettings)), security(("bearer" = [])))]
#[get("/bank-import-settings")]
pub async fn get_import_settings(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    Ok(ok_json(&run(&state.pool, move |conn| bank::get_import_settings(conn, &p)).await?))
}

/// Set whether uploads register the accounts their files name (admin).
#[utoipa::path(
    operation_id = "replaceBankImportSettings",
    tag = "bank",
    request_body = BankImportSettings,
    responses((status = 200, body = BankImportSettings), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/bank-import-settings")]
pub async fn put_import_settings(Auth(p): Auth, body: JsonBody<BankImportSettings>) -> AppResult<HttpResponse> {
    body.execute(&p, StatusCode::OK, bank::put_import_settings).await
}
