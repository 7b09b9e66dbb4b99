//! One delivery attempt: check and pin the target, sign, post. The whole
//! attempt, DNS resolution included, runs within the configured timeout.
//! What the tenant sees of a failure is a generic reason (never the
//! addresses the server's resolver answered, never a library's message);
//! the details are logged, without the URL (it may be a bearer secret).

use chrono::{DateTime, Utc};

use super::{
    deliver::{Claimed, Delivery},
    guard::{self, Refused},
    sign,
};

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered(u16),
    /// Any other answer, a refused target, a timeout, a connection error:
    /// `error` is shown to the tenant, `detail` only logged.
    Failed {
        status: Option<u16>,
        error: String,
        detail: String,
    },
}

fn failed(error: &str, detail: impl Into<String>) -> Outcome {
    Outcome::Failed {
        status: None,
        error: error.to_owned(),
        detail: detail.into(),
    }
}

/// The reason shown for a refused target.
fn shown(refused: &Refused) -> &'static str {
    match refused {
        Refused::BadUrl => "not a valid URL",
        Refused::NotHttps => "only https URLs are allowed",
        Refused::Credentials => "the URL must not carry a user name or password",
        Refused::NotPublic(_) => "the host resolves to a non-public address",
        Refused::Unresolved(_) => "the host name did not resolve",
    }
}

/// Sends one delivery within the timeout (see the module doc).
pub async fn post(c: &Claimed, d: Delivery, now: DateTime<Utc>) -> Outcome {
    match tokio::time::timeout(d.timeout, attempt(c, d, now)).await {
        Ok(outcome) => outcome,
        Err(_) => failed(
            "timed out",
            format!("no answer within {} s", d.timeout.as_secs_f32()),
        ),
    }
}

/// Checks and pins the target ([`guard::resolve`]), signs the body at this
/// attempt's time, posts with no redirects.
async fn attempt(c: &Claimed, d: Delivery, now: DateTime<Utc>) -> Outcome {
    let rules = c.endpoint.rules(d.allow_http_loopback);
    let Ok(url) = reqwest::Url::parse(&c.endpoint.url) else {
        return failed("not a valid URL", "not a valid URL");
    };
    let (host, address) = match guard::resolve(&url, rules).await {
        Ok(target) => target,
        Err(refused) => return failed(shown(&refused), format!("refused: {refused}")),
    };
    let Some(key) = c.secret.reveal().and_then(sign::key_of) else {
        let unusable = "the endpoint's secret is unusable";
        return failed(unusable, unusable);
    };
    // A client per attempt, to pin the checked address; the TLS connector
    // (the system's roots, parsed once) is the process's shared one, and
    // TLS settings on this builder would be ignored (see `crate::tls`).
    let builder = match crate::tls::client_builder() {
        Ok(builder) => builder,
        Err(e) => return failed("connection failed", format!("TLS: {e}")),
    };
    let client = builder
        .redirect(reqwest::redirect::Policy::none())
        .timeout(d.timeout)
        .connect_timeout(d.timeout)
        .no_proxy()
        .resolve(&host, address)
        .user_agent("lockbox-webhooks")
        .build();
    let client = match client {
        Ok(client) => client,
        Err(e) => return failed("connection failed", format!("client: {}", e.without_url())),
    };
    let timestamp = now.timestamp();
    let signature = sign::signature(&key, &c.message_id, timestamp, c.payload.as_bytes());
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &c.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(c.payload.clone())
        .send()
        .await;
    match sent {
        Ok(resp) if resp.status().is_success() => Outcome::Delivered(resp.status().as_u16()),
        Ok(resp) => Outcome::Failed {
            status: Some(resp.status().as_u16()),
            error: format!("HTTP {}", resp.status().as_u16()),
            detail: format!("answered {}", resp.status()),
        },
        Err(e) if e.is_timeout() => failed("timed out", "no answer within the timeout"),
        Err(e) => failed("connection failed", e.without_url().to_string()),
    }
}
