//! The operations running on one socket, keyed by their client-chosen id. All are polled by the
//! connection's own task, so a client's `complete` drops an operation at once and nothing of it
//! can be sent afterwards (no stray `next`, no `complete` echo).

use std::time::Duration;

use async_graphql::{Request, Response, ServerError, parser::types::OperationType};
use futures::{
    Stream, StreamExt,
    stream::{self, BoxStream},
};
use tokio_stream::StreamMap;

use super::close::Close;
use crate::{error::AppError, graphql::AppSchema};

/// What an operation produced.
#[derive(Debug)]
pub enum Event {
    /// A result: sent as `next`.
    Next(Response),
    /// The request failed before executing (syntax, validation, unknown operation): sent as
    /// `error`, which ends the operation without a `complete`.
    Error(Vec<ServerError>),
    /// The stream ended: sent as `complete`.
    Complete,
}

pub struct Operations {
    running: StreamMap<String, BoxStream<'static, Event>>,
    limit: usize,
    execution_timeout: Duration,
}

impl Drop for Operations {
    fn drop(&mut self) {
        // The socket closed with these still running.
        metrics::gauge!("graphql_ws_active_operations").decrement(self.running.len() as f64);
    }
}

impl Operations {
    pub fn new(limit: usize, execution_timeout: Duration) -> Self {
        Self {
            running: StreamMap::new(),
            limit,
            execution_timeout,
        }
    }

    /// Starts operation `id`. A duplicate of a running id is a 4409, one over the limit a 1008.
    pub fn start(
        &mut self,
        schema: &AppSchema,
        id: String,
        mut request: Request,
    ) -> Result<(), Close> {
        if self.running.contains_key(&id) {
            return Err(Close::DuplicateId(id));
        }
        if self.running.len() >= self.limit {
            return Err(Close::TooManyOperations);
        }
        let events = match is_subscription(&mut request) {
            true => events(schema.execute_stream(request)).boxed(),
            false => bounded(schema, request, self.execution_timeout).boxed(),
        };
        self.running.insert(id, events);
        metrics::gauge!("graphql_ws_active_operations").increment(1.0);
        Ok(())
    }

    /// Drops operation `id` and whatever its stream holds (a client's `complete`), or forgets it
    /// once its `error` or `complete` is out, so the id is free again. Unknown ids are ignored:
    /// the protocol lets a client's `complete` cross the server's own.
    pub fn remove(&mut self, id: &str) {
        if self.running.remove(id).is_some() {
            metrics::gauge!("graphql_ws_active_operations").decrement(1.0);
        }
    }

    /// The next event of any operation; pending (never ready) while none runs, so it can sit
    /// in a `select!` beside the socket.
    pub async fn next(&mut self) -> (String, Event) {
        if self.running.is_empty() {
            return std::future::pending().await;
        }
        match self.running.next().await {
            Some(event) => event,
            None => std::future::pending().await,
        }
    }
}

/// Whether the request runs a subscription (unparsable documents are not: they fail at once).
/// The document parsed here stays in the request, so executing it does not parse it again.
fn is_subscription(request: &mut Request) -> bool {
    // Only an operation spelled `subscription …` is one (the `{ … }` shorthand is a query), so
    // a text without the word needs no parse here.
    if !request.query.contains("subscription") {
        return false;
    }
    let operation_name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    let operation_type = |name: Option<&str>| {
        let mut operations = document.operations.iter();
        match name {
            Some(name) => operations
                .find(|(operation, _)| operation.map(|n| n.as_str()) == Some(name))
                .map(|(_, operation)| operation.node.ty),
            None => operations.next().map(|(_, operation)| operation.node.ty),
        }
    };
    operation_type(operation_name.as_deref()) == Some(OperationType::Subscription)
}

/// A query or mutation with the execution timeout: stopped at the limit, it answers one
/// `TIMEOUT` error (as `next`, then `complete`), like the HTTP path's 503.
fn bounded(
    schema: &AppSchema,
    request: Request,
    limit: Duration,
) -> impl Stream<Item = Event> + Send + 'static {
    let schema = schema.clone();
    let first = async move {
        match tokio::time::timeout(limit, schema.execute(request)).await {
            Ok(response) => classify(0, response),
            Err(_elapsed) => {
                let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
                tracing::warn!(
                    limit_ms,
                    "a websocket operation was stopped at the execution timeout"
                );
                let error = crate::graphql::server_error(AppError::Timeout { limit_ms });
                Event::Next(Response::from_errors(vec![error]))
            }
        }
    };
    stream::once(first).chain(stream::once(async { Event::Complete }))
}

/// Tags a response stream: a first response that is a request error becomes `Error`, and the
/// end of the stream becomes `Complete`.
fn events(responses: impl Stream<Item = Response> + Send + 'static) -> impl Stream<Item = Event> {
    responses
        .enumerate()
        .map(|(index, response)| classify(index, response))
        .chain(stream::once(async { Event::Complete }))
}

fn classify(index: usize, response: Response) -> Event {
    match index == 0 && crate::graphql::is_request_error(&response) {
        true => Event::Error(response.errors),
        false => Event::Next(response),
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    use super::*;

    struct Query;

    #[Object]
    impl Query {
        async fn answer(&self) -> i32 {
            42
        }

        async fn refused(&self) -> async_graphql::Result<i32> {
            Err("refused".into())
        }
    }

    async fn all_events(query: &str) -> Vec<Event> {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        events(schema.execute_stream(Request::new(query)))
            .collect()
            .await
    }

    #[tokio::test]
    async fn a_request_that_does_not_validate_is_one_error_event() {
        for query in [
            "{ answer",
            "{ missing }",
            "query A { answer } query B { answer }",
        ] {
            // The connection drops the operation at its `Error`, so the `Complete` behind it is
            // never polled.
            let events = all_events(query).await;
            assert!(
                matches!(events.as_slice(), [Event::Error(errors), Event::Complete] if !errors.is_empty()),
                "{query}: {events:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_query_is_one_next_then_complete_even_when_a_field_fails() {
        let events = all_events("{ answer }").await;
        assert!(matches!(events.as_slice(), [Event::Next(r), Event::Complete] if r.is_ok()));
        let events = all_events("{ refused }").await;
        assert!(
            matches!(events.as_slice(), [Event::Next(r), Event::Complete] if r.is_err()),
            "{events:?}"
        );
    }
}

#[cfg(test)]
mod subscription_tests {
    use super::*;

    #[test]
    fn subscriptions_are_told_from_queries_and_mutations() {
        let subscription = r#"subscription($nb: ID!) { studentSession(notebookId: $nb, userId: "alice") {
        ... on PushedUpdate { updateId } } }"#;
        assert!(is_subscription(&mut Request::new(subscription)));
        assert!(!is_subscription(&mut Request::new("{ version }")));
        assert!(!is_subscription(&mut Request::new("mutation { a }")));
        // The word alone (in a field name or string) does not make a subscription.
        assert!(!is_subscription(&mut Request::new(
            "mutation { subscriptionCount(note: \"subscription\") }"
        )));
        let two = "query A { a } subscription B { b }";
        assert!(is_subscription(&mut Request::new(two).operation_name("B")));
        assert!(!is_subscription(&mut Request::new(two).operation_name("A")));
    }
}
