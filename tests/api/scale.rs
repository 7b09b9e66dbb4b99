//! Issue 21: many `lockbox serve` processes on one database. Sessions,
//! the sweeper, the outbox and the checkpoints are each correct with
//! three instances; SIGTERM finishes what an instance answered and lets
//! another take over; a `DATABASE_URL` may name several hosts.
//!
//! The world is arranged through the domain with the test's settable
//! clock set in the past (so requests are due to expire, windows due to
//! end, the moment the instances look), and the instances run on the
//! real clock with short worker intervals.

use std::time::{Duration, Instant};

use chrono::Duration as Span;
use diesel::RunQueryDsl;
use lockbox::{auth::api_tokens::TokenScope, clock::Clock, identity::RequestId};

use crate::{
    helpers::{
        TestApp, client, csrf_of, customer_token,
        scale::{Instance, audit_verify, free_port},
        world,
    },
    smtp::SmtpServer,
};

/// Short worker intervals, so the test sees a few rounds of each.
fn quick() -> Vec<(&'static str, String)> {
    vec![
        ("LOCKBOX_SWEEP_SECONDS", "1".into()),
        ("LOCKBOX_CHECKPOINT_MINUTES", "1".into()),
        ("LOCKBOX_CHECKPOINT_ROUND_SECONDS", "1".into()),
    ]
}

/// Signs `user` in to the admin center at `base`.
async fn admin_sign_in(client: &reqwest::Client, base: &str, email: &str, password: &str) {
    let page = client
        .get(format!("{base}/signin"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    let resp = client
        .post(format!("{base}/signin"))
        .form(&[
            ("csrf_token", csrf_of(&page).as_str()),
            ("organization", "Contoso"),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), 303, "signed in at {base}");
}

/// The status of the request list at `base` for `client`: 200 signed in,
/// 303 (to the sign-in page) otherwise.
async fn list_status(client: &reqwest::Client, base: &str) -> u16 {
    client
        .get(format!("{base}/support/lockbox/requests"))
        .send()
        .await
        .expect("list")
        .status()
        .as_u16()
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(app: &TestApp, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(&mut app.conn())
        .expect("count")
        .n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_share_sessions_and_do_each_piece_of_background_work_once() {
    let smtp = SmtpServer::start().await;
    let w = world().await;
    let people = w.customers();
    let now = lockbox::clock::SystemClock.now();
    // Thirteen hours ago: pending requests are past their 12 h deadline,
    // 4 h windows past their end.
    w.app.clock.set(now - Span::hours(13));
    let expiring: Vec<RequestId> = (0..6)
        .map(|_| {
            w.app
                .arrange_request(w.contoso, &w.engineer, Some(&w.manager))
        })
        .collect();
    // One open window per engineer and workload: four of them.
    let ending: Vec<RequestId> = [
        (&w.engineer, "exchange"),
        (&w.engineer, "sharepoint"),
        (&w.other_engineer, "exchange"),
        (&w.other_engineer, "onedrive"),
    ]
    .into_iter()
    .map(|(engineer, workload)| {
        w.app
            .approved_request(w.contoso, engineer, &w.manager, workload)
    })
    .collect();
    w.app.clock.set(now);
    let db = w.app.database();
    let mut env = quick();
    env.extend([
        ("LOCKBOX_SMTP_HOST", "127.0.0.1".to_owned()),
        ("LOCKBOX_SMTP_PORT", smtp.port.to_string()),
        ("LOCKBOX_SMTP_SECURITY", "none".to_owned()),
    ]);
    let key = &w.app.settings.signing_key_file;
    let mut instances: Vec<Instance> = (0..3)
        .map(|_| Instance::start(db, &db.app_url, key, &env))
        .collect();
    for instance in &mut instances {
        instance.ready().await;
    }

    // A session signed in on one instance works on the others; signing
    // out on one ends it on all.
    let browser = client();
    let admin = &people.admin;
    admin_sign_in(&browser, &instances[0].admin, &admin.email, &admin.password).await;
    for instance in &instances {
        assert_eq!(list_status(&browser, &instance.admin).await, 200);
    }
    let page = browser
        .get(format!("{}/support/lockbox/requests", instances[2].admin))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    let out = browser
        .post(format!("{}/signout", instances[2].admin))
        .form(&[("csrf_token", csrf_of(&page))])
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), 303);
    for instance in &instances {
        assert_eq!(
            list_status(&browser, &instance.admin).await,
            303,
            "signed out"
        );
    }

    // Every expiry and window end recorded once, every mail sent once,
    // a checkpoint per tenant whose chain moved.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let swept = expiring
            .iter()
            .all(|id| w.app.stored_status(*id) == "expired")
            && ending.iter().all(|id| w.app.stored_status(*id) == "ended");
        let mailed = count(
            &w.app,
            "SELECT count(*) AS n FROM outbox WHERE status = 'pending'",
        ) == 0;
        let sealed = count(
            &w.app,
            "SELECT count(*) AS n FROM audit_records r WHERE NOT EXISTS \
             (SELECT 1 FROM audit_chain c WHERE c.record_id = r.id)",
        ) == 0;
        let checkpointed = count(
            &w.app,
            "SELECT count(*) AS n FROM audit_checkpoints WHERE tenant_id IN \
             (SELECT DISTINCT tenant_id FROM audit_records)",
        ) > 0;
        if swept && mailed && sealed && checkpointed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "swept {swept}, mailed {mailed}, sealed {sealed}, checkpointed {checkpointed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let the three instances run a few more rounds over the finished work.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for id in &expiring {
        assert_eq!(w.app.events_to(*id, "expired"), 1, "one expiry of {id}");
    }
    for id in &ending {
        assert_eq!(w.app.events_to(*id, "ended"), 1, "one end of {id}");
    }
    let sent = count(
        &w.app,
        "SELECT count(*) AS n FROM outbox WHERE status = 'sent'",
    );
    let received = smtp.messages();
    let mut ids: Vec<String> = received
        .iter()
        .map(|m| m.header("Message-ID").expect("a Message-ID"))
        .collect();
    ids.sort();
    ids.dedup();
    assert!(sent >= 10, "expiry and end mails at least: {sent}");
    assert_eq!(ids.len(), received.len(), "no mail delivered twice");
    assert_eq!(received.len() as i64, sent, "every sent mail arrived once");
    // One checkpoint per tenant: the chains moved within the minute that
    // spaces a tenant's checkpoints, and the three instances raced for it.
    let tenants = count(
        &w.app,
        "SELECT count(DISTINCT tenant_id) AS n FROM audit_records",
    );
    let checkpoints = count(&w.app, "SELECT count(*) AS n FROM audit_checkpoints");
    assert_eq!(
        checkpoints, tenants,
        "one checkpoint per tenant whose chain moved"
    );
    let (ok, report) = audit_verify(db, key);
    assert!(ok, "audit verify: {report}");
    assert!(!report.contains("awaiting"), "{report}");
    for instance in &instances {
        // lockbox's own errors (a refused page is logged by the request
        // logger, not here).
        let log = instance.log();
        let errors = log
            .lines()
            .filter(|l| l.contains("\"level\":\"ERROR\"") && l.contains("\"target\":\"lockbox"))
            .count();
        assert_eq!(errors, 0, "{log}");
    }
    println!(
        "three instances: {} expiries and {} window ends recorded once each, {} mails sent \
         once each, {checkpoints} checkpoints for {tenants} tenants; {}",
        expiring.len(),
        ending.len(),
        received.len(),
        report.lines().next().unwrap_or_default()
    );
}

/// One customer decision through the API at `base`: its status, or 0 when
/// the connection failed (the instance was gone).
async fn decide(http: &reqwest::Client, base: &str, token: &str, id: RequestId) -> u16 {
    http.post(format!("{base}/api/v1/requests/{id}/decision"))
        .bearer_auth(token)
        .json(&serde_json::json!({"ApprovalDecision": "Approve", "Comment": "burst"}))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_answered_decisions_and_another_instance_takes_over() {
    let w = world().await;
    w.app.clock.set(lockbox::clock::SystemClock.now());
    let people = w.customers();
    let token = customer_token(&w.app, &people.admin, TokenScope::Decide);
    let requests: Vec<RequestId> = (0..120)
        .map(|_| {
            w.app
                .arrange_request(w.contoso, &w.engineer, Some(&w.manager))
        })
        .collect();
    let db = w.app.database();
    let key = &w.app.settings.signing_key_file;
    let mut env = quick();
    env.push(("LOCKBOX_SHUTDOWN_GRACE_SECONDS", "10".into()));
    // Eight clients at once on the first instance.
    env.push(("LOCKBOX_DB_POOL_SIZE", "8".into()));
    let mut first = Instance::start(db, &db.app_url, key, &env);
    let mut second = Instance::start(db, &db.app_url, key, &env);
    first.ready().await;
    second.ready().await;

    // Eight clients decide through the first instance; a "load balancer"
    // sends a call whose connection failed to the second.
    let queue = std::sync::Arc::new(std::sync::Mutex::new(requests.clone()));
    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (queue, answered, token) = (queue.clone(), answered.clone(), token.clone());
        let (a, b) = (first.admin.clone(), second.admin.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let Some(id) = queue.lock().expect("lock").pop() else {
                    return;
                };
                let mut status = decide(&http, &a, &token, id).await;
                let mut by = "first";
                if status == 0 {
                    status = decide(&http, &b, &token, id).await;
                    by = "second";
                }
                answered.lock().expect("lock").push((id, by, status));
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered.lock().expect("lock").len() < 30 {
        assert!(Instant::now() < deadline, "decisions did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let signalled = Instant::now();
    first.sigterm();
    let status = first.exited(Duration::from_secs(20)).await;
    let stopped_in = signalled.elapsed();
    assert!(status.success(), "a clean exit: {status}: {}", first.log());
    for client in clients {
        client.await.expect("client");
    }
    let answered = answered.lock().expect("lock").clone();
    assert_eq!(answered.len(), requests.len());
    let by = |who: &str| answered.iter().filter(|(_, b, _)| *b == who).count();
    assert!(by("first") >= 30 && by("second") > 0, "{answered:?}");
    // Every decision answered 200 is committed, once; none is lost.
    let mut lost = 0;
    for (id, _, status) in &answered {
        assert!(
            [200, 409].contains(status),
            "{id}: {status} ({})",
            first.log()
        );
        if *status == 200 && w.app.stored_status(*id) != "approved" {
            lost += 1;
        }
        assert_eq!(w.app.events_to(*id, "approved"), 1, "{id} approved once");
    }
    assert_eq!(lost, 0, "answered decisions lost");
    let refused = answered.iter().filter(|(_, _, s)| *s == 409).count();
    // The second instance seals and checkpoints what the first left.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let unsealed = count(
            &w.app,
            "SELECT count(*) AS n FROM audit_records r WHERE NOT EXISTS \
             (SELECT 1 FROM audit_chain c WHERE c.record_id = r.id)",
        );
        if unsealed == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{unsealed} records left unsealed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (ok, report) = audit_verify(db, key);
    assert!(ok, "{report}");
    println!(
        "SIGTERM during a burst: the first instance answered {} decisions and exited in {:?}; \
         the second took over {} (409 for {refused}: decided by the first before its answer \
         was lost); answered decisions lost: {lost}",
        by("first"),
        stopped_in,
        by("second")
    );
    drop(second);
}

/// `DATABASE_URL` in libpq's multi-host form reaches the host that
/// answers (what a failover needs: after it, the new primary).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_url_naming_several_hosts_serves_from_the_one_that_answers() {
    let w = world().await;
    let db = w.app.database();
    let addr = crate::helpers::scale::database_addr();
    let dead = free_port();
    let (scheme, rest) = db.app_url.split_once("://").expect("url");
    let (user, rest) = rest.split_once('@').expect("user");
    let tail = &rest[rest.find('/').expect("path")..];
    let separator = if tail.contains('?') { '&' } else { '?' };
    let url = format!(
        "{scheme}://{user}@127.0.0.1:{dead},{addr}{tail}{separator}target_session_attrs=read-write"
    );
    let mut lockbox = Instance::start(db, &url, &w.app.settings.signing_key_file, &[]);
    lockbox.ready().await;
    let health = reqwest::get(format!("{}/healthz", lockbox.admin))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let signin = reqwest::get(format!("{}/signin", lockbox.admin))
        .await
        .expect("signin");
    assert_eq!(signin.status(), 200);
}
