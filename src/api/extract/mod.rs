//! Request plumbing shared by the REST handlers, one file per concern: the authenticated principal
//! ([`auth`]), JSON bodies ([`json_body`]), idempotent writes ([`idempotency`]) and spooled uploads
//! ([`spool`]).

mod auth;
mod idempotency;
mod import_body;
mod json_body;
mod spool;

pub use auth::{bearer_token, Auth, PortalAuth, ResolvedCaller};
pub use idempotency::{execute_write, execute_write_digest, render_stored, request_fingerprint};
pub use import_body::{execute_import, import_format, ImportMeter};
pub use json_body::{parse_json, parse_json_or_default, read_body, JsonBody, OrDefault, Required, WhenEmpty};
pub use spool::{spool_body, BodyStore, SpooledBody, SPOOL_THRESHOLD};

use crate::db::{self, DbPool};
use crate::error::{AppError, AppResult, ErrorCode};
use actix_web::{HttpRequest, HttpResponse};
use diesel::PgConnection;
use serde::Serialize;

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

pub fn ok_json<T: Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok().json(value)
}

/// The 413 answer for a body over `limit` bytes.
fn too_large(limit: usize) -> AppError {
    AppError::new(ErrorCode::PayloadTooLarge, format!("request body exceeds the limit of {limit} bytes"))
        .with_details(serde_json::json!({ "limit_bytes": limit }))
}

/// The body length the client announced, so an oversized body is refused before it is read.
fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}
