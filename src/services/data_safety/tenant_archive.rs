//! The tenant archive (`GET /api/v1/export`, `duizhang tenant import`): a zip file with one
//! NDJSON file per tenant table (`<table>.ndjson`, one JSON object per row, in primary key
//! order) and `manifest.json`. The zip comment is the SHA-256 (hex) of every byte of the file
//! before it, so any changed byte anywhere is found before anything is read.
//!
//! Sealed values are exported opened (decrypted): ciphertext bound to this instance's keys would
//! be useless elsewhere. The importing instance seals them with its own keys.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const FORMAT: &str = "duizhang-tenant-export";
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";
/// Length of the zip comment: the archive's SHA-256 in hex.
pub const DIGEST_HEX_LEN: usize = 64;

/// Every table holding tenant data, parents before children: the order the import inserts them.
pub const TABLES: &[&str] = &[
    "tenants",
    "users",
    "password_reset_tokens",
    "connectors",
    "api_keys",
    "connector_syncs",
    "connector_push_secrets",
    "customers",
    "customer_contacts",
    "customer_groups",
    "customer_group_members",
    "products",
    "customer_statement_mappings",
    "import_mappings",
    "documents",
    "document_lines",
    "document_settings",
    "document_instalments",
    "bank_accounts",
    "bank_statements",
    "bank_lines",
    "bank_import_settings",
    "matching_settings",
    "matching_rules",
    "matching_rule_versions",
    "fx_rates",
    "reconciliation_runs",
    "allocations",
    "write_offs",
    "learned_facts",
    "learned_fact_sources",
    "outbox_events",
    "webhook_settings",
    "webhook_endpoints",
    "webhook_deliveries",
    "webhook_attempts",
    "customer_statements",
    "customer_statement_lines",
    "differences",
    "difference_comments",
    "work_orders",
    "work_order_differences",
    "work_order_documents",
    "work_order_comments",
    "work_order_settings",
    "balance_confirmations",
    "portal_tokens",
    "inbound_secrets",
    "inbound_messages",
    "dunning_levels",
    "dunning_runs",
    "dunning_assignments",
    "dunning_actions",
    "customer_dunning",
    "collection_settings",
    "collection_tasks",
    "contact_log",
    "payment_promises",
    "credit_policies",
    "credit_policy_changes",
    "credit_rules",
    "statement_runs",
    "statement_run_items",
    "data_safety_settings",
    "idempotency_keys",
    "audit_log",
    "audit_chain_heads",
    "audit_pending",
];

/// Tenant tables not exported: the data keys are wrapped by this instance's master key; the
/// importing instance makes its own.
pub const NOT_EXPORTED: &[&str] = &["tenant_keys"];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SealedKind {
    Text,
    TextArray,
    Bytes,
}

/// Columns holding sealed values: (table, column, kind).
pub const SEALED: &[(&str, &str, SealedKind)] = &[
    ("customers", "bank_accounts", SealedKind::TextArray),
    ("customers", "email", SealedKind::Text),
    ("customer_contacts", "name", SealedKind::Text),
    ("customer_contacts", "email", SealedKind::Text),
    ("customer_contacts", "phone", SealedKind::Text),
    ("customer_contacts", "address_lines", SealedKind::TextArray),
    ("webhook_endpoints", "secret", SealedKind::Text),
    ("webhook_endpoints", "previous_secret", SealedKind::Text),
    ("inbound_secrets", "secret", SealedKind::Text),
    ("connectors", "credentials", SealedKind::Bytes),
    ("connector_push_secrets", "sealed_secret", SealedKind::Bytes),
];

/// Columns computed with this instance's keys from sealed values: left out of the export, the
/// import computes them again with its own keys.
pub const DERIVED: &[(&str, &str)] = &[("customers", "bank_account_hashes")];

/// Columns the importing database fills itself (a sequence shared by all tenants).
pub const NOT_IMPORTED: &[(&str, &str)] = &[("audit_pending", "id")];

pub fn sealed_columns(table: &str) -> Vec<&'static str> {
    SEALED.iter().filter(|(t, _, _)| *t == table).map(|(_, c, _)| *c).collect()
}

pub fn sealed_kind(table: &str, column: &str) -> Option<SealedKind> {
    SEALED.iter().find(|(t, c, _)| *t == table && *c == column).map(|(_, _, k)| *k)
}

pub fn derived_columns(table: &str) -> Vec<&'static str> {
    DERIVED.iter().filter(|(t, _)| *t == table).map(|(_, c)| *c).collect()
}

pub fn file_name(table: &str) -> String {
    format!("{table}.ndjson")
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// The version of duizhang that wrote it.
    pub version: String,
    /// The migrations of the source database; the importing database must have the same.
    pub migrations: Vec<String>,
    pub migrations_version: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub tenant_name: String,
    /// In import order.
    pub files: Vec<FileEntry>,
    /// The head of the tenant's audit chain (sequence number, hash); `None`: no entry yet.
    pub audit_head: Option<(i64, String)>,
    /// `"opened"`: sealed values are in clear in the archive.
    pub sealed_values: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub table: String,
    pub file: String,
    pub rows: i64,
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: String,
}
