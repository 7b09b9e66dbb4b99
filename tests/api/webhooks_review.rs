//! Webhooks after the security review: fairness between endpoints, the
//! test event's limits, generic delivery errors, URLs kept out of the
//! audit log, retention, the endpoint limit under concurrency, the
//! rejected event.

use std::time::{Duration, Instant};

use chrono::Duration as Span;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use lockbox::{
    requests::{Actor, Comment, Event, Policy, Scope, Via, commands},
    schema::{audit_records, webhook_deliveries as wd, webhook_endpoints as we},
    webhooks::{EventGroup, deliver, endpoints},
};

use crate::helpers::{World, texts, webhooks::Receiver, world_with};

async fn loopback_world(timeout: u64) -> World {
    world_with(move |s| {
        s.webhooks.allow_http_loopback = true;
        s.webhooks.timeout = Duration::from_secs(timeout);
    })
    .await
}

#[tokio::test]
async fn a_silent_endpoint_with_many_due_deliveries_delays_no_other_endpoint() {
    let w = loopback_world(5).await;
    // Accepts connections (the kernel's backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let (slow, _) = w
        .app
        .store_endpoint(Some(w.contoso), &format!("http://127.0.0.1:{port}/"));
    for _ in 0..30 {
        w.app.queue_test_event(slow, w.contoso);
    }
    w.app.clock.advance(Span::seconds(1));
    let receiver = Receiver::start().await;
    let (fast, _) = w.app.store_endpoint(Some(w.fabrikam), &receiver.url());
    w.app.queue_test_event(fast, w.fabrikam);

    // The worker's batch of 20: the 30 older deliveries take one place.
    let (pool, sealer, delivery, now) = (
        w.app.pool.clone(),
        w.app.sealer(),
        w.app.webhook_delivery(),
        w.app.clock_now(),
    );
    let round = tokio::spawn(async move {
        deliver::deliver_due(&pool, &sealer, delivery, now, 20)
            .await
            .expect("a round")
    });
    // The fast endpoint's delivery is recorded while the silent one's is
    // still waiting for its timeout.
    let deadline = Instant::now() + Duration::from_millis(4500);
    while w.app.deliveries_of(fast)[0].0 != "delivered" {
        assert!(
            Instant::now() < deadline,
            "not delivered before the timeout"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !round.is_finished(),
        "the silent endpoint still holds its attempt"
    );
    let round = round.await.expect("joined");
    assert_eq!((round.delivered, round.retrying), (1, 1), "{round:?}");
    assert_eq!(receiver.received().len(), 1);
    let attempted = w.app.deliveries_of(slow).iter().filter(|d| d.1 > 0).count();
    assert_eq!(attempted, 1, "one delivery per endpoint per round");
    let (_, _, error) = w
        .app
        .deliveries_of(slow)
        .into_iter()
        .find(|d| d.1 > 0)
        .expect("attempted");
    assert_eq!(error.as_deref(), Some("timed out"));
    drop(silent);
}

async fn post_test(w: &World, client: &reqwest::Client, id: uuid::Uuid) -> String {
    let detail = format!("/settings/webhooks/{id}");
    let resp = w
        .app
        .admin_post(client, &detail, &format!("{detail}/test"), &[])
        .await;
    assert_eq!(resp.status(), reqwest::StatusCode::SEE_OTHER);
    w.app.admin_page(client, &detail).await
}

#[tokio::test]
async fn a_test_event_waits_for_the_last_one_and_is_refused_for_a_disabled_endpoint() {
    let w = loopback_world(1).await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    let receiver = Receiver::start().await;
    let (id, _) = w.app.store_endpoint(Some(w.contoso), &receiver.url());
    let page = post_test(&w, &admin, id).await;
    assert!(page.contains("A test event was queued"), "{page}");
    let page = post_test(&w, &admin, id).await;
    assert!(page.contains("still waiting to be delivered"), "{page}");
    assert_eq!(w.app.deliveries_of(id).len(), 1, "one pending test event");
    w.app.deliver_webhooks().await;
    post_test(&w, &admin, id).await;
    assert_eq!(w.app.deliveries_of(id).len(), 2, "once sent, another");
    w.app.deliver_webhooks().await;

    diesel::update(we::table.find(id))
        .set(we::enabled.eq(false))
        .execute(&mut w.app.owner_conn())
        .expect("disabled");
    let page = post_test(&w, &admin, id).await;
    assert!(page.contains("The endpoint is disabled"), "{page}");
    assert_eq!(w.app.deliveries_of(id).len(), 2, "nothing queued");
}

#[tokio::test]
async fn delivery_errors_shown_to_the_tenant_are_generic() {
    let w = loopback_world(1).await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    let failing = Receiver::start().await;
    failing.always(500);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let cases = [
        (failing.url(), "HTTP 500"),
        (format!("http://127.0.0.1:{closed}/"), "connection failed"),
        (
            "https://10.1.2.3/hook".to_owned(),
            "the host resolves to a non-public address",
        ),
    ];
    for (url, says) in &cases {
        let (id, _) = w.app.store_endpoint(Some(w.contoso), url);
        w.app.queue_test_event(id, w.contoso);
        w.app.deliver_webhooks().await;
        let page = w
            .app
            .admin_page(&admin, &format!("/settings/webhooks/{id}"))
            .await;
        let shown = texts(&page, "td.delivery-answer");
        assert_eq!(shown, [*says], "{url}");
    }
}

#[tokio::test]
async fn the_audit_log_records_an_endpoints_origin_and_hash_not_its_url() {
    let w = loopback_world(1).await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    let url = "https://hooks.chat.example/services/T0001/B0002/s3cr3tT0k3n";
    let resp = w
        .app
        .admin_post(
            &admin,
            "/settings/webhooks",
            "/settings/webhooks",
            &[("url", url), ("event_decided", "on")],
        )
        .await;
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let id: uuid::Uuid = we::table
        .select(we::id)
        .first(&mut w.app.conn())
        .expect("added");
    endpoints::remove_for_tenant(
        &mut w.app.conn(),
        w.contoso,
        id,
        w.app.clock_now(),
        &lockbox::audit::Actor::system(),
    )
    .expect("removed");
    let recorded: Vec<serde_json::Value> = audit_records::table
        .filter(audit_records::tenant_id.eq(w.contoso.0))
        .filter(audit_records::item.eq(id.to_string()))
        .select(audit_records::parameters)
        .load(&mut w.app.conn())
        .expect("audit");
    assert_eq!(recorded.len(), 2);
    let hash = lockbox::digest::hex(&lockbox::digest::sha256(url.as_bytes()));
    for p in &recorded {
        assert!(!p.to_string().contains("s3cr3tT0k3n"), "{p}");
        assert_eq!(p["Host"], "https://hooks.chat.example:443");
        assert_eq!(p["UrlSha256"], hash.as_str());
        assert!(p.get("Url").is_none(), "{p}");
    }
}

#[tokio::test]
async fn finished_deliveries_are_deleted_after_thirty_days_and_pending_ones_stay() {
    let w = loopback_world(1).await;
    let receiver = Receiver::start().await;
    let (id, _) = w.app.store_endpoint(Some(w.contoso), &receiver.url());
    w.app.queue_test_event(id, w.contoso);
    w.app.deliver_webhooks().await;
    // A failed one and one pending but not due for long.
    w.app.queue_test_event(id, w.contoso);
    w.app.queue_test_event(id, w.contoso);
    let later = w.app.clock_now() + Span::days(40);
    let rows: Vec<uuid::Uuid> = wd::table
        .filter(wd::status.eq("pending"))
        .select(wd::id)
        .load(&mut w.app.owner_conn())
        .expect("pending");
    diesel::update(wd::table.find(rows[0]))
        .set(wd::status.eq("failed"))
        .execute(&mut w.app.owner_conn())
        .expect("failed");
    diesel::update(wd::table.find(rows[1]))
        .set(wd::next_attempt_at.eq(later))
        .execute(&mut w.app.owner_conn())
        .expect("not due");

    w.app.clock.advance(Span::days(29));
    assert_eq!(w.app.deliver_webhooks().await.swept, 0, "kept 29 days");
    assert_eq!(w.app.deliveries_of(id).len(), 3);
    w.app.clock.advance(Span::days(2));
    w.app.queue_test_event(id, w.contoso);
    let round = w.app.deliver_webhooks().await;
    assert_eq!((round.swept, round.delivered), (2, 1), "{round:?}");
    let left: Vec<String> = w.app.deliveries_of(id).into_iter().map(|d| d.0).collect();
    assert_eq!(
        left,
        ["pending", "delivered"],
        "the old pending one, the new"
    );
}

#[tokio::test]
async fn thirty_concurrent_adds_register_at_most_twenty_endpoints() {
    let w = loopback_world(1).await;
    let sealer = w.app.sealer();
    let (tenant, now) = (w.contoso, w.app.clock_now());
    let threads: Vec<_> = (0..30)
        .map(|i| {
            let (pool, sealer) = (w.app.pool.clone(), sealer.clone());
            std::thread::spawn(move || {
                let mut conn = pool.get().expect("a connection");
                let url = format!("https://hooks{i}.example.com/x");
                endpoints::add_for_tenant(
                    &mut conn,
                    &sealer,
                    tenant,
                    endpoints::NewEndpoint {
                        url: &url,
                        events: &[EventGroup::Decided],
                    },
                    false,
                    now,
                    &lockbox::audit::Actor::system(),
                )
                .is_ok()
            })
        })
        .collect();
    let added = threads
        .into_iter()
        .map(|t| t.join().expect("joined"))
        .filter(|ok| *ok)
        .count();
    let stored: i64 = we::table
        .filter(we::tenant_id.eq(tenant.0))
        .count()
        .get_result(&mut w.app.conn())
        .expect("count");
    assert_eq!((added, stored), (20, 20));
}

#[tokio::test]
async fn a_managers_rejection_arrives_with_the_decided_events() {
    let w = loopback_world(1).await;
    let receiver = Receiver::start().await;
    let (_, _) = w.app.store_endpoint(Some(w.contoso), &receiver.url());
    diesel::update(we::table)
        .set(we::events.eq(vec![EventGroup::Decided.as_db()]))
        .execute(&mut w.app.owner_conn())
        .expect("decided only");
    let id = w.app.arrange_request(w.contoso, &w.engineer, None);
    let decision = commands::Decision {
        event: Event::ManagerReject,
        actor: Actor::Manager(w.manager.staff_id()),
        actor_name: "manager".into(),
        ip: "127.0.0.1".into(),
        comment: Comment::default(),
        via: Via::Portal,
        signer: Some(w.app.signer()),
    };
    commands::decide(
        &mut w.app.conn(),
        id,
        Scope::Provider,
        &decision,
        &w.app.clock,
        &Policy::default(),
    )
    .expect("rejected");
    assert_eq!(w.app.deliver_webhooks().await.delivered, 1);
    let got = receiver.received();
    assert_eq!(got[0].event_type(), "request.rejected");
    assert_eq!(got[0].json()["data"]["request_id"], id.0.to_string());
}
