//! The application's metrics: one Prometheus registry per application
//! (not a process-global recorder), so that several applications in one
//! process — the test suite runs hundreds — each report only their own
//! traffic. Handles are cheap clones of shared atomics.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// Seconds buckets for page and API latency: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Every metric the application exports (besides the pool's checkout
/// figures, see [`crate::db::watch`]).
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub http_in_flight: IntGaugeVec,
    pub http_denied: IntCounterVec,
    pub sign_ins: IntCounterVec,
    pub forgery_refusals: IntCounterVec,
    pub api_token_uses: IntCounterVec,
    pub pool_size: IntGauge,
    pub pool_connections: IntGaugeVec,
    pub delivery_attempts: IntCounterVec,
    pub delivery_successes: IntCounterVec,
    pub delivery_failures: IntCounterVec,
    pub outbox_messages: IntGaugeVec,
    pub webhook_deliveries: IntGaugeVec,
    pub requests: IntGaugeVec,
    pub exports_running: IntGauge,
    oldest_pending: GaugeVec,
    oldest_unsealed: Gauge,
    newest_checkpoint: Gauge,
    last_round: GaugeVec,
    /// What the last refresh read, and when the workers last finished.
    marks: Mutex<Marks>,
}

/// Moments the ages are computed from, at scrape time, with the clock.
#[derive(Debug, Default, Clone)]
pub struct Marks {
    pub oldest_mail: Option<DateTime<Utc>>,
    pub oldest_webhook: Option<DateTime<Utc>>,
    pub oldest_unsealed: Option<DateTime<Utc>>,
    pub newest_checkpoint: Option<DateTime<Utc>>,
    pub sweeper_round: Option<DateTime<Utc>>,
    pub sealer_round: Option<DateTime<Utc>>,
}

type Made<T> = Result<T, prometheus::Error>;

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Made<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauges(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Made<IntGaugeVec> {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn age(r: &Registry, name: &str, help: &str) -> Made<Gauge> {
    let g = Gauge::new(name, help)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn ages(r: &Registry, name: &str, help: &str, label: &str) -> Made<GaugeVec> {
    let g = GaugeVec::new(Opts::new(name, help), &[label])?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn int_gauge(r: &Registry, name: &str, help: &str) -> Made<IntGauge> {
    let g = IntGauge::new(name, help)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

impl Metrics {
    /// A fresh registry with every metric described; `started` stands for
    /// the workers' last round until they complete one.
    pub fn new(started: DateTime<Utc>) -> Made<Arc<Self>> {
        let r = Registry::new();
        let http = ["portal", "route", "status"];
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "lockbox_http_request_duration_seconds",
                "Time to answer an HTTP request, by portal, route pattern and status class.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &http,
        )?;
        r.register(Box::new(http_duration.clone()))?;
        if let Some(c) = crate::db::watch::checkouts() {
            r.register(Box::new(c.wait.clone()))?;
            r.register(Box::new(c.timeouts.clone()))?;
        }
        let channel = ["channel"];
        let m = Self {
            http_requests: counter(
                &r,
                "lockbox_http_requests_total",
                "HTTP requests answered, by portal, route pattern and status class.",
                &http,
            )?,
            http_duration,
            http_in_flight: gauges(
                &r,
                "lockbox_http_requests_in_flight",
                "HTTP requests being answered now, by portal.",
                &["portal"],
            )?,
            http_denied: counter(
                &r,
                "lockbox_http_denied_total",
                "Requests answered 403 or 404 (a rise is someone probing), by portal and code.",
                &["portal", "code"],
            )?,
            sign_ins: counter(
                &r,
                "lockbox_sign_ins_total",
                "Password sign-in attempts by portal and outcome (success, failure, throttled).",
                &["portal", "outcome"],
            )?,
            forgery_refusals: counter(
                &r,
                "lockbox_forgery_refusals_total",
                "Unsafe requests refused by the CSRF check or the same-origin check.",
                &["portal", "check"],
            )?,
            api_token_uses: counter(
                &r,
                "lockbox_api_token_uses_total",
                "API calls authenticated by a token, by portal and the token's scope.",
                &["portal", "scope"],
            )?,
            pool_size: int_gauge(
                &r,
                "lockbox_db_pool_size",
                "Connections the database pool may hold at most.",
            )?,
            pool_connections: gauges(
                &r,
                "lockbox_db_pool_connections",
                "Connections the database pool holds, by state (in_use, idle).",
                &["state"],
            )?,
            delivery_attempts: counter(
                &r,
                "lockbox_delivery_attempts_total",
                "Delivery attempts by this process's workers, by channel (mail, webhook).",
                &channel,
            )?,
            delivery_successes: counter(
                &r,
                "lockbox_delivery_successes_total",
                "Deliveries that succeeded, by channel.",
                &channel,
            )?,
            delivery_failures: counter(
                &r,
                "lockbox_delivery_failures_total",
                "Delivery attempts that failed (retried later or given up), by channel.",
                &channel,
            )?,
            outbox_messages: gauges(
                &r,
                "lockbox_outbox_messages",
                "Mail in the outbox by status (refreshed in the background).",
                &["status"],
            )?,
            webhook_deliveries: gauges(
                &r,
                "lockbox_webhook_deliveries",
                "Webhook deliveries by status (failed: their endpoint was disabled).",
                &["status"],
            )?,
            requests: gauges(
                &r,
                "lockbox_requests",
                "Access requests by stored state.",
                &["state"],
            )?,
            exports_running: int_gauge(
                &r,
                "lockbox_audit_exports_running",
                "Audit exports this process is streaming.",
            )?,
            oldest_pending: ages(
                &r,
                "lockbox_oldest_pending_delivery_age_seconds",
                "Age of the oldest message waiting to be delivered, by channel (0: none).",
                "channel",
            )?,
            oldest_unsealed: age(
                &r,
                "lockbox_audit_oldest_unsealed_age_seconds",
                "Age of the oldest audit record not yet sealed into its chain (0: none).",
            )?,
            newest_checkpoint: age(
                &r,
                "lockbox_audit_newest_checkpoint_age_seconds",
                "Age of the newest signed audit checkpoint (0: none yet).",
            )?,
            last_round: ages(
                &r,
                "lockbox_worker_last_round_age_seconds",
                "Seconds since a background worker of this process last completed a round.",
                "worker",
            )?,
            registry: r,
            marks: Mutex::new(Marks {
                sweeper_round: Some(started),
                sealer_round: Some(started),
                ..Marks::default()
            }),
        };
        m.start_at_zero();
        Ok(Arc::new(m))
    }

    /// Every known label set at zero from the start, so a rate or an
    /// alert sees the series before its first event.
    fn start_at_zero(&self) {
        for p in ["admin", "engineer"] {
            for outcome in ["success", "failure", "throttled"] {
                self.sign_ins.with_label_values(&[p, outcome]);
            }
            for check in ["csrf", "same_origin"] {
                self.forgery_refusals.with_label_values(&[p, check]);
            }
            for code in ["403", "404"] {
                self.http_denied.with_label_values(&[p, code]);
            }
            self.http_in_flight.with_label_values(&[p]);
        }
        for scope in ["read", "decide", "admin"] {
            self.api_token_uses.with_label_values(&["admin", scope]);
        }
        for channel in ["mail", "webhook"] {
            self.delivery_attempts.with_label_values(&[channel]);
            self.delivery_successes.with_label_values(&[channel]);
            self.delivery_failures.with_label_values(&[channel]);
        }
    }

    /// Records what a refresh read from the database.
    pub fn set_marks(&self, f: impl FnOnce(&mut Marks)) {
        if let Ok(mut marks) = self.marks.lock() {
            f(&mut marks);
        }
    }

    /// The Prometheus text exposition, with ages computed for `now`.
    pub fn render(&self, now: DateTime<Utc>) -> Result<String, prometheus::Error> {
        let marks = self.marks.lock().map(|m| m.clone()).unwrap_or_default();
        let secs = |t: Option<DateTime<Utc>>| {
            t.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
        };
        let pending = &self.oldest_pending;
        pending
            .with_label_values(&["mail"])
            .set(secs(marks.oldest_mail));
        pending
            .with_label_values(&["webhook"])
            .set(secs(marks.oldest_webhook));
        self.oldest_unsealed.set(secs(marks.oldest_unsealed));
        self.newest_checkpoint.set(secs(marks.newest_checkpoint));
        let rounds = &self.last_round;
        rounds
            .with_label_values(&["sweeper"])
            .set(secs(marks.sweeper_round));
        rounds
            .with_label_values(&["sealer"])
            .set(secs(marks.sealer_round));
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}
