//! The client address of an HTTP request, as the rate limiter counts it: the socket peer
//! (from `ConnectInfo`, present because the server is built with
//! `into_make_service_with_connect_info`), or what the configured trusted proxies forwarded.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{Extensions, HeaderMap, request::Parts},
};

use super::HttpState;
use crate::ratelimit::{ClientIp, client_ip};

/// Never fails: without connection info (a router driven in process) the address is unknown
/// and only the limits that do not count by address apply.
impl FromRequestParts<HttpState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        Ok(resolve(&parts.extensions, &parts.headers, state))
    }
}

pub fn resolve(extensions: &Extensions, headers: &HeaderMap, state: &HttpState) -> ClientIp {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let trusted = &state.app.config.limits.rate.trusted_proxies;
    ClientIp(client_ip(peer, headers, trusted))
}
