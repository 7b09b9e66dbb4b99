//! Issue 22, point 3: every time on the pages of both portals and in mail
//! is in the reader's time zone (their choice on Account › Time zone, else
//! their organisation's, else UTC) with its abbreviation; the audit
//! search reads start and end in it; the records and exports stay UTC.
//! Europe/Amsterdam around both of 2026's clock changes: 29 March, 01:00
//! UTC (02:00 CET becomes 03:00 CEST) and 25 October, 01:00 UTC (03:00
//! CEST becomes 02:00 CET).

use chrono::{DateTime, TimeZone, Utc};
use lockbox::{
    i18n::Tz,
    notify::{language, time_zone},
};
use reqwest::StatusCode;

use crate::{
    helpers::{TestApp, TestUser, smtp_to, texts, world, world_with},
    smtp::SmtpServer,
};

const PAGE: &str = "/account/time-zone";
const ORG: &str = "/settings/org/lockbox";
const LIST: &str = "/support/lockbox/requests";
const AMSTERDAM: Tz = chrono_tz::Europe::Amsterdam;

fn utc(month: u32, day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, h, m, 0)
        .single()
        .expect("a time")
}

/// `user` (a tenant user) reads times in `zone` from now on.
fn choose(app: &TestApp, realm: &str, user: &TestUser, zone: Option<Tz>) {
    time_zone::choose(&mut app.conn(), realm, user.id, zone, app.clock_now()).expect("chosen");
}

/// The "Requested at" cells of a request list.
fn requested_at(html: &str) -> Vec<String> {
    texts(html, "table td")
        .into_iter()
        .filter(|t| t.starts_with("2026-"))
        .collect()
}

#[tokio::test]
async fn pages_of_both_portals_show_times_in_the_readers_zone_across_both_dst_switches() {
    let w = world().await;
    let c = w.customers();
    // Four requests, a minute either side of each switch (two engineers,
    // so no request stands in another's way).
    for (at, engineer) in [
        (utc(3, 29, 0, 59), &w.engineer),
        (utc(3, 29, 1, 0), &w.other_engineer),
        (utc(10, 25, 0, 30), &w.engineer),
        (utc(10, 25, 1, 30), &w.other_engineer),
    ] {
        w.app.clock.set(at);
        w.app.arrange_request(w.contoso, engineer, Some(&w.manager));
    }
    choose(&w.app, language::ADMIN, &c.approver, Some(AMSTERDAM));
    choose(&w.app, language::ENGINEER, &w.engineer, Some(AMSTERDAM));

    let approver = w.app.admin_client(&c.approver).await;
    let mut shown = requested_at(&w.app.admin_page(&approver, LIST).await);
    shown.sort();
    assert_eq!(
        shown,
        [
            "2026-03-29 01:59:00 CET",
            "2026-03-29 03:00:00 CEST",
            "2026-10-25 02:30:00 CEST",
            "2026-10-25 02:30:00 CET",
        ],
        "the approver reads Amsterdam time"
    );
    // Another person of the tenant chose nothing: UTC, as before.
    let admin = w.app.admin_client(&c.admin).await;
    let mut shown = requested_at(&w.app.admin_page(&admin, LIST).await);
    shown.sort();
    assert_eq!(
        shown,
        [
            "2026-03-29 00:59:00 UTC",
            "2026-03-29 01:00:00 UTC",
            "2026-10-25 00:30:00 UTC",
            "2026-10-25 01:30:00 UTC",
        ]
    );

    // The engineer portal: the engineer's own requests, in their zone.
    let engineer = w.app.engineer_client(&w.engineer).await;
    let mut shown = requested_at(&w.app.engineer_page(&engineer, "/requests").await);
    shown.sort();
    assert_eq!(
        shown,
        ["2026-03-29 01:59:00 CET", "2026-10-25 02:30:00 CEST"]
    );
    let other = w.app.engineer_client(&w.other_engineer).await;
    let shown = requested_at(&w.app.engineer_page(&other, "/requests").await);
    assert!(
        shown.iter().all(|t| t.ends_with(" UTC")) && shown.len() == 2,
        "{shown:?}"
    );
}

#[tokio::test]
async fn mail_shows_times_in_each_recipients_zone_at_a_dst_boundary() {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let w = world_with(move |s| smtp_to(s, port)).await;
    let c = w.customers();
    choose(&w.app, language::ADMIN, &c.approver, Some(AMSTERDAM));
    // Filed 12 hours (the pending lifetime) before 01:00 UTC on 29 March:
    // the request expires as summer time starts.
    w.app.clock.set(utc(3, 28, 13, 0));
    w.app
        .arrange_request(w.contoso, &w.other_engineer, Some(&w.manager));
    // The same before 01:30 UTC on 25 October: it expires half an hour
    // after summer time ends.
    w.app.clock.set(utc(10, 24, 13, 30));
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.deliver_mail().await;

    let bodies = |to: &str| -> String {
        smtp.messages()
            .iter()
            .filter(|m| m.to[0] == to)
            .map(|m| format!("{}\n{}", m.subject(), m.bodies()))
            .collect()
    };
    let approver = bodies(&c.approver.email);
    for expected in ["2026-10-25 02:30:00 CET", "2026-03-29 03:00:00 CEST"] {
        assert!(approver.contains(expected), "{expected} in {approver}");
    }
    let utc_at = approver
        .find(" UTC")
        .map(|i| &approver[i.saturating_sub(80)..i + 4]);
    assert_eq!(utc_at, None, "no time in UTC");
    // The tenant's administrator chose nothing: UTC.
    let admin = bodies(&c.admin.email);
    for expected in ["2026-10-25 01:30:00 UTC", "2026-03-29 01:00:00 UTC"] {
        assert!(admin.contains(expected), "{expected} in {admin}");
    }
    assert!(!admin.contains("CEST"), "{admin}");
}

#[tokio::test]
async fn the_audit_search_reads_start_and_end_in_the_users_zone() {
    let w = world().await;
    let c = w.customers();
    choose(&w.app, language::ADMIN, &c.approver, Some(AMSTERDAM));
    // Two sign-ins of the administrator, a minute either side of 01:00
    // UTC on 29 March, the moment the clocks in Amsterdam go forward.
    for at in [utc(3, 29, 0, 59), utc(3, 29, 1, 1)] {
        w.app.clock.set(at);
        w.app.admin_client(&c.admin).await;
    }
    w.app.clock.set(utc(3, 29, 9, 0));
    let approver = w.app.admin_client(&c.approver).await;
    let search =
        |start: &str, end: &str| format!("/audit?activity=UserLoggedIn&start={start}&end={end}");
    let times =
        |html: &str| -> Vec<String> { texts(html, "#audit-results tbody tr td:first-child") };

    // 03:00–03:01 in Amsterdam is 01:00–01:01:59 UTC: the later sign-in only.
    let page = w
        .app
        .admin_page(&approver, &search("2026-03-29T03:00", "2026-03-29T03:01"))
        .await;
    assert_eq!(times(&page), ["2026-03-29 03:01:00 CEST"]);
    assert!(
        texts(&page, "#audit-zone")[0].contains("Europe/Amsterdam"),
        "the zone is stated next to the fields"
    );
    // Until 01:58 (CET) ends a minute before the earlier sign-in (00:59 UTC);
    // until 01:59 takes it in.
    let page = w
        .app
        .admin_page(&approver, &search("2026-03-29T01:00", "2026-03-29T01:58"))
        .await;
    assert!(times(&page).is_empty(), "{:?}", times(&page));
    let page = w
        .app
        .admin_page(&approver, &search("2026-03-29T01:00", "2026-03-29T01:59"))
        .await;
    assert_eq!(times(&page), ["2026-03-29 01:59:00 CET"]);

    // The same words from someone who reads UTC: 03:00–03:01 UTC, no sign-in.
    let admin = w.app.admin_client(&c.admin).await;
    let page = w
        .app
        .admin_page(&admin, &search("2026-03-29T03:00", "2026-03-29T03:01"))
        .await;
    assert!(times(&page).is_empty(), "{:?}", times(&page));
    assert!(texts(&page, "#audit-zone")[0].contains("UTC"));
}

#[tokio::test]
async fn the_organisations_zone_is_the_default_until_a_user_chooses_their_own() {
    let w = world().await;
    let c = w.customers();
    w.app.clock.set(utc(10, 25, 1, 30));
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.arrange_request(w.fabrikam, &w.other_engineer, None);
    let admin = w.app.admin_client(&c.admin).await;
    let approver = w.app.admin_client(&c.approver).await;

    // Only a global administrator sets it, and only to a zone of the list.
    let refused = w
        .app
        .admin_post(
            &approver,
            ORG,
            "/settings/org/time-zone",
            &[("time_zone", "Europe/Amsterdam")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let bad = w
        .app
        .admin_post(
            &admin,
            ORG,
            "/settings/org/time-zone",
            &[("time_zone", "Europe/Atlantis")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.expect("body");
    assert_eq!(
        texts(&html, "#org_time_zone option[selected]"),
        ["Europe/Atlantis"],
        "what was sent is kept"
    );
    assert_eq!(texts(&html, "#org-time-zone-error").len(), 1);
    let saved = w
        .app
        .admin_post(
            &admin,
            ORG,
            "/settings/org/time-zone",
            &[("time_zone", "Europe/Amsterdam")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    // Everyone of Contoso without a choice now reads Amsterdam time.
    let list = w.app.admin_page(&approver, LIST).await;
    assert_eq!(requested_at(&list), ["2026-10-25 02:30:00 CET"]);
    let page = w.app.admin_page(&approver, PAGE).await;
    assert_eq!(
        texts(&page, "#time_zone option[selected]"),
        ["My organization's time zone (Europe/Amsterdam)"]
    );
    // The approver's settings page shows the setting read-only.
    let settings = w.app.admin_page(&approver, ORG).await;
    assert!(texts(&settings, "#org-time-zone-value")[0].contains("Europe/Amsterdam"));
    // Their own choice wins over the organisation's.
    choose(
        &w.app,
        language::ADMIN,
        &c.approver,
        Some(chrono_tz::America::New_York),
    );
    let list = w.app.admin_page(&approver, LIST).await;
    assert_eq!(requested_at(&list), ["2026-10-24 21:30:00 EDT"]);
    // Another organisation keeps UTC.
    let fabrikam = w.app.admin_client(&c.fabrikam_admin).await;
    let list = w.app.admin_page(&fabrikam, LIST).await;
    assert_eq!(requested_at(&list), ["2026-10-25 01:30:00 UTC"]);
    // The change is in Contoso's audit log.
    let audit = w
        .app
        .admin_page(&admin, "/audit?activity=Set-OrganizationConfig")
        .await;
    assert!(
        texts(&audit, "#audit-results tbody td")
            .iter()
            .any(|t| t.contains("TimeZone: Europe/Amsterdam")),
        "{audit}"
    );
}

#[tokio::test]
async fn the_time_zone_page_saves_a_zone_refuses_another_keeping_it_and_leaves_others_alone() {
    let w = world().await;
    let c = w.customers();
    let approver = w.app.admin_client(&c.approver).await;
    let page = w.app.admin_page(&approver, PAGE).await;
    assert_eq!(
        texts(&page, "#time_zone option[selected]"),
        ["My organization's time zone (UTC)"]
    );
    assert!(texts(&page, "#time_zone option").len() > 300, "IANA zones");

    let saved = w
        .app
        .admin_post(&approver, PAGE, PAGE, &[("time_zone", "Europe/Amsterdam")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let page = w.app.admin_page(&approver, PAGE).await;
    assert_eq!(texts(&page, "[role=status]"), ["Your time zone is saved."]);
    assert_eq!(
        texts(&page, "#time_zone option[selected]"),
        ["Europe/Amsterdam"]
    );
    assert_eq!(
        texts(&page, "#time-zone-current"),
        ["Times are now shown in Europe/Amsterdam."]
    );

    // Not a zone of the list: 422, what was sent kept, nothing changed.
    let bad = w
        .app
        .admin_post(&approver, PAGE, PAGE, &[("time_zone", "Mars/Olympus_Mons")])
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.expect("body");
    assert_eq!(
        texts(&html, "#time_zone option[selected]"),
        ["Mars/Olympus_Mons"]
    );
    assert_eq!(
        texts(&html, "#time-zone-error"),
        ["Choose a time zone from the list."]
    );
    let zone = |u: &TestUser, realm| time_zone::of(&mut w.app.conn(), realm, u.id).expect("zone");
    assert_eq!(zone(&c.approver, language::ADMIN), AMSTERDAM);
    // Without the CSRF token: refused before anything happens.
    let forged = approver
        .post(format!("{}{PAGE}", w.app.admin_url))
        .form(&[("time_zone", "Asia/Tokyo")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(zone(&c.approver, language::ADMIN), AMSTERDAM);

    // Nobody else's zone moved.
    assert_eq!(zone(&c.admin, language::ADMIN), Tz::UTC);
    let admin = w.app.admin_client(&c.admin).await;
    let page = w.app.admin_page(&admin, PAGE).await;
    assert_eq!(
        texts(&page, "#time-zone-current"),
        ["Times are now shown in UTC."]
    );

    // The engineer portal has the page too, in Dutch as well; back to the
    // default is a choice of its own.
    let engineer = w.app.engineer_client(&w.engineer).await;
    w.app.get_engineer(&engineer, "/lang?to=nl&back=/").await;
    let page = w.app.engineer_page(&engineer, PAGE).await;
    assert_eq!(texts(&page, "h1"), ["Tijdzone"]);
    assert_eq!(
        texts(&page, "#time_zone option[selected]"),
        ["UTC (de standaard)"]
    );
    let saved = w
        .app
        .engineer_post(&engineer, PAGE, PAGE, &[("time_zone", "Asia/Tokyo")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        zone(&w.engineer, language::ENGINEER),
        chrono_tz::Asia::Tokyo
    );
    assert_eq!(zone(&w.other_engineer, language::ENGINEER), Tz::UTC);
    let back = w
        .app
        .engineer_post(&engineer, PAGE, PAGE, &[("time_zone", "follow")])
        .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(zone(&w.engineer, language::ENGINEER), Tz::UTC);
}

#[tokio::test]
async fn exports_say_their_times_are_utc_whatever_the_readers_zone() {
    let w = world().await;
    let c = w.customers();
    choose(&w.app, language::ADMIN, &c.admin, Some(AMSTERDAM));
    w.app.clock.set(utc(3, 29, 1, 0));
    let admin = w.app.admin_client(&c.admin).await;

    let csv = w
        .app
        .admin_page(&admin, "/audit/export.csv?activity=UserLoggedIn")
        .await;
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .expect("header")
            .starts_with("id,occurred_at_utc,"),
        "{csv}"
    );
    assert!(
        lines
            .next()
            .expect("a record")
            .contains(",2026-03-29T01:00:00.000000Z,"),
        "{csv}"
    );
    let jsonl = w
        .app
        .admin_page(&admin, "/audit/export.jsonl?activity=UserLoggedIn")
        .await;
    let record: serde_json::Value =
        serde_json::from_str(jsonl.lines().next().expect("a record")).expect("json");
    assert_eq!(record["occurred_at"], "2026-03-29T01:00:00.000000Z");
    // The page says so next to the export links, and the record's page
    // gives the recorded UTC time beside the reader's.
    let page = w
        .app
        .admin_page(&admin, "/audit?activity=UserLoggedIn")
        .await;
    assert_eq!(
        texts(&page, "#audit-export-utc"),
        ["Exports give every time in UTC (as recorded)."]
    );
    let id = record["id"].as_i64().expect("id");
    let page = w
        .app
        .admin_page(&admin, &format!("/audit/records/{id}"))
        .await;
    assert!(page.contains("2026-03-29 03:00:00 CEST"), "{page}");
    assert_eq!(texts(&page, "#record-utc"), ["2026-03-29T01:00:00.000000Z"]);
}

#[tokio::test]
async fn the_access_sessions_results_show_times_in_the_engineers_zone() {
    let w = world().await;
    w.app.clock.set(utc(3, 29, 6, 0));
    w.app.seed_content(w.fabrikam, "fabrikam.example");
    let id = w
        .app
        .approved_request(w.fabrikam, &w.engineer, &w.manager, "exchange");
    choose(&w.app, language::ENGINEER, &w.engineer, Some(AMSTERDAM));
    let engineer = w.app.engineer_client(&w.engineer).await;
    let resp = w
        .app
        .run_operation(&engineer, id, &[("operation", "Get-MessageTrace")])
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cells = texts(&resp.text().await.expect("body"), "#results td");
    let times: Vec<&String> = cells.iter().filter(|c| c.starts_with("2026-")).collect();
    assert!(!times.is_empty(), "{cells:?}");
    assert!(
        times
            .iter()
            .all(|t| t.ends_with(":00 CET") || t.ends_with(":00 CEST")),
        "{times:?}"
    );
}
