//! The JSON API: tokens, scopes, the cmdlets' endpoints on both listeners,
//! problem details for every refusal, and the same rules as the portals.

use chrono::Duration;
use lockbox::{
    auth::api_tokens::TokenScope,
    identity::RequestId,
    tenants::{self, Role},
};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    World, call, csrf_of, customer_token, problem, staff_token, texts, world, world_with,
};

/// A request of Contoso's waiting for the customer.
fn pending_for_customer(w: &World) -> RequestId {
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager))
}

#[tokio::test]
async fn a_global_admin_creates_a_token_in_the_browser_and_approves_with_it() {
    let w = world().await;
    let c = w.customers();
    let id = pending_for_customer(&w);
    let admin = w.app.admin_client(&c.admin).await;

    // Settings › API tokens: the secret is shown once.
    let resp = w
        .app
        .admin_post(
            &admin,
            "/settings/api-tokens",
            "/settings/api-tokens",
            &[
                ("name", "SOAR"),
                ("scope", "decide"),
                ("expires_days", "30"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let html = resp.text().await.expect("body");
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("#secret").expect("selector");
    let secret = doc
        .select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .expect("the secret is shown")
        .to_owned();
    assert!(secret.starts_with("lbx_") && secret.len() == 68);
    let again = w.app.admin_page(&admin, "/settings/api-tokens").await;
    assert!(!again.contains(&secret), "shown once only");
    assert_eq!(texts(&again, "#tokens td.token-name"), vec!["SOAR"]);

    // List pending requests, approve one.
    let list: Value = call(
        reqwest::Method::GET,
        format!(
            "{}/api/v1/requests?ApprovalStatus=PendingCustomer",
            w.app.admin_url
        ),
        &secret,
    )
    .send()
    .await
    .expect("list")
    .json()
    .await
    .expect("json");
    assert_eq!(list["Items"][0]["RequestId"], id.to_string());
    assert_eq!(
        list["Items"][0]["Requester"],
        w.engineer.staff_id().public_id()
    );
    let resp = call(
        reqwest::Method::POST,
        format!("{}/api/v1/requests/{id}/decision", w.app.admin_url),
        &secret,
    )
    .json(&json!({"ApprovalDecision": "Approve", "Comment": "ticket 42"}))
    .send()
    .await
    .expect("decide");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["ApprovalStatus"], "Approved");

    // The engineer sees Approved; the audit record names user and token.
    let engineer = w.app.engineer_client(&w.engineer).await;
    let page = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}"))
        .await;
    assert!(page.contains("badge-on"), "approved for the engineer");
    w.app.seal_audit();
    let record = lockbox::audit::search::search::<lockbox::audit::Record>(
        &mut w.app.conn(),
        w.contoso,
        &lockbox::audit::search::Filter {
            activities: vec!["Set-AccessToCustomerDataRequest".into()],
            ..Default::default()
        },
        None,
        10,
    )
    .expect("search")
    .0
    .remove(0);
    assert_eq!(record.actor_id, c.admin.id.to_string());
    assert_eq!(record.parameters["ApiToken"]["Name"], "SOAR");
    assert_eq!(record.parameters["ApprovalDecision"], "Approve");
}

#[tokio::test]
async fn scopes_cap_what_a_token_may_do() {
    let w = world().await;
    let c = w.customers();
    let id = pending_for_customer(&w);
    let read = customer_token(&w.app, &c.admin, TokenScope::Read);
    let decide = customer_token(&w.app, &c.admin, TokenScope::Decide);
    let admin = customer_token(&w.app, &c.admin, TokenScope::Admin);
    let approver_admin = customer_token(&w.app, &c.admin, TokenScope::Admin);
    let base = &w.app.admin_url;

    let resp = call(
        reqwest::Method::POST,
        format!("{base}/api/v1/requests/{id}/decision"),
        &read,
    )
    .json(&json!({"ApprovalDecision": "Deny"}))
    .send()
    .await
    .expect("call");
    problem(resp, StatusCode::FORBIDDEN, "insufficient-scope").await;

    let patch = json!({"CustomerLockBoxEnabled": false});
    let resp = call(
        reqwest::Method::PATCH,
        format!("{base}/api/v1/organization"),
        &decide,
    )
    .json(&patch)
    .send()
    .await
    .expect("call");
    problem(resp, StatusCode::FORBIDDEN, "insufficient-scope").await;

    let resp = call(
        reqwest::Method::PATCH,
        format!("{base}/api/v1/organization"),
        &admin,
    )
    .json(&patch)
    .send()
    .await
    .expect("call");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!tenants::lockbox_enabled(&mut w.app.conn(), w.contoso).expect("read"));
    let org: Value = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/organization"),
        &read,
    )
    .send()
    .await
    .expect("call")
    .json()
    .await
    .expect("json");
    assert_eq!(org["CustomerLockBoxEnabled"], false);

    // An admin-scoped token of a user who is no longer a global admin
    // (now an approver) may decide but not configure.
    let admin_user = w
        .app
        .create_user("Contoso", "second@contoso.example", Role::GlobalAdmin);
    let token = customer_token(&w.app, &admin_user, TokenScope::Admin);
    tenants::set_role(
        &mut w.app.conn(),
        w.contoso,
        lockbox::identity::UserId(admin_user.id),
        Role::Approver,
        w.app.clock_now(),
        &lockbox::audit::Actor::command_line(),
    )
    .expect("demoted");
    let resp = call(
        reqwest::Method::PATCH,
        format!("{base}/api/v1/organization"),
        &token,
    )
    .json(&patch)
    .send()
    .await
    .expect("call");
    problem(resp, StatusCode::FORBIDDEN, "forbidden-role").await;
    drop(approver_admin);
}

#[tokio::test]
async fn revoked_expired_and_demoted_owners_tokens_stop_at_once() {
    let w = world().await;
    let c = w.customers();
    let base = w.app.admin_url.clone();
    let list = |t: String| {
        let base = base.clone();
        async move {
            call(reqwest::Method::GET, format!("{base}/api/v1/requests"), &t)
                .send()
                .await
                .expect("call")
                .status()
        }
    };

    // Revoked in the admin center (behind its confirmation).
    let revoked = customer_token(&w.app, &c.admin, TokenScope::Read);
    assert_eq!(list(revoked.clone()).await, StatusCode::OK);
    let admin = w.app.admin_client(&c.admin).await;
    let html = w.app.admin_page(&admin, "/settings/api-tokens").await;
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("#tokens a").expect("selector");
    let revoke = doc
        .select(&sel)
        .next()
        .and_then(|a| a.value().attr("href"))
        .expect("a revoke link")
        .to_owned();
    let resp = w.app.admin_post(&admin, &revoke, &revoke, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/requests"),
        &revoked,
    )
    .send()
    .await
    .expect("call");
    problem(resp, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // Expired.
    let expiring = customer_token(&w.app, &c.admin, TokenScope::Read);
    w.app.clock.advance(Duration::days(30));
    assert_eq!(list(expiring).await, StatusCode::UNAUTHORIZED);

    // Its owner lost the Customer Lockbox role.
    let owner = w
        .app
        .create_user("Contoso", "owner@contoso.example", Role::GlobalAdmin);
    let token = customer_token(&w.app, &owner, TokenScope::Read);
    assert_eq!(list(token.clone()).await, StatusCode::OK);
    tenants::set_role(
        &mut w.app.conn(),
        w.contoso,
        lockbox::identity::UserId(owner.id),
        Role::User,
        w.app.clock_now(),
        &lockbox::audit::Actor::command_line(),
    )
    .expect("demoted");
    assert_eq!(list(token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(list("lbx_nonsense".into()).await, StatusCode::UNAUTHORIZED);
    let resp = Client::new()
        .get(format!("{base}/api/v1/requests"))
        .send()
        .await
        .expect("call");
    problem(resp, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn another_tenants_request_is_not_found_on_every_route() {
    let w = world().await;
    let c = w.customers();
    let id = pending_for_customer(&w);
    let theirs = customer_token(&w.app, &c.fabrikam_admin, TokenScope::Admin);
    let base = &w.app.admin_url;
    let resp = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/requests/{id}"),
        &theirs,
    )
    .send()
    .await
    .expect("call");
    problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let resp = call(
        reqwest::Method::POST,
        format!("{base}/api/v1/requests/{id}/decision"),
        &theirs,
    )
    .json(&json!({"ApprovalDecision": "Approve"}))
    .send()
    .await
    .expect("call");
    problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let list: Value = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/requests?RequestId={id}"),
        &theirs,
    )
    .send()
    .await
    .expect("call")
    .json()
    .await
    .expect("json");
    assert_eq!(list["Items"], json!([]));
    assert_eq!(w.app.stored_status(id), "pending_customer");
}

#[tokio::test]
async fn every_refusal_is_a_problem_with_its_own_type() {
    let w = world_with(|s| {
        s.api_rate = lockbox::config::ApiRate {
            per_second: std::num::NonZeroU32::new(1).expect("1"),
            burst: std::num::NonZeroU32::new(8).expect("8"),
        }
    })
    .await;
    let c = w.customers();
    let id = pending_for_customer(&w);
    let token = customer_token(&w.app, &c.admin, TokenScope::Decide);
    let base = &w.app.admin_url;
    let decision = format!("{base}/api/v1/requests/{id}/decision");

    let resp = call(reqwest::Method::POST, decision.clone(), &token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("call");
    problem(resp, StatusCode::BAD_REQUEST, "malformed-json").await;

    let resp = call(reqwest::Method::POST, decision.clone(), &token)
        .header("content-type", "text/plain")
        .body("Approve")
        .send()
        .await
        .expect("call");
    problem(
        resp,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;

    let resp = call(reqwest::Method::POST, decision.clone(), &token)
        .header("content-type", "application/json")
        .body(format!("{{\"Comment\": \"{}\"}}", "x".repeat(70 * 1024)))
        .send()
        .await
        .expect("call");
    problem(resp, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;

    let resp = call(reqwest::Method::POST, decision.clone(), &token)
        .json(&json!({"ApprovalDecision": "Maybe", "Comment": "c".repeat(1001)}))
        .send()
        .await
        .expect("call");
    let body = problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["errors"][0]["field"], "ApprovalDecision");

    let resp = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/nothing-here"),
        &token,
    )
    .send()
    .await
    .expect("call");
    problem(resp, StatusCode::NOT_FOUND, "not-found").await;

    let resp = call(reqwest::Method::POST, decision.clone(), &token)
        .json(&json!({"ApprovalDecision": "Deny"}))
        .send()
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = call(reqwest::Method::POST, decision.clone(), &token)
        .json(&json!({"ApprovalDecision": "Approve"}))
        .send()
        .await
        .expect("call");
    let body = problem(resp, StatusCode::CONFLICT, "not-pending").await;
    assert_eq!(body["ApprovalStatus"], "Denied");
    assert!(body["DecidedBy"].is_string() && body["DecidedAt"].is_string());

    // The allowance: a burst of 8 (1 a second, on the app's clock, which
    // stands still here); some of it was used above.
    let mut limited = None;
    for _ in 0..8 {
        let resp = call(
            reqwest::Method::GET,
            format!("{base}/api/v1/requests"),
            &token,
        )
        .send()
        .await
        .expect("call");
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("rate limited");
    let retry: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(retry >= 1);
    problem(resp, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
}

#[tokio::test]
async fn tokens_work_only_on_their_own_listener_and_cookies_never_authenticate() {
    let w = world().await;
    let c = w.customers();
    let customer = customer_token(&w.app, &c.admin, TokenScope::Read);
    let staff = staff_token(&w.app, &w.engineer);
    let on_engineer = call(
        reqwest::Method::GET,
        format!("{}/api/v1/requests", w.app.engineer_url),
        &customer,
    )
    .send()
    .await
    .expect("call");
    problem(on_engineer, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let on_admin = call(
        reqwest::Method::GET,
        format!("{}/api/v1/requests", w.app.admin_url),
        &staff,
    )
    .send()
    .await
    .expect("call");
    problem(on_admin, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // A signed-in browser's cookie is no API credential.
    let browser = w.app.admin_client(&c.admin).await;
    let resp = browser
        .get(format!("{}/api/v1/requests", w.app.admin_url))
        .send()
        .await
        .expect("call");
    problem(resp, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn an_engineer_files_through_the_api_and_a_manager_decides_through_it() {
    let w = world().await;
    let engineer = staff_token(&w.app, &w.engineer);
    let manager = staff_token(&w.app, &w.manager);
    let base = &w.app.engineer_url;

    // Every bad field at once.
    let resp = call(
        reqwest::Method::POST,
        format!("{base}/api/v1/requests"),
        &engineer,
    )
    .json(
        &json!({"TenantId": "nope", "ServiceRequestNumber": "", "Workload": "teams",
                      "DurationMinutes": 0, "Justification": ""}),
    )
    .send()
    .await
    .expect("call");
    let body = problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let mut fields: Vec<String> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "DurationMinutes",
            "Justification",
            "ServiceRequestNumber",
            "TenantId",
            "Workload"
        ]
    );

    let resp = call(
        reqwest::Method::POST,
        format!("{base}/api/v1/requests"),
        &engineer,
    )
    .json(
        &json!({"TenantId": w.contoso, "ServiceRequestNumber": "SR-9", "Workload": "exchange",
                      "DurationMinutes": 60, "Justification": "Mailbox will not sync."}),
    )
    .send()
    .await
    .expect("call");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let filed: Value = resp.json().await.expect("json");
    let id = filed["RequestId"].as_str().expect("id").to_owned();
    assert_eq!(filed["ApprovalStatus"], "PendingManager");

    let queue: Value = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/queue"),
        &manager,
    )
    .send()
    .await
    .expect("call")
    .json()
    .await
    .expect("json");
    assert_eq!(queue["Items"][0]["RequestId"], id);
    let resp = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/queue"),
        &engineer,
    )
    .send()
    .await
    .expect("call");
    problem(resp, StatusCode::FORBIDDEN, "forbidden-role").await;

    // The manager's own request: the two-person rule holds.
    let own: Value = call(
        reqwest::Method::POST,
        format!("{base}/api/v1/requests"),
        &manager,
    )
    .json(
        &json!({"TenantId": w.contoso, "ServiceRequestNumber": "SR-10", "Workload": "onedrive",
                      "Justification": "Own."}),
    )
    .send()
    .await
    .expect("call")
    .json()
    .await
    .expect("json");
    let resp = call(
        reqwest::Method::POST,
        format!(
            "{base}/api/v1/requests/{}/approve",
            own["RequestId"].as_str().expect("id")
        ),
        &manager,
    )
    .json(&json!({}))
    .send()
    .await
    .expect("call");
    problem(resp, StatusCode::FORBIDDEN, "forbidden-role").await;

    let resp = call(
        reqwest::Method::POST,
        format!("{base}/api/v1/requests/{id}/approve"),
        &manager,
    )
    .json(&json!({"Comment": "ok"}))
    .send()
    .await
    .expect("call");
    assert_eq!(resp.status(), StatusCode::OK);
    let approved: Value = resp.json().await.expect("json");
    assert_eq!(approved["ApprovalStatus"], "PendingCustomer");

    // The engineer sees it in their list; another engineer cannot see it.
    let mine: Value = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/requests"),
        &engineer,
    )
    .send()
    .await
    .expect("call")
    .json()
    .await
    .expect("json");
    assert_eq!(mine["Items"][0]["ApprovalStatus"], "PendingCustomer");
    let other = staff_token(&w.app, &w.other_engineer);
    let resp = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/requests/{id}"),
        &other,
    )
    .send()
    .await
    .expect("call");
    problem(resp, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn operations_through_the_api_pass_the_one_enforcement_point() {
    let w = world().await;
    w.app.seed_content(w.contoso, "contoso.example");
    let token = staff_token(&w.app, &w.engineer);
    let id = w
        .app
        .approved_request(w.contoso, &w.engineer, &w.manager, "exchange");
    let url = format!(
        "{}/api/v1/requests/{id}/operations/Get-MailboxStatistics",
        w.app.engineer_url
    );
    let resp = call(reqwest::Method::POST, url.clone(), &token)
        .json(&json!({}))
        .send()
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert!(!body["Rows"].as_array().expect("rows").is_empty());

    w.app.clock.advance(Duration::hours(4));
    let resp = call(reqwest::Method::POST, url, &token)
        .json(&json!({}))
        .send()
        .await
        .expect("call");
    problem(resp, StatusCode::FORBIDDEN, "access-denied").await;
    w.app.seal_audit();
    let (records, _) = lockbox::audit::search::search::<lockbox::audit::Record>(
        &mut w.app.conn(),
        w.contoso,
        &lockbox::audit::search::Filter {
            activities: vec!["Get-MailboxStatistics".into(), "AccessDenied".into()],
            ..Default::default()
        },
        None,
        10,
    )
    .expect("search");
    let activities: Vec<&str> = records.iter().map(|r| r.activity.as_str()).collect();
    assert_eq!(activities, ["AccessDenied", "Get-MailboxStatistics"]);
    assert!(records.iter().all(|r| r.actor_name == "Provider Operator"));
}

#[tokio::test]
async fn an_api_decision_racing_the_browser_has_one_winner() {
    let w = world().await;
    let c = w.customers();
    let id = pending_for_customer(&w);
    let token = customer_token(&w.app, &c.admin, TokenScope::Decide);
    let browser = w.app.admin_client(&c.approver).await;
    let confirm = w
        .app
        .admin_page(&browser, &format!("/support/lockbox/requests/{id}/deny"))
        .await;
    let csrf = csrf_of(&confirm);
    let mut calls = Vec::new();
    for i in 0..20 {
        let (api, admin_url) = (w.app.admin_url.clone(), w.app.admin_url.clone());
        let (token, browser, csrf) = (token.clone(), browser.clone(), csrf.clone());
        calls.push(tokio::spawn(async move {
            if i % 2 == 0 {
                call(
                    reqwest::Method::POST,
                    format!("{api}/api/v1/requests/{id}/decision"),
                    &token,
                )
                .json(&json!({"ApprovalDecision": "Approve"}))
                .send()
                .await
                .expect("call")
                .status()
            } else {
                browser
                    .post(format!("{admin_url}/support/lockbox/requests/{id}/deny"))
                    .form(&[("csrf_token", csrf.as_str()), ("comment", "")])
                    .send()
                    .await
                    .expect("call")
                    .status()
            }
        }));
    }
    let mut statuses = Vec::new();
    for c in calls {
        statuses.push(c.await.expect("joined"));
    }
    let won = statuses
        .iter()
        .filter(|s| **s == StatusCode::OK || **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(won, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::OK, StatusCode::SEE_OTHER, StatusCode::CONFLICT].contains(s))
    );
    w.app.seal_audit();
    let (records, _) = lockbox::audit::search::search::<lockbox::audit::Record>(
        &mut w.app.conn(),
        w.contoso,
        &lockbox::audit::search::Filter {
            activities: vec!["Set-AccessToCustomerDataRequest".into()],
            ..Default::default()
        },
        None,
        10,
    )
    .expect("search");
    assert_eq!(records.len(), 1, "one audit record for the decision");
}

#[tokio::test]
async fn only_global_admins_create_tokens_and_creation_is_audited() {
    let w = world().await;
    let c = w.customers();
    let approver = w.app.admin_client(&c.approver).await;
    let page = w.app.admin_page(&approver, "/settings/api-tokens").await;
    assert!(!page.contains("name=\"scope\""), "no form for approvers");
    let resp = w
        .app
        .admin_post(
            &approver,
            "/settings/api-tokens",
            "/settings/api-tokens",
            &[("name", "x"), ("scope", "admin"), ("expires_days", "30")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let admin = w.app.admin_client(&c.admin).await;
    let resp = w
        .app
        .admin_post(
            &admin,
            "/settings/api-tokens",
            "/settings/api-tokens",
            &[("name", ""), ("scope", "root"), ("expires_days", "999")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.expect("body");
    assert_eq!(texts(&html, ".field-error").len(), 3, "every field named");
    assert!(html.contains("value=\"999\""), "what was typed is kept");

    let resp = w
        .app
        .admin_post(
            &admin,
            "/settings/api-tokens",
            "/settings/api-tokens",
            &[
                ("name", "Ticketing"),
                ("scope", "read"),
                ("expires_days", "7"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    w.app.seal_audit();
    let (records, _) = lockbox::audit::search::search::<lockbox::audit::Record>(
        &mut w.app.conn(),
        w.contoso,
        &lockbox::audit::search::Filter {
            activities: vec!["New-ApiToken".into()],
            ..Default::default()
        },
        None,
        10,
    )
    .expect("search");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].parameters["Name"], "Ticketing");
    assert!(
        !records[0].parameters.to_string().contains("lbx_"),
        "no secret in the log"
    );
}

/// The bytes of a successful export, its content type and file name.
async fn exported(resp: reqwest::Response) -> (String, String, Vec<u8>) {
    assert_eq!(resp.status(), StatusCode::OK);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (kind, disposition) = (header("content-type"), header("content-disposition"));
    (
        kind,
        disposition,
        resp.bytes().await.expect("body").to_vec(),
    )
}

#[tokio::test]
async fn the_api_exports_exactly_what_the_audit_page_exports() {
    let w = world().await;
    let c = w.customers();
    let id = pending_for_customer(&w);
    let decider = customer_token(&w.app, &c.admin, TokenScope::Decide);
    let resp = call(
        reqwest::Method::POST,
        format!("{}/api/v1/requests/{id}/decision", w.app.admin_url),
        &decider,
    )
    .json(&json!({"ApprovalDecision": "Deny", "Comment": "=HYPERLINK(\"x\")"}))
    .send()
    .await
    .expect("decide");
    assert_eq!(resp.status(), StatusCode::OK);
    let token = customer_token(&w.app, &c.admin, TokenScope::Read);
    let admin = w.app.admin_client(&c.admin).await;
    // Every record sealed: nothing changes between the two exports.
    w.app.seal_audit();

    for (page, api) in [
        (String::new(), String::new()),
        (
            "activity=Set-AccessToCustomerDataRequest".to_owned(),
            "&Activities=Set-AccessToCustomerDataRequest".to_owned(),
        ),
        (format!("item={id}"), format!("&Item={id}")),
        (
            "text=HYPERLINK".to_owned(),
            "&FreeText=HYPERLINK".to_owned(),
        ),
    ] {
        for format in ["csv", "jsonl"] {
            let from_page = exported(
                w.app
                    .get_admin(&admin, &format!("/audit/export.{format}?{page}"))
                    .await,
            )
            .await;
            let from_api = exported(
                call(
                    reqwest::Method::GET,
                    format!(
                        "{}/api/v1/audit/export?format={format}{api}",
                        w.app.admin_url
                    ),
                    &token,
                )
                .send()
                .await
                .expect("export"),
            )
            .await;
            assert_eq!(from_api.0, from_page.0, "content type ({format}, {api})");
            assert!(
                from_api
                    .1
                    .starts_with("attachment; filename=\"audit-Contoso-")
                    && from_api.1.ends_with(&format!(".{format}\"")),
                "{}",
                from_api.1
            );
            assert!(
                from_api.2.len() > 10,
                "something exported ({format}, {api})"
            );
            assert_eq!(
                String::from_utf8_lossy(&from_api.2),
                String::from_utf8_lossy(&from_page.2),
                "the same bytes ({format}, {api})"
            );
        }
    }
}

#[tokio::test]
async fn a_bad_export_query_is_a_problem_and_starts_nothing() {
    let w = world().await;
    let c = w.customers();
    let token = customer_token(&w.app, &c.admin, TokenScope::Read);
    let base = format!("{}/api/v1/audit/export", w.app.admin_url);
    for query in [
        "",
        "?format=xml",
        "?format=csv&cursor=1.1",
        "?format=csv&Activities=Drop-Everything",
        "?format=csv&StartDate=2026-03-02T10:00:00Z&EndDate=2026-03-02T09:00:00Z",
        "?format=csv&EndDate=%2B10000-01-01T00:00:00Z",
        "?format=csv&StartDate=yesterday",
    ] {
        let resp = call(reqwest::Method::GET, format!("{base}{query}"), &token)
            .send()
            .await
            .expect("call");
        problem(resp, StatusCode::BAD_REQUEST, "bad-query").await;
    }
    let resp = Client::new()
        .get(format!("{base}?format=csv"))
        .send()
        .await
        .expect("call");
    problem(resp, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn an_engineer_cannot_cancel_another_engineers_request_through_the_api() {
    let w = world().await;
    let id = w.app.arrange_request(w.contoso, &w.engineer, None);
    let url = format!("{}/api/v1/requests/{id}/cancel", w.app.engineer_url);
    let cancel = |token: String| {
        let url = url.clone();
        async move {
            call(reqwest::Method::POST, url, &token)
                .json(&json!({"Comment": "not needed"}))
                .send()
                .await
                .expect("cancel")
        }
    };

    // Another engineer's request is one that does not exist for them.
    let resp = cancel(staff_token(&w.app, &w.other_engineer)).await;
    problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(w.app.stored_status(id), "pending_manager");

    let resp = cancel(staff_token(&w.app, &w.engineer)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(w.app.stored_status(id), "cancelled");
}
