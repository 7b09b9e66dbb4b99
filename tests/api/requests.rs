//! The request lifecycle through the engineer portal.

use chrono::Duration;
use lockbox::{
    clock::Clock,
    requests::{Policy, commands as store},
};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{location, request_form, request_id_of, spawn_app, texts, world, world_with};

fn field_value(html: &str, selector: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).expect("selector");
    doc.select(&sel).next().map(|e| {
        e.value()
            .attr("value")
            .map(str::to_owned)
            .unwrap_or_else(|| e.text().collect())
    })
}

#[tokio::test]
async fn an_engineer_files_a_request_and_follows_it() {
    let w = world().await;
    let client = w.app.engineer_client(&w.engineer).await;

    let resp = w.app.file_request(&client, &request_form(w.contoso)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let id = request_id_of(&resp);

    let html = w
        .app
        .engineer_page(&client, &format!("/requests/{id}"))
        .await;
    assert_eq!(
        texts(&html, "[role=status]"),
        vec!["Your request was filed and waits for a support manager."]
    );
    assert_eq!(
        texts(&html, ".facts .badge"),
        vec!["Pending manager approval"]
    );
    assert!(texts(&html, ".facts dd").contains(&"SR-4711".to_owned()));
    assert!(texts(&html, ".facts dd").contains(&"Exchange Online".to_owned()));
    assert!(texts(&html, ".facts dd").contains(&"4 h".to_owned()));
    assert_eq!(texts(&html, ".timeline .what"), vec!["Request filed"]);

    let list = w.app.engineer_page(&client, "/requests").await;
    assert_eq!(texts(&list, "tbody tr td:first-child a"), vec!["SR-4711"]);
    assert_eq!(
        texts(&list, "tbody .badge"),
        vec!["Pending manager approval"]
    );
    assert_eq!(w.app.stored_status(id), "pending_manager");
}

#[tokio::test]
async fn my_requests_starts_empty_with_a_way_to_file_one() {
    let w = world().await;
    let client = w.app.engineer_client(&w.engineer).await;
    let html = w.app.engineer_page(&client, "/requests").await;
    assert_eq!(
        texts(&html, ".empty p:first-child"),
        vec!["You have not filed any access requests yet."]
    );
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field_and_keeps_what_was_typed() {
    let w = world().await;
    let client = w.app.engineer_client(&w.engineer).await;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "service_request",
            "S".repeat(65),
            "A service request number has at most 64 characters",
        ),
        (
            "service_request",
            "   ".into(),
            "Enter the service request number.",
        ),
        (
            "justification",
            "j".repeat(2001),
            "A justification has at most 2,000 characters and no control characters.",
        ),
        (
            "justification",
            String::new(),
            "Explain why you need access.",
        ),
        (
            "duration",
            "0".into(),
            "Choose a duration from 1 to 240 minutes.",
        ),
        (
            "duration",
            "241".into(),
            "Choose a duration from 1 to 240 minutes.",
        ),
        (
            "duration",
            "4h".into(),
            "Enter the duration as a whole number of minutes.",
        ),
        (
            "workload",
            "teams".into(),
            "Choose Exchange Online, SharePoint Online or OneDrive for Business.",
        ),
        (
            "tenant",
            Uuid::new_v4().to_string(),
            "Choose the customer organization.",
        ),
        (
            "tenant",
            "not-a-uuid".into(),
            "Choose the customer organization.",
        ),
    ];
    for (field, value, message) in cases {
        let mut form = request_form(w.contoso);
        for pair in form.iter_mut() {
            if pair.0 == field {
                pair.1 = value.clone();
            }
        }
        let resp = w.app.file_request(&client, &form).await;
        assert_eq!(
            resp.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value:?}"
        );
        let html = resp.text().await.expect("body");
        let errors = texts(&html, &format!("#{field}-error"));
        assert_eq!(errors.len(), 1, "{field}: an error next to the field");
        assert!(errors[0].starts_with(message), "{field}: {errors:?}");
        if field != "service_request" {
            assert_eq!(
                field_value(&html, "#service_request").as_deref(),
                Some("SR-4711"),
                "typed values kept"
            );
        }
        if field != "justification" {
            assert!(
                field_value(&html, "#justification")
                    .unwrap_or_default()
                    .starts_with("Mailbox does not sync")
            );
        }
    }
    let list = w.app.engineer_page(&client, "/requests").await;
    assert!(texts(&list, "tbody tr").is_empty(), "nothing was filed");
}

#[tokio::test]
async fn manager_approval_sends_a_lockbox_tenant_request_to_the_customer() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let id = w.app.filed_request(&engineer, w.contoso).await;

    let queue = w.app.engineer_page(&manager, "/queue").await;
    assert_eq!(texts(&queue, "tbody tr td:first-child a"), vec!["SR-4711"]);

    let resp = w
        .app
        .staff_decide(&manager, id, "approve", "Looks right")
        .await;
    assert_eq!(location(&resp), format!("/requests/{id}"));
    let html = w
        .app
        .engineer_page(&manager, &format!("/requests/{id}"))
        .await;
    assert_eq!(
        texts(&html, "[role=status]"),
        vec!["You approved the request; it now waits for the customer's approval."]
    );
    assert_eq!(
        texts(&html, ".facts .badge"),
        vec!["Pending customer approval"]
    );
    let expires = (w.app.clock.now() + Duration::hours(12))
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    assert!(
        texts(&html, ".facts dd").contains(&expires),
        "expires 12 h after the manager's approval"
    );
    assert_eq!(texts(&html, ".timeline .comment"), vec!["Looks right"]);
    assert_eq!(w.app.stored_status(id), "pending_customer");

    let mine = w.app.engineer_page(&engineer, "/requests").await;
    assert_eq!(
        texts(&mine, "tbody .badge"),
        vec!["Pending customer approval"]
    );
}

#[tokio::test]
async fn manager_approval_opens_access_at_once_when_the_tenant_has_lockbox_off() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let id = w.app.filed_request(&engineer, w.fabrikam).await;

    w.app.staff_decide(&manager, id, "approve", "").await;
    let html = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}"))
        .await;
    assert_eq!(texts(&html, ".facts .badge"), vec!["Approved"]);
    let ends = (w.app.clock.now() + Duration::hours(4))
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    assert!(
        texts(&html, ".facts dd").contains(&ends),
        "the window ends 4 h after approval"
    );
    assert_eq!(w.app.stored_status(id), "approved");
}

#[tokio::test]
async fn the_switch_value_at_manager_approval_decides() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let first = w.app.filed_request(&engineer, w.contoso).await;
    let mut form = request_form(w.contoso);
    form[2].1 = "sharepoint".into();
    let second = request_id_of(&w.app.file_request(&engineer, &form).await);

    w.app.set_lockbox(w.contoso, false); // filed while on, approved while off
    w.app.staff_decide(&manager, first, "approve", "").await;
    assert_eq!(w.app.stored_status(first), "approved");

    w.app.set_lockbox(w.contoso, true);
    w.app.staff_decide(&manager, second, "approve", "").await;
    assert_eq!(w.app.stored_status(second), "pending_customer");
}

#[tokio::test]
async fn a_manager_cannot_approve_or_reject_their_own_request() {
    let w = world().await;
    let manager = w.app.engineer_client(&w.manager).await;
    let id = w.app.filed_request(&manager, w.contoso).await;

    let queue = w.app.engineer_page(&manager, "/queue").await;
    assert!(
        texts(&queue, "tbody td")
            .iter()
            .any(|t| t.contains("another support manager must decide"))
    );
    assert!(
        !queue.contains(&format!("/requests/{id}/approve")),
        "no approve link for one's own request"
    );

    for action in ["approve", "reject"] {
        let resp = w.app.staff_decide(&manager, id, action, "").await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{action}");
        let html = resp.text().await.expect("body");
        assert_eq!(
            texts(&html, "[role=alert]"),
            vec!["You filed this request yourself; another support manager must decide it."]
        );
    }
    assert_eq!(w.app.stored_status(id), "pending_manager");
    assert_eq!(w.app.events_to(id, "pending_customer"), 0);
}

#[tokio::test]
async fn an_engineer_has_no_approval_queue_and_cannot_approve() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let other = w.app.engineer_client(&w.other_engineer).await;
    let id = w.app.filed_request(&engineer, w.contoso).await;

    assert_eq!(
        w.app.get_engineer(&other, "/queue").await.status(),
        StatusCode::FORBIDDEN
    );
    let home = w.app.engineer_page(&other, "/").await;
    assert!(!texts(&home, ".sidenav a").contains(&"Approval queue".to_owned()));
    let resp = w.app.staff_decide(&engineer, id, "approve", "").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "not even their own");
    assert_eq!(w.app.stored_status(id), "pending_manager");
}

#[tokio::test]
async fn an_engineer_cancels_their_own_pending_request_but_not_anothers() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let other = w.app.engineer_client(&w.other_engineer).await;
    let id = w.app.filed_request(&engineer, w.contoso).await;

    assert_eq!(
        w.app
            .get_engineer(&other, &format!("/requests/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let resp = w.app.staff_decide(&other, id, "cancel", "").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(w.app.stored_status(id), "pending_manager");

    let confirm = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}/cancel"))
        .await;
    assert_eq!(texts(&confirm, "h1"), vec!["Cancel this request?"]);
    let resp = w
        .app
        .staff_decide(&engineer, id, "cancel", "No longer needed")
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(w.app.stored_status(id), "cancelled");

    let again = w.app.staff_decide(&engineer, id, "cancel", "").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let html = again.text().await.expect("body");
    let alert = texts(&html, "[role=alert]");
    assert!(
        alert[0].starts_with("This request was already cancelled by eng at "),
        "{alert:?}"
    );
}

#[tokio::test]
async fn a_decision_comment_over_1000_characters_is_refused_and_kept() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let id = w.app.filed_request(&engineer, w.contoso).await;
    let long = "c".repeat(1001);
    let resp = w.app.staff_decide(&manager, id, "reject", &long).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.expect("body");
    assert_eq!(
        texts(&html, "#comment-error"),
        vec!["A comment has at most 1,000 characters and no control characters."]
    );
    assert_eq!(field_value(&html, "#comment").map(|v| v.len()), Some(1001));
    assert_eq!(w.app.stored_status(id), "pending_manager");
}

#[tokio::test]
async fn malformed_and_unknown_request_ids_answer_a_404_page() {
    let w = world().await;
    let manager = w.app.engineer_client(&w.manager).await;
    for path in [
        "/requests/not-a-uuid",
        &format!("/requests/{}", Uuid::new_v4()),
        "/requests/12345/approve",
    ] {
        let resp = w.app.get_engineer(&manager, path).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let html = resp.text().await.expect("body");
        assert_eq!(texts(&html, "h1"), vec!["Page not found"]);
    }
    let id = w.app.filed_request(&manager, w.contoso).await;
    assert_eq!(
        w.app
            .get_engineer(&manager, &format!("/requests/{id}/delete"))
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "unknown action"
    );
}

#[tokio::test]
async fn a_second_request_while_an_approved_window_is_open_is_refused() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let id = w.app.filed_request(&engineer, w.fabrikam).await;
    w.app.staff_decide(&manager, id, "approve", "").await;

    let resp = w
        .app
        .file_request(&engineer, &request_form(w.fabrikam))
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.expect("body");
    assert!(
        texts(&html, "[role=alert]")[0].starts_with(
            "You already have approved access to this organization and workload until"
        )
    );
    assert_eq!(
        field_value(&html, "#service_request").as_deref(),
        Some("SR-4711")
    );

    let mut other_workload = request_form(w.fabrikam);
    other_workload[2].1 = "onedrive".into();
    assert_eq!(
        w.app
            .file_request(&engineer, &other_workload)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    w.app.clock.advance(Duration::hours(4)); // the window closes
    let engineer = w.app.engineer_client(&w.engineer).await;
    assert_eq!(
        w.app
            .file_request(&engineer, &request_form(w.fabrikam))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn of_twenty_concurrent_decisions_exactly_one_wins() {
    // 21 sign-ins from one address: more than the per-address rate limit
    // lets through.
    let w = crate::helpers::world_with(|s| {
        s.sign_in_rate = lockbox::config::RateQuota::UNLIMITED;
    })
    .await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let id = w.app.filed_request(&engineer, w.contoso).await;
    let mut managers = Vec::new();
    for i in 0..4 {
        let m = w.app.create_staff(
            &format!("m{i}@provider.example"),
            lockbox::staff::StaffRole::Manager,
        );
        managers.push(m);
    }
    let mut clients = Vec::new();
    for i in 0..20 {
        clients.push(w.app.engineer_client(&managers[i % 4]).await);
    }
    // Each takes its confirmation page first, then all submit at once.
    let mut tokens = Vec::new();
    for c in &clients {
        let page = w
            .app
            .engineer_page(c, &format!("/requests/{id}/approve"))
            .await;
        tokens.push(crate::helpers::csrf_of(&page));
    }
    let url = format!("{}/requests/{id}/", w.app.engineer_url);
    let sends = clients
        .iter()
        .zip(tokens)
        .enumerate()
        .map(|(i, (c, token))| {
            let action = if i % 2 == 0 { "approve" } else { "reject" };
            c.post(format!("{url}{action}"))
                .form(&[("csrf_token", token.as_str()), ("comment", "race")])
                .send()
        });
    let results = futures::future::join_all(sends).await;
    let statuses: Vec<StatusCode> = results
        .into_iter()
        .map(|r| r.expect("response").status())
        .collect();
    let winners = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    let losers = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((winners, losers), (1, 19), "{statuses:?}");
    let decided = w.app.events_to(id, "pending_customer") + w.app.events_to(id, "rejected");
    assert_eq!(decided, 1, "one recorded transition");
}

#[tokio::test]
async fn a_pending_request_is_expired_the_instant_its_deadline_passes_on_every_page() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let id = w.app.filed_request(&engineer, w.contoso).await;
    w.app.staff_decide(&manager, id, "approve", "").await;
    let deadline = w.app.clock.now() + Duration::hours(12);

    w.app.clock.set(deadline - Duration::microseconds(1));
    // Twelve hours later the old session is long gone: sign in again.
    let engineer = w.app.engineer_client(&w.engineer).await;
    let list = w.app.engineer_page(&engineer, "/requests").await;
    assert_eq!(
        texts(&list, "tbody .badge"),
        vec!["Pending customer approval"]
    );

    w.app.clock.set(deadline);
    let engineer = w.app.engineer_client(&w.engineer).await;
    let list = w.app.engineer_page(&engineer, "/requests").await;
    assert_eq!(
        texts(&list, "tbody .badge"),
        vec!["Expired"],
        "before any sweeper ran"
    );
    assert_eq!(
        w.app.stored_status(id),
        "pending_customer",
        "nothing recorded yet"
    );

    let resp = w.app.staff_decide(&engineer, id, "cancel", "").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.expect("body");
    let at = deadline.format("%Y-%m-%d %H:%M:%S UTC");
    assert_eq!(
        texts(&html, "[role=alert]"),
        vec![format!("This request expired at {at}.")]
    );
    assert_eq!(
        w.app.stored_status(id),
        "expired",
        "the refused decision recorded what time decided"
    );
    assert_eq!(w.app.events_to(id, "expired"), 1);
}

#[tokio::test]
async fn the_sweeper_records_expiries_and_window_ends_once() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let pending = w.app.filed_request(&engineer, w.contoso).await;
    w.app.staff_decide(&manager, pending, "approve", "").await;
    let open = w.app.filed_request(&engineer, w.fabrikam).await;
    w.app.staff_decide(&manager, open, "approve", "").await;

    let policy = Policy::default();
    let now = w.app.clock.now();
    assert_eq!(
        store::sweep(
            &mut w.app.conn(),
            now + Duration::hours(4) - Duration::microseconds(1),
            &policy,
            100
        )
        .expect("sweep"),
        0
    );
    assert_eq!(
        store::sweep(&mut w.app.conn(), now + Duration::hours(4), &policy, 100).expect("sweep"),
        1
    );
    assert_eq!(w.app.stored_status(open), "ended");

    // Two sweepers at once, twice over: one record.
    let later = now + Duration::hours(13);
    let pool = w.app.pool.clone();
    let a = std::thread::spawn({
        let pool = pool.clone();
        move || store::sweep(&mut pool.get().expect("conn"), later, &policy, 100).expect("sweep")
    });
    let b = std::thread::spawn(move || {
        store::sweep(&mut pool.get().expect("conn"), later, &policy, 100).expect("sweep")
    });
    let total = a.join().expect("a") + b.join().expect("b");
    assert_eq!(total, 1);
    assert_eq!(
        store::sweep(&mut w.app.conn(), later, &policy, 100).expect("sweep"),
        0,
        "idempotent"
    );
    assert_eq!(w.app.stored_status(pending), "expired");
    assert_eq!(w.app.events_to(pending, "expired"), 1);
    assert_eq!(w.app.events_to(open, "ended"), 1);

    w.app.clock.set(later);
    let engineer = w.app.engineer_client(&w.engineer).await;
    let html = w
        .app
        .engineer_page(&engineer, &format!("/requests/{open}"))
        .await;
    assert_eq!(
        texts(&html, ".timeline .what").last().map(String::as_str),
        Some("Access window ended; access revoked automatically")
    );
}

#[tokio::test]
async fn an_approved_window_ends_the_instant_it_closes() {
    let w = world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let mut form = request_form(w.fabrikam);
    form[3].1 = "30".into();
    let id = request_id_of(&w.app.file_request(&engineer, &form).await);
    w.app.staff_decide(&manager, id, "approve", "").await;
    let end = w.app.clock.now() + Duration::minutes(30);

    w.app.clock.set(end - Duration::microseconds(1));
    let html = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}"))
        .await;
    assert_eq!(texts(&html, ".facts .badge"), vec!["Approved"]);
    w.app.clock.set(end);
    let engineer = w.app.engineer_client(&w.engineer).await;
    let html = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}"))
        .await;
    assert_eq!(texts(&html, ".facts .badge"), vec!["Ended"]);
}

#[tokio::test]
async fn a_configured_pending_lifetime_and_window_apply() {
    let w = world_with(|s| {
        s.pending_lifetime = Duration::minutes(5);
        s.max_window = Duration::minutes(60);
    })
    .await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let mut form = request_form(w.contoso);
    form[3].1 = "61".into();
    let resp = w.app.file_request(&engineer, &form).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        texts(&resp.text().await.expect("body"), "#duration-error")[0].contains("1 to 60 minutes")
    );

    form[3].1 = "60".into();
    let id = request_id_of(&w.app.file_request(&engineer, &form).await);
    w.app.staff_decide(&manager, id, "approve", "").await;
    w.app.clock.advance(Duration::minutes(5));
    let list = w.app.engineer_page(&engineer, "/requests").await;
    assert_eq!(texts(&list, "tbody .badge"), vec!["Expired"]);
}

#[tokio::test]
async fn the_sql_time_rule_agrees_with_the_machine_at_every_boundary() {
    use lockbox::{
        identity::StaffId,
        requests::{Snapshot, Status, queries},
    };
    let app = spawn_app().await;
    let deadline = app.clock_now() + Duration::hours(12);
    let mut checked = 0;
    for status in Status::ALL {
        for (expires_at, ends_at) in [
            (Some(deadline), None),
            (None, Some(deadline)),
            (Some(deadline), Some(deadline)),
            (None, None),
        ] {
            let snap = Snapshot {
                status,
                engineer_id: StaffId(Uuid::nil()),
                duration: Duration::hours(4),
                expires_at,
                ends_at,
            };
            for at in [
                deadline - Duration::microseconds(1),
                deadline,
                deadline + Duration::microseconds(1),
            ] {
                let sql = queries::effective_in_sql(&mut app.conn(), &snap, at).expect("query");
                assert_eq!(
                    sql,
                    Some(snap.effective(at).0),
                    "{status:?} expires {expires_at:?} ends {ends_at:?} at {at}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 9 * 4 * 3);
}
