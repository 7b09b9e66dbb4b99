//! Time is read after the lock: a decision or an operation that waited (for
//! a pooled connection, for the request's row) is judged at the moment it
//! holds the lock, not at the moment it was asked for. Each test holds the
//! request's row locked while the clock crosses the deadline.

use std::sync::mpsc;

use chrono::Duration;
use diesel::{Connection, RunQueryDsl};
use lockbox::{identity::RequestId, schema::access_requests as ar};
use reqwest::StatusCode;

use crate::helpers::{TestApp, csrf_of, world};

/// Holds request `id`'s row `FOR UPDATE` on an owner connection until told
/// to let go; returns once the lock is held.
fn hold_row(app: &TestApp, id: RequestId) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    use diesel::{ExpressionMethods, QueryDsl};
    let pool = app.owner_pool.clone();
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        let mut conn = pool.get().expect("owner connection");
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            ar::table
                .filter(ar::id.eq(id))
                .select(ar::id)
                .for_update()
                .first::<RequestId>(conn)?;
            locked_tx.send(()).expect("tell");
            release_rx.recv().expect("release");
            Ok(())
        })
        .expect("lock held and released");
    });
    locked_rx.recv().expect("row locked");
    (release_tx, handle)
}

/// Waits (polling the server, bounded) until a backend of the app waits
/// for a lock: the request under test is queued behind the held row.
async fn until_someone_waits_for_a_lock(app: &TestApp) {
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    for _ in 0..1_000 {
        let waiting: Waiting = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .get_result(&mut app.owner_conn())
        .expect("activity");
        if waiting.n > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("nobody queued behind the locked row within 10 s");
}

#[tokio::test]
async fn an_approval_that_waited_past_the_deadline_is_refused_as_expired() {
    let w = world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let deadline = w.app.clock_now() + Duration::hours(12);
    w.app.clock.set(deadline - Duration::seconds(1));
    let admin = w.app.admin_client(&c.approver).await;
    let confirm = w
        .app
        .admin_page(&admin, &format!("/support/lockbox/requests/{id}/approve"))
        .await;
    let token = csrf_of(&confirm);

    // The approval is asked for a second before the deadline, and waits.
    let (release, holder) = hold_row(&w.app, id);
    let url = format!("{}/support/lockbox/requests/{id}/approve", w.app.admin_url);
    let post = {
        let admin = admin.clone();
        tokio::spawn(async move {
            admin
                .post(url)
                .form(&[("csrf_token", token.as_str()), ("comment", "")])
                .send()
                .await
                .expect("request")
        })
    };
    until_someone_waits_for_a_lock(&w.app).await;
    // While it waits, the deadline passes.
    w.app.clock.set(deadline);
    release.send(()).expect("release");
    holder.join().expect("holder");

    let resp = post.await.expect("post");
    assert_eq!(resp.status(), StatusCode::CONFLICT, "too late");
    assert_eq!(w.app.stored_status(id), "expired");
    assert_eq!(w.app.events_to(id, "approved"), 0);
}

#[tokio::test]
async fn an_operation_that_waited_past_the_window_is_refused_and_audited() {
    let w = world().await;
    w.app.seed_content(w.contoso, "contoso.example");
    let id = w
        .app
        .approved_request(w.contoso, &w.engineer, &w.manager, "exchange");
    let ends = w.app.clock_now() + Duration::hours(4);
    w.app.clock.set(ends - Duration::seconds(1));
    let engineer = w.app.engineer_client(&w.engineer).await;
    let page = w
        .app
        .engineer_page(&engineer, &format!("/requests/{id}/session"))
        .await;
    let token = csrf_of(&page);

    let (release, holder) = hold_row(&w.app, id);
    let url = format!("{}/requests/{id}/session", w.app.engineer_url);
    let post = {
        let engineer = engineer.clone();
        tokio::spawn(async move {
            engineer
                .post(url)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("operation", "Get-MailboxStatistics"),
                ])
                .send()
                .await
                .expect("request")
        })
    };
    until_someone_waits_for_a_lock(&w.app).await;
    w.app.clock.set(ends);
    release.send(()).expect("release");
    holder.join().expect("holder");

    let resp = post.await.expect("post");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "the window closed");
    w.app.seal_audit();
    let activities: Vec<String> = {
        use diesel::{ExpressionMethods, QueryDsl};
        use lockbox::schema::audit_records as r;
        r::table
            .filter(r::tenant_id.eq(w.contoso))
            .filter(r::activity.eq_any(["AccessDenied", "Get-MailboxStatistics"]))
            .select(r::activity)
            .load(&mut w.app.conn())
            .expect("records")
    };
    assert_eq!(activities, vec!["AccessDenied"], "refused, and audited");
}
