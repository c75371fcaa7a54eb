//! Use cases. Each public function is one use case and runs inside the one transaction that
//! `db::transaction` gives it; it checks permissions, validates, changes rows and records the
//! audit entries of every change in that same transaction.

pub mod admin;
pub mod api_key_cache;
pub mod audit;
pub mod audit_sealer;
pub mod auth;
pub mod bank;
pub mod connector_push;
pub mod connector_worker;
pub mod connectors;
pub mod customers;
pub mod differences;
pub mod documents;
pub mod dunning;
pub mod events;
pub mod idempotency;
pub mod import;
pub mod integrity;
pub mod login_throttle;
pub mod matching;
pub mod pagination;
pub mod portal;
pub mod reports;
pub mod statement_files;
pub mod statement_lines;
pub mod statement_mappings;
pub mod statement_runs;
pub mod statements;
pub mod tenants;
pub mod users;
pub mod webhook_worker;
pub mod webhooks;

use crate::domain::auth::{Permission, Principal};
use crate::error::{AppError, AppResult};

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
