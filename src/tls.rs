//! The TLS settings this process's HTTP clients share: webhook delivery
//! and the benchmark's load generator.
//!
//! Building a TLS connector reads and parses the system's root
//! certificates (OpenSSL's default verify paths, some 150 certificates):
//! tens of milliseconds of CPU and about a megabyte of heap each time. A
//! webhook delivery builds a client of its own, to pin the address its
//! guard checked (`webhooks::post`), so with a connector of its own every
//! attempt paid that again. The connector is built once per process
//! instead, on first use, and shared: the roots are those the system had
//! then, until the next start (a CA removed from the bundle stays trusted
//! until the server restarts).
//!
//! The connector is the one reqwest builds for a client with its defaults:
//! certificates and host names are verified, SNI is sent, the system's
//! roots are trusted, ALPN offers `http/1.1` (reqwest is built without
//! HTTP/2). A client given it ignores the TLS settings of its own builder
//! (`tls_certs_only`, `min_tls_version`, `danger_*`): TLS is set here.
//! OpenSSL keeps no client sessions in a context by default, so nothing of
//! one receiver's handshake is offered to another.

use std::sync::OnceLock;

static SHARED: OnceLock<native_tls::TlsConnector> = OnceLock::new();

/// A reqwest client builder with the shared connector: where every HTTP
/// client of this process starts.
pub fn client_builder() -> Result<reqwest::ClientBuilder, native_tls::Error> {
    Ok(reqwest::Client::builder().tls_backend_preconfigured(connector()?))
}

/// The shared connector (a clone shares the one OpenSSL context).
fn connector() -> Result<native_tls::TlsConnector, native_tls::Error> {
    if let Some(shared) = SHARED.get() {
        return Ok(shared.clone());
    }
    // Two first callers may both build one; the first stored is kept.
    let built = native_tls::TlsConnector::builder()
        .request_alpns(&["http/1.1"])
        .build()?;
    Ok(SHARED.get_or_init(|| built).clone())
}
