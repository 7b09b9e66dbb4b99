//! The admin center: the Lockbox switch, the request list and decisions,
//! roles, and tenant isolation.

use chrono::Duration;
use lockbox::clock::Clock;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{location, texts, world};

const SETTINGS: &str = "/settings/org/lockbox";
const LIST: &str = "/support/lockbox/requests";

#[tokio::test]
async fn a_global_admin_turns_lockbox_off_after_confirming_and_on_again() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;

    let html = w.app.admin_page(&admin, SETTINGS).await;
    assert_eq!(
        texts(&html, "label[for=require_approval]"),
        vec!["Require approval for all data access requests"]
    );
    assert!(html.contains("checked"), "on for Contoso");

    // Unticking asks first and changes nothing yet.
    let resp = w.app.admin_post(&admin, SETTINGS, SETTINGS, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.expect("body");
    assert_eq!(
        texts(&html, "[role=alert] h2"),
        vec!["Turn off Customer Lockbox?"]
    );
    assert!(lockbox::tenants::lockbox_enabled(&mut w.app.conn(), w.contoso).expect("read"));

    let resp = w
        .app
        .admin_post(&admin, SETTINGS, SETTINGS, &[("confirm", "yes")])
        .await;
    assert_eq!(location(&resp), SETTINGS);
    let html = w.app.admin_page(&admin, SETTINGS).await;
    assert_eq!(
        texts(&html, "[role=status]"),
        vec!["Customer Lockbox is now off."]
    );
    assert!(!lockbox::tenants::lockbox_enabled(&mut w.app.conn(), w.contoso).expect("read"));

    w.app
        .admin_post(&admin, SETTINGS, SETTINGS, &[("require_approval", "on")])
        .await;
    assert!(lockbox::tenants::lockbox_enabled(&mut w.app.conn(), w.contoso).expect("read"));
}

#[tokio::test]
async fn approvers_see_the_switch_read_only_and_cannot_change_it() {
    let w = world().await;
    let c = w.customers();
    let approver = w.app.admin_client(&c.approver).await;
    let html = w.app.admin_page(&approver, SETTINGS).await;
    assert!(html.contains("disabled"));
    assert!(html.contains("Only a global administrator can change this setting."));
    assert!(
        !html.contains("action=\"/settings/org/lockbox\""),
        "no form"
    );

    let token = crate::helpers::csrf_of(&html);
    let resp = approver
        .post(format!("{}{SETTINGS}", w.app.admin_url))
        .form(&[("csrf_token", token.as_str()), ("confirm", "yes")])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(lockbox::tenants::lockbox_enabled(&mut w.app.conn(), w.contoso).expect("read"));
}

#[tokio::test]
async fn plain_users_get_403_on_every_admin_page_and_action() {
    let w = world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let user = w.app.admin_client(&c.user).await;
    for path in [
        SETTINGS,
        LIST,
        &format!("{LIST}/{id}"),
        &format!("{LIST}/{id}/approve"),
        "/roles",
    ] {
        let resp = w.app.get_admin(&user, path).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        let html = resp.text().await.expect("body");
        assert_eq!(
            texts(&html, "h1"),
            vec!["You don't have access to Customer Lockbox"],
            "{path}"
        );
    }
    let resp = w.app.customer_decide(&user, id, "approve", "").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(w.app.stored_status(id), "pending_customer");
}

#[tokio::test]
async fn turning_lockbox_off_lets_the_next_request_skip_the_customer() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    w.app
        .admin_post(&admin, SETTINGS, SETTINGS, &[("confirm", "yes")])
        .await;

    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let id = w.app.filed_request(&engineer, w.contoso).await;
    w.app.staff_decide(&manager, id, "approve", "").await;
    assert_eq!(w.app.stored_status(id), "approved");
}

#[tokio::test]
async fn the_list_shows_pending_first_then_history_with_staff_ids_not_names() {
    let w = world().await;
    let c = w.customers();
    let cancelled = w.app.arrange_request(w.contoso, &w.engineer, None);
    w.app.arrange_cancel(cancelled, &w.engineer);
    w.app.clock.advance(Duration::minutes(1));
    let pending = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.arrange_request(w.fabrikam, &w.engineer, None); // another tenant's

    let approver = w.app.admin_client(&c.approver).await;
    let html = w.app.admin_page(&approver, LIST).await;
    assert_eq!(
        texts(&html, "tbody .badge"),
        vec!["Pending customer approval", "Cancelled"]
    );
    let links: Vec<String> = texts(&html, "tbody tr td:first-child a");
    assert_eq!(links.len(), 2, "only Contoso's requests");
    assert!(html.contains(&format!("{LIST}/{pending}")));
    let requester = w.engineer.staff_id().public_id();
    assert!(texts(&html, "tbody td").contains(&requester));
    assert!(!html.contains("eng@provider.example"), "no staff e-mail");
    assert!(
        texts(&html, "tbody td")
            .iter()
            .any(|t| t.starts_with("Expires at: "))
    );
    assert!(texts(&html, "thead th").contains(&"Requested duration".to_owned()));
}

#[tokio::test]
async fn the_list_filters_by_state_and_date_and_refuses_bad_filters() {
    let w = world().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager)); // 2026-03-02
    w.app.clock.advance(Duration::days(2));
    w.app.arrange_request(w.contoso, &w.engineer, None); // 2026-03-04
    let admin = w.app.admin_client(&c.admin).await;

    let get = |q: &'static str| {
        let (app, admin) = (&w.app, &admin);
        async move { app.get_admin(admin, &format!("{LIST}?{q}")).await }
    };
    let html = get("state=pending_manager")
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(
        texts(&html, "tbody .badge"),
        vec!["Pending manager approval"]
    );
    // Two days on, the customer's 12 hours are long over: the filter sees
    // the effective state.
    let html = get("from=2026-03-01&until=2026-03-02")
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(texts(&html, "tbody .badge"), vec!["Expired"]);
    let html = get("state=expired").await.text().await.expect("body");
    assert_eq!(texts(&html, "tbody .badge"), vec!["Expired"]);
    let html = get("from=2026-03-03").await.text().await.expect("body");
    assert_eq!(
        texts(&html, "tbody .badge"),
        vec!["Pending manager approval"]
    );
    let html = get("state=denied").await.text().await.expect("body");
    assert_eq!(
        texts(&html, ".empty p"),
        vec!["No requests match these filters."]
    );

    let resp = get("from=2026-03-05&until=2026-03-01").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let html = resp.text().await.expect("body");
    assert_eq!(
        texts(&html, "[role=alert]"),
        vec!["The \"until\" date is before the \"from\" date."]
    );
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("#from").expect("selector");
    assert_eq!(
        doc.select(&sel)
            .next()
            .and_then(|e| e.value().attr("value")),
        Some("2026-03-05"),
        "kept"
    );
    assert_eq!(
        get("from=03/05/2026").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(get("state=bogus").await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_list_pages_by_keyset_without_repeats_or_gaps() {
    let w = world().await;
    let c = w.customers();
    let mut ids = Vec::new();
    for i in 0..30 {
        w.app.clock.advance(Duration::seconds(1));
        // Every third one waits for the customer; the others are history.
        let id = w
            .app
            .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
        if i % 3 != 0 {
            w.app.arrange_cancel(id, &w.engineer);
        }
        ids.push(id);
    }
    let admin = w.app.admin_client(&c.admin).await;
    let mut seen = Vec::new();
    let mut path = LIST.to_owned();
    let mut pages = 0;
    loop {
        let html = w.app.admin_page(&admin, &path).await;
        let doc = scraper::Html::parse_document(&html);
        let link = scraper::Selector::parse("tbody td:first-child a").expect("selector");
        seen.extend(
            doc.select(&link)
                .filter_map(|a| a.value().attr("href").map(str::to_owned)),
        );
        pages += 1;
        let next = scraper::Selector::parse("a[rel=next]").expect("selector");
        match doc
            .select(&next)
            .next()
            .and_then(|a| a.value().attr("href"))
        {
            Some(href) => path = href.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 30);
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 30, "no row twice");
    // The ten pending ones come first, newest first.
    let pending: Vec<String> = ids
        .iter()
        .step_by(3)
        .rev()
        .map(|id| format!("{LIST}/{id}"))
        .collect();
    assert_eq!(seen[..10], pending[..]);
}

#[tokio::test]
async fn an_empty_list_explains_customer_lockbox_and_its_state() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.fabrikam_admin).await;
    let html = w.app.admin_page(&admin, LIST).await;
    assert_eq!(
        texts(&html, ".empty h2"),
        vec!["No Customer Lockbox requests yet"]
    );
    assert!(texts(&html, ".empty .badge-off")[0].starts_with("Customer Lockbox is off"));
}

#[tokio::test]
async fn an_approver_approves_with_a_comment_and_sees_the_confirmation() {
    let w = world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let approver = w.app.admin_client(&c.approver).await;

    let confirm = w
        .app
        .admin_page(&approver, &format!("{LIST}/{id}/approve"))
        .await;
    assert_eq!(texts(&confirm, "h1"), vec!["Approve this request?"]);
    assert_eq!(
        w.app.stored_status(id),
        "pending_customer",
        "asking changes nothing"
    );

    let resp = w
        .app
        .customer_decide(&approver, id, "approve", "OK for this ticket")
        .await;
    assert_eq!(location(&resp), format!("{LIST}/{id}"));
    let html = w.app.admin_page(&approver, &format!("{LIST}/{id}")).await;
    let ends = (w.app.clock.now() + Duration::hours(4)).format("%Y-%m-%d %H:%M:%S UTC");
    assert_eq!(
        texts(&html, "[role=status]"),
        vec![format!(
            "You approved request {id}; access ends at {ends}. Its signed receipt is under “Signed receipts” below."
        )]
    );
    assert_eq!(texts(&html, ".facts .badge"), vec!["Approved"]);
    let whats = texts(&html, ".timeline .what");
    assert_eq!(
        whats,
        vec![
            "Request filed",
            "Approved by a support manager",
            "Approved by the customer"
        ]
    );
    let whos = texts(&html, ".timeline .who");
    let staff = w.engineer.staff_id().public_id();
    assert_eq!(whos[0], staff, "staff by id");
    assert_eq!(whos[2], "Contoso approver");
    assert_eq!(
        texts(&html, ".timeline .comment"),
        vec!["OK for this ticket"]
    );

    let engineer = w.app.engineer_client(&w.engineer).await;
    let html = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}"))
        .await;
    assert_eq!(texts(&html, ".facts .badge"), vec!["Approved"]);
    assert!(texts(&html, ".facts dd").contains(&ends.to_string()));
}

#[tokio::test]
async fn a_global_admin_denies_cancels_and_revokes() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;

    let denied = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app
        .customer_decide(&admin, denied, "deny", "Not now")
        .await;
    assert_eq!(w.app.stored_status(denied), "denied");

    let cancelled = w.app.arrange_request(w.contoso, &w.other_engineer, None);
    w.app.customer_decide(&admin, cancelled, "cancel", "").await;
    assert_eq!(w.app.stored_status(cancelled), "cancelled");

    let approved = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.customer_decide(&admin, approved, "approve", "").await;
    let resp = w
        .app
        .customer_decide(&admin, approved, "revoke", "Done")
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(w.app.stored_status(approved), "revoked");
    let html = w
        .app
        .admin_page(&admin, &format!("{LIST}/{approved}"))
        .await;
    assert_eq!(
        texts(&html, "[role=status]"),
        vec![format!(
            "You revoked access under request {approved}. Its signed receipt is under “Signed receipts” below."
        )]
    );
}

#[tokio::test]
async fn a_decision_on_a_decided_request_is_refused_409_naming_who_and_when() {
    let w = world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let admin = w.app.admin_client(&c.admin).await;
    let approver = w.app.admin_client(&c.approver).await;
    w.app.customer_decide(&approver, id, "deny", "").await;

    let resp = w.app.customer_decide(&admin, id, "approve", "").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.expect("body");
    let at = w.app.clock.now().format("%Y-%m-%d %H:%M:%S UTC");
    assert_eq!(
        texts(&html, "[role=alert]"),
        vec![format!(
            "This request was already denied by Contoso approver at {at}."
        )]
    );
    assert_eq!(
        texts(&html, ".facts .badge"),
        vec!["Denied"],
        "the current state re-rendered"
    );
    assert_eq!(w.app.stored_status(id), "denied");
}

#[tokio::test]
async fn a_decision_on_an_expired_request_is_refused_with_its_expiry_time() {
    let w = world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let deadline = w.app.clock.now() + Duration::hours(12);
    w.app.clock.set(deadline);
    let approver = w.app.admin_client(&c.approver).await;
    let resp = w.app.customer_decide(&approver, id, "approve", "").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.expect("body");
    let at = deadline.format("%Y-%m-%d %H:%M:%S UTC");
    assert_eq!(
        texts(&html, "[role=alert]"),
        vec![format!("This request expired at {at}.")]
    );

    let again = w.app.customer_decide(&approver, id, "deny", "").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(
        texts(&again.text().await.expect("body"), "[role=alert]"),
        vec![format!("This request expired at {at}.")],
        "the same answer once the expiry is recorded"
    );
}

#[tokio::test]
async fn revoking_after_the_window_ended_is_refused() {
    let w = world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let approver = w.app.admin_client(&c.approver).await;
    w.app.customer_decide(&approver, id, "approve", "").await;
    let end = w.app.clock.now() + Duration::hours(4);
    w.app.clock.set(end);
    let approver = w.app.admin_client(&c.approver).await;
    let resp = w.app.customer_decide(&approver, id, "revoke", "").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let at = end.format("%Y-%m-%d %H:%M:%S UTC");
    assert_eq!(
        texts(&resp.text().await.expect("body"), "[role=alert]"),
        vec![format!("Access under this request ended at {at}.")]
    );
}

#[tokio::test]
async fn comments_with_html_are_shown_escaped() {
    let w = world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let approver = w.app.admin_client(&c.approver).await;
    let payload = "<script>alert('x')</script><img src=x onerror=alert(1)>";
    w.app.customer_decide(&approver, id, "deny", payload).await;
    let html = w.app.admin_page(&approver, &format!("{LIST}/{id}")).await;
    assert!(!html.contains("<script>alert"), "not raw");
    assert!(!html.contains("<img src=x"));
    assert_eq!(
        texts(&html, ".timeline .comment"),
        vec![payload.to_owned()],
        "shown as text"
    );
    let engineer = w.app.engineer_client(&w.engineer).await;
    let html = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}"))
        .await;
    assert!(!html.contains("<script>alert"));
}

#[tokio::test]
async fn another_tenants_request_answers_404_on_every_route() {
    let w = world().await;
    let c = w.customers();
    let fabrikam_admin = w.app.admin_client(&c.fabrikam_admin).await;
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    for path in [
        format!("{LIST}/{id}"),
        format!("{LIST}/{id}/approve"),
        format!("{LIST}/{id}/revoke"),
    ] {
        let resp = w.app.get_admin(&fabrikam_admin, &path).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for action in ["approve", "deny", "cancel", "revoke"] {
        let resp = w.app.customer_decide(&fabrikam_admin, id, action, "").await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(w.app.stored_status(id), "pending_customer");
    // A user id of another tenant on the roles routes.
    let resp = w
        .app
        .admin_post(
            &fabrikam_admin,
            "/roles",
            &format!("/roles/users/{}", c.approver.id),
            &[("role", "user")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = w
        .app
        .get_admin(&fabrikam_admin, &format!("{LIST}/{}", Uuid::new_v4()))
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let list = w.app.admin_page(&fabrikam_admin, "/roles").await;
    assert!(!list.contains("approver@contoso.example"));
}

#[tokio::test]
async fn a_global_admin_assigns_and_removes_the_approver_role() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    let html = w.app.admin_page(&admin, "/roles").await;
    assert_eq!(texts(&html, "#users tbody tr").len(), 3);

    let resp = w
        .app
        .admin_post(
            &admin,
            "/roles",
            &format!("/roles/users/{}", c.user.id),
            &[("role", "approver")],
        )
        .await;
    assert_eq!(location(&resp), "/roles");
    let html = w.app.admin_page(&admin, "/roles").await;
    assert_eq!(
        texts(&html, "[role=status]"),
        vec!["The role was changed to Customer Lockbox access approver."]
    );
    let promoted = w.app.admin_client(&c.user).await;
    assert_eq!(
        w.app.get_admin(&promoted, LIST).await.status(),
        StatusCode::OK,
        "now an approver"
    );

    w.app
        .admin_post(
            &admin,
            "/roles",
            &format!("/roles/users/{}", c.approver.id),
            &[("role", "user")],
        )
        .await;
    let demoted = w.app.admin_client(&c.approver).await;
    assert_eq!(
        w.app.get_admin(&demoted, LIST).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_last_global_admin_cannot_be_demoted() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    let resp = w
        .app
        .admin_post(
            &admin,
            "/roles",
            &format!("/roles/users/{}", c.admin.id),
            &[("role", "approver")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.expect("body");
    assert!(
        texts(&html, "[role=alert]")[0]
            .starts_with("Your organization must keep at least one global administrator")
    );
    assert_eq!(
        w.app.get_admin(&admin, "/roles").await.status(),
        StatusCode::OK,
        "still an admin"
    );
}

#[tokio::test]
async fn a_global_admin_adds_a_user_with_clear_errors_first() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    let resp = w
        .app
        .admin_post(
            &admin,
            "/roles",
            "/roles/users",
            &[
                ("email", "new"),
                ("display_name", "New Person"),
                ("password", "short"),
                ("role", "approver"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.expect("body");
    assert_eq!(
        texts(&html, "#email-error"),
        vec!["Enter a valid email address, like name@example.com."]
    );
    assert_eq!(
        texts(&html, "#password-error"),
        vec!["A password needs at least 12 characters."]
    );
    assert!(html.contains("value=\"New Person\""), "typed values kept");
    assert!(!html.contains("value=\"short\""), "never the password");

    let fields = [
        ("email", "new@contoso.example"),
        ("display_name", "New Person"),
        ("password", "a long enough password"),
        ("role", "approver"),
    ];
    let resp = w
        .app
        .admin_post(&admin, "/roles", "/roles/users", &fields)
        .await;
    assert_eq!(location(&resp), "/roles");
    let again = w
        .app
        .admin_post(&admin, "/roles", "/roles/users", &fields)
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        texts(&again.text().await.expect("body"), "#email-error"),
        vec!["This email address already has an account in your organization."]
    );
    let newcomer = crate::helpers::TestUser {
        id: Uuid::nil(),
        organization: "Contoso".into(),
        email: "new@contoso.example".into(),
        password: "a long enough password".into(),
    };
    let client = w.app.admin_client(&newcomer).await;
    assert_eq!(
        w.app.get_admin(&client, LIST).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn approvers_see_roles_read_only_and_cannot_change_them() {
    let w = world().await;
    let c = w.customers();
    let approver = w.app.admin_client(&c.approver).await;
    let html = w.app.admin_page(&approver, "/roles").await;
    assert_eq!(texts(&html, "#users tbody tr").len(), 3);
    assert!(texts(&html, ".role").contains(&"Global administrator".to_owned()));
    assert!(!html.contains("action=\"/roles/users"), "no forms");
    for (action, fields) in [
        (
            format!("/roles/users/{}", c.approver.id),
            vec![("role", "global_admin")],
        ),
        (
            "/roles/users".to_owned(),
            vec![
                ("email", "x@contoso.example"),
                ("display_name", "X"),
                ("password", "a long enough password"),
                ("role", "global_admin"),
            ],
        ),
    ] {
        let resp = w
            .app
            .admin_post(&approver, "/roles", &action, &fields)
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{action}");
    }
    let still = w.app.admin_client(&c.approver).await;
    assert_eq!(
        w.app.get_admin(&still, SETTINGS).await.status(),
        StatusCode::OK
    );
    assert!(
        !w.app
            .admin_page(&still, SETTINGS)
            .await
            .contains("action=\"/settings")
    );
}

#[tokio::test]
async fn nothing_in_the_engineer_portal_reads_or_changes_tenant_roles() {
    let w = world().await;
    let c = w.customers();
    let manager = w.app.engineer_client(&w.manager).await;
    for path in ["/roles", "/settings/org/lockbox", LIST] {
        assert_eq!(
            w.app.get_engineer(&manager, path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let token = crate::helpers::csrf_of(&w.app.engineer_page(&manager, "/").await);
    let resp = manager
        .post(format!("{}/roles/users/{}", w.app.engineer_url, c.user.id))
        .form(&[("csrf_token", token.as_str()), ("role", "global_admin")])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
