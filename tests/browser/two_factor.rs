//! Two-factor sign-in in the browser (issue 16): an approver under the
//! tenant's rule enrols by reading the secret off the page, signs out,
//! signs in with a code, and approves a request with a step-up code.

use chrono::Duration;
use fantoccini::Locator;

use super::{
    admin_sign_in,
    harness::{Browser, skip},
    helpers::{totp_code, world},
};

#[tokio::test]
async fn an_approver_enrols_signs_in_with_a_code_and_approves_with_a_fresh_one() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    w.app.require_two_factor(w.contoso, true);
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let mut b = Browser::start("two-factor").await;

    // Sent to enrolment right after the password.
    admin_sign_in(&mut b, &w, &c.approver).await;
    assert_eq!(b.h1().await, "Set up two-factor sign-in");
    let qr = b
        .client
        .find(Locator::Css("#qr svg"))
        .await
        .expect("a QR code");
    assert!(
        qr.is_displayed().await.expect("displayed"),
        "the QR code is visible"
    );
    b.screenshot("enrolment").await;
    let secret = b.text("#secret").await;
    b.fill("Code", &totp_code(&secret, w.app.clock_now())).await;
    b.click("Turn on two-factor sign-in").await;
    assert_eq!(b.h1().await, "Save your recovery codes");
    assert_eq!(b.texts("#recovery-codes code").await.len(), 10);
    b.click("I have saved my recovery codes").await;
    assert_eq!(b.h1().await, "Home");
    b.click("Sign out").await;

    // Signs in again: the password, then a code.
    w.app.clock.advance(Duration::seconds(30));
    admin_sign_in(&mut b, &w, &c.approver).await;
    assert_eq!(b.h1().await, "Enter your code");
    b.screenshot("code-prompt").await;
    b.fill("Code", &totp_code(&secret, w.app.clock_now())).await;
    b.click("Verify").await;
    assert_eq!(b.h1().await, "Home");

    // Six minutes later, approving asks for a fresh code in the same form.
    w.app.clock.advance(Duration::minutes(6));
    b.click("Support › Customer Lockbox requests").await;
    b.click("SR-1000").await;
    b.click("Approve").await;
    b.fill("Comment (optional)", "Approved for this ticket only.")
        .await;
    b.fill(
        "Code from your authenticator app (confirms this action)",
        &totp_code(&secret, w.app.clock_now()),
    )
    .await;
    b.screenshot("step-up").await;
    b.click("Yes, approve").await;
    let flash = b.text("[role=status]").await;
    assert!(flash.starts_with("You approved request "), "{flash}");
    assert_eq!(w.app.stored_status(id), "approved");
    b.close().await;
}
