//! The operations running on one socket, keyed by their client-chosen id. All are polled by the
//! connection's own task, so a client's `complete` drops an operation at once and nothing of it
//! can be sent afterwards (no stray `next`, no `complete` echo).

use std::time::Duration;

use async_graphql::{Request, Response, ServerError};
use futures::{
    Stream, StreamExt,
    stream::{self, BoxStream},
};
use tokio_stream::StreamMap;

use super::close::Close;
use crate::{
    error::AppError,
    graphql::{Engine, Prepared},
};

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
    pub fn start(&mut self, engine: &Engine, id: String, request: Request) -> Result<(), Close> {
        if self.running.contains_key(&id) {
            return Err(Close::DuplicateId(id));
        }
        if self.running.len() >= self.limit {
            return Err(Close::TooManyOperations);
        }
        let events = match engine.prepare(request) {
            Err(refused) => events(stream::once(async { *refused })).boxed(),
            Ok(prepared) if prepared.is_subscription() => {
                events(engine.subscribe(prepared)).boxed()
            }
            Ok(prepared) => bounded(engine, prepared, self.execution_timeout).boxed(),
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

/// A query or mutation with the execution timeout: stopped at the limit, it answers one
/// `TIMEOUT` error (as `next`, then `complete`), like the HTTP path's 503.
fn bounded(
    engine: &Engine,
    prepared: Prepared,
    limit: Duration,
) -> impl Stream<Item = Event> + Send + 'static {
    let engine = engine.clone();
    let first = async move {
        match tokio::time::timeout(limit, engine.execute(prepared)).await {
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
