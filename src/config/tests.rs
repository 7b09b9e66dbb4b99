//! The settings' bounds and defaults.
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
    assert!(s.require_ticket, "a request must cite a ticket by default");
}

#[test]
fn the_ticket_rule_can_be_relaxed() {
    let off = settings(&[("LOCKBOX_REQUIRE_TICKET", "false")]).expect("valid");
    assert!(!off.require_ticket);
    assert!(settings(&[("LOCKBOX_REQUIRE_TICKET", "perhaps")]).is_err());
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
fn limits_have_safe_defaults_and_bounds() {
    let s = settings(&[]).expect("defaults are valid");
    assert_eq!(s.limits.statement_timeout.as_secs(), 5);
    assert_eq!(s.limits.export_statement_timeout.as_secs(), 30);
    assert_eq!((s.limits.exports_max, s.limits.exports_per_user), (4, 1));
    assert_eq!(s.limits.export_time_limit.as_secs(), 600);
    let s = settings(&[
        ("LOCKBOX_STATEMENT_TIMEOUT_SECONDS", "2"),
        ("LOCKBOX_EXPORTS_MAX", "10"),
        ("LOCKBOX_EXPORT_MAX_MINUTES", "3"),
    ])
    .expect("valid");
    assert_eq!(s.limits.statement_timeout.as_secs(), 2);
    assert_eq!(s.limits.exports_max, 10);
    assert_eq!(s.limits.export_time_limit.as_secs(), 180);
    for (name, bad) in [
        ("LOCKBOX_STATEMENT_TIMEOUT_SECONDS", "0"),
        ("LOCKBOX_EXPORT_STATEMENT_TIMEOUT_SECONDS", "601"),
        ("LOCKBOX_EXPORTS_MAX", "0"),
        ("LOCKBOX_EXPORTS_PER_USER", "9"),
        ("LOCKBOX_EXPORT_MAX_MINUTES", "many"),
    ] {
        assert!(settings(&[(name, bad)]).is_err(), "{name}={bad}");
    }
}

#[test]
fn metrics_are_for_loopback_unless_configured() {
    let s = settings(&[]).expect("valid");
    assert_eq!(s.metrics.allow, MetricsPeers::Loopback);
    assert!(s.metrics.token.is_none());
    assert!(s.metrics.allow.admits("127.0.0.1".parse().expect("ip")));
    assert!(s.metrics.allow.admits("::1".parse().expect("ip")));
    assert!(
        s.metrics
            .allow
            .admits("::ffff:127.0.0.1".parse().expect("ip"))
    );
    assert!(!s.metrics.allow.admits("10.0.0.1".parse().expect("ip")));
    let s = settings(&[("LOCKBOX_METRICS_ALLOW", "10.0.0.1, ::2")]).expect("valid");
    assert!(s.metrics.allow.admits("10.0.0.1".parse().expect("ip")));
    assert!(!s.metrics.allow.admits("127.0.0.1".parse().expect("ip")));
    let s = settings(&[("LOCKBOX_METRICS_ALLOW", "None")]).expect("valid");
    assert!(!s.metrics.allow.admits("127.0.0.1".parse().expect("ip")));
    assert!(settings(&[("LOCKBOX_METRICS_ALLOW", "everyone")]).is_err());
    let err = settings(&[("LOCKBOX_METRICS_TOKEN", "short secret")]).expect_err("too short");
    assert!(!err.to_string().contains("short secret"), "{err}");
    let s = settings(&[("LOCKBOX_METRICS_TOKEN", "0123456789abcdef")]).expect("valid");
    assert!(!format!("{s:?}").contains("0123456789abcdef"));
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

#[test]
fn the_signing_key_lives_in_the_data_dir_and_checkpoints_are_at_least_daily() {
    let s = settings(&[("LOCKBOX_DATA_DIR", "/srv/lockbox")]).expect("valid");
    assert_eq!(
        s.signing_key_file,
        std::path::Path::new("/srv/lockbox/signing-key.pem")
    );
    assert_eq!(s.checkpoint_every, Some(Duration::minutes(60)));
    let s = settings(&[
        ("LOCKBOX_SIGNING_KEY_FILE", "/etc/lockbox/key.pem"),
        ("LOCKBOX_CHECKPOINT_MINUTES", "1440"),
    ])
    .expect("valid");
    assert_eq!(
        s.signing_key_file,
        std::path::Path::new("/etc/lockbox/key.pem")
    );
    assert_eq!(s.checkpoint_every, Some(Duration::days(1)));
    for bad in ["0", "1441", "soon"] {
        let err = settings(&[("LOCKBOX_CHECKPOINT_MINUTES", bad)]).expect_err(bad);
        assert!(
            err.to_string().contains("LOCKBOX_CHECKPOINT_MINUTES"),
            "{err}"
        );
    }
}

#[test]
fn staff_need_a_second_factor_unless_the_deployment_makes_it_optional() {
    assert!(settings(&[]).expect("defaults").staff_mfa_required);
    let optional = settings(&[("LOCKBOX_STAFF_MFA", "optional")]).expect("valid");
    assert!(!optional.staff_mfa_required);
    assert!(
        settings(&[("LOCKBOX_STAFF_MFA", "Required")])
            .expect("valid")
            .staff_mfa_required
    );
    assert!(settings(&[("LOCKBOX_STAFF_MFA", "off")]).is_err());
}

#[test]
fn failing_fast_and_stopping_are_configurable_within_bounds() {
    let d = settings(&[]).expect("defaults").resilience;
    assert_eq!(
        d.db_checkout_timeout,
        std::time::Duration::from_millis(1500)
    );
    assert_eq!(d.shutdown_grace, std::time::Duration::from_secs(30));
    assert_eq!(d.sweep_every, std::time::Duration::from_secs(15));
    assert_eq!(d.checkpoint_round, std::time::Duration::from_secs(60));
    assert_eq!(d.db_pool_size, 16);
    let s = settings(&[
        ("LOCKBOX_DB_CHECKOUT_TIMEOUT_MS", "800"),
        ("LOCKBOX_SHUTDOWN_GRACE_SECONDS", "5"),
        ("LOCKBOX_SWEEP_SECONDS", "1"),
        ("LOCKBOX_CHECKPOINT_ROUND_SECONDS", "1"),
    ])
    .expect("valid")
    .resilience;
    assert_eq!(s.db_checkout_timeout, std::time::Duration::from_millis(800));
    assert_eq!(s.shutdown_grace, std::time::Duration::from_secs(5));
    assert_eq!(s.sweep_every, std::time::Duration::from_secs(1));
    for (name, bad) in [
        ("LOCKBOX_DB_CHECKOUT_TIMEOUT_MS", "50"),
        ("LOCKBOX_SHUTDOWN_GRACE_SECONDS", "0"),
        ("LOCKBOX_SWEEP_SECONDS", "301"),
        ("LOCKBOX_DB_POOL_SIZE", "0"),
        ("LOCKBOX_CHECKPOINT_ROUND_SECONDS", "x"),
    ] {
        let err = settings(&[(name, bad)]).expect_err(name).to_string();
        assert!(err.contains(name), "{err}");
    }
}
