//! How a process behaves when its database goes away and when it is told
//! to stop (issue 21): how long a page waits for a database connection
//! before it answers 503, how long in-flight requests get to finish on
//! SIGTERM, and the rhythm of the background workers.

use super::{ConfigError, parse::parse_bounded};

/// `LOCKBOX_DB_CHECKOUT_TIMEOUT_MS` and `LOCKBOX_SHUTDOWN_GRACE_SECONDS`.
#[derive(Debug, Clone, Copy)]
pub struct Resilience {
    /// `LOCKBOX_DB_CHECKOUT_TIMEOUT_MS` (default 1500, 100–30000): the
    /// longest a request waits for a pooled database connection. While the
    /// database is unreachable every page fails this fast (503, with
    /// `Retry-After`) instead of hanging.
    pub db_checkout_timeout: std::time::Duration,
    /// `LOCKBOX_SHUTDOWN_GRACE_SECONDS` (default 30, 1–600): on SIGTERM or
    /// SIGINT the listeners stop accepting at once and in-flight requests
    /// get this long to finish; background work finishes its round.
    pub shutdown_grace: std::time::Duration,
    /// `LOCKBOX_DB_POOL_SIZE` (default 16, 1–200): database connections the
    /// server keeps. N instances hold N times this many: keep the sum under
    /// the server's `max_connections`.
    pub db_pool_size: u32,
    /// `LOCKBOX_SWEEP_SECONDS` (default 15, 1–300): how often the sweeper
    /// records expiries and ended windows and sends due reminders.
    pub sweep_every: std::time::Duration,
    /// `LOCKBOX_CHECKPOINT_ROUND_SECONDS` (default 60, 1–3600): how often
    /// the checkpointer looks for tenants due a checkpoint.
    pub checkpoint_round: std::time::Duration,
}

impl Default for Resilience {
    fn default() -> Self {
        Self {
            db_checkout_timeout: std::time::Duration::from_millis(1_500),
            shutdown_grace: std::time::Duration::from_secs(30),
            db_pool_size: 16,
            sweep_every: std::time::Duration::from_secs(15),
            checkpoint_round: std::time::Duration::from_secs(60),
        }
    }
}

pub(super) fn parse_resilience(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Resilience, ConfigError> {
    let defaults = Resilience::default();
    let millis = parse_bounded(
        "LOCKBOX_DB_CHECKOUT_TIMEOUT_MS",
        get("LOCKBOX_DB_CHECKOUT_TIMEOUT_MS"),
        defaults.db_checkout_timeout.as_millis() as i64,
        100..=30_000,
        "a whole number of milliseconds from 100 to 30000",
    )?;
    let grace = parse_bounded(
        "LOCKBOX_SHUTDOWN_GRACE_SECONDS",
        get("LOCKBOX_SHUTDOWN_GRACE_SECONDS"),
        defaults.shutdown_grace.as_secs() as i64,
        1..=600,
        "a whole number of seconds from 1 to 600",
    )?;
    let pool = parse_bounded(
        "LOCKBOX_DB_POOL_SIZE",
        get("LOCKBOX_DB_POOL_SIZE"),
        i64::from(defaults.db_pool_size),
        1..=200,
        "a whole number from 1 to 200",
    )?;
    let seconds = |name: &'static str, default: std::time::Duration, max: i64| {
        parse_bounded(
            name,
            get(name),
            default.as_secs() as i64,
            1..=max,
            if max == 300 {
                "a whole number of seconds from 1 to 300"
            } else {
                "a whole number of seconds from 1 to 3600"
            },
        )
        .map(|n| std::time::Duration::from_secs(n.unsigned_abs()))
    };
    Ok(Resilience {
        db_checkout_timeout: std::time::Duration::from_millis(millis.unsigned_abs()),
        shutdown_grace: std::time::Duration::from_secs(grace.unsigned_abs()),
        db_pool_size: u32::try_from(pool).unwrap_or(defaults.db_pool_size),
        sweep_every: seconds("LOCKBOX_SWEEP_SECONDS", defaults.sweep_every, 300)?,
        checkpoint_round: seconds(
            "LOCKBOX_CHECKPOINT_ROUND_SECONDS",
            defaults.checkpoint_round,
            3600,
        )?,
    })
}
