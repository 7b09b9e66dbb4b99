//! Who may read `/metrics`.

use std::net::IpAddr;

use super::Secret;

/// Who may read `/metrics` (engineer listener only).
#[derive(Debug, Clone, Default)]
pub struct MetricsAccess {
    /// `LOCKBOX_METRICS_ALLOW`: the client addresses that may read it
    /// without a token — `loopback` (the default), `none`, or a
    /// comma-separated list of IP addresses.
    pub allow: MetricsPeers,
    /// `LOCKBOX_METRICS_TOKEN` (at least 16 characters): a bearer token that
    /// opens it from anywhere.
    pub token: Option<Secret>,
    /// `LOCKBOX_METRICS_REFRESH_SECONDS` (1 to 3600, default 15): how often
    /// the gauges read from the database are refreshed (never per scrape);
    /// `None` is the default.
    pub refresh_every: Option<std::time::Duration>,
}

/// How often the database-derived gauges are refreshed unless configured.
pub const DEFAULT_METRICS_REFRESH: std::time::Duration = std::time::Duration::from_secs(15);

impl MetricsAccess {
    /// The refresh interval in force.
    pub fn refresh(&self) -> std::time::Duration {
        self.refresh_every.unwrap_or(DEFAULT_METRICS_REFRESH)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MetricsPeers {
    #[default]
    Loopback,
    None,
    Only(Vec<IpAddr>),
}

impl MetricsPeers {
    pub fn admits(&self, ip: IpAddr) -> bool {
        match self {
            MetricsPeers::Loopback => ip.is_loopback() || ip.to_canonical().is_loopback(),
            MetricsPeers::None => false,
            MetricsPeers::Only(list) => list.contains(&ip) || list.contains(&ip.to_canonical()),
        }
    }
}
