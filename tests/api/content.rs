//! Customer content behind the enforcement point: the matrix of who may
//! read what when, every operation, and the audit of every attempt.

use chrono::Duration;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use lockbox::{
    audit::view::audit_log as al,
    audit::{Record, activity},
    clock::Clock,
    content,
    identity::TenantId,
    requests::Workload,
};
use reqwest::StatusCode;

use crate::helpers::{World, texts, world};

fn records(w: &World, tenant: TenantId, activity: &str) -> Vec<Record> {
    al::table
        .filter(al::tenant_id.eq(tenant))
        .filter(al::activity.eq(activity))
        .order(al::id.asc())
        .select(<Record as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .load(&mut w.app.conn())
        .expect("records")
}

async fn setup() -> World {
    let w = world().await;
    w.app.seed_content(w.contoso, "contoso.example");
    w.app.seed_content(w.fabrikam, "fabrikam.example");
    w
}

#[tokio::test]
async fn every_operation_runs_inside_the_window_and_is_audited_as_provider_operator() {
    let w = setup().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let word = w.app.a_word_in_the_mail(w.fabrikam);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("exchange", vec![("operation", "Get-MailboxStatistics")]),
        (
            "exchange",
            vec![
                ("operation", "Get-MailboxStatistics"),
                ("mailbox", "alex@fabrikam.example"),
            ],
        ),
        (
            "exchange",
            vec![
                ("operation", "Get-MessageTrace"),
                ("recipient", "bea@"),
                ("start", "2026-01-01"),
                ("end", "2026-12-31"),
            ],
        ),
        (
            "exchange",
            vec![("operation", "Search-Mailbox"), ("words", &word)],
        ),
        ("sharepoint", vec![("operation", "Get-SiteUsage")]),
        (
            "sharepoint",
            vec![
                ("operation", "Get-SiteDocuments"),
                ("site", "/sites/finance"),
            ],
        ),
        ("onedrive", vec![("operation", "Get-DriveUsage")]),
    ];
    let mut requests = std::collections::HashMap::new();
    for (workload, fields) in cases {
        let id = *requests.entry(workload).or_insert_with(|| {
            w.app
                .approved_request(w.fabrikam, &w.engineer, &w.manager, workload)
        });
        let resp = w.app.run_operation(&engineer, id, &fields).await;
        assert_eq!(resp.status(), StatusCode::OK, "{fields:?}");
        let html = resp.text().await.expect("body");
        let rows = texts(&html, "#results tbody tr");
        assert!(!rows.is_empty(), "{fields:?} finds something");
        let name = fields[0].1;
        let record = records(&w, w.fabrikam, name).pop().expect("audited");
        assert_eq!(record.actor_name, "Provider Operator");
        assert_eq!(record.actor_id, w.engineer.staff_id().public_id());
        assert_eq!(
            record.parameters["StaffId"],
            w.engineer.staff_id().public_id()
        );
        assert_eq!(record.request_id, Some(id));
        assert_eq!(record.item, "");
        assert_eq!(record.ip, "127.0.0.1");
        assert_eq!(record.parameters["ResultCount"], rows.len());
    }
    // The versions operations, with a path taken from the listings.
    let docs = w
        .app
        .run_operation(
            &engineer,
            requests["sharepoint"],
            &[("operation", "Get-SiteDocuments"), ("site", "/sites/hr")],
        )
        .await
        .text()
        .await
        .expect("body");
    let path = texts(&docs, "#results tbody tr td:first-child")[0].clone();
    let resp = w
        .app
        .run_operation(
            &engineer,
            requests["sharepoint"],
            &[
                ("operation", "Get-DocumentVersions"),
                ("site", "/sites/hr"),
                ("path", &path),
            ],
        )
        .await;
    assert!(!texts(&resp.text().await.expect("body"), "#results tbody tr").is_empty());
    let files = {
        use lockbox::schema::drive_files as f;
        f::table
            .filter(f::tenant_id.eq(w.fabrikam))
            .select((f::owner, f::path))
            .first::<(String, String)>(&mut w.app.conn())
            .expect("a file")
    };
    let resp = w
        .app
        .run_operation(
            &engineer,
            requests["onedrive"],
            &[
                ("operation", "Get-DriveFileVersions"),
                ("owner", &files.0),
                ("path", &files.1),
            ],
        )
        .await;
    assert!(!texts(&resp.text().await.expect("body"), "#results tbody tr").is_empty());
    assert_eq!(records(&w, w.fabrikam, activity::ACCESS_DENIED).len(), 0);
    assert!(
        records(&w, w.contoso, "Get-MailboxStatistics").is_empty(),
        "nothing in another tenant's log"
    );
}

#[tokio::test]
async fn bad_parameters_get_clear_errors_and_read_nothing() {
    let w = setup().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let ex = w
        .app
        .approved_request(w.fabrikam, &w.engineer, &w.manager, "exchange");
    let sp = w
        .app
        .approved_request(w.fabrikam, &w.engineer, &w.manager, "sharepoint");
    for (id, fields, field, message) in [
        (
            ex,
            vec![("operation", "Search-Mailbox")],
            "Search-Mailbox-words",
            "This field is required.",
        ),
        (
            ex,
            vec![("operation", "Search-Mailbox"), ("words", "x")],
            "Search-Mailbox-words",
            "Enter at least 2 characters.",
        ),
        (
            ex,
            vec![("operation", "Get-MessageTrace"), ("start", "yesterday")],
            "Get-MessageTrace-start",
            "Enter a date as YYYY-MM-DD.",
        ),
        (
            sp,
            vec![("operation", "Get-DocumentVersions"), ("site", "/sites/hr")],
            "Get-DocumentVersions-path",
            "This field is required.",
        ),
    ] {
        let resp = w.app.run_operation(&engineer, id, &fields).await;
        assert_eq!(
            resp.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}"
        );
        let html = resp.text().await.expect("body");
        assert_eq!(
            texts(&html, &format!("#{field}-error")),
            vec![message.to_owned()]
        );
    }
    let unknown = w
        .app
        .run_operation(&engineer, ex, &[("operation", "Remove-Mailbox")])
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let audited = al::table
        .filter(al::tenant_id.eq(w.fabrikam))
        .filter(al::activity.eq_any([
            "Search-Mailbox",
            "Get-MessageTrace",
            "Get-DocumentVersions",
            activity::ACCESS_DENIED,
        ]))
        .count()
        .get_result::<i64>(&mut w.app.conn())
        .expect("count");
    assert_eq!(
        audited, 0,
        "invalid input never reaches the enforcement point"
    );
}

#[tokio::test]
async fn an_exchange_approval_gives_no_sharepoint_or_onedrive_access() {
    let w = setup().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let ex = w
        .app
        .approved_request(w.fabrikam, &w.engineer, &w.manager, "exchange");
    for op in ["Get-SiteUsage", "Get-DriveUsage"] {
        let resp = w
            .app
            .run_operation(&engineer, ex, &[("operation", op)])
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{op}");
        let html = resp.text().await.expect("body");
        assert!(
            texts(&html, "[role=alert]")[0].starts_with("Refused"),
            "{op}"
        );
        assert!(texts(&html, "#results").is_empty());
    }
    let denied = records(&w, w.fabrikam, activity::ACCESS_DENIED);
    assert_eq!(denied.len(), 2);
    assert_eq!(denied[0].parameters["Operation"], "Get-SiteUsage");
    assert_eq!(denied[0].parameters["Workload"], "SharePoint Online");
    assert_eq!(denied[0].actor_name, "Provider Operator");
    assert!(
        denied[0].parameters["Reason"]
            .as_str()
            .expect("reason")
            .contains("no approved request")
    );
}

#[tokio::test]
async fn one_tenants_approval_gives_nothing_in_another_tenant() {
    let w = setup().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    w.app
        .approved_request(w.fabrikam, &w.engineer, &w.manager, "exchange");
    let contoso = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager)); // waits for the customer
    let page = w
        .app
        .get_engineer(&engineer, &format!("/requests/{contoso}/session"))
        .await;
    assert_eq!(
        page.status(),
        StatusCode::FORBIDDEN,
        "no forms outside a window"
    );
    let html = page.text().await.expect("body");
    assert!(texts(&html, "form.stack").is_empty());
    assert!(
        texts(&html, "[role=alert]")[0]
            .starts_with("No access: this request is Pending customer approval")
    );

    let resp = w
        .app
        .run_operation(
            &engineer,
            contoso,
            &[("operation", "Get-MailboxStatistics")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let denied = records(&w, w.contoso, activity::ACCESS_DENIED);
    assert_eq!(denied.len(), 1, "recorded in the tenant that was tried");
    assert!(
        denied[0].parameters["Reason"]
            .as_str()
            .expect("reason")
            .contains("PendingCustomer")
    );
    assert!(records(&w, w.contoso, "Get-MailboxStatistics").is_empty());
}

#[tokio::test]
async fn access_ends_exactly_at_the_end_of_the_window() {
    let w = setup().await;
    let id = w
        .app
        .approved_request(w.fabrikam, &w.engineer, &w.manager, "exchange");
    let end = w.app.clock.now() + Duration::hours(4);
    w.app.clock.set(end - Duration::microseconds(1));
    let engineer = w.app.engineer_client(&w.engineer).await;
    let html = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}/session"))
        .await;
    assert_eq!(
        texts(&html, "#window-end"),
        vec![format!(
            "{} (0 min left)",
            end.format("%Y-%m-%d %H:%M:%S UTC")
        )]
    );
    let resp = w
        .app
        .run_operation(&engineer, id, &[("operation", "Get-MailboxStatistics")])
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "a microsecond before the end"
    );

    w.app.clock.set(end + Duration::seconds(1));
    let resp = w
        .app
        .run_operation(&engineer, id, &[("operation", "Get-MailboxStatistics")])
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "one second after the end"
    );
    let html = resp.text().await.expect("body");
    assert!(texts(&html, "[role=alert]")[0].contains("Ended"), "{html}");
    assert_eq!(records(&w, w.fabrikam, activity::ACCESS_DENIED).len(), 1);
}

#[tokio::test]
async fn revoking_cuts_the_engineer_off_on_the_very_next_call() {
    let w = setup().await;
    let c = w.customers();
    let id = w
        .app
        .approved_request(w.contoso, &w.engineer, &w.manager, "exchange");
    let engineer = w.app.engineer_client(&w.engineer).await;
    let ok = w
        .app
        .run_operation(
            &engineer,
            id,
            &[("operation", "Search-Mailbox"), ("words", "meeting")],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);

    let admin = w.app.admin_client(&c.admin).await;
    assert_eq!(
        w.app
            .customer_decide(&admin, id, "revoke", "enough")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    let refused = w
        .app
        .run_operation(
            &engineer,
            id,
            &[("operation", "Search-Mailbox"), ("words", "meeting")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let denied = records(&w, w.contoso, activity::ACCESS_DENIED);
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].request_id, Some(id));
    assert!(
        denied[0].parameters["Reason"]
            .as_str()
            .expect("reason")
            .contains("Revoked")
    );

    // The customer sees both under the request.
    let html = w
        .app
        .admin_page(&admin, &format!("/support/lockbox/requests/{id}"))
        .await;
    let actions = texts(&html, "#operator-actions tbody td.activity");
    assert_eq!(actions, vec!["AccessDenied", "Search-Mailbox"]);
    assert!(html.contains("Provider Operator"));
}

#[tokio::test]
async fn denied_expired_and_pending_requests_open_nothing() {
    let w = setup().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    let run = |tenant, workload| {
        content::authorize(
            &mut w.app.conn(),
            w.engineer.staff_id(),
            tenant,
            workload,
            &w.app.clock,
        )
        .expect("query")
        .0
    };

    let pending = w.app.arrange_request(w.contoso, &w.engineer, None);
    assert!(
        run(w.contoso, Workload::Exchange).is_err(),
        "pending with the manager"
    );
    w.app.arrange_cancel(pending, &w.engineer);

    w.app.clock.advance(Duration::seconds(1));
    let denied = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.customer_decide(&admin, denied, "deny", "").await;
    let refusal = run(w.contoso, Workload::Exchange).expect_err("denied");
    assert_eq!(
        refusal.latest.map(|l| l.1),
        Some(lockbox::requests::Status::Denied)
    );

    w.app.clock.advance(Duration::seconds(1));
    let expiring = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.clock.advance(Duration::hours(12));
    let refusal = run(w.contoso, Workload::Exchange).expect_err("expired");
    assert_eq!(
        refusal.latest.map(|l| (l.0, l.1)),
        Some((expiring, lockbox::requests::Status::Expired))
    );

    w.app.clock.advance(Duration::seconds(1));
    let open = w
        .app
        .approved_request(w.contoso, &w.engineer, &w.manager, "exchange");
    assert_eq!(
        run(w.contoso, Workload::Exchange).map(|g| g.request_id),
        Ok(open)
    );
    assert!(run(w.fabrikam, Workload::Exchange).is_err());
    assert!(run(w.contoso, Workload::OneDrive).is_err());
    let (other, _) = content::authorize(
        &mut w.app.conn(),
        w.other_engineer.staff_id(),
        w.contoso,
        Workload::Exchange,
        &w.app.clock,
    )
    .expect("query");
    assert!(other.is_err(), "another engineer's approval is not yours");
}

#[tokio::test]
async fn the_session_page_is_only_for_the_requests_engineer() {
    let w = setup().await;
    let id = w
        .app
        .approved_request(w.fabrikam, &w.engineer, &w.manager, "exchange");
    let other = w.app.engineer_client(&w.other_engineer).await;
    assert_eq!(
        w.app
            .get_engineer(&other, &format!("/requests/{id}/session"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let manager = w.app.engineer_client(&w.manager).await;
    assert_eq!(
        w.app
            .get_engineer(&manager, &format!("/requests/{id}/session"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let engineer = w.app.engineer_client(&w.engineer).await;
    let html = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}"))
        .await;
    assert!(
        html.contains(&format!("/requests/{id}/session")),
        "the detail page links to it"
    );
    let session = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}/session"))
        .await;
    let forms = texts(&session, ".operation h2");
    assert_eq!(
        forms,
        vec![
            "Get-MailboxStatistics",
            "Get-MessageTrace",
            "Search-Mailbox"
        ],
        "Exchange's operations only"
    );
}
