//! Learned facts through the API: list, read with provenance, revoke (audited).

use super::learning::learning_settings;
use crate::db::audit as audit_db;
use crate::db::customers as customers_db;
use crate::db::learned_facts::{self as facts_db, FactFilter, FactRow};
use crate::domain::auth::{Permission, Principal};
use crate::domain::cash_application::engine::{LearnedKind, LearnedSettings};
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::pagination::{effective_limit, page, parse_cursor, Page};
use crate::services::require;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct LearnedFactView {
    pub id: Uuid,
    /// payer_iban (the IBAN pays for the customer), payer_name (the payer name does),
    /// combined_payments (the customer pays several invoices with one amount, no reference),
    /// oldest_first (of equal open invoices, the customer pays the oldest first) or
    /// reference_format (the customer quotes our numbers in this shape).
    pub kind: String,
    /// The IBAN (upper-case, no spaces), the payer name as matching normalises it, or the
    /// reference format (`R{n}/99`: `{n}` the running number, `9` any digit); empty for
    /// combined_payments and oldest_first.
    pub key: String,
    pub customer_code: String,
    /// Distinct bank lines a person applied to the customer.
    pub confirmations: i32,
    /// Distinct bank lines a person refused for the customer (rejected proposals, unapplied
    /// automatic allocations) or, for oldest_first, paid a later one of equal open invoices.
    pub rejections: i32,
    /// Confirmed at least as often as the tenant's setting asks, never rejected, not revoked. A
    /// run still ignores it where master data decides (an IBAN master data knows, a line whose
    /// IBAN belongs to another customer) or where other facts about the payer disagree.
    pub meets_threshold: bool,
    pub last_confirmed_at: Option<DateTime<Utc>>,
    /// `user:<id>` or `api_key:<id>`.
    pub last_confirmed_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct LearnedFactSourceView {
    pub id: Uuid,
    /// confirmed_proposal, manual_allocation (positive); rejected_proposal, unapplied_allocation
    /// (negative).
    pub how: String,
    pub bank_line_id: Uuid,
    /// The bank's line reference.
    pub line_id: Option<String>,
    /// The (first) allocation the person decided on.
    pub allocation_id: Uuid,
    /// `user:<id>` or `api_key:<id>`.
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// A learned fact with its provenance, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct LearnedFactDetail {
    pub fact: LearnedFactView,
    pub sources: Vec<LearnedFactSourceView>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LearnedFactQuery {
    /// payer_iban, payer_name, combined_payments, oldest_first or reference_format.
    pub kind: Option<String>,
    /// Customer code.
    pub customer: Option<String>,
    /// Also revoked facts (default: live ones only).
    pub include_revoked: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn fact_view(row: FactRow, settings: &LearnedSettings) -> LearnedFactView {
    let (f, customer_code) = row;
    let min = match LearnedKind::parse(&f.kind) {
        Some(LearnedKind::PayerIban) => settings.min_iban,
        Some(LearnedKind::PayerName | LearnedKind::ReferenceFormat) => settings.min_name,
        _ => settings.min_combined,
    };
    LearnedFactView {
        meets_threshold: f.revoked_at.is_none() && f.rejections == 0 && f.confirmations >= min as i32,
        id: f.id,
        kind: f.kind,
        key: f.key,
        customer_code,
        confirmations: f.confirmations,
        rejections: f.rejections,
        last_confirmed_at: f.last_confirmed_at,
        last_confirmed_by: f.last_confirmed_by,
        revoked_at: f.revoked_at,
        revoked_by: f.revoked_by,
        created_at: f.created_at,
    }
}

pub fn list_learned_facts(
    conn: &mut PgConnection,
    principal: &Principal,
    q: LearnedFactQuery,
    max: i64,
) -> AppResult<Page<LearnedFactView>> {
    require(principal, Permission::Read)?;
    let limit = effective_limit(q.limit, max)?;
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(LearnedKind::parse(k).ok_or_else(|| {
            AppError::invalid(
                "kind",
                format!(
                    "unknown kind {k:?}; one of payer_iban, payer_name, combined_payments, oldest_first, \
                     reference_format"
                ),
            )
        })?),
    };
    let customer_id = match q.customer.as_deref() {
        None => None,
        Some(code) => Some(
            customers_db::find_by_code(conn, principal.tenant_id, code)
                .map_err(|_| AppError::not_found(format!("customer {code:?}")))?
                .id,
        ),
    };
    let f = FactFilter {
        kind: kind.map(|k| k.as_str().to_string()),
        customer_id,
        include_revoked: q.include_revoked.unwrap_or(false),
        after: parse_cursor(q.cursor.as_deref())?,
        limit: Some(limit + 1),
    };
    let settings = learning_settings(conn, principal.tenant_id)?.1;
    let rows = facts_db::list(conn, principal.tenant_id, &f)?;
    Ok(page(rows, limit, |r| r.0.id, |r| fact_view(r, &settings)))
}

pub fn get_learned_fact(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<LearnedFactDetail> {
    require(principal, Permission::Read)?;
    detail(conn, principal.tenant_id, id)
}

fn detail(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> AppResult<LearnedFactDetail> {
    let row = facts_db::find(conn, tenant_id, id).map_err(|_| AppError::not_found("learned fact"))?;
    let settings = learning_settings(conn, tenant_id)?.1;
    let sources = facts_db::sources_of(conn, tenant_id, id)?
        .into_iter()
        .map(|(s, line_id)| LearnedFactSourceView {
            id: s.id,
            how: s.how,
            bank_line_id: s.bank_line_id,
            line_id,
            allocation_id: s.allocation_id,
            actor: s.actor,
            created_at: s.created_at,
        })
        .collect();
    Ok(LearnedFactDetail { fact: fact_view(row, &settings), sources })
}

/// Revokes a fact: runs no longer use it, and it is not learned again from the lines it came
/// from (a later confirmation of another line starts a new fact). Revoking twice is a 409.
pub fn revoke_learned_fact(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<LearnedFactDetail> {
    require(principal, Permission::WriteMatching)?;
    let before = detail(conn, principal.tenant_id, id)?;
    let by = format!("{}:{}", principal.actor.kind(), principal.actor.id());
    if !facts_db::revoke(conn, principal.tenant_id, id, &by, Utc::now())? {
        return Err(AppError::conflict("the learned fact is already revoked"));
    }
    let after = detail(conn, principal.tenant_id, id)?;
    let mut e = entry(principal, "learned_fact.revoked", "learned_fact", &id.to_string());
    e.before = audit_snapshot(&before.fact);
    e.after = audit_snapshot(&after.fact);
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(after)
}

/// The fact as the audit trail keeps it: an IBAN only as a SHA-256 prefix (the trail is never
/// rewritten, and erasure must be able to take accounts out of everything else).
fn audit_snapshot(f: &LearnedFactView) -> Option<serde_json::Value> {
    let key = if f.kind == LearnedKind::PayerIban.as_str() {
        use sha2::Digest;
        format!("sha256:{}", &hex::encode(sha2::Sha256::digest(f.key.as_bytes()))[..16])
    } else {
        f.key.clone()
    };
    Some(serde_json::json!({
        "kind": f.kind, "key": key, "customer_code": f.customer_code, "confirmations": f.confirmations,
        "rejections": f.rejections, "revoked_at": f.revoked_at, "revoked_by": f.revoked_by,
    }))
}
