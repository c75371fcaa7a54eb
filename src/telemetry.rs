//! Optional export of request spans to an OpenTelemetry collector (OTLP over HTTP, protobuf).
//!
//! Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then
//! no exporter, no layer and no span attributes exist, and requests cost nothing more. When set,
//! each request's span (`request`, named `METHOD /route/{pattern}` once routed, with its request
//! id, method, route pattern, status and tenant) goes to the SDK's batch processor, which sends
//! batches from a thread of its own with a blocking reqwest client (the tree's one HTTP client and
//! TLS stack); [`Telemetry::shutdown`] flushes what is left when the process ends. The standard
//! variables apply: `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` is appended),
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is), `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_SERVICE_NAME` (default `duizhang`), `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

/// Whether the environment asks for trace export.
pub fn export_configured() -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

/// The exporting pipeline; dropped without [`Telemetry::shutdown`], unsent spans are lost.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Builds the exporter from the environment; `None` when export is not configured.
    pub fn from_env() -> Result<Option<(Telemetry, SdkTracer)>, String> {
        if !export_configured() {
            return Ok(None);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
            .map_err(|e| format!("OpenTelemetry exporter: {e}"))?;
        let resource = match std::env::var("OTEL_SERVICE_NAME") {
            Ok(name) if !name.trim().is_empty() => Resource::builder().build(),
            _ => Resource::builder().with_service_name("duizhang").build(),
        };
        let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
        let tracer = provider.tracer("duizhang");
        Ok(Some((Telemetry { provider }, tracer)))
    }

    /// Sends the spans still queued and stops the exporter (call it outside any async runtime:
    /// the blocking client must not be dropped inside one).
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("OpenTelemetry: spans not all sent at shutdown: {e}");
        }
    }
}

/// Names the request span `METHOD /route/{pattern}` and gives it the HTTP attributes of the
/// OpenTelemetry conventions (only called when export is configured).
pub fn annotate_request(span: &tracing::Span, method: &str, route: &str, status: u16) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    // The span has started (it was entered before routing): rename it in place.
    span.context().span().update_name(format!("{method} {route}"));
    span.set_attribute("http.request.method", method.to_string());
    span.set_attribute("http.route", route.to_string());
    span.set_attribute("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.set_status(opentelemetry::trace::Status::error(format!("HTTP {status}")));
    }
}

/// The tenant a request acts for, on its span (only called when export is configured).
pub fn annotate_tenant(tenant_id: uuid::Uuid) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    tracing::Span::current().set_attribute("tenant.id", tenant_id.to_string());
}
