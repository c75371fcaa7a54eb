//! A tenant's matching rules and their saved versions.

use super::schema::{matching_rule_versions, matching_rules};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = matching_rules, treat_none_as_default_value = false)]
pub struct MatchingRule {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub position: Option<i32>,
    pub enabled: bool,
    pub version: i32,
    pub definition: Value,
    pub template: Option<String>,
    pub retired_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = matching_rule_versions)]
pub struct MatchingRuleVersion {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub rule_id: Uuid,
    pub version: i32,
    pub name: String,
    pub enabled: bool,
    pub definition: Value,
    pub changed_by_type: String,
    pub changed_by_id: String,
    pub changed_at: DateTime<Utc>,
    pub description: Option<String>,
}

/// The tenant's live, enabled rules in evaluation order (what a run uses).
pub fn enabled(conn: &mut PgConnection, tenant: Uuid) -> QueryResult<Vec<MatchingRule>> {
    matching_rules::table
        .filter(matching_rules::tenant_id.eq(tenant))
        .filter(matching_rules::retired_at.is_null())
        .filter(matching_rules::enabled.eq(true))
        .order(matching_rules::position.asc())
        .select(MatchingRule::as_select())
        .load(conn)
}

/// Serialises changes to one tenant's rule set (positions, the live-rule limit) until the
/// transaction ends; other tenants are not held up.
pub fn lock_rule_set(conn: &mut PgConnection, tenant: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('matching_rules:' || $1::text, 0))")
        .bind::<diesel::sql_types::Uuid, _>(tenant)
        .execute(conn)
        .map(|_| ())
}

/// The tenant's live rules in order, then (when asked) its retired ones, latest retired first.
pub fn list(conn: &mut PgConnection, tenant: Uuid, include_retired: bool) -> QueryResult<Vec<MatchingRule>> {
    let mut q = matching_rules::table.filter(matching_rules::tenant_id.eq(tenant)).into_boxed();
    if !include_retired {
        q = q.filter(matching_rules::retired_at.is_null());
    }
    q.order((matching_rules::position.asc().nulls_last(), matching_rules::retired_at.desc(), matching_rules::id.asc()))
        .select(MatchingRule::as_select())
        .load(conn)
}

/// One rule (live or retired), locked for the rest of the transaction.
pub fn find_for_update(conn: &mut PgConnection, tenant: Uuid, id: Uuid) -> QueryResult<Option<MatchingRule>> {
    matching_rules::table
        .filter(matching_rules::tenant_id.eq(tenant))
        .filter(matching_rules::id.eq(id))
        .select(MatchingRule::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// One rule (live or retired).
pub fn find(conn: &mut PgConnection, tenant: Uuid, id: Uuid) -> QueryResult<Option<MatchingRule>> {
    matching_rules::table
        .filter(matching_rules::tenant_id.eq(tenant))
        .filter(matching_rules::id.eq(id))
        .select(MatchingRule::as_select())
        .first(conn)
        .optional()
}

/// The live rule with this name, if any.
pub fn live_named(conn: &mut PgConnection, tenant: Uuid, name: &str) -> QueryResult<Option<MatchingRule>> {
    matching_rules::table
        .filter(matching_rules::tenant_id.eq(tenant))
        .filter(matching_rules::retired_at.is_null())
        .filter(matching_rules::name.eq(name))
        .select(MatchingRule::as_select())
        .first(conn)
        .optional()
}

/// Ids of the tenant's live rules, in order.
pub fn live_ids(conn: &mut PgConnection, tenant: Uuid) -> QueryResult<Vec<Uuid>> {
    matching_rules::table
        .filter(matching_rules::tenant_id.eq(tenant))
        .filter(matching_rules::retired_at.is_null())
        .order(matching_rules::position.asc())
        .select(matching_rules::id)
        .load(conn)
}

pub fn insert(conn: &mut PgConnection, row: &MatchingRule) -> QueryResult<()> {
    diesel::insert_into(matching_rules::table).values(row).execute(conn).map(|_| ())
}

/// Writes everything of a rule but its identity and creation time.
pub fn update(conn: &mut PgConnection, row: &MatchingRule) -> QueryResult<()> {
    diesel::update(
        matching_rules::table.filter(matching_rules::tenant_id.eq(row.tenant_id)).filter(matching_rules::id.eq(row.id)),
    )
    .set((
        matching_rules::name.eq(&row.name),
        matching_rules::description.eq(&row.description),
        matching_rules::position.eq(row.position),
        matching_rules::enabled.eq(row.enabled),
        matching_rules::version.eq(row.version),
        matching_rules::definition.eq(&row.definition),
        matching_rules::retired_at.eq(row.retired_at),
        matching_rules::updated_at.eq(row.updated_at),
    ))
    .execute(conn)
    .map(|_| ())
}

/// Gives the live rules `ids` the positions 1, 2, ... in that order (the position constraint
/// is deferred, so the moves may pass through duplicates).
pub fn set_positions(conn: &mut PgConnection, tenant: Uuid, ids: &[Uuid]) -> QueryResult<()> {
    let positions: Vec<i32> = (1..=ids.len() as i32).collect();
    diesel::sql_query(
        "UPDATE matching_rules r SET position = v.position \
         FROM unnest($2::uuid[], $3::int[]) AS v(id, position) \
         WHERE r.tenant_id = $1 AND r.id = v.id AND r.retired_at IS NULL AND r.position IS DISTINCT FROM v.position",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Integer>, _>(&positions)
    .execute(conn)
    .map(|_| ())
}

pub fn insert_version(conn: &mut PgConnection, row: &MatchingRuleVersion) -> QueryResult<()> {
    diesel::insert_into(matching_rule_versions::table).values(row).execute(conn).map(|_| ())
}

/// Every saved version of a rule, oldest first.
pub fn versions(conn: &mut PgConnection, tenant: Uuid, rule: Uuid) -> QueryResult<Vec<MatchingRuleVersion>> {
    matching_rule_versions::table
        .filter(matching_rule_versions::tenant_id.eq(tenant))
        .filter(matching_rule_versions::rule_id.eq(rule))
        .order(matching_rule_versions::version.asc())
        .select(MatchingRuleVersion::as_select())
        .load(conn)
}

/// One saved version of a rule.
pub fn version(
    conn: &mut PgConnection,
    tenant: Uuid,
    rule: Uuid,
    version: i32,
) -> QueryResult<Option<MatchingRuleVersion>> {
    matching_rule_versions::table
        .filter(matching_rule_versions::tenant_id.eq(tenant))
        .filter(matching_rule_versions::rule_id.eq(rule))
        .filter(matching_rule_versions::version.eq(version))
        .select(MatchingRuleVersion::as_select())
        .first(conn)
        .optional()
}
