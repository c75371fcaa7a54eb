use super::ErrorBody;
use crate::api::extract::{execute_write, run_read, Auth};
use crate::error::AppResult;
use crate::services::data_safety::erasure::{self, ErasureView};
use crate::services::data_safety::tenant_export;
use crate::state::AppState;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use std::io::Read;

/// Erase a customer's personal data (admin): name, aliases, country, e-mail and bank accounts,
/// and the payer's name and account on bank lines applied to its items. The ledger stays; the
/// erasure is an audit entry with hashes of what was erased.
#[utoipa::path(
    operation_id = "eraseCustomer",
    tag = "customers",
    params(("code" = String, Path)),
    responses((status = 200, body = ErasureView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/customers/{code}/erasure")]
pub async fn erase_customer(
    state: web::Data<AppState>,
    Auth(p): Auth,
    code: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let principal = p.clone();
    let code = code.into_inner();
    execute_write(&state, &p, &req, &[], StatusCode::OK, move |conn| erasure::erase_customer(conn, &principal, &code))
        .await
}

/// Export every row of the caller's tenant (admin): a zip archive with one NDJSON file per table
/// (the audit trail included) and `manifest.json` (format and migrations version, time, tenant,
/// per file its rows and SHA-256, the audit chain head); the zip comment is the SHA-256 of the
/// bytes before it. Sealed values (secrets, customers' bank accounts and e-mail) are in clear:
/// the archive is sensitive. `duizhang tenant import FILE` reads it into another instance.
#[utoipa::path(
    operation_id = "exportTenant",
    tag = "admin",
    responses(
        (status = 200, description = "The tenant archive", content((String = "application/zip"))),
        (status = 403, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/export")]
pub async fn export_tenant(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    let keyring = state.keyring.clone();
    let (file, manifest) = run_read(&state.pool, move |conn| tenant_export::export_for(conn, &keyring, &p)).await?;
    let name = format!("tenant-{}-{}.zip", manifest.tenant_slug, manifest.created_at.format("%Y%m%dT%H%M%SZ"));
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name)],
        })
        .streaming(file_chunks(file)))
}

/// The spooled archive in chunks; the file is removed when the stream ends or is dropped.
fn file_chunks(
    file: tempfile::NamedTempFile,
) -> impl futures_util::Stream<Item = Result<web::Bytes, std::io::Error>> + 'static {
    futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; 64 * 1024];
        // Reads of a local file the export has just written: short, from the page cache.
        match file.as_file_mut().read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(web::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}
