//! The JSON body of a POST `/graphql`, read in two passes so that its cost is known before it
//! is paid. The first pass (`scan`) walks the bytes with serde_json's streaming deserializer
//! and keeps nothing but the parameters' strings and the variables' names: it counts every
//! JSON value and the nesting, and stops at the first one over the limits. Only a body within
//! them, whose variables the operation declares, is then deserialized into an
//! `async_graphql::Request` (the variables' value tree), straight from the bytes.
//!
//! Before, one anonymous 2.9 MB body with a 200 000-element array variable grew the server by
//! 450 MiB (a `serde_json::Value` tree, then async-graphql's, of small allocations each), and
//! by half that when the operation did not even declare the variable.

mod seeds;

use async_graphql::parser::types::OperationDefinition;
use serde::de::DeserializeSeed;

use crate::{config::Limits, error::AppError};

use seeds::{BodySeed, Budget};

/// How much JSON one body may hold.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// JSON values (scalars, arrays and objects) at any depth.
    pub max_values: usize,
    /// Nesting of arrays and objects; the body object itself is 1.
    pub max_depth: usize,
}

impl BodyLimits {
    pub fn from_limits(limits: &Limits) -> Self {
        Self {
            max_values: limits.graphql_max_body_values,
            max_depth: limits.graphql_max_body_depth,
        }
    }
}

/// The parameters of a body that passed the scan: everything but the values of the variables.
#[derive(Debug)]
pub struct Envelope {
    pub query: String,
    pub operation_name: Option<String>,
    /// The names of the variables, in the body's order.
    pub variables: Vec<String>,
}

/// The first pass: the body's shape and parameters, or its refusal (`PAYLOAD_TOO_LARGE` over
/// `max_values`, `BAD_USER_INPUT` past `max_depth`, not JSON, or not a request object).
pub fn scan(body: &[u8], limits: BodyLimits) -> Result<Envelope, AppError> {
    let mut budget = Budget::new(limits);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let scanned = BodySeed {
        budget: &mut budget,
    }
    .deserialize(&mut deserializer)
    .and_then(|scanned| deserializer.end().map(|()| scanned));
    match scanned {
        Ok(scanned) => scanned.into_envelope(),
        Err(error) => Err(budget
            .refusal
            .unwrap_or_else(|| AppError::bad_input(format!("the body is not JSON: {error}")))),
    }
}

/// `BAD_USER_INPUT` when the body has a variable that `operation` does not declare: such a value
/// would be built only to be ignored.
pub fn check_declared(operation: &OperationDefinition, names: &[String]) -> Result<(), AppError> {
    let declared = |name: &str| {
        operation
            .variable_definitions
            .iter()
            .any(|definition| definition.node.name.node.as_str() == name)
    };
    let mut undeclared = names.iter().filter(|name| !declared(name));
    let Some(first) = undeclared.next() else {
        return Ok(());
    };
    let more = undeclared.count();
    let others = if more > 0 {
        format!(" (and {more} more)")
    } else {
        String::new()
    };
    Err(AppError::bad_input(format!(
        "the operation does not declare the variable `${first}`{others}: send only the \
         variables it declares"
    )))
}

/// The second pass: the request with its variables' value tree, for a body `scan` accepted.
pub fn request(body: &[u8]) -> Result<async_graphql::Request, AppError> {
    serde_json::from_slice(body)
        .map_err(|error| AppError::bad_input(format!("not a GraphQL request: {error}")))
}
