//! Settings, read from the environment once at start-up. Every field is
//! typed and bounded here, so a bad value is a clear start-up error rather
//! than a surprise later.

use std::{fmt, net::IpAddr, num::NonZeroU32, path::PathBuf};

use chrono::Duration;

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
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    pub transport: MailTransport,
    /// `LOCKBOX_MAIL_FROM`.
    pub from: String,
    /// `LOCKBOX_MAIL_MAX_ATTEMPTS` (default 8, 1–50): then a message is
    /// marked failed.
    pub max_attempts: i32,
    /// How often the delivery worker looks for due mail; `None` turns the
    /// worker off (tests drive delivery themselves).
    pub poll: Option<std::time::Duration>,
}

/// A per-address request limit: a steady rate and the burst allowed on top
/// of it before requests are refused (a GCRA: the allowance refills at the
/// rate, up to the burst).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuota {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
}

/// The JSON API's allowance per token: `per_second` calls a second, up to
/// `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl ApiRate {
    /// SPEC §8's default: 10 a second, bursts of 50.
    pub const DEFAULT: ApiRate = ApiRate {
        per_second: NonZeroU32::new(10).expect("non-zero"),
        burst: NonZeroU32::new(50).expect("non-zero"),
    };
}

impl RateQuota {
    /// The sign-in forms' default: 30 a minute with bursts of 10.
    pub const SIGN_IN: RateQuota = RateQuota {
        per_minute: NonZeroU32::new(30).expect("non-zero"),
        burst: NonZeroU32::new(10).expect("non-zero"),
    };

    /// A quota no test or person reaches, for tests of what lies behind it.
    pub const UNLIMITED: RateQuota = RateQuota {
        per_minute: NonZeroU32::MAX,
        burst: NonZeroU32::new(1_000_000).expect("non-zero"),
    };
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
    /// `LOCKBOX_PENDING_LIFETIME_MINUTES` (default 720 = 12 h, 1 min–7 days):
    /// how long a request waits for the customer before it expires.
    pub pending_lifetime: Duration,
    /// `LOCKBOX_MAX_WINDOW_MINUTES` (default 240 = 4 h, 1 min–8 h): the
    /// longest access window an engineer may request.
    pub max_window: Duration,
    pub mail: MailSettings,
    /// How often this process seals new audit records (`None`: it does
    /// not; another lockbox process must). Always on outside tests.
    pub audit_seal_every: Option<std::time::Duration>,
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
            audit_seal_every: Some(AUDIT_SEAL_INTERVAL),
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
            pending_lifetime: Duration::hours(12),
            max_window: Duration::hours(4),
            mail: MailSettings {
                transport: MailTransport::Files(std::env::temp_dir().join("lockbox-test-mail")),
                from: "lockbox <lockbox@localhost>".into(),
                max_attempts: 8,
                poll: None,
            },
            audit_seal_every: Some(AUDIT_SEAL_INTERVAL),
        }
    }
}

fn parse_mail(
    get: &impl Fn(&str) -> Option<String>,
    data_dir: &std::path::Path,
) -> Result<MailSettings, ConfigError> {
    let transport = match get("LOCKBOX_SMTP_HOST") {
        None => MailTransport::Files(
            get("LOCKBOX_MAIL_DIR").map_or_else(|| data_dir.join("mail"), PathBuf::from),
        ),
        Some(host) => {
            let security = match get("LOCKBOX_SMTP_SECURITY")
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("starttls") => SmtpSecurity::StartTls,
                Some("tls") => SmtpSecurity::Tls,
                Some("none") => SmtpSecurity::None,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "LOCKBOX_SMTP_SECURITY",
                        expected: "starttls, tls or none",
                        value: other.to_owned(),
                    });
                }
            };
            let default_port = match security {
                SmtpSecurity::Tls => 465,
                SmtpSecurity::StartTls => 587,
                SmtpSecurity::None => 25,
            };
            MailTransport::Smtp(SmtpSettings {
                host,
                port: u16::try_from(parse_bounded(
                    "LOCKBOX_SMTP_PORT",
                    get("LOCKBOX_SMTP_PORT"),
                    default_port,
                    1..=65535,
                    "a port number from 1 to 65535",
                )?)
                .unwrap_or(25),
                security,
                username: get("LOCKBOX_SMTP_USERNAME"),
                password: get("LOCKBOX_SMTP_PASSWORD").map(Secret::new),
            })
        }
    };
    Ok(MailSettings {
        transport,
        from: get("LOCKBOX_MAIL_FROM")
            .unwrap_or_else(|| "Customer Lockbox <lockbox@localhost>".into()),
        max_attempts: i32::try_from(parse_bounded(
            "LOCKBOX_MAIL_MAX_ATTEMPTS",
            get("LOCKBOX_MAIL_MAX_ATTEMPTS"),
            8,
            1..=50,
            "a whole number from 1 to 50",
        )?)
        .unwrap_or(8),
        poll: Some(std::time::Duration::from_secs(2)),
    })
}

fn parse_bool(name: &'static str, value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("0" | "false" | "no" | "off") => Ok(false),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some(other) => Err(ConfigError::Invalid {
            name,
            expected: "true or false",
            value: other.to_owned(),
        }),
    }
}

fn parse_bounded(
    name: &'static str,
    value: Option<String>,
    default: i64,
    bounds: std::ops::RangeInclusive<i64>,
    expected: &'static str,
) -> Result<i64, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.trim().parse::<i64>() {
        Ok(n) if bounds.contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            expected,
            value,
        }),
    }
}

/// A count from 1 to 10000.
fn parse_count(
    name: &'static str,
    value: Option<String>,
    default: NonZeroU32,
) -> Result<NonZeroU32, ConfigError> {
    let n = parse_bounded(
        name,
        value,
        i64::from(default.get()),
        1..=10_000,
        "a whole number from 1 to 10000",
    )?;
    Ok(u32::try_from(n)
        .ok()
        .and_then(NonZeroU32::new)
        .unwrap_or(default))
}

fn parse_proxies(value: Option<String>) -> Result<Vec<IpAddr>, ConfigError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpAddr>().map_err(|_| ConfigError::Invalid {
                name: "LOCKBOX_TRUSTED_PROXIES",
                expected: "a comma-separated list of IP addresses",
                value: s.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = settings(&[]).expect("defaults are valid");
        assert!(s.database_url.is_none());
        assert_eq!(s.admin_addr, "127.0.0.1:8080");
        assert_eq!(s.engineer_addr, "127.0.0.1:8081");
        assert_eq!(s.session_idle, Duration::minutes(30));
        assert_eq!(s.session_absolute, Duration::hours(12));
        assert!(!s.tls);
        assert_eq!(s.pending_lifetime, Duration::hours(12));
        assert_eq!(s.max_window, Duration::hours(4));
        assert_eq!(s.sign_in_rate, RateQuota::SIGN_IN);
    }

    #[test]
    fn the_sign_in_rate_is_configurable_within_bounds() {
        let s = settings(&[
            ("LOCKBOX_SIGNIN_RATE_PER_MINUTE", "120"),
            ("LOCKBOX_SIGNIN_BURST", "40"),
        ])
        .expect("valid");
        assert_eq!(
            (s.sign_in_rate.per_minute.get(), s.sign_in_rate.burst.get()),
            (120, 40)
        );
        assert!(settings(&[("LOCKBOX_SIGNIN_RATE_PER_MINUTE", "0")]).is_err());
        assert!(settings(&[("LOCKBOX_SIGNIN_BURST", "10001")]).is_err());
    }

    #[test]
    fn out_of_bounds_values_are_refused() {
        assert!(settings(&[("LOCKBOX_SESSION_IDLE_MINUTES", "0")]).is_err());
        assert!(settings(&[("LOCKBOX_SESSION_ABSOLUTE_HOURS", "25")]).is_err());
        assert!(settings(&[("LOCKBOX_TLS", "maybe")]).is_err());
        assert!(settings(&[("LOCKBOX_TRUSTED_PROXIES", "10.0.0.1, nope")]).is_err());
        assert!(settings(&[("LOCKBOX_PENDING_LIFETIME_MINUTES", "0")]).is_err());
        assert!(settings(&[("LOCKBOX_PENDING_LIFETIME_MINUTES", "10081")]).is_err());
        assert!(settings(&[("LOCKBOX_PENDING_LIFETIME_MINUTES", "10080")]).is_ok());
        assert!(settings(&[("LOCKBOX_MAX_WINDOW_MINUTES", "481")]).is_err());
        assert!(settings(&[("LOCKBOX_MAX_WINDOW_MINUTES", "1")]).is_ok());
        assert!(
            settings(&[
                ("LOCKBOX_SMTP_HOST", "mail"),
                ("LOCKBOX_SMTP_SECURITY", "ssl3")
            ])
            .is_err()
        );
        assert!(
            settings(&[
                ("LOCKBOX_SMTP_HOST", "mail"),
                ("LOCKBOX_SMTP_PORT", "70000")
            ])
            .is_err()
        );
    }

    #[test]
    fn mail_goes_to_files_under_the_data_dir_unless_smtp_is_configured() {
        let s = settings(&[("LOCKBOX_DATA_DIR", "/srv/lockbox")]).expect("valid");
        assert!(
            matches!(s.mail.transport, MailTransport::Files(ref d) if d == std::path::Path::new("/srv/lockbox/mail"))
        );
        let s = settings(&[
            ("LOCKBOX_SMTP_HOST", "smtp.internal"),
            ("LOCKBOX_SMTP_SECURITY", "tls"),
        ])
        .expect("valid");
        match s.mail.transport {
            MailTransport::Smtp(smtp) => {
                assert_eq!((smtp.port, smtp.security), (465, SmtpSecurity::Tls))
            }
            MailTransport::Files(_) => panic!("smtp expected"),
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let s = settings(&[
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
            (
                "LOCKBOX_MIGRATE_DATABASE_URL",
                "postgres://o:swordfish@h/db",
            ),
        ])
        .expect("valid");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s:?}").contains("swordfish"));
    }

    #[test]
    fn the_owner_url_comes_only_with_a_database_url() {
        let err = settings(&[(
            "LOCKBOX_MIGRATE_DATABASE_URL",
            "postgres://o:swordfish@h/db",
        )])
        .expect_err("refused");
        assert_eq!(
            err.to_string(),
            "LOCKBOX_MIGRATE_DATABASE_URL is set, so DATABASE_URL must be set too"
        );
        assert!(settings(&[]).expect("valid").migrate_database_url.is_none());
    }
}
