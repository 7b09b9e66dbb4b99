//! Keyboard only: on a request's page in the admin center, the first Tab
//! stop skips to the content, Tab reaches every link, button and field,
//! each with a visible focus outline, and an approval is given with Tab and
//! Enter alone.

use std::collections::BTreeSet;

use super::{
    admin_sign_in,
    harness::{Browser, skip},
    helpers::world,
};

/// Where each visible link, button and form field sits in the document (the
/// same numbering as `Focused::index`).
const INTERACTIVE: &str = r#"
const all = Array.from(document.querySelectorAll('*'));
return Array.from(document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]'))
  .filter(el => !el.disabled && el.getClientRects().length > 0 && el.tabIndex >= 0)
  .map(el => all.indexOf(el));
"#;

#[tokio::test]
async fn every_control_is_reached_by_tab_with_a_visible_focus_and_enter_approves() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let mut b = Browser::start("keyboard").await;
    admin_sign_in(&mut b, &w, &c.approver).await;
    b.goto(&format!(
        "{}/support/lockbox/requests/{id}",
        w.app.admin_url
    ))
    .await;

    let controls: BTreeSet<u64> = serde_json::from_value(
        b.client
            .execute(INTERACTIVE, vec![])
            .await
            .expect("the page's controls"),
    )
    .expect("indexes");
    assert!(controls.len() > 5, "{controls:?}");
    // The first Tab stop skips the top bar and the navigation.
    let first = b.tab().await;
    assert_eq!(first.name, "Skip to main content");
    assert!(first.outline, "{first:?}");
    let mut reached = BTreeSet::from([first.index]);
    for _ in 0..controls.len() + 3 {
        let focused = b.tab().await;
        assert!(
            focused.outline || focused.tag == "body",
            "no visible focus on {focused:?}"
        );
        reached.insert(focused.index);
    }
    let missed: Vec<_> = controls.difference(&reached).collect();
    assert!(missed.is_empty(), "Tab never reaches {missed:?}");

    // From the top again: Tab to "Approve", Enter; then the same for
    // "Yes, approve" on the confirmation page.
    b.goto(&format!(
        "{}/support/lockbox/requests/{id}",
        w.app.admin_url
    ))
    .await;
    b.tab_to("Approve").await;
    b.press_enter().await;
    assert_eq!(b.h1().await, "Approve this request?");
    b.tab_to("Yes, approve").await;
    b.screenshot("focus-on-yes-approve").await;
    b.press_enter().await;
    let flash = b.text("[role=status]").await;
    assert!(flash.starts_with("You approved request "), "{flash}");
    assert_eq!(w.app.stored_status(id), "approved");
    b.close().await;
}
