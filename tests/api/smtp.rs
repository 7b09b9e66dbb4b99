//! A small SMTP server for tests: enough of RFC 5321 for lettre to deliver
//! to it over a real socket, in the clear, with STARTTLS (RFC 3207) or
//! over implicit TLS, with a certificate made for the test ([`TestCa`]).
//! It can be stopped and started again on the same port to stage an outage.

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use tokio_native_tls::TlsAcceptor;

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and body), dot-unstuffed.
    pub data: String,
    /// Whether it came over TLS (STARTTLS or implicit).
    pub tls: bool,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_lowercase());
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// Every text part, decoded (quoted-printable or base64 as lettre chose).
    pub fn bodies(&self) -> String {
        let message = mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .expect("a parsable message");
        let mut out = String::new();
        for i in 0..message.text_body_count() {
            out.push_str(&message.body_text(i).unwrap_or_default());
            out.push('\n');
        }
        for i in 0..message.html_body_count() {
            out.push_str(&message.body_html(i).unwrap_or_default());
            out.push('\n');
        }
        out
    }

    pub fn subject(&self) -> String {
        mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .and_then(|m| m.subject().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// How the server speaks.
#[derive(Clone)]
pub enum Security {
    Plain,
    /// Plain first, `STARTTLS` offered (and required before `MAIL`).
    StartTls(TlsAcceptor),
    /// TLS from the first byte (SMTPS).
    Implicit(TlsAcceptor),
}

/// A certificate authority made for one test, and a server certificate
/// it signed for `127.0.0.1` and `localhost` (rcgen).
pub struct TestCa {
    /// The CA certificate, PEM: what the client is told to trust.
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

impl TestCa {
    pub fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // Distinct names, or the server's certificate looks self-signed.
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "lockbox test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key"))
            .expect("ca");
        let key = KeyPair::generate().expect("server key");
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "lockbox test SMTP server");
        let cert = params.signed_by(&key, &ca).expect("server certificate");
        let identity = tokio_native_tls::native_tls::Identity::from_pkcs8(
            cert.pem().as_bytes(),
            key.serialize_pem().as_bytes(),
        )
        .expect("identity");
        let acceptor = tokio_native_tls::native_tls::TlsAcceptor::new(identity).expect("acceptor");
        Self {
            ca_pem: ca.pem(),
            acceptor: TlsAcceptor::from(acceptor),
        }
    }
}

pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    /// Connections accepted so far.
    connections: Arc<std::sync::atomic::AtomicUsize>,
    security: Security,
    task: Option<JoinHandle<()>>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_with(Security::Plain).await
    }

    pub async fn start_with(security: Security) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut server = Self {
            port,
            received: Arc::default(),
            connections: Arc::default(),
            security,
            task: None,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: TcpListener) {
        let (received, security) = (self.received.clone(), self.security.clone());
        let connections = self.connections.clone();
        self.task = Some(tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                sessions.spawn(connection(stream, received.clone(), security.clone()));
            }
        }));
    }

    /// Closes the port (and any open sessions): an outage.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        for _ in 0..50 {
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", self.port)).await {
                self.serve(listener);
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("could not listen on {} again", self.port);
    }

    /// How many connections clients opened so far.
    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn connection(stream: TcpStream, received: Arc<Mutex<Vec<Received>>>, security: Security) {
    match security {
        Security::Plain => {
            dialogue(stream, &received, Stage::Plain).await;
        }
        Security::Implicit(acceptor) => {
            if let Ok(tls) = acceptor.accept(stream).await {
                dialogue(tls, &received, Stage::Tls { greet: true }).await;
            }
        }
        Security::StartTls(acceptor) => {
            if let Some(plain) = dialogue(stream, &received, Stage::OffersStartTls).await
                && let Ok(tls) = acceptor.accept(plain).await
            {
                dialogue(tls, &received, Stage::Tls { greet: false }).await;
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Plain,
    /// Offers STARTTLS and accepts no mail before it.
    OffersStartTls,
    Tls {
        greet: bool,
    },
}

/// One SMTP dialogue; returns the stream when the client asked for
/// STARTTLS (and was told to go ahead).
async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    received: &Mutex<Vec<Received>>,
    stage: Stage,
) -> Option<S> {
    let mut io = BufReader::new(stream);
    let greet = !matches!(stage, Stage::Tls { greet: false });
    if greet
        && io
            .get_mut()
            .write_all(b"220 localhost test ESMTP\r\n")
            .await
            .is_err()
    {
        return None;
    }
    let offers = stage == Stage::OffersStartTls;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        match io.read_line(&mut line).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        let upper = line.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            if offers {
                b"250-localhost\r\n250-8BITMIME\r\n250 STARTTLS\r\n"
            } else {
                b"250-localhost\r\n250 8BITMIME\r\n"
            }
        } else if upper == "STARTTLS" && offers {
            io.get_mut().write_all(b"220 go ahead\r\n").await.ok()?;
            return Some(io.into_inner());
        } else if offers && (upper.starts_with("MAIL FROM:") || upper == "DATA") {
            b"530 Must issue a STARTTLS command first\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().trim_matches(['<', '>']).to_owned();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            b"250 OK\r\n"
        } else if upper == "DATA" {
            io.get_mut()
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await
                .ok()?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                match io.read_line(&mut l).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
                let l = l.trim_end_matches(['\r', '\n']);
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(l));
                data.push_str("\r\n");
            }
            if let Ok(mut all) = received.lock() {
                all.push(Received {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                    tls: matches!(stage, Stage::Tls { .. }),
                });
            }
            b"250 OK queued\r\n"
        } else if upper == "QUIT" {
            let _ = io.get_mut().write_all(b"221 bye\r\n").await;
            return None;
        } else {
            b"250 OK\r\n"
        };
        io.get_mut().write_all(answer).await.ok()?;
    }
}
