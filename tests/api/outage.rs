//! Issue 21, point 1: while the database is unreachable every page fails
//! fast with a friendly 503 (the API a problem), readiness says so within
//! a second, liveness stays 200, the workers log the outage once, and
//! everything recovers by itself when the database is back.
//!
//! A real `lockbox serve` process serves from a private PostgreSQL
//! cluster (see [`crate::helpers::cluster`]) that the test stops for six
//! seconds under load and starts again. It stops it as an operator's
//! restart does, `pg_ctl stop -m fast` (every session ended with
//! "terminating connection due to administrator command", new ones
//! refused while it shuts down, then no server at all): the crash,
//! `-m immediate`, is the failover test's, and after a fast stop the
//! server starts without crash recovery, so the recovery measured is
//! lockbox's own.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use lockbox::{auth::api_tokens::TokenScope, clock::Clock};

use crate::helpers::{
    TestDatabase, client, cluster::Solo, csrf_of, customer_token, scale::Instance, world_on,
};

/// One answer seen by the load: when it was asked (since the start), how
/// long it took, and what it was.
#[derive(Debug, Clone)]
struct Seen {
    probe: &'static str,
    at: Duration,
    took: Duration,
    status: u16,
    retry_after: bool,
    body: String,
}

const OUTAGE: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_answers_503_fast_logs_once_and_recovers_by_itself() {
    let cluster = tokio::task::spawn_blocking(Solo::start)
        .await
        .expect("cluster");
    let w = world_on(TestDatabase::migrated_on(&cluster.server.url("postgres"))).await;
    w.app.clock.set(lockbox::clock::SystemClock.now());
    let people = w.customers();
    let token = customer_token(&w.app, &people.admin, TokenScope::Decide);
    let pending: Vec<lockbox::identity::RequestId> = (0..100)
        .map(|_| {
            w.app
                .arrange_request(w.contoso, &w.engineer, Some(&w.manager))
        })
        .collect();
    let db = w.app.database();
    let mut lockbox = Instance::start(db, &db.app_url, &w.app.settings.signing_key_file, &[]);
    lockbox.ready().await;

    // A signed-in administrator and engineer.
    let admin = client();
    let page = admin
        .get(format!("{}/signin", lockbox.admin))
        .send()
        .await
        .expect("signin page")
        .text()
        .await
        .expect("body");
    let signed_in = admin
        .post(format!("{}/signin", lockbox.admin))
        .form(&[
            ("csrf_token", csrf_of(&page).as_str()),
            ("organization", "Contoso"),
            ("email", people.admin.email.as_str()),
            ("password", people.admin.password.as_str()),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 303);
    let engineer = client();
    let page = engineer
        .get(format!("{}/signin", lockbox.engineer))
        .send()
        .await
        .expect("signin page")
        .text()
        .await
        .expect("body");
    let signed_in = engineer
        .post(format!("{}/signin", lockbox.engineer))
        .form(&[
            ("csrf_token", csrf_of(&page).as_str()),
            ("email", w.engineer.email.as_str()),
            ("password", w.engineer.password.as_str()),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 303);
    let probes: Vec<(&'static str, String, reqwest::Client, Option<String>)> = vec![
        (
            "admin page",
            format!("{}/support/lockbox/requests", lockbox.admin),
            admin.clone(),
            None,
        ),
        (
            "engineer page",
            format!("{}/", lockbox.engineer),
            engineer,
            None,
        ),
        (
            "api",
            format!("{}/api/v1/requests", lockbox.admin),
            reqwest::Client::new(),
            Some(token.clone()),
        ),
        (
            "healthz",
            format!("{}/healthz", lockbox.engineer),
            reqwest::Client::new(),
            None,
        ),
        (
            "livez",
            format!("{}/livez", lockbox.engineer),
            reqwest::Client::new(),
            None,
        ),
    ];
    for (name, url, client, token) in &probes {
        let mut call = client.get(url);
        if let Some(token) = token {
            call = call.bearer_auth(token);
        }
        let status = call.send().await.expect("baseline").status();
        assert_eq!(status, 200, "{name} before the outage");
    }

    // Load: each probe asked again and again, every answer recorded.
    let start = Instant::now();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    // (The restart takes a moment on top of the outage.)
    let until = start + Duration::from_secs(1) + OUTAGE + Duration::from_secs(8);
    let mut load = Vec::new();
    for (probe, url, client, token) in probes {
        let seen = seen.clone();
        load.push(tokio::spawn(async move {
            while Instant::now() < until {
                let at = start.elapsed();
                let mut call = client.get(&url).timeout(Duration::from_secs(15));
                if let Some(token) = &token {
                    call = call.bearer_auth(token);
                }
                let asked = Instant::now();
                let (status, retry_after, body) = match call.send().await {
                    Ok(r) => (
                        r.status().as_u16(),
                        r.headers().contains_key("retry-after"),
                        r.text().await.unwrap_or_default(),
                    ),
                    Err(_) => (0, false, String::new()),
                };
                let took = asked.elapsed();
                seen.lock().expect("lock").push(Seen {
                    probe,
                    at,
                    took,
                    status,
                    retry_after,
                    body,
                });
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    // And customer decisions through the API, one every 120 ms.
    let decisions = {
        let (base, token, mut queue) = (lockbox.admin.clone(), token.clone(), pending.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut answers = Vec::new();
            while Instant::now() < until {
                let Some(id) = queue.pop() else { break };
                answers.push((id, decide(&http, &base, &token, id).await));
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
            answers
        })
    };
    // The outage: the cluster stopped, started again after OUTAGE; the
    // database is back when it accepts connections again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cut_at = start.elapsed();
    let server = cluster.server.clone();
    tokio::task::spawn_blocking(move || server.shut_down())
        .await
        .expect("stop");
    let stopped_in = start.elapsed() - cut_at;
    tokio::time::sleep_until((start + cut_at + OUTAGE).into()).await;
    let restart_at = start.elapsed();
    let server = cluster.server.clone();
    tokio::task::spawn_blocking(move || server.start())
        .await
        .expect("start");
    let back_at = start.elapsed();
    // A real stop and a clean start: no crash recovery.
    let server_log = cluster.server.log();
    assert!(
        server_log.contains("received fast shutdown request")
            && server_log.contains("database system is shut down")
            && !server_log.contains("not properly shut down"),
        "{server_log}"
    );
    for task in load {
        task.await.expect("load");
    }
    let answers = decisions.await.expect("decisions");
    let seen = seen.lock().expect("lock").clone();

    // During the outage: never a 500 or a dropped connection, every answer
    // within 2 s (readiness within 1 s), a 503 with Retry-After once the
    // outage is under way, that is once the server is down (liveness: 200).
    let down_at = cut_at + stopped_in;
    let during: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.at >= cut_at && s.at < back_at)
        .collect();
    assert!(
        during.len() > 20,
        "load during the outage: {}",
        during.len()
    );
    let mut slowest_503 = Duration::ZERO;
    for s in &during {
        let limit = if s.probe == "healthz" { 1.0 } else { 2.0 };
        assert!(
            s.took.as_secs_f64() < limit,
            "{} took {:?} during the outage",
            s.probe,
            s.took
        );
        if s.probe == "livez" {
            assert_eq!(s.status, 200, "liveness during the outage");
            continue;
        }
        // A page asked while the server was shutting down may have been
        // answered before it went; one asked in the last two seconds may
        // meet the database back.
        let settled = s.at >= down_at && s.at + Duration::from_secs(2) < back_at;
        assert!(
            s.status == 503 || (!settled && s.status == 200),
            "{} asked {:?} after the stop began ({:?} before the database was back; the \
             server was down {:?} after the stop began) answered {}: {}",
            s.probe,
            s.at - cut_at,
            back_at - s.at,
            stopped_in,
            s.status,
            s.body
        );
        if s.status == 503 {
            slowest_503 = slowest_503.max(s.took);
            match s.probe {
                "healthz" => assert!(s.body.contains("unreachable"), "{}", s.body),
                "api" => {
                    assert!(s.retry_after);
                    assert!(
                        s.body.contains("urn:lockbox:problem:unavailable"),
                        "{}",
                        s.body
                    );
                }
                _ => {
                    assert!(s.retry_after, "{}: Retry-After", s.probe);
                    assert!(s.body.contains("Briefly unavailable"), "{}", s.body);
                }
            }
        }
    }
    // After: every probe answers 200 within 5 s, and from then on.
    let mut recovered = Duration::ZERO;
    for probe in ["admin page", "engineer page", "api", "healthz"] {
        let last_failure = seen
            .iter()
            .filter(|s| s.probe == probe && s.at >= back_at && s.status != 200)
            .map(|s| s.at + s.took)
            .max()
            .unwrap_or(back_at);
        let ok_after = seen
            .iter()
            .filter(|s| s.probe == probe && s.at >= last_failure)
            .count();
        assert!(ok_after > 0, "{probe} answered after recovery");
        recovered = recovered.max(last_failure - back_at);
    }
    // When the first page answered 200 again, after the database was back.
    let first_ok = ["admin page", "engineer page", "api"]
        .iter()
        .filter_map(|probe| {
            seen.iter()
                .filter(|s| s.probe == *probe && s.status == 200 && s.at + s.took >= back_at)
                .map(|s| s.at + s.took - back_at)
                .min()
        })
        .max()
        .expect("pages answered after the outage");
    recovered = recovered.max(first_ok);
    assert!(
        recovered <= Duration::from_secs(5),
        "pages recovered {recovered:?} after the database came back"
    );
    assert!(seen.iter().all(|s| s.status != 500 && s.status != 0));

    // Nothing committed is lost, nothing is done twice: every decision
    // answered 200 is recorded once; one refused with 503 is decided once
    // when tried again (409 if it had committed after all).
    let refused = answers.iter().filter(|(_, s)| *s == 503).count();
    assert!(refused > 0, "decisions were refused during the outage");
    let http = reqwest::Client::new();
    for (id, status) in &answers {
        assert!([200, 503].contains(status), "{id}: {status}");
        if *status == 503 {
            let again = decide(&http, &lockbox.admin, &token, *id).await;
            assert!([200, 409].contains(&again), "{id} tried again: {again}");
        }
        assert_eq!(w.app.stored_status(*id), "approved", "{id}");
        assert_eq!(w.app.events_to(*id, "approved"), 1, "{id} approved once");
    }

    // The workers logged the outage once each, and its end.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let log = lockbox.log();
    let lines = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    let down = lines("the database is unreachable");
    let up = lines("the database is reachable again");
    assert!(
        (1..=6).contains(&down) && lines("\"worker\":\"sealer\"") >= 2,
        "one line per worker and outage:\n{log}"
    );
    for worker in [
        "sealer",
        "sweeper",
        "mail",
        "checkpointer",
        "webhooks",
        "metrics",
    ] {
        let of = |needle: &str| {
            log.lines()
                .filter(|l| l.contains(needle) && l.contains(&format!("\"worker\":\"{worker}\"")))
                .count()
        };
        assert!(of("the database is unreachable") <= 1, "{worker}:\n{log}");
        assert!(
            of("the database is reachable again") <= 1,
            "{worker}:\n{log}"
        );
    }
    assert!(up >= 1, "{log}");
    println!(
        "outage figures: cluster stopped (pg_ctl stop -m fast, {:?}) and started again {:?} \
         later, accepting connections {:?} after that: the database away {:?}; {} answers \
         meanwhile; slowest 503 {:?}; pages 200 again {:?} after the database came back; \
         requests lost (500 or no answer): 0; {} decisions ({refused} refused with 503 and \
         decided once when tried again), lost: 0",
        stopped_in,
        restart_at - cut_at,
        back_at - restart_at,
        back_at - cut_at,
        during.len(),
        slowest_503,
        recovered,
        answers.len()
    );
}

/// One customer approval through the API: its status (0: no answer).
async fn decide(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: lockbox::identity::RequestId,
) -> u16 {
    http.post(format!("{base}/api/v1/requests/{id}/decision"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(15))
        .json(&serde_json::json!({"ApprovalDecision": "Approve", "Comment": "outage"}))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}
