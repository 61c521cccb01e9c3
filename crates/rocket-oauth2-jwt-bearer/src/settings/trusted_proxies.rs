//! `trusted_proxies`: the peers whose forwarding headers are believed, and
//! `proxy_headers`: which headers those proxies write.
//!
//! A request's `X-Forwarded-Proto`, `X-Forwarded-Host` and RFC 7239
//! `Forwarded` say what the client asked for only when a proxy we run wrote
//! them; from anyone else they are whatever the client chose. So they are
//! read only when the connection's peer address is in this list (IPs or
//! CIDRs, empty by default), and never from Rocket's local client, which
//! has no peer at all. Even then only one family is read, the one the
//! proxy is configured to write: a proxy that sets `X-Forwarded-*` passes
//! a client's own `Forwarded` through untouched, and the other way round.

use std::net::IpAddr;

use crate::settings::config::ProxyHeaders;

/// One entry: an address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        let (network, ip, bits) = match (self.address, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(ip)) => (u32::from(n) as u128, u32::from(ip) as u128, 32),
            (IpAddr::V6(n), IpAddr::V6(ip)) => (u128::from(n), u128::from(ip), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        // A shift by the full width (prefix 0) matches everything.
        shift >= bits || (network >> shift) == (ip >> shift)
    }
}

/// An IPv4 peer seen on a dual-stack socket arrives as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A `trusted_proxies` entry that is not an address or network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadEntry {
    index: usize,
    entry: String,
    problem: EntryProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum EntryProblem {
    NotAnAddress,
    PrefixLength { width: u8 },
}

impl std::fmt::Display for BadEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let BadEntry { index, entry, problem } = self;
        write!(f, "entry {index} ({entry:?}) ")?;
        match problem {
            EntryProblem::NotAnAddress => {
                f.write_str("is not an IP address or CIDR (e.g. 10.0.0.0/8)")
            }
            EntryProblem::PrefixLength { width } => {
                write!(f, "has a prefix length that isn't 0 to {width}")
            }
        }
    }
}

impl std::error::Error for BadEntry {}

/// The checked `trusted_proxies` list and the headers they write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrustedProxies {
    networks: Vec<Network>,
    /// The forwarding headers they write.
    pub(crate) headers: ProxyHeaders,
}

impl TrustedProxies {
    /// Parses `entries` (`10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`); the
    /// error names the bad entry and what is wrong with it.
    pub(crate) fn parse(entries: &[String], headers: ProxyHeaders) -> Result<Self, BadEntry> {
        let mut networks = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let bad = |problem| BadEntry { index: i, entry: entry.clone(), problem };
            let (address, prefix) = match entry.split_once('/') {
                Some((address, prefix)) => (address, Some(prefix)),
                None => (entry.as_str(), None),
            };
            let address: IpAddr = address.parse().map_err(|_| bad(EntryProblem::NotAnAddress))?;
            let address = canonical(address);
            let width = if address.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => width,
                Some(prefix) => prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= width)
                    .ok_or_else(|| bad(EntryProblem::PrefixLength { width }))?,
            };
            networks.push(Network { address, prefix });
        }
        Ok(TrustedProxies { networks, headers })
    }

    /// Whether `peer` is a trusted proxy; `None` (no connection) never is.
    pub(crate) fn trusts(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|ip| self.networks.iter().any(|network| network.contains(ip)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(entries: &[&str]) -> TrustedProxies {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        TrustedProxies::parse(&entries, ProxyHeaders::default()).unwrap()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn addresses_and_networks_match_exactly() {
        let list = proxies(&["10.1.2.3", "192.168.0.0/16", "fd00::/8", "::1"]);
        assert!(list.trusts(ip("10.1.2.3")));
        assert!(!list.trusts(ip("10.1.2.4")));
        assert!(list.trusts(ip("192.168.255.1")));
        assert!(!list.trusts(ip("192.169.0.1")));
        assert!(list.trusts(ip("fd12::1")));
        assert!(!list.trusts(ip("fe00::1")));
        assert!(list.trusts(ip("::1")));
        assert!(list.trusts(ip("::ffff:10.1.2.3")), "IPv4-mapped peers count as IPv4");
        assert!(!list.trusts(None), "no connection, no trust");
        assert!(proxies(&["0.0.0.0/0"]).trusts(ip("8.8.8.8")));
        assert!(!proxies(&["0.0.0.0/0"]).trusts(ip("::2")));
        assert!(!TrustedProxies::default().trusts(ip("127.0.0.1")));
    }

    #[test]
    fn bad_entries_are_named() {
        for (bad, why) in [
            ("10.0.0.0/33", "prefix length"),
            ("::/129", "prefix length"),
            ("10.0.0.0/", "prefix length"),
            ("localhost", "not an IP"),
            ("10.0.0", "not an IP"),
            ("", "not an IP"),
        ] {
            let error =
                TrustedProxies::parse(&[bad.to_string()], ProxyHeaders::default()).unwrap_err();
            let error = error.to_string();
            assert!(error.contains(why) && error.contains("entry 0"), "{bad}: {error}");
        }
    }
}
