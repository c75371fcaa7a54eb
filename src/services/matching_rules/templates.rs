//! The preset rules (`domain::matching_rules::templates`) as the API lists them, and rules
//! made from one.
//!
//! A rule made from a template starts disabled unless `enabled` is given: a template's defaults
//! are generic (payer names, fee rates, limits), so a team first checks what the rule would do
//! to its own lines (`POST /matching-rules/dry-run`) and then enables it with one PATCH.

use super::{check_description, check_name, insert_rule, MatchingRuleView, NewRule};
use crate::domain::auth::{Permission, Principal};
use crate::domain::matching_rules::templates::{self, ParamKind, Template, TemplateCategory, TemplateExampleLine};
use crate::error::{AppError, AppResult};
use crate::services::require;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A template with its example line and parameters.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct MatchingRuleTemplateView {
    /// Stable key, for `POST /matching-rules/from-template`.
    pub key: String,
    /// The name a rule made from it gets unless another is given.
    pub name: String,
    pub category: TemplateCategory,
    pub description: String,
    /// A bank line the template is made for.
    pub example: TemplateExampleLine,
    /// What the rule made with the default parameters does to the example line.
    pub example_effects: Vec<String>,
    pub parameters: Vec<TemplateParameterView>,
    /// With the defaults, its conditions hold on every credit line (its action only shapes a
    /// specific shortfall): order such rules after narrower ones.
    pub broad: bool,
    /// The rule the default parameters make.
    #[schema(value_type = crate::domain::matching_rules::RuleDefinition)]
    pub default_definition: Value,
}

/// One parameter of a template.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct TemplateParameterView {
    pub key: String,
    pub description: String,
    /// `text`, `pattern`, `decimal` (a string), `boolean`, `choice`, `currencies`, `texts` or `customer`.
    pub kind: String,
    /// Used when the parameter is not given; absent: optional, unused unless given.
    #[schema(value_type = Option<serde_json::Value>)]
    pub default: Option<Value>,
    /// Smallest value of a decimal.
    pub min: Option<String>,
    /// Largest value of a decimal.
    pub max: Option<String>,
    /// The words a choice takes.
    pub choices: Option<Vec<String>>,
}

/// A rule made from a template.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct MatchingRuleFromTemplateInput {
    /// The template's key (`GET /matching-rule-templates`).
    pub template: String,
    /// Default: the template's name.
    pub name: Option<String>,
    /// Default: the template's description.
    pub description: Option<String>,
    /// The template's parameters by key; absent ones take their default, `null` leaves an
    /// optional one out.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
    /// Default false: try the rule with a dry run, then enable it.
    pub enabled: Option<bool>,
    /// 1-based place in the order. Default: after the last rule.
    pub position: Option<i32>,
}

fn view(t: &Template) -> MatchingRuleTemplateView {
    let default_definition =
        t.instantiate(&serde_json::Map::new()).ok().and_then(|d| serde_json::to_value(d).ok()).unwrap_or(Value::Null);
    MatchingRuleTemplateView {
        key: t.key.to_string(),
        name: t.name.to_string(),
        category: t.category,
        description: t.description.to_string(),
        example: t.example.clone(),
        example_effects: t.example_effects.iter().map(ToString::to_string).collect(),
        parameters: t
            .parameters
            .iter()
            .map(|p| {
                let (min, max) = match &p.kind {
                    ParamKind::Decimal { min, max } => (Some(min.to_string()), Some(max.to_string())),
                    _ => (None, None),
                };
                let choices = match &p.kind {
                    ParamKind::Choice(words) => Some(words.iter().map(|w| w.to_string()).collect()),
                    _ => None,
                };
                TemplateParameterView {
                    key: p.key.to_string(),
                    description: p.description.to_string(),
                    kind: p.kind.name().to_string(),
                    default: p.default.clone(),
                    min,
                    max,
                    choices,
                }
            })
            .collect(),
        broad: t.broad,
        default_definition,
    }
}

/// Every template, in a stable order.
pub fn list_templates(principal: &Principal) -> AppResult<Vec<MatchingRuleTemplateView>> {
    require(principal, Permission::Read)?;
    Ok(templates::all().iter().map(view).collect())
}

/// Makes a rule from a template and its parameters; it is inserted like any other rule.
pub fn create_from_template(
    conn: &mut PgConnection,
    principal: &Principal,
    input: MatchingRuleFromTemplateInput,
) -> AppResult<MatchingRuleView> {
    require(principal, Permission::Admin)?;
    let template = templates::find(input.template.trim()).ok_or_else(|| {
        AppError::invalid(
            "template",
            format!("no template {:?} (GET /api/v1/matching-rule-templates lists them)", input.template),
        )
    })?;
    let parameters = match input.parameters {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(AppError::invalid("parameters", "an object of parameter values by key")),
    };
    let definition = template.instantiate(&parameters).map_err(|e| AppError::invalid(&e.field, e.message))?;
    let name = check_name(input.name.as_deref().unwrap_or(template.name))?;
    let description = check_description(Some(input.description.unwrap_or_else(|| template.description.to_string())))?;
    let new = NewRule {
        name,
        description,
        definition: serde_json::to_value(&definition).map_err(AppError::internal)?,
        enabled: input.enabled.unwrap_or(false),
        position: input.position,
        template: Some(template.key.to_string()),
    };
    insert_rule(conn, principal, new)
}
