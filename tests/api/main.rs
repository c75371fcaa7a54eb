//! Integration tests: real HTTP against real app instances on a real PostgreSQL.
//! One binary, so the embedded cluster and the template database are set up once.

mod helpers;

mod audit;
mod auth;
mod bank;
mod bank_import_rules;
mod bank_real_files;
mod bola;
mod collections;
mod connector_fixtures;
mod connector_push;
mod connectors;
mod connectors_generic_json;
mod connectors_odoo;
mod connectors_open_banking;
mod csv_injection;
mod customers;
mod data_safety;
mod deep_nesting;
mod demo;
mod document_lines;
mod documents;
mod exports;
mod faults;
mod graphql;
mod guards;
mod hostile_input;
mod http_headers;
mod idempotency;
mod integrity;
mod key_rotation_crash;
mod master_data;
mod matching;
mod openapi;
mod portal;
mod readme;
mod reports;
mod service;
mod statement_habits;
mod statement_layouts;
mod statements;
mod tenancy;
mod tenant_export;
mod users;
mod webhooks;
