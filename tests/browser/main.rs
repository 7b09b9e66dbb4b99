//! The whole journey, clicked through in a real headless Chromium by the
//! labels a person sees. Screenshots of the key pages land in
//! target/screenshots/; every page is checked for server errors, basic
//! structure (one h1, a lang attribute, labelled controls, button text), no
//! sideways scrolling, and WCAG 2.1 A/AA with axe-core (see harness.rs).

#[allow(dead_code, unused_imports)]
#[path = "../api/helpers/mod.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/smtp.rs"]
mod smtp;

mod axe;
mod checker;
mod harness;
mod home;
mod keyboard;
mod phone;
mod quorum;
mod tour;
mod two_factor;

use chrono::Duration;
use fantoccini::Locator;
use harness::{Browser, skip};
use helpers::{TestUser, World, smtp_to, world, world_with};
use lockbox::clock::Clock;

async fn engineer_sign_in(b: &mut Browser, w: &World, user: &TestUser) {
    b.goto(&format!("{}/signin", w.app.engineer_url)).await;
    b.fill("Email address", &user.email).await;
    b.fill("Password", &user.password).await;
    b.click("Sign in").await;
    let main = b.text("main").await;
    assert_eq!(
        b.h1().await,
        "Engineer portal",
        "{} signed in: {main}",
        user.email
    );
}

async fn admin_sign_in(b: &mut Browser, w: &World, user: &TestUser) {
    b.goto(&format!("{}/signin", w.app.admin_url)).await;
    b.fill("Organization", &user.organization).await;
    b.fill("Email address", &user.email).await;
    b.fill("Password", &user.password).await;
    b.click("Sign in").await;
}

async fn file_request(b: &mut Browser, tenant: &str, sr: &str) {
    b.click("New request").await;
    b.fill("Customer organization", tenant).await;
    b.fill("Service request number", sr).await;
    b.fill("Workload", "Exchange Online").await;
    b.fill(
        "Justification",
        "The customer reports that mailbox sync stopped.",
    )
    .await;
    b.click("File request").await;
    assert_eq!(b.h1().await, format!("Request {sr}"));
}

async fn manager_approves(b: &mut Browser, w: &World, sr: &str) {
    engineer_sign_in(b, w, &w.manager).await;
    b.click("Approval queue").await;
    b.click(sr).await;
    b.click("Approve").await;
    assert_eq!(b.h1().await, "Approve this request?");
    b.fill("Comment (optional)", "Ticket checked.").await;
    b.click("Yes, approve").await;
    b.click("Sign out").await;
}

#[tokio::test]
async fn lockbox_on_from_request_to_audit() {
    if skip() {
        return;
    }
    let smtp = smtp::SmtpServer::start().await;
    let port = smtp.port;
    let w = world_with(move |s| smtp_to(s, port)).await;
    let c = w.customers();
    w.app.seed_content(w.contoso, "contoso.example");
    let mut b = Browser::start("lockbox-on").await;

    // The engineer files a request: a validation error first.
    engineer_sign_in(&mut b, &w, &w.engineer).await;
    b.screenshot("engineer-home").await;
    b.click("New request").await;
    b.fill("Customer organization", "Contoso").await;
    b.fill("Service request number", "SR-7001").await;
    b.fill("Workload", "Exchange Online").await;
    b.click("File request").await;
    assert_eq!(
        b.text("#justification-error").await,
        "Explain why you need access."
    );
    assert_eq!(
        b.client
            .find(Locator::Id("service_request"))
            .await
            .expect("field")
            .prop("value")
            .await
            .expect("value")
            .as_deref(),
        Some("SR-7001")
    );
    b.screenshot("new-request-error").await;
    b.fill(
        "Justification",
        "The customer reports that mailbox sync stopped.",
    )
    .await;
    b.click("File request").await;
    assert_eq!(b.text(".facts .badge").await, "Pending manager approval");
    b.screenshot("request-filed").await;
    b.click("Sign out").await;

    // The manager approves.
    manager_approves(&mut b, &w, "SR-7001").await;

    // The approver's mail arrives, without links.
    w.app.deliver_mail().await;
    let mail = smtp
        .messages()
        .into_iter()
        .find(|m| m.to[0] == c.approver.email)
        .expect("the approver is told");
    let body = mail.bodies().to_lowercase();
    for needle in ["http", "www.", "<a", "href"] {
        assert!(!body.contains(needle), "{needle} in mail");
    }

    // The approver approves in the admin center.
    admin_sign_in(&mut b, &w, &c.approver).await;
    b.click("Support › Customer Lockbox requests").await;
    b.screenshot("customer-requests").await;
    b.click("SR-7001").await;
    b.click("Approve").await;
    b.fill("Comment (optional)", "Approved for this ticket only.")
        .await;
    b.screenshot("customer-confirm").await;
    b.click("Yes, approve").await;
    let flash = b.text("[role=status]").await;
    assert!(
        flash.starts_with("You approved request ") && flash.contains("; access ends at "),
        "{flash}"
    );
    b.screenshot("customer-approved").await;
    b.click("Sign out").await;

    // The engineer sees Approved and runs an operation.
    engineer_sign_in(&mut b, &w, &w.engineer).await;
    b.click("My requests").await;
    assert_eq!(b.texts("tbody .badge").await, vec!["Approved"]);
    b.click("SR-7001").await;
    b.click("Open access session").await;
    // A word the tenant's generated mail has ("budget" was in none of it
    // for about one tenant id in thirty).
    let word = w.app.a_word_in_the_mail(w.contoso);
    b.fill("Words in subject or body *", &word).await;
    b.click("Run Search-Mailbox").await;
    assert!(!b.texts("#results tbody tr").await.is_empty(), "results");
    b.screenshot("access-session").await;
    b.click("Sign out").await;

    // The global admin finds both in the audit log.
    admin_sign_in(&mut b, &w, &c.admin).await;
    b.click("Audit").await;
    b.set_checkbox("Set-AccessToCustomerDataRequest", true)
        .await;
    b.click("Search").await;
    assert_eq!(
        b.texts("#audit-results td.activity").await,
        vec!["Set-AccessToCustomerDataRequest"]
    );
    b.screenshot("audit-search").await;
    b.click("More information").await;
    let params = b.text("#parameters").await;
    assert!(
        params.contains("\"ApprovalDecision\": \"Approve\""),
        "{params}"
    );
    b.screenshot("audit-record").await;
    b.goto(&format!("{}/audit", w.app.admin_url)).await;
    b.fill(
        "Users (names or ids, separated by commas)",
        "Provider Operator",
    )
    .await;
    b.click("Search").await;
    let activities = b.texts("#audit-results td.activity").await;
    assert!(
        activities.contains(&"Search-Mailbox".to_owned()),
        "{activities:?}"
    );
    b.close().await;
}

#[tokio::test]
async fn the_customer_denies() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let mut b = Browser::start("deny").await;
    admin_sign_in(&mut b, &w, &c.admin).await;
    b.click("Support › Customer Lockbox requests").await;
    b.click("SR-1000").await;
    b.click("Deny").await;
    b.fill("Comment (optional)", "Not during the audit.").await;
    b.click("Yes, deny").await;
    assert!(
        b.text("[role=status]")
            .await
            .starts_with("You denied request")
    );
    assert_eq!(b.text(".facts .badge").await, "Denied");
    b.screenshot("denied").await;
    engineer_sign_in(&mut b, &w, &w.engineer).await;
    b.click("My requests").await;
    assert_eq!(b.texts("tbody .badge").await, vec!["Denied"]);
    b.close().await;
}

#[tokio::test]
async fn a_request_nobody_decides_expires() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.clock.advance(Duration::hours(12));
    let mut b = Browser::start("expiry").await;
    admin_sign_in(&mut b, &w, &c.approver).await;
    b.click("Support › Customer Lockbox requests").await;
    assert_eq!(b.texts("tbody .badge").await, vec!["Expired"]);
    b.click("SR-1000").await;
    assert!(
        b.texts(".actions a").await.is_empty(),
        "nothing left to decide"
    );
    b.screenshot("expired").await;
    b.close().await;
}

#[tokio::test]
async fn revoking_cuts_off_a_session_in_progress() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    w.app.seed_content(w.contoso, "contoso.example");
    let id = w
        .app
        .approved_request(w.contoso, &w.engineer, &w.manager, "exchange");
    let mut b = Browser::start("revoke").await;
    engineer_sign_in(&mut b, &w, &w.engineer).await;
    b.goto(&format!("{}/requests/{id}/session", w.app.engineer_url))
        .await;
    b.click("Run Get-MailboxStatistics").await;
    assert!(!b.texts("#results tbody tr").await.is_empty());

    // The customer revokes in the admin center (its own cookie).
    admin_sign_in(&mut b, &w, &c.admin).await;
    b.goto(&format!(
        "{}/support/lockbox/requests/{id}",
        w.app.admin_url
    ))
    .await;
    b.click("Revoke access").await;
    b.click("Yes, revoke access").await;
    assert_eq!(b.text(".facts .badge").await, "Revoked");

    // The engineer's next call is refused.
    b.goto(&format!("{}/requests/{id}/session", w.app.engineer_url))
        .await;
    assert!(
        b.text("[role=alert]")
            .await
            .starts_with("No access: this request is Revoked")
    );
    b.screenshot("revoked-session").await;
    b.close().await;
}

#[tokio::test]
async fn with_lockbox_off_the_next_request_skips_the_customer() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    let mut b = Browser::start("lockbox-off").await;
    admin_sign_in(&mut b, &w, &c.admin).await;
    b.click("Settings › Org settings").await;
    b.set_checkbox("Require approval for all data access requests", false)
        .await;
    b.click("Save").await;
    assert_eq!(
        b.text("[role=alert] h2").await,
        "Turn off Customer Lockbox?"
    );
    b.screenshot("confirm-off").await;
    b.click("Yes, turn it off").await;
    assert_eq!(
        b.text("[role=status]").await,
        "Customer Lockbox is now off."
    );
    b.click("Sign out").await;

    engineer_sign_in(&mut b, &w, &w.engineer).await;
    file_request(&mut b, "Contoso", "SR-8001").await;
    b.click("Sign out").await;
    manager_approves(&mut b, &w, "SR-8001").await;
    engineer_sign_in(&mut b, &w, &w.engineer).await;
    b.click("My requests").await;
    assert_eq!(b.texts("tbody .badge").await, vec!["Approved"]);
    b.screenshot("approved-without-customer").await;
    b.close().await;
}

#[tokio::test]
async fn security_in_the_browser() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    let contoso_request = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let mut b = Browser::start("security").await;

    admin_sign_in(&mut b, &w, &c.user).await;
    assert_eq!(b.h1().await, "You don't have access to Customer Lockbox");
    b.screenshot("no-access").await;
    b.click("Sign out").await;

    // A form sent without its CSRF token is refused and changes nothing.
    admin_sign_in(&mut b, &w, &c.admin).await;
    b.click("Settings › Org settings").await;
    b.client
        .execute(
            "document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove());",
            vec![],
        )
        .await
        .expect("script");
    b.set_checkbox("Require approval for all data access requests", false)
        .await;
    b.click("Save").await;
    assert_eq!(b.h1().await, "Not allowed");
    assert!(
        b.text("main")
            .await
            .contains("This form has expired or did not come from this site.")
    );
    b.screenshot("csrf-refused").await;
    assert!(lockbox::tenants::lockbox_enabled(&mut w.app.conn(), w.contoso).expect("read"));
    b.click("Go to the home page").await;
    b.click("Sign out").await;

    // Another tenant's request is not found.
    admin_sign_in(&mut b, &w, &c.fabrikam_admin).await;
    b.goto(&format!(
        "{}/support/lockbox/requests/{contoso_request}",
        w.app.admin_url
    ))
    .await;
    assert_eq!(b.h1().await, "Page not found");
    b.screenshot("other-tenant-404").await;
    let _ = w.app.clock.now();
    b.close().await;
}

/// Issue 17: the journey starts with the customer: a service request, a
/// lockbox request citing it, one question and its answer, the approval.
#[tokio::test]
async fn from_a_service_request_to_an_approval_after_one_question() {
    if skip() {
        return;
    }
    let smtp = smtp::SmtpServer::start().await;
    let port = smtp.port;
    let w = world_with(move |s| {
        smtp_to(s, port);
        s.require_ticket = true;
    })
    .await;
    let c = w.customers();
    let mut b = Browser::start("service-request").await;

    // The customer opens a service request.
    admin_sign_in(&mut b, &w, &c.user).await;
    b.click("Support › Service requests").await;
    b.click("New service request").await;
    b.fill("Title", "Shared mailbox receives nothing").await;
    b.fill(
        "Description",
        "Since Monday the finance mailbox gets no mail.",
    )
    .await;
    b.fill("Workload", "Exchange Online").await;
    b.fill("Severity", "B – moderate").await;
    b.click("Open service request").await;
    let number = b.text("h1 .ticket-number").await;
    assert!(number.starts_with("SR-2026030200"), "{number}");
    b.screenshot("ticket-opened").await;
    b.click("Sign out").await;

    // The engineer finds it in the support queue, replies, and files a
    // request citing it.
    engineer_sign_in(&mut b, &w, &w.engineer).await;
    b.click("Support queue").await;
    b.screenshot("support-queue").await;
    b.click(&number).await;
    b.fill(
        "Reply to the customer",
        "We are looking into it; we may need access.",
    )
    .await;
    b.click("Send").await;
    b.click("File a lockbox request citing it").await;
    assert_eq!(
        b.texts("#tenant-tickets li code").await,
        vec![number.clone()]
    );
    assert_eq!(
        b.client
            .find(Locator::Id("service_request"))
            .await
            .expect("field")
            .prop("value")
            .await
            .expect("value"),
        Some(number.clone()),
        "the ticket's number is filled in"
    );
    b.fill("Workload", "Exchange Online").await;
    b.fill("Justification", "The finance mailbox's sync log is needed.")
        .await;
    b.screenshot("request-citing-ticket").await;
    b.click("File request").await;
    assert_eq!(b.h1().await, format!("Request {number}"));
    b.click("Sign out").await;

    manager_approves(&mut b, &w, &number).await;

    // The approver's mail carries the fingerprint the admin center shows.
    w.app.deliver_mail().await;
    let mail = smtp
        .messages()
        .into_iter()
        .find(|m| m.to[0] == c.approver.email && m.subject().contains("approval needed"))
        .expect("the approver is told");
    assert!(mail.bodies().contains("Shared mailbox receives nothing"));
    admin_sign_in(&mut b, &w, &c.approver).await;
    b.click("Support › Customer Lockbox requests").await;
    b.click(&number).await;
    let fingerprint = b.text(".facts .fingerprint").await;
    assert!(mail.bodies().contains(&fingerprint), "{fingerprint}");
    assert!(
        b.text(".ticket-facts")
            .await
            .contains("Shared mailbox receives nothing")
    );
    b.fill("Your question", "Which mailbox, and for how long exactly?")
        .await;
    b.screenshot("approver-asks").await;
    b.click("Ask for more information").await;
    assert_eq!(
        b.text("[role=status]").await,
        "Your question was sent to the engineer."
    );
    b.click("Sign out").await;

    // The engineer answers on the request's page.
    engineer_sign_in(&mut b, &w, &w.engineer).await;
    b.click("My requests").await;
    b.click(&number).await;
    assert_eq!(
        b.text("#information blockquote").await,
        "Which mailbox, and for how long exactly?"
    );
    b.fill("Your answer", "finance-shared, for the four hours asked.")
        .await;
    b.screenshot("engineer-answers").await;
    b.click("Send answer").await;
    b.click("Sign out").await;

    // The approver reads the answer and approves, checking the fingerprint.
    admin_sign_in(&mut b, &w, &c.approver).await;
    b.click("Support › Customer Lockbox requests").await;
    b.click(&number).await;
    let timeline = b.texts(".timeline .what").await;
    assert!(
        timeline.ends_with(&[
            "More information requested".to_owned(),
            "More information provided".to_owned()
        ]),
        "{timeline:?}"
    );
    b.screenshot("approver-reads-answer").await;
    b.click("Approve").await;
    assert!(b.text(".fingerprint-check").await.contains(&fingerprint));
    b.screenshot("approver-confirms").await;
    b.click("Yes, approve").await;
    assert!(
        b.text("[role=status]")
            .await
            .starts_with("You approved request ")
    );
    b.screenshot("approved").await;
    b.close().await;
}
