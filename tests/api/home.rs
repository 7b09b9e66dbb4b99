//! The home pages of both portals (issue 22): each card's content per role,
//! its empty state, another tenant's data never shown, the weekly chart's
//! counts under the settable clock, and no English left on any page while
//! Dutch is selected.

use chrono::{DateTime, Duration, Utc};
use lockbox::{
    identity::{RequestId, UserId},
    requests::{
        Actor, Comment, Event, Policy, Scope, Tally, Via,
        commands::{self, Decision},
        queries,
    },
    staff::StaffRole,
    tenants::Role,
};
use reqwest::{Client, StatusCode};

use crate::helpers::{TestApp, TestUser, texts, world};

mod dutch;

/// Applies `event` by `actor` to request `id` now, through the domain.
fn decide(app: &TestApp, id: RequestId, event: Event, actor: Actor) {
    let decision = Decision {
        event,
        actor,
        actor_name: "someone".into(),
        ip: "127.0.0.1".into(),
        comment: Comment::default(),
        via: Via::Portal,
        signer: Some(app.signer()),
    };
    commands::decide(
        &mut app.conn(),
        id,
        Scope::Provider,
        &decision,
        &app.clock,
        &Policy::default(),
    )
    .expect("decided");
}

fn customer(user: &TestUser) -> Actor {
    Actor::Customer(UserId(user.id))
}

/// The short fingerprint of request `id`, as the domain computes it.
fn fingerprint(app: &TestApp, id: RequestId) -> String {
    queries::find(&mut app.conn(), id, Scope::Provider)
        .expect("query")
        .expect("request")
        .short_fingerprint()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid")
        .with_timezone(&Utc)
}

/// The admin center's home for `client`.
async fn admin_home(app: &TestApp, client: &Client) -> String {
    let resp = app.get_admin(client, "/").await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.expect("body")
}

async fn engineer_home(app: &TestApp, client: &Client) -> String {
    let resp = app.get_engineer(client, "/").await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.expect("body")
}

fn one(html: &str, selector: &str) -> String {
    let found = texts(html, selector);
    assert_eq!(found.len(), 1, "{selector}: {found:?}");
    found[0].clone()
}

#[tokio::test]
async fn approvers_see_how_many_requests_wait_and_the_five_closest_to_expiry() {
    let w = world().await;
    let c = w.customers();
    let start = w.app.clock_now();
    // Six requests reach the customer an hour apart: the first expires first.
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(
            w.app
                .arrange_request(w.contoso, &w.engineer, Some(&w.manager)),
        );
        w.app.clock.advance(Duration::hours(1));
    }
    // One the customer already denied, one the manager has not approved.
    let denied = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    decide(&w.app, denied, Event::CustomerDeny, customer(&c.approver));
    w.app.arrange_request(w.contoso, &w.engineer, None);
    w.app.clock.set(start + Duration::minutes(5 * 60 + 30));

    let approver = w.app.admin_client(&c.approver).await;
    let html = admin_home(&w.app, &approver).await;

    assert_eq!(one(&html, "#waiting-count"), "6");
    let rows = texts(&html, "#waiting-table tbody tr");
    assert_eq!(rows.len(), 5, "{rows:?}");
    let prints = texts(&html, "#waiting-table .fingerprint");
    let expected: Vec<String> = ids[..5].iter().map(|id| fingerprint(&w.app, *id)).collect();
    assert_eq!(
        prints, expected,
        "soonest deadline first, each with its fingerprint"
    );
    assert_eq!(
        texts(&html, "#waiting-table .time-left"),
        vec![
            "6 h 30 min",
            "7 h 30 min",
            "8 h 30 min",
            "9 h 30 min",
            "10 h 30 min"
        ]
    );
    assert!(
        rows[0].contains("Expires at: 2026-03-02 21:00:00 UTC"),
        "{}",
        rows[0]
    );
    let links: Vec<String> = texts(&html, "#waiting-table a");
    assert_eq!(links, vec!["SR-1000"; 5]);
    assert!(html.contains(&format!("/support/lockbox/requests/{}", ids[0])));
    assert!(
        !html.contains(&ids[5].to_string()),
        "the sixth is counted, not listed"
    );

    // The first deadline passes: it expired, whatever the sweeper did.
    w.app.clock.set(start + Duration::hours(12));
    let approver = w.app.admin_client(&c.approver).await;
    let html = admin_home(&w.app, &approver).await;
    assert_eq!(one(&html, "#waiting-count"), "5");
    assert_eq!(texts(&html, "#waiting-table tbody tr").len(), 5);
    assert_eq!(texts(&html, "#waiting-table .time-left")[0], "1 h");
}

#[tokio::test]
async fn a_request_under_a_quorum_shows_how_many_approved_on_the_home() {
    let w = world().await;
    let c = w.customers();
    crate::quorum::set_quorum(&w.app, w.contoso, 2);
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    decide(
        &w.app,
        id,
        Event::CustomerApprove(Tally::SINGLE),
        customer(&c.approver),
    );
    let admin = w.app.admin_client(&c.admin).await;
    let html = admin_home(&w.app, &admin).await;
    assert_eq!(one(&html, "#waiting-count"), "1");
    assert_eq!(one(&html, "#waiting-table .approvals"), "1 of 2 approvals");
}

#[tokio::test]
async fn an_open_window_shows_its_time_left_and_the_operator_actions_so_far() {
    let w = world().await;
    let c = w.customers();
    w.app.seed_content(w.contoso, "contoso.example");
    let id = w
        .app
        .approved_request(w.contoso, &w.engineer, &w.manager, "exchange");
    w.app.clock.advance(Duration::minutes(30));
    let engineer = w.app.engineer_client(&w.engineer).await;
    for _ in 0..4 {
        let resp = w
            .app
            .run_operation(&engineer, id, &[("operation", "Get-MailboxStatistics")])
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        w.app.clock.advance(Duration::minutes(1));
    }
    let admin = w.app.admin_client(&c.admin).await;
    let html = admin_home(&w.app, &admin).await;

    assert_eq!(one(&html, "#windows-count"), "1");
    assert_eq!(one(&html, "#windows-table .time-left"), "3 h 26 min");
    assert_eq!(
        one(&html, "#windows-table .action-count"),
        "Operator actions: 4"
    );
    let newest = texts(&html, "#windows-table .home-actions li");
    assert_eq!(newest.len(), 3, "the newest three: {newest:?}");
    assert_eq!(newest[0], "Get-MailboxStatistics 2026-03-02 09:33:00 UTC");
    assert_eq!(
        one(&html, "#windows-table tbody td code"),
        w.engineer.staff_id().public_id(),
        "the engineer as the customer knows them"
    );

    // The window ends: the card empties and says what would appear.
    w.app.clock.set(w.app.clock_now() + Duration::hours(4));
    let admin = w.app.admin_client(&c.admin).await;
    let html = admin_home(&w.app, &admin).await;
    assert_eq!(one(&html, "#windows-count"), "0");
    assert!(
        one(&html, "#windows-empty").starts_with("No engineer has access to your content now.")
    );
}

#[tokio::test]
async fn an_empty_admin_home_says_what_will_appear_and_why() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    let html = admin_home(&w.app, &admin).await;
    assert_eq!(one(&html, "#waiting-count"), "0");
    assert!(one(&html, "#waiting-empty").starts_with(
        "No request is waiting for your decision. When the provider's support manager approves"
    ));
    assert!(one(&html, "#windows-empty").contains("its time-limited access window appears here"));
    assert!(
        one(&html, "#weekly-empty").starts_with("No requests were filed in the last 12 weeks.")
    );
    assert!(
        texts(&html, "#weekly svg").is_empty(),
        "no chart without data"
    );
    assert!(one(&html, "#chain-no-checkpoint").starts_with("No checkpoints yet"));

    // Fabrikam has Customer Lockbox off: the empty state says so.
    let fabrikam = w.app.admin_client(&c.fabrikam_admin).await;
    let html = admin_home(&w.app, &fabrikam).await;
    assert!(one(&html, "#waiting-empty").contains("Customer Lockbox is off"));
    assert!(one(&html, ".badge-off").starts_with("Customer Lockbox is off"));
}

#[tokio::test]
async fn only_global_administrators_are_offered_the_switch() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    let html = admin_home(&w.app, &admin).await;
    assert!(one(&html, "#lockbox-switch .badge-on").starts_with("Customer Lockbox is on"));
    assert_eq!(
        texts(&html, "#lockbox-switch a"),
        vec!["Change it in Org settings"]
    );

    let approver = w.app.admin_client(&c.approver).await;
    let html = admin_home(&w.app, &approver).await;
    assert!(texts(&html, "#lockbox-switch a").is_empty());
    assert_eq!(
        one(&html, "#lockbox-switch p.muted"),
        "Only global administrators can turn Customer Lockbox on or off."
    );
    assert!(
        texts(&html, "#lockbox-switch dd").contains(&"Customer Lockbox access approver".into())
    );
}

#[tokio::test]
async fn the_audit_card_shows_the_records_the_newest_hash_and_the_newest_checkpoint() {
    let w = world().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let admin = w.app.admin_client(&c.admin).await;
    w.app.seal_audit();
    let head = lockbox::audit::head(&mut w.app.conn(), w.contoso).expect("head");
    assert!(head.count > 3);

    let html = admin_home(&w.app, &admin).await;
    assert_eq!(one(&html, "#chain-count"), head.count.to_string());
    assert_eq!(Some(one(&html, "#chain-hash")), head.hash);
    assert!(texts(&html, "#chain-checkpoint").is_empty());

    crate::checkpoints::checkpoint_now(&w.app);
    let newest = crate::checkpoints::checkpoints(&w.app, w.contoso)
        .into_iter()
        .next()
        .expect("a checkpoint");
    let html = admin_home(&w.app, &admin).await;
    let facts = texts(&html, "#chain-checkpoint dd");
    assert_eq!(
        facts,
        vec![
            format!("Checkpoint {} (JSON)", newest.seq),
            "2026-03-02 09:00:00 UTC".to_owned(),
            lockbox::digest::hex(&newest.head_hash),
        ]
    );
    assert!(html.contains(&format!("href=\"/audit/checkpoints/{}.json\"", newest.seq)));

    // Fabrikam's card shows Fabrikam's chain, not Contoso's.
    let fabrikam = w.app.admin_client(&c.fabrikam_admin).await;
    w.app.seal_audit();
    let theirs = lockbox::audit::head(&mut w.app.conn(), w.fabrikam).expect("head");
    let html = admin_home(&w.app, &fabrikam).await;
    assert_eq!(Some(one(&html, "#chain-hash")), theirs.hash);
    assert_ne!(theirs.hash, head.hash);
}

#[tokio::test]
async fn another_tenants_requests_never_reach_the_home() {
    let w = world().await;
    let c = w.customers();
    w.app.set_lockbox(w.fabrikam, true);
    w.app.seed_content(w.fabrikam, "fabrikam.example");
    let waiting = w
        .app
        .arrange_request(w.fabrikam, &w.engineer, Some(&w.manager));
    let window = w
        .app
        .approved_request(w.fabrikam, &w.other_engineer, &w.manager, "exchange");

    let contoso = w.app.admin_client(&c.admin).await;
    let html = admin_home(&w.app, &contoso).await;
    assert_eq!(one(&html, "#waiting-count"), "0");
    assert_eq!(one(&html, "#windows-count"), "0");
    assert_eq!(
        texts(&html, "#weekly-empty").len(),
        1,
        "no Fabrikam request counted"
    );
    for id in [waiting, window] {
        assert!(!html.contains(&id.to_string()));
        assert!(!html.contains(&fingerprint(&w.app, id)));
    }

    let fabrikam = w.app.admin_client(&c.fabrikam_admin).await;
    let html = admin_home(&w.app, &fabrikam).await;
    assert_eq!(one(&html, "#waiting-count"), "1");
    assert_eq!(one(&html, "#windows-count"), "1");
}

#[tokio::test]
async fn the_chart_counts_each_weeks_requests_by_outcome_under_the_settable_clock() {
    let w = world().await;
    let c = w.customers();
    let (e, m) = (&w.engineer, &w.manager);
    // The first week shown starts 2026-01-05: a request a moment before it
    // is outside; Fabrikam's are never counted.
    w.app.clock.set(at("2026-01-04T23:59:59Z"));
    w.app.arrange_request(w.contoso, e, None);
    w.app.clock.set(at("2026-01-05T00:00:00Z"));
    w.app.arrange_request(w.contoso, e, None);
    w.app.arrange_request(w.fabrikam, e, None);
    // Week of 2026-03-02: approved, and one left to expire.
    w.app.clock.set(at("2026-03-02T09:00:00Z"));
    let approved = w.app.arrange_request(w.contoso, e, Some(m));
    decide(
        &w.app,
        approved,
        Event::CustomerApprove(Tally::SINGLE),
        customer(&c.approver),
    );
    w.app.arrange_request(w.contoso, &w.other_engineer, Some(m));
    // Week of 2026-03-09: denied, cancelled and rejected; one revoked.
    w.app.clock.set(at("2026-03-15T23:59:59Z"));
    let denied = w.app.arrange_request(w.contoso, e, Some(m));
    decide(&w.app, denied, Event::CustomerDeny, customer(&c.approver));
    let cancelled = w.app.arrange_request(w.contoso, e, None);
    w.app.arrange_cancel(cancelled, e);
    let rejected = w.app.arrange_request(w.contoso, e, None);
    decide(
        &w.app,
        rejected,
        Event::ManagerReject,
        Actor::Manager(m.staff_id()),
    );
    let revoked = w
        .app
        .approved_request(w.contoso, &w.other_engineer, m, "sharepoint");
    decide(&w.app, revoked, Event::Revoke, customer(&c.admin));
    // Week of 2026-03-23 (now): one waiting for a manager.
    w.app.clock.set(at("2026-03-23T00:00:00Z"));
    w.app.arrange_request(w.contoso, e, None);
    w.app.clock.set(at("2026-03-25T12:00:00Z"));

    let admin = w.app.admin_client(&c.admin).await;
    let html = admin_home(&w.app, &admin).await;

    let header = texts(&html, "#weekly-table thead th");
    assert_eq!(
        header,
        vec![
            "Week",
            "Approved",
            "Denied",
            "Expired",
            "Cancelled or rejected",
            "Still waiting",
            "Total"
        ]
    );
    let rows = cells(&html, "#weekly-table tbody tr");
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[0], "Week of 2026-01-05 0 0 0 0 1 1");
    assert_eq!(
        rows[8], "Week of 2026-03-02 1 0 1 0 0 2",
        "expired by the time rule"
    );
    assert_eq!(
        rows[9], "Week of 2026-03-09 1 1 0 2 0 4",
        "revoked counts as approved"
    );
    assert_eq!(rows[10], "Week of 2026-03-16 0 0 0 0 0 0");
    assert_eq!(rows[11], "Week of 2026-03-23 0 0 0 0 1 1");
    let totals = texts(&html, "#weekly svg .chart-total");
    assert_eq!(
        totals,
        vec!["1", "0", "0", "0", "0", "0", "0", "0", "2", "4", "0", "1"]
    );
    assert_eq!(texts(&html, "#weekly svg text")[1], "W2");
    assert_eq!(count(&html, "#weekly svg rect.chart-approved"), 2);
    assert_eq!(count(&html, "#weekly svg rect.chart-withdrawn"), 1);
    assert_eq!(count(&html, "#weekly svg rect.chart-waiting"), 2);
    let desc = one(&html, "#weekly desc");
    assert!(
        desc.contains(
            "In all: 2 approved, 1 denied, 1 expired, 2 cancelled or rejected, 2 still waiting."
        ),
        "{desc}"
    );
    assert_eq!(
        one(&html, "#weekly svg title"),
        "Requests per week by outcome"
    );
    assert_eq!(
        scraper::Html::parse_document(&html)
            .select(&scraper::Selector::parse("#weekly svg").expect("selector"))
            .next()
            .and_then(|svg| svg.value().attr("role")),
        Some("img")
    );
}

/// The rows `selector` matches, each as its cells' texts joined by spaces.
fn cells(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let row = scraper::Selector::parse(selector).expect("selector");
    let cell = scraper::Selector::parse("th, td").expect("selector");
    doc.select(&row)
        .map(|r| {
            r.select(&cell)
                .map(|c| c.text().collect::<String>().trim().to_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn count(html: &str, selector: &str) -> usize {
    texts(html, selector).len()
}

#[tokio::test]
async fn a_user_without_a_lockbox_role_sees_their_own_open_service_requests() {
    let w = world().await;
    let c = w.customers();
    let other = w
        .app
        .create_user("Contoso", "other@contoso.example", Role::User);
    let user = w.app.admin_client(&c.user).await;
    let resp = w.app.get_admin(&user, "/").await;
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "lockbox pages stay closed"
    );
    let html = resp.text().await.expect("body");
    assert!(one(&html, "#my-tickets-empty").starts_with("You have no open service requests."));
    assert!(texts(&html, "#waiting").is_empty(), "no request card");

    let mine = w.app.arrange_ticket(&c.user, "Calendar sharing fails");
    w.app.arrange_ticket(&other, "Someone else's problem");
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let html = w.app.admin_page(&user, "/").await;
    let tickets = texts(&html, "#my-tickets li");
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert!(tickets[0].starts_with(&format!("{mine} Calendar sharing fails opened 2026-03-02")));
    assert!(!html.contains("Someone else"));
    assert!(texts(&html, "#waiting-count").is_empty());
}

#[tokio::test]
async fn an_engineer_sees_their_requests_waiting_with_state_and_time_left() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let html = engineer_home(&w.app, &engineer).await;
    assert!(one(&html, "#own-open-empty").starts_with("None of your requests is waiting"));
    assert!(one(&html, "#own-windows-empty").starts_with("None of your requests has an open"));
    assert!(
        texts(&html, "#queue-card").is_empty(),
        "engineers have no queue"
    );

    let for_manager = w.app.filed_request(&engineer, w.contoso).await;
    w.app.clock.advance(Duration::minutes(1));
    let for_customer = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let theirs = w.app.arrange_request(w.contoso, &w.other_engineer, None);
    w.app.clock.advance(Duration::minutes(90));
    let engineer = w.app.engineer_client(&w.engineer).await;
    let html = engineer_home(&w.app, &engineer).await;

    let rows = texts(&html, "#own-open-table tbody tr");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(html.contains(&format!("href=\"/requests/{for_manager}\"")));
    assert!(
        !html.contains(&theirs.to_string()),
        "another engineer's request"
    );
    assert_eq!(
        texts(&html, "#own-open-table .badge"),
        vec!["Pending customer approval", "Pending manager approval"]
    );
    assert_eq!(one(&html, "#own-open-table .time-left"), "10 h 30 min");
    assert!(
        rows[0].contains("Expires at: 2026-03-02 21:01:00 UTC"),
        "{}",
        rows[0]
    );
    assert!(rows[1].contains("No deadline while it waits for a manager"));
    assert!(html.contains(&format!("href=\"/requests/{for_customer}\"")));
}

#[tokio::test]
async fn an_engineer_reaches_an_open_window_s_access_session_from_the_home() {
    let w = world().await;
    let id = w
        .app
        .approved_request(w.contoso, &w.engineer, &w.manager, "exchange");
    w.app
        .approved_request(w.contoso, &w.other_engineer, &w.manager, "sharepoint");
    w.app.clock.advance(Duration::minutes(30));
    let engineer = w.app.engineer_client(&w.engineer).await;
    let html = engineer_home(&w.app, &engineer).await;

    let windows = texts(&html, "#own-windows li");
    assert_eq!(windows.len(), 1, "only their own: {windows:?}");
    assert_eq!(one(&html, "#own-windows .time-left"), "3 h 30 min left");
    let doc = scraper::Html::parse_document(&html);
    let link = doc
        .select(&scraper::Selector::parse("#own-windows a.session-link").expect("selector"))
        .next()
        .expect("a session link");
    let href = link.value().attr("href").expect("href").to_owned();
    assert_eq!(href, format!("/requests/{id}/session"));
    assert!(
        link.text()
            .collect::<String>()
            .starts_with("Open access session")
    );
    assert_eq!(
        w.app.get_engineer(&engineer, &href).await.status(),
        StatusCode::OK
    );
    assert!(
        texts(&html, "#own-open-table").is_empty(),
        "an open window is not waiting"
    );

    w.app.clock.advance(Duration::hours(4));
    let engineer = w.app.engineer_client(&w.engineer).await;
    let html = engineer_home(&w.app, &engineer).await;
    assert_eq!(
        texts(&html, "#own-windows-empty").len(),
        1,
        "the window ended"
    );
}

#[tokio::test]
async fn a_manager_sees_the_queue_count_and_its_oldest_request() {
    let w = world().await;
    let manager = w.app.engineer_client(&w.manager).await;
    let html = engineer_home(&w.app, &manager).await;
    assert_eq!(one(&html, "#queue-count"), "0");
    assert!(one(&html, "#queue-empty").starts_with("No request is waiting for a manager."));

    let oldest = w.app.arrange_request(w.fabrikam, &w.other_engineer, None);
    w.app.clock.advance(Duration::minutes(10));
    w.app.arrange_request(w.contoso, &w.engineer, None);
    w.app.arrange_request(w.contoso, &w.engineer, None);
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let html = engineer_home(&w.app, &manager).await;
    assert_eq!(one(&html, "#queue-count"), "3");
    let facts = texts(&html, "#queue-oldest dd");
    assert_eq!(
        facts,
        vec![
            "SR-1000 · Fabrikam · Exchange Online".to_owned(),
            "eng2".to_owned(),
            "2026-03-02 09:00:00 UTC".to_owned(),
        ]
    );
    assert!(html.contains(&format!("href=\"/requests/{oldest}\"")));
    assert_eq!(
        texts(&html, "#queue-card a").last().map(String::as_str),
        Some("Open the approval queue")
    );

    let staff = w
        .app
        .create_staff("eng3@provider.example", StaffRole::Engineer);
    let engineer = w.app.engineer_client(&staff).await;
    let html = engineer_home(&w.app, &engineer).await;
    assert!(texts(&html, "#queue-count").is_empty());
}
