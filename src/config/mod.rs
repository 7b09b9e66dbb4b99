//! Settings, read from the environment once at start-up. Every field is
//! typed and bounded here, so a bad value is a clear start-up error rather
//! than a surprise later.

use std::{fmt, net::IpAddr, num::NonZeroU32, path::PathBuf};

use chrono::Duration;

/// How long one statement of a page may run before PostgreSQL cancels it.
pub const DEFAULT_STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How often a lockbox server looks for audit records to seal: how long a
/// record may wait for its place in the chain when the server is idle.
pub const AUDIT_SEAL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// A value that must never be printed (database URLs carry passwords).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{name} must be {expected}, got {value:?}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
    #[error("{name} is set, so {needs} must be set too")]
    Requires {
        name: &'static str,
        needs: &'static str,
    },
}

/// How mail leaves lockbox.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// `.eml` files in a directory (the embedded default: nothing is
    /// dropped, and `lockbox demo` says where to look).
    Files(PathBuf),
    Smtp(SmtpSettings),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    None,
    StartTls,
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// `LOCKBOX_SMTP_CA_FILE`: a PEM certificate trusted for the server's
    /// TLS besides the system's roots (a private CA).
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    pub transport: MailTransport,
    /// `LOCKBOX_MAIL_FROM`.
    pub from: String,
    /// `LOCKBOX_MAIL_MAX_ATTEMPTS` (default 8, 1–50): then a message is
    /// marked failed.
    pub max_attempts: i32,
    /// `LOCKBOX_MAIL_RETRY_HOURS` (default 72, 1–720): a failing message is
    /// retried at least this long (and at least the pending lifetime).
    pub retry_for: Duration,
    /// `LOCKBOX_REMINDER_BEFORE_MINUTES` (default 120, 1–10080): approvers
    /// are reminded once when a pending request has this long left.
    pub reminder_before: Duration,
    /// How often the delivery worker looks for due mail; `None` turns the
    /// worker off (tests drive delivery themselves).
    pub poll: Option<std::time::Duration>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`: the database the server serves with, connected as
    /// a least-privilege role (a member of `lockbox_app`; see
    /// [`crate::db::roles`]). When unset lockbox runs its own embedded
    /// PostgreSQL, with both roles.
    pub database_url: Option<Secret>,
    /// `LOCKBOX_MIGRATE_DATABASE_URL`: the same database as its owner, the
    /// role migrations (and `tenant`, `user`, `staff create`, the demo's
    /// seeding) run as. Only with `DATABASE_URL`. When unset,
    /// `DATABASE_URL`'s role migrates too, and start-up warns if it owns
    /// the tables or is a superuser.
    pub migrate_database_url: Option<Secret>,
    /// `LOCKBOX_DATA_DIR` (default `./var`): the embedded cluster lives here.
    pub data_dir: PathBuf,
    /// `LOCKBOX_ADMIN_ADDR` (default `127.0.0.1:8080`): customer admin center.
    pub admin_addr: String,
    /// `LOCKBOX_ENGINEER_ADDR` (default `127.0.0.1:8081`): engineer portal.
    pub engineer_addr: String,
    /// `LOCKBOX_TLS` (default false): the portals are reached over HTTPS
    /// (usually through a TLS-terminating proxy). Turns on `Secure`
    /// `__Host-` cookies and HSTS.
    pub tls: bool,
    /// `LOCKBOX_SESSION_IDLE_MINUTES` (default 30, 1–240).
    pub session_idle: Duration,
    /// `LOCKBOX_SESSION_ABSOLUTE_HOURS` (default 12, 1–24).
    pub session_absolute: Duration,
    /// `LOCKBOX_TRUSTED_PROXIES`: comma-separated addresses whose
    /// `X-Forwarded-For` header is believed. Empty by default.
    pub trusted_proxies: Vec<IpAddr>,
    /// `LOCKBOX_SIGNIN_RATE_PER_MINUTE` (default 30, 1–10000) and
    /// `LOCKBOX_SIGNIN_BURST` (default 10, 1–10000): submissions of either
    /// sign-in form per client address (IPv6: per /64), per lockbox
    /// process; more are answered 429 with `Retry-After`.
    pub sign_in_rate: RateQuota,
    /// `LOCKBOX_API_RATE_PER_SECOND` (default 10) and `LOCKBOX_API_BURST`
    /// (default 50): each API token's allowance.
    pub api_rate: ApiRate,
    /// `LOCKBOX_API_ADDRESS_RATE_PER_MINUTE` (default 1200) and
    /// `LOCKBOX_API_ADDRESS_BURST` (default 200): each client network's
    /// allowance on `/api`, checked before any token is looked up.
    pub api_address_rate: RateQuota,
    /// `LOCKBOX_PENDING_LIFETIME_MINUTES` (default 720 = 12 h, 1 min–7 days):
    /// how long a request waits for the customer before it expires.
    pub pending_lifetime: Duration,
    /// `LOCKBOX_MAX_WINDOW_MINUTES` (default 240 = 4 h, 1 min–8 h): the
    /// longest access window an engineer may request.
    pub max_window: Duration,
    /// `LOCKBOX_REQUIRE_TICKET` (default true): a request must cite an open
    /// service request of its tenant; off, one that does not is filed but
    /// marked "No matching service request" wherever it is shown.
    pub require_ticket: bool,
    pub mail: MailSettings,
    /// How often this process seals new audit records (`None`: it does
    /// not; another lockbox process must). Always on outside tests.
    pub audit_seal_every: Option<std::time::Duration>,
    /// `LOCKBOX_SIGNING_KEY_FILE` (default `<data dir>/signing-key.pem`):
    /// the deployment's Ed25519 private key (mode 0600), created on first
    /// start; its public keyring lies beside it (see [`crate::signing`]).
    pub signing_key_file: PathBuf,
    /// `LOCKBOX_CHECKPOINT_MINUTES` (default 60, 1–1440): a tenant whose
    /// audit chain moved gets a signed checkpoint at most this often (so at
    /// least daily). `None`: this process writes none (tests).
    pub checkpoint_every: Option<Duration>,
    pub limits: Limits,
    pub metrics: MetricsAccess,
    /// `LOCKBOX_STAFF_MFA` (`required`, the default, or `optional`): provider
    /// staff must sign in with a second factor (and are sent to enrol it).
    pub staff_mfa_required: bool,
    pub webhooks: WebhookSettings,
    /// Failing fast without a database, and stopping gracefully.
    pub resilience: Resilience,
}

/// Bounds that keep one client (or a few) from taking the database from
/// everyone else.
#[derive(Debug, Clone)]
pub struct Limits {
    /// `LOCKBOX_STATEMENT_TIMEOUT_SECONDS` (default 5, 1–300): the longest a
    /// statement of the serving pool may run (PostgreSQL
    /// `statement_timeout`, set on every pooled connection).
    pub statement_timeout: std::time::Duration,
    /// `LOCKBOX_EXPORT_STATEMENT_TIMEOUT_SECONDS` (default 30, 1–600): the
    /// same for one batch of an audit export.
    pub export_statement_timeout: std::time::Duration,
    /// `LOCKBOX_EXPORTS_MAX` (default 4, 1–64): audit exports one process
    /// streams at once; one more is refused (503) until one ends.
    pub exports_max: usize,
    /// `LOCKBOX_EXPORTS_PER_USER` (default 1, 1–8): audit exports one person
    /// may have running at once; one more is refused (429).
    pub exports_per_user: usize,
    /// `LOCKBOX_EXPORT_MAX_MINUTES` (default 10, 1–240): the longest an
    /// export may take, however slowly its client reads; then it is cut
    /// off (the client sees a broken download, never a short file).
    pub export_time_limit: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            export_statement_timeout: std::time::Duration::from_secs(30),
            exports_max: 4,
            exports_per_user: 1,
            export_time_limit: std::time::Duration::from_secs(10 * 60),
        }
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let data_dir = get("LOCKBOX_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("./var"));
        let mail = parse_mail(&get, &data_dir)?;
        let signing_key_file = get("LOCKBOX_SIGNING_KEY_FILE")
            .map_or_else(|| data_dir.join("signing-key.pem"), PathBuf::from);
        let database_url = get("DATABASE_URL").map(Secret::new);
        let migrate_database_url = get("LOCKBOX_MIGRATE_DATABASE_URL").map(Secret::new);
        if migrate_database_url.is_some() && database_url.is_none() {
            return Err(ConfigError::Requires {
                name: "LOCKBOX_MIGRATE_DATABASE_URL",
                needs: "DATABASE_URL",
            });
        }
        Ok(Self {
            mail,
            database_url,
            migrate_database_url,
            data_dir,
            admin_addr: get("LOCKBOX_ADMIN_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into()),
            engineer_addr: get("LOCKBOX_ENGINEER_ADDR").unwrap_or_else(|| "127.0.0.1:8081".into()),
            tls: parse_bool("LOCKBOX_TLS", get("LOCKBOX_TLS"))?,
            session_idle: Duration::minutes(parse_bounded(
                "LOCKBOX_SESSION_IDLE_MINUTES",
                get("LOCKBOX_SESSION_IDLE_MINUTES"),
                30,
                1..=240,
                "a whole number of minutes from 1 to 240",
            )?),
            session_absolute: Duration::hours(parse_bounded(
                "LOCKBOX_SESSION_ABSOLUTE_HOURS",
                get("LOCKBOX_SESSION_ABSOLUTE_HOURS"),
                12,
                1..=24,
                "a whole number of hours from 1 to 24",
            )?),
            trusted_proxies: parse_proxies(get("LOCKBOX_TRUSTED_PROXIES"))?,
            sign_in_rate: RateQuota {
                per_minute: parse_count(
                    "LOCKBOX_SIGNIN_RATE_PER_MINUTE",
                    get("LOCKBOX_SIGNIN_RATE_PER_MINUTE"),
                    RateQuota::SIGN_IN.per_minute,
                )?,
                burst: parse_count(
                    "LOCKBOX_SIGNIN_BURST",
                    get("LOCKBOX_SIGNIN_BURST"),
                    RateQuota::SIGN_IN.burst,
                )?,
            },
            api_address_rate: RateQuota {
                per_minute: parse_count(
                    "LOCKBOX_API_ADDRESS_RATE_PER_MINUTE",
                    get("LOCKBOX_API_ADDRESS_RATE_PER_MINUTE"),
                    RateQuota::API_ADDRESS.per_minute,
                )?,
                burst: parse_count(
                    "LOCKBOX_API_ADDRESS_BURST",
                    get("LOCKBOX_API_ADDRESS_BURST"),
                    RateQuota::API_ADDRESS.burst,
                )?,
            },
            api_rate: ApiRate {
                per_second: parse_count(
                    "LOCKBOX_API_RATE_PER_SECOND",
                    get("LOCKBOX_API_RATE_PER_SECOND"),
                    ApiRate::DEFAULT.per_second,
                )?,
                burst: parse_count(
                    "LOCKBOX_API_BURST",
                    get("LOCKBOX_API_BURST"),
                    ApiRate::DEFAULT.burst,
                )?,
            },
            pending_lifetime: Duration::minutes(parse_bounded(
                "LOCKBOX_PENDING_LIFETIME_MINUTES",
                get("LOCKBOX_PENDING_LIFETIME_MINUTES"),
                12 * 60,
                1..=7 * 24 * 60,
                "a whole number of minutes from 1 to 10080 (7 days)",
            )?),
            max_window: Duration::minutes(parse_bounded(
                "LOCKBOX_MAX_WINDOW_MINUTES",
                get("LOCKBOX_MAX_WINDOW_MINUTES"),
                4 * 60,
                1..=8 * 60,
                "a whole number of minutes from 1 to 480 (8 hours)",
            )?),
            require_ticket: match get("LOCKBOX_REQUIRE_TICKET") {
                None => true,
                raw => parse_bool("LOCKBOX_REQUIRE_TICKET", raw)?,
            },
            audit_seal_every: Some(AUDIT_SEAL_INTERVAL),
            signing_key_file,
            checkpoint_every: Some(Duration::minutes(parse_bounded(
                "LOCKBOX_CHECKPOINT_MINUTES",
                get("LOCKBOX_CHECKPOINT_MINUTES"),
                60,
                1..=24 * 60,
                "a whole number of minutes from 1 to 1440 (a day)",
            )?)),
            limits: parse_limits(&get)?,
            metrics: MetricsAccess {
                allow: parse_metrics_peers(get("LOCKBOX_METRICS_ALLOW"))?,
                token: parse_metrics_token(get("LOCKBOX_METRICS_TOKEN"))?,
                refresh_every: Some(std::time::Duration::from_secs(
                    parse_bounded(
                        "LOCKBOX_METRICS_REFRESH_SECONDS",
                        get("LOCKBOX_METRICS_REFRESH_SECONDS"),
                        15,
                        1..=3600,
                        "a whole number of seconds from 1 to 3600",
                    )?
                    .unsigned_abs(),
                )),
            },
            staff_mfa_required: parse_staff_mfa(get("LOCKBOX_STAFF_MFA"))?,
            webhooks: webhooks::parse_webhooks(&get)?,
            resilience: resilience::parse_resilience(&get)?,
        })
    }

    /// Settings for tests: both listeners on random local ports.
    pub fn for_tests(database_url: &str) -> Self {
        Self {
            database_url: Some(Secret::new(database_url)),
            migrate_database_url: None,
            data_dir: PathBuf::from("./var"),
            admin_addr: "127.0.0.1:0".into(),
            engineer_addr: "127.0.0.1:0".into(),
            tls: false,
            session_idle: Duration::minutes(30),
            session_absolute: Duration::hours(12),
            trusted_proxies: Vec::new(),
            sign_in_rate: RateQuota::SIGN_IN,
            api_rate: ApiRate::DEFAULT,
            api_address_rate: RateQuota::API_ADDRESS,
            pending_lifetime: Duration::hours(12),
            max_window: Duration::hours(4),
            // Most tests file requests with free-text numbers; the tests of
            // service requests (tests/api/tickets.rs) turn the rule on.
            require_ticket: false,
            mail: MailSettings {
                transport: MailTransport::Files(std::env::temp_dir().join("lockbox-test-mail")),
                from: "lockbox <lockbox@localhost>".into(),
                max_attempts: 8,
                retry_for: Duration::hours(72),
                reminder_before: Duration::minutes(120),
                poll: None,
            },
            audit_seal_every: Some(AUDIT_SEAL_INTERVAL),
            // Each test app its own key (see the test helpers).
            signing_key_file: std::env::temp_dir()
                .join("lockbox-test-keys")
                .join(format!("{}.pem", uuid::Uuid::new_v4())),
            checkpoint_every: None,
            limits: Limits::default(),
            // Tests see database-derived gauges move within a moment.
            metrics: MetricsAccess {
                refresh_every: Some(std::time::Duration::from_millis(100)),
                ..MetricsAccess::default()
            },
            staff_mfa_required: true,
            webhooks: WebhookSettings {
                poll: None,
                ..WebhookSettings::defaults()
            },
            resilience: Resilience::default(),
        }
    }
}

mod metrics;
mod parse;
mod rate;
mod resilience;
mod webhooks;

pub use metrics::{DEFAULT_METRICS_REFRESH, MetricsAccess, MetricsPeers};
use parse::*;
pub use rate::{ApiRate, RateQuota};
pub use resilience::Resilience;
pub use webhooks::WebhookSettings;

#[cfg(test)]
mod tests;
