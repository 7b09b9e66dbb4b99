//! Step-up (issue 16): every sensitive action of both portals asks for a
//! code once the last one is five minutes old, in the same form, changes
//! nothing without it, and a decision confirmed so says `Mfa: true` in its
//! audit record. A global administrator resets another user's
//! authenticator (audited); another tenant's user is not found.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl, SelectableHelper};
use lockbox::{
    audit::{Record, activity, view::audit_log as al},
    identity::TenantId,
    tenants::Role,
};
use reqwest::{Client, StatusCode};

use crate::helpers::{Authenticator, Portal, TestApp, TestUser, location, texts, world};

fn records(app: &TestApp, tenant: TenantId, activity: &str) -> Vec<Record> {
    al::table
        .filter(al::tenant_id.eq(tenant))
        .filter(al::activity.eq(activity))
        .order(al::id.asc())
        .select(Record::as_select())
        .load(&mut app.conn())
        .expect("records")
}

const STALE: i64 = 5 * 60;

/// POSTs `fields` from `page` without a code, then with one: the first is
/// refused with the code field and `unchanged` still holds; the second
/// does it. Returns the second answer.
#[allow(clippy::too_many_arguments)]
async fn needs_a_fresh_code(
    app: &TestApp,
    portal: Portal,
    client: &Client,
    authenticator: &Authenticator,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
    unchanged: impl Fn() -> bool,
) -> reqwest::Response {
    app.advance(STALE);
    let form = match portal {
        Portal::Admin => app.admin_page(client, page).await,
        Portal::Engineer => app.engineer_page(client, page).await,
    };
    assert!(
        !texts(&form, "input[name=second_factor_code]").is_empty()
            || form.contains("name=\"second_factor_code\""),
        "{page} asks for the code"
    );
    let resp = app.post_from(portal, client, page, action, fields).await;
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "{action} without a code"
    );
    let html = resp.text().await.expect("body");
    assert!(
        html.contains("Enter a code from your authenticator app to confirm this."),
        "{action}: {html}"
    );
    for (name, value) in fields {
        if matches!(*name, "comment" | "email" | "name") {
            assert!(html.contains(value), "{action} keeps what was typed");
        }
    }
    assert!(unchanged(), "{action} changed nothing without the code");
    let code = app.code(authenticator);
    let mut with_code = fields.to_vec();
    with_code.push(("second_factor_code", &code));
    let resp = app
        .post_from(portal, client, page, action, &with_code)
        .await;
    assert!(
        resp.status().is_redirection() || resp.status().is_success(),
        "{action} with a code: {}",
        resp.status()
    );
    resp
}

async fn enrolled_admin(app: &TestApp, user: &TestUser) -> (Client, Authenticator) {
    let c = app.admin_client(user).await;
    let authenticator = app.enrol(Portal::Admin, &c).await;
    (c, authenticator)
}

#[tokio::test]
async fn customer_decisions_ask_for_a_fresh_code_and_their_records_say_mfa() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let (admin, key) = enrolled_admin(app, &c.admin).await;

    let id = app.arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let base = format!("/support/lockbox/requests/{id}");
    let resp = needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        &format!("{base}/approve"),
        &format!("{base}/approve"),
        &[("comment", "Go ahead, ticket 42.")],
        || app.stored_status(id) == "pending_customer",
    )
    .await;
    assert_eq!(location(&resp), base);
    assert_eq!(app.stored_status(id), "approved");
    // Within five minutes the next decision needs no new code.
    let second = app.arrange_request(w.contoso, &w.other_engineer, Some(&w.manager));
    let second_base = format!("/support/lockbox/requests/{second}");
    let resp = app
        .post_from(
            Portal::Admin,
            &admin,
            &format!("{second_base}/approve"),
            &format!("{second_base}/approve"),
            &[],
        )
        .await;
    assert_eq!(location(&resp), second_base);
    // Revoking, later, asks again.
    needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        &format!("{base}/revoke"),
        &format!("{base}/revoke"),
        &[("comment", "Done with it.")],
        || app.stored_status(id) == "approved",
    )
    .await;
    assert_eq!(app.stored_status(id), "revoked");
    let decisions = records(app, w.contoso, activity::SET_REQUEST);
    let seen: Vec<_> = decisions
        .iter()
        .map(|r| {
            (
                r.parameters["ApprovalDecision"].clone(),
                r.parameters["Mfa"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("Approve".into(), true.into()),
            ("Approve".into(), true.into()),
            ("Revoke".into(), true.into())
        ]
    );

    let third = app.create_staff("eng3@provider.example", lockbox::staff::StaffRole::Engineer);
    let denied = app.arrange_request(w.contoso, &third, Some(&w.manager));
    let base = format!("/support/lockbox/requests/{denied}");
    needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        &format!("{base}/deny"),
        &format!("{base}/deny"),
        &[("comment", "Not now.")],
        || app.stored_status(denied) == "pending_customer",
    )
    .await;
    assert_eq!(app.stored_status(denied), "denied");
}

#[tokio::test]
async fn configuration_changes_in_the_admin_center_ask_for_a_fresh_code() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let (admin, key) = enrolled_admin(app, &c.admin).await;
    let tenant_flag = |column: &str| -> bool {
        use lockbox::schema::tenants as t;
        let (lockbox, rule): (bool, bool) = t::table
            .filter(t::id.eq(w.contoso))
            .select((t::lockbox_enabled, t::require_two_factor))
            .first(&mut app.conn())
            .expect("tenant");
        if column == "lockbox" { lockbox } else { rule }
    };

    // The Lockbox switch (turning it off, confirmed).
    let resp = needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        "/settings/org/lockbox",
        "/settings/org/lockbox",
        &[("confirm", "yes")],
        || tenant_flag("lockbox"),
    )
    .await;
    assert_eq!(location(&resp), "/settings/org/lockbox");
    assert!(!tenant_flag("lockbox"));

    // The customer quorum (issue 19).
    let quorum = || -> i16 {
        use lockbox::schema::tenants as t;
        t::table
            .filter(t::id.eq(w.contoso))
            .select(t::approvals_required)
            .first(&mut app.conn())
            .expect("tenant")
    };
    let resp = needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        "/settings/org/lockbox",
        "/settings/org/lockbox/approvals",
        &[("approvals_required", "2")],
        || quorum() == 1,
    )
    .await;
    assert_eq!(location(&resp), "/settings/org/lockbox");
    assert_eq!(quorum(), 2);

    // The two-factor rule.
    needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        "/settings/security",
        "/settings/security",
        &[("require_two_factor", "on")],
        || !tenant_flag("rule"),
    )
    .await;
    assert!(tenant_flag("rule"));
    let set = records(app, w.contoso, activity::SET_ORGANIZATION_CONFIG);
    assert_eq!(
        set.last()
            .map(|r| r.parameters["RequireTwoFactorSignIn"].clone()),
        Some(true.into())
    );

    // A role change.
    let role_of = |user: &TestUser| -> String {
        use lockbox::schema::tenant_users as u;
        u::table
            .filter(u::id.eq(user.id))
            .select(u::role)
            .first(&mut app.conn())
            .expect("role")
    };
    needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        "/roles",
        &format!("/roles/users/{}", c.user.id),
        &[("role", "approver")],
        || role_of(&c.user) == "user",
    )
    .await;
    assert_eq!(role_of(&c.user), "approver");

    // A new user with a role (the form kept as typed when refused).
    let users = || -> i64 {
        use lockbox::schema::tenant_users as u;
        u::table.count().get_result(&mut app.conn()).expect("count")
    };
    let before = users();
    needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        "/roles",
        "/roles/users",
        &[
            ("email", "new.admin@contoso.example"),
            ("display_name", "New Admin"),
            ("password", "a long enough password"),
            ("role", "global_admin"),
        ],
        || users() == before,
    )
    .await;
    assert_eq!(users(), before + 1);

    // An API token.
    let tokens = || -> i64 {
        use lockbox::schema::api_tokens as t;
        t::table.count().get_result(&mut app.conn()).expect("count")
    };
    let resp = needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        "/settings/api-tokens",
        "/settings/api-tokens",
        &[("name", "ITSM"), ("scope", "read"), ("expires_days", "30")],
        || tokens() == 0,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(tokens(), 1);

    // A webhook endpoint (issue 18): the tenant's events go somewhere new.
    let endpoints = || -> i64 {
        use lockbox::schema::webhook_endpoints as e;
        e::table.count().get_result(&mut app.conn()).expect("count")
    };
    let resp = needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        "/settings/webhooks",
        "/settings/webhooks",
        &[
            ("url", "https://hooks.example.com/lockbox"),
            ("event_decided", "on"),
        ],
        || endpoints() == 0,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(endpoints(), 1);

    // Removing it: the tenant's events stop reaching that receiver.
    let id: uuid::Uuid = {
        use lockbox::schema::webhook_endpoints as e;
        e::table.select(e::id).first(&mut app.conn()).expect("id")
    };
    let remove = format!("/settings/webhooks/{id}/remove");
    let resp = needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        &remove,
        &remove,
        &[],
        || endpoints() == 1,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(endpoints(), 0);
}

#[tokio::test]
async fn a_global_admin_resets_another_users_authenticator_and_the_user_enrols_again() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let (admin, key) = enrolled_admin(app, &c.admin).await;
    let approver = app.admin_client(&c.approver).await;
    app.enrol(Portal::Admin, &approver).await;
    app.require_two_factor(w.contoso, true);
    let enrolled = |user: &TestUser| -> bool {
        use lockbox::schema::second_factors as sf;
        sf::table
            .filter(sf::account_id.eq(user.id))
            .count()
            .get_result::<i64>(&mut app.conn())
            .expect("count")
            > 0
    };
    let roles = app.admin_page(&admin, "/roles").await;
    assert!(
        texts(&roles, "button")
            .iter()
            .any(|b| b.starts_with("Reset authenticator of")),
        "{:?}",
        texts(&roles, "button")
    );

    let resp = needs_a_fresh_code(
        app,
        Portal::Admin,
        &admin,
        &key,
        "/roles",
        &format!("/roles/users/{}/two-factor/reset", c.approver.id),
        &[],
        || enrolled(&c.approver),
    )
    .await;
    assert_eq!(location(&resp), "/roles");
    assert!(!enrolled(&c.approver));
    let reset = records(app, w.contoso, activity::RESET_AUTHENTICATOR);
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0].actor_id, c.admin.id.to_string());
    assert_eq!(reset[0].item, c.approver.id.to_string());
    // The approver is sent to enrol at their next sign-in.
    let resp = app.admin_sign_in(&reqwest_client(), &c.approver).await;
    assert_eq!(location(&resp), "/signin/enrol");

    // Another tenant's user: not found, nothing recorded.
    app.enrol(Portal::Admin, &app.admin_client(&c.fabrikam_admin).await)
        .await;
    let code = app.code(&key);
    let resp = app
        .post_from(
            Portal::Admin,
            &admin,
            "/roles",
            &format!("/roles/users/{}/two-factor/reset", c.fabrikam_admin.id),
            &[("second_factor_code", &code)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(enrolled(&c.fabrikam_admin));
    assert_eq!(
        records(app, w.contoso, activity::RESET_AUTHENTICATOR).len(),
        1
    );
    // Approvers may not reset anyone's.
    let other = app.create_user("Contoso", "approver2@contoso.example", Role::Approver);
    let resp = app
        .post_from(
            Portal::Admin,
            &approver,
            "/",
            &format!("/roles/users/{}/two-factor/reset", other.id),
            &[],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

fn reqwest_client() -> Client {
    crate::helpers::client()
}

#[tokio::test]
async fn managers_decisions_and_staff_tokens_in_the_engineer_portal_ask_for_a_fresh_code() {
    let w = world().await;
    let app = &w.app;
    let manager = app.engineer_client(&w.manager).await;
    let key = app.enrol(Portal::Engineer, &manager).await;

    for (action, outcome, engineer) in [
        ("approve", "pending_customer", &w.engineer),
        ("reject", "rejected", &w.other_engineer),
    ] {
        let id = app.arrange_request(w.contoso, engineer, None);
        let resp = needs_a_fresh_code(
            app,
            Portal::Engineer,
            &manager,
            &key,
            &format!("/requests/{id}/{action}"),
            &format!("/requests/{id}/{action}"),
            &[("comment", "Checked the ticket.")],
            || app.stored_status(id) == "pending_manager",
        )
        .await;
        assert_eq!(location(&resp), format!("/requests/{id}"));
        assert_eq!(app.stored_status(id), outcome, "{action}");
    }
    let approved = records(app, w.contoso, activity::APPROVE_REQUEST);
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0].parameters["Mfa"], true);
    let rejected = records(app, w.contoso, activity::REJECT_REQUEST);
    assert_eq!(rejected[0].parameters["Mfa"], true);

    let tokens = || -> i64 {
        use lockbox::schema::api_tokens as t;
        t::table.count().get_result(&mut app.conn()).expect("count")
    };
    needs_a_fresh_code(
        app,
        Portal::Engineer,
        &manager,
        &key,
        "/tokens",
        "/tokens",
        &[("name", "ITSM"), ("expires_days", "30")],
        || tokens() == 0,
    )
    .await;
    assert_eq!(tokens(), 1);
}

#[tokio::test]
async fn without_an_authenticator_or_a_rule_decisions_are_not_asked_and_say_no_mfa() {
    let w = world().await;
    let c = w.customers();
    let app = &w.app;
    let approver = app.admin_client(&c.approver).await;
    let id = app.arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let resp = app.customer_decide(&approver, id, "approve", "").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let record = records(app, w.contoso, activity::SET_REQUEST);
    assert_eq!(record[0].parameters.get("Mfa"), None);

    // Under the rule without an authenticator (a session from before the
    // rule): refused until they enrol.
    app.require_two_factor(w.contoso, true);
    let other = app.arrange_request(w.contoso, &w.other_engineer, Some(&w.manager));
    let resp = app.customer_decide(&approver, other, "deny", "").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let html = resp.text().await.expect("body");
    assert!(html.contains("Set up two-factor sign-in first"), "{html}");
    assert_eq!(app.stored_status(other), "pending_customer");
}
