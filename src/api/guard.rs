//! The guard in front of the REST and GraphQL routes: it resolves the caller once (the
//! extractors reuse the result) and spends one request of that caller's rate budget. Callers
//! with valid credentials are counted per API key, user or portal token; everyone else
//! (no credentials, invalid or revoked ones) per client IP, so guessing keys is limited too.
//! Over budget: 429 `rate_limited` with `Retry-After`, before the handler (or the body) is read.

use crate::api::extract::ResolvedCaller;
use crate::error::{AppError, ErrorCode};
use crate::services::rate_limit::RateKey;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};

/// Health probes and the OpenAPI viewer's static files (a page load fetches several) are not
/// limited; everything else under the API is.
fn is_guarded(path: &str) -> bool {
    (path.starts_with("/api/v1/") && !path.starts_with("/api/v1/docs")) || path == "/graphql" || path == "/graphql/ws"
}

pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let Some(state) = state.filter(|_| is_guarded(req.path())) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let header = ResolvedCaller::authorization_header(req.request());
    let caller = match header {
        None => None,
        Some(header) => Some(ResolvedCaller::resolve(&state, Some(header)).await),
    };
    if let Some(limiter) = &state.rate_limiter {
        let ip = crate::api::client_ip::client_ip(req.request(), &state.settings.trusted_proxies);
        let key = rate_key(caller.as_ref(), ip);
        if let Err(wait) = limiter.check(&key) {
            let error = AppError::retry_later(ErrorCode::RateLimited, "too many requests: slow down", wait);
            // GraphQL clients read errors from `errors[].extensions.code`.
            let response = if req.path() == "/graphql" {
                crate::api::graphql::error_response(&error)
            } else {
                error.error_response()
            };
            return Ok(req.into_response(response));
        }
    }
    if let Some(caller) = caller {
        if let (true, Ok(p)) = (state.settings.trace_export, &caller.tenant) {
            crate::telemetry::annotate_tenant(p.tenant_id);
        }
        req.extensions_mut().insert(caller);
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}

fn rate_key(caller: Option<&ResolvedCaller>, ip: Option<std::net::IpAddr>) -> RateKey {
    use crate::domain::auth::Actor;
    match caller {
        Some(ResolvedCaller { tenant: Ok(p), .. }) => match p.actor {
            Actor::ApiKey { id } => RateKey::ApiKey(id),
            Actor::User { id } => RateKey::User(id),
            // Neither comes with a bearer credential (signed pushes are checked by their handler).
            Actor::System | Actor::Connector { .. } => RateKey::Client(ip),
        },
        Some(ResolvedCaller { portal: Some(Ok(p)), .. }) => RateKey::PortalToken(p.token_id),
        _ => RateKey::Client(ip),
    }
}
