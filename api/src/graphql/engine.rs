//! The schema with what every operation passes through, whichever transport brought it: the
//! document limits, the parse cache, a stable `extensions.code` on every error, and the request
//! metrics.
//!
//! Our own steps around `Schema::execute` rather than async-graphql extensions: with any
//! extension registered, async-graphql resolves every field and list item through the
//! extensions' `resolve` chain (a path node, the field's type looked up by name and a boxed
//! future per extension, for each of them). None of these steps needs a field: they look at
//! the document before and the response after. Without the chain, the whole course's
//! `pendingUpdateStats` of a 15 M event class (7 144 postponements) took 62 ms instead of 89.

use std::time::Instant;

use async_graphql::{
    Name, Request, Response,
    parser::types::{ExecutableDocument, OperationDefinition, OperationType},
};
use futures::{StreamExt, stream::BoxStream};

use super::{AppSchema, ParseCache, error_codes::with_codes, limits::DocumentLimits};
use crate::metrics;

/// Runs operations on the schema; cheap to clone (the schema and the cache are shared).
#[derive(Clone)]
pub struct Engine {
    schema: AppSchema,
    documents: ParseCache,
    limits: DocumentLimits,
}

/// An operation that passed the checks, its document parsed and attached to the request.
pub struct Prepared {
    request: Request,
    /// The operation's name, for the metrics (the document's own when the client sent none).
    name: Option<String>,
    is_subscription: bool,
    /// When the checks began: the metrics time the whole request.
    started: Instant,
}

impl Prepared {
    /// Whether it runs a subscription (an operation execution cannot select is not one: it
    /// fails at once).
    pub fn is_subscription(&self) -> bool {
        self.is_subscription
    }
}

impl Engine {
    pub fn new(schema: AppSchema, documents: ParseCache, limits: DocumentLimits) -> Self {
        Self {
            schema,
            documents,
            limits,
        }
    }

    /// The parsed documents, shared with the HTTP edge (which reads an operation's declared
    /// variables before building them).
    pub fn documents(&self) -> &ParseCache {
        &self.documents
    }

    /// Checks `request` before anything runs: its size, then its parsed document (from the
    /// cache) against the limits. A refusal is the response to send, its errors coded and
    /// counted in the metrics.
    pub fn prepare(&self, request: Request) -> Result<Prepared, Box<Response>> {
        self.prepare_parsed(request, None)
    }

    /// [`prepare`](Self::prepare) with the document the caller already parsed from the
    /// request's text, if it did.
    pub fn prepare_parsed(
        &self,
        mut request: Request,
        parsed: Option<ExecutableDocument>,
    ) -> Result<Prepared, Box<Response>> {
        let started = Instant::now();
        let document = match self.checked_document(&request.query, parsed) {
            Ok(document) => document,
            Err(refusal) => {
                let response = with_codes(Response::from_errors(vec![refusal.into()]));
                let name = request.operation_name.as_deref();
                metrics::record_request(name, &outcome(&response), started);
                return Err(Box::new(response));
            }
        };
        let (name, is_subscription) = what_runs(&document, request.operation_name.as_deref());
        request.set_parsed_query(document);
        Ok(Prepared {
            request,
            name,
            is_subscription,
            started,
        })
    }

    fn checked_document(
        &self,
        query: &str,
        parsed: Option<ExecutableDocument>,
    ) -> Result<ExecutableDocument, Refusal> {
        self.limits.check_size(query)?;
        let document = match parsed {
            Some(document) => document,
            None => self.documents.parse(query).map_err(Refusal::Parse)?,
        };
        self.limits.check(&document)?;
        Ok(document)
    }

    /// Runs a query or mutation: its response, every error coded, counted in the metrics.
    pub async fn execute(&self, prepared: Prepared) -> Response {
        let response = with_codes(self.schema.execute(prepared.request).await);
        let name = prepared.name.as_deref();
        metrics::record_request(name, &outcome(&response), prepared.started);
        response
    }

    /// Runs a subscription: its events, every error coded.
    pub fn subscribe(&self, prepared: Prepared) -> BoxStream<'static, Response> {
        self.schema
            .execute_stream(prepared.request)
            .map(with_codes)
            .boxed()
    }
}

/// Why [`Engine::prepare`] refused a request.
enum Refusal {
    Parse(async_graphql::parser::Error),
    Limit(crate::error::AppError),
}

impl From<crate::error::AppError> for Refusal {
    fn from(error: crate::error::AppError) -> Self {
        Self::Limit(error)
    }
}

impl From<Refusal> for async_graphql::ServerError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Parse(error) => error.into(),
            Refusal::Limit(error) => super::server_error(error),
        }
    }
}

/// The operation `operation_name` selects in `document`, as execution will select it; `None`
/// when execution will refuse the choice (no such name, or several operations and no name).
pub fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    selected(document, operation_name).map(|(_, operation)| operation)
}

/// [`selected_operation`] with its name (`None` for an anonymous one).
fn selected<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<&'a Name>, &'a OperationDefinition)> {
    let mut operations = document.operations.iter();
    let selected = match operation_name {
        Some(name) => operations.find(|(op_name, _)| op_name.is_some_and(|n| n.as_str() == name)),
        None => match (operations.next(), operations.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        },
    };
    selected.map(|(name, operation)| (name, &operation.node))
}

/// The name of the operation that runs, for the metrics (the document's own when the client
/// sent none, else the client's), and whether it is a subscription (an operation execution
/// cannot select is not one: it fails at once).
fn what_runs(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> (Option<String>, bool) {
    let selected = selected(document, operation_name);
    let is_subscription =
        selected.is_some_and(|(_, operation)| operation.ty == OperationType::Subscription);
    let name = selected
        .and_then(|(name, _)| name.map(|name| name.to_string()))
        .or_else(|| operation_name.map(str::to_owned));
    (name, is_subscription)
}

/// `ok`, or the code of the first error.
fn outcome(response: &Response) -> String {
    let code = response.errors.first().map(|error| {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .map_or_else(
                || "ERROR".to_owned(),
                |code| code.to_string().replace('"', ""),
            )
    });
    code.unwrap_or_else(|| "ok".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(query: &str, operation_name: Option<&str>) -> bool {
        what_runs(&parse(query), operation_name).1
    }

    fn parse(query: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(query).unwrap()
    }

    #[test]
    fn subscriptions_are_told_from_queries_and_mutations() {
        let subscription = r#"subscription($nb: ID!) { studentSession(notebookId: $nb, userId: "alice") {
        ... on PushedUpdate { updateId } } }"#;
        assert!(runs(subscription, None));
        assert!(!runs("{ version }", None));
        assert!(!runs("mutation { a }", None));
        let two = "query A { a } subscription B { b }";
        assert!(runs(two, Some("B")));
        assert!(!runs(two, Some("A")));
        // Execution refuses to choose: not a subscription, it fails at once.
        assert!(!runs(two, None));
        assert!(!runs(two, Some("C")));
    }

    #[test]
    fn the_metrics_name_a_lone_operation_by_its_own_name() {
        let name = |query: &str, operation_name| what_runs(&parse(query), operation_name).0;
        assert_eq!(name("query Probe { a }", None).as_deref(), Some("Probe"));
        assert_eq!(name("{ a }", None), None);
        let two = "query A { a } query B { b }";
        assert_eq!(name(two, None), None);
        assert_eq!(name(two, Some("B")).as_deref(), Some("B"));
        // A name the document lacks (execution refuses it) is still the client's.
        assert_eq!(name(two, Some("C")).as_deref(), Some("C"));
    }
}
