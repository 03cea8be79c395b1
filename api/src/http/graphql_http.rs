//! GraphQL over HTTP (<https://graphql.github.io/graphql-over-http/draft/>): what a request's
//! parameters must look like over a GET query string (a JSON body's are checked while it is
//! scanned, in `graphql_body`), which media type the answer is in (`Accept`), and its status. Checked by the graphql-http audit suite
//! (`tests/node/graphql-http-audit.mjs`).

use std::collections::{BTreeMap, HashMap};

use async_graphql::parser::{parse_query, types::OperationType};
use axum::{
    Json,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::AppError;

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The media type of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: request errors are 400s.
    GraphQLResponse,
    /// `application/json` (the legacy type, and the default without `Accept`): always 200 for
    /// a GraphQL response.
    Json,
}

/// The answer's media type from `Accept`; `None` (a 406) when neither type fits.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
    else {
        return Some(MediaType::Json);
    };
    let types: Vec<String> = media_types(accept).collect();
    if types.iter().any(|t| t == GRAPHQL_RESPONSE_JSON) {
        Some(MediaType::GraphQLResponse)
    } else if types
        .iter()
        .any(|t| matches!(t.as_str(), "application/json" | "application/*" | "*/*"))
    {
        Some(MediaType::Json)
    } else {
        None
    }
}

/// Whether a browser navigated here: its first preference is HTML (GraphiQL then).
pub fn prefers_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .and_then(|accept| media_types(accept).next())
        .is_some_and(|first| first == "text/html")
}

fn media_types(accept: &str) -> impl Iterator<Item = String> + '_ {
    accept
        .split(',')
        .filter_map(|item| item.split(';').next())
        .map(|media| media.trim().to_ascii_lowercase())
        .filter(|media| !media.is_empty())
}

pub fn not_acceptable() -> Response {
    let error = AppError::bad_input(format!(
        "this server answers `{GRAPHQL_RESPONSE_JSON}` or `application/json`"
    ));
    graphql_error(StatusCode::NOT_ACCEPTABLE, error)
}

/// A GET's parameters: `query`, `operationName`, and `variables` / `extensions` as JSON text.
pub fn request_from_query(
    params: HashMap<String, String>,
) -> Result<async_graphql::Request, AppError> {
    let mut object = Map::new();
    for (name, text) in params {
        let value = match name.as_str() {
            "variables" | "extensions" => serde_json::from_str(&text)
                .map_err(|_| AppError::bad_input(format!("`{name}` must be a JSON object")))?,
            _ => Value::String(text),
        };
        object.insert(name, value);
    }
    build_request(object)
}

fn build_request(params: Map<String, Value>) -> Result<async_graphql::Request, AppError> {
    let invalid = |message: &str| Err(AppError::bad_input(message.to_owned()));
    match params.get("query") {
        Some(Value::String(_)) => {}
        Some(_) => return invalid("`query` must be a string"),
        None => return invalid("a GraphQL request needs a `query`"),
    }
    if !matches!(
        params.get("operationName"),
        None | Some(Value::Null | Value::String(_))
    ) {
        return invalid("`operationName` must be a string");
    }
    for map in ["variables", "extensions"] {
        if !matches!(params.get(map), None | Some(Value::Null | Value::Object(_))) {
            return invalid(&format!("`{map}` must be a map"));
        }
    }
    serde_json::from_value(Value::Object(params))
        .map_err(|error| AppError::bad_input(format!("not a GraphQL request: {error}")))
}

/// Whether the operation a GET would run is a mutation (refused: GET must be safe). A document
/// that does not parse is left to execution, which reports it.
pub fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(document) = parse_query(&request.query) else {
        return false;
    };
    let mut operations = document.operations.iter();
    let selected = match &request.operation_name {
        Some(name) => operations.find(|(op_name, _)| op_name.is_some_and(|n| n.as_str() == name)),
        None => operations.next(),
    };
    selected.is_some_and(|(_, operation)| operation.node.ty == OperationType::Mutation)
}

pub fn mutation_over_get() -> Response {
    let error = AppError::bad_input("mutations are sent with POST");
    let mut response = graphql_error(StatusCode::METHOD_NOT_ALLOWED, error);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// An executed request's answer (each error carrying the request's id): a request error (nothing executed: the document did not parse
/// or validate, or the variables did not coerce) has no `data` entry, and is a 400 under
/// `application/graphql-response+json`; anything else is a 200.
pub fn respond(
    mut response: async_graphql::Response,
    media_type: MediaType,
    request_id: Option<&str>,
) -> Response {
    // The id the logs of this request carry, so a reported error can be found in them.
    if let Some(id) = request_id {
        for error in &mut response.errors {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("requestId", id);
        }
    }
    let request_error = crate::graphql::is_request_error(&response);
    let body = ResponseBody {
        data: (!request_error).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    let body = serde_json::to_vec(&body).unwrap_or_else(|error| {
        tracing::error!(%error, "cannot serialize a GraphQL response");
        br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#.to_vec()
    });
    let (status, content_type) = match media_type {
        MediaType::GraphQLResponse if request_error => {
            (StatusCode::BAD_REQUEST, GRAPHQL_RESPONSE_JSON)
        }
        MediaType::GraphQLResponse => (StatusCode::OK, GRAPHQL_RESPONSE_JSON),
        MediaType::Json => (StatusCode::OK, "application/json"),
    };
    let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))];
    (status, content_type, body).into_response()
}

/// An executed request's answer as JSON, written straight from async-graphql's values, so its
/// fields keep the order of the selection (as the spec asks). Going through a `serde_json`
/// value first built a map per object, and took the server longer than the database took to
/// answer a large query (7 000 postponements of `pendingUpdateStats`). A request error has no
/// `data` entry.
#[derive(Serialize)]
struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, async_graphql::Value>,
}

/// The `x-request-id` the edge gave this request (or its client sent).
pub fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
}

/// A request-level failure, shaped like a GraphQL response so clients read one format; with
/// `retryAfter` and `Retry-After` when waiting helps (`RATE_LIMITED`).
pub fn graphql_error(status: StatusCode, error: AppError) -> Response {
    let mut extensions = serde_json::json!({ "code": error.code() });
    if let Some(secs) = error.retry_after() {
        extensions["retryAfter"] = secs.into();
    }
    let body = serde_json::json!({
        "errors": [{ "message": error.message(), "extensions": extensions }]
    });
    let mut response = (status, Json(body)).into_response();
    if let Some(secs) = error.retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.into());
    }
    response
}
