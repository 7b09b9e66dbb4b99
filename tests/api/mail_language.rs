//! Issue 18: a mail language chosen on the account page (both portals)
//! holds over sign-in and the language switch, until the person follows
//! the portal's language again.

use lockbox::{i18n::Lang, notify::language};
use reqwest::StatusCode;

use crate::{
    helpers::{smtp_to, world_with},
    smtp::SmtpServer,
};

const PAGE: &str = "/account/mail-language";

#[tokio::test]
async fn a_chosen_mail_language_holds_over_sign_in_and_the_switch() {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let w = world_with(move |s| smtp_to(s, port)).await;
    let c = w.customers();
    let lang = |id| language::of(&mut w.app.conn(), language::ADMIN, id).expect("lang");

    let approver = w.app.admin_client(&c.approver).await;
    let page = w.app.admin_page(&approver, PAGE).await;
    assert!(
        page.contains(r#"value="follow" checked"#),
        "follows the portal by default: {page}"
    );
    let saved = w
        .app
        .admin_post(&approver, PAGE, PAGE, &[("mail_language", "nl")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let page = w.app.admin_page(&approver, PAGE).await;
    assert!(page.contains("Your mail language is saved."));
    assert!(page.contains(r#"value="nl" checked"#), "{page}");

    // Switching the portal to English and signing in again in English do
    // not undo the choice.
    w.app.get_admin(&approver, "/lang?to=en&back=/").await;
    let again = w.app.admin_client(&c.approver).await;
    assert_eq!(lang(c.approver.id), Lang::Nl);
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.deliver_mail().await;
    let subjects: Vec<String> = smtp
        .messages()
        .iter()
        .filter(|m| m.to[0] == c.approver.email)
        .map(|m| m.subject())
        .collect();
    assert_eq!(
        subjects,
        ["Customer Lockbox: goedkeuring nodig voor toegangsverzoek SR-1000 (Contoso)"]
    );

    // Following the portal again: the next switch sets the mail language.
    let follow = w
        .app
        .admin_post(&again, PAGE, PAGE, &[("mail_language", "follow")])
        .await;
    assert_eq!(follow.status(), StatusCode::SEE_OTHER);
    w.app.get_admin(&again, "/lang?to=en&back=/").await;
    assert_eq!(lang(c.approver.id), Lang::En);

    // Anything else is refused, and nothing changes.
    let bad = w
        .app
        .admin_post(&again, PAGE, PAGE, &[("mail_language", "de")])
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .await
            .expect("body")
            .contains("Choose one of the options.")
    );
    assert_eq!(lang(c.approver.id), Lang::En);
}

#[tokio::test]
async fn engineers_choose_their_mail_language_too() {
    let w = crate::helpers::world().await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let saved = w
        .app
        .engineer_post(&engineer, PAGE, PAGE, &[("mail_language", "nl")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    w.app.get_engineer(&engineer, "/lang?to=en&back=/").await;
    assert_eq!(
        language::of(&mut w.app.conn(), language::ENGINEER, w.engineer.id).expect("lang"),
        Lang::Nl
    );
    // Signed out, the page is not there to change.
    let anonymous = crate::helpers::client();
    let resp = anonymous
        .get(format!("{}{PAGE}", w.app.engineer_url))
        .send()
        .await
        .expect("get");
    assert!(resp.status().is_redirection() || resp.status() == StatusCode::UNAUTHORIZED);
}
