//! Typed access to what every resolver needs from the context. Missing data is an internal
//! error, never a panic.

use async_graphql::Context;

use std::net::IpAddr;

use crate::{auth::RequestAuth, error::AppError, ratelimit::ClientIp, state::AppState};

pub fn app<'a>(ctx: &Context<'a>) -> Result<&'a AppState, AppError> {
    ctx.data::<AppState>()
        .map_err(|_| AppError::internal(anyhow::anyhow!("application state missing")))
}

pub fn request_auth<'a>(ctx: &Context<'a>) -> Result<&'a RequestAuth, AppError> {
    ctx.data::<RequestAuth>()
        .map_err(|_| AppError::internal(anyhow::anyhow!("request auth missing")))
}

/// The client address the edge resolved; `None` when it was not given (a schema run in
/// process), which leaves only the limits that do not count by address.
pub fn client_ip(ctx: &Context<'_>) -> Option<IpAddr> {
    ctx.data_opt::<ClientIp>().and_then(|ClientIp(ip)| *ip)
}
