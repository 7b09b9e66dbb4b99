//! Reading the client address from `X-Forwarded-For` behind trusted proxies.
use super::forwarded_client;
use std::net::IpAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

#[test]
fn only_trusted_hops_are_believed_and_garbage_stops_the_walk() {
    let proxy = ip("10.0.0.1");
    let trusted = [proxy];
    let client = |entries: &[&str]| forwarded_client(proxy, entries, &trusted);
    assert_eq!(client(&["203.0.113.9"]), ip("203.0.113.9"));
    assert_eq!(client(&["198.51.100.1", "203.0.113.9"]), ip("203.0.113.9"));
    assert_eq!(client(&["203.0.113.9:4711"]), ip("203.0.113.9"), "ip:port");
    assert_eq!(
        client(&["[2001:db8::1]:443"]),
        ip("2001:db8::1"),
        "[v6]:port"
    );
    // Review finding: an entry our proxy wrote in a form we could not
    // read used to be skipped, and the client's own entry believed.
    assert_eq!(client(&["198.51.100.66", "garbage"]), proxy);
    assert_eq!(client(&[]), proxy);
    assert_eq!(
        forwarded_client(ip("192.0.2.7"), &["198.51.100.66"], &trusted),
        ip("192.0.2.7"),
        "an untrusted peer's header is ignored"
    );
}
