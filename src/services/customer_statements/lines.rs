//! The lines of a stored statement as they were read, each with what it was paired with and
//! why (a fuzzy reference says so), for a clerk checking the reconciliation line by line.

use crate::db::customer_statements as st_db;
use crate::domain::auth::{Permission, Principal};
use crate::domain::money::format_amount;
use crate::error::{AppError, AppResult};
use crate::services::pagination::effective_limit;
use crate::services::require;
use chrono::NaiveDate;
use diesel::PgConnection;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementLineView {
    /// The line of the file (CSV) or the position in the JSON list.
    pub line_no: i32,
    pub their_ref: String,
    pub our_ref: Option<String>,
    pub text: String,
    pub date: NaiveDate,
    pub kind: String,
    /// The kind was read from the amount's side, not stated by a document type.
    pub kind_inferred: bool,
    pub amount: String,
    pub currency: String,
    /// Our items it was paired with (`A + B` for a group); absent: not paired, see the differences.
    pub matched_ref: Option<String>,
    pub match_rule: Option<String>,
    /// Why, in words.
    pub match_explanation: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementLinePage {
    pub items: Vec<StatementLineView>,
    pub next_cursor: Option<String>,
}

pub fn list(
    conn: &mut PgConnection,
    principal: &Principal,
    statement_id: Uuid,
    cursor: Option<&str>,
    limit: Option<i64>,
    max: i64,
) -> AppResult<StatementLinePage> {
    require(principal, Permission::Read)?;
    st_db::find(conn, principal.tenant_id, statement_id).map_err(|_| AppError::not_found("statement"))?;
    let limit = effective_limit(limit, max)?;
    let after = cursor
        .map(|c| c.parse::<i32>().map_err(|_| AppError::invalid("cursor", "not a cursor of this list")))
        .transpose()?;
    let mut rows = st_db::lines(conn, principal.tenant_id, statement_id, after, limit.saturating_add(1))?;
    let next_cursor = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.line_no.to_string()).unwrap_or_default()
    });
    let items = rows
        .into_iter()
        .map(|r| StatementLineView {
            line_no: r.line_no,
            amount: format_amount(&r.currency, r.amount),
            their_ref: r.their_ref,
            our_ref: r.our_ref,
            text: r.text,
            date: r.entry_date,
            kind: r.kind.as_str().to_string(),
            kind_inferred: r.kind_inferred,
            currency: r.currency,
            matched_ref: r.matched_ref,
            match_rule: r.match_rule,
            match_explanation: r.match_explanation,
        })
        .collect();
    Ok(StatementLinePage { items, next_cursor })
}
