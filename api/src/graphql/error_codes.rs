//! Gives every error a stable `extensions.code`. Resolver errors already carry one (AppError);
//! what is left are async-graphql's own parse, validation and input-coercion errors (a bad enum
//! word, an unparsable time), all caused by the request itself: `BAD_USER_INPUT`.

use std::sync::Arc;

use async_graphql::{
    Response, ServerError,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest},
};

pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.errors.iter_mut().for_each(ensure_code);
        response
    }
}

fn ensure_code(error: &mut ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", "BAD_USER_INPUT");
    }
}
