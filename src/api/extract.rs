//! Request plumbing shared by the REST handlers: the authenticated principal, strict JSON
//! parsing with field paths, and the idempotent execution of writes.

use crate::db::{self, DbPool};
use crate::domain::auth::{PortalPrincipal, Principal};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::services::idempotency::{self, StoredResponse};
use crate::services::import::describe_json_error;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use diesel::PgConnection;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;

/// Who is calling, resolved once per request (by the guard middleware, which stores it in the
/// request's extensions for the extractors below): the tenant principal, and, when the
/// credential is a customer portal token, the portal principal.
#[derive(Clone)]
pub struct ResolvedCaller {
    pub tenant: AppResult<Principal>,
    /// `Some` only for portal tokens (which the tenant API refuses as `forbidden`).
    pub portal: Option<AppResult<PortalPrincipal>>,
}

type HeaderValue = Option<Result<String, actix_web::http::header::ToStrError>>;

impl ResolvedCaller {
    pub fn authorization_header(req: &HttpRequest) -> HeaderValue {
        req.headers().get(actix_web::http::header::AUTHORIZATION).map(|h| h.to_str().map(str::to_owned))
    }

    pub async fn resolve(state: &AppState, header: HeaderValue) -> ResolvedCaller {
        let token = match bearer_token(header) {
            Ok(token) => token,
            Err(e) => return ResolvedCaller { tenant: Err(e), portal: None },
        };
        let tenant = crate::services::auth::authenticate(state, &token).await;
        let portal = match &tenant {
            Err(e) if e.code == ErrorCode::Forbidden => {
                Some(crate::services::portal::authenticate(state, &token).await)
            }
            _ => None,
        };
        ResolvedCaller { tenant, portal }
    }

    /// The stored resolution, else resolves now (a route outside the guard middleware).
    async fn of_request(state: &AppState, stored: Option<ResolvedCaller>, header: HeaderValue) -> ResolvedCaller {
        match stored {
            Some(caller) => caller,
            None => Self::resolve(state, header).await,
        }
    }

    pub fn portal_principal(&self) -> AppResult<PortalPrincipal> {
        match (&self.portal, &self.tenant) {
            (Some(portal), _) => portal.clone(),
            (None, Err(e)) if e.code == ErrorCode::ServiceUnavailable => Err(e.clone()),
            (None, Err(e)) if e.code == ErrorCode::Unauthenticated => Err(e.clone()),
            (None, _) => Err(AppError::unauthenticated("a customer portal token is required here")),
        }
    }
}

/// The caller, resolved from `Authorization: Bearer <API key or JWT>`.
pub struct Auth(pub Principal);

impl FromRequest for Auth {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Auth, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let stored = req.extensions().get::<ResolvedCaller>().cloned();
        let header = ResolvedCaller::authorization_header(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("app state missing"))?;
            ResolvedCaller::of_request(&state, stored, header).await.tenant.map(Auth)
        })
    }
}

/// A customer's portal, resolved from `Authorization: Bearer <portal token>`. Only the
/// `/portal/...` routes take it; every other route refuses portal tokens.
pub struct PortalAuth(pub PortalPrincipal);

impl FromRequest for PortalAuth {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<PortalAuth, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let stored = req.extensions().get::<ResolvedCaller>().cloned();
        let header = ResolvedCaller::authorization_header(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("app state missing"))?;
            ResolvedCaller::of_request(&state, stored, header).await.portal_principal().map(PortalAuth)
        })
    }
}

pub fn bearer_token(header: Option<Result<String, actix_web::http::header::ToStrError>>) -> AppResult<String> {
    let value = header
        .ok_or_else(|| AppError::unauthenticated("missing Authorization header (Bearer API key or token)"))?
        .map_err(|_| AppError::unauthenticated("malformed Authorization header"))?;
    let (scheme, token) =
        value.split_once(' ').ok_or_else(|| AppError::unauthenticated("expected 'Bearer <token>'"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::unauthenticated("expected 'Bearer <token>'"));
    }
    Ok(token.trim().to_string())
}

/// serde reads a struct from a JSON array too (its fields in order), so `[null, null]` was a valid
/// PATCH (found by schemathesis). Bodies are objects unless the endpoint takes a list.
fn refuse_array_for_object<T>(body: &[u8]) -> AppResult<()> {
    let starts_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if starts_array && !std::any::type_name::<T>().starts_with("alloc::vec::Vec<") {
        return Err(AppError::invalid("body", "expected a JSON object"));
    }
    Ok(())
}

/// Parses a JSON body strictly: the answer names the path of the offending field.
pub fn parse_json<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> AppResult<T> {
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.is_empty() && !content_type.to_ascii_lowercase().starts_with("application/json") {
        return Err(AppError::new(ErrorCode::UnsupportedMediaType, "send JSON with Content-Type: application/json"));
    }
    refuse_array_for_object::<T>(body)?;
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_string() } else { path };
        let reason = e.inner().to_string();
        AppError::new(ErrorCode::ValidationFailed, describe_json_error(&e))
            .with_details(serde_json::json!({ "field": field, "reason": reason }))
    })?;
    de.end().map_err(|e| AppError::invalid("body", e.to_string()))?;
    Ok(value)
}

/// Like `parse_json`, for endpoints whose body is optional: an empty body means the defaults.
pub fn parse_json_or_default<T: DeserializeOwned + Default>(req: &HttpRequest, body: &[u8]) -> AppResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse_json(req, body)
    }
}

/// Runs a write as one transaction, honouring `Idempotency-Key`, and renders its answer.
pub async fn execute_write<T, F>(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    body: &[u8],
    success: StatusCode,
    work: F,
) -> AppResult<HttpResponse>
where
    T: Serialize,
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
{
    let body_digest = Sha256::digest(body);
    execute_write_digest(state, principal, req, &body_digest, success, work).await
}

/// `execute_write` for bodies that were streamed elsewhere: the caller passes their SHA-256.
pub async fn execute_write_digest<T, F>(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    body_digest: &[u8],
    success: StatusCode,
    work: F,
) -> AppResult<HttpResponse>
where
    T: Serialize,
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
{
    let key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => {
            let key =
                v.to_str().map_err(|_| AppError::invalid("Idempotency-Key", "must be visible ASCII"))?.to_string();
            idempotency::validate_key(&key)?;
            Some(key)
        }
    };
    let request_hash = request_fingerprint(req, body_digest);
    let tenant_id = principal.tenant_id;
    let stored = idempotency::execute_json(&state.pool, tenant_id, key, request_hash, success.as_u16(), work).await?;
    Ok(render_stored(stored))
}

/// The HTTP answer of a stored (possibly replayed) response.
pub fn render_stored(stored: StoredResponse) -> HttpResponse {
    let mut response = HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
    if stored.replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.content_type(stored.content_type).body(stored.body)
}

/// Reads run in a transaction too, so multi-query answers are consistent.
pub async fn run<T, F>(pool: &DbPool, work: F) -> AppResult<T>
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    db::transaction(pool, work).await
}

/// A read answered by a single SELECT, run without BEGIN/COMMIT (`db::read`): one round trip
/// instead of three. Use `run` for anything that writes or needs several queries to agree.
pub async fn run_read<T, F>(pool: &DbPool, work: F) -> AppResult<T>
where
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    db::read(pool, work).await
}

/// What makes two requests "the same" for idempotency: method, path, query and body digest.
pub fn request_fingerprint(req: &HttpRequest, body_digest: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update(b"\n");
    h.update(req.uri().path().as_bytes());
    h.update(b"\n");
    h.update(req.uri().query().unwrap_or("").as_bytes());
    h.update(b"\n");
    h.update(body_digest);
    hex::encode(h.finalize())
}

pub fn ok_json<T: Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok().json(value)
}

/// Reads the request body up to `limit` bytes; larger bodies get 413 before being read whole.
pub async fn read_body(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> AppResult<web::Bytes> {
    use futures_util::StreamExt;
    let too_large = || {
        AppError::new(ErrorCode::PayloadTooLarge, format!("request body exceeds the limit of {limit} bytes"))
            .with_details(serde_json::json!({ "limit_bytes": limit }))
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(8192).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    check_json_nesting(req, &body)?;
    Ok(body.freeze())
}

/// A JSON body (declared so, or undeclared) must not nest deeper than `DUIZHANG_MAX_JSON_DEPTH`:
/// checked here, on the raw bytes, so no recursive parser ever sees a deeper one.
fn check_json_nesting(req: &HttpRequest, body: &[u8]) -> AppResult<()> {
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !(essence.is_empty() || essence == "application/json" || essence.ends_with("+json")) {
        return Ok(());
    }
    let max = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.max_json_depth)
        .unwrap_or(crate::config::Settings::default().max_json_depth);
    crate::domain::nesting::check_json(body, max).map_err(|e| AppError::nesting_too_deep("JSON body", e))
}

/// Bodies up to this size stay in memory; larger ones are spooled to a temporary file as they
/// arrive. (Spooling used to buffer this much before its first write anyway, so memory per
/// request is unchanged; a small file is no longer a temp file, two hops through the blocking
/// pool and a re-open.)
pub const SPOOL_THRESHOLD: usize = 1 << 20;

/// Where a received body is: in memory when small, in a temporary file (deleted when dropped)
/// when large.
pub enum BodyStore {
    Memory(web::Bytes),
    File(tempfile::NamedTempFile),
}

/// A request body received without ever holding a large upload in memory whole.
pub struct SpooledBody {
    pub store: BodyStore,
    pub sha256: [u8; 32],
    pub bytes: u64,
    /// The first 8 KiB, for sniffing the format.
    pub head: Vec<u8>,
}

impl SpooledBody {
    /// The whole body as a statement file: the bytes in memory, or the spooled file (which the
    /// parser may map into memory).
    pub fn statement_input(&self) -> std::io::Result<crate::bank_formats::Input<'_>> {
        Ok(match &self.store {
            BodyStore::Memory(bytes) => crate::bank_formats::Input::Bytes(bytes),
            BodyStore::File(file) => crate::bank_formats::Input::File(file.reopen()?),
        })
    }

    /// A fresh reader over the whole body (call it again to read it again).
    pub fn open(&self) -> std::io::Result<Box<dyn std::io::BufRead + Send>> {
        Ok(match &self.store {
            BodyStore::Memory(bytes) => Box::new(std::io::Cursor::new(bytes.clone())),
            BodyStore::File(file) => Box::new(std::io::BufReader::with_capacity(256 * 1024, file.reopen()?)),
        })
    }
}

pub async fn spool_body(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> AppResult<SpooledBody> {
    use futures_util::StreamExt;
    use std::io::Write;
    let too_large = || {
        AppError::new(ErrorCode::PayloadTooLarge, format!("request body exceeds the limit of {limit} bytes"))
            .with_details(serde_json::json!({ "limit_bytes": limit }))
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    // Chunks are gathered into ~1 MiB buffers; once a body outgrows the first one it goes to a
    // temporary file, written on the blocking pool.
    let mut writer: Option<std::io::BufWriter<tempfile::NamedTempFile>> = None;
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(8192);
    let mut bytes = 0u64;
    let mut buffer = web::BytesMut::with_capacity(declared.unwrap_or(8192).min(SPOOL_THRESHOLD));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request(format!("could not read the request body: {e}")))?;
        bytes += chunk.len() as u64;
        if bytes > limit as u64 {
            return Err(too_large());
        }
        if head.len() < 8192 {
            let take = (8192 - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        buffer.extend_from_slice(&chunk);
        if buffer.len() >= SPOOL_THRESHOLD {
            let full = std::mem::replace(&mut buffer, web::BytesMut::with_capacity(SPOOL_THRESHOLD));
            let current = writer.take();
            writer = Some(
                web::block(move || {
                    let mut w = match current {
                        Some(w) => w,
                        None => std::io::BufWriter::with_capacity(SPOOL_THRESHOLD, tempfile::NamedTempFile::new()?),
                    };
                    w.write_all(&full).map(|_| w)
                })
                .await
                .map_err(AppError::internal)?
                .map_err(AppError::internal)?,
            );
        }
    }
    let store = match writer {
        None => BodyStore::Memory(buffer.freeze()),
        Some(mut writer) => BodyStore::File(
            web::block(move || {
                writer.write_all(&buffer)?;
                writer.into_inner().map_err(|e| e.into_error())
            })
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)?,
        ),
    };
    Ok(SpooledBody { store, sha256: hasher.finalize().into(), bytes, head })
}
