//! Integration tests: real HTTP against real app instances on a real PostgreSQL.
//! One binary, so the embedded cluster and the template database are set up once.

mod helpers;

mod audit;
mod auth;
mod bank;
mod collections;
mod connector_fixtures;
mod connectors;
mod connectors_generic_json;
mod connectors_odoo;
mod connectors_open_banking;
mod customers;
mod documents;
mod exports;
mod graphql;
mod idempotency;
mod matching;
mod portal;
mod reports;
mod service;
mod statements;
mod tenancy;
mod webhooks;
