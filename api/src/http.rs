//! The HTTP edge: one router for GraphQL (POST executes, GET serves GraphiQL or upgrades to the
//! subscription websocket, all on `/graphql`), CSV exports, notebook downloads, health probes,
//! GraphiQL's own assets and the `/dashboard` page.

mod breaker;
mod client_ip;
mod dashboard;
mod exports;
mod graphiql;
mod graphql;
mod graphql_body;
mod graphql_http;
mod graphql_ws;
mod health;
mod legacy;
mod notebooks;
mod rest_ingest;
mod socketio;

use axum::{
    Router,
    http::{HeaderValue, Method, header},
    routing::get,
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{graphql::Engine, state::AppState};

/// What GraphQL handlers need: the engine that runs operations and the shared state.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub engine: Engine,
}

pub fn router(app: AppState, engine: Engine) -> Router {
    let cors = graphql_cors(&app.config.cors_origins);
    let rest_ingest = rest_ingest::routes(app.config.limits.event_body_limit);
    let socketio = socketio::layer(app.clone());
    let legacy = legacy::routes(app.config.limits.upload_limit);
    let db_health = app.db_health.clone();
    let state = HttpState { app, engine };
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
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/assets/{file}", get(dashboard::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(CompressionLayer::new())
        // Spans name the route template, never the URI: a mistyped old route could carry a
        // student's raw id.
        .layer(TraceLayer::new_for_http().make_span_with(legacy::template_span))
        // After the layers above: the old routes carry raw student ids in their URIs, so they
        // have their own trace layer (route templates only) and their own permissive CORS.
        .merge(legacy)
        .layer(axum::middleware::from_fn_with_state(
            db_health,
            breaker::refuse_while_down,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        // Outside the trace layers so their spans carry the id, and echoed in the response.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
        // Outermost: `/socket.io/` is answered before the trace layer, whose spans would carry
        // the handshake's query string (a student's raw id).
        .layer(socketio)
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

/// A panic in a handler: logged, and answered as a coded 500 instead of a dropped connection.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %detail, "a request handler panicked");
    let error = crate::error::AppError::internal(anyhow::anyhow!("handler panicked"));
    graphql_http::graphql_error(error.status(), error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_answered_as_a_coded_500() {
        let response = panic_response(Box::new("boom"));
        assert_eq!(
            response.status(),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        );
        let body = axum::body::to_bytes(response.into_body(), 4096).await;
        let body: serde_json::Value =
            serde_json::from_slice(&body.unwrap_or_default()).unwrap_or_default();
        assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");
        assert_eq!(body["errors"][0]["message"], "internal error");
    }
}
