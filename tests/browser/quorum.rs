//! The customer quorum in the browser (issue 19): a global administrator
//! sets "Approvals required" to 2; a request then needs two people of the
//! organization, one after another, and the engineer's access starts only
//! after the second.

use super::{
    admin_sign_in, engineer_sign_in,
    harness::{Browser, skip},
    helpers::world,
};

#[tokio::test]
async fn with_quorum_two_access_starts_only_after_the_second_approval() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    let mut b = Browser::start("quorum").await;

    // The global administrator asks for two approvals.
    admin_sign_in(&mut b, &w, &c.admin).await;
    b.click("Settings › Org settings").await;
    b.fill("Approvals required (1 to 5)", "2").await;
    b.click("Save approvals required").await;
    assert_eq!(
        b.text("[role=status]").await,
        "Requests that reach your organization from now on need 2 approvals."
    );
    b.screenshot("quorum-setting").await;
    b.click("Sign out").await;

    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));

    // The first approval: recorded, still pending.
    admin_sign_in(&mut b, &w, &c.approver).await;
    b.click("Support › Customer Lockbox requests").await;
    b.click("SR-1000").await;
    b.click("Approve").await;
    b.click("Yes, approve").await;
    let flash = b.text("[role=status]").await;
    assert!(flash.contains("More approvals are needed"), "{flash}");
    assert_eq!(b.text(".facts .badge").await, "Pending customer approval");
    assert_eq!(b.text("#approvals .approvals").await, "1 of 2 approvals");
    b.screenshot("quorum-first-approval").await;
    b.click("Sign out").await;

    // The engineer has no access yet.
    engineer_sign_in(&mut b, &w, &w.engineer).await;
    b.goto(&format!("{}/requests/{id}", w.app.engineer_url))
        .await;
    assert_eq!(b.text("#approvals").await, "1 of 2 approvals");
    assert!(
        b.texts("a")
            .await
            .iter()
            .all(|a| a != "Open access session"),
        "no session before the second approval"
    );
    b.screenshot("quorum-engineer-waits").await;
    b.click("Sign out").await;

    // The second approver sees who approved, and approves.
    admin_sign_in(&mut b, &w, &c.admin).await;
    b.click("Support › Customer Lockbox requests").await;
    let list = b.text("tbody").await;
    assert!(list.contains("1 of 2 approvals"), "{list}");
    assert!(list.contains("Approved by Contoso approver"), "{list}");
    b.screenshot("quorum-list").await;
    b.click("SR-1000").await;
    b.click("Approve").await;
    b.click("Yes, approve").await;
    let flash = b.text("[role=status]").await;
    assert!(flash.contains("; access ends at "), "{flash}");
    assert_eq!(b.text(".facts .badge").await, "Approved");
    b.screenshot("quorum-approved").await;
    b.click("Sign out").await;

    // Now the engineer's access session opens.
    engineer_sign_in(&mut b, &w, &w.engineer).await;
    b.goto(&format!("{}/requests/{id}", w.app.engineer_url))
        .await;
    b.click("Open access session").await;
    b.screenshot("quorum-session").await;
    b.close().await;
}
