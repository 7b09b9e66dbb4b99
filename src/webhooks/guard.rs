//! Where a webhook may be sent (no SSRF). A tenant's endpoint must be
//! `https` and every address its host resolves to must be public: not
//! loopback, private (RFC 1918, fc00::/7), link-local (169.254/16,
//! fe80::/10, so also the cloud metadata addresses 169.254.169.254 and
//! fd00:ec2::254), CGNAT (100.64/10), unspecified, broadcast or multicast.
//! The check runs at delivery time, after DNS resolution, and the
//! connection is pinned to the checked address (DNS rebinding cannot swap
//! it); redirects are never followed. `LOCKBOX_WEBHOOK_ALLOW_HTTP_LOOPBACK`
//! (tests and development only) admits loopback targets, over plain HTTP
//! too. The provider's own endpoints are trusted configuration: any
//! `http`/`https` target.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// Why a target is refused (shown as the delivery's error).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("not a valid URL")]
    BadUrl,
    #[error("only https URLs are allowed")]
    NotHttps,
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("the address {0} is not public")]
    NotPublic(IpAddr),
    #[error("the host name did not resolve: {0}")]
    Unresolved(String),
}

/// Who configured an endpoint, and what the deployment admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// A provider endpoint (`lockbox webhook add`): trusted.
    pub trusted: bool,
    /// `LOCKBOX_WEBHOOK_ALLOW_HTTP_LOOPBACK`.
    pub allow_http_loopback: bool,
}

fn v4_public(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        // CGNAT 100.64/10, IETF protocol assignments 192.0.0/24,
        // benchmarking 198.18/15, reserved 240/4 (and broadcast).
        || (a == 100 && (64..128).contains(&b))
        || (a, b, c) == (192, 0, 0)
        || (a == 198 && (b & 0xfe) == 18)
        || a >= 240
        // Documentation: TEST-NET-1, -2, -3.
        || [(192, 0, 2), (198, 51, 100), (203, 0, 113)].contains(&(a, b, c)))
}

/// An allowlist: only global unicast (2000::/3) is public, less the ranges
/// inside it that reach somewhere else (Teredo, documentation), and the
/// forms that embed an IPv4 address are judged by that address.
fn v6_public(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let o = ip.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match s {
        // IPv4-compatible (::/96, so also :: and ::1), IPv4-mapped, NAT64.
        [0, 0, 0, 0, 0, 0, ..] | [0, 0, 0, 0, 0, 0xffff, ..] | [0x64, 0xff9b, 0, 0, 0, 0, ..] => {
            v4_public(last)
        }
        // Local-use NAT64 (64:ff9b:1::/48): where it embeds depends on the
        // site's prefix length; refused.
        [0x64, 0xff9b, 1, ..] => false,
        // 6to4 (2002::/16) reaches the IPv4 address in bits 16–47.
        [0x2002, ..] => v4_public(Ipv4Addr::new(o[2], o[3], o[4], o[5])),
        // Teredo 2001::/32 and documentation 2001:db8::/32.
        [0x2001, 0 | 0xdb8, ..] => false,
        [first, ..] => (first & 0xe000) == 0x2000,
    }
}

/// Whether a webhook may connect to `ip` at all.
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4_public(v4),
        IpAddr::V6(v6) => v6_public(v6),
    }
}

fn admitted(ip: IpAddr, rules: Rules) -> bool {
    rules.trusted || is_public(ip) || (rules.allow_http_loopback && ip.to_canonical().is_loopback())
}

/// The parsed URL, its scheme admitted. Plain `http` only for trusted
/// endpoints and, with the development setting, loopback targets (which
/// [`resolve`] enforces once it knows the address).
pub fn parse(url: &str, rules: Rules) -> Result<Url, Refused> {
    let url = Url::parse(url.trim()).map_err(|_| Refused::BadUrl)?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Refused::BadUrl);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused::Credentials);
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if rules.trusted || rules.allow_http_loopback => Ok(url),
        _ => Err(Refused::NotHttps),
    }
}

/// What can be checked when an endpoint is saved: the scheme, and an
/// address written literally. Host names are checked at delivery.
pub fn check_saved(url: &str, rules: Rules) -> Result<Url, Refused> {
    let parsed = parse(url, rules)?;
    if let Some(ip) = literal(&parsed) {
        check_address(&parsed, ip, rules)?;
    }
    Ok(parsed)
}

/// The address written in the URL, if it names one (IPv6 in brackets).
fn literal(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn check_address(url: &Url, ip: IpAddr, rules: Rules) -> Result<(), Refused> {
    if !admitted(ip, rules) {
        return Err(Refused::NotPublic(ip));
    }
    // Plain HTTP to anything but loopback: only for trusted endpoints.
    if url.scheme() == "http" && !rules.trusted && !ip.to_canonical().is_loopback() {
        return Err(Refused::NotHttps);
    }
    Ok(())
}

/// Resolves the URL's host and checks every address it resolves to (one
/// bad address refuses the target: a resolver answering both is not to be
/// trusted); returns the URL's host and the one address to connect to.
pub async fn resolve(url: &Url, rules: Rules) -> Result<(String, SocketAddr), Refused> {
    let url = parse(url.as_str(), rules)?;
    let port = url.port_or_known_default().ok_or(Refused::BadUrl)?;
    let host = url.host_str().ok_or(Refused::BadUrl)?.to_owned();
    let addresses: Vec<SocketAddr> = match literal(&url) {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| Refused::Unresolved(e.to_string()))?
            .collect(),
    };
    let first = *addresses
        .first()
        .ok_or_else(|| Refused::Unresolved(host.clone()))?;
    for a in &addresses {
        check_address(&url, a.ip(), rules)?;
    }
    Ok((host, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUSTOMER: Rules = Rules {
        trusted: false,
        allow_http_loopback: false,
    };

    #[test]
    fn only_public_addresses_are_public() {
        for bad in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "ff02::1",
            // IPv4: protocol assignments, benchmarking, reserved,
            // documentation.
            "192.0.0.8",
            "198.18.0.1",
            "198.19.255.1",
            "240.0.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            // IPv6 outside global unicast: site-local, discard-only.
            "fec0::1",
            "100::1",
            // Teredo and documentation.
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            // 6to4 of loopback and of a private address.
            "2002:7f00:1::1",
            "2002:a00:1::1",
            // IPv4-compatible of loopback and metadata.
            "::127.0.0.1",
            "::169.254.169.254",
            // NAT64 of a private address; local-use NAT64 refused.
            "64:ff9b::c0a8:101",
            "64:ff9b:1::5db8:d822",
        ] {
            let ip: IpAddr = bad.parse().expect("an address");
            assert!(!is_public(ip), "{bad} must not be public");
        }
        for good in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "100.128.0.1",
            "198.20.0.1",
            "203.0.114.1",
            // 6to4, IPv4-compatible and NAT64 of a public address.
            "2002:5db8:d822::1",
            "::93.184.216.34",
            "64:ff9b::5db8:d822",
            "2a00:1450:4001::1",
        ] {
            assert!(is_public(good.parse().expect("an address")), "{good}");
        }
    }

    #[test]
    fn customer_urls_must_be_https_without_credentials() {
        assert_eq!(
            check_saved("http://example.com/x", CUSTOMER),
            Err(Refused::NotHttps)
        );
        assert_eq!(
            check_saved("ftp://example.com/x", CUSTOMER),
            Err(Refused::NotHttps)
        );
        assert_eq!(check_saved("not a url", CUSTOMER), Err(Refused::BadUrl));
        assert_eq!(
            check_saved("https://u:p@example.com/", CUSTOMER),
            Err(Refused::Credentials)
        );
        assert!(check_saved("https://example.com/hook", CUSTOMER).is_ok());
        assert!(matches!(
            check_saved("https://[::1]:9000/", CUSTOMER),
            Err(Refused::NotPublic(_))
        ));
        let dev = Rules {
            trusted: false,
            allow_http_loopback: true,
        };
        assert!(check_saved("http://127.0.0.1:9000/", dev).is_ok());
        assert_eq!(
            check_saved("http://10.0.0.1/", dev),
            Err(Refused::NotPublic("10.0.0.1".parse().expect("ip")))
        );
        assert_eq!(
            check_saved("http://example.com/", dev).map(|_| ()),
            Ok(()),
            "a host name is checked at delivery"
        );
    }
}
