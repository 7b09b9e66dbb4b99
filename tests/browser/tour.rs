//! Every page the navigation and the top bar lead to, in both portals, for
//! the person who sees the most (a global administrator, a support
//! manager), 1280 and 360 pixels wide: the harness runs axe-core and the
//! sideways-scrolling check on each, so pages no other journey visits are
//! checked too.

use super::{
    admin_sign_in, engineer_sign_in,
    harness::{Browser, skip},
    helpers::world,
};

/// The links of the side navigation and the top bar's account links.
const LINKS: &str = r#"
return Array.from(document.querySelectorAll('.sidenav a, .topbar a.account-link'))
  .map(a => a.href);
"#;

/// The first page a table on this page links to (a request, a service
/// request, a webhook, an audit record), downloads left out.
const FIRST_ROW_LINK: &str = r#"
return Array.from(document.querySelectorAll('main tbody a[href]:not([download])'))
  .map(a => a.href).find(h => !/\.(json|bin|sig|csv|jsonl)$/.test(h)) || null;
"#;

#[tokio::test]
async fn every_page_in_both_navigations_passes_axe_wide_and_narrow() {
    if skip() {
        return;
    }
    let w = world().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app
        .arrange_ticket(&c.user, "Shared mailbox receives nothing");
    let (webhook, _) = w
        .app
        .store_endpoint(Some(w.contoso), "https://hooks.contoso.example/lockbox");
    w.app.queue_test_event(webhook, w.contoso);
    let mut b = Browser::start("tour").await;

    engineer_sign_in(&mut b, &w, &w.manager).await;
    let engineer_pages = visit_every_link(&mut b).await;
    assert!(engineer_pages >= 9, "{engineer_pages} engineer pages");
    b.click("Sign out").await;

    admin_sign_in(&mut b, &w, &c.admin).await;
    let admin_pages = visit_every_link(&mut b).await;
    assert!(admin_pages >= 15, "{admin_pages} admin pages");
    b.close().await;
}

/// Visits every link of the current page's navigation at both widths, and
/// from each the first page its table links to (the harness checks each
/// page as it loads); answers how many pages that was per width.
async fn visit_every_link(b: &mut Browser) -> usize {
    let links: Vec<String> = serde_json::from_value(
        b.client
            .execute(LINKS, vec![])
            .await
            .expect("the navigation's links"),
    )
    .expect("links");
    let mut pages = 0;
    for width in [1280, 360] {
        b.set_width(width).await;
        pages = 0;
        for link in &links {
            b.goto(link).await;
            pages += 1;
            let first = b
                .client
                .execute(FIRST_ROW_LINK, vec![])
                .await
                .expect("a table's first link");
            if let Some(detail) = first.as_str() {
                b.goto(detail).await;
                pages += 1;
            }
        }
    }
    b.set_width(1280).await;
    pages
}
