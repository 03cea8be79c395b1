//! A reverse proxy whose `X-Forwarded-For` is believed: a setting (`TRUSTED_PROXIES`), read by
//! the rate limiter's client-address rule.

use std::{net::IpAddr, str::FromStr};

use ipnet::IpNet;

/// A reverse proxy (an address or a CIDR) whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy(IpNet);

impl TrustedProxy {
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        text.parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map(Self)
            .map_err(|_| format!("`{text}` is neither an IP address nor a CIDR"))
    }
}
