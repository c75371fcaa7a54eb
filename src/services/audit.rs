//! Reading and verifying the audit trail, and building entries for the use cases.

use super::require;
use crate::db::audit::{self as audit_db, AuditFilter, NewAuditEntry};
use crate::domain::audit_chain::{entry_hash, ChainedFields, GENESIS_HASH};
use crate::domain::auth::{Permission, Principal};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::Serialize;
use serde_json::Value;

pub fn entry(principal: &Principal, action: &str, entity_type: &str, entity_id: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor_type: principal.actor.kind().into(),
        actor_id: principal.actor.id(),
        action: action.into(),
        entity_type: entity_type.into(),
        entity_id: entity_id.into(),
        before: None,
        after: None,
    }
}

pub fn snapshot<T: Serialize>(value: &T) -> Option<Value> {
    serde_json::to_value(value).ok()
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct AuditEntryView {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    #[schema(value_type = Option<serde_json::Value>)]
    pub before: Option<async_graphql::Json<Value>>,
    #[schema(value_type = Option<serde_json::Value>)]
    pub after: Option<async_graphql::Json<Value>>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntryView>,
    pub next_cursor: Option<String>,
}

/// The tenant's trail, in sequence order. Pending entries are sealed first (see
/// `audit_sealer`), so the answer holds every change committed before the request; sequence
/// numbers only grow, so an `after_seq` cursor never skips an entry sealed later.
pub fn list(conn: &mut PgConnection, principal: &Principal, mut filter: AuditFilter) -> AppResult<AuditPage> {
    require(principal, Permission::Admin)?;
    super::audit_sealer::seal_tenant(conn, principal.tenant_id)?;
    let import_entry = match (filter.entity_type.as_deref(), filter.entity_id.as_deref()) {
        (Some("document"), Some(id)) => match id.parse::<uuid::Uuid>() {
            Ok(id) => audit_db::import_entry_naming(conn, principal.tenant_id, id)?,
            Err(_) => None,
        },
        _ => None,
    };
    let or_entity = import_entry.as_deref().map(|e| ("document_import", e));
    let limit = filter.limit;
    filter.limit = limit + 1;
    let mut rows = audit_db::list(conn, principal.tenant_id, &filter, or_entity)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.seq.to_string()) } else { None };
    let items = rows
        .into_iter()
        .map(|r| AuditEntryView {
            seq: r.seq,
            occurred_at: r.occurred_at,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            action: r.action,
            entity_type: r.entity_type,
            entity_id: r.entity_id,
            before: r.before.map(async_graphql::Json),
            after: r.after.map(async_graphql::Json),
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
        .collect();
    Ok(AuditPage { items, next_cursor })
}

#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct ChainVerification {
    pub valid: bool,
    pub entries_checked: i64,
    /// The first entry whose hash or link does not match, when `valid` is false.
    pub first_broken_seq: Option<i64>,
    pub head_hash: String,
}

/// Recomputes every hash of the tenant's sealed chain in order and checks the links and the head.
/// Pending (not yet sealed) entries are not part of the chain yet.
pub fn verify_chain(conn: &mut PgConnection, tenant_id: uuid::Uuid) -> AppResult<ChainVerification> {
    let mut expected_prev = GENESIS_HASH.to_string();
    let mut expected_seq = 0i64;
    let mut checked = 0i64;
    let broken = |seq: i64, checked: i64, head: &str| ChainVerification {
        valid: false,
        entries_checked: checked,
        first_broken_seq: Some(seq),
        head_hash: head.to_string(),
    };
    loop {
        let page = audit_db::chain_page(conn, tenant_id, expected_seq, 5000)?;
        if page.is_empty() {
            break;
        }
        for row in page {
            expected_seq += 1;
            checked += 1;
            let recomputed = entry_hash(&ChainedFields {
                tenant_id,
                seq: row.seq,
                occurred_at: row.occurred_at,
                actor_type: &row.actor_type,
                actor_id: &row.actor_id,
                action: &row.action,
                entity_type: &row.entity_type,
                entity_id: &row.entity_id,
                before: row.before.as_ref(),
                after: row.after.as_ref(),
                prev_hash: &row.prev_hash,
            });
            if row.seq != expected_seq || row.prev_hash != expected_prev || recomputed != row.hash {
                return Ok(broken(expected_seq, checked, &expected_prev));
            }
            expected_prev = row.hash;
        }
    }
    // A deleted tail would leave a consistent but shorter chain: the head row catches it.
    let head = audit_db::chain_head(conn, tenant_id)?;
    if let Some((last_seq, last_hash)) = head {
        if last_seq != expected_seq || last_hash != expected_prev {
            return Ok(broken(expected_seq + 1, checked, &expected_prev));
        }
    } else if checked > 0 {
        return Err(AppError::internal("audit entries without a chain head"));
    }
    Ok(ChainVerification { valid: true, entries_checked: checked, first_broken_seq: None, head_hash: expected_prev })
}

/// Seals the tenant's pending entries, then verifies the whole chain.
pub fn verify(conn: &mut PgConnection, principal: &Principal) -> AppResult<ChainVerification> {
    require(principal, Permission::Admin)?;
    super::audit_sealer::seal_tenant(conn, principal.tenant_id)?;
    verify_chain(conn, principal.tenant_id)
}

#[derive(Debug, Serialize)]
pub struct TenantChainReport {
    pub tenant_id: uuid::Uuid,
    pub valid: bool,
    pub entries_checked: i64,
    pub first_broken_seq: Option<i64>,
}

/// Verifies the chains of all tenants (operator command, not an API).
pub fn verify_all(conn: &mut PgConnection) -> AppResult<Vec<TenantChainReport>> {
    let ids = crate::db::tenants::all_ids(conn)?;
    let mut out = Vec::with_capacity(ids.len());
    for tenant_id in ids {
        let v = verify_chain(conn, tenant_id)?;
        out.push(TenantChainReport {
            tenant_id,
            valid: v.valid,
            entries_checked: v.entries_checked,
            first_broken_seq: v.first_broken_seq,
        });
    }
    Ok(out)
}
