//! Reports: AR aging, collection figures with DSO, customers ranked by overdue amount, and charts
//! of them.

use super::exports::{download, negotiate};
use super::ErrorBody;
use crate::api::extract::{ok_json, Auth};
use crate::api::read_routing::Reads;
use crate::domain::chart::Chart;
use crate::error::{AppError, AppResult};
use crate::reports::{ExportFormat, ReportHeader};
use crate::services::charts::{self, ChartQuery};
use crate::services::reports::{self, AgingQuery, AgingReport, CollectionQuery, CollectionReport, OverdueRanking};
use crate::services::tenants;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::Utc;

/// AR aging as of any date: buckets (default current, 1-30, 31-60, 61-90, 90+), by due or
/// issue date, per customer and currency, totals per currency and in the base currency.
/// `format=csv|xlsx` (or the matching `Accept`) answers a download.
#[utoipa::path(
    operation_id = "getAgingReport",
    tag = "reports",
    params(AgingQuery),
    responses(
        (status = 200, description = "The aging; CSV and XLSX as downloads", content(
            (AgingReport = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/reports/aging")]
pub async fn aging(
    reads: Reads,
    Auth(p): Auth,
    q: web::Query<AgingQuery>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    // No PDF of the aging: asked by name it is 422, by `Accept` alone JSON.
    let format = match negotiate(q.format.as_deref(), &req)? {
        ExportFormat::Pdf if q.format.is_some() => return Err(AppError::invalid("format", "json, csv or xlsx")),
        ExportFormat::Pdf => ExportFormat::Json,
        f => f,
    };
    let tenant_id = p.tenant_id;
    let (company, report) = reads
        .run(move |conn| {
            let report = reports::aging(conn, &p, &q)?;
            let company = if format == ExportFormat::Xlsx { tenants::name(conn, tenant_id)? } else { String::new() };
            Ok((company, report))
        })
        .await?;
    let file_name = format!("aging-{}.{}", report.as_of, format.extension());
    let bytes = match format {
        ExportFormat::Json | ExportFormat::Pdf => return Ok(ok_json(&report)),
        ExportFormat::Csv => reports::aging_csv(&report)?,
        ExportFormat::Xlsx => {
            let header = ReportHeader { company, generated_at: Utc::now() };
            web::block(move || crate::reports::xlsx::aging(&header, &report))
                .await
                .map_err(AppError::internal)?
                .map_err(AppError::internal)?
        }
    };
    Ok(download(format, &file_name, bytes))
}

/// Receivables, overdue, credit sales, collections and DSO over a window (default 90 days)
/// ending on `as_of`, per customer and currency and for the tenant.
#[utoipa::path(operation_id = "getCollectionsReport", tag = "reports", params(CollectionQuery), responses((status = 200, body = CollectionReport)), security(("bearer" = [])))]
#[get("/reports/collections")]
pub async fn collections(reads: Reads, Auth(p): Auth, q: web::Query<CollectionQuery>) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    Ok(ok_json(&reads.run(move |conn| reports::collections(conn, &p, &q)).await?))
}

/// Customers ranked by overdue amount in the tenant's base currency.
#[utoipa::path(operation_id = "getOverdueRanking", tag = "reports", params(CollectionQuery), responses((status = 200, body = OverdueRanking)), security(("bearer" = [])))]
#[get("/reports/overdue-ranking")]
pub async fn overdue_ranking(reads: Reads, Auth(p): Auth, q: web::Query<CollectionQuery>) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    Ok(ok_json(&reads.run(move |conn| reports::overdue_ranking(conn, &p, &q)).await?))
}

/// A chart of a report as SVG (default), PNG, or JSON (the data as plotted): `recovery`
/// (weekly recovery rate per dunning level), `aging` (aging buckets per week or month),
/// `dso` (DSO per month) or `payment-behaviour` (a customer's days late per payment,
/// `customer=` required). Each is drawn from the same use case as its JSON report.
#[utoipa::path(
    operation_id = "getReportChart",
    tag = "reports",
    params(("name" = String, Path, description = "recovery | aging | dso | payment-behaviour"), ChartQuery),
    responses(
        (status = 200, description = "The chart", content(
            (String = "image/svg+xml"),
            (String = "image/png"),
            (Chart = "application/json"),
        )),
        (status = 404, description = "Unknown chart or customer", body = ErrorBody),
        (status = 422, description = "Unknown format or bad parameter", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/reports/charts/{name}")]
pub async fn chart(
    reads: Reads,
    Auth(p): Auth,
    name: web::Path<String>,
    q: web::Query<ChartQuery>,
) -> AppResult<HttpResponse> {
    let (name, q) = (name.into_inner(), q.into_inner());
    let format = q.format.clone().unwrap_or_else(|| "svg".into()).to_ascii_lowercase();
    if !["svg", "png", "json"].contains(&format.as_str()) {
        return Err(AppError::invalid("format", "svg, png or json"));
    }
    let chart = reads.run(move |conn| charts::chart(conn, &p, &name, &q)).await?;
    if format == "json" {
        return Ok(ok_json(&chart));
    }
    let png = format == "png";
    let bytes = web::block(move || {
        let svg = crate::reports::charts::svg(&chart)?;
        if png {
            crate::reports::charts::png(&svg)
        } else {
            Ok(svg.into_bytes())
        }
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)?;
    let content_type = if png { "image/png" } else { "image/svg+xml" };
    Ok(HttpResponse::Ok().content_type(content_type).body(bytes))
}
