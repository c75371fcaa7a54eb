//! Learned facts (payer IBAN / name -> customer, combined payments) and their provenance rows.
//! The counts on a fact are recomputed from its provenance in SQL after every change, so they
//! can never drift from the rows they summarise.

use super::schema::{bank_lines, customers, learned_fact_sources, learned_facts};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

/// Provenance that supports a fact (a person applied the line to the customer).
pub const POSITIVE: [&str; 2] = ["confirmed_proposal", "manual_allocation"];
/// Provenance that argues against it (a person refused the line for the customer, or chose a later
/// one of equal open invoices).
pub const NEGATIVE: [&str; 3] = ["rejected_proposal", "unapplied_allocation", "chose_later_item"];
/// What applying a line teaches (positive, or against "the oldest first"): unapplying it takes it back.
pub const TAUGHT_BY_APPLYING: [&str; 3] = ["confirmed_proposal", "manual_allocation", "chose_later_item"];

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = learned_facts)]
pub struct LearnedFact {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub key: String,
    pub customer_id: Uuid,
    pub confirmations: i32,
    pub rejections: i32,
    pub last_confirmed_at: Option<DateTime<Utc>>,
    pub last_confirmed_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = learned_fact_sources)]
pub struct Source {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub fact_id: Uuid,
    pub how: String,
    pub bank_line_id: Uuid,
    pub allocation_id: Uuid,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// A fact with its customer's code.
pub type FactRow = (LearnedFact, String);

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The live fact (kind, key, customer), made when missing; returns its id.
pub fn live_fact(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    kind: &str,
    key: &str,
    customer_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Uuid> {
    let row: IdRow = diesel::sql_query(
        "INSERT INTO learned_facts (id, tenant_id, kind, key, customer_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (tenant_id, kind, key, customer_id) WHERE revoked_at IS NULL \
         DO UPDATE SET updated_at = EXCLUDED.updated_at RETURNING id",
    )
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Text, _>(kind)
    .bind::<Text, _>(key)
    .bind::<SqlUuid, _>(customer_id)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)?;
    Ok(row.id)
}

/// Whether a revoked fact (kind, key, customer) was learned from this bank line: what a person
/// revoked is not learned again from the same evidence.
pub fn revoked_from_line(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    kind: &str,
    key: &str,
    customer_id: Uuid,
    bank_line_id: Uuid,
) -> QueryResult<bool> {
    let revoked = learned_facts::table
        .filter(learned_facts::tenant_id.eq(tenant_id))
        .filter(learned_facts::kind.eq(kind))
        .filter(learned_facts::key.eq(key))
        .filter(learned_facts::customer_id.eq(customer_id))
        .filter(learned_facts::revoked_at.is_not_null())
        .select(learned_facts::id);
    diesel::select(diesel::dsl::exists(
        learned_fact_sources::table
            .filter(learned_fact_sources::tenant_id.eq(tenant_id))
            .filter(learned_fact_sources::bank_line_id.eq(bank_line_id))
            .filter(learned_fact_sources::fact_id.eq_any(revoked)),
    ))
    .get_result(conn)
}

pub fn insert_sources(conn: &mut PgConnection, rows: &[Source]) -> QueryResult<()> {
    diesel::insert_into(learned_fact_sources::table).values(rows).execute(conn)?;
    Ok(())
}

/// Removes the provenance of these allocations with one of `hows` from live facts (a revoked
/// fact keeps its provenance: it is what stops learning it again); returns the facts touched.
pub fn remove_sources(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    allocation_ids: &[Uuid],
    hows: &[&str],
) -> QueryResult<Vec<Uuid>> {
    let live = learned_facts::table
        .filter(learned_facts::tenant_id.eq(tenant_id))
        .filter(learned_facts::revoked_at.is_null())
        .select(learned_facts::id);
    diesel::delete(
        learned_fact_sources::table
            .filter(learned_fact_sources::tenant_id.eq(tenant_id))
            .filter(learned_fact_sources::allocation_id.eq_any(allocation_ids))
            .filter(learned_fact_sources::how.eq_any(hows))
            .filter(learned_fact_sources::fact_id.eq_any(live)),
    )
    .returning(learned_fact_sources::fact_id)
    .get_results(conn)
}

/// Recomputes the counts of `ids` from their provenance (distinct bank lines), then deletes the
/// live ones nothing supports any more (revoked ones stay: they record the revocation).
pub fn recount(conn: &mut PgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "UPDATE learned_facts f SET \
           confirmations = (SELECT count(DISTINCT s.bank_line_id) FROM learned_fact_sources s \
              WHERE s.tenant_id = f.tenant_id AND s.fact_id = f.id AND s.how = ANY($3)), \
           rejections = (SELECT count(DISTINCT s.bank_line_id) FROM learned_fact_sources s \
              WHERE s.tenant_id = f.tenant_id AND s.fact_id = f.id AND s.how = ANY($4)), \
           last_confirmed_at = (SELECT max(s.created_at) FROM learned_fact_sources s \
              WHERE s.tenant_id = f.tenant_id AND s.fact_id = f.id AND s.how = ANY($3)), \
           last_confirmed_by = (SELECT s.actor FROM learned_fact_sources s \
              WHERE s.tenant_id = f.tenant_id AND s.fact_id = f.id AND s.how = ANY($3) \
              ORDER BY s.created_at DESC, s.id DESC LIMIT 1), \
           updated_at = now() \
         WHERE f.tenant_id = $1 AND f.id = ANY($2)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Text>, _>(&POSITIVE[..])
    .bind::<Array<Text>, _>(&NEGATIVE[..])
    .execute(conn)?;
    diesel::sql_query(
        "DELETE FROM learned_facts f WHERE f.tenant_id = $1 AND f.id = ANY($2) AND f.revoked_at IS NULL \
           AND NOT EXISTS (SELECT 1 FROM learned_fact_sources s WHERE s.tenant_id = f.tenant_id AND s.fact_id = f.id)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct FactFilter {
    pub kind: Option<String>,
    pub customer_id: Option<Uuid>,
    pub include_revoked: bool,
    pub after: Option<Uuid>,
    pub limit: Option<i64>,
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid, f: &FactFilter) -> QueryResult<Vec<FactRow>> {
    let mut q =
        learned_facts::table
            .inner_join(customers::table.on(
                customers::tenant_id.eq(learned_facts::tenant_id).and(customers::id.eq(learned_facts::customer_id)),
            ))
            .filter(learned_facts::tenant_id.eq(tenant_id))
            .select((LearnedFact::as_select(), customers::code))
            .into_boxed();
    if let Some(k) = &f.kind {
        q = q.filter(learned_facts::kind.eq(k.clone()));
    }
    if let Some(c) = f.customer_id {
        q = q.filter(learned_facts::customer_id.eq(c));
    }
    if !f.include_revoked {
        q = q.filter(learned_facts::revoked_at.is_null());
    }
    if let Some(a) = f.after {
        q = q.filter(learned_facts::id.gt(a));
    }
    if let Some(l) = f.limit {
        q = q.limit(l);
    }
    q.order(learned_facts::id.asc()).load(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<FactRow> {
    learned_facts::table
        .inner_join(
            customers::table.on(customers::tenant_id
                .eq(learned_facts::tenant_id)
                .and(customers::id.eq(learned_facts::customer_id))),
        )
        .filter(learned_facts::tenant_id.eq(tenant_id))
        .filter(learned_facts::id.eq(id))
        .select((LearnedFact::as_select(), customers::code))
        .first(conn)
}

/// A fact's provenance, oldest first, with the bank's reference of each line.
pub fn sources_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    fact_id: Uuid,
) -> QueryResult<Vec<(Source, Option<String>)>> {
    learned_fact_sources::table
        .inner_join(
            bank_lines::table.on(bank_lines::tenant_id
                .eq(learned_fact_sources::tenant_id)
                .and(bank_lines::id.eq(learned_fact_sources::bank_line_id))),
        )
        .filter(learned_fact_sources::tenant_id.eq(tenant_id))
        .filter(learned_fact_sources::fact_id.eq(fact_id))
        .select((Source::as_select(), bank_lines::bank_reference))
        .order((learned_fact_sources::created_at.asc(), learned_fact_sources::id.asc()))
        .load(conn)
}

/// Revokes a live fact; false when it is already revoked.
pub fn revoke(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid, by: &str, now: DateTime<Utc>) -> QueryResult<bool> {
    let n = diesel::update(
        learned_facts::table
            .filter(learned_facts::tenant_id.eq(tenant_id))
            .filter(learned_facts::id.eq(id))
            .filter(learned_facts::revoked_at.is_null()),
    )
    .set((
        learned_facts::revoked_at.eq(Some(now)),
        learned_facts::revoked_by.eq(Some(by)),
        learned_facts::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Deletes every fact about the customer (erasure: they hold its payer names and accounts).
pub fn delete_of_customer(conn: &mut PgConnection, tenant_id: Uuid, customer_id: Uuid) -> QueryResult<usize> {
    diesel::delete(
        learned_facts::table
            .filter(learned_facts::tenant_id.eq(tenant_id))
            .filter(learned_facts::customer_id.eq(customer_id)),
    )
    .execute(conn)
}

/// A live fact as a run reads it: the customer's code, who confirmed it last (a user's e-mail
/// where the actor is a user) and the payer IBANs of the lines it was learned from.
#[derive(Debug, QueryableByName)]
pub struct MatchingFact {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: Uuid,
    #[diesel(sql_type = Text)]
    pub customer_code: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub confirmations: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub rejections: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub last_confirmed_by: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamptz>)]
    pub last_confirmed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Array<Text>)]
    pub source_ibans: Vec<String>,
}

pub fn for_matching(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<MatchingFact>> {
    diesel::sql_query(
        "SELECT f.id, f.kind, f.key, f.customer_id, c.code AS customer_code, f.confirmations, f.rejections, \
                COALESCE(u.email, f.last_confirmed_by) AS last_confirmed_by, f.last_confirmed_at, \
                COALESCE((SELECT array_agg(DISTINCT l.counterparty_iban) FROM learned_fact_sources s \
                    JOIN bank_lines l ON l.tenant_id = s.tenant_id AND l.id = s.bank_line_id \
                    WHERE s.tenant_id = f.tenant_id AND s.fact_id = f.id AND l.counterparty_iban IS NOT NULL), \
                  '{}') AS source_ibans \
         FROM learned_facts f \
         JOIN customers c ON c.tenant_id = f.tenant_id AND c.id = f.customer_id \
         LEFT JOIN users u ON u.tenant_id = f.tenant_id AND 'user:' || u.id::text = f.last_confirmed_by \
         WHERE f.tenant_id = $1 AND f.revoked_at IS NULL",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)
}
