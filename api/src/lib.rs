//! Latchkey's gateway: configuration, the HTTP server with the GraphQL APIs, and the CLI.
//! No business rules live here: handlers resolve the tenant, authenticate the caller and call
//! one core service.

// The tenant API merges many query and mutation objects; their types nest deeply.
#![recursion_limit = "256"]

pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod database_wait;
pub mod graphql;
pub mod http;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod progress;
pub mod retry;
pub mod server;
pub mod shutdown;
pub mod state;
pub mod sync;
pub mod transfer;
