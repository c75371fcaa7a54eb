//! Statement of account (and other reports) as XLSX: real number cells with a number format of
//! the currency's minor units, real date cells, a bold header row frozen under a short title block.
//!
//! One sheet per currency (named by its ISO code): each currency has its own running balance,
//! opening/closing balances and minor units (JPY 0, EUR 2, KWD 3), so a sheet is a table whose
//! columns all mean the same thing, can be summed, and carries a single number format. A
//! statement without items has one sheet saying so.

use super::{decimal, kind_label, minor_units, period_label, totals, RenderError, ReportHeader, StatementDoc};
use crate::domain::aging::AgingReport;
use crate::domain::statement_of_account::CurrencyAccount;
use chrono::{Datelike, NaiveDate, Timelike};
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError};
use std::collections::HashMap;

/// Column headers of the statement table.
pub const STATEMENT_COLUMNS: [&str; 6] = ["Date", "Kind", "Reference", "Debit", "Credit", "Balance"];
/// Row (0-based) of the statement table's header; the pane is frozen below it.
pub const STATEMENT_HEADER_ROW: u32 = 7;

/// Formats shared by the sheets of one workbook.
pub(crate) struct Styles {
    pub title: Format,
    pub label: Format,
    pub header: Format,
    pub header_num: Format,
    pub date: Format,
    pub datetime: Format,
    pub bold: Format,
}

impl Styles {
    pub(crate) fn new() -> Styles {
        let header =
            Format::new().set_bold().set_background_color(Color::RGB(0xE8EEF4)).set_border_bottom(FormatBorder::Thin);
        Styles {
            title: Format::new().set_bold().set_font_size(14),
            label: Format::new().set_bold(),
            header_num: header.clone().set_align(rust_xlsxwriter::FormatAlign::Right),
            header,
            date: Format::new().set_num_format("yyyy-mm-dd").set_align(rust_xlsxwriter::FormatAlign::Left),
            datetime: Format::new()
                .set_num_format("yyyy-mm-dd hh:mm:ss \"UTC\"")
                .set_align(rust_xlsxwriter::FormatAlign::Left),
            bold: Format::new().set_bold(),
        }
    }
}

/// Excel number format with exactly `minor` decimals and thousands separators.
pub(crate) fn money_format(minor: u32) -> String {
    if minor == 0 {
        "#,##0".to_string()
    } else {
        format!("#,##0.{}", "0".repeat(minor as usize))
    }
}

/// A decimal string as the f64 a spreadsheet cell holds (the only place amounts become floats).
pub(crate) fn number(text: &str) -> Result<f64, RenderError> {
    decimal(text)?.to_f64().ok_or_else(|| RenderError::Amount(text.to_string()))
}

pub(crate) fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
}

pub(crate) fn excel_datetime(t: chrono::DateTime<chrono::Utc>) -> Result<ExcelDateTime, XlsxError> {
    excel_date(t.date_naive())?.and_hms(t.hour() as u16, t.minute() as u8, t.second())
}

/// Title block: the report's name, then label/value rows; returns the next free row.
pub(crate) fn title_block(
    ws: &mut Worksheet,
    s: &Styles,
    title: &str,
    header: &ReportHeader,
    rows: &[(&str, String)],
) -> Result<u32, XlsxError> {
    ws.write_string_with_format(0, 0, title, &s.title)?;
    ws.write_string_with_format(1, 0, "Company", &s.label)?;
    ws.write_string(1, 1, &header.company)?;
    let mut row = 2;
    for (label, value) in rows {
        ws.write_string_with_format(row, 0, *label, &s.label)?;
        ws.write_string(row, 1, value)?;
        row += 1;
    }
    ws.write_string_with_format(row, 0, "Generated", &s.label)?;
    ws.write_datetime_with_format(row, 1, excel_datetime(header.generated_at)?, &s.datetime)?;
    Ok(row + 1)
}

pub fn statement_of_account(doc: StatementDoc<'_>) -> Result<Vec<u8>, RenderError> {
    let st = doc.statement;
    let mut wb = Workbook::new();
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("Statement of account {} ({})", st.customer_name, st.customer_code))
            .set_company(&doc.header.company)
            .set_author(&doc.header.company),
    );
    let s = Styles::new();
    if st.currencies.is_empty() {
        let ws = wb.add_worksheet();
        ws.set_name("Statement")?;
        sheet_header(ws, &s, doc, None)?;
        ws.write_string(STATEMENT_HEADER_ROW + 1, 0, "No items in this period.")?;
    }
    for acc in &st.currencies {
        let ws = wb.add_worksheet();
        ws.set_name(&acc.currency)?;
        sheet_header(ws, &s, doc, Some(&acc.currency))?;
        currency_table(ws, &s, doc, acc)?;
    }
    open_items_sheet(&mut wb, &s, doc)?;
    Ok(wb.save_to_buffer()?)
}

/// One more sheet: the open items (number and date cells), their aging per currency, and the
/// differences still open with the customer.
fn open_items_sheet(wb: &mut Workbook, s: &Styles, doc: StatementDoc<'_>) -> Result<(), RenderError> {
    let st = doc.statement;
    let ws = wb.add_worksheet();
    ws.set_name("Open items")?;
    let columns = ["Document", "Kind", "Issue date", "Due date", "Currency", "Amount", "Open", "Days overdue"];
    for (col, name) in columns.iter().enumerate() {
        let f = if col >= 5 { &s.header_num } else { &s.header };
        ws.write_string_with_format(0, col as u16, *name, f)?;
    }
    for (col, width) in [18.0, 14.0, 12.0, 12.0, 10.0, 16.0, 16.0, 14.0].into_iter().enumerate() {
        ws.set_column_width(col as u16, width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    let mut row = 1;
    for i in &st.open_items {
        let money = Format::new().set_num_format(money_format(minor_units(&i.currency)));
        ws.write_string(row, 0, &i.doc_no)?;
        ws.write_string(row, 1, &i.kind)?;
        ws.write_datetime_with_format(row, 2, excel_date(i.issue_date)?, &s.date)?;
        if let Some(d) = i.due_date {
            ws.write_datetime_with_format(row, 3, excel_date(d)?, &s.date)?;
        }
        ws.write_string(row, 4, &i.currency)?;
        ws.write_number_with_format(row, 5, number(&i.amount)?, &money)?;
        ws.write_number_with_format(row, 6, number(&i.open_amount)?, &money)?;
        ws.write_number(row, 7, i.days_overdue as f64)?;
        row += 1;
    }
    row += 1;
    if !st.aging.is_empty() {
        ws.write_string_with_format(row, 0, "Aging (days past due)", &s.bold)?;
        row += 1;
        for a in &st.aging {
            let money = Format::new().set_num_format(money_format(minor_units(&a.currency)));
            ws.write_string_with_format(row, 0, &a.currency, &s.bold)?;
            for (k, (label, value)) in a.labels.iter().zip(&a.buckets).enumerate() {
                ws.write_string(row, 1 + k as u16, label)?;
                ws.write_number_with_format(row + 1, 1 + k as u16, number(value)?, &money)?;
            }
            row += 2;
        }
        row += 1;
    }
    if !st.open_differences.is_empty() {
        ws.write_string_with_format(row, 0, "Differences still open", &s.bold)?;
        row += 1;
        for d in &st.open_differences {
            ws.write_string(row, 0, &d.status)?;
            ws.write_string(row, 1, &d.kind)?;
            ws.write_string(row, 2, &d.explanation)?;
            row += 1;
        }
    }
    Ok(())
}

fn sheet_header(
    ws: &mut Worksheet,
    s: &Styles,
    doc: StatementDoc<'_>,
    currency: Option<&str>,
) -> Result<(), XlsxError> {
    let st = doc.statement;
    let rows = [
        ("Customer", format!("{} ({})", st.customer_name, st.customer_code)),
        ("Period", period_label(st.from, st.to)),
        ("Currency", currency.unwrap_or("").to_string()),
    ];
    title_block(ws, s, "Statement of Account", doc.header, &rows)?;
    for (col, name) in STATEMENT_COLUMNS.iter().enumerate() {
        let f = if col >= 3 { &s.header_num } else { &s.header };
        ws.write_string_with_format(STATEMENT_HEADER_ROW, col as u16, *name, f)?;
    }
    for (col, width) in [12.0, 16.0, 26.0, 16.0, 16.0, 16.0].into_iter().enumerate() {
        ws.set_column_width(col as u16, width)?;
    }
    ws.set_freeze_panes(STATEMENT_HEADER_ROW + 1, 0)?;
    Ok(())
}

fn currency_table(
    ws: &mut Worksheet,
    s: &Styles,
    doc: StatementDoc<'_>,
    acc: &CurrencyAccount,
) -> Result<(), RenderError> {
    let st = doc.statement;
    let money_fmt = money_format(minor_units(&acc.currency));
    let money = Format::new().set_num_format(&money_fmt);
    let money_bold = Format::new().set_num_format(&money_fmt).set_bold().set_border_top(FormatBorder::Thin);
    let bold_top = Format::new().set_bold().set_border_top(FormatBorder::Thin);
    let mut row = STATEMENT_HEADER_ROW + 1;

    if let Some(from) = st.from {
        ws.write_datetime_with_format(row, 0, excel_date(from)?, &s.date)?;
    }
    ws.write_string_with_format(row, 1, kind_label("opening_balance"), &s.bold)?;
    ws.write_number_with_format(row, 5, number(&acc.opening_balance)?, &money)?;
    row += 1;
    for l in &acc.lines {
        ws.write_datetime_with_format(row, 0, excel_date(l.date)?, &s.date)?;
        ws.write_string(row, 1, kind_label(&l.kind))?;
        ws.write_string(row, 2, super::shown_reference(l))?;
        if let Some(d) = &l.debit {
            ws.write_number_with_format(row, 3, number(d)?, &money)?;
        }
        if let Some(c) = &l.credit {
            ws.write_number_with_format(row, 4, number(c)?, &money)?;
        }
        ws.write_number_with_format(row, 5, number(&l.balance)?, &money)?;
        row += 1;
    }
    let (debit, credit) = totals(acc)?;
    ws.write_blank(row, 0, &bold_top)?;
    ws.write_string_with_format(row, 1, "Total", &bold_top)?;
    ws.write_blank(row, 2, &bold_top)?;
    ws.write_number_with_format(row, 3, debit.to_f64().unwrap_or_default(), &money_bold)?;
    ws.write_number_with_format(row, 4, credit.to_f64().unwrap_or_default(), &money_bold)?;
    ws.write_blank(row, 5, &bold_top)?;
    row += 1;
    if let Some(to) = st.to {
        ws.write_datetime_with_format(row, 0, excel_date(to)?, &s.date)?;
    }
    ws.write_string_with_format(row, 1, kind_label("closing_balance"), &s.bold)?;
    ws.write_number_with_format(row, 5, number(&acc.closing_balance)?, &money.clone().set_bold())?;
    Ok(())
}

/// Row (0-based) of the aging table's header; the pane is frozen below it and left of the amounts.
pub const AGING_HEADER_ROW: u32 = 6;

/// The aging table's header row and column widths; the pane is frozen below the header and
/// left of the amounts.
fn aging_columns(ws: &mut Worksheet, s: &Styles, report: &AgingReport) -> Result<(), RenderError> {
    let mut columns = vec!["Customer code", "Customer name", "Currency"];
    columns.extend(report.buckets.iter().map(|b| b.label.as_str()));
    columns.extend(["Total", "Overdue", "Open items"]);
    for (col, name) in columns.iter().enumerate() {
        let f = if col >= 3 { &s.header_num } else { &s.header };
        ws.write_string_with_format(AGING_HEADER_ROW, col as u16, *name, f)?;
    }
    ws.set_column_width(0, 16.0)?;
    ws.set_column_width(1, 30.0)?;
    ws.set_column_width(2, 10.0)?;
    for col in 3..columns.len() {
        ws.set_column_width(col as u16, 14.0)?;
    }
    ws.set_freeze_panes(AGING_HEADER_ROW + 1, 3)?;
    Ok(())
}

/// AR aging on one sheet: a row per customer and currency (amounts formatted with that currency's
/// minor units), then a bold `TOTAL` row per currency and the base-currency total when every rate
/// was known.
pub fn aging(header: &ReportHeader, report: &AgingReport) -> Result<Vec<u8>, RenderError> {
    let mut wb = Workbook::new();
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("AR aging as of {}", report.as_of))
            .set_company(&header.company)
            .set_author(&header.company),
    );
    let s = Styles::new();
    let ws = wb.add_worksheet();
    ws.set_name("Aging")?;
    let basis =
        serde_json::to_value(report.basis).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    title_block(
        ws,
        &s,
        "AR Aging",
        header,
        &[("As of", report.as_of.to_string()), ("Basis", basis.replace('_', " "))],
    )?;
    aging_columns(ws, &s, report)?;

    let mut formats: HashMap<(String, bool), Format> = HashMap::new();
    let mut money = |currency: &str, bold: bool| {
        formats
            .entry((currency.to_string(), bold))
            .or_insert_with(|| {
                let f = Format::new().set_num_format(money_format(minor_units(currency)));
                if bold {
                    f.set_bold().set_border_top(FormatBorder::Thin)
                } else {
                    f
                }
            })
            .clone()
    };
    let mut row = AGING_HEADER_ROW + 1;
    for r in &report.rows {
        ws.write_string(row, 0, &r.customer_code)?;
        ws.write_string(row, 1, &r.customer_name)?;
        ws.write_string(row, 2, &r.currency)?;
        let f = money(&r.currency, false);
        for (i, amount) in r.buckets.iter().chain([&r.total, &r.overdue]).enumerate() {
            ws.write_number_with_format(row, 3 + i as u16, number(amount)?, &f)?;
        }
        ws.write_number(row, 3 + r.buckets.len() as u16 + 2, r.open_items as f64)?;
        row += 1;
    }
    let bold_top = Format::new().set_bold().set_border_top(FormatBorder::Thin);
    let base_label = format!("TOTAL ({} base)", report.base_currency);
    let totals =
        report.totals.iter().map(|t| (t, "TOTAL")).chain(report.base_total.iter().map(|t| (t, base_label.as_str())));
    for (t, label) in totals {
        ws.write_string_with_format(row, 0, label, &bold_top)?;
        ws.write_blank(row, 1, &bold_top)?;
        ws.write_string_with_format(row, 2, &t.currency, &bold_top)?;
        let f = money(&t.currency, true);
        for (i, amount) in t.buckets.iter().chain([&t.total, &t.overdue]).enumerate() {
            ws.write_number_with_format(row, 3 + i as u16, number(amount)?, &f)?;
        }
        ws.write_blank(row, 3 + t.buckets.len() as u16 + 2, &bold_top)?;
        row += 1;
    }
    if !report.missing_rates.is_empty() {
        ws.write_string(
            row + 1,
            0,
            format!("No exchange rate as of {} for: {}", report.as_of, report.missing_rates.join(", ")),
        )?;
    }
    Ok(wb.save_to_buffer()?)
}
