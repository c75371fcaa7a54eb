//! Shared pieces of bulk imports (customers, documents): CSV reading with strict headers and
//! the report every import answers with.

use crate::error::{AppError, AppResult};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Default, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    /// Rows identical to what is stored already.
    pub unchanged: u64,
    /// Rows not imported, with the reason; all other rows were imported.
    pub rejected: Vec<RejectedRow>,
    /// How a spreadsheet or a mapped file was read: the sheet and header row, rows left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct RejectedRow {
    /// 1-based row: in a spreadsheet its row number in the sheet (as Excel shows it); in CSV the
    /// line after the header is row 1; in JSON the first element.
    pub row: u64,
    pub error: String,
    /// The sheet the row is in (spreadsheets only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The column's letter in the sheet (`D`), when the error is about one field (spreadsheets only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The import's column (`amount`) the error is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl RejectedRow {
    pub fn new(row: u64, error: impl Into<String>) -> RejectedRow {
        RejectedRow { row, error: error.into(), ..RejectedRow::default() }
    }
}

/// One CSV data row as column name -> cell (empty cells omitted).
pub struct CsvRow {
    pub row: u64,
    pub cells: HashMap<String, String>,
}

/// A CSV body read record by record. Headers must all be known (`allowed`) and include
/// `required`: a column the import would silently ignore is a mapping mistake the sender wants to
/// hear about. Rows of the wrong width are rejections, not errors of the whole file.
pub struct CsvRecords<R: std::io::Read> {
    reader: csv::Reader<R>,
    headers: Vec<String>,
    record: csv::StringRecord,
    row: u64,
}

impl<R: std::io::BufRead> CsvRecords<R> {
    pub fn new(mut body: R, allowed: &[&str], required: &[&str]) -> AppResult<CsvRecords<R>> {
        if body.fill_buf().map_err(AppError::internal)?.starts_with(b"\xEF\xBB\xBF") {
            body.consume(3);
        }
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(body);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| AppError::invalid("body", format!("CSV header unreadable: {e}")))?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        for h in &headers {
            if !allowed.contains(&h.as_str()) {
                return Err(AppError::invalid(
                    "body",
                    format!("unknown CSV column {h:?}; allowed: {}", allowed.join(", ")),
                ));
            }
        }
        for r in required {
            if !headers.iter().any(|h| h == r) {
                return Err(AppError::invalid("body", format!("CSV column {r:?} is required")));
            }
        }
        Ok(CsvRecords { reader, headers, record: csv::StringRecord::new(), row: 0 })
    }
}

impl<R: std::io::Read> CsvRecords<R> {
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Where a column is, if the file has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The next data row: its number and cells, or why it cannot be read. `None` at the end.
    pub fn next_row(&mut self) -> Option<Result<(u64, &csv::StringRecord), RejectedRow>> {
        self.row += 1;
        let row = self.row;
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => Some(Err(RejectedRow::new(row, format!("unreadable CSV row: {e}")))),
            Ok(true) if self.record.len() != self.headers.len() => Some(Err(RejectedRow::new(
                row,
                format!("expected {} columns, found {}", self.headers.len(), self.record.len()),
            ))),
            Ok(true) => Some(Ok((row, &self.record))),
        }
    }
}

/// Reads a whole CSV body (see [`CsvRecords`] for the rules).
pub fn read_csv(body: &[u8], allowed: &[&str], required: &[&str]) -> AppResult<(Vec<CsvRow>, Vec<RejectedRow>)> {
    let mut records = CsvRecords::new(body, allowed, required)?;
    let headers = records.headers().to_vec();
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    while let Some(next) = records.next_row() {
        match next {
            Err(r) => rejected.push(r),
            Ok((row, record)) => {
                let cells = headers
                    .iter()
                    .zip(record.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(h, v)| (h.clone(), v.to_string()))
                    .collect();
                rows.push(CsvRow { row, cells });
            }
        }
    }
    Ok((rows, rejected))
}

/// Imports are CSV or a JSON array, told apart by Content-Type. An .xlsx workbook is read as the
/// CSV its main sheet's rows make (see [`csv_body`]), whatever CSV type it came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Csv,
    Json,
}

impl ImportFormat {
    pub fn from_content_type(content_type: Option<&str>) -> AppResult<ImportFormat> {
        let essence = content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" | "application/csv" | XLSX_MEDIA_TYPE => Ok(ImportFormat::Csv),
            "application/json" => Ok(ImportFormat::Json),
            _ => Err(AppError::new(
                crate::error::ErrorCode::UnsupportedMediaType,
                format!("send the import as text/csv, application/json or {XLSX_MEDIA_TYPE} (an .xlsx workbook)"),
            )),
        }
    }
}

pub const XLSX_MEDIA_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Templates of files read through [`csv_body`] (their example row is not read).
pub const STATEMENT_TEMPLATES: [&[crate::domain::sheet_columns::Column]; 2] =
    [crate::domain::sheet_columns::CUSTOMER_STATEMENT, crate::domain::sheet_columns::BANK_STATEMENT];

/// The body of a CSV import: as sent, or, for an .xlsx workbook, the CSV its main
/// sheet makes (line n is sheet row n, so a rejected row names the row a person finds in Excel),
/// with notes on what was read.
pub fn csv_body(body: &[u8]) -> AppResult<(std::borrow::Cow<'_, [u8]>, Vec<String>)> {
    use crate::spreadsheet;
    if spreadsheet::is_legacy_xls(body) {
        return Err(AppError::invalid("body", spreadsheet::LEGACY_XLS));
    }
    if !spreadsheet::is_xlsx(body) {
        return Ok((std::borrow::Cow::Borrowed(body), Vec::new()));
    }
    let mut table = spreadsheet::read_main_sheet(body, spreadsheet::Limits::default())
        .map_err(|e| AppError::invalid("body", e.to_string()))?;
    let mut notes = vec![format!("read from the spreadsheet's sheet {:?} (line n is its row n)", table.sheet)];
    notes.extend(table.notes.iter().cloned());
    notes.extend(spreadsheet::layout::clear_template_example(&mut table, &STATEMENT_TEMPLATES));
    Ok((std::borrow::Cow::Owned(spreadsheet::to_csv(&table)), notes))
}

/// Parsed rows with their row numbers, and the rows that could not be read.
pub type ParsedRows<T> = (Vec<(u64, T)>, Vec<RejectedRow>);

/// How many schema mismatches a refused JSON body lists in `details.rows`.
const MAX_LISTED_MISMATCHES: usize = 100;

/// Parses a JSON import body. A JSON body is written by a program against the published row
/// schema, so an element that does not fit it (not an object, a wrong type, a missing or unknown
/// field) refuses the whole body with every such row named, and nothing is written. Rows that
/// fit the schema but break a business rule (an unknown customer, a bad currency) are reported
/// row by row by the caller while the good rows go in. The returned rejections are always empty;
/// the type matches the CSV path so callers treat both alike.
pub fn read_json_array<T: serde::de::DeserializeOwned>(body: &[u8]) -> AppResult<ParsedRows<T>> {
    let values: Vec<serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| AppError::invalid("body", format!("expected a JSON array: {e}")))?;
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_object()) {
        let kind = match v {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "a boolean",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::Object(_) => "an object",
        };
        return Err(AppError::invalid(&format!("[{i}]"), format!("expected an object, found {kind}")));
    }
    let mut rows = Vec::with_capacity(values.len());
    let mut mismatches = Vec::new();
    let mut mismatch_count = 0usize;
    for (i, value) in values.into_iter().enumerate() {
        let row = i as u64 + 1;
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => rows.push((row, v)),
            Err(e) => {
                mismatch_count += 1;
                if mismatches.len() < MAX_LISTED_MISMATCHES {
                    mismatches.push(RejectedRow::new(row, describe_json_error(&e)));
                }
            }
        }
    }
    if let Some(first) = mismatches.first() {
        let message = format!(
            "{mismatch_count} row(s) do not match the row schema, so nothing was imported; row {}: {}",
            first.row, first.error
        );
        return Err(AppError::new(crate::error::ErrorCode::ValidationFailed, message).with_details(
            serde_json::json!({ "field": "body", "mismatched_rows": mismatch_count, "rows": mismatches }),
        ));
    }
    Ok((rows, Vec::new()))
}

pub fn describe_json_error<E: std::fmt::Display>(e: &serde_path_to_error::Error<E>) -> String {
    let path = e.path().to_string();
    if path == "." {
        e.inner().to_string()
    } else {
        format!("{path}: {}", e.inner())
    }
}

/// A yes/no cell as spreadsheets write it (`true/false`, `yes/no`, `y/n`, `1/0`, `是/否`).
pub fn parse_yes_no(field: &str, v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "是" => Ok(true),
        "false" | "no" | "n" | "0" | "否" => Ok(false),
        _ => Err(format!("{field}: {v:?} is not true or false")),
    }
}

/// Query parameters of the CSV and .xlsx imports.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The name of a saved import mapping (`/import-mappings`) for a file in the tenant's own
    /// layout; an unknown name, or a file that does not fit it, refuses the import whole.
    pub mapping: Option<String>,
}
