//! Every list is bounded: a page at a time, with a link to the next page
//! that continues exactly where the last one ended (keyset, ties included).

use diesel::RunQueryDsl;
use lockbox::{audit, tenants::Role};
use serde_json::json;

use crate::helpers::{texts, world};

/// The `href` of the page's "next page" link, if it has one.
fn next_link(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("a[rel=next]").expect("selector");
    doc.select(&sel)
        .next()
        .and_then(|a| a.value().attr("href"))
        .map(str::to_owned)
}

#[tokio::test]
async fn my_requests_and_the_approval_queue_come_fifty_at_a_time() {
    let w = world().await;
    // 51 requests filed at the same instant: the pages must break the tie.
    for _ in 0..51 {
        w.app.arrange_request(w.contoso, &w.engineer, None);
    }
    let engineer = w.app.engineer_client(&w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;

    for (client, path) in [(&engineer, "/requests"), (&manager, "/queue")] {
        let first = w.app.engineer_page(client, path).await;
        let first_rows = texts(&first, "table.grid tbody tr td:first-child a");
        assert_eq!(first_rows.len(), 50, "{path}: one page");
        let next = next_link(&first).unwrap_or_else(|| panic!("{path}: a next page"));
        assert!(next.starts_with(&format!("{path}?after=")), "{next}");

        let second = w.app.engineer_page(client, &next).await;
        let ids = |html: &str| {
            let doc = scraper::Html::parse_document(html);
            let sel =
                scraper::Selector::parse("table.grid tbody tr td:first-child a").expect("selector");
            doc.select(&sel)
                .filter_map(|a| a.value().attr("href").map(str::to_owned))
                .collect::<Vec<_>>()
        };
        let (mut all, rest) = (ids(&first), ids(&second));
        assert_eq!(rest.len(), 1, "{path}: the 51st on the second page");
        assert_eq!(next_link(&second), None, "{path}: no third page");
        all.extend(rest);
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 51, "{path}: no row repeated or skipped");
    }

    let bad = w
        .app
        .get_engineer(&engineer, "/requests?after=nonsense")
        .await;
    assert_eq!(bad.status(), reqwest::StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_roles_page_lists_a_hundred_users_at_a_time() {
    let w = world().await;
    let c = w.customers();
    {
        use diesel::ExpressionMethods;
        use lockbox::schema::tenant_users as tu;
        // One real hash for all: these users never sign in.
        let hash = lockbox::auth::password::hash_blocking(
            &lockbox::identity::NewPassword::parse("a long enough password").expect("valid"),
        )
        .expect("hash");
        let rows: Vec<_> = (0..100)
            .map(|i| {
                (
                    tu::id.eq(uuid::Uuid::new_v4()),
                    tu::tenant_id.eq(w.contoso),
                    tu::email.eq(format!("user{i:03}@contoso.example")),
                    // Everyone the same name: the e-mail breaks the tie.
                    tu::display_name.eq("Same Name"),
                    tu::password_hash.eq(hash.clone()),
                    tu::role.eq(Role::User.as_db()),
                    tu::created_at.eq(w.app.clock_now()),
                )
            })
            .collect();
        diesel::insert_into(tu::table)
            .values(rows)
            .execute(&mut w.app.conn())
            .expect("users");
    }
    let admin = w.app.admin_client(&c.admin).await;

    let first = w.app.admin_page(&admin, "/roles").await;
    let emails = |html: &str| texts(html, "#users tbody tr td:nth-child(2)");
    let mut seen = emails(&first);
    assert_eq!(seen.len(), 100, "one page of users");
    let next = next_link(&first).expect("a next page");
    let second = w.app.admin_page(&admin, &next).await;
    seen.extend(emails(&second));
    assert_eq!(next_link(&second), None);
    let total = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(
        (total, seen.len()),
        (103, 103),
        "3 people + 100 users, once each"
    );
}

#[tokio::test]
async fn a_requests_operator_actions_come_fifty_at_a_time() {
    let w = world().await;
    let c = w.customers();
    let id = w
        .app
        .approved_request(w.contoso, &w.engineer, &w.manager, "exchange");
    {
        let mut conn = w.app.conn();
        let actor = audit::Actor::provider_operator(w.engineer.staff_id(), "127.0.0.1");
        for i in 0..51 {
            audit::append(
                &mut conn,
                audit::Entry {
                    tenant_id: w.contoso,
                    occurred_at: w.app.clock_now(),
                    actor: &actor,
                    activity: "Search-Mailbox",
                    item: String::new(),
                    parameters: json!({"Words": format!("case {i}")}),
                    request_id: Some(id),
                },
            )
            .expect("appended");
        }
    }
    let admin = w.app.admin_client(&c.admin).await;
    let path = format!("/support/lockbox/requests/{id}");
    let first = w.app.admin_page(&admin, &path).await;
    let rows = "#operator-actions tbody tr";
    assert_eq!(texts(&first, rows).len(), 50);
    let next = next_link(&first).expect("older operator actions");
    let second = w.app.admin_page(&admin, &next).await;
    assert_eq!(texts(&second, rows).len(), 1);
    assert_eq!(next_link(&second), None);
}
