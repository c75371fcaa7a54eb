//! The outermost middleware: answers CORS preflights (`api::cors`) and puts the security headers
//! on every answer, errors and refusals included.
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`.
//! - `Cache-Control: no-store` on every answer to a request with credentials, and on the token
//!   endpoints (`/api/v1/auth/...`), so no shared or browser cache keeps tenant data or tokens.
//! - `Content-Security-Policy`: `default-src 'none'` for data (JSON, CSV, files); for the HTML
//!   pages (Swagger UI, GraphiQL) scripts only from this origin plus the pages' own inline
//!   bootstrap scripts by their SHA-256 (no `'unsafe-inline'` for scripts). Styles allow inline:
//!   both viewers add `<style>` elements at run time, which no hash can name.
//! - `Strict-Transport-Security` when `DUIZHANG_BEHIND_TLS` says TLS terminates in front.

use crate::config::Settings;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::Arc;

const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/// HTML pages larger than this are not ours: they get the data policy (nothing runs).
const MAX_PAGE_BYTES: usize = 512 * 1024;
const HSTS: &str = "max-age=31536000";

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let settings: Arc<Settings> = match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.settings.clone(),
        None => return next.call(req).await.map(ServiceResponse::map_into_boxed_body),
    };
    if super::cors::is_preflight(req.request()) {
        let mut response = super::cors::preflight(req.request(), &settings);
        apply(response.headers_mut(), false, &settings);
        return Ok(req.into_response(response));
    }
    let origin = super::cors::allowed_origin(req.request(), &settings);
    let sensitive = req.headers().contains_key(header::AUTHORIZATION) || req.path().starts_with("/api/v1/auth/");
    let response = next.call(req).await?.map_into_boxed_body();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let mut response = if is_html { with_page_policy(response).await? } else { response };
    let headers = response.headers_mut();
    super::cors::decorate(headers, origin, &settings);
    apply(headers, sensitive, &settings);
    Ok(response)
}

/// The headers every answer carries (the CSP unless a page policy is set already).
fn apply(headers: &mut HeaderMap, sensitive: bool, settings: &Settings) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(API_CSP));
    }
    if sensitive {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if settings.behind_tls {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
}

/// Reads a (small) HTML page and sets the CSP that lets exactly it run.
async fn with_page_policy(response: ServiceResponse<BoxBody>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (req, res) = response.into_parts();
    let (mut head, body) = res.into_parts();
    let body = match actix_web::body::to_bytes_limited(body, MAX_PAGE_BYTES).await {
        Ok(Ok(bytes)) => bytes,
        // Too large or unreadable: not one of our pages; an empty body with the data policy.
        _ => web::Bytes::new(),
    };
    let policy = page_policy(&String::from_utf8_lossy(&body));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        head.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(ServiceResponse::new(req, head.set_body(body).map_into_boxed_body()))
}

/// The CSP of one of the viewer pages: its scripts from this origin, its inline scripts by hash.
pub fn page_policy(html: &str) -> String {
    let hashes: Vec<String> = inline_scripts(html)
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(" 'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
        })
        .collect();
    format!(
        "default-src 'none'; script-src 'self'{}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'self'",
        hashes.concat()
    )
}

/// The contents of the page's `<script>` elements without a `src`, exactly as a browser hashes them.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let lower = html.to_ascii_lowercase();
    let mut scripts = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<script").map(|i| i + at) {
        let Some(tag_end) = lower[start..].find('>').map(|i| i + start) else { break };
        let Some(close) = lower[tag_end..].find("</script").map(|i| i + tag_end) else { break };
        if !lower[start..tag_end].contains(" src=") {
            scripts.push(&html[tag_end + 1..close]);
        }
        at = close;
    }
    scripts.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_are_not() {
        let html = "<html><script src=\"/a.js\"></script><SCRIPT type=\"module\">let a = 1;</SCRIPT>\
                    <script>\n  go();\n</script></html>";
        let found: Vec<&str> = inline_scripts(html).collect();
        assert_eq!(found, ["let a = 1;", "\n  go();\n"]);
        let policy = page_policy(html);
        // sha256("let a = 1;"), base64, as browsers compute it.
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"let a = 1;"));
        assert!(policy.contains(&format!("'sha256-{digest}'")), "{policy}");
        let scripts = policy.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
        assert!(!scripts.contains("unsafe-inline"), "scripts never unsafe-inline: {policy}");
        assert!(policy.starts_with("default-src 'none'; script-src 'self' 'sha256-"), "{policy}");
    }
}
