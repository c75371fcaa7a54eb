//! Import requests (files and JSON arrays of rows): the format their `Content-Type` names, and
//! an in-memory import run as one idempotent write.

use super::idempotency::execute_write;
use super::json_body::read_body;
use crate::domain::auth::Principal;
use crate::error::AppResult;
use crate::services::import::{ImportFormat, ImportReport};
use crate::services::metrics::{ImportCounted, ImportCounts, Metrics};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::PgConnection;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The import format the request's `Content-Type` names (415 for any other).
pub fn import_format(req: &HttpRequest) -> AppResult<ImportFormat> {
    ImportFormat::from_content_type(req.headers().get("content-type").and_then(|v| v.to_str().ok()))
}

/// Reads the whole body (up to the import limit) and runs `import(conn, format, body, mapping)`
/// as one transaction honouring `Idempotency-Key`; answers its report with 200. The rows are
/// counted in the metrics as `kind`.
pub async fn execute_import<F>(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    payload: web::Payload,
    (kind, mapping): (&'static str, Option<String>),
    import: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce(&mut PgConnection, ImportFormat, &[u8], Option<&str>) -> AppResult<ImportReport> + Send + 'static,
{
    let format = import_format(req)?;
    let body = read_body(req, payload, state.settings.max_import_bytes).await?;
    let data = body.clone();
    let meter = ImportMeter::new(kind);
    let answer = execute_write(
        state,
        principal,
        req,
        &body,
        StatusCode::OK,
        meter.wrap(move |conn| import(conn, format, &data, mapping.as_deref())),
    )
    .await;
    meter.record(&state.metrics, &answer);
    answer
}

/// Counts an import's rows and time in the metrics once its transaction has committed: an
/// import that rolled back, or an idempotent replay (which runs nothing), is not counted.
pub struct ImportMeter {
    kind: &'static str,
    done: Arc<Mutex<Option<(ImportCounts, f64)>>>,
}

impl ImportMeter {
    pub fn new(kind: &'static str) -> Self {
        ImportMeter { kind, done: Arc::default() }
    }

    /// `work`, noting what it imported and how long it took.
    pub fn wrap<T, F>(&self, work: F) -> impl FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static
    where
        T: ImportCounted,
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    {
        let done = self.done.clone();
        move |conn| {
            let started = Instant::now();
            let imported = work(conn)?;
            let counted = (imported.import_counts(), started.elapsed().as_secs_f64());
            *done.lock().unwrap_or_else(|e| e.into_inner()) = Some(counted);
            Ok(imported)
        }
    }

    /// Counts the import when the request succeeded.
    pub fn record<A>(self, metrics: &Metrics, answer: &AppResult<A>) {
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let (Ok(_), Some((counts, seconds))) = (answer, done) {
            metrics.observe_import(self.kind, counts, seconds);
        }
    }
}
