//! The GraphQL schema: one folder per domain, each contributing Query and Mutation parts that
//! are merged here.

pub mod admin;
pub mod auth;
pub mod context;
mod error_codes;
pub mod groups;
pub mod ingest;
pub mod notebooks;
pub mod system;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

use crate::AppState;

#[derive(MergedObject, Default)]
pub struct Query(
    system::SystemQuery,
    notebooks::NotebookQuery,
    auth::AuthQuery,
    groups::GroupQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    auth::AuthMutation,
    admin::AdminMutation,
    ingest::IngestMutation,
    groups::GroupMutation,
    notebooks::NotebookMutation,
);

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .extension(error_codes::ErrorCodes)
}

pub fn build_schema(state: AppState) -> AppSchema {
    builder().data(state).finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
