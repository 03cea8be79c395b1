//! The HTTP edge: one router for GraphQL (POST executes, GET serves GraphiQL or upgrades to the
//! subscription websocket, all on `/graphql`), CSV exports, notebook downloads, health probes
//! and GraphiQL's own assets.

mod exports;
mod graphiql;
mod graphql;
mod graphql_ws;
mod health;
mod legacy;
mod notebooks;
mod rest_ingest;

use axum::{
    Router,
    http::{HeaderValue, Method, header},
    routing::get,
};
use tower_http::{
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    trace::TraceLayer,
};

use crate::{AppState, graphql::AppSchema};

/// What GraphQL handlers need: the schema and the shared state.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: AppSchema,
}

pub fn router(app: AppState, schema: AppSchema) -> Router {
    let cors = graphql_cors(&app.config.cors_origins);
    let rest_ingest = rest_ingest::routes(app.config.limits.event_body_limit);
    let legacy = legacy::routes(app.config.limits.upload_limit);
    let state = HttpState { app, schema };
    Router::new()
        .route(
            "/graphql",
            get(graphql::get_graphql).post(graphql::post_graphql),
        )
        .route(
            "/export/notebooks/{id}/events.csv",
            get(exports::notebook_events),
        )
        .route(
            "/export/dashboard-interactions.csv",
            get(exports::dashboard_interactions),
        )
        .layer(cors)
        .merge(rest_ingest)
        .route("/notebooks/{id}/download", get(notebooks::download))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        // After the layers above: the old routes carry raw student ids in their URIs, so they
        // have their own trace layer (route templates only) and their own permissive CORS.
        .merge(legacy)
        .with_state(state)
}

/// Browsers may call the authenticated API only from configured origins (none by default:
/// same-origin GraphiQL and non-browser clients need no CORS).
fn graphql_cors(origins: &[String]) -> CorsLayer {
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(3600))
}
