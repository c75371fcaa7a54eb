//! Renderers of reports into files: CSV, XLSX and PDF. Pure functions from plain data to bytes;
//! they know neither HTTP nor the database (the API layer fetches the data and picks the format).
//!
//! Amounts arrive as the service's decimal strings. They stay decimals (strings) in CSV and PDF;
//! only the XLSX writer turns them into f64, at the cell, because a spreadsheet number is a double.

pub mod charts;
pub mod csv;
pub mod csv_cell;
pub mod pdf;
pub mod templates;
pub mod xlsx;

use crate::domain::money::Currency;
use crate::domain::statement_of_account::{CurrencyAccount, StatementOfAccount};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::str::FromStr;

/// What every rendered report says about itself besides its data.
#[derive(Debug, Clone)]
pub struct ReportHeader {
    /// The issuing company (the tenant's name).
    pub company: String,
    pub generated_at: DateTime<Utc>,
}

/// The statement of account with the header it is rendered under. Customer and period come from
/// the statement itself.
#[derive(Debug, Clone, Copy)]
pub struct StatementDoc<'a> {
    pub header: &'a ReportHeader,
    pub statement: &'a StatementOfAccount,
}

/// A file format a report can be served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Csv,
    Xlsx,
    Pdf,
}

pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl ExportFormat {
    pub const NAMES: &'static str = "json, csv, xlsx, pdf";

    pub fn parse(name: &str) -> Option<ExportFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "json" => Some(ExportFormat::Json),
            "csv" => Some(ExportFormat::Csv),
            "xlsx" => Some(ExportFormat::Xlsx),
            "pdf" => Some(ExportFormat::Pdf),
            _ => None,
        }
    }

    /// The format a media type (from `Accept`) asks for, if it names one of ours exactly.
    pub fn from_media_type(media: &str) -> Option<ExportFormat> {
        let essence = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => Some(ExportFormat::Json),
            "text/csv" => Some(ExportFormat::Csv),
            XLSX_MIME => Some(ExportFormat::Xlsx),
            "application/pdf" => Some(ExportFormat::Pdf),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Json => "application/json",
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => XLSX_MIME,
            ExportFormat::Pdf => "application/pdf",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Pdf => "pdf",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("csv: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("pdf: {0}")]
    Pdf(String),
    #[error("amount {0:?} is not a decimal")]
    Amount(String),
    #[error("chart: {0}")]
    Chart(String),
}

/// A statement amount (decimal string) as a decimal.
pub(crate) fn decimal(text: &str) -> Result<Decimal, RenderError> {
    Decimal::from_str(text.trim()).map_err(|_| RenderError::Amount(text.to_string()))
}

/// Digits after the decimal point for a currency (ISO 4217), 2 when unknown.
pub(crate) fn minor_units(currency: &str) -> u32 {
    Currency::parse(currency).map(|c| c.minor_units()).unwrap_or(2)
}

/// The reference column as printed: in a customer group's statement, led by the member's code.
pub(crate) fn shown_reference(line: &crate::domain::statement_of_account::AccountLine) -> String {
    match &line.customer_code {
        Some(code) => format!("{code} · {}", line.reference),
        None => line.reference.clone(),
    }
}

/// Sums of the debit and credit columns of a currency's lines.
pub(crate) fn totals(account: &CurrencyAccount) -> Result<(Decimal, Decimal), RenderError> {
    let (mut debit, mut credit) = (Decimal::ZERO, Decimal::ZERO);
    for line in &account.lines {
        if let Some(d) = &line.debit {
            debit += decimal(d)?;
        }
        if let Some(c) = &line.credit {
            credit += decimal(c)?;
        }
    }
    Ok((debit, credit))
}

/// "2026-01-01 – 2026-03-31", "up to 2026-03-31", "from 2026-01-01", "all items".
pub fn period_label(from: Option<NaiveDate>, to: Option<NaiveDate>) -> String {
    match (from, to) {
        (Some(f), Some(t)) => format!("{f} – {t}"),
        (None, Some(t)) => format!("up to {t}"),
        (Some(f), None) => format!("from {f}"),
        (None, None) => "all items".to_string(),
    }
}

/// Readable name of an item kind.
pub fn kind_label(kind: &str) -> String {
    match kind {
        "invoice" => "Invoice".into(),
        "credit_note" => "Credit note".into(),
        "payment" => "Payment".into(),
        "adjustment" => "Adjustment".into(),
        "opening_balance" => "Opening balance".into(),
        "closing_balance" => "Closing balance".into(),
        other => other.replace('_', " "),
    }
}

/// A file name safe in `Content-Disposition` (ASCII letters, digits, '-', '_', '.').
pub fn file_name(parts: &[&str], format: ExportFormat) -> String {
    let stem = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-");
    format!("{stem}.{}", format.extension())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::statement_of_account::AccountLine;

    fn sample(lines: usize) -> StatementOfAccount {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let mut balance = Decimal::new(100_000, 2);
        let mut out = Vec::new();
        for i in 0..lines {
            let amount = Decimal::new(1_234_567 + i as i64 * 100, 2);
            let credit = i % 3 == 2;
            balance += if credit { -amount } else { amount };
            out.push(AccountLine {
                date: d(2, 1 + (i % 27) as u32),
                kind: if credit { "payment".into() } else { "invoice".into() },
                reference: if i == 1 {
                    "INV-2026-0000001 with a reference far too long for its column".into()
                } else {
                    format!("INV-{i:04}")
                },
                debit: (!credit).then(|| amount.to_string()),
                credit: credit.then(|| amount.to_string()),
                balance: balance.to_string(),
                document_id: None,
                lines: None,
                customer_code: None,
            });
        }
        StatementOfAccount {
            customer_code: "SH001".into(),
            customer_name: "上海华东贸易有限公司".into(),
            from: Some(d(2, 1)),
            to: Some(d(3, 31)),
            currencies: vec![
                CurrencyAccount {
                    currency: "CNY".into(),
                    opening_balance: "1000.00".into(),
                    lines: out,
                    closing_balance: balance.to_string(),
                },
                CurrencyAccount {
                    currency: "JPY".into(),
                    opening_balance: "0".into(),
                    lines: vec![],
                    closing_balance: "0".into(),
                },
            ],
            open_items: vec![],
            aging: vec![],
            open_differences: vec![],
            payment_behaviour: crate::domain::payment_behaviour::sample(),
            members: vec![],
        }
    }

    /// Every renderer takes the same data; `EXPORT_SAMPLES_DIR=/tmp/x cargo test --lib reports`
    /// writes the files to look at.
    #[test]
    fn renderers_produce_files() {
        let header = ReportHeader { company: "杭州对账科技有限公司".into(), generated_at: Utc::now() };
        for (name, lines) in [("short", 6), ("long", 90)] {
            let st = sample(lines);
            let doc = StatementDoc { header: &header, statement: &st };
            let pdf = pdf::statement_of_account(doc).unwrap();
            assert!(pdf.starts_with(b"%PDF-"));
            let xlsx = xlsx::statement_of_account(doc).unwrap();
            assert!(xlsx.starts_with(b"PK"));
            let csv = csv::statement_of_account(doc).unwrap();
            assert_eq!(String::from_utf8(csv.clone()).unwrap().lines().count(), 1 + lines + 2 + 2);
            if let Ok(dir) = std::env::var("EXPORT_SAMPLES_DIR") {
                for (ext, bytes) in [("pdf", &pdf), ("xlsx", &xlsx), ("csv", &csv)] {
                    std::fs::write(format!("{dir}/{name}.{ext}"), bytes).unwrap();
                }
            }
        }
    }

    #[test]
    fn formats_parse_and_negotiate() {
        assert_eq!(ExportFormat::parse("XLSX"), Some(ExportFormat::Xlsx));
        assert_eq!(ExportFormat::parse("docx"), None);
        assert_eq!(ExportFormat::from_media_type("text/csv; charset=utf-8"), Some(ExportFormat::Csv));
        assert_eq!(ExportFormat::from_media_type("*/*"), None);
    }

    #[test]
    fn file_names_are_ascii() {
        assert_eq!(
            file_name(&["statement-of-account", "上海 01", "2026-01-01"], ExportFormat::Pdf),
            "statement-of-account-___01-2026-01-01.pdf"
        );
    }
}
