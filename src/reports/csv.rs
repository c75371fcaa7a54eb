//! Statement of account as CSV, one table for all currencies:
//! `currency,date,kind,reference,debit,credit,balance`; a customer group's statement starts with
//! a `customer` column naming each item's member.
//!
//! Per currency: an `opening_balance` row (date = the period's start, empty when the statement
//! has none; only `balance` set), the items in order with their running balance, then a
//! `closing_balance` row (date = the period's end, empty when open) whose `debit` and `credit`
//! hold the period's totals, so `opening + debit - credit = closing` reads off two rows.
//! Amounts are the service's decimal strings (exact, `.` as separator, currency minor units),
//! UTF-8 without BOM like the other CSV outputs; the XLSX export is the one meant for Excel.
//! Text cells that a spreadsheet would run as formulas are neutralised (`csv_cell`).

use super::csv_cell::CsvWriter;
use super::{totals, RenderError, StatementDoc};
use crate::domain::aging::AgingReport;
use crate::domain::money::format_amount;

pub const COLUMNS: [&str; 7] = ["currency", "date", "kind", "reference", "debit", "credit", "balance"];

pub fn statement_of_account(doc: StatementDoc<'_>) -> Result<Vec<u8>, RenderError> {
    let st = doc.statement;
    let mut w = CsvWriter::new();
    let group = !st.members.is_empty();
    // A group's rows lead with their member; one customer's statement keeps its columns.
    let mut row = |customer: &str, cells: [&str; 7]| {
        if group {
            let mut all = vec![customer];
            all.extend(cells);
            w.row(all)
        } else {
            w.row(cells)
        }
    };
    row("customer", COLUMNS)?;
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    for acc in &st.currencies {
        let cur = acc.currency.as_str();
        row("", [cur, &date(st.from), "opening_balance", "", "", "", &acc.opening_balance])?;
        for l in &acc.lines {
            row(
                l.customer_code.as_deref().unwrap_or(""),
                [
                    cur,
                    &l.date.to_string(),
                    &l.kind,
                    &l.reference,
                    l.debit.as_deref().unwrap_or(""),
                    l.credit.as_deref().unwrap_or(""),
                    &l.balance,
                ],
            )?;
        }
        let (debit, credit) = totals(acc)?;
        row(
            "",
            [
                cur,
                &date(st.to),
                "closing_balance",
                "",
                &format_amount(cur, debit),
                &format_amount(cur, credit),
                &acc.closing_balance,
            ],
        )?;
    }
    Ok(w.finish()?)
}

/// AR aging: `customer_code,customer_name,currency,<one column per bucket>,total,overdue`, then one
/// `TOTAL` row per currency.
pub fn aging(report: &AgingReport) -> Result<Vec<u8>, RenderError> {
    let mut w = CsvWriter::new();
    let mut header = vec!["customer_code".to_string(), "customer_name".into(), "currency".into()];
    header.extend(report.buckets.iter().map(|b| b.label.clone()));
    header.extend(["total".to_string(), "overdue".into()]);
    w.row(&header)?;
    for r in &report.rows {
        let mut rec = vec![r.customer_code.as_str(), &r.customer_name, &r.currency];
        rec.extend(r.buckets.iter().map(String::as_str));
        rec.extend([r.total.as_str(), &r.overdue]);
        w.row(&rec)?;
    }
    for t in &report.totals {
        let mut rec = vec!["TOTAL", "", &t.currency];
        rec.extend(t.buckets.iter().map(String::as_str));
        rec.extend([t.total.as_str(), &t.overdue]);
        w.row(&rec)?;
    }
    Ok(w.finish()?)
}
