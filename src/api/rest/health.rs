//! Probes for orchestrators and load balancers, at the root (`/healthz`, `/readyz`). They are not
//! part of the versioned API under `/api/v1`, so they are registered in `startup` rather than in
//! the `rest_api!` list and are not in the OpenAPI document; every `/api/v1` route is in both.

use crate::state::AppState;
use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use subtle::ConstantTimeEq;

/// The process is up.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database answers, and the process is not shutting down.
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "draining" }));
    }
    let ping = crate::db::transaction(&state.pool, |conn| Ok(crate::db::ping(conn)?)).await;
    match ping {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Err(e) => HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(serde_json::json!({ "status": "unavailable", "error": e.body()["error"] })),
    }
}

/// Prometheus metrics (text format 0.0.4), for the scraper holding `DUIZHANG_METRICS_TOKEN`
/// (`Authorization: Bearer <token>`). Without that setting the endpoint does not exist (404):
/// queue sizes and route names are no business of the public.
#[get("/metrics")]
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(token) = state.settings.metrics_token.as_deref() else {
        return HttpResponse::NotFound().finish();
    };
    let offered = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(offered.as_bytes().ct_eq(token.as_bytes())) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
            .finish();
    }
    match state.metrics.render(&state.pool, state.replica.as_deref()).await {
        Ok(text) => HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text),
        Err(e) => HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(serde_json::json!({ "error": e.body()["error"] })),
    }
}
