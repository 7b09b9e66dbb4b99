//! A phone-sized window (360 CSS pixels wide): the main pages of both
//! portals fit without sideways scrolling and pass axe-core (the harness
//! checks both on every page it loads), and both home pages are
//! photographed wide and narrow, in English and in Dutch.

use super::{
    admin_sign_in, engineer_sign_in,
    harness::{Browser, skip},
    helpers::world,
};

/// A phone held upright.
const PHONE: u32 = 360;
/// A laptop.
const WIDE: u32 = 1280;

#[tokio::test]
async fn at_phone_width_both_portals_fit_without_sideways_scrolling() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let mut b = Browser::start("phone").await;
    b.set_width(PHONE).await;

    // The engineer portal: sign-in, home, the new-request form, the list and
    // a request.
    engineer_sign_in(&mut b, &w, &w.engineer).await;
    b.click("New request").await;
    b.full_page_screenshot("engineer-new-request").await;
    b.click("My requests").await;
    b.full_page_screenshot("engineer-requests").await;
    b.click("SR-1000").await;
    b.full_page_screenshot("engineer-request").await;
    b.click("Sign out").await;

    // The admin center: sign-in, home, the request list, a request with its
    // approve and deny pages, the audit log and one record.
    admin_sign_in(&mut b, &w, &c.admin).await;
    assert_eq!(b.h1().await, "Home");
    b.click("Support › Customer Lockbox requests").await;
    b.full_page_screenshot("admin-requests").await;
    b.click("SR-1000").await;
    b.full_page_screenshot("admin-request").await;
    b.click("Approve").await;
    b.full_page_screenshot("admin-approve").await;
    b.click("Support › Customer Lockbox requests").await;
    b.click("SR-1000").await;
    b.click("Deny").await;
    b.fill("Comment (optional)", "Not during the audit.").await;
    b.click("Yes, deny").await;
    assert_eq!(b.text(".facts .badge").await, "Denied");
    b.click("Audit").await;
    b.click("Search").await;
    b.full_page_screenshot("admin-audit").await;
    b.click("More information").await;
    b.full_page_screenshot("admin-audit-record").await;
    b.close().await;
}

#[tokio::test]
async fn both_homes_are_photographed_wide_and_narrow_in_english_and_dutch() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let mut b = Browser::start("homes").await;

    engineer_sign_in(&mut b, &w, &w.engineer).await;
    photograph_home(&mut b, "engineer-home").await;
    b.click("Sign out").await;
    admin_sign_in(&mut b, &w, &c.admin).await;
    assert_eq!(b.h1().await, "Home");
    photograph_home(&mut b, "admin-home").await;
    b.close().await;
}

/// The home page in English and Dutch, each 1280 and 360 pixels wide; ends
/// in English and wide again.
async fn photograph_home(b: &mut Browser, name: &str) {
    for (language, link) in [("en", "English"), ("nl", "Nederlands")] {
        b.click(link).await;
        let lang = b
            .client
            .execute("return document.documentElement.lang;", vec![])
            .await
            .expect("lang");
        assert_eq!(lang, language);
        for width in [WIDE, PHONE] {
            b.set_width(width).await;
            b.full_page_screenshot(&format!("{name}-{language}-{width}"))
                .await;
        }
        b.set_width(WIDE).await;
    }
    b.click("English").await;
}
