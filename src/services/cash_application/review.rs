//! Allocations and their review: list, export, confirm a proposal, reject or unapply.

use super::learning::{self, How};
use super::lock_tenant_matching;
use crate::db::audit as audit_db;
use crate::db::cash_application::{self as cash_db, Allocation, AllocationFilter};
use crate::domain::auth::{Permission, Principal};
use crate::domain::money::format_amount;
use crate::domain::run_status::AllocationState;
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::events::{self, EventType};
use crate::services::pagination::{effective_limit, parse_cursor};
use crate::services::require;
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct AllocationView {
    pub id: Uuid,
    pub reconciliation_id: Option<Uuid>,
    pub bank_line_id: Uuid,
    /// The bank's line reference.
    pub line_id: Option<String>,
    pub document_id: Uuid,
    pub doc_no: String,
    /// In the document's currency.
    pub amount: String,
    pub currency: String,
    pub line_amount: String,
    /// auto_applied, proposed, confirmed or rejected.
    pub state: String,
    /// Proposals of one line come in candidate sets; 0 is the best.
    pub candidate_set: i32,
    pub confidence: String,
    pub rule: String,
    #[schema(value_type = Object)]
    pub explanation: async_graphql::Json<serde_json::Value>,
    pub fx_rate: Option<String>,
    /// What the built-in matching relied on (references, IBAN, names, amounts).
    pub evidence: Vec<String>,
    /// What the tenant's matching rules contributed, apart from the built-in evidence.
    pub rule_evidence: Vec<String>,
    /// What facts learned from people's earlier decisions contributed.
    pub learned_evidence: Vec<String>,
    /// The tenant's matching rule (and the version in force) that shaped the allocation, if one did.
    pub matching_rule: Option<MatchingRuleRef>,
}

/// A matching rule as an allocation names it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct MatchingRuleRef {
    pub id: Uuid,
    pub version: i32,
    /// Its name when the allocation was made.
    pub name: String,
}

/// A list of sentences out of the stored explanation.
fn sentences(explanation: &serde_json::Value, key: &str) -> Vec<String> {
    explanation[key]
        .as_array()
        .map(|v| v.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

pub(super) fn allocation_view(row: cash_db::AllocationRow) -> AllocationView {
    let cash_db::AllocationRow {
        allocation: a,
        line_reference: line_ref,
        line_currency,
        doc_no,
        doc_currency: currency,
    } = row;
    let evidence = sentences(&a.explanation, "evidence");
    let rule_evidence = sentences(&a.explanation, "rule_evidence");
    let learned_evidence = sentences(&a.explanation, "learned_evidence");
    let matching_rule = a.rule_id.zip(a.rule_version).map(|(id, version)| MatchingRuleRef {
        id,
        version,
        name: a.explanation["matching_rule"]["name"].as_str().unwrap_or_default().to_string(),
    });
    AllocationView {
        evidence,
        rule_evidence,
        learned_evidence,
        matching_rule,
        id: a.id,
        reconciliation_id: a.run_id,
        bank_line_id: a.bank_line_id,
        line_id: line_ref,
        document_id: a.document_id,
        doc_no,
        amount: format_amount(&currency, a.amount),
        line_amount: format_amount(&line_currency, a.line_amount),
        currency,
        state: a.state.as_str().into(),
        candidate_set: a.candidate_set,
        confidence: a.confidence.normalize().to_string(),
        rule: a.rule,
        explanation: async_graphql::Json(a.explanation),
        fx_rate: a.fx_rate.map(|r| r.normalize().to_string()),
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AllocationQuery {
    pub reconciliation_id: Option<Uuid>,
    pub bank_line_id: Option<Uuid>,
    /// auto_applied, proposed, confirmed or rejected.
    pub state: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AllocationPage {
    pub items: Vec<AllocationView>,
    pub next_cursor: Option<String>,
}

fn filter_of(q: &AllocationQuery) -> AppResult<AllocationFilter> {
    let state = match &q.state {
        None => None,
        Some(s) => {
            Some(AllocationState::parse(s).ok_or_else(|| AppError::invalid("state", format!("unknown state {s:?}")))?)
        }
    };
    Ok(AllocationFilter {
        run_id: q.reconciliation_id,
        bank_line_id: q.bank_line_id,
        state,
        after: parse_cursor(q.cursor.as_deref())?,
        limit: None,
    })
}

pub fn list_allocations(
    conn: &mut PgConnection,
    principal: &Principal,
    q: AllocationQuery,
    max: i64,
) -> AppResult<AllocationPage> {
    require(principal, Permission::Read)?;
    let limit = effective_limit(q.limit, max)?;
    let mut f = filter_of(&q)?;
    f.limit = Some(limit + 1);
    let rows = cash_db::list(conn, principal.tenant_id, &f)?;
    let p = crate::services::pagination::page(rows, limit, |r| r.allocation.id, allocation_view);
    Ok(AllocationPage { items: p.items, next_cursor: p.next_cursor })
}

/// Every matching allocation as CSV: `line_id,doc_no,amount,state,confidence`.
pub fn allocations_csv(conn: &mut PgConnection, principal: &Principal, q: AllocationQuery) -> AppResult<Vec<u8>> {
    require(principal, Permission::Read)?;
    let f = filter_of(&q)?;
    let mut w = crate::reports::csv_cell::CsvWriter::new();
    w.row(["line_id", "doc_no", "amount", "state", "confidence"]).map_err(AppError::internal)?;
    for row in cash_db::list(conn, principal.tenant_id, &f)? {
        let v = allocation_view(row);
        w.row([v.line_id.unwrap_or_default(), v.doc_no, v.amount, v.state, v.confidence])
            .map_err(AppError::internal)?;
    }
    w.finish().map_err(AppError::internal)
}

/// Confirms a proposal: the allocations of its candidate set are applied, the line's other
/// proposals are rejected. Refused when the open amounts moved on since it was proposed.
pub fn confirm(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<Vec<AllocationView>> {
    require(principal, Permission::WriteMatching)?;
    lock_tenant_matching(conn, principal.tenant_id)?;
    let chosen =
        cash_db::find_for_update(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("allocation"))?;
    if chosen.state != AllocationState::Proposed {
        return Err(AppError::conflict(format!(
            "only proposed allocations can be confirmed; this one is {}",
            chosen.state.as_str()
        )));
    }
    let of_line = cash_db::of_line_for_update(conn, principal.tenant_id, chosen.bank_line_id)?;
    let set: Vec<&Allocation> = of_line
        .iter()
        .filter(|a| {
            a.state == AllocationState::Proposed && a.candidate_set == chosen.candidate_set && a.run_id == chosen.run_id
        })
        .collect();
    let others: Vec<Uuid> = of_line
        .iter()
        .filter(|a| a.state == AllocationState::Proposed && !set.iter().any(|s| s.id == a.id))
        .map(|a| a.id)
        .collect();
    let ids: Vec<Uuid> = set.iter().map(|a| a.id).collect();
    let doc_ids: Vec<Uuid> = set.iter().map(|a| a.document_id).collect();
    let reductions: Vec<Decimal> = set.iter().map(|a| a.amount.abs()).collect();
    let applied: Decimal = set.iter().map(|a| a.line_amount).sum();
    cash_db::apply_to_documents(conn, principal.tenant_id, &doc_ids, &reductions).map_err(
        |e| match AppError::from(e) {
            err if err.code == crate::error::ErrorCode::ValidationFailed => {
                AppError::conflict("a document no longer has enough open amount for this proposal")
            }
            err => err,
        },
    )?;
    cash_db::apply_to_lines(conn, principal.tenant_id, &[chosen.bank_line_id], &[applied]).map_err(|e| {
        match AppError::from(e) {
            err if err.code == crate::error::ErrorCode::ValidationFailed => {
                AppError::conflict("the bank line is already applied")
            }
            err => err,
        }
    })?;
    let by = format!("{}:{}", principal.actor.kind(), principal.actor.id());
    cash_db::set_state(conn, principal.tenant_id, &ids, AllocationState::Confirmed, &by)?;
    cash_db::set_state(conn, principal.tenant_id, &others, AllocationState::Rejected, &by)?;
    let decided: Vec<Allocation> = set.iter().map(|a| (*a).clone()).collect();
    learning::learn(conn, principal, chosen.bank_line_id, &decided, How::ConfirmedProposal)?;
    let mut e = entry(principal, "allocation.confirmed", "bank_line", &chosen.bank_line_id.to_string());
    e.after = Some(serde_json::json!({ "confirmed": ids, "rejected": others }));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    emit_applied(conn, principal.tenant_id, chosen.bank_line_id, &decided, "confirmed")?;
    let f = AllocationFilter { bank_line_id: Some(chosen.bank_line_id), ..Default::default() };
    Ok(cash_db::list(conn, principal.tenant_id, &f)?.into_iter().map(allocation_view).collect())
}

/// Rejects a proposal's candidate set, or unapplies an applied allocation (with its write-offs),
/// restoring open amounts and the line.
pub fn reject(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<Vec<AllocationView>> {
    require(principal, Permission::WriteMatching)?;
    lock_tenant_matching(conn, principal.tenant_id)?;
    let chosen =
        cash_db::find_for_update(conn, principal.tenant_id, id).map_err(|_| AppError::not_found("allocation"))?;
    let of_line = cash_db::of_line_for_update(conn, principal.tenant_id, chosen.bank_line_id)?;
    let by = format!("{}:{}", principal.actor.kind(), principal.actor.id());
    let action = match chosen.state {
        AllocationState::Proposed => {
            let ids: Vec<Uuid> = of_line
                .iter()
                .filter(|a| {
                    a.state == AllocationState::Proposed
                        && a.candidate_set == chosen.candidate_set
                        && a.run_id == chosen.run_id
                })
                .map(|a| a.id)
                .collect();
            cash_db::set_state(conn, principal.tenant_id, &ids, AllocationState::Rejected, &by)?;
            let set: Vec<Allocation> = of_line.iter().filter(|a| ids.contains(&a.id)).cloned().collect();
            learning::learn(conn, principal, chosen.bank_line_id, &set, How::RejectedProposal)?;
            "allocation.rejected"
        }
        AllocationState::AutoApplied | AllocationState::Confirmed => {
            // Unapply the whole applied group of the line: they were decided together.
            let group: Vec<&Allocation> =
                of_line.iter().filter(|a| a.state.is_applied() && a.run_id == chosen.run_id).collect();
            let ids: Vec<Uuid> = group.iter().map(|a| a.id).collect();
            let wos = cash_db::write_offs_of(conn, principal.tenant_id, &ids)?;
            let mut restore: HashMap<Uuid, Decimal> = HashMap::new();
            for a in &group {
                *restore.entry(a.document_id).or_default() -= a.amount.abs();
            }
            for w in &wos {
                *restore.entry(w.document_id).or_default() -= w.amount;
            }
            let (doc_ids, deltas): (Vec<Uuid>, Vec<Decimal>) = restore.into_iter().unzip();
            cash_db::apply_to_documents(conn, principal.tenant_id, &doc_ids, &deltas)?;
            let applied: Decimal = group.iter().map(|a| a.line_amount).sum();
            cash_db::apply_to_lines(conn, principal.tenant_id, &[chosen.bank_line_id], &[-applied])?;
            cash_db::reverse_write_offs(conn, principal.tenant_id, &wos.iter().map(|w| w.id).collect::<Vec<_>>())?;
            cash_db::set_state(conn, principal.tenant_id, &ids, AllocationState::Rejected, &by)?;
            crate::services::promises::on_unapplied(conn, principal, &doc_ids)?;
            // What a person's decision taught goes with it; an automatic one undone argues against its payer.
            learning::forget(conn, principal.tenant_id, &ids)?;
            if group.iter().any(|a| a.state == AllocationState::AutoApplied) {
                let undone: Vec<Allocation> = group.iter().map(|a| (*a).clone()).collect();
                learning::learn(conn, principal, chosen.bank_line_id, &undone, How::UnappliedAllocation)?;
            }
            "allocation.unapplied"
        }
        AllocationState::Rejected => return Err(AppError::conflict("allocation is already rejected")),
    };
    let mut e = entry(principal, action, "bank_line", &chosen.bank_line_id.to_string());
    e.after = Some(serde_json::json!({ "allocation": id }));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    let f = AllocationFilter { bank_line_id: Some(chosen.bank_line_id), ..Default::default() };
    Ok(cash_db::list(conn, principal.tenant_id, &f)?.into_iter().map(allocation_view).collect())
}

/// The `allocation.applied` event of a review action (confirm, manual allocation). It concerns one
/// customer when all the documents belong to one. Called once the allocations are applied, it
/// also measures the customers' promises to pay against them (the run does so in `execute`).
pub(super) fn emit_applied(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    bank_line_id: Uuid,
    applied: &[Allocation],
    how: &str,
) -> AppResult<()> {
    let doc_ids: Vec<Uuid> = applied.iter().map(|a| a.document_id).collect();
    crate::services::promises::on_applied(conn, tenant_id, &doc_ids)?;
    let docs = cash_db::allocated_documents(conn, tenant_id, &doc_ids)?;
    let by_id: HashMap<Uuid, &cash_db::AllocatedDocument> = docs.iter().map(|d| (d.id, d)).collect();
    let customers: std::collections::HashSet<Uuid> = docs.iter().map(|d| d.customer_id).collect();
    let customer_id = if customers.len() == 1 { customers.into_iter().next() } else { None };
    let items: Vec<serde_json::Value> = applied
        .iter()
        .map(|a| {
            let doc = by_id.get(&a.document_id);
            let currency = doc.map(|d| d.currency.clone()).unwrap_or_default();
            serde_json::json!({
                "allocation_id": a.id,
                "document_id": a.document_id,
                "doc_no": doc.map(|d| d.doc_no.clone()),
                "amount": format_amount(&currency, a.amount),
                "currency": currency,
            })
        })
        .collect();
    events::emit(
        conn,
        tenant_id,
        customer_id,
        EventType::AllocationApplied,
        serde_json::json!({ "bank_line_id": bank_line_id, "how": how, "allocations": items }),
    )?;
    Ok(())
}
