//! The webhook worker's settings.

use super::{ConfigError, parse::parse_bool, parse::parse_bounded};

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `LOCKBOX_WEBHOOK_TIMEOUT_SECONDS` (default 10, 1–60): how long one
    /// delivery may take (connect and answer). Tests shorten it.
    pub timeout: std::time::Duration,
    /// `LOCKBOX_WEBHOOK_ALLOW_HTTP_LOOPBACK` (default false; tests and
    /// development only): a tenant's endpoint may be a loopback address,
    /// over plain HTTP too (e.g. `lockbox webhook listen` on this machine).
    pub allow_http_loopback: bool,
    /// How long an endpoint may fail continuously before it is disabled
    /// (3 days).
    pub disable_after: chrono::Duration,
    /// How often the worker looks for due deliveries; `None` turns it off
    /// (tests drive delivery themselves).
    pub poll: Option<std::time::Duration>,
}

impl WebhookSettings {
    /// The defaults, as a deployment without the variables gets them.
    pub fn defaults() -> Self {
        Self {
            timeout: std::time::Duration::from_secs(10),
            allow_http_loopback: false,
            disable_after: chrono::Duration::days(3),
            poll: Some(std::time::Duration::from_secs(2)),
        }
    }
}

pub(super) fn parse_webhooks(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<WebhookSettings, ConfigError> {
    Ok(WebhookSettings {
        timeout: std::time::Duration::from_secs(parse_bounded(
            "LOCKBOX_WEBHOOK_TIMEOUT_SECONDS",
            get("LOCKBOX_WEBHOOK_TIMEOUT_SECONDS"),
            10,
            1..=60,
            "a whole number of seconds from 1 to 60",
        )? as u64),
        allow_http_loopback: parse_bool(
            "LOCKBOX_WEBHOOK_ALLOW_HTTP_LOOPBACK",
            get("LOCKBOX_WEBHOOK_ALLOW_HTTP_LOOPBACK"),
        )?,
        ..WebhookSettings::defaults()
    })
}
