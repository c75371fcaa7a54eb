//! duizhang (对账): an API-only platform with which a company reconciles its accounts
//! receivable with its customers.
//!
//! Layers point one way: `api` (REST and GraphQL handlers) -> `services` (use cases, one
//! transaction each) -> `domain` (pure logic) and `db` (diesel models and queries).

pub mod api;
pub mod bank_formats;
pub mod config;
pub mod connectors;
pub mod db;
pub mod demo;
pub mod demo_data;
pub mod domain;
pub mod embedded_postgres;
pub mod error;
pub mod evaluation;
pub mod reports;
pub mod services;
pub mod specs;
pub mod spreadsheet;
pub mod startup;
pub mod state;
pub mod statement_formats;
pub mod telemetry;
