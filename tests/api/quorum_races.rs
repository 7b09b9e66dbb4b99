//! The customer quorum under races (issue 19), with real concurrent HTTP
//! clients: approvals decided under the request's row lock, the machine
//! deciding which approval completes the quorum.

use chrono::Duration;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use lockbox::{
    audit::activity, identity::RequestId, schema::access_request_events as ev, staff::StaffRole,
    tenants::Role,
};
use reqwest::{Client, StatusCode};

use crate::{
    helpers::{TestApp, TestUser, World, csrf_of, world_with},
    quorum::{records, set_quorum},
};

/// The request's approvals recorded in its timeline.
fn approvals(app: &TestApp, id: RequestId) -> i64 {
    ev::table
        .filter(ev::request_id.eq(id))
        .filter(ev::event.eq("customer_approved"))
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

/// Contoso with `n` approvers (and no one else who can approve), each
/// signed in.
async fn approvers(n: usize) -> (World, Vec<(TestUser, Client)>) {
    let w = world_with(|s| {
        s.sign_in_rate = lockbox::config::RateQuota::UNLIMITED;
    })
    .await;
    let mut people = Vec::new();
    for i in 0..n {
        let user = w.app.create_user(
            "Contoso",
            &format!("approver{i}@contoso.example"),
            Role::Approver,
        );
        let client = w.app.admin_client(&user).await;
        people.push((user, client));
    }
    (w, people)
}

/// The confirmation page's token of `action` on `id` for `client`.
async fn token(app: &TestApp, client: &Client, id: RequestId, action: &str) -> String {
    csrf_of(
        &app.admin_page(client, &format!("/support/lockbox/requests/{id}/{action}"))
            .await,
    )
}

async fn post(
    app: &TestApp,
    client: &Client,
    id: RequestId,
    action: &str,
    token: &str,
) -> (StatusCode, String) {
    let resp = client
        .post(format!(
            "{}/support/lockbox/requests/{id}/{action}",
            app.admin_url
        ))
        .form(&[("csrf_token", token), ("comment", "race")])
        .send()
        .await
        .expect("response");
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test]
async fn ten_approvers_at_once_with_quorum_three_record_exactly_three_approvals() {
    let (w, people) = approvers(10).await;
    set_quorum(&w.app, w.contoso, 3);
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let mut tokens = Vec::new();
    for (_, client) in &people {
        tokens.push(token(&w.app, client, id, "approve").await);
    }
    let sends = people
        .iter()
        .zip(&tokens)
        .map(|((_, client), token)| post(&w.app, client, id, "approve", token));
    let results = futures::future::join_all(sends).await;

    let won = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::SEE_OTHER)
        .count();
    let lost: Vec<&String> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(
        (won, lost.len()),
        (3, 7),
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    // The others are told who approved it, and when.
    for body in lost {
        assert!(
            body.contains("This request was already approved by Contoso approver"),
            "{body}"
        );
    }
    assert_eq!(approvals(&w.app, id), 3);
    assert_eq!(
        w.app.events_to(id, "approved"),
        1,
        "one transition to Approved"
    );
    assert_eq!(w.app.stored_status(id), "approved");
    let recorded = records(&w.app, w.contoso, activity::SET_REQUEST);
    let mut given: Vec<i64> = recorded
        .iter()
        .map(|r| r.parameters["ApprovalsGiven"].as_i64().unwrap_or(0))
        .collect();
    given.sort_unstable();
    assert_eq!(given, vec![1, 2, 3]);
    let receipts =
        lockbox::audit::receipt::for_request(&mut w.app.conn(), w.contoso, id).expect("receipts");
    assert_eq!(receipts.len(), 3);
}

#[tokio::test]
async fn an_approval_racing_a_deny_has_one_outcome_and_consistent_records() {
    let (w, people) = approvers(3).await;
    set_quorum(&w.app, w.contoso, 2);
    for round in 0..6 {
        let engineer = w.app.create_staff(
            &format!("racer{round}@provider.example"),
            StaffRole::Engineer,
        );
        let id = w
            .app
            .arrange_request(w.contoso, &engineer, Some(&w.manager));
        let first = w.app.customer_decide(&people[0].1, id, "approve", "").await;
        assert_eq!(first.status(), StatusCode::SEE_OTHER);
        let approve = token(&w.app, &people[1].1, id, "approve").await;
        let deny = token(&w.app, &people[2].1, id, "deny").await;
        let (approved, denied) = futures::future::join(
            post(&w.app, &people[1].1, id, "approve", &approve),
            post(&w.app, &people[2].1, id, "deny", &deny),
        )
        .await;
        let outcome = w.app.stored_status(id);
        match outcome.as_str() {
            "approved" => {
                assert_eq!(
                    (approved.0, denied.0),
                    (StatusCode::SEE_OTHER, StatusCode::CONFLICT)
                );
                assert!(denied.1.contains("already approved"), "{}", denied.1);
                assert_eq!(
                    (approvals(&w.app, id), w.app.events_to(id, "denied")),
                    (2, 0)
                );
            }
            "denied" => {
                assert_eq!(
                    (approved.0, denied.0),
                    (StatusCode::CONFLICT, StatusCode::SEE_OTHER)
                );
                assert!(approved.1.contains("already denied"), "{}", approved.1);
                assert_eq!(
                    (approvals(&w.app, id), w.app.events_to(id, "denied")),
                    (1, 1)
                );
                assert_eq!(w.app.events_to(id, "approved"), 0);
            }
            other => panic!("round {round}: {other}"),
        }
        // The audit records say the same as the timeline.
        let decisions: Vec<String> = records(&w.app, w.contoso, activity::SET_REQUEST)
            .into_iter()
            .filter(|r| r.request_id == Some(id))
            .map(|r| {
                r.parameters["ApprovalDecision"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        let expected = if outcome == "approved" {
            vec!["Approve", "Approve"]
        } else {
            vec!["Approve", "Deny"]
        };
        assert_eq!(decisions, expected, "round {round}");
    }
}

#[tokio::test]
async fn approvals_racing_the_deadline_are_expired_or_approved_never_both() {
    let (w, people) = approvers(2).await;
    set_quorum(&w.app, w.contoso, 2);
    let policy = lockbox::requests::Policy::default();
    for round in 0..6 {
        let engineer = w.app.create_staff(
            &format!("late{round}@provider.example"),
            StaffRole::Engineer,
        );
        let id = w
            .app
            .arrange_request(w.contoso, &engineer, Some(&w.manager));
        let deadline: chrono::DateTime<chrono::Utc> = lockbox::schema::access_requests::table
            .find(id)
            .select(lockbox::schema::access_requests::expires_at)
            .first::<Option<_>>(&mut w.app.conn())
            .expect("request")
            .expect("a deadline");
        w.app.clock.set(deadline - Duration::milliseconds(50));
        // Fresh sessions at this time.
        let first = w.app.admin_client(&people[0].0).await;
        let second = w.app.admin_client(&people[1].0).await;
        let resp = w.app.customer_decide(&first, id, "approve", "").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let last = token(&w.app, &second, id, "approve").await;

        // The last approval, while time crosses the deadline and the
        // sweeper records what time decided.
        let (clock, pool) = (w.app.clock.clone(), w.app.owner_pool.clone());
        let sweeper = tokio::task::spawn_blocking(move || {
            clock.advance(Duration::milliseconds(50));
            let mut conn = pool.get().expect("connection");
            use lockbox::clock::Clock;
            lockbox::requests::commands::sweep(&mut conn, clock.now(), &policy, 100).expect("sweep")
        });
        let (approval, swept) =
            futures::future::join(post(&w.app, &second, id, "approve", &last), sweeper).await;
        swept.expect("sweeper ran");
        // Whatever came first, time is recorded too by now.
        let mut conn = w.app.owner_conn();
        lockbox::requests::commands::sweep(
            &mut conn,
            deadline + Duration::seconds(1),
            &policy,
            100,
        )
        .expect("sweep");

        let (approved, expired) = (
            w.app.events_to(id, "approved"),
            w.app.events_to(id, "expired"),
        );
        match approval.0 {
            StatusCode::SEE_OTHER => {
                assert_eq!((approved, expired), (1, 0), "round {round}");
                assert_eq!(w.app.stored_status(id), "approved");
                assert_eq!(approvals(&w.app, id), 2);
            }
            StatusCode::CONFLICT => {
                assert_eq!((approved, expired), (0, 1), "round {round}");
                assert_eq!(w.app.stored_status(id), "expired");
                assert_eq!(approvals(&w.app, id), 1);
                assert!(approval.1.contains("expired"), "{}", approval.1);
            }
            other => panic!("round {round}: {other}"),
        }
        w.app.clock.set(deadline + Duration::seconds(2));
    }
}
