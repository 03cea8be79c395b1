//! The deployed JupyterLab extensions' old REST routes (telemetry 5.1.1, dashboard 5.0.4), as
//! thin adapters over the same services as GraphQL: they translate the old request and
//! response shapes and nothing more. Our guards stay (the old group and export routes were
//! open) and our numbers are the corrected ones (DOMAIN.md). Ingest (`/send/*`) lives in
//! `rest_ingest`.
//!
//! These routes carry raw student ids in their paths and queries, so their trace spans record
//! only the method and the route template, never the URI.

mod auth;
mod dashboard;
mod filter;
mod groups;
mod guard;
mod notebook;
mod reports;

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath},
    http::{Method, Request, header},
    routing::{delete, get, post, put},
};
use tower_http::{
    cors::{Any, CorsLayer},
    trace::TraceLayer,
};

use super::HttpState;

pub fn routes(upload_limit: usize) -> Router<HttpState> {
    Router::new()
        .merge(jwt_routes())
        .merge(dashboard_routes())
        .merge(group_routes())
        .route(
            "/notebook/upload",
            post(notebook::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/notebook/download/{id}", get(super::notebooks::download))
        .route("/dashboard_interaction/add", post(notebook::interaction))
        .route(
            "/dashboard_interaction/download_csv",
            get(reports::interactions_csv),
        )
        .layer(cors())
        .layer(TraceLayer::new_for_http().make_span_with(template_span))
}

fn jwt_routes() -> Router<HttpState> {
    Router::new()
        .route("/jwt/login", post(auth::login))
        .route("/jwt/refresh", post(auth::refresh))
        .route("/jwt/check", get(auth::check))
        .route("/jwt/signup", get(auth::signup_page).post(auth::signup))
}

fn dashboard_routes() -> Router<HttpState> {
    let route = |path: &str| format!("/dashboard/{{id}}/{path}");
    Router::new()
        .route(&route("check"), get(dashboard::check))
        .route(
            &route("user_code_execution"),
            get(dashboard::code_execution),
        )
        .route(&route("user_cell_time"), get(dashboard::cell_time))
        .route(
            &route("user_cell_duration_time"),
            get(dashboard::cell_duration),
        )
        .route(&route("toc"), get(dashboard::toc))
        .route(&route("connectedstudents"), get(dashboard::connected))
        .route(&route("getgroups"), get(dashboard::getgroups))
        .route(&route("cell_execution_progress"), post(reports::progress))
        .route(&route("cell/{cell_id}"), get(reports::cell_attempts))
        .route(
            &route("pending_updates_stats"),
            get(reports::pending_updates),
        )
        .route(&route("download_csv"), get(reports::download_csv))
}

fn group_routes() -> Router<HttpState> {
    Router::new()
        .route("/groups/add", post(groups::add))
        .route("/groups/update", put(groups::update))
        .route("/groups/delete", delete(groups::remove))
        .route("/groups/getusers", get(groups::users_of_groups))
        .route(
            "/groups/notebook/{id}/getgroups",
            get(groups::notebook_groups),
        )
        .route(
            "/groups/users/{user}/groups/names",
            get(groups::names_of_student),
        )
        .route("/groups/users/{user}/teammates", get(groups::teammates))
        .route(
            "/groups/users/{user}/teammates/connected",
            get(groups::connected_teammates),
        )
        .route(
            "/groups/location/teammates",
            get(groups::teammate_locations),
        )
        .route("/groups/location/update", post(groups::update_location))
        .route("/groups/location/clear", delete(groups::clear_location))
}

/// The extensions run on any JupyterHub origin. Tokens travel in headers, never cookies, so
/// allowing every origin without credentials is safe.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::CONTENT_DISPOSITION])
        .max_age(std::time::Duration::from_secs(86_400))
}

/// A span with the method and the route template only: `/groups/users/{user}/teammates`, never
/// the student id the URI holds.
pub(super) fn template_span<B>(request: &Request<B>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    tracing::debug_span!("request", method = %request.method(), route = %route, request_id)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    /// Collects what the fmt layer writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn request_spans_name_the_route_template_never_the_raw_ids_of_the_uri() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let router: Router = Router::new()
            .route("/groups/users/{user}/teammates", get(|| async { "[]" }))
            .layer(TraceLayer::new_for_http().make_span_with(template_span));
        let request = Request::get("/groups/users/raw-student-42/teammates?notebookId=nb")
            .body(Body::empty())
            .unwrap_or_default();
        let response = router.oneshot(request).await;
        assert!(response.is_ok_and(|r| r.status().is_success()));
        let logs = String::from_utf8_lossy(
            &captured
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned();
        assert!(logs.contains("/groups/users/{user}/teammates"), "{logs}");
        assert!(!logs.contains("raw-student-42"), "{logs}");
        assert!(!logs.contains("notebookId"), "{logs}");
    }
}
