//! Where webhooks may be sent (SSRF): unless `webhook_allow_private` is on, a target on a
//! loopback, private, link-local, shared (CGNAT), multicast or otherwise non-public address is
//! refused — when the endpoint is registered, and again at every delivery, after DNS resolution
//! (so a name that resolves, or later re-resolves, to such an address is caught) and for every
//! redirect (a redirect to an address literal skips DNS, so its target is checked by the
//! redirect policy; a redirect to a name goes through the same checking resolver).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Redirects a delivery may follow.
const MAX_REDIRECTS: usize = 5;

/// The refusal shown to the API caller and recorded on a delivery.
pub const REFUSED: &str = "webhook targets on loopback, private or link-local addresses are refused (set webhook_allow_private = true to allow them)";

/// Whether an address is outside the public internet.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address that the gateway will reach.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return forbidden_v4(Ipv4Addr::new(a, b, c, d));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated, still routed inside)
                || v6 == Ipv6Addr::from([0u16, 0, 0, 0, 0, 0, 0, 1]) // ::1 written out
                || (s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible ::a.b.c.d
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT) 100.64/10
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18/15
        || a >= 240 // reserved
}

/// The host of `url` when it is an address literal.
fn literal(url: &reqwest::Url) -> Option<IpAddr> {
    // The parser has normalised the host already (`[::1]` for IPv6, dotted quad for IPv4, also
    // from forms like `http://2130706433/`).
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Checks a target before it is stored: its address literal, or every address its name
/// resolves to now. A name that does not resolve yet is accepted (it is checked again at each
/// delivery).
pub async fn check(url: &str, allow_private: bool) -> Result<(), &'static str> {
    if allow_private {
        return Ok(());
    }
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Err("url must be an http(s) URL");
    };
    if let Some(ip) = literal(&parsed) {
        return if forbidden(ip) { Err(REFUSED) } else { Ok(()) };
    }
    let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
        return Err("url must be an http(s) URL");
    };
    if let Ok(addrs) = tokio::net::lookup_host((host, port)).await {
        if addrs.into_iter().any(|a| forbidden(a.ip())) {
            return Err(REFUSED);
        }
    }
    Ok(())
}

/// Resolves names as the system does, refusing the whole answer when any address is forbidden
/// (a name answering with both a public and a private address must not let the client pick).
struct CheckingResolver;

impl Resolve for CheckingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if addrs.iter().any(|a| forbidden(a.ip())) {
                return Err(REFUSED.into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client deliveries use: 5 s per attempt, at most `MAX_REDIRECTS` redirects, and
/// (unless private targets are allowed) the checking resolver and redirect policy.
pub fn client(allow_private: bool) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder().timeout(Duration::from_secs(5));
    if allow_private {
        return builder
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .build();
    }
    builder
        .dns_resolver(Arc::new(CheckingResolver))
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if literal(attempt.url()).is_some_and(forbidden) {
                attempt.error(REFUSED)
            } else {
                attempt.follow()
            }
        }))
        .build()
}

/// A delivery's own check of an address-literal target (names are checked by the resolver).
pub fn refuse_literal(url: &str, allow_private: bool) -> Result<(), &'static str> {
    if allow_private {
        return Ok(());
    }
    match reqwest::Url::parse(url) {
        Ok(u) if literal(&u).is_some_and(forbidden) => Err(REFUSED),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
        ] {
            assert!(forbidden(bad.parse().unwrap()), "{bad}");
        }
        for good in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "100.128.0.1",
        ] {
            assert!(!forbidden(good.parse().unwrap()), "{good}");
        }
    }
}
