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
