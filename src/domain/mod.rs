//! Pure business logic: no IO, no database, no HTTP. Everything here is unit-testable.

pub mod aging;
pub mod audit_chain;
pub mod auth;
pub mod bank_line;
pub mod cash_application;
pub mod contact;
pub mod customer;
pub mod customer_statements;
pub mod difference;
pub mod document;
pub mod document_lines;
pub mod dunning;
pub mod envelope;
pub mod instalments;
pub mod json_path;
pub mod money;
pub mod nesting;
pub mod product;
pub mod run_status;
pub mod ssrf;
pub mod statement_of_account;
pub mod tenant;
pub mod webhook_delivery;
pub mod webhook_signature;
