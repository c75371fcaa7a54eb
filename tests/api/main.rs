//! Integration tests: real HTTP against real app instances on a real PostgreSQL.
//! One binary, so the embedded cluster and the template database are set up once.

mod helpers;

mod audit;
mod auth;
mod bank;
mod collections;
mod connectors;
mod customers;
mod documents;
mod exports;
mod graphql;
mod hostile_input;
mod idempotency;
mod integrity;
mod matching;
mod portal;
mod reports;
mod service;
mod statements;
mod tenancy;
mod webhooks;
