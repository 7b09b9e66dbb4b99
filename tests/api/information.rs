//! "More information" round trips and the request fingerprint (issue 17):
//! an approver asks, the engineer answers, mails go both ways, everything
//! is audited and the deadline does not move; the fingerprint people
//! compare is in the mail, the lists, the detail and confirmation pages.

use chrono::Duration;
use lockbox::{clock::Clock, identity::RequestId, schema::audit_records};
use reqwest::StatusCode;

use crate::{
    helpers::{TestApp, World, request_id_of, smtp_to, texts, world_with},
    smtp::{Received, SmtpServer},
    tickets::field_value,
};

async fn strict_world_with_smtp() -> (World, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let w = world_with(move |s| {
        s.require_ticket = true;
        smtp_to(s, port);
    })
    .await;
    (w, smtp)
}

/// A request of Contoso citing an open ticket, waiting for the customer.
async fn pending_for_customer(w: &World, opener: &crate::helpers::TestUser) -> RequestId {
    let number = w.app.arrange_ticket(opener, "Mailbox does not sync");
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
    id
}

pub fn no_links(mail: &Received) {
    let text = format!("{}\n{}", mail.subject(), mail.bodies());
    let lower = text.to_lowercase();
    for needle in ["http", "www.", "<a", "href", "mailto"] {
        assert!(!lower.contains(needle), "{needle:?} in mail: {text}");
    }
    let domain =
        regex_lite::Regex::new(r"(?i)\b[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}\b").expect("regex");
    assert!(domain.find(&text).is_none(), "a domain in mail: {text}");
    assert!(!text.contains('@'), "an address in mail: {text}");
}

fn expires_at(w: &World, id: RequestId) -> chrono::DateTime<chrono::Utc> {
    use diesel::prelude::*;
    use lockbox::schema::access_requests as ar;
    ar::table
        .find(id)
        .select(ar::expires_at)
        .first::<Option<chrono::DateTime<chrono::Utc>>>(&mut w.app.conn())
        .expect("request")
        .expect("a deadline")
}

fn activities(w: &World, id: RequestId) -> Vec<String> {
    use diesel::prelude::*;
    audit_records::table
        .filter(audit_records::item.eq(id.to_string()))
        .order(audit_records::id)
        .select(audit_records::activity)
        .load(&mut w.app.conn())
        .expect("records")
}

#[tokio::test]
async fn an_approver_asks_the_engineer_answers_and_the_deadline_stays() {
    let (w, smtp) = strict_world_with_smtp().await;
    let c = w.customers();
    let id = pending_for_customer(&w, &c.user).await;
    let deadline = expires_at(&w, id);
    let page = format!("/support/lockbox/requests/{id}");
    let ask = format!("{page}/information");
    let approver = w.app.admin_client(&c.approver).await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let before = smtp.messages().len();
    w.app.deliver_mail().await;
    let _ = before;
    let already = smtp.messages().len();

    // A question is required and at most 2,000 characters; what was typed stays.
    let resp = w
        .app
        .admin_post(&approver, &page, &ask, &[("text", "  ")])
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let long = "q".repeat(2001);
    let resp = w
        .app
        .admin_post(&approver, &page, &ask, &[("text", &long)])
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_value(&resp.text().await.expect("body"), "#text"),
        Some(long)
    );

    w.app.clock.advance(Duration::minutes(10));
    let question = "Which mailbox exactly, and why its content rather than its statistics?";
    let resp = w
        .app
        .admin_post(&approver, &page, &ask, &[("text", question)])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(w.app.stored_status(id), "pending_customer");
    assert_eq!(expires_at(&w, id), deadline, "the deadline is not extended");

    // The engineer is mailed (no links) and sees the question with a form.
    w.app.deliver_mail().await;
    let mails: Vec<Received> = smtp.messages().into_iter().skip(already).collect();
    assert_eq!(mails.len(), 1, "only the engineer");
    assert_eq!(mails[0].to, vec!["eng@provider.example"]);
    assert!(mails[0].bodies().contains(question));
    no_links(&mails[0]);
    let html = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}"))
        .await;
    assert_eq!(texts(&html, "#information blockquote"), vec![question]);
    assert!(texts(&html, ".timeline .what").contains(&"More information requested".to_owned()));
    // Only the request's own engineer answers.
    let other = w.app.engineer_client(&w.other_engineer).await;
    let resp = w
        .app
        .engineer_post(
            &other,
            "/requests",
            &format!("/requests/{id}/information"),
            &[("text", "Me!")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let answer = "The shared mailbox of the finance team; its sync log is in the message trace.";
    let resp = w
        .app
        .engineer_post(
            &engineer,
            &format!("/requests/{id}"),
            &format!("/requests/{id}/information"),
            &[("text", answer)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    w.app.deliver_mail().await;
    let mails: Vec<Received> = smtp.messages().into_iter().skip(already + 1).collect();
    let mut to: Vec<String> = mails.iter().map(|m| m.to.join(",")).collect();
    to.sort();
    assert_eq!(
        to,
        vec!["admin@contoso.example", "approver@contoso.example"]
    );
    for m in &mails {
        assert!(m.bodies().contains(answer));
        no_links(m);
    }
    let html = w.app.admin_page(&approver, &page).await;
    let whats = texts(&html, ".timeline .what");
    assert_eq!(
        whats[whats.len() - 2..],
        ["More information requested", "More information provided"]
    );
    assert!(texts(&html, ".timeline .comment").contains(&answer.to_owned()));

    // A second round, then the decision.
    let resp = w
        .app
        .admin_post(&approver, &page, &ask, &[("text", "For how long?")])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = w
        .app
        .engineer_post(
            &engineer,
            &format!("/requests/{id}"),
            &format!("/requests/{id}/information"),
            &[("text", "Two hours.")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        activities(&w, id)
            .iter()
            .filter(|a| a.contains("Information"))
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            "Request-AccessToCustomerDataRequestInformation",
            "Submit-AccessToCustomerDataRequestInformation",
            "Request-AccessToCustomerDataRequestInformation",
            "Submit-AccessToCustomerDataRequestInformation",
        ]
    );
    // With no open question there is nothing to answer.
    let resp = w
        .app
        .engineer_post(
            &engineer,
            &format!("/requests/{id}"),
            &format!("/requests/{id}/information"),
            &[("text", "More!")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // The deadline holds: past it, the request has expired, questions or not.
    w.app.clock.set(deadline);
    // (A new session: the old one ended with the hours that passed.)
    let approver = w.app.admin_client(&c.approver).await;
    let resp = w
        .app
        .admin_post(&approver, &page, &ask, &[("text", "Still there?")])
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.expect("body");
    assert_eq!(
        field_value(&html, "#text"),
        None,
        "no form on an expired request"
    );
    assert!(texts(&html, "#text-error")[0].contains("expired"), "{html}");
}

#[tokio::test]
async fn only_approvers_ask_and_only_while_the_request_waits_for_them() {
    let (w, _smtp) = strict_world_with_smtp().await;
    let c = w.customers();
    let id = pending_for_customer(&w, &c.admin).await;
    let page = format!("/support/lockbox/requests/{id}");
    let ask = format!("{page}/information");
    // A plain user has no Customer Lockbox role.
    let user = w.app.admin_client(&c.user).await;
    let resp = w
        .app
        .admin_post(&user, "/support/tickets", &ask, &[("text", "Why?")])
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Another tenant's admin does not find it.
    let fabrikam = w.app.admin_client(&c.fabrikam_admin).await;
    let resp = w
        .app
        .admin_post(&fabrikam, "/", &ask, &[("text", "Why?")])
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // After the decision, no more questions.
    let approver = w.app.admin_client(&c.approver).await;
    assert_eq!(
        w.app
            .customer_decide(&approver, id, "approve", "ok")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let html = w.app.admin_page(&approver, &page).await;
    assert!(
        texts(&html, "#information").is_empty(),
        "no form once decided"
    );
    let resp = w
        .app
        .admin_post(&approver, &page, &ask, &[("text", "Why?")])
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(w.app.clock.now(), w.app.clock_now());
}

#[tokio::test]
async fn the_fingerprint_is_in_the_mail_the_lists_the_detail_and_the_confirmation_page() {
    let (w, smtp) = strict_world_with_smtp().await;
    let c = w.customers();
    let id = pending_for_customer(&w, &c.user).await;
    let fingerprint = {
        let mut conn = w.app.conn();
        lockbox::requests::queries::find(&mut conn, id, lockbox::requests::Scope::Provider)
            .expect("query")
            .expect("request")
            .short_fingerprint()
    };
    assert!(
        regex_lite::Regex::new(
            r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"
        )
        .expect("regex")
        .is_match(&fingerprint),
        "{fingerprint}"
    );
    w.app.deliver_mail().await;
    let mails = smtp.messages();
    let approvers: Vec<&Received> = mails
        .iter()
        .filter(|m| m.subject().contains("approval needed"))
        .collect();
    assert_eq!(approvers.len(), 2);
    for m in approvers {
        assert!(m.bodies().contains(&fingerprint), "in the mail");
        assert!(
            m.bodies().contains("Mailbox does not sync"),
            "the ticket's title"
        );
        assert!(m.bodies().contains("Contoso user"), "the ticket's opener");
        no_links(m);
    }
    let approver = w.app.admin_client(&c.approver).await;
    let list = w
        .app
        .admin_page(&approver, "/support/lockbox/requests")
        .await;
    assert_eq!(
        texts(&list, "tbody .fingerprint"),
        vec![fingerprint.clone()]
    );
    let detail = w
        .app
        .admin_page(&approver, &format!("/support/lockbox/requests/{id}"))
        .await;
    assert_eq!(
        texts(&detail, ".facts .fingerprint"),
        vec![fingerprint.clone()]
    );
    let confirm = w
        .app
        .admin_page(
            &approver,
            &format!("/support/lockbox/requests/{id}/approve"),
        )
        .await;
    assert_eq!(
        texts(&confirm, ".fingerprint-check"),
        vec![format!(
            "Check that this matches the fingerprint in your email: {fingerprint}"
        )]
    );
    let engineer = w.app.engineer_client(&w.engineer).await;
    let mine = w.app.engineer_page(&engineer, "/requests").await;
    assert_eq!(texts(&mine, "tbody .fingerprint"), vec![fingerprint]);
}

/// Records `lang` as `who`'s mail language (after they signed in: a
/// sign-in records the portal's language).
fn prefer(w: &World, realm: &str, who: &crate::helpers::TestUser, lang: lockbox::i18n::Lang) {
    lockbox::notify::language::set(&mut w.app.conn(), realm, who.id, lang, w.app.clock.now())
        .expect("language");
}

#[tokio::test]
async fn question_answer_and_ticket_mails_are_in_each_recipients_language() {
    use lockbox::{i18n::Lang, notify::language};
    let (w, smtp) = strict_world_with_smtp().await;
    let c = w.customers();
    let id = pending_for_customer(&w, &c.user).await;
    let page = format!("/support/lockbox/requests/{id}");
    let approver = w.app.admin_client(&c.approver).await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    prefer(&w, language::ENGINEER, &w.engineer, Lang::Nl);
    prefer(&w, language::ADMIN, &c.approver, Lang::Nl);
    prefer(&w, language::ADMIN, &c.user, Lang::Nl);
    w.app.deliver_mail().await;
    let already = smtp.messages().len();

    let ask = format!("{page}/information");
    let resp = w
        .app
        .admin_post(&approver, &page, &ask, &[("text", "Welke mailbox?")])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    w.app.deliver_mail().await;
    let question = &smtp.messages()[already];
    assert!(
        question
            .subject()
            .starts_with("Customer Lockbox: meer informatie nodig"),
        "{}",
        question.subject()
    );
    assert!(question.bodies().contains("Een goedkeurder van de klant"));
    assert!(question.bodies().contains("Welke mailbox?"));
    no_links(question);

    let resp = w
        .app
        .engineer_post(
            &engineer,
            &format!("/requests/{id}"),
            &format!("/requests/{id}/information"),
            &[("text", "De gedeelde mailbox.")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    w.app.deliver_mail().await;
    let answers: Vec<Received> = smtp.messages().into_iter().skip(already + 1).collect();
    let subject_to = |email: &str| {
        answers
            .iter()
            .find(|m| m.to == vec![email.to_owned()])
            .map(Received::subject)
            .expect("mailed")
    };
    assert!(subject_to(&c.approver.email).contains("een antwoord over toegangsverzoek"));
    assert!(
        subject_to(&c.admin.email).contains("an answer about access request"),
        "English by default"
    );

    // A staff reply on a ticket reaches its Dutch-preferring opener in Dutch.
    let number = w.app.arrange_ticket(&c.user, "Printer offline");
    let staff = w.app.engineer_client(&w.manager).await;
    let ticket = format!("/support/{}/{number}", w.contoso);
    let resp = w
        .app
        .engineer_post(
            &staff,
            &ticket,
            &format!("{ticket}/messages"),
            &[("body", "Opgelost.")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let before = smtp.messages().len();
    w.app.deliver_mail().await;
    let reply = smtp
        .messages()
        .into_iter()
        .skip(before)
        .find(|m| m.to == vec![c.user.email.clone()])
        .expect("the opener is mailed");
    assert!(
        reply
            .subject()
            .contains("een antwoord van de ondersteuning"),
        "{}",
        reply.subject()
    );
    assert!(reply.bodies().contains("Opgelost.") && reply.bodies().contains("Geopend door"));
    no_links(&reply);
}
