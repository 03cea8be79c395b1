//! The GraphQL schema: one folder per domain, each contributing Query and Mutation parts that
//! are merged here.

pub mod admin;
pub mod admission;
pub mod analytics;
pub mod auth;
pub mod context;
pub mod dashboards;
mod error_codes;
pub mod groups;
pub mod guards;
pub mod ingest;
mod introspection;
pub mod limits;
pub mod live;
mod login_limit;
pub mod notebooks;
mod parse_cache;
mod request_metrics;
pub mod scalar_list;
pub mod system;
pub mod users;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::state::AppState;

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
    // Outermost first: the metrics see the codes `ErrorCodes` gives.
    .extension(request_metrics::RequestMetrics)
    .extension(error_codes::ErrorCodes)
}

/// The schema, whose parse hook shares `documents` with the HTTP edge.
pub fn build_schema(state: AppState, documents: ParseCache) -> AppSchema {
    let limits = &state.config.limits;
    builder()
        .extension(limits::DocumentLimits::from_limits(limits))
        .extension(login_limit::LoginLimit)
        // Last: the innermost parse hook (see the module).
        .extension(documents)
        .limit_depth(limits.graphql_max_depth)
        .limit_complexity(limits.graphql_max_complexity)
        .data(state)
        .finish()
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
