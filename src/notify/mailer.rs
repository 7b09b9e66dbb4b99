//! Where mail goes: SMTP (lettre), or `.eml` files in a directory (the
//! embedded default). Behind a trait so the worker does not care.

use lettre::{
    FileTransport, Message, SmtpTransport, Transport,
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
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
            let tls = |smtp: &crate::config::SmtpSettings| -> Result<TlsParameters, String> {
                let mut params = TlsParameters::builder(smtp.host.clone());
                if let Some(file) = &smtp.ca_file {
                    let pem = std::fs::read(file)
                        .map_err(|e| format!("SMTP CA file {}: {e}", file.display()))?;
                    params = params.add_root_certificate(
                        Certificate::from_pem(&pem).map_err(|e| e.to_string())?,
                    );
                }
                params.build_native().map_err(|e| e.to_string())
            };
            let builder = SmtpTransport::builder_dangerous(&smtp.host);
            let builder = match smtp.security {
                SmtpSecurity::None => builder,
                SmtpSecurity::StartTls => builder.tls(Tls::Required(tls(smtp)?)),
                SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls(smtp)?)),
            };
            let builder = builder
                .port(smtp.port)
                .timeout(Some(std::time::Duration::from_secs(15)));
            let builder = match (&smtp.username, &smtp.password) {
                (Some(user), Some(password)) => builder
                    .credentials(Credentials::new(user.clone(), password.expose().to_owned())),
                _ => builder,
            };
            // Pooled (lettre's `pool`): a message goes over a connection
            // kept from the one before (checked with NOOP, closed after a
            // minute idle) instead of a new TCP connection, TLS handshake
            // and login each, which a backlog paid for every message.
            Ok(Box::new(SmtpMailer(builder.build())))
        }
    }
}
