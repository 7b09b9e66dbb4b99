//! Service requests (issue 17): opened in the admin center, answered in the
//! support queue, cited by lockbox requests, closed (cancelling what is
//! still pending under them), each tenant's own.

use std::collections::HashSet;

use lockbox::schema::{audit_records, outbox, service_request_messages, service_requests};
use reqwest::StatusCode;

use crate::helpers::{
    TestApp, World, csrf_of, location, request_form, request_id_of, texts, world_with,
};

/// The value of a form field (a textarea's text), if the page has it.
pub fn field_value(html: &str, selector: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).expect("selector");
    doc.select(&sel).next().map(|e| {
        e.value()
            .attr("value")
            .map(str::to_owned)
            .unwrap_or_else(|| e.text().collect())
    })
}

/// The world with `LOCKBOX_REQUIRE_TICKET` on, as deployments have it.
async fn strict_world() -> World {
    world_with(|s| s.require_ticket = true).await
}

fn count_activity(app: &TestApp, activity: &str) -> i64 {
    use diesel::prelude::*;
    audit_records::table
        .filter(audit_records::activity.eq(activity))
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

#[tokio::test]
async fn a_customer_opens_a_service_request_and_finds_it_in_the_list() {
    let w = strict_world().await;
    let c = w.customers();
    let client = w.app.admin_client(&c.approver).await;

    let number = w.app.open_ticket(&client, "Mail stuck in the outbox").await;
    assert!(
        regex_lite::Regex::new(r"^SR-20260302\d{5,}$")
            .expect("regex")
            .is_match(&number),
        "{number}"
    );
    let html = w
        .app
        .admin_page(&client, &format!("/support/tickets/{number}"))
        .await;
    assert_eq!(
        texts(&html, "[role=status]"),
        vec![format!("Service request {number} was opened.")]
    );
    assert_eq!(texts(&html, "h1 .ticket-number"), vec![number.clone()]);
    assert_eq!(texts(&html, ".ticket-status"), vec!["Open"]);

    let list = w.app.admin_page(&client, "/support/tickets").await;
    assert_eq!(
        texts(&list, "table.tickets tbody td:first-child a"),
        vec![number.clone()]
    );
    // Opened, audited under the customer's name.
    assert_eq!(count_activity(&w.app, "New-ServiceRequest"), 1);
}

#[tokio::test]
async fn a_bad_ticket_form_keeps_what_was_typed() {
    let w = strict_world().await;
    let c = w.customers();
    let client = w.app.admin_client(&c.admin).await;
    let resp = w
        .app
        .open_ticket_form(
            &client,
            &[
                ("title", "Calendar broken"),
                ("description", ""),
                ("workload", "teams"),
                ("severity", "Z"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.expect("body");
    assert_eq!(
        field_value(&html, "#title").as_deref(),
        Some("Calendar broken")
    );
    assert_eq!(texts(&html, ".field-error").len(), 3, "{html}");
}

#[tokio::test]
async fn ticket_numbers_stay_unique_under_50_concurrent_openings() {
    let w = strict_world().await;
    let c = w.customers();
    // 50 clients on one signed-in session (sign-in itself is rate limited).
    let (client, jar) = crate::helpers::client_with_jar();
    let resp = w.app.admin_sign_in(&client, &c.admin).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let token = csrf_of(&w.app.admin_page(&client, "/support/tickets/new").await);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let client = crate::helpers::client_builder()
                .cookie_provider(jar.clone())
                .build()
                .expect("client");
            let (url, token) = (
                format!("{}/support/tickets", w.app.admin_url),
                token.clone(),
            );
            tokio::spawn(async move {
                let resp = client
                    .post(url)
                    .form(&[
                        ("csrf_token", token.as_str()),
                        ("title", &format!("Problem {i}")),
                        ("description", "At the same time as 49 others."),
                        ("workload", "sharepoint"),
                        ("severity", "C"),
                    ])
                    .send()
                    .await
                    .expect("request");
                assert_eq!(resp.status(), StatusCode::SEE_OTHER);
                location(&resp)
            })
        })
        .collect();
    let mut numbers = HashSet::new();
    for t in tasks {
        numbers.insert(t.await.expect("task"));
    }
    assert_eq!(numbers.len(), 50, "every opening its own number");
    use diesel::prelude::*;
    let stored: Vec<String> = service_requests::table
        .select(service_requests::number)
        .load(&mut w.app.conn())
        .expect("numbers");
    assert_eq!(stored.iter().collect::<HashSet<_>>().len(), 50);
}

#[tokio::test]
async fn another_tenants_ticket_is_not_found_on_every_route() {
    let w = strict_world().await;
    let c = w.customers();
    let contoso = w.app.admin_client(&c.admin).await;
    let number = w
        .app
        .open_ticket(&contoso, "Contoso's secret trouble")
        .await;
    let detail = format!("/support/tickets/{number}");

    // Fabrikam's admin: not in the list, 404 on the page and both POSTs.
    let fabrikam = w.app.admin_client(&c.fabrikam_admin).await;
    let list = w.app.admin_page(&fabrikam, "/support/tickets").await;
    assert!(!list.contains(&number));
    assert_eq!(
        w.app.get_admin(&fabrikam, &detail).await.status(),
        StatusCode::NOT_FOUND
    );
    for (action, fields) in [
        (format!("{detail}/messages"), vec![("body", "Let me in")]),
        (format!("{detail}/close"), vec![]),
    ] {
        let resp = w
            .app
            .admin_post(&fabrikam, "/support/tickets", &action, &fields)
            .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{action}");
    }
    // A plain user of Contoso sees their own tickets only.
    let user = w.app.admin_client(&c.user).await;
    assert_eq!(
        w.app.get_admin(&user, &detail).await.status(),
        StatusCode::NOT_FOUND
    );
    let own = w.app.open_ticket(&user, "My own trouble").await;
    let own_list = w.app.admin_page(&user, "/support/tickets").await;
    assert_eq!(
        texts(&own_list, "table.tickets tbody td:first-child a"),
        vec![own.clone()]
    );
    // ...while the tenant's admins see every ticket of the tenant.
    let all = w.app.admin_page(&contoso, "/support/tickets").await;
    assert_eq!(texts(&all, "table.tickets tbody td:first-child a").len(), 2);

    // Staff: the ticket lives under its tenant; under another it is not found,
    // crafted forms included.
    let staff = w.app.engineer_client(&w.engineer).await;
    let wrong = format!("/support/{}/{number}", w.fabrikam);
    assert_eq!(
        w.app.get_engineer(&staff, &wrong).await.status(),
        StatusCode::NOT_FOUND
    );
    for (action, fields) in [
        (format!("{wrong}/messages"), vec![("body", "Crafted reply")]),
        (format!("{wrong}/close"), vec![]),
    ] {
        let resp = w
            .app
            .engineer_post(&staff, "/support", &action, &fields)
            .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{action}");
    }
    let right = format!("/support/{}/{number}", w.contoso);
    assert_eq!(
        w.app.get_engineer(&staff, &right).await.status(),
        StatusCode::OK
    );
    use diesel::prelude::*;
    let messages: i64 = service_request_messages::table
        .count()
        .get_result(&mut w.app.conn())
        .expect("count");
    assert_eq!(messages, 0, "nothing was added through the crafted forms");
    // And every POST wants its CSRF token.
    let resp = fabrikam
        .post(format!("{}{detail}/close", w.app.admin_url))
        .form(&[("x", "y")])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn staff_see_every_open_ticket_reply_and_resolve() {
    let w = strict_world().await;
    let c = w.customers();
    let contoso = w.app.admin_client(&c.approver).await;
    let sharepoint = {
        let resp = w
            .app
            .open_ticket_form(
                &contoso,
                &[
                    ("title", "Site is gone"),
                    ("description", "The HR site answers 404."),
                    ("workload", "sharepoint"),
                    ("severity", "A"),
                ],
            )
            .await;
        location(&resp)
            .trim_start_matches("/support/tickets/")
            .to_owned()
    };
    let exchange = w.app.arrange_ticket(&c.fabrikam_admin, "Fabrikam mail");

    let staff = w.app.engineer_client(&w.engineer).await;
    let queue = w.app.engineer_page(&staff, "/support").await;
    let mut listed = texts(&queue, "table.tickets tbody td:first-child a");
    listed.sort();
    let mut expected = vec![sharepoint.clone(), exchange.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    let only_a = w.app.engineer_page(&staff, "/support?severity=A").await;
    assert_eq!(
        texts(&only_a, "table.tickets tbody td:first-child a"),
        vec![sharepoint.clone()]
    );
    let fabrikam = w
        .app
        .engineer_page(
            &staff,
            &format!("/support?tenant={}&workload=exchange", w.fabrikam),
        )
        .await;
    assert_eq!(
        texts(&fabrikam, "table.tickets tbody td:first-child a"),
        vec![exchange]
    );
    assert_eq!(
        w.app
            .get_engineer(&staff, "/support?severity=Q")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );

    let page = format!("/support/{}/{sharepoint}", w.contoso);
    let empty = w
        .app
        .engineer_post(&staff, &page, &format!("{page}/messages"), &[("body", " ")])
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = w
        .app
        .engineer_post(
            &staff,
            &page,
            &format!("{page}/messages"),
            &[("body", "We restored the site.")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // The customer sees the reply, from "Provider support".
    let html = w
        .app
        .admin_page(&contoso, &format!("/support/tickets/{sharepoint}"))
        .await;
    assert_eq!(texts(&html, ".conversation .who"), vec!["Provider support"]);
    assert_eq!(
        texts(&html, ".conversation blockquote"),
        vec!["We restored the site."]
    );
    let resp = w
        .app
        .engineer_post(&staff, &page, &format!("{page}/close"), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let html = w
        .app
        .admin_page(&contoso, &format!("/support/tickets/{sharepoint}"))
        .await;
    assert_eq!(texts(&html, ".ticket-status"), vec!["Closed"]);
    let queue = w.app.engineer_page(&staff, "/support?severity=A").await;
    assert!(texts(&queue, "table.tickets tbody td:first-child a").is_empty());
    assert_eq!(count_activity(&w.app, "Add-ServiceRequestMessage"), 1);
    assert_eq!(count_activity(&w.app, "Close-ServiceRequest"), 1);

    use diesel::prelude::*;
    // The opener is told of the reply, every staff member of the critical ticket.
    let kinds: Vec<(String, String)> = outbox::table
        .select((outbox::kind, outbox::to_address))
        .order(outbox::created_at)
        .load(&mut w.app.conn())
        .expect("outbox");
    assert!(
        kinds.contains(&("ticket_reply".into(), "approver@contoso.example".into())),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|(k, _)| k == "ticket_critical").count(),
        3,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn filing_is_refused_without_a_matching_open_ticket_of_the_tenant() {
    let w = strict_world().await;
    let c = w.customers();
    let open = w.app.arrange_ticket(&c.admin, "Contoso mailbox");
    let closed = w.app.arrange_ticket(&c.admin, "Fixed already");
    let fabrikams = w.app.arrange_ticket(&c.fabrikam_admin, "Fabrikam mailbox");
    let admin = w.app.admin_client(&c.admin).await;
    let resp = w
        .app
        .admin_post(
            &admin,
            "/support/tickets",
            &format!("/support/tickets/{closed}/close"),
            &[],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    let client = w.app.engineer_client(&w.engineer).await;
    // The form offers the chosen tenant's open tickets, number and title.
    let form = w
        .app
        .engineer_page(&client, &format!("/requests/new?tenant={}", w.contoso))
        .await;
    assert_eq!(texts(&form, "#tenant-tickets li code"), vec![open.clone()]);
    assert!(texts(&form, "#tenant-tickets li")[0].contains("Contoso mailbox"));

    for number in ["SR-4711", closed.as_str(), fabrikams.as_str()] {
        let resp = w
            .app
            .file_request(&client, &TestApp::citing(w.contoso, number))
            .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{number}");
        let html = resp.text().await.expect("body");
        assert_eq!(
            texts(&html, "#service_request-error"),
            vec![
                "This is no open service request of the chosen organization. Cite the number of one of its open service requests."
            ]
        );
        assert_eq!(
            field_value(&html, "#service_request").as_deref(),
            Some(number),
            "what was typed is kept"
        );
    }
    let resp = w
        .app
        .file_request(&client, &TestApp::citing(w.contoso, &open))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let id = request_id_of(&resp);
    let html = w
        .app
        .engineer_page(&client, &format!("/requests/{id}"))
        .await;
    assert!(texts(&html, ".no-ticket").is_empty());
    assert!(texts(&html, ".ticket-facts")[0].contains("Contoso mailbox"));

    // The JSON API holds to the same rule.
    let token = crate::helpers::staff_token(&w.app, &w.engineer);
    let resp = crate::helpers::call(
        reqwest::Method::POST,
        format!("{}/api/v1/requests", w.app.engineer_url),
        &token,
    )
    .json(&serde_json::json!({
        "TenantId": w.contoso, "ServiceRequestNumber": fabrikams, "Workload": "exchange",
        "DurationMinutes": 60, "Justification": "Cross-tenant ticket."
    }))
    .send()
    .await
    .expect("request");
    let problem =
        crate::helpers::problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(
        problem["errors"][0]["field"], "ServiceRequestNumber",
        "{problem}"
    );
}

#[tokio::test]
async fn the_approver_sees_the_ticket_the_request_cites() {
    let w = strict_world().await;
    let c = w.customers();
    let number = w.app.arrange_ticket(&c.user, "Shared mailbox empty");
    let engineer = w.app.engineer_client(&w.engineer).await;
    let id = request_id_of(
        &w.app
            .file_request(&engineer, &TestApp::citing(w.contoso, &number))
            .await,
    );
    let manager = w.app.engineer_client(&w.manager).await;
    assert_eq!(
        w.app
            .staff_decide(&manager, id, "approve", "")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    let approver = w.app.admin_client(&c.approver).await;
    let html = w
        .app
        .admin_page(&approver, &format!("/support/lockbox/requests/{id}"))
        .await;
    let facts = texts(&html, ".ticket-facts");
    assert!(
        facts[0].contains(&number) && facts[0].contains("Shared mailbox empty"),
        "{facts:?}"
    );
    assert!(facts[0].contains("Contoso user"), "the opener: {facts:?}");
    assert!(
        facts[0].contains("2026-03-02"),
        "the opening time: {facts:?}"
    );
    let doc = scraper::Html::parse_document(&html);
    let link = scraper::Selector::parse(".ticket-facts a").expect("selector");
    assert_eq!(
        doc.select(&link)
            .next()
            .and_then(|a| a.value().attr("href")),
        Some(format!("/support/tickets/{number}").as_str())
    );
}

#[tokio::test]
async fn closing_a_ticket_cancels_the_requests_still_pending_under_it() {
    let w = strict_world().await;
    let c = w.customers();
    let number = w.app.arrange_ticket(&c.admin, "Mailbox trouble");
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;
    let waiting_manager = request_id_of(
        &w.app
            .file_request(&engineer, &TestApp::citing(w.contoso, &number))
            .await,
    );
    let other = w.app.engineer_client(&w.other_engineer).await;
    let waiting_customer = request_id_of(
        &w.app
            .file_request(&other, &TestApp::citing(w.contoso, &number))
            .await,
    );
    w.app
        .staff_decide(&manager, waiting_customer, "approve", "")
        .await;
    let elsewhere = w.app.arrange_ticket(&c.admin, "Another matter");
    let unrelated = request_id_of(
        &w.app
            .file_request(&engineer, &TestApp::citing(w.contoso, &elsewhere))
            .await,
    );

    let admin = w.app.admin_client(&c.admin).await;
    let resp = w
        .app
        .admin_post(
            &admin,
            "/support/tickets",
            &format!("/support/tickets/{number}/close"),
            &[],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let html = w.app.admin_page(&admin, &location(&resp)).await;
    assert_eq!(
        texts(&html, "[role=status]"),
        vec![
            "The service request was closed; 2 pending lockbox requests citing it were cancelled."
        ]
    );
    assert_eq!(w.app.stored_status(waiting_manager), "cancelled");
    assert_eq!(w.app.stored_status(waiting_customer), "cancelled");
    assert_eq!(w.app.stored_status(unrelated), "pending_manager");
    let detail = w
        .app
        .engineer_page(&engineer, &format!("/requests/{waiting_manager}"))
        .await;
    assert!(
        texts(&detail, ".timeline .comment")
            .iter()
            .any(|t| t.starts_with(&format!("Service request {number} was closed by ")))
    );

    use diesel::prelude::*;
    assert_eq!(
        count_activity(&w.app, "Cancel-AccessToCustomerDataRequest"),
        2
    );
    assert_eq!(count_activity(&w.app, "Close-ServiceRequest"), 1);
    let told: Vec<String> = outbox::table
        .filter(outbox::kind.eq("request_ticket_closed"))
        .select(outbox::to_address)
        .order(outbox::to_address)
        .load(&mut w.app.conn())
        .expect("outbox");
    assert_eq!(told, vec!["eng2@provider.example", "eng@provider.example"]);
    // Closed is closed: no second closing, no message.
    let again = w
        .app
        .admin_post(
            &admin,
            "/support/tickets",
            &format!("/support/tickets/{number}/messages"),
            &[("body", "Still there?")],
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(
        field_value(&again.text().await.expect("body"), "#body"),
        None,
        "a closed ticket offers no message form"
    );
}

#[tokio::test]
async fn with_the_rule_off_a_request_without_a_ticket_is_marked_in_red_everywhere() {
    // The tests' default: LOCKBOX_REQUIRE_TICKET off.
    let w = world_with(|_| {}).await;
    let c = w.customers();
    let engineer = w.app.engineer_client(&w.engineer).await;
    let id = request_id_of(
        &w.app
            .file_request(&engineer, &request_form(w.contoso))
            .await,
    );
    let number = w.app.arrange_ticket(&c.admin, "A real one");
    let cited = request_id_of(
        &w.app
            .file_request(&engineer, &TestApp::citing(w.contoso, &number))
            .await,
    );
    let manager = w.app.engineer_client(&w.manager).await;
    w.app.staff_decide(&manager, id, "approve", "").await;
    w.app.staff_decide(&manager, cited, "approve", "").await;
    let mark = "No matching service request";

    let mine = w.app.engineer_page(&engineer, "/requests").await;
    assert_eq!(
        texts(&mine, "tbody .no-ticket"),
        vec![mark],
        "one of two marked"
    );
    let page = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}"))
        .await;
    assert_eq!(texts(&page, ".facts .no-ticket"), vec![mark]);
    let approver = w.app.admin_client(&c.approver).await;
    let list = w
        .app
        .admin_page(&approver, "/support/lockbox/requests")
        .await;
    assert_eq!(texts(&list, "tbody .no-ticket"), vec![mark]);
    for path in [
        format!("/support/lockbox/requests/{id}"),
        format!("/support/lockbox/requests/{id}/approve"),
    ] {
        let html = w.app.admin_page(&approver, &path).await;
        assert_eq!(texts(&html, ".facts .no-ticket"), vec![mark], "{path}");
    }
    let cited_page = w
        .app
        .admin_page(&approver, &format!("/support/lockbox/requests/{cited}"))
        .await;
    assert!(texts(&cited_page, ".no-ticket").is_empty());

    use diesel::prelude::*;
    let mails: Vec<(Option<uuid::Uuid>, String, String)> = outbox::table
        .filter(outbox::kind.eq("pending_customer"))
        .select((outbox::request_id, outbox::body_text, outbox::body_html))
        .load(&mut w.app.conn())
        .expect("outbox");
    assert!(!mails.is_empty());
    for (request, text, html) in mails {
        let marked = request == Some(id.0);
        assert_eq!(text.contains(mark), marked, "{text}");
        assert_eq!(html.contains(mark), marked);
        if marked {
            assert!(html.contains("color: #b42318"), "in red: {html}");
        } else {
            assert!(text.contains("A real one"), "the ticket's title: {text}");
        }
    }
}

#[tokio::test]
async fn ticket_mails_name_the_ticket_as_text_and_carry_no_links() {
    let smtp = crate::smtp::SmtpServer::start().await;
    let port = smtp.port;
    let w = world_with(move |s| {
        s.require_ticket = true;
        crate::helpers::smtp_to(s, port);
    })
    .await;
    let c = w.customers();
    let customer = w.app.admin_client(&c.approver).await;
    let resp = w
        .app
        .open_ticket_form(
            &customer,
            &[
                ("title", "Everything is down at www.contoso.example"),
                (
                    "description",
                    "See http://contoso.example/status, mail ops@contoso.example",
                ),
                ("workload", "exchange"),
                ("severity", "A"),
            ],
        )
        .await;
    let number = location(&resp)
        .trim_start_matches("/support/tickets/")
        .to_owned();
    let engineer = w.app.engineer_client(&w.engineer).await;
    let id = request_id_of(
        &w.app
            .file_request(&engineer, &TestApp::citing(w.contoso, &number))
            .await,
    );
    let page = format!("/support/{}/{number}", w.contoso);
    w.app
        .engineer_post(
            &engineer,
            &page,
            &format!("{page}/messages"),
            &[("body", "Fixed, see https://status.provider.example")],
        )
        .await;
    w.app
        .engineer_post(&engineer, &page, &format!("{page}/close"), &[])
        .await;
    assert_eq!(w.app.stored_status(id), "cancelled");
    w.app.deliver_mail().await;

    let mails = smtp.messages();
    let kinds = |subject: &str| {
        mails
            .iter()
            .filter(|m| m.subject().contains(subject))
            .count()
    };
    assert_eq!(kinds("Critical service request"), 3, "every staff member");
    assert_eq!(kinds("a reply from provider support"), 1, "the opener");
    assert_eq!(
        kinds("cancelled (service request closed)"),
        1,
        "the engineer"
    );
    for m in &mails {
        crate::information::no_links(m);
        assert!(m.bodies().contains(&number), "{}", m.subject());
    }
    let reply = mails
        .iter()
        .find(|m| m.subject().contains("a reply"))
        .expect("reply");
    assert_eq!(reply.to, vec!["approver@contoso.example"]);
    assert!(
        reply.bodies().contains("Everything is down"),
        "the title, as text"
    );
}

#[tokio::test]
async fn the_tenant_list_shows_open_tickets_first_a_page_at_a_time() {
    let w = strict_world().await;
    let c = w.customers();
    let mut numbers = Vec::new();
    for i in 0..30 {
        w.app.clock.advance(chrono::Duration::seconds(1));
        numbers.push(w.app.arrange_ticket(&c.admin, &format!("Ticket {i}")));
    }
    let admin = w.app.admin_client(&c.admin).await;
    // The three oldest are closed: they come last, after every open one.
    for number in &numbers[..3] {
        let resp = w
            .app
            .admin_post(
                &admin,
                "/support/tickets",
                &format!("/support/tickets/{number}/close"),
                &[],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    }
    let first = w.app.admin_page(&admin, "/support/tickets").await;
    let page1 = texts(&first, "table.tickets tbody td:first-child a");
    assert_eq!(page1.len(), 25);
    assert_eq!(page1[0], numbers[29], "newest open first");
    let doc = scraper::Html::parse_document(&first);
    let next = scraper::Selector::parse("a[rel=next]").expect("selector");
    let href = doc
        .select(&next)
        .next()
        .and_then(|a| a.value().attr("href"))
        .expect("a next page")
        .to_owned();
    let second = w.app.admin_page(&admin, &href).await;
    let page2 = texts(&second, "table.tickets tbody td:first-child a");
    let mut expected: Vec<String> = numbers[3..5].iter().rev().cloned().collect();
    expected.extend(numbers[..3].iter().rev().cloned());
    assert_eq!(page2, expected, "the last open ones, then the closed ones");
    assert_eq!(
        texts(&second, "tbody .badge").last().map(String::as_str),
        Some("Closed")
    );
    let all: HashSet<&String> = page1.iter().chain(&page2).collect();
    assert_eq!(all.len(), 30, "no row twice, none skipped");
    assert_eq!(
        w.app
            .get_admin(&admin, "/support/tickets?after=junk")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn closing_a_ticket_cancels_only_what_the_closer_could_cancel() {
    let w = strict_world().await;
    let c = w.customers();
    let engineer = w.app.engineer_client(&w.engineer).await;
    // A plain user closes their own ticket: the request citing it waits on.
    let number = w.app.arrange_ticket(&c.user, "My mailbox");
    let waiting = request_id_of(
        &w.app
            .file_request(&engineer, &TestApp::citing(w.contoso, &number))
            .await,
    );
    let user = w.app.admin_client(&c.user).await;
    let resp = w
        .app
        .admin_post(
            &user,
            "/support/tickets",
            &format!("/support/tickets/{number}/close"),
            &[],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(w.app.stored_status(waiting), "pending_manager");

    // An engineer resolving a ticket cancels their own pending request,
    // not another engineer's.
    let number = w.app.arrange_ticket(&c.admin, "Shared trouble");
    let mine = request_id_of(
        &w.app
            .file_request(&engineer, &TestApp::citing(w.contoso, &number))
            .await,
    );
    let other = w.app.engineer_client(&w.other_engineer).await;
    let theirs = request_id_of(
        &w.app
            .file_request(&other, &TestApp::citing(w.contoso, &number))
            .await,
    );
    let page = format!("/support/{}/{number}", w.contoso);
    let resp = w
        .app
        .engineer_post(&engineer, &page, &format!("{page}/close"), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(w.app.stored_status(mine), "cancelled");
    assert_eq!(w.app.stored_status(theirs), "pending_manager");
}

#[tokio::test]
async fn a_ticket_title_stays_on_one_line_and_holds_nothing_invisible() {
    let w = strict_world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    for (title, message) in [
        (
            "Mail stuck\nFingerprint: 7QK2-M9XD-40HF",
            "Keep the title on one line.",
        ),
        (
            "Mail \u{202e}kcuts",
            "Remove the invisible or direction-changing characters.",
        ),
        (
            "Mail\u{200b}stuck",
            "Remove the invisible or direction-changing characters.",
        ),
    ] {
        let resp = w
            .app
            .admin_post(
                &admin,
                "/support/tickets/new",
                "/support/tickets",
                &[
                    ("title", title),
                    ("description", "It does not sync."),
                    ("workload", "exchange"),
                    ("severity", "B"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{title:?}");
        let html = resp.text().await.expect("body");
        assert!(html.contains(message), "{title:?}: {html}");
    }
}
