//! Jupyter learning-analytics GraphQL server.
//!
//! This file only lists the modules, from the edge down: `startup` assembles the application
//! (`Application::build`, used by `main` and the tests alike), `http` and `graphql` are the
//! transports, `services` hold the domain rules, and the floors below them (`broker`, `storage`,
//! `ratelimit`, `db`, `config`, `error`) know nothing above. See `docs/architecture.md`.

pub mod auth;
pub mod broker;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod pseudonym;
pub mod ratelimit;
pub mod secrets;
pub mod services;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod validation;
