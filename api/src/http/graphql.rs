//! `/graphql`: POST executes one JSON operation; GET serves GraphiQL to browsers, runs a query
//! from the query string (never a mutation: 405), or hands an upgrade to the subscription
//! websocket (`graphql_ws`). Parameters, media types and statuses follow GraphQL over HTTP
//! (`graphql_http`).
//!
//! Our own handler rather than the stock one: only `application/json` bodies are executed
//! (no `text/plain`/form bodies, which browsers send cross-site without preflight), multipart
//! uploads only with a CSRF header, batching is off, and the body size is bounded while
//! reading (`BATCH_BODY_LIMIT` for JSON, `UPLOAD_LIMIT` for uploads).

use async_graphql::{
    ParseRequestError,
    http::{MultipartOptions, receive_body},
    parser::types::ExecutableDocument,
};
use axum::{
    body::{Body, Bytes},
    extract::{Query, State},
    http::{HeaderMap, Request, StatusCode, header},
    response::{IntoResponse, Response},
};

use std::{collections::HashMap, time::Duration};

use super::{
    HttpState, client_ip, graphiql,
    graphql_body::{self, BodyLimits},
    graphql_http::{self, MediaType, graphql_error, request_id},
    graphql_ws,
};
use crate::{
    auth::{RequestAuth, Viewer},
    error::AppError,
    graphql::admission::Admission,
    ratelimit::ClientIp,
};

use super::graphql_http::GRAPHQL_RESPONSE_JSON;

pub async fn post_graphql(
    State(state): State<HttpState>,
    client: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(media_type) = graphql_http::negotiate(&headers) else {
        return graphql_http::not_acceptable();
    };
    let limits = &state.app.config.limits;
    let request = match request_kind(&headers) {
        Some(RequestKind::Json) => json_request(&state, body).await,
        Some(RequestKind::Multipart) if !has_csrf_header(&headers) => Err((
            StatusCode::BAD_REQUEST,
            AppError::bad_input(
                "multipart requests need an `Apollo-Require-Preflight` or `x-csrf-token` header",
            ),
        )),
        Some(RequestKind::Multipart) => {
            multipart_request(&headers, body, limits.upload_limit).await
        }
        None => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::bad_input("send GraphQL requests as application/json"),
        )),
    };
    let (request, document) = match request {
        Ok(parsed) => parsed,
        Err((status, error)) => return graphql_error(status, error),
    };
    let operation = Operation {
        request: request.data(client),
        document,
    };
    execute(&state, &headers, operation, media_type).await
}

/// A request to run, and its document when the edge already parsed it.
struct Operation {
    request: async_graphql::Request,
    document: Option<ExecutableDocument>,
}

async fn execute(
    state: &HttpState,
    headers: &HeaderMap,
    Operation { request, document }: Operation,
    media_type: MediaType,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let viewer = Viewer::from_authorization(authorization, &state.app.accounts.jwt);
    let auth = RequestAuth::new(viewer);
    if let Err(error) = Admission::of(&state.app).admit(&auth, &request).await {
        return graphql_error(error.status(), error);
    }
    // Requests are counted by the engine; one stopped here never reaches its end, so it is
    // counted here (under the name the client gave, if any).
    let client_operation = request.operation_name.clone();
    let prepared = match state.engine.prepare_parsed(request.data(auth), document) {
        Ok(prepared) => prepared,
        Err(refused) => return graphql_http::respond(*refused, media_type, request_id(headers)),
    };
    let limit_ms = state.app.config.limits.graphql_timeout_ms;
    let started = std::time::Instant::now();
    let run = state.engine.execute(prepared);
    match tokio::time::timeout(Duration::from_millis(limit_ms), run).await {
        Ok(response) => graphql_http::respond(response, media_type, request_id(headers)),
        Err(_elapsed) => {
            tracing::warn!(
                limit_ms,
                "a GraphQL operation was stopped at the execution timeout"
            );
            crate::metrics::record_request(client_operation.as_deref(), "TIMEOUT", started);
            graphql_error(
                StatusCode::SERVICE_UNAVAILABLE,
                AppError::Timeout { limit_ms },
            )
        }
    }
}

/// A request, with its document when it was parsed to check the body's variables.
type RequestResult =
    Result<(async_graphql::Request, Option<ExecutableDocument>), (StatusCode, AppError)>;

enum RequestKind {
    Json,
    Multipart,
}

fn request_kind(headers: &HeaderMap) -> Option<RequestKind> {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())?
        .trim();
    if mime.eq_ignore_ascii_case("application/json")
        || mime.eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON)
    {
        Some(RequestKind::Json)
    } else if mime.eq_ignore_ascii_case("multipart/form-data") {
        Some(RequestKind::Multipart)
    } else {
        None
    }
}

/// Browsers send `multipart/form-data` cross-site without a preflight; a header no simple
/// request may carry proves the request passed CORS (the rule Apollo Server and others apply).
fn has_csrf_header(headers: &HeaderMap) -> bool {
    ["apollo-require-preflight", "x-csrf-token"]
        .iter()
        .any(|name| headers.get(*name).is_some_and(|value| !value.is_empty()))
}

/// The whole body, refused with 413 as soon as it grows past `limit` (never buffered beyond).
async fn read_limited(body: Body, limit: usize) -> Result<Bytes, (StatusCode, AppError)> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                AppError::PayloadTooLarge(format!("request body over {limit} bytes")),
            )
        } else {
            (
                StatusCode::BAD_REQUEST,
                AppError::bad_input("the request body could not be read"),
            )
        }
    })
}

/// A JSON body, scanned within its limits before anything is built from it
/// (`graphql_body`). Its variables are built only for an operation that will run and declares
/// them all: a document too large or unparsable, or an operation that cannot be selected, is
/// refused by execution whatever the variables, so those go without them.
async fn json_request(state: &HttpState, body: Body) -> RequestResult {
    let limits = &state.app.config.limits;
    let body = read_limited(body, limits.batch_body_limit).await?;
    let refused = |error: AppError| (error.status(), error);
    let envelope = graphql_body::scan(&body, BodyLimits::from_limits(limits)).map_err(refused)?;
    let document = (envelope.query.len() <= limits.graphql_max_query_bytes)
        .then(|| state.engine.documents().parse(&envelope.query).ok())
        .flatten();
    let operation = document.as_ref().and_then(|document| {
        crate::graphql::selected_operation(document, envelope.operation_name.as_deref())
    });
    let Some(operation) = operation else {
        let request = async_graphql::Request::new(envelope.query);
        let request = match envelope.operation_name {
            Some(name) => request.operation_name(name),
            None => request,
        };
        return Ok((request, None));
    };
    graphql_body::check_declared(operation, &envelope.variables).map_err(refused)?;
    let request = graphql_body::request(&body).map_err(refused)?;
    Ok((request, document))
}

/// The GraphQL multipart request spec: one operation, at most one file of at most `limit`.
async fn multipart_request(headers: &HeaderMap, body: Body, limit: usize) -> RequestResult {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let body = read_limited(body, limit).await?;
    let options = MultipartOptions::default()
        .max_file_size(limit)
        .max_num_files(1);
    receive_body(content_type, futures::io::Cursor::new(body), options)
        .await
        .map(|request| (request, None))
        .map_err(|error| match error {
            ParseRequestError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                AppError::PayloadTooLarge(format!("upload over {limit} bytes")),
            ),
            other => (
                StatusCode::BAD_REQUEST,
                AppError::bad_input(format!("not a GraphQL multipart request: {other}")),
            ),
        })
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
        return get_query(&state, request).await;
    }
    let (mut parts, _body) = request.into_parts();
    let client = client_ip::resolve(&parts.extensions, &parts.headers, &state);
    graphql_ws::upgrade(state, &mut parts, client).await
}

/// A GET without an upgrade: GraphiQL for a browser, else a query from the query string
/// (never a mutation: GET must be safe).
async fn get_query(state: &HttpState, request: Request<Body>) -> Response {
    let client = client_ip::resolve(request.extensions(), request.headers(), state);
    let headers = request.headers();
    let params = Query::<HashMap<String, String>>::try_from_uri(request.uri())
        .map(|Query(params)| params)
        .unwrap_or_default();
    if graphql_http::prefers_html(headers) {
        return graphiql::page().into_response();
    }
    let Some(media_type) = graphql_http::negotiate(headers) else {
        return graphql_http::not_acceptable();
    };
    let operation = match graphql_http::request_from_query(params) {
        Ok(operation) => operation,
        Err(error) => return graphql_error(StatusCode::BAD_REQUEST, error),
    };
    if graphql_http::is_mutation(&operation) {
        return graphql_http::mutation_over_get();
    }
    let operation = Operation {
        request: operation.data(client),
        document: None,
    };
    execute(state, headers, operation, media_type).await
}
