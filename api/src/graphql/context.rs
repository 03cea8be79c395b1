//! Typed access to what every resolver needs from the context. Missing data is an internal
//! error, never a panic.

use async_graphql::Context;

use crate::{AppState, auth::RequestAuth, error::AppError};

pub fn app<'a>(ctx: &Context<'a>) -> Result<&'a AppState, AppError> {
    ctx.data::<AppState>()
        .map_err(|_| AppError::internal(anyhow::anyhow!("application state missing")))
}

pub fn request_auth<'a>(ctx: &Context<'a>) -> Result<&'a RequestAuth, AppError> {
    ctx.data::<RequestAuth>()
        .map_err(|_| AppError::internal(anyhow::anyhow!("request auth missing")))
}
