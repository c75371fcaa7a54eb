//! The outermost middleware: gives every request an id, times it and counts it.
//!
//! - `X-Request-Id`: the caller's id when it sends a sane one (1 to 128 visible ASCII
//!   characters, so a proxy's id carries through), else a new UUID; it goes back in the answer's
//!   header and into the `request` log span, so a caller quoting it finds the log lines.
//! - One access log line per answer (target `duizhang::access`: method, route pattern, status,
//!   milliseconds), and the request counters and latency histograms of `GET /metrics`, labelled
//!   by the matched route *pattern*: a path full of ids or garbage adds no label values.
//! - With trace export on (`crate::telemetry`), the request span is exported, named after the
//!   method and route pattern, with its status and tenant.

use crate::services::metrics::Method;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MAX_REQUEST_ID: usize = 128;

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let _in_flight = metrics.as_ref().map(|m| m.in_flight());
    let method_name = req.method().as_str().to_string();
    let method = Method::from_name(&method_name);
    let traced = req.app_data::<web::Data<AppState>>().is_some_and(|s| s.settings.trace_export);
    // Exported spans are of kind server; the field only exists when export is on, so the log
    // lines stay as they are otherwise.
    let span = if traced {
        tracing::info_span!("request", request_id = %request_id, otel.kind = "server")
    } else {
        tracing::info_span!("request", request_id = %request_id)
    };
    let answer = next.call(req).instrument(span.clone()).await;
    let (route, status) = match &answer {
        Ok(response) => {
            (response.request().match_pattern().unwrap_or_else(|| "unmatched".to_string()), response.status().as_u16())
        }
        // The inner middlewares answer with responses; an error here is rendered by actix.
        Err(e) => ("unmatched".to_string(), e.as_response_error().status_code().as_u16()),
    };
    let seconds = started.elapsed().as_secs_f64();
    if let Some(metrics) = &metrics {
        metrics.observe_request(method, &route, status, seconds);
    }
    if traced {
        crate::telemetry::annotate_request(&span, &method_name, &route, status);
    }
    span.in_scope(|| {
        tracing::info!(
            target: "duizhang::access",
            method = ?method,
            route = %route,
            status,
            ms = (seconds * 1000.0).round() as u64,
            "answered"
        )
    });
    let mut response = answer?.map_into_boxed_body();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID)?.to_str().ok()?.trim();
    let sane = !value.is_empty() && value.len() <= MAX_REQUEST_ID && value.bytes().all(|b| b.is_ascii_graphic());
    sane.then(|| value.to_string())
}
