//! Import requests (files and JSON arrays of rows): the format their `Content-Type` names, and
//! an in-memory import run as one idempotent write.

use super::idempotency::execute_write;
use super::json_body::read_body;
use crate::domain::auth::Principal;
use crate::error::AppResult;
use crate::services::import::{ImportFormat, ImportReport};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::PgConnection;

/// The import format the request's `Content-Type` names (415 for any other).
pub fn import_format(req: &HttpRequest) -> AppResult<ImportFormat> {
    ImportFormat::from_content_type(req.headers().get("content-type").and_then(|v| v.to_str().ok()))
}

/// Reads the whole body (up to the import limit) and runs `import(conn, format, body, mapping)`
/// as one transaction honouring `Idempotency-Key`; answers its report with 200.
pub async fn execute_import<F>(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    payload: web::Payload,
    mapping: Option<String>,
    import: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce(&mut PgConnection, ImportFormat, &[u8], Option<&str>) -> AppResult<ImportReport> + Send + 'static,
{
    let format = import_format(req)?;
    let body = read_body(req, payload, state.settings.max_import_bytes).await?;
    let data = body.clone();
    execute_write(state, principal, req, &body, StatusCode::OK, move |conn| {
        import(conn, format, &data, mapping.as_deref())
    })
    .await
}
