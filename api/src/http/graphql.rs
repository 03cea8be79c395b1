//! `/graphql`: POST executes one JSON operation; GET serves GraphiQL, or the subscription
//! websocket when it is an upgrade.
//!
//! Our own handler rather than the stock one: only `application/json` bodies are executed
//! (no `text/plain`/form bodies, which browsers send cross-site without preflight), GET never
//! runs operations, batching is off, and the body size is bounded.

use async_graphql::{Data, http::ALL_WEBSOCKET_PROTOCOLS};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    Json,
    body::Bytes,
    extract::{FromRequestParts, State, WebSocketUpgrade, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, Request, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{HttpState, graphiql};
use crate::{
    auth::{RequestAuth, Viewer},
    error::AppError,
};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

pub async fn post_graphql(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !is_json(&headers) {
        return graphql_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::bad_input("send GraphQL requests as application/json"),
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return graphql_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                AppError::PayloadTooLarge(format!(
                    "request body over {} bytes",
                    state.app.config.limits.batch_body_limit
                )),
            );
        }
        Err(rejection) => {
            return graphql_error(
                rejection.status(),
                AppError::bad_input(rejection.body_text()),
            );
        }
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            let message = format!("not a GraphQL request: {error}");
            return graphql_error(StatusCode::BAD_REQUEST, AppError::bad_input(message));
        }
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let viewer = Viewer::from_authorization(authorization, &state.app.jwt);
    let request = request.data(RequestAuth::new(viewer));
    let response = state.schema.execute(request).await;
    let mut http_response = Json(response).into_response();
    http_response
        .headers_mut()
        .insert(header::CONTENT_TYPE, response_content_type(&headers));
    http_response
}

pub async fn get_graphql(
    State(state): State<HttpState>,
    request: Request<axum::body::Body>,
) -> Response {
    let is_upgrade = request
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if !is_upgrade {
        return graphiql::page().into_response();
    }
    let (mut parts, _body) = request.into_parts();
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &state).await {
        Ok(protocol) => protocol,
        Err(status) => return status.into_response(),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let keys_state = state.app.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
                .on_connection_init(move |payload| async move {
                    let viewer = Viewer::from_init_payload(&payload, &keys_state.jwt);
                    let mut data = Data::default();
                    data.insert(RequestAuth::for_connection(viewer));
                    Ok(data)
                })
                .serve()
                .await;
        })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || mime.eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON)
        })
}

/// `application/graphql-response+json` when the client asks for it, else plain JSON (what
/// most clients, and the old dashboard, expect).
fn response_content_type(headers: &HeaderMap) -> HeaderValue {
    let wants_graphql_response = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains(GRAPHQL_RESPONSE_JSON));
    if wants_graphql_response {
        HeaderValue::from_static(GRAPHQL_RESPONSE_JSON)
    } else {
        HeaderValue::from_static("application/json")
    }
}

/// A request-level failure, shaped like a GraphQL response so clients read one format.
fn graphql_error(status: StatusCode, error: AppError) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": error.message(), "extensions": { "code": error.code() } }]
    });
    (status, Json(body)).into_response()
}
