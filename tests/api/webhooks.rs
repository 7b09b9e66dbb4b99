//! Webhooks (issue 18): signed events at a real HTTP receiver, retries,
//! at-least-once with one webhook-id, the three-day disable rule, SSRF
//! refusals at delivery time, certificates checked over HTTPS, tenant
//! isolation, the settings page.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::Duration as Span;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl, TextExpressionMethods};
use lockbox::{
    i18n::Lang,
    notify::language,
    schema::{audit_records, outbox, webhook_endpoints as we},
};
use reqwest::StatusCode;
use scraper::{Html, Selector};

use crate::helpers::{
    World, csrf_of, texts,
    webhooks::{Answer, Receiver, assert_signed, documented_signature},
    world_with,
};

/// A world whose tenants may point webhooks at this machine over HTTP.
async fn loopback_world() -> World {
    world_with(|s| {
        s.webhooks.allow_http_loopback = true;
        s.webhooks.timeout = Duration::from_secs(1);
    })
    .await
}

/// The value of the one-time secret field on a page.
fn secret_on(html: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("input#secret").expect("selector");
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(str::to_owned)
}

/// The ids of endpoints linked from the settings page.
fn endpoint_ids(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("td.webhook-url a").expect("selector");
    doc.select(&sel)
        .filter_map(|a| a.value().attr("href"))
        .map(|h| h.trim_start_matches("/settings/webhooks/").to_owned())
        .collect()
}

const ALL_EVENTS: [(&str, &str); 7] = [
    ("event_pending_customer", "on"),
    ("event_decided", "on"),
    ("event_expired", "on"),
    ("event_ended", "on"),
    ("event_operator_action", "on"),
    ("event_checkpoint", "on"),
    ("event_ticket", "on"),
];

/// Adds an endpoint through the settings page; returns the page's HTML.
async fn add_on_page(
    w: &World,
    client: &reqwest::Client,
    url: &str,
) -> (StatusCode, String, String) {
    let mut fields = vec![("url", url)];
    fields.extend_from_slice(&ALL_EVENTS);
    let resp = w
        .app
        .admin_post(client, "/settings/webhooks", "/settings/webhooks", &fields)
        .await;
    let status = resp.status();
    let cache = resp
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, resp.text().await.expect("body"), cache)
}

#[tokio::test]
async fn the_signature_follows_the_published_standard_webhooks_test_vector() {
    // standard-webhooks repository, libraries/javascript/src/webhook.test.ts.
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (id, ts, body) = (
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        r#"{"test": 2432232314}"#,
    );
    let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    assert_eq!(
        documented_signature(secret, id, &ts.to_string(), body),
        expected
    );
    let key = lockbox::webhooks::sign::key_of(secret).expect("a whsec secret");
    assert_eq!(
        lockbox::webhooks::sign::signature(&key, id, ts, body.as_bytes()),
        expected
    );
}

#[tokio::test]
async fn an_approval_in_the_admin_center_arrives_signed_at_the_receiver() {
    let w = loopback_world().await;
    let c = w.customers();
    let receiver = Receiver::start().await;
    let admin = w.app.admin_client(&c.admin).await;
    let (status, html, cache) = add_on_page(&w, &admin, &receiver.url()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cache, "no-store", "the secret's page is not cached");
    let secret = secret_on(&html).expect("the secret is shown");
    assert!(secret.starts_with("whsec_"));
    let again = w.app.admin_page(&admin, "/settings/webhooks").await;
    assert!(
        secret_on(&again).is_none() && !again.contains(&secret),
        "shown once"
    );

    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let resp = w.app.customer_decide(&admin, id, "approve", "fine").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let round = w.app.deliver_webhooks().await;
    assert_eq!(round.delivered, 2, "{round:?}");

    // One delivery per endpoint per round; events of the same instant in
    // either order.
    let mut got = receiver.received();
    got.sort_by_key(|r| r.event_type() != "request.pending_customer");
    let types: Vec<String> = got.iter().map(|r| r.event_type()).collect();
    assert_eq!(types, ["request.pending_customer", "request.approved"]);
    for r in &got {
        assert_signed(r, &secret);
        assert_eq!(r.path, "/hook");
        assert!(
            !r.body.contains("Investigating"),
            "no justification: {}",
            r.body
        );
        assert!(!r.body.contains("fine"), "no comment: {}", r.body);
    }
    let approved = got
        .iter()
        .find(|r| r.event_type() == "request.approved")
        .expect("approved");
    let approved_at = approved.timestamp.clone();
    let approved = approved.json();
    assert_eq!(approved["data"]["request_id"], id.0.to_string());
    assert_eq!(approved["data"]["tenant_id"], w.contoso.0.to_string());
    assert_eq!(approved["data"]["status"], "approved");
    assert_eq!(approved["data"]["actor"], "customer");
    assert_eq!(approved["data"]["service_request"], "SR-1000");
    assert_eq!(approved["data"]["workload"], "Exchange Online");
    assert_eq!(
        approved["data"]["fingerprint"].as_str().map(str::len),
        Some(64)
    );
    assert_eq!(approved_at, w.app.clock_now().timestamp().to_string());
    // Delivered once: nothing more to send.
    assert_eq!(w.app.deliver_webhooks().await.delivered, 0);
    assert_eq!(receiver.received().len(), 2);
    // Refreshed in the background (every 100 ms in tests), not per scrape.
    let metrics = w
        .app
        .scrape_until("the deliveries counted", |t| {
            t.contains("lockbox_webhook_deliveries{status=\"delivered\"} 2")
        })
        .await;
    assert!(
        metrics.contains("lockbox_webhook_deliveries{status=\"delivered\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lockbox_webhook_deliveries{status=\"pending\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn failures_and_timeouts_are_retried_with_backoff_under_one_webhook_id() {
    let w = loopback_world().await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) = w.app.store_endpoint(Some(w.contoso), &receiver.url());
    receiver.then(Answer::Status(500));
    receiver.then(Answer::Status(503));
    // Past the 1 s timeout of this test (10 s by default).
    receiver.then(Answer::Sleep(Duration::from_millis(2500)));
    let message_id = w.app.queue_test_event(endpoint, w.contoso);

    assert_eq!(w.app.deliver_webhooks().await.retrying, 1);
    // Not due again before its backoff (30 s ± 20 %).
    w.app.clock.advance(Span::seconds(20));
    assert_eq!(w.app.deliver_webhooks().await, Default::default());
    w.app.clock.advance(Span::seconds(20));
    assert_eq!(
        w.app.deliver_webhooks().await.retrying,
        1,
        "second attempt (503)"
    );
    w.app.clock.advance(Span::minutes(2));
    assert_eq!(
        w.app.deliver_webhooks().await.retrying,
        1,
        "third attempt (timeout)"
    );
    let (_, _, error) = w.app.deliveries_of(endpoint).remove(0);
    assert!(
        error.as_deref() == Some("timed out"),
        "a timeout: {error:?}"
    );
    w.app.clock.advance(Span::minutes(5));
    assert_eq!(
        w.app.deliver_webhooks().await.delivered,
        1,
        "fourth attempt"
    );

    let got = receiver.received();
    assert_eq!(got.len(), 4);
    for r in &got {
        assert_eq!(r.id, message_id, "one webhook-id across retries");
        assert_eq!(r.body, got[0].body, "the same body");
        assert_signed(r, &secret);
    }
    assert_ne!(
        got[0].timestamp, got[3].timestamp,
        "each attempt signed at its time"
    );
    assert_eq!(
        w.app.deliveries_of(endpoint),
        [("delivered".to_owned(), 4, None)]
    );
}

#[tokio::test]
async fn an_endpoint_failing_for_three_days_is_disabled_and_its_admins_are_mailed() {
    let w = loopback_world().await;
    let c = w.customers();
    language::set(
        &mut w.app.conn(),
        language::ADMIN,
        c.admin.id,
        Lang::Nl,
        w.app.clock_now(),
    )
    .expect("language");
    let receiver = Receiver::start().await;
    receiver.always(500);
    let (endpoint, _) = w.app.store_endpoint(Some(w.contoso), &receiver.url());
    w.app.queue_test_event(endpoint, w.contoso);
    assert_eq!(w.app.deliver_webhooks().await.retrying, 1);
    // Retried for days (capped backoff: at most 1 h 12 min apart).
    for _ in 0..50 {
        w.app.clock.advance(Span::minutes(90));
        let round = w.app.deliver_webhooks().await;
        if w.app.clock_now() - crate::helpers::start_time() < Span::days(3) {
            assert_eq!((round.retrying, round.disabled), (1, 0), "still retried");
        }
    }
    let (enabled, disabled_at): (bool, Option<chrono::DateTime<chrono::Utc>>) = we::table
        .find(endpoint)
        .select((we::enabled, we::disabled_at))
        .first(&mut w.app.conn())
        .expect("endpoint");
    assert!(!enabled, "disabled after three days");
    assert!(disabled_at.expect("when") - crate::helpers::start_time() >= Span::days(3));
    assert_eq!(w.app.deliveries_of(endpoint)[0].0, "failed");
    let attempts = receiver.received().len();
    assert!(attempts >= 48, "retried until then: {attempts}");

    // Disabled: no new event is queued for it, nothing more is sent.
    w.app.queue_test_event(endpoint, w.contoso);
    w.app.clock.advance(Span::hours(2));
    w.app.deliver_webhooks().await;
    assert_eq!(receiver.received().len(), attempts);

    // Recorded in the tenant's audit log, as the system's doing.
    let recorded: Vec<String> = audit_records::table
        .filter(audit_records::tenant_id.eq(w.contoso.0))
        .filter(audit_records::activity.eq("Disable-WebhookEndpoint"))
        .select(audit_records::actor_name)
        .load(&mut w.app.conn())
        .expect("audit");
    assert_eq!(recorded, ["System"]);
    // Contoso's global admin is mailed, in Dutch, with no link.
    let mails: Vec<(String, String, String)> = outbox::table
        .filter(outbox::kind.eq("webhook_disabled"))
        .select((outbox::to_address, outbox::subject, outbox::body_text))
        .load(&mut w.app.conn())
        .expect("mails");
    assert_eq!(mails.len(), 1, "{mails:?}");
    let (to, subject, body) = &mails[0];
    assert_eq!(to, &c.admin.email);
    assert!(subject.contains("uitgeschakeld"), "{subject}");
    assert!(body.contains(&endpoint.to_string()));
    let text = format!("{subject}\n{body}").to_lowercase();
    for needle in ["http", "www.", "@", "127.0.0.1"] {
        assert!(!text.contains(needle), "{needle:?} in mail: {text}");
    }
}

/// A TLS listener on this machine with a certificate that a CA made for
/// the test signed (one no system trusts): the connections that arrive,
/// and the handshakes that complete.
async fn untrusted_tls_listener() -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let acceptor = crate::smtp::TestCa::new().acceptor;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (arrived, completed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (a, c) = (arrived.clone(), completed.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            if acceptor.accept(tcp).await.is_ok() {
                c.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (port, arrived, completed)
}

/// Every delivery's client uses the process's one TLS connector
/// (`lockbox::tls`, the system's roots parsed once), and it still
/// verifies: a receiver whose certificate no system trusts gets a
/// connection but no completed handshake, so no event, and the delivery
/// waits with a generic reason. A plain-HTTP receiver in the same round
/// is delivered (the connector is one reqwest takes).
#[tokio::test]
async fn an_https_receiver_whose_certificate_no_system_trusts_gets_no_event() {
    let w = loopback_world().await;
    let (port, arrived, completed) = untrusted_tls_listener().await;
    let receiver = Receiver::start().await;
    let untrusted = w
        .app
        .store_endpoint(Some(w.contoso), &format!("https://127.0.0.1:{port}/hook"))
        .0;
    let plain = w.app.store_endpoint(Some(w.contoso), &receiver.url()).0;
    w.app.queue_test_event(untrusted, w.contoso);
    w.app.queue_test_event(plain, w.contoso);

    let round = w.app.deliver_webhooks().await;
    assert_eq!((round.delivered, round.retrying), (1, 1), "{round:?}");
    let (status, attempts, error) = w.app.deliveries_of(untrusted).remove(0);
    assert_eq!(status, "pending");
    assert_eq!(attempts, 1);
    assert_eq!(error.as_deref(), Some("connection failed"));
    assert!(arrived.load(Ordering::SeqCst) >= 1, "the client connected");
    assert_eq!(
        completed.load(Ordering::SeqCst),
        0,
        "no handshake completed"
    );
    assert_eq!(w.app.deliveries_of(plain).remove(0).0, "delivered");
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn ssrf_targets_are_refused_at_delivery_after_resolution() {
    // The development setting off: as in production.
    let w = world_with(|s| s.webhooks.timeout = Duration::from_secs(1)).await;
    let receiver = Receiver::start().await;
    let port = receiver.port;
    let targets = [
        format!("https://127.0.0.1:{port}/hook"),
        "https://10.0.0.1/hook".to_owned(),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        format!("https://[::1]:{port}/hook"),
        format!("https://localhost:{port}/hook"),
        format!("http://127.0.0.1:{port}/hook"),
        "http://example.com/hook".to_owned(),
    ];
    let endpoints: Vec<_> = targets
        .iter()
        .map(|url| w.app.store_endpoint(Some(w.contoso), url).0)
        .collect();
    for e in &endpoints {
        w.app.queue_test_event(*e, w.contoso);
    }
    let round = w.app.deliver_webhooks().await;
    assert_eq!((round.delivered, round.retrying), (0, targets.len()));
    for (url, e) in targets.iter().zip(&endpoints) {
        let (status, _, error) = w.app.deliveries_of(*e).remove(0);
        assert_eq!(status, "pending", "{url}");
        let error = error.unwrap_or_default();
        // A generic reason: nothing of what the server's resolver said.
        let expected = if url.starts_with("http:") {
            "only https URLs are allowed"
        } else {
            "the host resolves to a non-public address"
        };
        assert_eq!(error, expected, "{url}");
    }
    assert!(receiver.received().is_empty(), "nothing reached loopback");

    // And the settings page refuses what it can see, keeping what was typed.
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    for (typed, says) in [
        ("http://hooks.example.com/x", "must start with https://"),
        ("https://10.0.0.1/x", "public address"),
        ("https://[::1]/x", "public address"),
        ("hooks dot example", "valid HTTPS URL"),
    ] {
        let (status, html, _) = add_on_page(&w, &admin, typed).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
        assert!(html.contains(says), "{typed}: {says}");
        let doc = Html::parse_document(&html);
        let input = doc
            .select(&Selector::parse("input#url").expect("selector"))
            .next()
            .and_then(|e| e.value().attr("value").map(str::to_owned));
        assert_eq!(input.as_deref(), Some(typed), "what was typed is kept");
    }
}

#[tokio::test]
async fn endpoints_and_deliveries_stay_in_their_tenant() {
    let w = loopback_world().await;
    let c = w.customers();
    let (contoso_hooks, fabrikam_hooks) = (Receiver::start().await, Receiver::start().await);
    let contoso = w.app.admin_client(&c.admin).await;
    let fabrikam = w.app.admin_client(&c.fabrikam_admin).await;
    add_on_page(&w, &contoso, &contoso_hooks.url()).await;
    add_on_page(&w, &fabrikam, &fabrikam_hooks.url()).await;
    let theirs = endpoint_ids(&w.app.admin_page(&fabrikam, "/settings/webhooks").await);
    let ours = endpoint_ids(&w.app.admin_page(&contoso, "/settings/webhooks").await);
    assert_eq!((theirs.len(), ours.len()), (1, 1));
    assert_ne!(theirs, ours);

    let token = csrf_of(&w.app.admin_page(&contoso, "/settings/webhooks").await);
    let base = format!("{}/settings/webhooks/{}", w.app.admin_url, theirs[0]);
    for path in ["", "/remove"] {
        let resp = contoso
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "GET {path}");
    }
    for path in ["/test", "/remove"] {
        let resp = contoso
            .post(format!("{base}{path}"))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "POST {path}");
    }
    assert_eq!(
        endpoint_ids(&w.app.admin_page(&fabrikam, "/settings/webhooks").await),
        theirs
    );

    // Contoso's events reach Contoso's endpoint only, and Fabrikam's
    // Fabrikam's.
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.deliver_webhooks().await;
    assert_eq!(contoso_hooks.received().len(), 1);
    assert!(fabrikam_hooks.received().is_empty());
    let page = w
        .app
        .admin_page(&contoso, &format!("/settings/webhooks/{}", ours[0]))
        .await;
    assert_eq!(
        texts(&page, "td.delivery-event"),
        ["request.pending_customer"]
    );
    let page = w
        .app
        .admin_page(&fabrikam, &format!("/settings/webhooks/{}", theirs[0]))
        .await;
    assert!(texts(&page, "td.delivery-event").is_empty());
}

#[tokio::test]
async fn the_settings_page_tests_shows_deliveries_and_removes_after_confirming() {
    let w = loopback_world().await;
    let c = w.customers();
    let receiver = Receiver::start().await;
    let admin = w.app.admin_client(&c.admin).await;
    // Empty state, then no event chosen: refused, the URL kept.
    let page = w.app.admin_page(&admin, "/settings/webhooks").await;
    assert!(page.contains("No webhook endpoints yet."));
    let resp = w
        .app
        .admin_post(
            &admin,
            "/settings/webhooks",
            "/settings/webhooks",
            &[("url", &receiver.url())],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.expect("body");
    assert!(html.contains("Choose at least one event.") && html.contains(&receiver.url()));

    let (_, html, _) = add_on_page(&w, &admin, &receiver.url()).await;
    let secret = secret_on(&html).expect("secret");
    let id = endpoint_ids(&html).remove(0);
    let detail = format!("/settings/webhooks/{id}");
    let resp = w
        .app
        .admin_post(&admin, &detail, &format!("{detail}/test"), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    w.app.deliver_webhooks().await;
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event_type(), "webhook.test");
    assert_signed(&got[0], &secret);
    let page = w.app.admin_page(&admin, &detail).await;
    assert_eq!(texts(&page, "td.delivery-event"), ["webhook.test"]);
    assert_eq!(texts(&page, "td.delivery-status"), ["Delivered"]);
    assert_eq!(texts(&page, "td.delivery-attempts"), ["1"]);

    // Removal asks first; the confirmation removes and is audited.
    let confirm = w.app.admin_page(&admin, &format!("{detail}/remove")).await;
    assert!(confirm.contains("Remove the endpoint"));
    assert_eq!(
        endpoint_ids(&w.app.admin_page(&admin, "/settings/webhooks").await).len(),
        1
    );
    let resp = w
        .app
        .admin_post(
            &admin,
            &format!("{detail}/remove"),
            &format!("{detail}/remove"),
            &[],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(endpoint_ids(&w.app.admin_page(&admin, "/settings/webhooks").await).is_empty());
    let activities: Vec<String> = audit_records::table
        .filter(audit_records::tenant_id.eq(w.contoso.0))
        .filter(audit_records::activity.like("%WebhookEndpoint"))
        .order(audit_records::occurred_at.asc())
        .select(audit_records::activity)
        .load(&mut w.app.conn())
        .expect("audit");
    assert_eq!(
        activities,
        ["New-WebhookEndpoint", "Remove-WebhookEndpoint"]
    );

    // Only global administrators.
    for user in [&c.approver, &c.user] {
        let client = w.app.admin_client(user).await;
        let resp = w.app.get_admin(&client, "/settings/webhooks").await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    let approver = w.app.admin_client(&c.approver).await;
    assert!(
        !w.app
            .admin_page(&approver, "/")
            .await
            .contains("/settings/webhooks")
    );
}

#[tokio::test]
async fn the_secret_is_stored_sealed_and_bound_to_its_endpoint() {
    let w = loopback_world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    let (_, html, _) = add_on_page(&w, &admin, "https://hooks.example.com/a").await;
    let secret = secret_on(&html).expect("secret");
    let rows: Vec<(uuid::Uuid, Vec<u8>)> = we::table
        .select((we::id, we::secret))
        .load(&mut w.app.conn())
        .expect("endpoints");
    let (id, sealed) = &rows[0];
    let raw = String::from_utf8_lossy(sealed);
    assert!(
        !raw.contains(&secret) && !raw.contains("whsec_"),
        "not in the clear"
    );
    let sealer = w.app.sealer();
    use lockbox::webhooks::endpoints::open;
    assert_eq!(open(&sealer, *id, sealed).as_deref(), Some(secret.as_str()));
    assert_eq!(
        open(&sealer, uuid::Uuid::new_v4(), sealed),
        None,
        "bound to its endpoint"
    );
}

#[tokio::test]
async fn operator_actions_tickets_and_checkpoints_are_told_without_content() {
    let w = loopback_world().await;
    let receiver = Receiver::start().await;
    let (_, secret) = w.app.store_endpoint(Some(w.fabrikam), &receiver.url());
    w.app.seed_content(w.fabrikam, "fabrikam.example");
    let id = w
        .app
        .approved_request(w.fabrikam, &w.engineer, &w.manager, "exchange");
    let engineer = w.app.engineer_client(&w.engineer).await;
    let fields = [("operation", "Search-Mailbox"), ("words", "invoice")];
    let resp = w.app.run_operation(&engineer, id, &fields).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let opener = w.app.create_user(
        "Fabrikam",
        "user@fabrikam.example",
        lockbox::tenants::Role::User,
    );
    let number = w.app.arrange_ticket(&opener, "Secret project mailbox");
    w.app.seal_audit();
    let signer = crate::checkpoints::signer(&w.app);
    let written = lockbox::audit::checkpoint::write_due_then(
        &mut w.app.app_conn(),
        &signer,
        w.app.clock_now(),
        Span::minutes(60),
        &lockbox::webhooks::checkpoint_created,
    )
    .expect("checkpoints");
    assert!(written >= 1);
    w.app.deliver_webhooks().await;

    let got = receiver.received();
    let of = |t: &str| {
        got.iter()
            .find(|r| r.event_type() == t)
            .unwrap_or_else(|| panic!("{t} in {got:?}"))
            .json()
    };
    let action = of("request.operator_action");
    assert_eq!(action["data"]["request_id"], id.0.to_string());
    assert_eq!(action["data"]["operation"], "Search-Mailbox");
    assert_eq!(action["data"]["outcome"], "executed");
    assert_eq!(of("ticket.opened")["data"]["service_request"], number);
    assert_eq!(
        of("checkpoint.created")["data"]["tenant_id"],
        w.fabrikam.0.to_string()
    );
    for r in &got {
        assert_signed(r, &secret);
        assert_eq!(r.json()["data"]["tenant_id"], w.fabrikam.0.to_string());
        for content in ["invoice", "Secret project", "Investigating"] {
            assert!(!r.body.contains(content), "{content} in {}", r.body);
        }
    }
}
