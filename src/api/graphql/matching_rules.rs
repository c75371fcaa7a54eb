//! Matching rules over GraphQL: the same use cases as `/api/v1/matching-rules`, merged into the
//! query and mutation roots. Definitions and template parameters are `JSON`, as REST takes them.

use super::{caller, run, run_read};
use crate::services::matching_rules::{
    self as rules, MatchingRuleFromTemplateInput, MatchingRuleInput, MatchingRuleOrder, MatchingRulePatch,
    MatchingRuleQuery, MatchingRuleTemplateView, MatchingRuleVersionView, MatchingRuleView,
};
use async_graphql::{Context, ErrorExtensions, InputObject, MaybeUndefined, Object};
use serde_json::Value;
use uuid::Uuid;

#[derive(Default)]
pub struct MatchingRulesQuery;

#[Object]
impl MatchingRulesQuery {
    /// The tenant's matching rules in evaluation order; `includeRetired`: retired ones after them.
    async fn matching_rules(
        &self,
        ctx: &Context<'_>,
        include_retired: Option<bool>,
    ) -> async_graphql::Result<Vec<MatchingRuleView>> {
        let q = MatchingRuleQuery { include_retired };
        run_read(ctx, move |conn, p| rules::list(conn, p, q)).await
    }

    /// One matching rule, live or retired.
    async fn matching_rule(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<MatchingRuleView> {
        run_read(ctx, move |conn, p| rules::get(conn, p, id)).await
    }

    /// Every saved version of a rule, oldest first.
    async fn matching_rule_versions(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Vec<MatchingRuleVersionView>> {
        run(ctx, move |conn, p| rules::versions(conn, p, id)).await
    }

    /// One saved version of a rule.
    async fn matching_rule_version(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        version: i32,
    ) -> async_graphql::Result<MatchingRuleVersionView> {
        run_read(ctx, move |conn, p| rules::version(conn, p, id, version)).await
    }

    /// The preset rules with their example lines and parameters.
    async fn matching_rule_templates(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MatchingRuleTemplateView>> {
        let (_, principal) = caller(ctx)?;
        rules::list_templates(&principal).map_err(|e| e.extend())
    }
}

/// Changes to a matching rule; absent fields stay, `description: null` clears it.
#[derive(InputObject)]
pub struct MatchingRulePatchInput {
    pub name: Option<String>,
    pub description: MaybeUndefined<String>,
    /// The whole new definition.
    pub definition: Option<Value>,
    pub enabled: Option<bool>,
    /// Refuse the change (conflict) when the rule is no longer at this version.
    pub expected_version: Option<i32>,
}

impl From<MatchingRulePatchInput> for MatchingRulePatch {
    fn from(p: MatchingRulePatchInput) -> Self {
        let description = match p.description {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => Some(Some(v)),
        };
        MatchingRulePatch {
            name: p.name,
            description,
            definition: p.definition,
            enabled: p.enabled,
            expected_version: p.expected_version,
        }
    }
}

#[derive(Default)]
pub struct MatchingRulesMutation;

#[Object]
impl MatchingRulesMutation {
    /// Add a matching rule (admin), by default enabled and last.
    async fn create_matching_rule(
        &self,
        ctx: &Context<'_>,
        input: MatchingRuleInput,
    ) -> async_graphql::Result<MatchingRuleView> {
        run(ctx, move |conn, p| rules::create(conn, p, input)).await
    }

    /// Make a matching rule from a template (admin), by default disabled and last.
    async fn create_matching_rule_from_template(
        &self,
        ctx: &Context<'_>,
        input: MatchingRuleFromTemplateInput,
    ) -> async_graphql::Result<MatchingRuleView> {
        run(ctx, move |conn, p| rules::create_from_template(conn, p, input)).await
    }

    /// Change a matching rule (admin); a change saves a new version.
    async fn update_matching_rule(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: MatchingRulePatchInput,
    ) -> async_graphql::Result<MatchingRuleView> {
        let patch = input.into();
        run(ctx, move |conn, p| rules::update(conn, p, id, patch)).await
    }

    /// Retire a matching rule (admin): out of the order, kept with its versions.
    async fn retire_matching_rule(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<MatchingRuleView> {
        run(ctx, move |conn, p| rules::retire(conn, p, id)).await
    }

    /// Put the live rules in this order (admin); `ids` lists each exactly once.
    async fn reorder_matching_rules(
        &self,
        ctx: &Context<'_>,
        ids: Vec<Uuid>,
    ) -> async_graphql::Result<Vec<MatchingRuleView>> {
        run(ctx, move |conn, p| rules::reorder(conn, p, MatchingRuleOrder { ids })).await
    }
}
