//! Where mail goes: SMTP (lettre), or `.eml` files in a directory (the
//! embedded default). Behind a trait so the worker does not care.

use lettre::{
    FileTransport, Message, SmtpTransport, Transport, transport::smtp::authentication::Credentials,
};

use crate::config::{MailTransport, SmtpSecurity};

pub trait Mailer: Send + Sync {
    /// Hands one message over; an error means it was not accepted.
    fn send(&self, message: &Message) -> Result<(), String>;
}

pub struct SmtpMailer(SmtpTransport);

impl Mailer for SmtpMailer {
    fn send(&self, message: &Message) -> Result<(), String> {
        self.0.send(message).map(|_| ()).map_err(|e| e.to_string())
    }
}

pub struct FileMailer(FileTransport);

impl Mailer for FileMailer {
    fn send(&self, message: &Message) -> Result<(), String> {
        self.0.send(message).map(|_| ()).map_err(|e| e.to_string())
    }
}

/// The mailer the configuration asks for.
pub fn from_settings(transport: &MailTransport) -> Result<Box<dyn Mailer>, String> {
    match transport {
        MailTransport::Files(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("mail directory {}: {e}", dir.display()))?;
            Ok(Box::new(FileMailer(FileTransport::new(dir))))
        }
        MailTransport::Smtp(smtp) => {
            let builder = match smtp.security {
                SmtpSecurity::None => SmtpTransport::builder_dangerous(&smtp.host),
                SmtpSecurity::StartTls => {
                    SmtpTransport::starttls_relay(&smtp.host).map_err(|e| e.to_string())?
                }
                SmtpSecurity::Tls => SmtpTransport::relay(&smtp.host).map_err(|e| e.to_string())?,
            };
            let builder = builder
                .port(smtp.port)
                .timeout(Some(std::time::Duration::from_secs(15)));
            let builder = match (&smtp.username, &smtp.password) {
                (Some(user), Some(password)) => builder
                    .credentials(Credentials::new(user.clone(), password.expose().to_owned())),
                _ => builder,
            };
            Ok(Box::new(SmtpMailer(builder.build())))
        }
    }
}
