//! Reading settings from the environment: each value bounded, each bad
//! one named in the error.

use std::net::IpAddr;

use super::*;

pub(super) fn parse_limits(get: &impl Fn(&str) -> Option<String>) -> Result<Limits, ConfigError> {
    let seconds = |n: i64| std::time::Duration::from_secs(n.unsigned_abs());
    let count = |n: i64| usize::try_from(n).unwrap_or(1);
    let defaults = Limits::default();
    Ok(Limits {
        statement_timeout: seconds(parse_bounded(
            "LOCKBOX_STATEMENT_TIMEOUT_SECONDS",
            get("LOCKBOX_STATEMENT_TIMEOUT_SECONDS"),
            defaults.statement_timeout.as_secs() as i64,
            1..=300,
            "a whole number of seconds from 1 to 300",
        )?),
        export_statement_timeout: seconds(parse_bounded(
            "LOCKBOX_EXPORT_STATEMENT_TIMEOUT_SECONDS",
            get("LOCKBOX_EXPORT_STATEMENT_TIMEOUT_SECONDS"),
            defaults.export_statement_timeout.as_secs() as i64,
            1..=600,
            "a whole number of seconds from 1 to 600",
        )?),
        exports_max: count(parse_bounded(
            "LOCKBOX_EXPORTS_MAX",
            get("LOCKBOX_EXPORTS_MAX"),
            defaults.exports_max as i64,
            1..=64,
            "a whole number from 1 to 64",
        )?),
        exports_per_user: count(parse_bounded(
            "LOCKBOX_EXPORTS_PER_USER",
            get("LOCKBOX_EXPORTS_PER_USER"),
            defaults.exports_per_user as i64,
            1..=8,
            "a whole number from 1 to 8",
        )?),
        export_time_limit: seconds(
            60 * parse_bounded(
                "LOCKBOX_EXPORT_MAX_MINUTES",
                get("LOCKBOX_EXPORT_MAX_MINUTES"),
                (defaults.export_time_limit.as_secs() / 60) as i64,
                1..=240,
                "a whole number of minutes from 1 to 240",
            )?,
        ),
    })
}

pub(super) fn parse_metrics_peers(value: Option<String>) -> Result<MetricsPeers, ConfigError> {
    let Some(value) = value else {
        return Ok(MetricsPeers::Loopback);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "loopback" => return Ok(MetricsPeers::Loopback),
        "none" => return Ok(MetricsPeers::None),
        _ => {}
    }
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpAddr>().map_err(|_| ConfigError::Invalid {
                name: "LOCKBOX_METRICS_ALLOW",
                expected: "loopback, none, or a comma-separated list of IP addresses",
                value: s.to_owned(),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(MetricsPeers::Only)
}

pub(super) fn parse_metrics_token(value: Option<String>) -> Result<Option<Secret>, ConfigError> {
    match value {
        None => Ok(None),
        Some(token)
            if token.chars().count() >= 16 && token.chars().all(|c| c.is_ascii_graphic()) =>
        {
            Ok(Some(Secret::new(token)))
        }
        // The value is a secret: the error does not repeat it.
        Some(_) => Err(ConfigError::Invalid {
            name: "LOCKBOX_METRICS_TOKEN",
            expected: "at least 16 printable ASCII characters without spaces",
            value: "***".into(),
        }),
    }
}

pub(super) fn parse_mail(
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
                ca_file: get("LOCKBOX_SMTP_CA_FILE").map(PathBuf::from),
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
        retry_for: chrono::Duration::hours(parse_bounded(
            "LOCKBOX_MAIL_RETRY_HOURS",
            get("LOCKBOX_MAIL_RETRY_HOURS"),
            72,
            1..=720,
            "a whole number of hours from 1 to 720 (30 days)",
        )?),
        reminder_before: chrono::Duration::minutes(parse_bounded(
            "LOCKBOX_REMINDER_BEFORE_MINUTES",
            get("LOCKBOX_REMINDER_BEFORE_MINUTES"),
            120,
            1..=7 * 24 * 60,
            "a whole number of minutes from 1 to 10080 (7 days)",
        )?),
        poll: Some(std::time::Duration::from_secs(2)),
    })
}

pub(super) fn parse_bool(name: &'static str, value: Option<String>) -> Result<bool, ConfigError> {
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

pub(super) fn parse_staff_mfa(value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("required") => Ok(true),
        Some("optional") => Ok(false),
        Some(other) => Err(ConfigError::Invalid {
            name: "LOCKBOX_STAFF_MFA",
            expected: "required or optional",
            value: other.to_owned(),
        }),
    }
}

pub(super) fn parse_bounded(
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
pub(super) fn parse_count(
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

pub(super) fn parse_proxies(value: Option<String>) -> Result<Vec<IpAddr>, ConfigError> {
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

impl super::Settings {
    /// How long a failing mail is retried: the longer of
    /// `LOCKBOX_MAIL_RETRY_HOURS` and the pending lifetime.
    pub fn mail_retry_for(&self) -> chrono::Duration {
        self.mail.retry_for.max(self.pending_lifetime)
    }
}
