//! Appending to, sealing and reading the audit trail. Appends write unsealed entries
//! (`audit_pending`) in the use case's transaction without any lock; `seal` moves committed ones
//! into the hash chain (`audit_log`) under the tenant's chain head, so sealed entries get
//! consecutive sequence numbers in sealing order.

use super::schema::{audit_chain_heads, audit_log, audit_pending};
use crate::domain::audit_chain::{entry_hash, truncate_to_micros, ChainedFields, GENESIS_HASH};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
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

/// Records `entries` in the caller's transaction, unsealed (`audit_pending`): they commit or roll
/// back with the change they describe. No lock is taken, so concurrent writes of one tenant do not
/// wait for each other; `seal` later gives them their place in the hash chain.
pub fn append(conn: &mut PgConnection, tenant_id: Uuid, entries: Vec<NewAuditEntry>) -> QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let occurred_at = truncate_to_micros(Utc::now());
    let rows: Vec<_> = entries
        .into_iter()
        .map(|e| {
            (
                audit_pending::tenant_id.eq(tenant_id),
                audit_pending::occurred_at.eq(occurred_at),
                audit_pending::actor_type.eq(e.actor_type),
                audit_pending::actor_id.eq(e.actor_id),
                audit_pending::action.eq(e.action),
                audit_pending::entity_type.eq(e.entity_type),
                audit_pending::entity_id.eq(e.entity_id),
                audit_pending::before.eq(e.before),
                audit_pending::after.eq(e.after),
            )
        })
        .collect();
    // 9 bind parameters per row: stay well under PostgreSQL's 65535.
    for chunk in rows.chunks(4000) {
        diesel::insert_into(audit_pending::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

/// What one seal batch or verification page reads at most of entries' `before` and `after`, as
/// stored (compressed): a bound on the memory their values take once parsed.
pub const BATCH_BYTES: i64 = 4 << 20;

/// A query of the keys `key` of the first entries of `table` in key order that match `filter`:
/// at most `limit` of them, and only as many as fit in `bytes` of stored `before` and `after`
/// (their size on disk, read without decompressing them), but at least one.
fn first_within_bytes(table: &str, key: &str, filter: &str, limit: &str, bytes: &str) -> String {
    format!(
        "SELECT {key} FROM ( \
           SELECT {key}, sum(size) OVER (ORDER BY {key}) - size AS before_it FROM ( \
             SELECT {key}, coalesce(pg_column_size(before), 0) + coalesce(pg_column_size(after), 0) AS size \
               FROM {table} WHERE {filter} ORDER BY {key} LIMIT {limit}) oldest) sized \
          WHERE before_it < {bytes}"
    )
}

#[derive(Debug, Clone, QueryableByName)]
#[diesel(table_name = audit_pending)]
struct PendingRow {
    id: i64,
    occurred_at: DateTime<Utc>,
    actor_type: String,
    actor_id: String,
    action: String,
    entity_type: String,
    entity_id: String,
    before: Option<Value>,
    after: Option<Value>,
}

/// How a sealer waits for the tenant's chain head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadLock {
    /// Wait for it (sealing before a read of the trail).
    Wait,
    /// Give up when another sealer holds it (the background sealer: that one is doing the work).
    SkipLocked,
}

/// Seals up to `limit` of the tenant's committed pending entries, oldest first: moves them into
/// `audit_log` with consecutive sequence numbers and chained hashes, and advances the chain head,
/// all in the caller's transaction. Returns `None` when the head is locked by another sealer and
/// `lock` is `SkipLocked`, else how many entries were sealed.
pub fn seal(conn: &mut PgConnection, tenant_id: Uuid, limit: i64, lock: HeadLock) -> QueryResult<Option<usize>> {
    diesel::sql_query("SELECT set_config('duizhang.sealing', 'on', true)").execute(conn)?;
    diesel::insert_into(audit_chain_heads::table)
        .values((
            audit_chain_heads::tenant_id.eq(tenant_id),
            audit_chain_heads::last_seq.eq(0i64),
            audit_chain_heads::last_hash.eq(GENESIS_HASH),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    let head =
        audit_chain_heads::table.find(tenant_id).select((audit_chain_heads::last_seq, audit_chain_heads::last_hash));
    let head: Option<(i64, String)> = match lock {
        HeadLock::Wait => head.for_update().first(conn).optional()?,
        HeadLock::SkipLocked => head.for_update().skip_locked().first(conn).optional()?,
    };
    let Some((mut seq, mut prev_hash)) = head else {
        return Ok(None);
    };
    // The head lock serialises sealers of this tenant, so the oldest pending entries are ours.
    // The batch's ids as an array probed through the primary key: as `id IN (subquery)` the
    // planner hashed the batch and read every pending entry to join it (half a second per batch
    // of 2,000 with a million pending, so sealing a large import took minutes).
    // A batch also stops at BATCH_BYTES: an import's creation entries name hundreds of documents.
    let mut pending: Vec<PendingRow> = diesel::sql_query(format!(
        "DELETE FROM audit_pending WHERE tenant_id = $1 AND id = ANY(ARRAY({})) \
         RETURNING id, occurred_at, actor_type, actor_id, action, entity_type, entity_id, before, after",
        first_within_bytes("audit_pending", "id", "tenant_id = $1", "$2", "$3")
    ))
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .bind::<diesel::sql_types::BigInt, _>(BATCH_BYTES)
    .load(conn)?;
    if pending.is_empty() {
        return Ok(Some(0));
    }
    pending.sort_by_key(|p| p.id);
    let mut rows = Vec::with_capacity(pending.len());
    for e in pending {
        seq += 1;
        let hash = entry_hash(&ChainedFields {
            tenant_id,
            seq,
            occurred_at: e.occurred_at,
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
            occurred_at: e.occurred_at,
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
    diesel::copy_from(audit_log::table).from_insertable(&rows).execute(conn)?;
    diesel::update(audit_chain_heads::table.find(tenant_id))
        .set((audit_chain_heads::last_seq.eq(seq), audit_chain_heads::last_hash.eq(prev_hash)))
        .execute(conn)?;
    Ok(Some(rows.len()))
}

/// Tenants that have committed entries waiting to be sealed.
pub fn tenants_with_pending(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    audit_pending::table.select(audit_pending::tenant_id).distinct().load(conn)
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    pub after_seq: Option<i64>,
    pub limit: i64,
}

/// The entries `f` selects; with `or_entity`, also that entity's entries when `f` names an entity
/// (a document's creation entry is the `document_import` entry that names it).
pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    f: &AuditFilter,
    or_entity: Option<(&str, &str)>,
) -> QueryResult<Vec<AuditRow>> {
    let mut query =
        audit_log::table.filter(audit_log::tenant_id.eq(tenant_id)).select(AuditRow::as_select()).into_boxed();
    match (&f.entity_type, &f.entity_id, or_entity) {
        (Some(t), Some(id), Some((or_t, or_id))) => {
            query = query.filter(
                (audit_log::entity_type.eq(t.clone()).and(audit_log::entity_id.eq(id.clone())))
                    .or(audit_log::entity_type.eq(or_t.to_string()).and(audit_log::entity_id.eq(or_id.to_string()))),
            );
        }
        (t, id, _) => {
            if let Some(t) = t {
                query = query.filter(audit_log::entity_type.eq(t.clone()));
            }
            if let Some(id) = id {
                query = query.filter(audit_log::entity_id.eq(id.clone()));
            }
        }
    }
    if let Some(action) = &f.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(after) = f.after_seq {
        query = query.filter(audit_log::seq.gt(after));
    }
    query.order(audit_log::seq.asc()).limit(f.limit).load(conn)
}

/// The sealed `document_import` entry that names document `document_id` among the documents an
/// import created: written at the document's `created_at`, its `entity_id` the first and last id
/// it names. `None` for a document created otherwise (its creation entry names it alone).
pub fn import_entry_naming(conn: &mut PgConnection, tenant_id: Uuid, document_id: Uuid) -> QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Named {
        #[diesel(sql_type = diesel::sql_types::Text)]
        entity_id: String,
    }
    let found: Option<Named> = diesel::sql_query(
        "SELECT a.entity_id FROM documents d \
           JOIN audit_log a ON a.tenant_id = d.tenant_id AND a.entity_type = 'document_import' \
                           AND a.occurred_at = d.created_at \
          WHERE d.tenant_id = $1 AND d.id = $2 \
            AND d.id BETWEEN split_part(a.entity_id, '..', 1)::uuid AND split_part(a.entity_id, '..', 2)::uuid \
          ORDER BY a.seq LIMIT 1",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<diesel::sql_types::Uuid, _>(document_id)
    .get_result(conn)
    .optional()?;
    Ok(found.map(|n| n.entity_id))
}

/// A page of the chain in sequence order, for verification: up to `limit` entries and
/// [`BATCH_BYTES`] of their stored `before` and `after` (at least one entry).
pub fn chain_page(conn: &mut PgConnection, tenant_id: Uuid, after_seq: i64, limit: i64) -> QueryResult<Vec<AuditRow>> {
    diesel::sql_query(format!(
        "SELECT tenant_id, seq, occurred_at, actor_type, actor_id, action, entity_type, entity_id, before, after, \
                prev_hash, hash \
           FROM audit_log WHERE tenant_id = $1 AND seq = ANY(ARRAY({})) ORDER BY seq",
        first_within_bytes("audit_log", "seq", "tenant_id = $1 AND seq > $2", "$3", "$4")
    ))
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<diesel::sql_types::BigInt, _>(after_seq)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .bind::<diesel::sql_types::BigInt, _>(BATCH_BYTES)
    .load(conn)
}

pub fn chain_head(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Option<(i64, String)>> {
    audit_chain_heads::table
        .find(tenant_id)
        .select((audit_chain_heads::last_seq, audit_chain_heads::last_hash))
        .first(conn)
        .optional()
}
