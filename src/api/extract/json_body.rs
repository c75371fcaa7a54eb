//! JSON request bodies: read up to a limit (413 before the body is held whole), nesting checked on the raw
//! bytes, parsed strictly with the path of the offending field in the answer.

use super::{declared_length, too_large};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::services::import::describe_json_error;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

/// A JSON request body, read up to `DUIZHANG_MAX_JSON_BYTES` (the `max_json_bytes` setting), checked for
/// nesting depth and parsed strictly; it keeps the raw bytes and the request, so
/// [`JsonBody::execute`] can run the write idempotently without the handler touching either.
///
/// Put it last among a handler's arguments: extractors are polled in order, so authentication and path
/// errors answer before the body is read. `E` says what an empty body means: [`Required`] (refused like
/// any other bad JSON) or [`OrDefault`] (the type's defaults, for endpoints whose body is optional).
pub struct JsonBody<T, E = Required> {
    pub(super) value: T,
    pub(super) raw: web::Bytes,
    pub(super) req: HttpRequest,
    empty: PhantomData<E>,
}

/// An empty body is bad JSON (422).
pub enum Required {}
/// An empty (or all-whitespace) body means the type's defaults.
pub enum OrDefault {}

/// How a body is parsed, by what an empty one means.
pub trait WhenEmpty<T> {
    fn parse(req: &HttpRequest, body: &[u8]) -> AppResult<T>;
}

impl<T: DeserializeOwned> WhenEmpty<T> for Required {
    fn parse(req: &HttpRequest, body: &[u8]) -> AppResult<T> {
        parse_json(req, body)
    }
}

impl<T: DeserializeOwned + Default> WhenEmpty<T> for OrDefault {
    fn parse(req: &HttpRequest, body: &[u8]) -> AppResult<T> {
        parse_json_or_default(req, body)
    }
}

impl<T, E> JsonBody<T, E> {
    /// The parsed body, for checks before the write.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The parsed body, for handlers that do not write through [`JsonBody::execute`].
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: 'static, E: WhenEmpty<T> + 'static> FromRequest for JsonBody<T, E> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = AppResult<Self>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = web::Payload::from_request(&req, payload);
        Box::pin(async move {
            let payload =
                payload.await.map_err(|e| AppError::bad_request(format!("could not read the request body: {e}")))?;
            let limit = req
                .app_data::<web::Data<AppState>>()
                .map(|s| s.settings.max_json_bytes)
                .unwrap_or(crate::config::Settings::default().max_json_bytes);
            let raw = read_body(&req, payload, limit).await?;
            let value = E::parse(&req, &raw)?;
            Ok(JsonBody { value, raw, req, empty: PhantomData })
        })
    }
}

/// serde reads a struct from a JSON array too (its fields in order), which would make
/// `[null, null]` a valid PATCH. Bodies are objects unless the endpoint takes a list.
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

/// Reads the request body up to `limit` bytes; larger bodies get 413 before being read whole.
pub async fn read_body(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> AppResult<web::Bytes> {
    use futures_util::StreamExt;
    let declared = declared_length(req);
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(8192).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
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
