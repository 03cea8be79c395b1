//! Gives every error a stable `extensions.code`. Resolver errors already carry one (AppError);
//! what is left are async-graphql's own parse, validation and input-coercion errors (a bad enum
//! word, an unparsable time), all caused by the request itself: `BAD_USER_INPUT`. Any other
//! error without a code comes from inside a resolver (a library error turned into a string): it
//! is logged once and masked as `INTERNAL`, so internal text never reaches a client.

use async_graphql::{Response, ServerError};

/// `response` with a code on each of its errors (a query's answer, or a subscription's event:
/// the `Engine` codes both).
pub(super) fn with_codes(mut response: Response) -> Response {
    response.errors.iter_mut().for_each(ensure_code);
    response
}

fn ensure_code(error: &mut ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_some() {
        return;
    }
    // async-graphql's own depth and complexity limits (configured in `build_engine`).
    if matches!(
        error.message.as_str(),
        "Query is nested too deep." | "Query is too complex."
    ) {
        extensions.set("code", "QUERY_TOO_COMPLEX");
        return;
    }
    // Errors before execution have no path; argument coercion inside execution says so (a
    // variable of the wrong JSON type inside an input object reads "Expected input type
    // \"DateTime\", found 0. (occurred while parsing \"CellFocusInput\")").
    let caused_by_request = error.path.is_empty()
        || error.message.starts_with("Failed to parse")
        || error.message.starts_with("Invalid value for argument")
        || error.message.starts_with("Expected input type")
        || error.message.contains("(occurred while parsing \"");
    if caused_by_request {
        extensions.set("code", "BAD_USER_INPUT");
    } else {
        tracing::error!(error = %error.message, "internal error without a code");
        extensions.set("code", "INTERNAL");
        error.message = "internal error".into();
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, Object, PathSegment, Pos, Schema, Subscription};
    use futures::{Stream, StreamExt};

    use super::*;

    fn code_of(error: &ServerError) -> Option<String> {
        match error.extensions.as_ref()?.get("code")? {
            async_graphql::Value::String(code) => Some(code.clone()),
            _ => None,
        }
    }

    #[test]
    fn request_errors_are_bad_input_and_resolver_strings_are_masked() {
        let mut parse = ServerError::new("Unknown field \"x\"", Some(Pos::default()));
        ensure_code(&mut parse);
        assert_eq!(code_of(&parse).as_deref(), Some("BAD_USER_INPUT"));

        let mut leaked = ServerError::new("connection to 10.0.0.5 refused", None);
        leaked.path = vec![PathSegment::Field("notebook".into())];
        ensure_code(&mut leaked);
        assert_eq!(code_of(&leaked).as_deref(), Some("INTERNAL"));
        assert_eq!(leaked.message, "internal error");

        let mut nested = ServerError::new(
            "Expected input type \"UUID\", found true. (occurred while parsing \"CellFocusInput\")",
            None,
        );
        nested.path = vec![PathSegment::Field("recordCellFocus".into())];
        ensure_code(&mut nested);
        assert_eq!(code_of(&nested).as_deref(), Some("BAD_USER_INPUT"));

        let mut coercion = ServerError::new("Failed to parse \"DateTime\": bad", None);
        coercion.path = vec![PathSegment::Field("recordCellFocus".into())];
        ensure_code(&mut coercion);
        assert_eq!(code_of(&coercion).as_deref(), Some("BAD_USER_INPUT"));
    }

    struct Query;

    #[Object]
    impl Query {
        async fn answer(&self) -> i32 {
            42
        }
    }

    struct Subscription;

    #[Subscription]
    impl Subscription {
        async fn ticks(&self) -> impl Stream<Item = async_graphql::Result<i32>> {
            futures::stream::iter([Ok(1), Err("connection to 10.0.0.5 refused".into())])
        }
    }

    #[tokio::test]
    async fn subscription_errors_get_codes_too() {
        let schema = Schema::new(Query, EmptyMutation, Subscription);
        let refused: Vec<Response> = schema
            .execute_stream("subscription { nope }")
            .map(with_codes)
            .collect()
            .await;
        assert_eq!(
            code_of(&refused[0].errors[0]).as_deref(),
            Some("BAD_USER_INPUT")
        );

        let events: Vec<Response> = schema
            .execute_stream("subscription { ticks }")
            .map(with_codes)
            .collect()
            .await;
        assert!(events[0].errors.is_empty());
        let leaked = &events[1].errors[0];
        assert_eq!(code_of(leaked).as_deref(), Some("INTERNAL"));
        assert_eq!(leaked.message, "internal error");
    }
}
