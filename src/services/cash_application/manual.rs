//! A person applies a bank line to documents in any split, with write-offs.

use super::lock_tenant_matching;
use super::review::{allocation_view, emit_applied, AllocationView};
use crate::db::audit as audit_db;
use crate::db::cash_application::{self as cash_db, Allocation, AllocationFilter, WriteOffRow};
use crate::domain::auth::{Permission, Principal};
use crate::domain::cash_application::WriteOffReason;
use crate::domain::money::Currency;
use crate::domain::run_status::AllocationState;
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::require;
use chrono::Utc;
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ManualAllocationPart {
    pub document_id: Uuid,
    /// In the document's currency.
    pub amount: String,
    /// In the line's currency; required when the document is in another currency.
    pub line_amount: Option<String>,
    /// Settle the rest of the document with a write-off (bank_fee, discount, fx, manual) of this amount.
    pub write_off: Option<String>,
    pub write_off_reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ManualAllocation {
    pub bank_line_id: Uuid,
    pub allocations: Vec<ManualAllocationPart>,
}

/// A person applies a line to documents in any split. Everything is checked against the current
/// open amounts under the tenant's matching lock; the result is `confirmed`.
pub fn allocate_manually(
    conn: &mut PgConnection,
    principal: &Principal,
    input: ManualAllocation,
) -> AppResult<Vec<AllocationView>> {
    require(principal, Permission::WriteMatching)?;
    if input.allocations.is_empty() {
        return Err(AppError::invalid("allocations", "give at least one document"));
    }
    lock_tenant_matching(conn, principal.tenant_id)?;
    let line = cash_db::bank_line(conn, principal.tenant_id, input.bank_line_id)
        .map_err(|_| AppError::not_found("bank line"))?;
    let line_cur = Currency::parse(&line.currency).map_err(AppError::internal)?;
    let mut remaining_line = line.amount - line.applied_amount;
    let now = Utc::now();
    let by = format!("{}:{}", principal.actor.kind(), principal.actor.id());
    let (mut rows, mut wos, mut doc_ids, mut reductions) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut applied = Decimal::ZERO;
    for (i, part) in input.allocations.iter().enumerate() {
        let field = |f: &str| format!("allocations[{i}].{f}");
        let doc = cash_db::document_to_allocate(conn, principal.tenant_id, part.document_id)
            .map_err(|_| AppError::invalid(&field("document_id"), "unknown document"))?;
        let checked = check_part(part, &field, &doc, &line_cur, &line.currency)?;
        let CheckedPart { amount, signed_line, write_off } = checked;
        let (doc_id, doc_cur_code, doc_type) = (doc.id, doc.currency, doc.doc_type);
        remaining_line -= signed_line;
        applied += signed_line;
        let signed_amount = if doc_type == "credit_note" { -amount } else { amount };
        let allocation = manual_allocation(principal.tenant_id, line.id, doc_id, signed_amount, signed_line, &by, now);
        let id = allocation.id;
        rows.push(allocation);
        if write_off > Decimal::ZERO {
            // Checked in `check_part`.
            let reason = manual_reason(part).unwrap_or(WriteOffReason::Manual);
            wos.push(WriteOffRow {
                id: Uuid::now_v7(),
                tenant_id: principal.tenant_id,
                allocation_id: id,
                document_id: doc_id,
                amount: write_off,
                currency: doc_cur_code.clone(),
                reason,
                created_at: now,
                reversed_at: None,
            });
        }
        doc_ids.push(doc_id);
        reductions.push(amount + write_off);
    }
    if remaining_line < Decimal::ZERO {
        return Err(AppError::invalid(
            "allocations",
            format!("the line has only {} left to apply", line.amount - line.applied_amount),
        ));
    }
    cash_db::insert_allocations(conn, &rows)?;
    cash_db::insert_write_offs(conn, &wos)?;
    cash_db::apply_to_documents(conn, principal.tenant_id, &doc_ids, &reductions).map_err(
        |e| match AppError::from(e) {
            err if err.code == crate::error::ErrorCode::ValidationFailed => {
                AppError::conflict("a document appears twice with more than its open amount")
            }
            err => err,
        },
    )?;
    cash_db::apply_to_lines(conn, principal.tenant_id, &[line.id], &[applied])?;
    emit_applied(conn, principal.tenant_id, line.id, &rows, "manual")?;
    super::learning::learn(conn, principal, line.id, &rows, super::learning::How::ManualAllocation)?;
    let mut e = entry(principal, "allocation.manual", "bank_line", &line.id.to_string());
    e.after = Some(
        serde_json::json!({ "allocations": rows.iter().map(|a| a.id).collect::<Vec<_>>(), "write_offs": wos.len() }),
    );
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    let f = AllocationFilter { bank_line_id: Some(line.id), ..Default::default() };
    Ok(cash_db::list(conn, principal.tenant_id, &f)?.into_iter().map(allocation_view).collect())
}

/// A confirmed allocation a person made (`amount` signed: negative for a credit note).
fn manual_allocation(
    tenant_id: Uuid,
    bank_line_id: Uuid,
    document_id: Uuid,
    amount: Decimal,
    line_amount: Decimal,
    by: &str,
    now: chrono::DateTime<Utc>,
) -> Allocation {
    Allocation {
        id: Uuid::now_v7(),
        tenant_id,
        run_id: None,
        bank_line_id,
        document_id,
        amount,
        line_amount,
        state: AllocationState::Confirmed,
        candidate_set: 0,
        confidence: Decimal::ONE,
        rule: "manual".into(),
        explanation: serde_json::json!({"summary": "allocated by a person", "evidence": [format!("by {by}")], "rule": "manual"}),
        fx_rate: None,
        created_at: now,
        decided_at: Some(now),
        decided_by: Some(by.to_string()),
        rule_id: None,
        rule_version: None,
    }
}

/// The reason a person gave for a write-off (`manual` when none); `None` for a reason a person may
/// not give.
fn manual_reason(part: &ManualAllocationPart) -> Option<WriteOffReason> {
    match part.write_off_reason.as_deref() {
        None => Some(WriteOffReason::Manual),
        Some(text) => WriteOffReason::parse(text).filter(|r| *r != WriteOffReason::Overpayment),
    }
}

/// One part of a manual allocation, checked against the document's currency and open amount.
struct CheckedPart {
    /// In the document's currency.
    amount: Decimal,
    /// In the line's currency; negative for a credit note, which is netted.
    signed_line: Decimal,
    write_off: Decimal,
}

fn check_part(
    part: &ManualAllocationPart,
    field: &dyn Fn(&str) -> String,
    doc: &cash_db::DocumentToAllocate,
    line_cur: &Currency,
    line_currency: &str,
) -> AppResult<CheckedPart> {
    let doc_cur = Currency::parse(&doc.currency).map_err(AppError::internal)?;
    let amount = doc_cur.parse_amount(&part.amount).map_err(|e| AppError::invalid(&field("amount"), e.to_string()))?;
    if amount <= Decimal::ZERO {
        return Err(AppError::invalid(&field("amount"), "must be positive"));
    }
    let line_amount = match (&part.line_amount, doc.currency == line_currency) {
        (Some(t), _) => {
            line_cur.parse_amount(t).map_err(|e| AppError::invalid(&field("line_amount"), e.to_string()))?
        }
        (None, true) => amount,
        (None, false) => {
            return Err(AppError::invalid(&field("line_amount"), "required: the document is in another currency"))
        }
    };
    let write_off = part
        .write_off
        .as_deref()
        .map(|t| doc_cur.parse_amount(t).map_err(|e| AppError::invalid(&field("write_off"), e.to_string())))
        .transpose()?
        .unwrap_or_default();
    let signed_line = if doc.doc_type == "credit_note" { -line_amount } else { line_amount };
    let open = doc.open_amount;
    if amount + write_off > open {
        return Err(AppError::conflict(format!("document has {open} open, less than {}", amount + write_off))
            .with_details(serde_json::json!({"field": field("amount")})));
    }
    if write_off > Decimal::ZERO && manual_reason(part).is_none() {
        return Err(AppError::invalid(&field("write_off_reason"), "bank_fee, discount, fx or manual"));
    }
    Ok(CheckedPart { amount, signed_line, write_off })
}
