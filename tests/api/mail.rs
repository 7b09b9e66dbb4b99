//! Notifications through the outbox, delivered to a real SMTP listener.

use chrono::Duration;
use lockbox::{clock::Clock, staff::StaffRole, tenants::Role};

use crate::{
    helpers::{TestApp, World, smtp_to, world_with},
    smtp::{Received, SmtpServer},
};

async fn world_with_smtp() -> (World, SmtpServer) {
    world_with_smtp_and(|_| {}).await
}

async fn world_with_smtp_and(
    configure: impl FnOnce(&mut lockbox::config::Settings),
) -> (World, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let w = world_with(move |s| {
        smtp_to(s, port);
        configure(s);
    })
    .await;
    (w, smtp)
}

/// Anything a mail client could turn into a link.
fn assert_no_links(mail: &Received) {
    let text = format!("{}\n{}", mail.subject(), mail.bodies());
    let lower = text.to_lowercase();
    for needle in ["http", "www.", "<a", "href", "mailto"] {
        assert!(!lower.contains(needle), "{needle:?} in mail: {text}");
    }
    let domain =
        regex_lite::Regex::new(r"(?i)\b[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}\b").expect("regex");
    assert!(
        domain.find(&text).is_none(),
        "a bare domain in mail: {:?}",
        domain.find(&text)
    );
    assert!(!text.contains('@'), "an address in mail: {text}");
}

fn to(m: &Received) -> String {
    m.to.join(",")
}

#[tokio::test]
async fn approvers_and_global_admins_of_the_tenant_are_told_and_nobody_else() {
    let (w, smtp) = world_with_smtp().await;
    let c = w.customers();
    let second_admin = w
        .app
        .create_user("Contoso", "admin2@contoso.example", Role::GlobalAdmin);
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let report = w.app.deliver_mail().await;
    assert_eq!(report.sent, 5, "three deciders, the manager, the engineer");

    let waiting: Vec<Received> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.subject().starts_with("Customer Lockbox: approval needed"))
        .collect();
    let mut recipients: Vec<String> = waiting.iter().map(to).collect();
    recipients.sort();
    let mut expected = vec![
        c.admin.email.clone(),
        c.approver.email.clone(),
        second_admin.email.clone(),
    ];
    expected.sort();
    assert_eq!(
        recipients, expected,
        "not the plain user, not Fabrikam's admin"
    );
    for m in waiting {
        assert_eq!(
            m.subject(),
            "Customer Lockbox: approval needed for access request SR-1000 (Contoso)"
        );
        let body = m.bodies();
        for fact in [
            "Contoso".to_owned(),
            id.to_string(),
            "SR-1000".into(),
            "Exchange Online".into(),
            "4 h".into(),
            (w.app.clock.now() + Duration::hours(12))
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
            "sign in to your admin center yourself".into(),
        ] {
            assert!(body.contains(&fact), "{fact} missing from {body}");
        }
        assert!(
            m.data.contains("multipart/alternative"),
            "text and HTML parts"
        );
        assert_eq!(m.from, "lockbox@localhost", "the configured sender");
        assert_no_links(&m);
    }
    assert!(
        smtp.messages()
            .iter()
            .all(|m| m.to[0] != c.fabrikam_admin.email)
    );
}

#[tokio::test]
async fn no_mail_of_any_kind_carries_a_link_even_when_staff_type_one() {
    let (w, smtp) = world_with_smtp().await;
    let c = w.customers();
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let mut form = crate::helpers::request_form(w.contoso);
    form[1].1 = "see www.evil.example or HTTPS://phish.example/login".into();
    let id = crate::helpers::request_id_of(&w.app.file_request(&engineer, &form).await);
    w.app.staff_decide(&manager, id, "approve", "").await;
    let approver = w.app.admin_client(&c.approver).await;
    w.app
        .customer_decide(&approver, id, "approve", "go to http://evil.example")
        .await;
    w.app.deliver_mail().await;
    let all = smtp.messages();
    assert_eq!(
        all.len(),
        5,
        "the manager's, the engineer's (twice), the admin's and the approver's"
    );
    for m in &all {
        assert_no_links(m);
    }
}

#[tokio::test]
async fn the_engineer_hears_the_decision_with_the_window_end() {
    let (w, smtp) = world_with_smtp().await;
    let c = w.customers();
    let approved = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let denied = w
        .app
        .arrange_request(w.contoso, &w.other_engineer, Some(&w.manager));
    let approver = w.app.admin_client(&c.approver).await;
    w.app
        .customer_decide(&approver, approved, "approve", "")
        .await;
    w.app.customer_decide(&approver, denied, "deny", "").await;
    w.app.deliver_mail().await;
    let engineer_mail: Vec<Received> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.to[0].ends_with("@provider.example"))
        .filter(|m| m.subject().ends_with("by the customer"))
        .collect();
    assert_eq!(engineer_mail.len(), 2);
    let yes = engineer_mail
        .iter()
        .find(|m| m.to[0] == w.engineer.email)
        .expect("approved mail");
    assert_eq!(
        yes.subject(),
        "Customer Lockbox: access request SR-1000 approved by the customer"
    );
    let end = (w.app.clock.now() + Duration::hours(4))
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    assert!(
        yes.bodies()
            .contains(&format!("Access ends at:         {end}")),
        "{}",
        yes.bodies()
    );
    let no = engineer_mail
        .iter()
        .find(|m| m.to[0] == w.other_engineer.email)
        .expect("denied mail");
    assert!(no.subject().ends_with("denied by the customer"));
    assert!(
        no.bodies()
            .contains("No access was given under this request.")
    );
}

#[tokio::test]
async fn the_engineer_hears_of_an_expiry() {
    let (w, smtp) = world_with_smtp().await;
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.clock.advance(Duration::hours(13));
    lockbox::requests::commands::sweep(
        &mut w.app.conn(),
        w.app.clock.now(),
        &lockbox::requests::Policy::default(),
        10,
    )
    .expect("sweep");
    w.app.deliver_mail().await;
    let mail: Vec<Received> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.to[0] == w.engineer.email)
        .collect();
    assert_eq!(mail.len(), 2, "the manager's approval, then the expiry");
    assert_eq!(
        mail[1].subject(),
        "Customer Lockbox: access request SR-1000 expired by timeout"
    );
}

#[tokio::test]
async fn an_smtp_outage_is_survived_and_every_mail_arrives_once() {
    let (w, mut smtp) = world_with_smtp().await;
    w.customers();
    smtp.stop();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let report = w.app.deliver_mail().await;
    assert_eq!((report.sent, report.retrying), (0, 4));
    assert_eq!(pending(&w.app), 4);

    smtp.restart().await;
    assert_eq!(
        w.app.deliver_mail().await.sent,
        0,
        "not due before its backoff"
    );
    w.app.clock.advance(Duration::seconds(37)); // 30 s + 20 % jitter at most
    assert_eq!(w.app.deliver_mail().await.sent, 4);
    assert_eq!(w.app.deliver_mail().await.sent, 0);
    let mut ids: Vec<String> = smtp
        .messages()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    assert_eq!(ids.len(), 4);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
}

fn pending(app: &TestApp) -> i64 {
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    use lockbox::schema::outbox;
    outbox::table
        .filter(outbox::status.eq("pending"))
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

#[tokio::test]
async fn two_workers_at_once_never_send_a_message_twice() {
    let (w, smtp) = world_with_smtp().await;
    w.customers();
    for i in 0..6 {
        let engineer = w
            .app
            .create_staff(&format!("e{i}@provider.example"), StaffRole::Engineer);
        w.app
            .arrange_request(w.contoso, &engineer, Some(&w.manager));
    }
    let (a, b) = tokio::join!(w.app.deliver_mail(), w.app.deliver_mail());
    assert_eq!(a.sent + b.sent, 24);
    let mut ids: Vec<String> = smtp
        .messages()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    assert_eq!(ids.len(), 24);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 24, "no duplicates");
}

/// SMTP down for days: every message is retried with capped backoff for
/// at least the retry period (never given up within the pending lifetime),
/// then fails visibly (`/metrics`, `outbox list --failed`) and is sent once
/// `outbox retry` queues it again.
#[tokio::test]
async fn mail_is_retried_for_days_then_failed_visibly_and_sent_after_outbox_retry() {
    let (w, mut smtp) = world_with_smtp_and(|s| s.mail.max_attempts = 2).await;
    w.customers();
    smtp.stop();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let started = w.app.clock.now();
    let mut attempts = 0;
    // 71 hours of outage, a pass every 10 minutes: nothing is given up.
    while w.app.clock.now() - started < Duration::hours(71) {
        let report = w.app.deliver_mail().await;
        assert_eq!(
            report.failed,
            0,
            "given up after {}",
            w.app.clock.now() - started
        );
        attempts += report.retrying;
        w.app.clock.advance(Duration::minutes(10));
    }
    // Capped backoff: about one attempt an hour per message, not fewer.
    assert!(
        (4 * 40..=4 * 100).contains(&attempts),
        "{attempts} attempts"
    );
    assert_eq!(pending(&w.app), 4);
    w.app.clock.advance(Duration::hours(2));
    let report = w.app.deliver_mail().await;
    assert_eq!(report.failed, 4, "after the retry period: failed for good");
    // Refreshed in the background (every 100 ms in tests), not per scrape.
    let metrics = w
        .app
        .scrape_until("the failed mail counted", |t| {
            t.contains("lockbox_outbox_messages{status=\"failed\"} 4")
        })
        .await;
    assert!(
        metrics.contains("lockbox_outbox_messages{status=\"failed\"} 4"),
        "{metrics}"
    );
    assert!(metrics.contains("lockbox_outbox_messages{status=\"pending\"} 0"));
    let customer_side = crate::helpers::client()
        .get(format!("{}/metrics", w.app.admin_url))
        .send()
        .await
        .expect("request");
    assert_eq!(
        customer_side.status(),
        reqwest::StatusCode::NOT_FOUND,
        "not on the admin center"
    );
    let listed = outbox_cli(&w.app, &["list", "--failed"]);
    assert_eq!(listed.lines().count(), 4, "{listed}");
    assert!(
        listed
            .lines()
            .all(|l| l.contains("attempts") && l.contains("Connection refused")),
        "kind, recipient, attempts and the last error: {listed}"
    );

    w.app.clock.advance(Duration::hours(2));
    smtp.restart().await;
    assert_eq!(
        w.app.deliver_mail().await.sent,
        0,
        "failed mail waits for the operator"
    );
    assert_eq!(
        outbox_cli(&w.app, &["retry", "--all"]).trim(),
        "queued 4 failed messages again"
    );
    assert_eq!(outbox_cli(&w.app, &["list", "--failed"]), "");
    assert_eq!(w.app.deliver_mail().await.sent, 4);
    assert_eq!(smtp.messages().len(), 4);
}

/// `lockbox outbox ARGS…` against the app's database, as an operator runs
/// it; its standard output.
fn outbox_cli(app: &TestApp, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .arg("outbox")
        .args(args)
        .env("DATABASE_URL", &app.database().app_url)
        .env("LOCKBOX_MIGRATE_DATABASE_URL", &app.owner_url)
        .env("LOCKBOX_LOG", "warn")
        .output()
        .expect("lockbox runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A worker that sends and then crashes before marking the message: the
/// message is sent again, with the same Message-ID.
#[tokio::test]
async fn a_crash_between_send_and_mark_resends_with_the_same_message_id() {
    struct SendsThenCrashes(Box<dyn lockbox::notify::mailer::Mailer>);
    impl lockbox::notify::mailer::Mailer for SendsThenCrashes {
        fn send(&self, message: &lettre::Message) -> Result<(), String> {
            self.0.send(message)?;
            Err("crashed before marking".into())
        }
    }
    let (w, smtp) = world_with_smtp().await;
    w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let (pool, settings, now) = (
        w.app.pool.clone(),
        w.app.settings.clone(),
        w.app.clock_now(),
    );
    tokio::task::spawn_blocking(move || {
        let mailer = SendsThenCrashes(
            lockbox::notify::mailer::from_settings(&settings.mail.transport).expect("mailer"),
        );
        lockbox::notify::outbox::deliver_due(
            &mut pool.get().expect("conn"),
            &mailer,
            &settings.mail.from,
            lockbox::notify::outbox::Retry {
                max_attempts: 8,
                at_least: chrono::Duration::zero(),
            },
            now,
            100,
        )
        .expect("pass")
    })
    .await
    .expect("thread");
    w.app.clock.advance(Duration::minutes(1));
    w.app.deliver_mail().await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), 8, "each of the four mails twice");
    let mut ids: Vec<String> = messages
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "the duplicates share their Message-ID");
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    let w =
        world_with(move |s| s.mail.transport = lockbox::config::MailTransport::Files(path)).await;
    w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    assert_eq!(w.app.deliver_mail().await.sent, 4);
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .collect();
    let emls: Vec<_> = files
        .iter()
        .filter(|f| f.path().extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(emls.len(), 4);
    assert!(emls.iter().any(|f| {
        std::fs::read_to_string(f.path())
            .expect("eml")
            .contains("Subject: Customer Lockbox: approval needed")
    }));
}

#[tokio::test]
async fn global_admins_get_the_newest_signed_checkpoint_by_mail_once_a_day() {
    use lockbox::{audit::checkpoint, notify::checkpoint_digest};
    let (w, smtp) = world_with_smtp().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.deliver_mail().await;
    let before = smtp.messages().len();
    w.app.seal_audit();
    let signer = w.app.signer();
    let write = |app: &TestApp| {
        checkpoint::write_due(
            &mut app.app_conn(),
            &signer,
            app.clock_now(),
            Duration::hours(1),
        )
        .expect("checkpoints")
    };
    assert_eq!(write(&w.app), 2, "both tenants moved");

    // Two lockbox processes at the same moment: one digest per tenant.
    let now = w.app.clock_now();
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let pool = w.app.pool.clone();
            std::thread::spawn(move || {
                checkpoint_digest::send_due(&mut pool.get().expect("conn"), now).expect("digest")
            })
        })
        .collect();
    let sent: usize = racers.into_iter().map(|t| t.join().expect("thread")).sum();
    assert_eq!(sent, 2);
    w.app.deliver_mail().await;
    let digests: Vec<Received> = smtp.messages().into_iter().skip(before).collect();
    let mut recipients: Vec<String> = digests.iter().map(to).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        vec![c.admin.email.clone(), c.fabrikam_admin.email.clone()],
        "global administrators only"
    );
    let contoso = digests
        .iter()
        .find(|m| to(m) == c.admin.email)
        .expect("Contoso's digest");
    assert_no_links(contoso);
    let body = contoso.bodies();
    let json = body
        .split("----- BEGIN CHECKPOINT -----")
        .nth(1)
        .and_then(|rest| rest.split("----- END CHECKPOINT -----").next())
        .expect("the checkpoint between its lines");
    let published: checkpoint::Published = serde_json::from_str(json.trim()).expect("checkpoint");
    let newest = checkpoint::list(&mut w.app.conn(), w.contoso, 1)
        .expect("list")
        .remove(0);
    assert_eq!(published.seq, newest.seq);
    let mailed = checkpoint::Checkpoint::from_published(&published).expect("parses");
    assert_eq!(mailed, newest, "in full, signature included");
    let keys = w.app.public_keys();
    assert_eq!(
        keys.verify_at(
            &mailed.key_id,
            &mailed.signed_bytes(),
            &mailed.signature,
            mailed.created_at
        ),
        lockbox::signing::Verdict::Valid
    );

    // Not again the same day, nor the next while nothing moved.
    assert_eq!(
        checkpoint_digest::send_due(&mut w.app.conn(), now).expect("digest"),
        0
    );
    w.app.clock.advance(Duration::days(1));
    assert_eq!(write(&w.app), 0);
    let tomorrow = w.app.clock_now();
    assert_eq!(
        checkpoint_digest::send_due(&mut w.app.conn(), tomorrow).expect("digest"),
        0
    );
    // The chain moves, a new checkpoint is signed: the next digest.
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.seal_audit();
    assert_eq!(write(&w.app), 1);
    assert_eq!(
        checkpoint_digest::send_due(&mut w.app.conn(), tomorrow).expect("digest"),
        1
    );
}

/// Mail over STARTTLS and over implicit TLS to a local listener whose
/// certificate a CA made for the test signed (`LOCKBOX_SMTP_CA_FILE`);
/// and without that CA the certificate is refused, nothing goes in clear.
async fn delivered_over(
    security: fn(tokio_native_tls::TlsAcceptor) -> crate::smtp::Security,
    mode: lockbox::config::SmtpSecurity,
) {
    let ca = crate::smtp::TestCa::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.ca_pem).expect("ca file");
    let smtp = SmtpServer::start_with(security(ca.acceptor.clone())).await;
    let port = smtp.port;
    let trusted = ca_file.clone();
    let w = world_with(move |s| {
        smtp_to(s, port);
        if let lockbox::config::MailTransport::Smtp(smtp) = &mut s.mail.transport {
            smtp.security = mode;
            smtp.ca_file = Some(trusted);
        }
    })
    .await;
    w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let report = w.app.deliver_mail().await;
    assert_eq!((report.sent, report.retrying), (4, 0), "{report:?}");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 4);
    assert!(messages.iter().all(|m| m.tls), "every message over TLS");

    // A client that does not trust the test CA refuses the server.
    let mut untrusting = w.app.settings.clone();
    if let lockbox::config::MailTransport::Smtp(smtp) = &mut untrusting.mail.transport {
        smtp.ca_file = None;
    }
    let mailer =
        lockbox::notify::mailer::from_settings(&untrusting.mail.transport).expect("mailer");
    let message = lettre::Message::builder()
        .from("lockbox@localhost".parse().expect("from"))
        .to("someone@localhost".parse().expect("to"))
        .subject("x")
        .body(String::from("x"))
        .expect("message");
    let refused = tokio::task::spawn_blocking(move || mailer.send(&message))
        .await
        .expect("thread");
    assert!(refused.is_err(), "an untrusted certificate is refused");
    assert_eq!(smtp.messages().len(), 4, "nothing sent in the clear");
}

#[tokio::test]
async fn mail_is_delivered_over_starttls_with_a_trusted_test_certificate() {
    delivered_over(
        crate::smtp::Security::StartTls,
        lockbox::config::SmtpSecurity::StartTls,
    )
    .await;
}

#[tokio::test]
async fn mail_is_delivered_over_implicit_tls_with_a_trusted_test_certificate() {
    delivered_over(
        crate::smtp::Security::Implicit,
        lockbox::config::SmtpSecurity::Tls,
    )
    .await;
}
