//! Limits on what one GraphQL request may ask for. Depth and complexity are async-graphql's own
//! checks; aliases are counted here, because `{ a1: document(id: ..) .. a500: document(id: ..) }`
//! is one request (one rate-limit step) that runs one transaction per alias. Every refusal (and
//! every other parse or validation error) carries `extensions.code` like the resolvers' errors.

use crate::config::Settings;
use crate::error::AppError;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Variables};
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    /// Checked on the document's text before parsing (`domain::nesting`), and async-graphql's
    /// own recursion bound (selection sets and fragment spreads) set to the same value.
    pub max_nesting: usize,
    pub max_fragments: usize,
    pub max_directives: usize,
}

impl Limits {
    pub fn from_settings(settings: &Settings) -> Limits {
        Limits {
            max_depth: settings.graphql_max_depth,
            max_complexity: settings.graphql_max_complexity,
            max_aliases: settings.graphql_max_aliases,
            max_nesting: settings.graphql_max_nesting,
            max_fragments: settings.graphql_max_fragments,
            max_directives: settings.graphql_max_directives,
        }
    }
}

impl Limits {
    /// The checks that run before async-graphql parses `query`: nesting depth and fragment count.
    pub fn check_document(&self, query: &str) -> Result<(), AppError> {
        use crate::domain::nesting::{check_graphql, DocumentRefusal};
        check_graphql(query, self.max_nesting, self.max_fragments).map_err(|refusal| match refusal {
            DocumentRefusal::TooDeep(too_deep) => AppError::nesting_too_deep("GraphQL document", too_deep),
            DocumentRefusal::TooManyFragments { max } => {
                AppError::bad_request(format!("query defines more than {max} fragments"))
                    .with_details(serde_json::json!({ "limit": "fragments", "max": max }))
            }
        })
    }
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

/// The code of refused documents: the request itself is wrong, whatever its fields.
const CODE: &str = "bad_request";

fn with_code(mut error: ServerError, details: Option<async_graphql::Value>) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", CODE);
    }
    if let Some(details) = details {
        extensions.set("details", details);
    }
    error
}

#[async_trait::async_trait]
impl Extension for Limits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await.map_err(|e| with_code(e, None))?;
        let aliases = count_aliases(&document, self.max_aliases);
        if aliases > self.max_aliases {
            let details = async_graphql::value!({ "limit": "aliases", "max": self.max_aliases });
            return Err(with_code(
                ServerError::new(format!("query has more than {} aliased fields", self.max_aliases), None),
                Some(details),
            ));
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| errors.into_iter().map(|e| with_code(e, None)).collect())
    }

    /// Resolver errors carry their code already; what reaches here without one is an argument
    /// async-graphql could not read into its type (an Int out of range: bad input), or else a
    /// fault of ours.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        for error in &mut response.errors {
            if error.extensions.as_ref().is_some_and(|e| e.get("code").is_some()) {
                continue;
            }
            let code = if error.message.starts_with("Failed to parse") { CODE } else { "internal" };
            if code == "internal" {
                tracing::error!(message = %error.message, "GraphQL error without a code");
            }
            error.extensions.get_or_insert_with(Default::default).set("code", code);
        }
        response
    }
}

/// Aliased fields in the document, fragments counted each time they are spread. Stops counting
/// once past `stop_above`, and never follows a fragment into itself (validation, which refuses
/// cycles, runs after parsing).
pub fn count_aliases(document: &ExecutableDocument, stop_above: usize) -> usize {
    let mut count = 0;
    for (_, operation) in document.operations.iter() {
        let mut expanding = Vec::new();
        walk(document, &operation.node.selection_set.node, &mut expanding, &mut count, stop_above);
    }
    count
}

fn walk<'d>(
    document: &'d ExecutableDocument,
    set: &'d SelectionSet,
    expanding: &mut Vec<&'d str>,
    count: &mut usize,
    stop_above: usize,
) {
    for item in &set.items {
        if *count > stop_above {
            return;
        }
        match &item.node {
            Selection::Field(field) => {
                if field.node.alias.is_some() {
                    *count += 1;
                }
                walk(document, &field.node.selection_set.node, expanding, count, stop_above);
            }
            Selection::InlineFragment(fragment) => {
                walk(document, &fragment.node.selection_set.node, expanding, count, stop_above)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if expanding.contains(&name) {
                    continue;
                }
                if let Some((name, fragment)) = document.fragments.get_key_value(name) {
                    expanding.push(name.as_str());
                    walk(document, &fragment.node.selection_set.node, expanding, count, stop_above);
                    expanding.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases(query: &str) -> usize {
        count_aliases(&async_graphql::parser::parse_query(query).unwrap(), 1000)
    }

    #[test]
    fn aliases_are_counted_through_fragments() {
        assert_eq!(aliases("{ a: customers { items { code } } b: customers { items { c: code } } }"), 3);
        assert_eq!(aliases("query { ...F ...F } fragment F on QueryRoot { x: customers { items { code } } }"), 2);
        assert_eq!(aliases("{ ... on QueryRoot { y: customers { items { code } } } }"), 1);
        // A cycle (refused later by validation) does not hang the count.
        assert_eq!(aliases("{ ...A } fragment A on QueryRoot { a: x ...A }"), 1);
        assert_eq!(count_aliases(&async_graphql::parser::parse_query("{ a: x b: x c: x d: x }").unwrap(), 1), 2);
    }
}
