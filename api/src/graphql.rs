//! The GraphQL schema: one folder per domain, each contributing Query and Mutation parts that
//! are merged here.

pub mod admin;
pub mod admission;
pub mod analytics;
pub mod auth;
pub mod context;
pub mod dashboards;
mod engine;
mod error_codes;
pub mod groups;
pub mod guards;
pub mod ingest;
mod introspection;
pub mod limits;
pub mod live;
pub mod notebooks;
mod parse_cache;
pub mod scalar_list;
pub mod system;
pub mod users;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::state::AppState;

pub use engine::{Engine, Prepared, selected_operation};
pub use parse_cache::ParseCache;

#[derive(MergedObject, Default)]
pub struct Query(
    system::SystemQuery,
    notebooks::NotebookQuery,
    auth::AuthQuery,
    groups::GroupQuery,
    live::LiveQuery,
    users::UserAdminQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    auth::AuthMutation,
    admin::AdminMutation,
    ingest::IngestMutation,
    groups::GroupMutation,
    notebooks::NotebookMutation,
    live::LiveMutation,
    users::UserAdminMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(live::LiveSubscription, analytics::AnalyticsSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}

/// The schema and the steps around it ([`Engine`]). It has no async-graphql extension: see
/// the engine's module for why.
pub fn build_engine(state: AppState) -> Engine {
    let limits = &state.config.limits;
    let document_limits = limits::DocumentLimits::from_limits(limits);
    let schema = builder()
        .limit_depth(limits.graphql_max_depth)
        .limit_complexity(limits.graphql_max_complexity)
        .data(state)
        .finish();
    Engine::new(schema, ParseCache::default(), document_limits)
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The GraphQL spec's "request error": raised before execution (the document did not parse or
/// validate, the variables did not coerce), so there is no data and no error has a path. A
/// field error always has a path and is a result like any other.
pub fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// An `AppError` raised before execution, as the GraphQL error a response carries.
pub fn server_error(error: crate::error::AppError) -> async_graphql::ServerError {
    let error = async_graphql::Error::from(error);
    let mut server_error = async_graphql::ServerError::new(error.message, None);
    server_error.extensions = error.extensions;
    server_error
}
