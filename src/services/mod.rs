//! Use cases. Each public function is one use case and runs inside the one transaction that
//! `db::transaction` gives it; it checks permissions, validates, changes rows and records the
//! audit entries of every change in that same transaction.

pub mod admin;
pub mod api_key_cache;
pub mod app_state;
pub mod audit;
pub mod audit_sealer;
pub mod auth;
pub mod bank;
pub mod cash_application;
pub mod charts;
pub mod clock;
pub mod collection_tasks;
pub mod connector_push;
pub mod connector_worker;
pub mod connectors;
pub mod contact_log;
pub mod credit_check;
pub mod credit_policy;
pub mod credit_rules;
pub mod customer_balance;
pub mod customer_contacts;
pub mod customer_groups;
pub mod customer_statements;
pub mod customers;
pub mod data_safety;
pub mod difference_causes;
pub mod differences;
pub mod document_import;
pub mod document_import_lines;
pub mod document_line_rows;
pub mod document_lines;
pub mod documents;
pub mod dunning;
pub mod dunning_recovery;
pub mod events;
pub mod idempotency;
pub mod import;
pub mod import_mappings;
pub mod import_sheet;
pub mod instalments;
pub mod integrity;
pub mod jwt;
pub mod login_throttle;
pub mod matching_rules;
pub mod metrics;

pub mod pagination;
pub mod payment_behaviour;
pub mod polling;
pub mod portal;
pub mod products;
pub mod promises;
pub mod rate_limit;
pub mod read_routing;
pub mod reports;
pub mod secret_keys;
pub mod statement_of_account;
pub mod statement_runs;
pub mod subscriptions;
pub mod templates;
pub mod tenants;
pub mod users;
pub mod webhook_worker;
pub mod webhooks;
pub mod work_orders;

use crate::domain::auth::{Permission, Principal};
use crate::error::{AppError, AppResult};

pub use app_state::AppState;

pub fn require(principal: &Principal, permission: Permission) -> AppResult<()> {
    if principal.can(permission) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!("this operation needs the '{}' permission", permission.scope())))
    }
}

/// For PATCH bodies: tells "field absent" (outer None) from "field null" (Some(None)).
/// Use with `#[serde(default, deserialize_with = "present")]`.
pub(crate) fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A settings object given as JSON (a CSV column mapping, say) must be an object or null: serde
/// would otherwise read `[]` into a struct whose fields all have defaults.
pub(crate) fn json_object<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    use serde::de::Error;
    match <serde_json::Value as serde::Deserialize>::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        value @ serde_json::Value::Object(_) => serde_json::from_value(value).map(Some).map_err(D::Error::custom),
        other => Err(D::Error::custom(format!("expected an object or null, found {}", json_kind(&other)))),
    }
}

/// [`present`] for a field read with [`json_object`].
pub(crate) fn present_json_object<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    json_object(d).map(Some)
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
