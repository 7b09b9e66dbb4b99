//! `/metrics` (issue 23): counters that move with a journey, histograms
//! with buckets, route labels without ids, stuck-work ages that follow the
//! clock, a scrape that costs the database nothing, alert rules that name
//! only exported metrics. Who may read it: see `hardening.rs`.

use lockbox::auth::api_tokens::TokenScope;
use reqwest::StatusCode;

use crate::helpers::{
    TestApp, World, call, client, customer_token, smtp_to, statements, value, world_with,
};

/// A world whose mail worker delivers to a real SMTP listener.
async fn world_delivering_mail() -> (World, crate::smtp::SmtpServer) {
    let smtp = crate::smtp::SmtpServer::start().await;
    let port = smtp.port;
    let w = world_with(move |s| {
        smtp_to(s, port);
        s.mail.poll = Some(std::time::Duration::from_millis(50));
    })
    .await;
    (w, smtp)
}

/// Signs in (once with a wrong password), files a request, has it approved
/// by the manager and the customer: the journey the counters must show.
async fn journey(w: &World) -> lockbox::identity::RequestId {
    let c = w.customers();
    let wrong = w
        .app
        .engineer_sign_in_with(&client(), &w.engineer.email, "not the password")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let engineer = w.app.engineer_client(&w.engineer).await;
    let id = w.app.filed_request(&engineer, w.contoso).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let approved = w.app.staff_decide(&manager, id, "approve", "").await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let approver = w.app.admin_client(&c.approver).await;
    let decided = w.app.customer_decide(&approver, id, "approve", "ok").await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    id
}

#[tokio::test]
async fn a_journey_moves_the_counters_and_the_histograms_have_buckets() {
    let (w, smtp) = world_delivering_mail().await;
    journey(&w).await;
    let text = w
        .app
        .scrape_until("mail delivered and the decision counted", |t| {
            value(
                t,
                "lockbox_delivery_successes_total",
                &[("channel", "mail")],
            ) >= 1.0
                && value(t, "lockbox_requests", &[("state", "approved")]) == 1.0
                && value(t, "lockbox_outbox_messages", &[("status", "pending")]) == 0.0
        })
        .await;
    assert!(!smtp.messages().is_empty(), "mail really went out");
    let sign_ins = |portal, outcome| {
        value(
            &text,
            "lockbox_sign_ins_total",
            &[("portal", portal), ("outcome", outcome)],
        )
    };
    assert_eq!(sign_ins("engineer", "success"), 2.0, "{text}");
    assert_eq!(sign_ins("engineer", "failure"), 1.0);
    assert_eq!(sign_ins("admin", "success"), 1.0);
    let mail = [("channel", "mail")];
    assert!(
        value(&text, "lockbox_delivery_attempts_total", &mail)
            >= value(&text, "lockbox_delivery_successes_total", &mail)
    );
    // The decisions: POSTs answered with a redirect on each portal.
    let redirects = |portal| {
        value(
            &text,
            "lockbox_http_requests_total",
            &[("portal", portal), ("status", "3xx")],
        )
    };
    assert!(
        redirects("engineer") >= 4.0,
        "two sign-ins, filing, approval"
    );
    assert!(redirects("admin") >= 2.0, "sign-in, decision");
    assert_eq!(
        value(
            &text,
            "lockbox_http_requests_in_flight",
            &[("portal", "admin")]
        ),
        0.0
    );
    // Histograms with buckets, a sum and a count.
    for name in [
        "lockbox_http_request_duration_seconds",
        "lockbox_db_pool_wait_seconds",
    ] {
        let inf = value(&text, &format!("{name}_bucket"), &[("le", "+Inf")]);
        assert!(inf >= 1.0, "{name} has no +Inf bucket");
        assert_eq!(inf, value(&text, &format!("{name}_count"), &[]), "{name}");
        assert!(text.contains(&format!("{name}_bucket{{")), "{name}");
        assert!(text.contains(&format!("{name}_sum")), "{name}");
    }
    assert_eq!(
        value(&text, "lockbox_db_pool_size", &[]),
        8.0,
        "the test pool"
    );
    assert!(
        crate::helpers::sample(&text, "lockbox_db_pool_connections", &[("state", "idle")])
            .is_some()
    );
    assert!(
        text.contains("# HELP lockbox_http_requests_total "),
        "described"
    );
}

#[tokio::test]
async fn route_labels_never_contain_ids_and_probes_are_counted() {
    let (w, _smtp) = world_delivering_mail().await;
    let id = journey(&w).await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let page = w
        .app
        .get_engineer(&engineer, &format!("/requests/{id}"))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let stranger = uuid::Uuid::new_v4();
    let missing = w
        .app
        .get_engineer(&engineer, &format!("/requests/{stranger}"))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let nowhere = w.app.get_engineer(&engineer, "/no/such/page/12345").await;
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    // Forgeries: no CSRF token; another origin.
    let no_token = client()
        .post(format!("{}/signin", w.app.admin_url))
        .form(&[
            ("email", "x"),
            ("password", "y"),
            ("organization", "Contoso"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    let cross = client()
        .post(format!("{}/signin", w.app.admin_url))
        .header("origin", "https://evil.example")
        .form(&[("email", "x")])
        .send()
        .await
        .expect("post");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let text = w.app.scrape().await;
    let route = regex_lite::Regex::new(r#"route="([^"]*)""#).expect("regex");
    let id_like = regex_lite::Regex::new(r"[0-9a-fA-F]{8}-|[0-9]{3,}").expect("regex");
    let routes: Vec<&str> = route
        .captures_iter(&text)
        .map(|c| c.get(1).map_or("", |m| m.as_str()))
        .collect();
    assert!(!routes.is_empty());
    for r in &routes {
        assert!(!id_like.is_match(r), "an id in route label {r}");
        assert!(*r == "unmatched" || r.starts_with('/'), "{r}");
    }
    assert!(
        routes.iter().any(|r| r.contains("{")),
        "patterns, not paths: {routes:?}"
    );
    assert!(routes.contains(&"unmatched"), "{routes:?}");
    assert!(!text.contains(&id.to_string()) && !text.contains(&stranger.to_string()));
    let denied = |portal, code| {
        value(
            &text,
            "lockbox_http_denied_total",
            &[("portal", portal), ("code", code)],
        )
    };
    assert_eq!(denied("engineer", "404"), 2.0, "{text}");
    assert_eq!(denied("admin", "403"), 2.0);
    let refused = |check| {
        value(
            &text,
            "lockbox_forgery_refusals_total",
            &[("portal", "admin"), ("check", check)],
        )
    };
    assert_eq!(refused("csrf"), 1.0, "{text}");
    assert_eq!(refused("same_origin"), 1.0);
}

#[tokio::test]
async fn api_token_use_is_counted_by_scope() {
    let w = world_with(|_| {}).await;
    let c = w.customers();
    let token = customer_token(&w.app, &c.admin, TokenScope::Read);
    for _ in 0..3 {
        let resp = call(
            reqwest::Method::GET,
            format!("{}/api/v1/requests", w.app.admin_url),
            &token,
        )
        .send()
        .await
        .expect("call");
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let text = w.app.scrape().await;
    let uses = |scope| {
        value(
            &text,
            "lockbox_api_token_uses_total",
            &[("portal", "admin"), ("scope", scope)],
        )
    };
    assert_eq!(uses("read"), 3.0, "{text}");
    assert_eq!(uses("admin"), 0.0);
}

/// Password guessing: failures, then throttled attempts once the pair is
/// locked out, each counted by portal.
#[tokio::test]
async fn sign_in_failures_and_throttled_attempts_are_counted() {
    let w = world_with(|_| {}).await;
    let guesser = client();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let resp = w
            .app
            .engineer_sign_in_with(&guesser, &w.engineer.email, "a guess")
            .await;
        statuses.push(resp.status());
    }
    let count = |status| statuses.iter().filter(|s| **s == status).count() as f64;
    assert!(count(StatusCode::TOO_MANY_REQUESTS) >= 1.0, "{statuses:?}");
    let text = w.app.scrape().await;
    let sign_ins = |outcome| {
        value(
            &text,
            "lockbox_sign_ins_total",
            &[("portal", "engineer"), ("outcome", outcome)],
        )
    };
    assert_eq!(
        sign_ins("failure"),
        count(StatusCode::UNAUTHORIZED),
        "{text}"
    );
    assert_eq!(sign_ins("throttled"), count(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(sign_ins("success"), 0.0);
}

/// Mail waits while its worker is paused (no poll in tests): its age grows
/// with the (settable) clock, as do the unsealed audit records' with no
/// sealer running; both fall back once the work is done.
#[tokio::test]
async fn stuck_work_ages_grow_while_the_workers_are_paused_and_fall_back_when_they_run() {
    let smtp = crate::smtp::SmtpServer::start().await;
    let port = smtp.port;
    let w = world_with(move |s| {
        smtp_to(s, port);
        s.audit_seal_every = None;
    })
    .await;
    w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let mail = [("channel", "mail")];
    let age = |t: &str| value(t, "lockbox_oldest_pending_delivery_age_seconds", &mail);
    let unsealed = |t: &str| value(t, "lockbox_audit_oldest_unsealed_age_seconds", &[]);
    w.app
        .scrape_until("the pending mail seen", |t| {
            value(t, "lockbox_outbox_messages", &[("status", "pending")]) > 0.0
        })
        .await;
    w.app.clock.advance(chrono::Duration::minutes(30));
    let text = w.app.scrape().await;
    assert!(age(&text) >= 1800.0, "{text}");
    assert!(unsealed(&text) >= 1800.0, "{text}");
    let sealer = [("worker", "sealer")];
    assert!(value(&text, "lockbox_worker_last_round_age_seconds", &sealer) >= 1800.0);
    w.app.clock.advance(chrono::Duration::minutes(30));
    assert!(age(&w.app.scrape().await) >= 3600.0, "still growing");
    // The work is done: the mail worker's round, the sealer's.
    assert!(w.app.deliver_mail().await.sent > 0);
    let pool = w.app.pool.clone();
    tokio::task::spawn_blocking(move || {
        lockbox::audit::seal::seal_pending(&mut pool.get().expect("conn")).expect("sealed")
    })
    .await
    .expect("sealer");
    w.app
        .scrape_until("the ages fell back", |t| {
            age(t) == 0.0 && unsealed(t) == 0.0
        })
        .await;
}

/// Waits until no statement is issued for a while (start-up work done).
async fn quiet(database: &str) -> usize {
    let mut last = statements::count(database);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = statements::count(database);
        if now == last {
            return now;
        }
        last = now;
    }
}

#[tokio::test]
async fn a_hundred_scrapes_cost_the_database_a_handful_of_statements() {
    statements::record_statements();
    let app = crate::helpers::spawn_app_with(|s| {
        s.metrics.refresh_every = Some(lockbox::config::DEFAULT_METRICS_REFRESH);
        s.audit_seal_every = None;
    })
    .await;
    statements::watch(&statements::database_of(&app.owner_url));
    scrape_cost(&app).await;
}

async fn scrape_cost(app: &TestApp) {
    app.scrape_until("the first refresh", |t| t.contains("lockbox_requests{"))
        .await;
    // The process's background rounds (the sweeper's and the refresh's,
    // every 15 s) may fall into a window: the cheapest of three windows is
    // what the scrapes cost. Were a scrape to query, every window would
    // count 100 or more.
    let database = statements::database_of(&app.owner_url);
    let (mut windows, scraper) = (Vec::new(), client());
    for _ in 0..3 {
        let before = quiet(&database).await;
        let started = std::time::Instant::now();
        for _ in 0..100 {
            app.scrape_with(&scraper).await;
        }
        windows.push(statements::count(&database) - before);
        println!("100 scrapes in {:?}", started.elapsed());
    }
    println!("100 scrapes, three times: {windows:?} statements");
    let statements = windows.iter().min().copied().unwrap_or(usize::MAX);
    assert!(statements <= 2, "{windows:?} statements for 100 scrapes");
    // The counter does count: one refresh-like read is seen.
    let pool = app.pool.clone();
    let seen = statements::count(&database);
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT 1")
            .execute(&mut pool.get().expect("conn"))
            .expect("select")
    })
    .await
    .expect("query");
    assert!(
        statements::count(&database) > seen,
        "the counter sees statements"
    );
}

/// The metric names a scrape exports: each family's name, and for a
/// histogram its `_bucket`, `_sum` and `_count` series.
fn exported_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
            continue;
        };
        names.insert(name.to_owned());
        if kind == "histogram" || kind == "summary" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
    }
    names
}

#[tokio::test]
async fn the_alert_rules_parse_and_name_only_metrics_the_server_exports() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/alerts.yml"))
        .expect("docs/alerts.yml");
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("valid YAML");
    let groups = docs[0]["groups"].as_vec().expect("groups");
    let mut exprs = Vec::new();
    for group in groups {
        for rule in group["rules"].as_vec().expect("rules") {
            assert!(
                rule["alert"].as_str().is_some(),
                "every rule is an alert: {rule:?}"
            );
            exprs.push(rule["expr"].as_str().expect("expr").to_owned());
        }
    }
    let (w, _smtp) = world_delivering_mail().await;
    journey(&w).await;
    let scrape = w
        .app
        .scrape_until("mail delivered", |t| {
            value(
                t,
                "lockbox_delivery_successes_total",
                &[("channel", "mail")],
            ) >= 1.0
        })
        .await;
    let exported = exported_names(&scrape);
    let name = regex_lite::Regex::new(r"\blockbox_[a-z_]+").expect("regex");
    let mut named = std::collections::BTreeSet::new();
    for expr in &exprs {
        for m in name.find_iter(expr) {
            assert!(
                exported.contains(m.as_str()),
                "{} (in {expr}) is not exported: {exported:?}",
                m.as_str()
            );
            named.insert(m.as_str().to_owned());
        }
    }
    // The stuck-work ages and the error rates have their rules.
    for needed in [
        "lockbox_oldest_pending_delivery_age_seconds",
        "lockbox_audit_oldest_unsealed_age_seconds",
        "lockbox_worker_last_round_age_seconds",
        "lockbox_audit_newest_checkpoint_age_seconds",
        "lockbox_http_requests_total",
        "lockbox_delivery_failures_total",
    ] {
        assert!(named.contains(needed), "no rule for {needed}");
    }
}
