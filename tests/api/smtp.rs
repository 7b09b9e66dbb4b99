//! A small SMTP server for tests: enough of RFC 5321 for lettre to deliver
//! to it over a real socket. It can be stopped and started again on the
//! same port to stage an outage.

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and body), dot-unstuffed.
    pub data: String,
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

pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: Option<JoinHandle<()>>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut server = Self {
            port,
            received: Arc::default(),
            task: None,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: TcpListener) {
        let received = self.received.clone();
        self.task = Some(tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                sessions.spawn(session(stream, received.clone()));
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

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn session(stream: TcpStream, received: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let reply = |s: &'static str| s.as_bytes();
    if write
        .write_all(reply("220 localhost test ESMTP\r\n"))
        .await
        .is_err()
    {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            reply("250-localhost\r\n250 8BITMIME\r\n")
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().trim_matches(['<', '>']).to_owned();
            reply("250 OK\r\n")
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            reply("250 OK\r\n")
        } else if upper == "DATA" {
            if write
                .write_all(reply("354 End data with <CR><LF>.<CR><LF>\r\n"))
                .await
                .is_err()
            {
                return;
            }
            let mut data = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                data.push_str("\r\n");
            }
            if let Ok(mut all) = received.lock() {
                all.push(Received {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
            }
            reply("250 OK queued\r\n")
        } else if upper == "QUIT" {
            let _ = write.write_all(reply("221 bye\r\n")).await;
            return;
        } else {
            reply("250 OK\r\n")
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}
