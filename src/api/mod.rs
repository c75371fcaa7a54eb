//! The transport layer: REST and GraphQL handlers are thin; they authenticate, parse, call one
//! use case in `services` and render its answer.

pub mod client_ip;
pub mod cors;
pub mod extract;
pub mod graphql;
pub mod guard;
pub mod observe;
pub mod read_routing;
pub mod rest;
pub mod security_headers;
