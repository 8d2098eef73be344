//! Who the client is: the peer, or, when the peer is a trusted proxy (`limits.trusted_proxies`),
//! the source its PROXY header named (`proxy_protocol`) and then the rightmost address in
//! `X-Forwarded-For` that is not itself a trusted proxy. Each proxy
//! appends the address it saw, so everything left of the last untrusted hop was written by the
//! client and proves nothing.

use std::net::IpAddr;

use actix_web::HttpRequest;

use super::proxy_protocol::ProxiedSource;
use crate::config::TrustedProxies;

/// The client's address; `None` only when the connection has no peer address (tests).
pub(crate) fn client_address(request: &HttpRequest, trusted: &TrustedProxies) -> Option<IpAddr> {
    let mut peer = request.peer_addr()?.ip();
    // A PROXY header is one more hop, the first a balancer speaking it writes.
    if let Some(ProxiedSource(source)) = request.conn_data::<ProxiedSource>()
        && trusted.contains(&peer)
    {
        peer = *source;
    }
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok());
    Some(behind_proxies(peer, forwarded, trusted))
}

/// `peer`, or the rightmost untrusted hop of the `X-Forwarded-For` header lines (in order) when
/// `peer` is trusted. A hop that isn't an address ends the walk at the last trusted one: what is
/// left of it can't be told apart from what the client wrote.
fn behind_proxies<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded.flat_map(|line| line.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(address) => {
                client = address;
                if !trusted.contains(&address) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies(nets.iter().map(|net| net.parse().unwrap()).collect())
    }

    fn resolve(peer: &str, lines: &[&str], nets: &[&str]) -> String {
        behind_proxies(peer.parse().unwrap(), lines.iter().copied(), &trusted(nets)).to_string()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            resolve("203.0.113.9", &["198.51.100.1"], &[]),
            "203.0.113.9"
        );
        assert_eq!(
            resolve("203.0.113.9", &["198.51.100.1"], &["10.0.0.0/8"]),
            "203.0.113.9"
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let nets = ["10.0.0.0/8", "192.0.2.7/32"];
        // The client wrote a fake hop first; the two proxies appended what they saw.
        assert_eq!(
            resolve("10.1.1.1", &["6.6.6.6, 198.51.100.23, 192.0.2.7"], &nets),
            "198.51.100.23"
        );
        // The same hops across several header lines.
        assert_eq!(
            resolve(
                "10.1.1.1",
                &["6.6.6.6", "198.51.100.23", "192.0.2.7"],
                &nets
            ),
            "198.51.100.23"
        );
        assert_eq!(resolve("10.1.1.1", &["2001:db8::5"], &nets), "2001:db8::5");
    }

    #[test]
    fn a_broken_hop_or_no_header_stops_at_the_last_trusted_one() {
        let nets = ["10.0.0.0/8"];
        assert_eq!(resolve("10.1.1.1", &[], &nets), "10.1.1.1");
        assert_eq!(
            resolve("10.1.1.1", &["198.51.100.23, not-an-ip, 10.2.2.2"], &nets),
            "10.2.2.2"
        );
        assert_eq!(
            resolve("10.1.1.1", &["10.3.3.3, 10.2.2.2"], &nets),
            "10.3.3.3"
        );
    }
}
