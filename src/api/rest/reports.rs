//! Reports: AR aging, collection figures with DSO, customers ranked by overdue amount.

use super::ErrorBody;
use crate::api::extract::{ok_json, run, Auth};
use crate::error::{AppError, AppResult};
use crate::services::reports::{self, AgingQuery, AgingReport, CollectionQuery, CollectionReport, OverdueRanking};
use crate::state::AppState;
use actix_web::{get, web, HttpRequest, HttpResponse};

/// AR aging as of any date: buckets (default current, 1-30, 31-60, 61-90, 90+), by due or
/// issue date, per customer and currency, totals per currency and in the base currency.
/// `format=csv` (or `Accept: text/csv`) answers CSV.
#[utoipa::path(
    tag = "reports",
    params(AgingQuery),
    responses((status = 200, body = AgingReport, content_type = "application/json"), (status = 200, body = String, content_type = "text/csv"), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/reports/aging")]
pub async fn aging(
    state: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<AgingQuery>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let accept_csv = req.headers().get("accept").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/csv"));
    let format = q.format.clone().unwrap_or_else(|| if accept_csv { "csv".into() } else { "json".into() });
    if !matches!(format.as_str(), "json" | "csv") {
        return Err(AppError::invalid("format", "json or csv"));
    }
    let report = run(&state.pool, move |conn| reports::aging(conn, &p, &q)).await?;
    if format == "csv" {
        let bytes = reports::aging_csv(&report)?;
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("content-disposition", format!("attachment; filename=\"aging-{}.csv\"", report.as_of)))
            .body(bytes));
    }
    Ok(ok_json(&report))
}

/// Receivables, overdue, credit sales, collections and DSO over a window (default 90 days)
/// ending on `as_of`, per customer and currency and for the tenant.
#[utoipa::path(tag = "reports", params(CollectionQuery), responses((status = 200, body = CollectionReport)), security(("bearer" = [])))]
#[get("/reports/collections")]
pub async fn collections(
    state: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<CollectionQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| reports::collections(conn, &p, &q)).await?))
}

/// Customers ranked by overdue amount in the tenant's base currency.
#[utoipa::path(tag = "reports", params(CollectionQuery), responses((status = 200, body = OverdueRanking)), security(("bearer" = [])))]
#[get("/reports/overdue-ranking")]
pub async fn overdue_ranking(
    state: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<CollectionQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    Ok(ok_json(&run(&state.pool, move |conn| reports::overdue_ranking(conn, &p, &q)).await?))
}
