//! The provider's webhooks: `lockbox webhook add/list/remove` run as a
//! person would, every tenant's events at the provider's endpoint, and
//! `lockbox webhook listen` verifying what it receives.

use std::{
    io::Read,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use crate::helpers::{
    TestApp,
    webhooks::{Receiver, assert_signed},
    world,
};

fn lockbox(app: &TestApp, args: &[&str]) -> Output {
    let db = app.database();
    Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .env("DATABASE_URL", &db.app_url)
        .env("LOCKBOX_MIGRATE_DATABASE_URL", &db.url)
        .env("LOCKBOX_LOG", "warn")
        .args(args)
        .output()
        .expect("lockbox runs")
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `added <id> <url>` and `secret <whsec_…>`.
fn added(out: &Output) -> (String, String) {
    let text = stdout(out);
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("added "))
        .and_then(|l| l.split_whitespace().next())
        .expect("an id")
        .to_owned();
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("secret "))
        .expect("a secret")
        .to_owned();
    (id, secret)
}

#[tokio::test]
async fn provider_endpoints_from_the_cli_receive_every_tenants_events() {
    let w = world().await;
    let receiver = Receiver::start().await;
    let out = lockbox(
        &w.app,
        &[
            "webhook",
            "add",
            "--url",
            &receiver.url(),
            "--events",
            "pending_customer,decided",
        ],
    );
    let (id, secret) = added(&out);
    let list = stdout(&lockbox(&w.app, &["webhook", "list"]));
    assert!(
        list.contains(&id) && list.contains("enabled") && list.contains(&receiver.url()),
        "{list}"
    );
    assert!(list.contains("pending_customer,decided"), "{list}");
    assert!(!list.contains(&secret), "the secret is shown once");

    // Contoso (Lockbox on: waits for the customer) and Fabrikam (off: the
    // manager's approval opens the window).
    let contoso = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let fabrikam = w
        .app
        .arrange_request(w.fabrikam, &w.engineer, Some(&w.manager));
    assert_eq!(w.app.deliver_webhooks().await.delivered, 2);
    let got = receiver.received();
    let mut seen: Vec<(String, String, String)> = got
        .iter()
        .map(|r| {
            let j = r.json();
            (
                r.event_type(),
                j["data"]["tenant_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                j["data"]["request_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    // Deliveries run concurrently and promise no order.
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "request.approved".into(),
                w.fabrikam.0.to_string(),
                fabrikam.0.to_string()
            ),
            (
                "request.pending_customer".into(),
                w.contoso.0.to_string(),
                contoso.0.to_string()
            ),
        ]
    );
    for r in &got {
        assert_signed(r, &secret);
    }

    // A target that is not http(s) is refused in one line.
    let bad = lockbox(
        &w.app,
        &["webhook", "add", "--url", "ftp://files.example/x"],
    );
    assert!(!bad.status.success());
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr).trim().lines().count(),
        1
    );

    let removed = stdout(&lockbox(&w.app, &["webhook", "remove", "--id", &id]));
    assert!(removed.contains(&id));
    assert!(
        stdout(&lockbox(&w.app, &["webhook", "list"]))
            .trim()
            .is_empty()
    );
}

/// A child process stopped however the test ends.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn webhook_listen_prints_the_events_whose_signature_it_verified() {
    let w = world().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let url = format!("http://127.0.0.1:{port}/");
    let (_, secret) = added(&lockbox(&w.app, &["webhook", "add", "--url", &url]));
    let db = w.app.database();
    let mut listener = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .env("LOCKBOX_LOG", "warn")
        .env("DATABASE_URL", &db.app_url)
        // As the README advises: not `--secret`, seen in the process list.
        .env("LOCKBOX_WEBHOOK_SECRET", &secret)
        .args(["webhook", "listen", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map(Stopped)
        .expect("listen starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "listen never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The listener checks the timestamp against the real clock (five
    // minutes either way, against replays).
    w.app.clock.set(chrono::Utc::now());
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let delivered = w.app.deliver_webhooks().await.delivered;
    // At least once: the same delivery again (a worker that died after
    // posting) is printed as a duplicate.
    {
        use diesel::{ExpressionMethods, RunQueryDsl};
        use lockbox::schema::webhook_deliveries as wd;
        diesel::update(wd::table)
            .set((
                wd::status.eq("pending"),
                wd::next_attempt_at.eq(w.app.clock_now()),
            ))
            .execute(&mut w.app.owner_conn())
            .expect("due again");
    }
    let replayed = w.app.deliver_webhooks().await.delivered;
    // A forged event is refused.
    let forged = reqwest::Client::new()
        .post(&url)
        .header("webhook-id", "msg_forged")
        .header(
            "webhook-timestamp",
            chrono::Utc::now().timestamp().to_string(),
        )
        .header(
            "webhook-signature",
            "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .body("{}")
        .send()
        .await
        .expect("posted");
    let forged_status = forged.status();
    let forged_body = forged.text().await.unwrap_or_default();
    listener.0.kill().expect("stopped");
    listener.0.wait().expect("exited");
    let mut out = String::new();
    listener
        .0
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    let verified: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("verified msg_"))
        .collect();
    assert_eq!(
        forged_status,
        reqwest::StatusCode::UNAUTHORIZED,
        "{forged_body}"
    );
    assert_eq!((delivered, replayed, verified.len()), (1, 1, 1), "{out}");
    let message_id = verified[0].split_whitespace().nth(1).expect("an id");
    assert!(
        out.lines().any(|l| l == format!("duplicate {message_id}")),
        "{out}"
    );
    assert!(
        verified[0].contains(&id.0.to_string()) && verified[0].contains("request.pending_customer")
    );
    assert!(!out.contains("msg_forged"), "{out}");
}
