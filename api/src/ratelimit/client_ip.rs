//! The client address a request is counted against: the socket peer, or behind configured
//! reverse proxies the address they saw. `X-Forwarded-For` is written by whoever sends the
//! request, so it is believed only from a trusted proxy, and only up to the first hop that is
//! not one: read from the right, the first untrusted address is the client (anything to its
//! left was written by the client itself).

use std::net::{IpAddr, SocketAddr};

use crate::config::TrustedProxy;
use axum::http::{HeaderMap, header::HeaderName};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client of a request whose socket peer is `peer` (`None` when the transport gave none).
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[TrustedProxy],
) -> Option<IpAddr> {
    let mut hop = canonical(peer?);
    if !is_trusted(hop, trusted) {
        return Some(hop);
    }
    // Several headers are one list, in order; each proxy appends the address it saw.
    let forwarded: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    for entry in forwarded.iter().rev() {
        // An unreadable entry was written by a client: the proxy that passed it on is the
        // last address we can vouch for.
        let Some(address) = parse_entry(entry) else {
            return Some(hop);
        };
        hop = address;
        if !is_trusted(hop, trusted) {
            return Some(hop);
        }
    }
    Some(hop)
}

fn is_trusted(ip: IpAddr, trusted: &[TrustedProxy]) -> bool {
    trusted.iter().any(|proxy| proxy.contains(ip))
}

/// An IPv4 peer of a dual-stack socket arrives as `::ffff:a.b.c.d`; it is the same client.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// `1.2.3.4`, `2001:db8::1`, or with a port: `1.2.3.4:5678`, `[2001:db8::1]:443`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter().filter_map(|text| text.parse().ok()).collect()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            if let Ok(value) = value.parse() {
                headers.append(&X_FORWARDED_FOR, value);
            }
        }
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn the_header_is_ignored_from_an_untrusted_peer() {
        let found = client_ip(ip("203.0.113.9"), &headers(&["1.1.1.1"]), &[]);
        assert_eq!(found, ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "192.168.1.5"]);
        let spoofed = headers(&["6.6.6.6, 198.51.100.7", "192.168.1.5"]);
        let found = client_ip(ip("10.1.2.3"), &spoofed, &trusted);
        assert_eq!(found, ip("198.51.100.7"));
    }

    #[test]
    fn an_unreadable_entry_stops_at_the_proxy_that_passed_it() {
        let trusted = proxies(&["10.0.0.1"]);
        let found = client_ip(ip("10.0.0.1"), &headers(&["not-an-ip"]), &trusted);
        assert_eq!(found, ip("10.0.0.1"));
        let with_port = client_ip(ip("10.0.0.1"), &headers(&["[2001:db8::1]:443"]), &trusted);
        assert_eq!(with_port, ip("2001:db8::1"));
    }

    #[test]
    fn mapped_ipv4_peers_are_plain_ipv4_and_bad_proxies_are_refused() {
        let found = client_ip(ip("::ffff:10.0.0.1"), &HeaderMap::new(), &[]);
        assert_eq!(found, ip("10.0.0.1"));
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("proxy.local".parse::<TrustedProxy>().is_err());
    }
}
