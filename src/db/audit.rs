//! Appending to and reading the audit trail. Appends lock the tenant's chain head until commit,
//! so entries get consecutive sequence numbers in commit order.

use super::schema::{audit_chain_heads, audit_log};
use crate::domain::audit_chain::{entry_hash, truncate_to_micros, ChainedFields, GENESIS_HASH};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub tenant_id: Uuid,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub prev_hash: String,
    pub hash: String,
}

/// One change to record; the chain fields are filled in by `append`.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub actor_type: String,
    pub actor_id: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub fn append(conn: &mut PgConnection, tenant_id: Uuid, entries: Vec<NewAuditEntry>) -> QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    diesel::insert_into(audit_chain_heads::table)
        .values((
            audit_chain_heads::tenant_id.eq(tenant_id),
            audit_chain_heads::last_seq.eq(0i64),
            audit_chain_heads::last_hash.eq(GENESIS_HASH),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    let (mut seq, mut prev_hash): (i64, String) = audit_chain_heads::table
        .find(tenant_id)
        .select((audit_chain_heads::last_seq, audit_chain_heads::last_hash))
        .for_update()
        .first(conn)?;
    let occurred_at = truncate_to_micros(Utc::now());
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        let hash = entry_hash(&ChainedFields {
            tenant_id,
            seq,
            occurred_at,
            actor_type: &e.actor_type,
            actor_id: &e.actor_id,
            action: &e.action,
            entity_type: &e.entity_type,
            entity_id: &e.entity_id,
            before: e.before.as_ref(),
            after: e.after.as_ref(),
            prev_hash: &prev_hash,
        });
        rows.push(AuditRow {
            tenant_id,
            seq,
            occurred_at,
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            before: e.before,
            after: e.after,
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        });
    }
    for chunk in rows.chunks(4000) {
        diesel::insert_into(audit_log::table).values(chunk).execute(conn)?;
    }
    diesel::update(audit_chain_heads::table.find(tenant_id))
        .set((audit_chain_heads::last_seq.eq(seq), audit_chain_heads::last_hash.eq(prev_hash)))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    pub after_seq: Option<i64>,
    pub limit: i64,
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid, f: &AuditFilter) -> QueryResult<Vec<AuditRow>> {
    let mut query =
        audit_log::table.filter(audit_log::tenant_id.eq(tenant_id)).select(AuditRow::as_select()).into_boxed();
    if let Some(t) = &f.entity_type {
        query = query.filter(audit_log::entity_type.eq(t.clone()));
    }
    if let Some(id) = &f.entity_id {
        query = query.filter(audit_log::entity_id.eq(id.clone()));
    }
    if let Some(action) = &f.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(after) = f.after_seq {
        query = query.filter(audit_log::seq.gt(after));
    }
    query.order(audit_log::seq.asc()).limit(f.limit).load(conn)
}

/// A page of the chain in sequence order, for verification.
pub fn chain_page(conn: &mut PgConnection, tenant_id: Uuid, after_seq: i64, limit: i64) -> QueryResult<Vec<AuditRow>> {
    audit_log::table
        .filter(audit_log::tenant_id.eq(tenant_id))
        .filter(audit_log::seq.gt(after_seq))
        .order(audit_log::seq.asc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)
}

pub fn chain_head(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Option<(i64, String)>> {
    audit_chain_heads::table
        .find(tenant_id)
        .select((audit_chain_heads::last_seq, audit_chain_heads::last_hash))
        .first(conn)
        .optional()
}
