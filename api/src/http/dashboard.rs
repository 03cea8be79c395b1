//! The `/dashboard` page and its two assets, embedded in the binary like GraphiQL's (no CDN:
//! it must work offline behind a university proxy). The page is a client of the public API
//! only (`/graphql` over HTTP and its websocket), so the API's own guards are its protection.
//! Its source is `dashboard/`; `scripts/build-dashboard.sh` rebuilds `api/assets/dashboard/`.

use axum::{
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

const INDEX_HTML: &str = include_str!("../../assets/dashboard/index.html");

/// (file name, content type, bytes) of every asset the page loads: one script, one stylesheet.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/dashboard/assets/dashboard.js"),
    ),
    (
        "dashboard.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/dashboard/assets/dashboard.css"),
    ),
];

/// Only this server's own scripts, styles and API. `'self'` covers same-origin websockets in
/// current browsers; the request's own host is added for the ones that predate that rule.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; connect-src 'self'";

pub async fn page(headers: HeaderMap) -> Response {
    let csp = match headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
    {
        Some(host) if is_plain_authority(host) => format!("{CSP} ws://{host} wss://{host}"),
        _ => CSP.to_owned(),
    };
    let csp = HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static(CSP));
    let mut response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            // The assets have fixed names: revalidate, so a new binary's page is never mixed
            // with an old cached script.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        INDEX_HTML,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A `Host` value that is a bare host and port, safe to repeat inside the policy.
fn is_plain_authority(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::is_plain_authority;

    #[test]
    fn only_bare_hosts_and_ports_enter_the_policy() {
        assert!(is_plain_authority("127.0.0.1:8000"));
        assert!(is_plain_authority("[::1]:8000"));
        assert!(is_plain_authority("analytics.example.org"));
        assert!(!is_plain_authority("evil.org; script-src *"));
        assert!(!is_plain_authority(""));
    }
}
