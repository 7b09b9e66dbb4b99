//! Issue 18: every outcome told to the right people, in their language,
//! and the reminder, sent once however many workers run.

use chrono::Duration;
use lockbox::{
    clock::Clock,
    i18n::Lang,
    identity::{RequestId, UserId},
    notify::language,
    requests::{Actor, Comment, Event, Policy, Scope, Via, commands},
    staff::StaffRole,
};

use crate::{
    helpers::{TestApp, TestUser, World, smtp_to, world_with},
    smtp::{Received, SmtpServer},
};

async fn world_with_smtp() -> (World, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    (world_with(move |s| smtp_to(s, port)).await, smtp)
}

fn prefer(app: &TestApp, realm: &str, who: &TestUser, lang: Lang) {
    language::set(&mut app.conn(), realm, who.id, lang, app.clock.now()).expect("language");
}

/// Takes a decision through the domain, as `actor`.
fn decide(app: &TestApp, id: RequestId, event: Event, actor: Actor, name: &str) {
    let decision = commands::Decision {
        event,
        actor,
        actor_name: name.into(),
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

fn sweep(app: &TestApp) {
    commands::sweep(&mut app.conn(), app.clock.now(), &Policy::default(), 50).expect("sweep");
}

fn subjects_to(smtp: &SmtpServer, email: &str) -> Vec<String> {
    smtp.messages()
        .iter()
        .filter(|m| m.to[0] == email)
        .map(Received::subject)
        .collect()
}

fn assert_no_links(m: &Received) {
    let text = format!("{}\n{}", m.subject(), m.bodies()).to_lowercase();
    for needle in ["http", "www.", "<a", "href", "mailto", "@"] {
        assert!(!text.contains(needle), "{needle:?} in mail: {text}");
    }
}

#[tokio::test]
async fn the_engineer_hears_of_every_transition_in_their_language() {
    let (w, smtp) = world_with_smtp().await;
    let c = w.customers();
    prefer(&w.app, language::ENGINEER, &w.engineer, Lang::Nl);
    let manager = Actor::Manager(w.manager.staff_id());
    // Manager approval (then the customer approves and revokes).
    let revoked = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    decide(
        &w.app,
        revoked,
        Event::CustomerApprove(lockbox::requests::Tally::SINGLE),
        customer(&c.approver),
        "Ada",
    );
    decide(&w.app, revoked, Event::Revoke, customer(&c.approver), "Ada");
    // Manager rejection.
    let rejected = w.app.arrange_request(w.contoso, &w.engineer, None);
    decide(&w.app, rejected, Event::ManagerReject, manager, "manager");
    // Denial, and a cancellation by the customer.
    let denied = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    decide(
        &w.app,
        denied,
        Event::CustomerDeny,
        customer(&c.admin),
        "Ada",
    );
    let cancelled = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    decide(&w.app, cancelled, Event::Cancel, customer(&c.admin), "Ada");
    // Lockbox off: the manager's approval opens the window at once; it ends.
    let opened = w
        .app
        .arrange_request(w.fabrikam, &w.engineer, Some(&w.manager));
    w.app.clock.advance(Duration::hours(5));
    sweep(&w.app);
    // Expiry (English for the other engineer).
    w.app
        .arrange_request(w.contoso, &w.other_engineer, Some(&w.manager));
    w.app.clock.advance(Duration::hours(13));
    sweep(&w.app);
    w.app.deliver_mail().await;

    let mut dutch = subjects_to(&smtp, &w.engineer.email);
    dutch.sort();
    let expected = [
        "Customer Lockbox: toegangsverzoek SR-1000 afgewezen door een manager",
        "Customer Lockbox: toegangsverzoek SR-1000 beëindigd, het toegangsvenster is gesloten",
        "Customer Lockbox: toegangsverzoek SR-1000 geannuleerd",
        "Customer Lockbox: toegangsverzoek SR-1000 geweigerd door de klant",
        "Customer Lockbox: toegangsverzoek SR-1000 goedgekeurd door de klant",
        "Customer Lockbox: toegangsverzoek SR-1000 goedgekeurd door een manager, toegangsvenster open",
        "Customer Lockbox: toegangsverzoek SR-1000 ingetrokken door de klant",
    ];
    for subject in expected {
        assert!(
            dutch.iter().any(|s| s == subject),
            "{subject} in {dutch:#?}"
        );
    }
    let waiting =
        "Customer Lockbox: toegangsverzoek SR-1000 goedgekeurd door een manager, wacht op de klant";
    assert_eq!(
        dutch.iter().filter(|s| *s == waiting).count(),
        3,
        "each manager approval that waits for the customer"
    );
    assert_eq!(dutch.len(), expected.len() + 3, "{dutch:#?}");
    let english = subjects_to(&smtp, &w.other_engineer.email);
    assert_eq!(
        english,
        [
            "Customer Lockbox: access request SR-1000 approved by a manager, waiting for the customer",
            "Customer Lockbox: access request SR-1000 expired by timeout",
        ]
    );
    assert!(opened != revoked);
    for m in smtp.messages() {
        assert_no_links(&m);
    }
}

#[tokio::test]
async fn every_manager_hears_once_of_each_new_request_in_their_language() {
    let (w, smtp) = world_with_smtp().await;
    let dutch = w
        .app
        .create_staff("manager2@provider.example", StaffRole::Manager);
    prefer(&w.app, language::ENGINEER, &dutch, Lang::Nl);
    w.app.arrange_request(w.contoso, &w.engineer, None);
    w.app.deliver_mail().await;
    assert_eq!(
        subjects_to(&smtp, &w.manager.email),
        ["Customer Lockbox: access request SR-1000 (Contoso) waits for a manager"]
    );
    assert_eq!(
        subjects_to(&smtp, &dutch.email),
        ["Customer Lockbox: toegangsverzoek SR-1000 (Contoso) wacht op een manager"]
    );
    assert!(
        subjects_to(&smtp, &w.engineer.email).is_empty(),
        "nothing yet"
    );
    let body = smtp
        .messages()
        .into_iter()
        .find(|m| m.to[0] == dutch.email)
        .expect("mail")
        .bodies();
    assert!(body.contains("Organisatie:"), "{body}");
    assert!(body.contains("lang=\"nl\""), "{body}");
}

#[tokio::test]
async fn the_other_deciders_hear_of_a_cancellation_or_revocation_and_the_actor_does_not() {
    let (w, smtp) = world_with_smtp().await;
    let c = w.customers();
    prefer(&w.app, language::ADMIN, &c.admin, Lang::Nl);
    let cancelled = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    decide(
        &w.app,
        cancelled,
        Event::Cancel,
        customer(&c.approver),
        "Ada Approver",
    );
    let revoked = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    decide(
        &w.app,
        revoked,
        Event::CustomerApprove(lockbox::requests::Tally::SINGLE),
        customer(&c.admin),
        "Nel Admin",
    );
    decide(
        &w.app,
        revoked,
        Event::Revoke,
        customer(&c.admin),
        "Nel Admin",
    );
    // The engineer's own cancellation tells the tenant nothing new.
    let own = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.arrange_cancel(own, &w.engineer);
    w.app.deliver_mail().await;

    let told = |email: &str| -> Vec<String> {
        subjects_to(&smtp, email)
            .into_iter()
            .filter(|s| s.contains(" was ") || s.contains(" door "))
            .collect()
    };
    assert_eq!(
        told(&c.admin.email),
        ["Customer Lockbox: toegangsverzoek SR-1000 (Contoso) is geannuleerd door Ada Approver"]
    );
    assert_eq!(
        told(&c.approver.email),
        ["Customer Lockbox: access under request SR-1000 (Contoso) was revoked by Nel Admin"]
    );
    assert!(
        subjects_to(&smtp, &c.fabrikam_admin.email).is_empty(),
        "no other tenant"
    );
    assert!(
        subjects_to(&smtp, &c.user.email).is_empty(),
        "no plain user"
    );
    let engineer = subjects_to(&smtp, &w.engineer.email);
    assert_eq!(
        engineer
            .iter()
            .filter(|s| s.ends_with("SR-1000 cancelled"))
            .count(),
        1,
        "the customer's cancellation, not the engineer's own: {engineer:#?}"
    );
}

#[tokio::test]
async fn sign_in_sets_the_mail_language_to_the_one_in_use() {
    let (w, smtp) = world_with_smtp().await;
    let c = w.customers();
    let browser = crate::helpers::client();
    let switched = browser
        .get(format!("{}/lang?to=nl&back=/", w.app.admin_url))
        .send()
        .await
        .expect("switch");
    assert_eq!(switched.status(), reqwest::StatusCode::SEE_OTHER);
    let signed_in = w.app.admin_sign_in(&browser, &c.approver).await;
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(
        language::of(&mut w.app.conn(), language::ADMIN, c.approver.id).expect("lang"),
        Lang::Nl
    );
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.deliver_mail().await;
    assert_eq!(
        subjects_to(&smtp, &c.approver.email),
        ["Customer Lockbox: goedkeuring nodig voor toegangsverzoek SR-1000 (Contoso)"]
    );
    assert_eq!(
        subjects_to(&smtp, &c.admin.email),
        ["Customer Lockbox: approval needed for access request SR-1000 (Contoso)"],
        "English without a preference"
    );
}

fn remind(app: &TestApp) -> usize {
    let pool = app.pool.clone();
    let (now, before) = (app.clock.now(), app.settings.mail.reminder_before);
    lockbox::requests::reminders::send_due(&mut pool.get().expect("conn"), now, before, 50)
        .expect("reminders")
}

#[tokio::test]
async fn the_reminder_goes_once_with_two_workers_and_only_while_undecided() {
    let (w, smtp) = world_with_smtp().await;
    let c = w.customers();
    let waiting = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let decided = w
        .app
        .arrange_request(w.contoso, &w.other_engineer, Some(&w.manager));
    decide(
        &w.app,
        decided,
        Event::CustomerApprove(lockbox::requests::Tally::SINGLE),
        customer(&c.approver),
        "Ada",
    );
    // 12 h pending; 120 minutes before the end is 10 h from now.
    w.app
        .clock
        .advance(Duration::hours(10) - Duration::minutes(1));
    assert_eq!(remind(&w.app), 0, "not yet");
    w.app.clock.advance(Duration::minutes(1));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (pool, now) = (w.app.pool.clone(), w.app.clock.now());
            std::thread::spawn(move || {
                lockbox::requests::reminders::send_due(
                    &mut pool.get().expect("conn"),
                    now,
                    Duration::minutes(120),
                    50,
                )
                .expect("reminders")
            })
        })
        .collect();
    let sent: usize = workers.into_iter().map(|t| t.join().expect("worker")).sum();
    assert_eq!(sent, 1, "one reminder, by one of the two workers");
    w.app.clock.advance(Duration::minutes(30));
    assert_eq!(remind(&w.app), 0, "never twice");
    w.app.deliver_mail().await;
    let reminders: Vec<Received> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.subject().starts_with("Customer Lockbox reminder"))
        .collect();
    let mut to: Vec<String> = reminders.iter().map(|m| m.to[0].clone()).collect();
    to.sort();
    assert_eq!(to, [c.admin.email.clone(), c.approver.email.clone()]);
    for m in &reminders {
        assert!(m.bodies().contains(&waiting.to_string()));
        assert_no_links(m);
    }
}

#[tokio::test]
async fn a_reminder_not_yet_delivered_is_withdrawn_when_someone_decides() {
    let (w, smtp) = world_with_smtp().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.clock.advance(Duration::hours(11));
    assert_eq!(remind(&w.app), 1);
    decide(
        &w.app,
        id,
        Event::CustomerDeny,
        customer(&c.approver),
        "Ada",
    );
    w.app.deliver_mail().await;
    assert!(
        !smtp
            .messages()
            .iter()
            .any(|m| m.subject().starts_with("Customer Lockbox reminder")),
        "no reminder of a decided request"
    );
}

#[tokio::test]
async fn switching_language_while_signed_in_sets_the_mail_language() {
    let (w, smtp) = world_with_smtp().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let switched = w.app.get_engineer(&engineer, "/lang?to=nl&back=/").await;
    assert_eq!(switched.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(
        language::of(&mut w.app.conn(), language::ENGINEER, w.engineer.id).expect("lang"),
        Lang::Nl
    );
    let back = w.app.get_engineer(&engineer, "/lang?to=en&back=/").await;
    assert_eq!(back.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(
        language::of(&mut w.app.conn(), language::ENGINEER, w.engineer.id).expect("lang"),
        Lang::En
    );
    // Signed out, the switch changes no one's mail.
    let anonymous = crate::helpers::client();
    w.app.get_engineer(&anonymous, "/lang?to=nl&back=/").await;
    assert_eq!(
        language::of(&mut w.app.conn(), language::ENGINEER, w.engineer.id).expect("lang"),
        Lang::En
    );
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.deliver_mail().await;
    assert_eq!(
        subjects_to(&smtp, &w.engineer.email),
        [
            "Customer Lockbox: access request SR-1000 approved by a manager, waiting for the customer"
        ]
    );
}

#[tokio::test]
async fn the_checkpoint_digest_is_in_each_administrators_language() {
    use lockbox::{audit::checkpoint, notify::checkpoint_digest};
    let (w, smtp) = world_with_smtp().await;
    let c = w.customers();
    prefer(&w.app, language::ADMIN, &c.admin, Lang::Nl);
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.seal_audit();
    checkpoint::write_due(
        &mut w.app.app_conn(),
        &w.app.signer(),
        w.app.clock_now(),
        Duration::hours(1),
    )
    .expect("checkpoints");
    checkpoint_digest::send_due(&mut w.app.conn(), w.app.clock_now()).expect("digest");
    w.app.deliver_mail().await;
    let digest = |email: &str| {
        smtp.messages()
            .into_iter()
            .find(|m| m.to[0] == email && m.data.contains("BEGIN CHECKPOINT"))
            .expect("a digest")
    };
    let dutch = digest(&c.admin.email);
    assert!(
        dutch
            .subject()
            .starts_with("Customer Lockbox: ondertekend auditcontrolepunt van Contoso"),
        "{}",
        dutch.subject()
    );
    assert!(dutch.bodies().contains("Bewaar dit bericht."));
    let english = digest(&c.fabrikam_admin.email);
    assert!(
        english
            .subject()
            .starts_with("Customer Lockbox: signed audit checkpoint of Fabrikam")
    );
    assert_no_links(&dutch);
}
