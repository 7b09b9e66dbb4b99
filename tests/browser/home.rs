//! Both home pages with their cards filled, in a real browser, in English
//! and in Dutch (issue 22): screenshots under target/screenshots/.

use chrono::Duration;

use crate::{
    admin_sign_in, engineer_sign_in,
    harness::{Browser, skip},
    helpers::world,
};

#[tokio::test]
async fn both_homes_with_their_cards_in_english_and_dutch() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    w.app.seed_content(w.contoso, "contoso.example");
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app
        .approved_request(w.contoso, &w.engineer, &w.manager, "sharepoint");
    w.app.arrange_request(w.contoso, &w.other_engineer, None);
    w.app.clock.advance(Duration::minutes(20));
    let mut b = Browser::start("home-cards").await;

    admin_sign_in(&mut b, &w, &c.admin).await;
    assert_eq!(b.h1().await, "Home");
    assert_eq!(b.text("#waiting-count").await, "1");
    assert_eq!(b.text("#windows-count").await, "1");
    b.screenshot("admin-home-en").await;
    b.click("Nederlands").await;
    assert_eq!(b.h1().await, "Start");
    b.screenshot("admin-home-nl").await;
    b.click("English").await;
    b.click("Sign out").await;

    engineer_sign_in(&mut b, &w, &w.engineer).await;
    assert_eq!(b.texts("#own-windows li").await.len(), 1);
    b.screenshot("engineer-home-en").await;
    b.click("Nederlands").await;
    assert_eq!(b.h1().await, "Engineerportaal");
    b.screenshot("engineer-home-nl").await;
    b.click("English").await;
    b.click("Sign out").await;

    engineer_sign_in(&mut b, &w, &w.manager).await;
    assert_eq!(b.text("#queue-count").await, "1");
    b.screenshot("manager-home-en").await;
    b.close().await;
}
