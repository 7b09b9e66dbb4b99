//! The customer quorum (issue 19): the "Approvals required" setting, and
//! requests that need more than one approver.

use chrono::Duration;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use lockbox::{
    audit::{Record, activity, view::audit_log as al},
    identity::{RequestId, TenantId},
    schema::{access_requests as ar, outbox, tenants},
    tenants::Role,
};
use reqwest::StatusCode;

use crate::helpers::{TestApp, TestUser, location, texts, world};

const SETTINGS: &str = "/settings/org/lockbox";
const QUORUM: &str = "/settings/org/lockbox/approvals";
const LIST: &str = "/support/lockbox/requests";

/// Sets `tenant`'s quorum directly (the setting's own tests go through the
/// page).
pub fn set_quorum(app: &TestApp, tenant: TenantId, n: i16) {
    diesel::update(tenants::table.find(tenant))
        .set(tenants::approvals_required.eq(n))
        .execute(&mut app.conn())
        .expect("quorum set");
}

pub fn stored_quorum(app: &TestApp, tenant: TenantId) -> i16 {
    tenants::table
        .find(tenant)
        .select(tenants::approvals_required)
        .first(&mut app.conn())
        .expect("tenant")
}

pub fn request_quorum(app: &TestApp, id: RequestId) -> Option<i16> {
    ar::table
        .find(id)
        .select(ar::approvals_required)
        .first(&mut app.conn())
        .expect("request")
}

/// The tenant's audit records of `activity`, oldest first.
pub fn records(app: &TestApp, tenant: TenantId, activity: &str) -> Vec<Record> {
    al::table
        .filter(al::tenant_id.eq(tenant))
        .filter(al::activity.eq(activity))
        .order(al::id.asc())
        .select(<Record as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .load(&mut app.conn())
        .expect("records")
}

/// The recipients of the queued mails of `kind` about `request`.
fn mailed(app: &TestApp, request: RequestId, kind: &str) -> Vec<String> {
    let mut to: Vec<String> = outbox::table
        .filter(outbox::request_id.eq(request.0))
        .filter(outbox::kind.eq(kind))
        .select(outbox::to_address)
        .load(&mut app.conn())
        .expect("outbox");
    to.sort();
    to
}

async fn post_quorum(app: &TestApp, client: &reqwest::Client, value: &str) -> reqwest::Response {
    app.admin_post(client, SETTINGS, QUORUM, &[("approvals_required", value)])
        .await
}

#[tokio::test]
async fn the_quorum_setting_is_bounded_for_global_admins_and_audited() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;

    let html = w.app.admin_page(&admin, SETTINGS).await;
    assert_eq!(
        texts(&html, "label[for=approvals_required]"),
        vec!["Approvals required (1 to 5)"]
    );
    assert!(html.contains(r#"name="approvals_required" min="1" max="5" step="1" value="1""#));
    assert_eq!(
        texts(&html, "#quorum-people"),
        vec![
            "2 people of your organization can approve requests (global administrators and \
             approvers)."
        ]
    );

    // Out of bounds or no number: refused, what was typed kept.
    for bad in ["0", "6", "two", ""] {
        let resp = post_quorum(&w.app, &admin, bad).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        let html = resp.text().await.expect("body");
        assert_eq!(
            texts(&html, "#quorum-error"),
            vec!["Enter a whole number from 1 to 5."]
        );
        assert!(html.contains(&format!(r#"value="{bad}""#)), "{bad:?} kept");
    }
    assert_eq!(stored_quorum(&w.app, w.contoso), 1);
    assert!(records(&w.app, w.contoso, activity::SET_ORGANIZATION_CONFIG).is_empty());

    let resp = post_quorum(&w.app, &admin, "2").await;
    assert_eq!(location(&resp), SETTINGS);
    let html = w.app.admin_page(&admin, SETTINGS).await;
    assert!(html.contains("Requests that reach your organization from now on need 2 approvals."));
    assert_eq!(stored_quorum(&w.app, w.contoso), 2);
    let set = records(&w.app, w.contoso, activity::SET_ORGANIZATION_CONFIG);
    assert_eq!(set.len(), 1);
    assert_eq!(
        set[0].parameters,
        serde_json::json!({"CustomerLockboxApprovalsRequired": 2, "PreviousValue": 1})
    );
    assert_eq!(set[0].actor_id, c.admin.id.to_string());

    // Saving the same value again records nothing.
    post_quorum(&w.app, &admin, "2").await;
    assert_eq!(
        records(&w.app, w.contoso, activity::SET_ORGANIZATION_CONFIG).len(),
        1
    );

    // Contoso has two people who can approve: three is refused, kept, said.
    let resp = post_quorum(&w.app, &admin, "3").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.expect("body");
    assert_eq!(
        texts(&html, "#quorum-error"),
        vec![
            "Your organization has only 2 people who can approve requests, fewer than 3. Give \
             more people the approver role first, under Roles."
        ]
    );
    assert!(html.contains(r#"value="3""#));
    assert_eq!(stored_quorum(&w.app, w.contoso), 2);

    // A third approver makes three possible.
    w.app
        .create_user("Contoso", "approver3@contoso.example", Role::Approver);
    let resp = post_quorum(&w.app, &admin, "3").await;
    assert_eq!(location(&resp), SETTINGS);
    assert_eq!(stored_quorum(&w.app, w.contoso), 3);
}

#[tokio::test]
async fn only_global_admins_change_the_quorum() {
    let w = world().await;
    let c = w.customers();
    let approver = w.app.admin_client(&c.approver).await;
    let html = w.app.admin_page(&approver, SETTINGS).await;
    assert!(!html.contains(QUORUM), "no form for an approver");
    assert_eq!(
        texts(&html, "#quorum-value"),
        vec!["Approvals required (1 to 5): 1"]
    );
    let resp = post_quorum(&w.app, &approver, "2").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(stored_quorum(&w.app, w.contoso), 1);

    let user = w.app.admin_client(&c.user).await;
    let token = crate::helpers::csrf_of(&w.app.admin_page(&user, "/").await);
    let resp = user
        .post(format!("{}{QUORUM}", w.app.admin_url))
        .form(&[("csrf_token", token.as_str()), ("approvals_required", "2")])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(stored_quorum(&w.app, w.contoso), 1);
}

#[tokio::test]
async fn no_role_change_leaves_fewer_people_than_the_quorum() {
    let w = world().await;
    let c = w.customers();
    set_quorum(&w.app, w.contoso, 2);
    let admin = w.app.admin_client(&c.admin).await;
    let resp = w
        .app
        .admin_post(
            &admin,
            "/roles",
            &format!("/roles/users/{}", c.approver.id),
            &[("role", "user")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.expect("body");
    assert!(html.contains("Your organization requires 2 approvals per request"));
    let role: String = lockbox::schema::tenant_users::table
        .find(c.approver.id)
        .select(lockbox::schema::tenant_users::role)
        .first(&mut w.app.conn())
        .expect("user");
    assert_eq!(role, "approver");
}

#[tokio::test]
async fn a_request_keeps_the_quorum_it_reached_the_customer_under() {
    let w = world().await;
    let c = w.customers();
    set_quorum(&w.app, w.contoso, 2);
    let waiting_for_manager = w.app.arrange_request(w.contoso, &w.engineer, None);
    let under_two = w
        .app
        .arrange_request(w.contoso, &w.other_engineer, Some(&w.manager));
    assert_eq!(request_quorum(&w.app, waiting_for_manager), None);
    assert_eq!(request_quorum(&w.app, under_two), Some(2));

    set_quorum(&w.app, w.contoso, 1);
    assert_eq!(request_quorum(&w.app, under_two), Some(2), "unmoved");
    let engineer = w.app.engineer_client(&w.manager).await;
    let resp = w
        .app
        .staff_decide(&engineer, waiting_for_manager, "approve", "")
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(request_quorum(&w.app, waiting_for_manager), Some(1));

    // The setting is 1 now, but a request still waits under 2: the
    // tenant must keep two people who can approve, or it could only expire.
    let admin = w.app.admin_client(&c.admin).await;
    let resp = w
        .app
        .admin_post(
            &admin,
            "/roles",
            &format!("/roles/users/{}", c.approver.id),
            &[("role", "user")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
}

/// Contoso with quorum 3 and three people who can approve, a request
/// waiting for them, and each of them signed in.
struct Three {
    w: crate::helpers::World,
    id: RequestId,
    people: Vec<(TestUser, reqwest::Client)>,
}

async fn three() -> Three {
    let w = world().await;
    let c = w.customers();
    let third = w
        .app
        .create_user("Contoso", "approver3@contoso.example", Role::Approver);
    set_quorum(&w.app, w.contoso, 3);
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let mut people = Vec::new();
    for user in [c.approver, c.admin, third] {
        let client = w.app.admin_client(&user).await;
        people.push((user, client));
    }
    Three { w, id, people }
}

#[tokio::test]
async fn partial_approvals_show_in_list_and_detail_and_the_last_one_opens_access() {
    let Three { w, id, people } = three().await;
    let detail = format!("{LIST}/{id}");

    let resp = w
        .app
        .customer_decide(&people[0].1, id, "approve", "one")
        .await;
    assert_eq!(location(&resp), detail);
    assert_eq!(w.app.stored_status(id), "pending_customer");
    let html = w.app.admin_page(&people[0].1, &detail).await;
    assert!(html.contains(&format!(
        "Your approval of request {id} is recorded. More approvals are needed"
    )));
    assert_eq!(
        texts(&html, "#approvals"),
        vec!["1 of 3 approvals Approved by Contoso approver"]
    );
    // Approve is offered to those who have not approved, not again to them.
    assert!(!html.contains(&format!("{detail}/approve")));
    let theirs = w.app.admin_page(&people[1].1, &detail).await;
    assert!(theirs.contains(&format!("{detail}/approve")));
    let list = w.app.admin_page(&people[1].1, LIST).await;
    assert_eq!(texts(&list, ".approvals"), vec!["1 of 3 approvals"]);
    assert!(list.contains("Approved by Contoso approver"));
    // The engineer sees the count (the timeline names the customer as the
    // organization), and no access yet.
    let engineer = w.app.engineer_client(&w.engineer).await;
    let theirs = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}"))
        .await;
    assert_eq!(texts(&theirs, "#approvals"), vec!["1 of 3 approvals"]);

    // The same person cannot approve twice.
    let resp = w.app.customer_decide(&people[0].1, id, "approve", "").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.expect("body");
    assert!(
        html.contains(
            "You have already approved this request (1 of 3 approvals); another person of your \
             organization must approve it."
        ),
        "{html}"
    );

    w.app.clock.advance(Duration::minutes(10));
    let resp = w.app.customer_decide(&people[1].1, id, "approve", "").await;
    assert_eq!(location(&resp), detail);
    let html = w.app.admin_page(&people[2].1, &detail).await;
    assert_eq!(
        texts(&html, "#approvals"),
        vec!["2 of 3 approvals Approved by Contoso approver, Contoso admin"]
    );
    assert_eq!(w.app.stored_status(id), "pending_customer");

    w.app.clock.advance(Duration::minutes(10));
    let third_at = w.app.clock_now();
    let resp = w.app.customer_decide(&people[2].1, id, "approve", "").await;
    assert_eq!(location(&resp), detail);
    assert_eq!(w.app.stored_status(id), "approved");
    let (approved_at, ends_at): (Option<chrono::DateTime<chrono::Utc>>, Option<_>) = ar::table
        .find(id)
        .select((ar::approved_at, ar::ends_at))
        .first(&mut w.app.conn())
        .expect("request");
    assert_eq!(
        approved_at,
        Some(third_at),
        "the window starts at the third"
    );
    assert_eq!(ends_at, Some(third_at + Duration::hours(4)));

    // Every approval: its timeline entry, audit record and receipt.
    assert_eq!(
        w.app.events_to(id, "pending_customer"),
        3,
        "manager + 2 partial"
    );
    assert_eq!(w.app.events_to(id, "approved"), 1);
    let decisions: Vec<serde_json::Value> = records(&w.app, w.contoso, activity::SET_REQUEST)
        .into_iter()
        .map(|r| r.parameters)
        .collect();
    assert_eq!(decisions.len(), 3);
    for (i, p) in decisions.iter().enumerate() {
        assert_eq!(p["ApprovalDecision"], "Approve");
        assert_eq!(p["ApprovalsGiven"], i + 1);
        assert_eq!(p["ApprovalsRequired"], 3);
    }
    let receipts =
        lockbox::audit::receipt::for_request(&mut w.app.conn(), w.contoso, id).expect("receipts");
    assert_eq!(receipts.len(), 3);
    assert!(receipts.iter().all(|r| r.decision == "Approve"));
}

#[tokio::test]
async fn those_who_have_not_approved_are_told_one_more_is_needed() {
    let Three { w, id, people } = three().await;
    w.app.customer_decide(&people[0].1, id, "approve", "").await;
    let mut not_yet = vec![people[1].0.email.clone(), people[2].0.email.clone()];
    not_yet.sort();
    assert_eq!(mailed(&w.app, id, "approval_needed"), not_yet);
    w.app.clock.advance(Duration::minutes(1));
    w.app.customer_decide(&people[1].1, id, "approve", "").await;
    let (subject, body): (String, String) = outbox::table
        .filter(outbox::request_id.eq(id.0))
        .filter(outbox::kind.eq("approval_needed"))
        .filter(outbox::to_address.eq(&people[2].0.email))
        .order(outbox::created_at.desc())
        .select((outbox::subject, outbox::body_text))
        .first(&mut w.app.conn())
        .expect("mail");
    assert!(
        subject.starts_with("Customer Lockbox: 1 more approval needed"),
        "{subject}"
    );
    assert!(body.contains("2 of 3 approvals"), "{body}");
    assert!(!body.contains("http") && !body.contains('@'), "{body}");
    // Three in all: two after the first approval, one after the second.
    assert_eq!(mailed(&w.app, id, "approval_needed").len(), 3);
    // The last approval opens access: no more such mail.
    w.app.customer_decide(&people[2].1, id, "approve", "").await;
    assert_eq!(mailed(&w.app, id, "approval_needed").len(), 3);
}

#[tokio::test]
async fn a_deny_after_partial_approvals_ends_the_request() {
    let Three { w, id, people } = three().await;
    w.app.customer_decide(&people[0].1, id, "approve", "").await;
    w.app.customer_decide(&people[1].1, id, "approve", "").await;
    let resp = w.app.customer_decide(&people[2].1, id, "deny", "no").await;
    assert_eq!(location(&resp), format!("{LIST}/{id}"));
    assert_eq!(w.app.stored_status(id), "denied");
    let decisions: Vec<String> = records(&w.app, w.contoso, activity::SET_REQUEST)
        .into_iter()
        .map(|r| {
            r.parameters["ApprovalDecision"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(decisions, vec!["Approve", "Approve", "Deny"]);
    // Nobody approves a denied request.
    let resp = w.app.customer_decide(&people[0].1, id, "approve", "").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(w.app.stored_status(id), "denied");
    assert_eq!(w.app.events_to(id, "approved"), 0);
}

#[tokio::test]
async fn the_api_decision_follows_the_quorum() {
    use crate::helpers::{call, customer_token, problem};
    use lockbox::auth::api_tokens::TokenScope;
    let w = world().await;
    let c = w.customers();
    set_quorum(&w.app, w.contoso, 2);
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let url = format!("{}/api/v1/requests/{id}/decision", w.app.admin_url);
    let decide = |token: &str| {
        call(reqwest::Method::POST, url.clone(), token)
            .json(&serde_json::json!({"ApprovalDecision": "Approve"}))
            .send()
    };
    // Tokens are global administrators'.
    let second = w
        .app
        .create_user("Contoso", "admin2@contoso.example", Role::GlobalAdmin);
    let approver = customer_token(&w.app, &second, TokenScope::Decide);
    let read = customer_token(&w.app, &second, TokenScope::Read);
    let org: serde_json::Value = call(
        reqwest::Method::GET,
        format!("{}/api/v1/organization", w.app.admin_url),
        &read,
    )
    .send()
    .await
    .expect("call")
    .json()
    .await
    .expect("json");
    assert_eq!(org["ApprovalsRequired"], 2);
    let resp = decide(&approver).await.expect("call");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["ApprovalStatus"], "PendingCustomer");
    assert_eq!(
        (
            body["ApprovalsGiven"].clone(),
            body["ApprovalsRequired"].clone()
        ),
        (1.into(), 2.into())
    );
    assert_eq!(body["Approvals"][0]["ApprovedBy"], "Contoso admin2");

    let again = decide(&approver).await.expect("call");
    let body = problem(again, StatusCode::CONFLICT, "already-approved").await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("You have already approved this request")),
        "{body}"
    );

    let admin = customer_token(&w.app, &c.admin, TokenScope::Decide);
    let resp = decide(&admin).await.expect("call");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["ApprovalStatus"], "Approved");
    assert_eq!(body["ApprovalsGiven"], 2);
    assert!(body["AccessEndsAt"].is_string());

    // Anyone after that is told who approved it, and when.
    let third = w
        .app
        .create_user("Contoso", "late@contoso.example", Role::GlobalAdmin);
    let late = customer_token(&w.app, &third, TokenScope::Decide);
    let body = problem(
        decide(&late).await.expect("call"),
        StatusCode::CONFLICT,
        "not-pending",
    )
    .await;
    assert_eq!(body["DecidedBy"], "Contoso admin");
    assert!(body["DecidedAt"].is_string());
}

#[tokio::test]
async fn the_evidence_pack_lists_every_approval_and_both_verifiers_accept_it() {
    use crate::checkpoints::checkpoint_now;
    let Three { w, id, people } = three().await;
    w.app.seal_audit();
    checkpoint_now(&w.app);
    for (_, client) in &people {
        let resp = w.app.customer_decide(client, id, "approve", "").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    }
    let resp = w.app.customer_decide(&people[0].1, id, "revoke", "").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    w.app.seal_audit();
    w.app.clock.advance(Duration::hours(1));
    checkpoint_now(&w.app);

    let client = w.app.admin_client(&people[1].0).await;
    let resp = w
        .app
        .get_admin(&client, &format!("{LIST}/{id}/evidence.json"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.bytes().await.expect("body");
    let pack: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(pack["request"]["approvals_required"], 3);
    let approvers: Vec<&str> = pack["request"]["approvals"]
        .as_array()
        .expect("approvals")
        .iter()
        .filter_map(|a| a["approver_name"].as_str())
        .collect();
    assert_eq!(
        approvers,
        vec!["Contoso approver", "Contoso admin", "Contoso approver3"]
    );
    let decisions: Vec<&str> = pack["receipts"]
        .as_array()
        .expect("receipts")
        .iter()
        .filter_map(|r| r["decision"].as_str())
        .collect();
    assert_eq!(decisions, vec!["Approve", "Approve", "Approve", "Revoke"]);

    let dir = tempfile::tempdir().expect("dir");
    let key = dir.path().join("key.pem");
    let pem = w.app.get_admin(&client, "/audit/signing-key.pem").await;
    std::fs::write(&key, pem.bytes().await.expect("pem")).expect("write");
    let verify = |name: &str, bytes: &[u8]| {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).expect("write");
        let rust = std::process::Command::new(env!("CARGO_BIN_EXE_lockbox"))
            .args(["audit", "verify-file"])
            .arg(&file)
            .arg("--public-key")
            .arg(&key)
            .env_remove("DATABASE_URL")
            .env("LOCKBOX_LOG", "warn")
            .output()
            .expect("lockbox runs");
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify-export.py");
        let python = std::process::Command::new("python3")
            .arg(script)
            .arg(&file)
            .arg("--public-key")
            .arg(&key)
            .output()
            .expect("python3 runs");
        [rust, python].map(|out| {
            let said = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            (out.status.success(), said)
        })
    };
    for (ok, said) in verify("evidence.json", &bytes) {
        assert!(ok, "{said}");
        assert!(said.contains("4 signed receipts match"), "{said}");
    }
    // The readable approvals are checked against the signed records: one
    // left out, another name, or another quorum, and both verifiers refuse
    // the pack.
    let mut fewer = pack.clone();
    fewer["request"]["approvals"]
        .as_array_mut()
        .expect("approvals")
        .pop();
    let mut renamed = pack.clone();
    renamed["request"]["approvals"][0]["approver_name"] = "Someone else".into();
    // A pack claiming a smaller quorum than its approvals were counted
    // against is refused too.
    let mut smaller = pack.clone();
    smaller["request"]["approvals_required"] = 1.into();
    for (name, edited) in [
        ("fewer.json", fewer),
        ("renamed.json", renamed),
        ("smaller.json", smaller),
    ] {
        let text = serde_json::to_vec(&edited).expect("json");
        for (ok, said) in verify(name, &text) {
            assert!(!ok, "{name}: {said}");
            assert!(said.contains("approvals"), "{name}: {said}");
        }
    }
}

#[tokio::test]
async fn the_reminder_goes_only_to_those_who_have_not_approved() {
    let Three { w, id, people } = three().await;
    w.app.customer_decide(&people[0].1, id, "approve", "").await;
    w.app.clock.advance(Duration::hours(11));
    lockbox::requests::reminders::send_due(
        &mut w.app.conn(),
        w.app.clock_now(),
        Duration::hours(2),
        10,
    )
    .expect("reminders");
    let mut not_yet = vec![people[1].0.email.clone(), people[2].0.email.clone()];
    not_yet.sort();
    assert_eq!(mailed(&w.app, id, "reminder"), not_yet);
}
