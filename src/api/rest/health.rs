//! Probes for orchestrators and load balancers, at the root (`/healthz`, `/readyz`). They are not
//! part of the versioned API under `/api/v1`, so they are registered in `startup` rather than in
//! the `rest_api!` list and are not in the OpenAPI document; every `/api/v1` route is in both.

use crate::state::AppState;
use actix_web::{get, web, HttpResponse};

/// The process is up.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database answers.
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ping = crate::db::transaction(&state.pool, |conn| Ok(crate::db::ping(conn)?)).await;
    match ping {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Err(e) => HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(serde_json::json!({ "status": "unavailable", "error": e.body()["error"] })),
    }
}
