//! The SMTP side: settings that point at the test SMTP server, and one
//! delivery pass of the outbox worker.

use lockbox::config::Settings;

use super::TestApp;

/// Settings that send mail to the test SMTP server on `port`.
pub fn smtp_to(settings: &mut Settings, port: u16) {
    settings.mail.transport = lockbox::config::MailTransport::Smtp(lockbox::config::SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: lockbox::config::SmtpSecurity::None,
        username: None,
        password: None,
        ca_file: None,
    });
}

impl TestApp {
    /// Runs one delivery pass of the outbox worker with this app's mail
    /// settings, on a blocking thread (the SMTP server runs on this one).
    pub async fn deliver_mail(&self) -> lockbox::notify::outbox::Delivery {
        let (pool, settings, now) = (self.pool.clone(), self.settings.clone(), self.clock_now());
        tokio::task::spawn_blocking(move || {
            let mailer =
                lockbox::notify::mailer::from_settings(&settings.mail.transport).expect("mailer");
            lockbox::notify::outbox::deliver_due(
                &mut pool.get().expect("conn"),
                mailer.as_ref(),
                &settings.mail.from,
                lockbox::notify::outbox::Retry {
                    max_attempts: settings.mail.max_attempts,
                    at_least: settings.mail_retry_for(),
                },
                now,
                100,
            )
            .expect("delivery pass")
        })
        .await
        .expect("delivery thread")
    }
}
