//! Cross-origin access for browser front ends, by allow-list (`DUIZHANG_CORS_ORIGINS`, empty by
//! default). Only a listed origin gets CORS headers, credentials included; any other origin
//! gets none (its browser then refuses the answer to the page), and its preflight is refused.
//! Calls without an `Origin` (servers, ERPs, banks) are not affected.

use crate::config::Settings;
use crate::error::AppError;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
const ALLOWED_HEADERS: &str = "authorization, content-type, accept, idempotency-key, duizhang-lsn";
/// Answer headers a front end needs to read: rate limits, replays, downloads, read routing.
const EXPOSED_HEADERS: &str =
    "retry-after, idempotent-replayed, content-disposition, location, duizhang-lsn, duizhang-read-source";
/// How long a browser may reuse a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

/// The request's `Origin` when it is on the allow-list.
pub fn allowed_origin(req: &HttpRequest, settings: &Settings) -> Option<HeaderValue> {
    let origin = req.headers().get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    settings.cors_allowed_origins.iter().any(|o| o == text).then(|| origin.clone())
}

/// `OPTIONS` with `Access-Control-Request-Method`: a browser asking before the real request.
pub fn is_preflight(req: &HttpRequest) -> bool {
    req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to a preflight: 204 with the permissions for a listed origin, else 403.
pub fn preflight(req: &HttpRequest, settings: &Settings) -> HttpResponse {
    let Some(origin) = allowed_origin(req, settings) else {
        let shown = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or("(none)");
        let mut response =
            AppError::forbidden(format!("origin {shown} may not call this API from a browser (DUIZHANG_CORS_ORIGINS)"))
                .error_response();
        vary_on_origin(response.headers_mut(), settings);
        return response;
    };
    let mut response = HttpResponse::NoContent().finish();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOWED_METHODS));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
    vary_on_origin(headers, settings);
    response
}

/// The CORS headers of an actual answer to a listed origin.
pub fn decorate(headers: &mut HeaderMap, origin: Option<HeaderValue>, settings: &Settings) {
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
    }
    vary_on_origin(headers, settings);
}

/// With an allow-list, answers differ by `Origin`: shared caches must keep them apart.
fn vary_on_origin(headers: &mut HeaderMap, settings: &Settings) {
    if !settings.cors_allowed_origins.is_empty() {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}
