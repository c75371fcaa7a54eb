//! Instalment plans as clients send and read them (see `domain::instalments` for the rules):
//! validation of a document's plan, the rule that the header due date is the last instalment's,
//! and the view with what is open of each instalment.

use crate::db::documents::Document;
use crate::db::instalments as instalments_db;
use crate::domain::document::{DocStatus, DocType};
use crate::domain::instalments::{self, Asked, Instalment, Share};
use crate::domain::money::{format_amount, Currency};
use crate::error::{AppError, AppResult};
use chrono::NaiveDate;
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// One instalment as asked for: its due date and either an amount or a percentage of the
/// document's amount.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct InstalmentInput {
    pub due_date: NaiveDate,
    /// Decimal string in the document's currency. Give `amount` or `percent`, the same for every
    /// instalment of the plan; amounts add up to the document amount exactly.
    pub amount: Option<String>,
    /// Percentage of the document amount as a decimal string ("33.33"); percentages add up to
    /// 100. Each is rounded to the currency's minor unit and the last instalment takes the rest.
    pub percent: Option<String>,
}

/// One instalment of a document's plan and what is still open of it. Whatever is settled on the
/// document goes to its instalments in order, oldest due first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct InstalmentView {
    /// 1, 2, ... in due-date order.
    pub seq: i32,
    pub due_date: NaiveDate,
    pub amount: String,
    pub open_amount: String,
    pub status: DocStatus,
}

/// The plan a document of `doc_type`, `currency`, `amount` issued on `issue_date` gets from
/// `input` (`None`/empty: no plan), and the header due date that goes with it: the last
/// instalment's (a due date given as well must be that one).
pub fn validate(
    doc_type: DocType,
    currency: &str,
    amount: Decimal,
    issue_date: NaiveDate,
    due_date: Option<NaiveDate>,
    input: &[InstalmentInput],
) -> AppResult<Vec<Instalment>> {
    if input.is_empty() {
        return Ok(Vec::new());
    }
    if doc_type != DocType::Invoice {
        return Err(AppError::invalid("instalments", "only invoices can be due in instalments"));
    }
    let currency = Currency::parse(currency).map_err(|e| AppError::invalid("currency", e.to_string()))?;
    let mut asked = Vec::with_capacity(input.len());
    for (k, i) in input.iter().enumerate() {
        let share = match (&i.amount, &i.percent) {
            (Some(a), None) => Share::Amount(
                currency
                    .parse_amount(a)
                    .map_err(|e| AppError::invalid(&format!("instalments[{k}].amount"), e.to_string()))?,
            ),
            (None, Some(p)) => Share::Percent(parse_percent(p).ok_or_else(|| {
                AppError::invalid(&format!("instalments[{k}].percent"), format!("{p:?} is not a decimal percentage"))
            })?),
            _ => return Err(AppError::invalid(&format!("instalments[{k}]"), "give either amount or percent")),
        };
        asked.push(Asked { due_date: i.due_date, share });
    }
    let plan = instalments::plan(currency, amount, issue_date, &asked).map_err(|e| match e.index {
        Some(k) => AppError::invalid(&format!("instalments[{k}]"), e.message),
        None => AppError::invalid("instalments", e.message),
    })?;
    check_due_date(&plan, due_date)?;
    Ok(plan)
}

fn parse_percent(text: &str) -> Option<Decimal> {
    let t = text.trim();
    let ok = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') && t.len() <= 12;
    ok.then(|| t.parse::<Decimal>().ok()).flatten()
}

/// The header due date of a document with a plan is its last instalment's (`None`: take it).
fn check_due_date(plan: &[Instalment], due_date: Option<NaiveDate>) -> AppResult<()> {
    match (plan.last(), due_date) {
        (Some(last), Some(due)) if due != last.due_date => Err(AppError::invalid(
            "due_date",
            format!("with instalments the due date is the last instalment's ({}); leave it out", last.due_date),
        )),
        _ => Ok(()),
    }
}

/// Whether a stored plan still fits a document whose fields change without a new plan: the same
/// amount, no instalment due before the issue date, the due date still the last instalment's.
pub fn check_fits(
    plan: &[Instalment],
    amount: Decimal,
    issue_date: NaiveDate,
    due_date: Option<NaiveDate>,
) -> AppResult<()> {
    let Some(first) = plan.first() else { return Ok(()) };
    let sum: Decimal = plan.iter().map(|i| i.amount).sum();
    if sum != amount {
        return Err(AppError::invalid(
            "instalments",
            "the document has an instalment plan: send the instalments again with the new amount",
        ));
    }
    if first.due_date < issue_date {
        return Err(AppError::invalid(
            "issue_date",
            format!("is after the first instalment's due date {}", first.due_date),
        ));
    }
    check_due_date(plan, due_date)
}

/// The header due date with a plan: the last instalment's.
pub fn header_due_date(plan: &[Instalment], due_date: Option<NaiveDate>) -> Option<NaiveDate> {
    plan.last().map(|i| i.due_date).or(due_date)
}

pub fn views(doc: &Document, plan: &[Instalment]) -> Vec<InstalmentView> {
    let open = instalments::open_parts(plan, doc.amount, doc.open_amount);
    plan.iter()
        .zip(open)
        .map(|(i, open)| InstalmentView {
            seq: i.seq,
            due_date: i.due_date,
            amount: format_amount(&doc.currency, i.amount),
            open_amount: format_amount(&doc.currency, open),
            status: if doc.status == DocStatus::Cancelled {
                DocStatus::Cancelled
            } else {
                DocStatus::from_open_amount(i.amount, open)
            },
        })
        .collect()
}

/// The plan of `doc` (empty: none; only invoices have one).
pub fn plan_of(conn: &mut PgConnection, tenant_id: Uuid, doc: &Document) -> AppResult<Vec<Instalment>> {
    if doc.doc_type != DocType::Invoice {
        return Ok(Vec::new());
    }
    Ok(instalments_db::of_document(conn, tenant_id, doc.id)?)
}

/// The plans of `docs` (documents without one are absent), in one query.
pub fn plans_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    docs: &[&Document],
) -> AppResult<HashMap<Uuid, Vec<Instalment>>> {
    let ids: Vec<Uuid> = docs.iter().filter(|d| d.doc_type == DocType::Invoice).map(|d| d.id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(instalments_db::of_documents(conn, tenant_id, &ids)?)
}
