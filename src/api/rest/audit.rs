use super::ErrorBody;
use crate::api::extract::{ok_json, run, Auth};
use crate::db::audit::AuditFilter;
use crate::error::{AppError, AppResult};
use crate::services::audit::{self, AuditPage, ChainVerification};
use crate::services::pagination::effective_limit;
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `customer`, `document`, `api_key`.
    pub entity_type: Option<String>,
    /// Customer code, document id, ... A document's entries include the `document_import` entry
    /// that records its creation by a ledger import (one entry names up to 500 documents).
    pub entity_id: Option<String>,
    /// e.g. `document.updated`.
    pub action: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Read the audit trail (admin), oldest first.
#[utoipa::path(operation_id = "listAuditEntries", tag = "audit", params(AuditQuery), responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
#[get("/audit")]
pub async fn list(state: web::Data<AppState>, Auth(p): Auth, query: web::Query<AuditQuery>) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let filter = AuditFilter {
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        action: q.action,
        after_seq: q
            .cursor
            .filter(|c| !c.is_empty())
            .map(|c| c.parse::<i64>().map_err(|_| AppError::invalid("cursor", "not a cursor returned by this API")))
            .transpose()?,
        limit: effective_limit(q.limit, state.settings.list_max_limit)?,
    };
    let page = run(&state.pool, move |conn| audit::list(conn, &p, filter)).await?;
    Ok(ok_json(&page))
}

/// Recompute the tenant's audit hash chain and report whether it is intact (admin).
#[utoipa::path(operation_id = "verifyAuditChain", tag = "audit", responses((status = 200, body = ChainVerification), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
#[get("/audit/verify")]
pub async fn verify(state: web::Data<AppState>, Auth(p): Auth) -> AppResult<HttpResponse> {
    let result = run(&state.pool, move |conn| audit::verify(conn, &p)).await?;
    Ok(ok_json(&result))
}
