//! Reports served as files: format negotiation (`?format=` first, then `Accept`), rendering on
//! the blocking pool, and the download headers.

use crate::domain::statement_of_account::StatementOfAccount;
use crate::error::{AppError, AppResult};
use crate::reports::{self, ExportFormat, ReportHeader, StatementDoc};
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

/// Period and file format of a statement of account.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatementExportQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// `json` (default), `csv`, `xlsx` or `pdf`. Without it, an `Accept` of `text/csv`,
    /// `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet` or `application/pdf`
    /// picks the format.
    pub format: Option<String>,
    /// `true`: invoices and credit notes show their lines (JSON and PDF).
    pub lines: Option<bool>,
}

/// The format asked for: the `format` parameter if given (unknown names are 422), else the first
/// of our media types the `Accept` header lists, else JSON.
pub fn negotiate(format: Option<&str>, req: &HttpRequest) -> AppResult<ExportFormat> {
    if let Some(name) = format {
        return ExportFormat::parse(name).ok_or_else(|| {
            AppError::invalid("format", format!("unknown format {name:?}: use one of {}", ExportFormat::NAMES))
        });
    }
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    Ok(accept.split(',').find_map(ExportFormat::from_media_type).unwrap_or(ExportFormat::Json))
}

/// Renders a statement of account (not JSON) into a download.
pub async fn statement_file(
    format: ExportFormat,
    company: String,
    statement: StatementOfAccount,
) -> AppResult<HttpResponse> {
    let header = ReportHeader { company, generated_at: Utc::now() };
    let mut name_parts = vec!["statement-of-account".to_string(), statement.customer_code.clone()];
    name_parts.extend(statement.from.map(|d| d.to_string()));
    name_parts.extend(statement.to.map(|d| d.to_string()));
    let bytes = web::block(move || {
        let doc = StatementDoc { header: &header, statement: &statement };
        match format {
            ExportFormat::Csv => reports::csv::statement_of_account(doc),
            ExportFormat::Xlsx => reports::xlsx::statement_of_account(doc),
            ExportFormat::Pdf => reports::pdf::statement_of_account(doc),
            ExportFormat::Json => Ok(serde_json::to_vec(&statement).unwrap_or_default()),
        }
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)?;
    let parts: Vec<&str> = name_parts.iter().map(String::as_str).collect();
    Ok(download(format, &reports::file_name(&parts, format), bytes))
}

pub fn download(format: ExportFormat, file_name: &str, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(file_name.to_string())],
        })
        .body(bytes)
}
