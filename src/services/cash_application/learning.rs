//! Learning from people: what a confirmation, a manual allocation or a rejection teaches about a
//! payer is recorded as learned facts with provenance, in the reviewer's own transaction;
//! unapplying what a person applied takes back what was learned from it. A run reads the live
//! facts through [`for_engine`].

use crate::db::cash_application::{self as cash_db, Allocation};
use crate::db::learned_facts::{self as facts_db, Source, TAUGHT_BY_APPLYING};
use crate::domain::auth::Principal;
use crate::domain::cash_application::engine::{lessons, LearnedFact, LearnedKind, LearnedSettings};
use crate::error::AppResult;
use chrono::Utc;
use diesel::PgConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

/// How a person decided on a line: the provenance's `how`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum How {
    ConfirmedProposal,
    ManualAllocation,
    RejectedProposal,
    /// An allocation the engine applied on its own, unapplied by a person.
    UnappliedAllocation,
    /// Of equal open invoices a person paid a later one (against "the oldest first").
    ChoseLaterItem,
}

impl How {
    fn as_str(self) -> &'static str {
        match self {
            How::ConfirmedProposal => "confirmed_proposal",
            How::ManualAllocation => "manual_allocation",
            How::RejectedProposal => "rejected_proposal",
            How::UnappliedAllocation => "unapplied_allocation",
            How::ChoseLaterItem => "chose_later_item",
        }
    }
}

/// The tenant's learning switch and thresholds (defaults when it never saved settings).
pub(super) fn learning_settings(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<(bool, LearnedSettings)> {
    let s = cash_db::settings(conn, tenant_id)?.unwrap_or_else(|| super::settings::default_settings(tenant_id));
    let min = |n: i32| n.max(1) as u32;
    Ok((
        s.learning_enabled,
        LearnedSettings {
            min_iban: min(s.learned_iban_min_confirmations),
            min_name: min(s.learned_name_min_confirmations),
            min_combined: min(s.learned_combined_min_confirmations),
        },
    ))
}

/// Records what a person's decision on the allocations `allocs` of one bank line teaches: the
/// payer IBAN and name (and, for several invoices paid with one unquoted amount, the habit) for
/// the one customer the documents belong to; nothing when they belong to several, or when the
/// tenant switched learning off. Positive for a confirmation or manual allocation, negative for
/// a rejection.
pub(super) fn learn(
    conn: &mut PgConnection,
    principal: &Principal,
    bank_line_id: Uuid,
    allocs: &[Allocation],
    how: How,
) -> AppResult<()> {
    let tenant = principal.tenant_id;
    let Some(first) = allocs.iter().map(|a| a.id).min() else { return Ok(()) };
    if !learning_settings(conn, tenant)?.0 {
        return Ok(());
    }
    let doc_ids: Vec<Uuid> = allocs.iter().map(|a| a.document_id).collect();
    let docs = cash_db::allocated_documents(conn, tenant, &doc_ids)?;
    let Some(customer) = docs.first().map(|d| d.customer_id) else { return Ok(()) };
    if docs.iter().any(|d| d.customer_id != customer) {
        return Ok(());
    }
    let paid: Vec<&str> = allocs
        .iter()
        .filter(|a| a.amount > Decimal::ZERO)
        .filter_map(|a| docs.iter().find(|d| d.id == a.document_id).map(|d| d.doc_no.as_str()))
        .collect();
    let line = cash_db::bank_line(conn, tenant, bank_line_id)?;
    let texts: Vec<&str> = [&line.remittance, &line.creditor_reference, &line.end_to_end_id]
        .into_iter()
        .flatten()
        .map(|s| s.as_str())
        .collect();
    let mut taught: Vec<(LearnedKind, String, How)> =
        lessons(line.counterparty_iban.as_deref(), line.counterparty_name.as_deref(), &texts, &paid)
            .into_iter()
            .map(|(kind, key)| (kind, key, how))
            .collect();
    if matches!(how, How::ConfirmedProposal | How::ManualAllocation) {
        if let Some(oldest) = oldest_first_lesson(conn, tenant, customer, allocs, &docs)? {
            taught.push((LearnedKind::OldestFirst, String::new(), if oldest { how } else { How::ChoseLaterItem }));
        }
    }
    let now = Utc::now();
    let actor = format!("{}:{}", principal.actor.kind(), principal.actor.id());
    let (mut sources, mut touched) = (Vec::new(), Vec::new());
    for (kind, key, how) in taught {
        if facts_db::revoked_from_line(conn, tenant, kind.as_str(), &key, customer, bank_line_id)? {
            continue;
        }
        let fact_id = facts_db::live_fact(conn, tenant, kind.as_str(), &key, customer, now)?;
        sources.push(Source {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            fact_id,
            how: how.as_str().to_string(),
            bank_line_id,
            allocation_id: first,
            actor: actor.clone(),
            created_at: now,
        });
        touched.push(fact_id);
    }
    facts_db::insert_sources(conn, &sources)?;
    facts_db::recount(conn, tenant, &touched)?;
    Ok(())
}

/// When a person paid one invoice in full while other open invoices of the customer have the same
/// amount: whether the one paid is the oldest (a confirmation of "the oldest first") or a later
/// one (false: evidence against it). None when there was no such choice.
fn oldest_first_lesson(
    conn: &mut PgConnection,
    tenant: Uuid,
    customer: Uuid,
    allocs: &[Allocation],
    docs: &[cash_db::AllocatedDocument],
) -> AppResult<Option<bool>> {
    let paying: Vec<&Allocation> = allocs.iter().filter(|a| a.amount > Decimal::ZERO).collect();
    let [one] = paying.as_slice() else { return Ok(None) };
    let Some(doc) = docs.iter().find(|d| d.id == one.document_id) else { return Ok(None) };
    let (mine, others) = cash_db::equal_open_invoices(conn, tenant, customer, doc.id, &doc.currency, one.amount)?;
    let Some(mine) = mine else { return Ok(None) };
    if others.is_empty() {
        return Ok(None);
    }
    let older = |a: &cash_db::DocumentAge, b: &cash_db::DocumentAge| (a.0, a.1, &a.2) < (b.0, b.1, &b.2);
    Ok(Some(others.iter().all(|o| older(&mine, o))))
}

/// Takes back what was learned from a person's confirmation or manual allocation of these
/// allocations (they are being unapplied): the provenance goes, the counts drop, and a fact
/// nothing supports any more disappears. Done whether or not learning is on.
pub(super) fn forget(conn: &mut PgConnection, tenant_id: Uuid, allocation_ids: &[Uuid]) -> AppResult<()> {
    let mut touched = facts_db::remove_sources(conn, tenant_id, allocation_ids, &TAUGHT_BY_APPLYING)?;
    touched.sort_unstable();
    touched.dedup();
    facts_db::recount(conn, tenant_id, &touched)?;
    Ok(())
}

/// The live facts for a run, or none when the tenant switched learning off.
pub(super) fn for_engine(
    conn: &mut PgConnection,
    tenant_id: Uuid,
) -> AppResult<Option<(Vec<LearnedFact>, LearnedSettings)>> {
    let (enabled, settings) = learning_settings(conn, tenant_id)?;
    if !enabled {
        return Ok(None);
    }
    let facts = facts_db::for_matching(conn, tenant_id)?
        .into_iter()
        .filter_map(|f| {
            Some(LearnedFact {
                id: f.id,
                kind: LearnedKind::parse(&f.kind)?,
                key: f.key,
                customer_id: f.customer_id,
                customer_label: f.customer_code,
                confirmations: f.confirmations.max(0) as u32,
                rejections: f.rejections.max(0) as u32,
                last_confirmed_by: f.last_confirmed_by,
                last_confirmed_on: f.last_confirmed_at.map(|t| t.date_naive()),
                source_ibans: f.source_ibans,
            })
        })
        .collect();
    Ok(Some((facts, settings)))
}
