//! Matching rules as data (docs/matching-rules.md): a tenant's ordered list of rules, each
//! versioned (every change of name, description, definition or enabled saves a new version with
//! who and when) and audited. Retiring a rule takes it out of the order but keeps it and its
//! versions: allocations name the rule and version that shaped them.
//!
//! Reading needs `read`; changing the rule set needs `admin`, as the matching settings do: a
//! rule can make cash application apply, write off or ignore money.

mod templates;

pub use templates::{
    create_from_template, list_templates, MatchingRuleFromTemplateInput, MatchingRuleTemplateView,
    TemplateParameterView,
};

use crate::db::audit as audit_db;
use crate::db::matching_rules::{self as rules_db, MatchingRule, MatchingRuleVersion};
use crate::domain::auth::{Permission, Principal};
use crate::domain::matching_rules::RuleDefinition;
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::require;
use chrono::{DateTime, SubsecRound, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Most live (not retired) rules a tenant may have: every one is evaluated on every line.
pub const MAX_LIVE_RULES: usize = 200;

/// A rule as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct MatchingRuleView {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// 1-based place in the evaluation order (lower first); null once retired.
    pub position: Option<i32>,
    /// A disabled rule keeps its place but is not evaluated.
    pub enabled: bool,
    /// The current version; every change of name, description, definition or enabled adds one.
    pub version: i32,
    #[schema(value_type = crate::domain::matching_rules::RuleDefinition)]
    pub definition: Value,
    /// The template the rule was made from, if any.
    pub template: Option<String>,
    /// Set once retired: the rule is no longer evaluated; it and its versions stay readable.
    pub retired_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<MatchingRule> for MatchingRuleView {
    fn from(r: MatchingRule) -> Self {
        MatchingRuleView {
            id: r.id,
            name: r.name,
            description: r.description,
            position: r.position,
            enabled: r.enabled,
            version: r.version,
            definition: r.definition,
            template: r.template,
            retired_at: r.retired_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// One saved version of a rule.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct MatchingRuleVersionView {
    pub rule_id: Uuid,
    pub version: i32,
    pub name: String,
    /// The rule's description as this version had it.
    pub description: Option<String>,
    pub enabled: bool,
    #[schema(value_type = crate::domain::matching_rules::RuleDefinition)]
    pub definition: Value,
    /// `user`, `api_key`, ...: who saved this version.
    pub changed_by_type: String,
    pub changed_by_id: String,
    pub changed_at: DateTime<Utc>,
}

impl From<MatchingRuleVersion> for MatchingRuleVersionView {
    fn from(v: MatchingRuleVersion) -> Self {
        MatchingRuleVersionView {
            rule_id: v.rule_id,
            version: v.version,
            name: v.name,
            description: v.description,
            enabled: v.enabled,
            definition: v.definition,
            changed_by_type: v.changed_by_type,
            changed_by_id: v.changed_by_id,
            changed_at: v.changed_at,
        }
    }
}

/// A new rule.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct MatchingRuleInput {
    /// 1 to 200 characters, unique among the tenant's live rules.
    pub name: String,
    /// Up to 2000 characters.
    pub description: Option<String>,
    /// The rule: `when` (line conditions), `candidates`, `then` (actions).
    #[schema(value_type = crate::domain::matching_rules::RuleDefinition)]
    pub definition: Value,
    /// Default true: a rule written by hand is meant to apply (try it first with `POST /matching-rules/dry-run`).
    pub enabled: Option<bool>,
    /// 1-based place in the order; the rules from there on move down one. Default: after the last.
    pub position: Option<i32>,
}

/// Changes to a rule; absent fields stay. Any change saves a new version.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchingRulePatch {
    pub name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[schema(value_type = Option<crate::domain::matching_rules::RuleDefinition>)]
    pub definition: Option<Value>,
    pub enabled: Option<bool>,
    /// The version the change is based on: when the rule has moved on since, the change is
    /// refused with 409 (`conflict`, `details.current_version`) instead of overwriting it.
    pub expected_version: Option<i32>,
}

/// The new order of the live rules.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchingRuleOrder {
    /// Every live rule's id exactly once, first evaluated first.
    pub ids: Vec<Uuid>,
}

/// Query of `GET /matching-rules`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MatchingRuleQuery {
    /// Also list retired rules (after the live ones, latest retired first).
    pub include_retired: Option<bool>,
}

/// Checks a definition as sent and returns it as stored (defaults dropped). Errors name the
/// field below `definition`.
pub(crate) fn parse_definition(value: Value) -> AppResult<(RuleDefinition, Value)> {
    let definition: RuleDefinition = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "definition".to_string() } else { format!("definition.{path}") };
        AppError::invalid(&field, e.inner().to_string())
    })?;
    definition.validate().map_err(|e| AppError::invalid(&format!("definition.{}", e.field), e.message))?;
    let stored = serde_json::to_value(&definition).map_err(AppError::internal)?;
    Ok((definition, stored))
}

/// The time of a change as the database keeps it (microseconds), so answers equal later reads.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "1 to 200 characters, no control characters"));
    }
    Ok(name.to_string())
}

fn check_description(description: Option<String>) -> AppResult<Option<String>> {
    let description = description.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
    if description.as_ref().is_some_and(|d| d.chars().count() > 2000) {
        return Err(AppError::invalid("description", "at most 2000 characters"));
    }
    Ok(description)
}

/// The name is free among the live rules (but for `except`, which keeps it).
fn check_name_free(conn: &mut PgConnection, tenant: Uuid, name: &str, except: Option<Uuid>) -> AppResult<()> {
    match rules_db::live_named(conn, tenant, name)? {
        Some(other) if Some(other.id) != except => {
            Err(AppError::conflict(format!("a live matching rule named {name:?} exists already"))
                .with_details(serde_json::json!({"field": "name", "id": other.id})))
        }
        _ => Ok(()),
    }
}

fn snapshot(r: &MatchingRule) -> Value {
    serde_json::json!({
        "name": r.name, "description": r.description, "position": r.position, "enabled": r.enabled,
        "version": r.version, "definition": r.definition, "template": r.template, "retired_at": r.retired_at,
    })
}

fn audit(
    conn: &mut PgConnection,
    principal: &Principal,
    action: &str,
    before: Option<&MatchingRule>,
    after: Option<&MatchingRule>,
) -> AppResult<()> {
    let id = after.or(before).map(|r| r.id.to_string()).unwrap_or_default();
    let mut e = entry(principal, action, "matching_rule", &id);
    e.before = before.map(snapshot);
    e.after = after.map(snapshot);
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(())
}

fn save_version(conn: &mut PgConnection, principal: &Principal, r: &MatchingRule) -> AppResult<()> {
    rules_db::insert_version(
        conn,
        &MatchingRuleVersion {
            id: Uuid::now_v7(),
            tenant_id: r.tenant_id,
            rule_id: r.id,
            version: r.version,
            name: r.name.clone(),
            enabled: r.enabled,
            definition: r.definition.clone(),
            changed_by_type: principal.actor.kind().to_string(),
            changed_by_id: principal.actor.id(),
            changed_at: r.updated_at,
            description: r.description.clone(),
        },
    )?;
    Ok(())
}

/// The tenant's rules in evaluation order (retired ones after them when asked).
pub fn list(conn: &mut PgConnection, principal: &Principal, q: MatchingRuleQuery) -> AppResult<Vec<MatchingRuleView>> {
    require(principal, Permission::Read)?;
    let rows = rules_db::list(conn, principal.tenant_id, q.include_retired.unwrap_or(false))?;
    Ok(rows.into_iter().map(MatchingRuleView::from).collect())
}

fn find(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<MatchingRule> {
    rules_db::find(conn, principal.tenant_id, id)?.ok_or_else(|| AppError::not_found("matching rule"))
}

/// One rule, live or retired.
pub fn get(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<MatchingRuleView> {
    require(principal, Permission::Read)?;
    Ok(find(conn, principal, id)?.into())
}

/// A checked rule to insert.
pub(crate) struct NewRule {
    pub name: String,
    pub description: Option<String>,
    pub definition: Value,
    pub enabled: bool,
    pub position: Option<i32>,
    pub template: Option<String>,
}

/// Inserts a rule at its place (the rules from there on move down), its version 1 and the audit entry.
pub(crate) fn insert_rule(conn: &mut PgConnection, principal: &Principal, new: NewRule) -> AppResult<MatchingRuleView> {
    let tenant = principal.tenant_id;
    rules_db::lock_rule_set(conn, tenant)?;
    let mut order = rules_db::live_ids(conn, tenant)?;
    if order.len() >= MAX_LIVE_RULES {
        return Err(AppError::conflict(format!(
            "a tenant has at most {MAX_LIVE_RULES} live matching rules: retire one first"
        ))
        .with_details(serde_json::json!({"limit": MAX_LIVE_RULES})));
    }
    let last = order.len() as i32 + 1;
    let position = new.position.unwrap_or(last);
    if !(1..=last).contains(&position) {
        return Err(AppError::invalid("position", format!("from 1 to {last} (after the last live rule)")));
    }
    check_name_free(conn, tenant, &new.name, None)?;
    let now = now();
    let mut row = MatchingRule {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        name: new.name,
        description: new.description,
        position: Some(last),
        enabled: new.enabled,
        version: 1,
        definition: new.definition,
        template: new.template,
        retired_at: None,
        created_at: now,
        updated_at: now,
    };
    rules_db::insert(conn, &row)?;
    if position != last {
        order.insert(position as usize - 1, row.id);
        rules_db::set_positions(conn, tenant, &order)?;
        row.position = Some(position);
    }
    save_version(conn, principal, &row)?;
    audit(conn, principal, "matching_rule.created", None, Some(&row))?;
    Ok(row.into())
}

/// Creates a rule from a definition written by hand.
pub fn create(conn: &mut PgConnection, principal: &Principal, input: MatchingRuleInput) -> AppResult<MatchingRuleView> {
    require(principal, Permission::Admin)?;
    let name = check_name(&input.name)?;
    let description = check_description(input.description)?;
    let (_, definition) = parse_definition(input.definition)?;
    let new = NewRule {
        name,
        description,
        definition,
        enabled: input.enabled.unwrap_or(true),
        position: input.position,
        template: None,
    };
    insert_rule(conn, principal, new)
}

/// Changes a live rule; a real change saves a new version (an unchanged rule is answered as is).
pub fn update(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    patch: MatchingRulePatch,
) -> AppResult<MatchingRuleView> {
    require(principal, Permission::Admin)?;
    let current = rules_db::find_for_update(conn, principal.tenant_id, id)?
        .ok_or_else(|| AppError::not_found("matching rule"))?;
    if let Some(expected) = patch.expected_version {
        if expected != current.version {
            return Err(AppError::conflict(format!(
                "the rule is at version {}, not {expected}: read it again and reapply the change",
                current.version
            ))
            .with_details(serde_json::json!({"field": "expected_version", "current_version": current.version})));
        }
    }
    if current.retired_at.is_some() {
        return Err(AppError::conflict("the rule is retired: create a new one (its versions stay readable)"));
    }
    let mut row = current.clone();
    if let Some(name) = patch.name {
        row.name = check_name(&name)?;
        if row.name != current.name {
            check_name_free(conn, principal.tenant_id, &row.name, Some(id))?;
        }
    }
    if let Some(description) = patch.description {
        row.description = check_description(description)?;
    }
    if let Some(definition) = patch.definition {
        row.definition = parse_definition(definition)?.1;
    }
    if let Some(enabled) = patch.enabled {
        row.enabled = enabled;
    }
    let unchanged = row.name == current.name
        && row.description == current.description
        && row.definition == current.definition
        && row.enabled == current.enabled;
    if unchanged {
        return Ok(current.into());
    }
    row.version = current.version + 1;
    row.updated_at = now();
    rules_db::update(conn, &row)?;
    save_version(conn, principal, &row)?;
    audit(conn, principal, "matching_rule.updated", Some(&current), Some(&row))?;
    Ok(row.into())
}

/// Retires a rule: out of the order (the rules after it move up), no longer evaluated, kept with
/// its versions. Retiring a retired rule answers it unchanged.
pub fn retire(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<MatchingRuleView> {
    require(principal, Permission::Admin)?;
    let tenant = principal.tenant_id;
    rules_db::lock_rule_set(conn, tenant)?;
    let current = rules_db::find_for_update(conn, tenant, id)?.ok_or_else(|| AppError::not_found("matching rule"))?;
    if current.retired_at.is_some() {
        return Ok(current.into());
    }
    let mut row = current.clone();
    let now = now();
    row.position = None;
    row.retired_at = Some(now);
    row.updated_at = now;
    rules_db::update(conn, &row)?;
    let rest: Vec<Uuid> = rules_db::live_ids(conn, tenant)?;
    rules_db::set_positions(conn, tenant, &rest)?;
    audit(conn, principal, "matching_rule.retired", Some(&current), Some(&row))?;
    Ok(row.into())
}

/// Puts the live rules in the given order; the list must name every live rule exactly once.
pub fn reorder(
    conn: &mut PgConnection,
    principal: &Principal,
    order: MatchingRuleOrder,
) -> AppResult<Vec<MatchingRuleView>> {
    require(principal, Permission::Admin)?;
    let tenant = principal.tenant_id;
    rules_db::lock_rule_set(conn, tenant)?;
    let live = rules_db::live_ids(conn, tenant)?;
    let mut seen = std::collections::HashSet::new();
    for (i, id) in order.ids.iter().enumerate() {
        if !seen.insert(*id) {
            return Err(AppError::invalid(&format!("ids[{i}]"), format!("{id} is listed twice")));
        }
        if !live.contains(id) {
            // Another tenant's id is unknown here, as everywhere; a retired rule has no place.
            rules_db::find(conn, tenant, *id)?.ok_or_else(|| AppError::not_found(format!("matching rule {id}")))?;
            return Err(AppError::invalid(
                &format!("ids[{i}]"),
                format!("{id} is retired: it has no place in the order"),
            ));
        }
    }
    if order.ids.len() != live.len() {
        let missing: Vec<String> = live.iter().filter(|id| !seen.contains(id)).map(Uuid::to_string).collect();
        return Err(AppError::invalid(
            "ids",
            format!("list every live rule exactly once; missing: {}", missing.join(", ")),
        ));
    }
    if order.ids != live {
        rules_db::set_positions(conn, tenant, &order.ids)?;
        let mut e = entry(principal, "matching_rule.reordered", "matching_rule", "order");
        e.before = Some(serde_json::json!({"ids": live}));
        e.after = Some(serde_json::json!({"ids": order.ids}));
        audit_db::append(conn, tenant, vec![e])?;
    }
    Ok(rules_db::list(conn, tenant, false)?.into_iter().map(MatchingRuleView::from).collect())
}

/// Every saved version of a rule, oldest first.
pub fn versions(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<Vec<MatchingRuleVersionView>> {
    require(principal, Permission::Read)?;
    find(conn, principal, id)?;
    Ok(rules_db::versions(conn, principal.tenant_id, id)?.into_iter().map(MatchingRuleVersionView::from).collect())
}

/// One saved version of a rule.
pub fn version(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    version: i32,
) -> AppResult<MatchingRuleVersionView> {
    require(principal, Permission::Read)?;
    rules_db::version(conn, principal.tenant_id, id, version)?
        .map(MatchingRuleVersionView::from)
        .ok_or_else(|| AppError::not_found("matching rule version"))
}
