//! `graphql_requests_total{operation,outcome}` and `graphql_request_duration_seconds`, recorded
//! around each request by a per-request extension: the operation's name is the one execution
//! selected (the document's own when the client sent no `operationName`), so no document is
//! parsed a second time for a label.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use async_graphql::{
    Response,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextRequest},
};

pub struct RequestMetrics;

impl ExtensionFactory for RequestMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest::default())
    }
}

#[derive(Default)]
struct PerRequest {
    operation: Mutex<Option<String>>,
}

#[async_trait::async_trait]
impl Extension for PerRequest {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let operation = self
            .operation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        crate::metrics::record_request(operation.as_deref(), &outcome(&response), started);
        response
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        *self
            .operation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = operation_name.map(str::to_owned);
        next.run(ctx, operation_name).await
    }
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
