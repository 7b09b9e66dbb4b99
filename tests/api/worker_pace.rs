//! Issue 20: a backlog drains at the pace of its receiver, not a batch
//! per round (and mail goes over one kept SMTP connection). A worker that
//! waited its interval after every round sent 50 mails every 2 s however
//! many were queued, and gave each webhook endpoint one event every 2 s:
//! slower than decisions under load queue them. A round that found work
//! is followed at once by the next; a failing webhook endpoint rests for
//! its own backoff.
//!
//! Each test arranges a backlog through one app whose workers do not run,
//! then starts a second on the same database (as a provider adds a
//! process) whose worker waits an hour between rounds: the backlog can
//! only drain by rounds that follow each other at once.

use std::time::{Duration, Instant};

use diesel::{
    QueryDsl, RunQueryDsl,
    sql_types::{BigInt, Timestamptz},
};
use lockbox::{schema::webhook_endpoints as we, webhooks::deliver::Round};

use crate::{
    helpers::{
        smtp_to, spawn_app, start_time,
        webhooks::{Answer, Receiver},
        world_with,
    },
    smtp::SmtpServer,
};

const AN_HOUR: Duration = Duration::from_secs(3600);

/// Waits (polling, bounded) until `done` holds; false if it never did.
async fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

#[tokio::test]
async fn a_mail_backlog_larger_than_a_round_is_sent_without_waiting_for_the_next_interval() {
    const QUEUED: i64 = 130;
    let first = spawn_app().await;
    diesel::sql_query(
        "INSERT INTO outbox (id, message_id, kind, to_address, subject, body_text, body_html, \
            next_attempt_at, created_at) \
         SELECT gen_random_uuid(), '<pace' || i || '@lockbox>', 'pace', 'a@customer.example', \
            'message ' || i, 'text', '<p>html</p>', $1 - ($2 - i) * interval '1 second', $1 \
         FROM generate_series(1, $2) AS i",
    )
    .bind::<Timestamptz, _>(start_time() - chrono::Duration::hours(1))
    .bind::<BigInt, _>(QUEUED)
    .execute(&mut first.owner_conn())
    .expect("backlog");

    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let _second = first
        .second(move |s| {
            smtp_to(s, port);
            s.mail.poll = Some(AN_HOUR);
        })
        .await;
    let all_sent = eventually(|| smtp.messages().len() as i64 >= QUEUED).await;
    let subjects: Vec<String> = smtp.messages().iter().map(|m| m.subject()).collect();
    assert!(
        all_sent,
        "{} of {QUEUED} sent: the worker waited for its next round",
        subjects.len()
    );
    assert_eq!(subjects.len() as i64, QUEUED, "each message once");
    assert!(
        smtp.connections() <= 2,
        "the messages share a kept connection: {} connections for {QUEUED} messages",
        smtp.connections()
    );
    assert_eq!(
        subjects[..3],
        ["message 1", "message 2", "message 3"],
        "due longest first"
    );
}

#[tokio::test]
async fn an_endpoint_receives_its_backlog_in_order_without_waiting_for_the_next_interval() {
    const QUEUED: usize = 6;
    let w = world_with(|s| s.webhooks.allow_http_loopback = true).await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = w.app.store_endpoint(Some(w.contoso), &receiver.url());
    // Queued a second apart, before the second app's clock: all due.
    let ids: Vec<String> = (0..QUEUED)
        .map(|i| {
            w.app.clock.set(
                start_time() - chrono::Duration::minutes(10) + chrono::Duration::seconds(i as i64),
            );
            w.app.queue_test_event(endpoint, w.contoso)
        })
        .collect();

    let _second = w.app.second(|s| s.webhooks.poll = Some(AN_HOUR)).await;
    let all_received = eventually(|| receiver.received().len() >= QUEUED).await;
    let got: Vec<String> = receiver.received().into_iter().map(|r| r.id).collect();
    assert!(
        all_received,
        "{} of {QUEUED} received: the worker waited for its next round",
        got.len()
    );
    assert_eq!(got, ids, "each event once, in the order queued");
}

/// An endpoint rests after a failed attempt for its own backoff, not each
/// event's: one event it rejects holds the rest up for that short backoff
/// only, they follow in order once it is over, and the success resets it.
#[tokio::test]
async fn an_endpoint_rests_after_a_failure_and_one_rejected_event_holds_the_others_up_briefly() {
    let w = world_with(|s| s.webhooks.allow_http_loopback = true).await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = w.app.store_endpoint(Some(w.contoso), &receiver.url());
    let ids: Vec<String> = (0..3)
        .map(|_| {
            w.app.clock.advance(chrono::Duration::seconds(1));
            w.app.queue_test_event(endpoint, w.contoso)
        })
        .collect();
    receiver.then(Answer::Status(400));

    let first = w.app.deliver_webhooks().await;
    assert_eq!(
        (first.delivered, first.retrying),
        (0, 1),
        "the first rejected"
    );
    assert_eq!(
        w.app.deliver_webhooks().await,
        Round::default(),
        "resting: none of its other events tried meanwhile"
    );
    // The first backoff is 30 s ± 20 %.
    w.app.clock.advance(chrono::Duration::seconds(37));
    let after = w.app.deliver_webhooks().await;
    assert_eq!((after.delivered, after.retrying), (3, 0), "{after:?}");
    let got: Vec<String> = receiver.received().into_iter().map(|r| r.id).collect();
    assert_eq!(
        got,
        [&ids[0], &ids[1], &ids[2], &ids[0]].map(String::clone),
        "the others in order, then the rejected one again"
    );
    let (failures, resting): (i32, Option<chrono::DateTime<chrono::Utc>>) = we::table
        .find(endpoint)
        .select((we::failures, we::resting_until))
        .first(&mut w.app.owner_conn())
        .expect("endpoint");
    assert_eq!((failures, resting), (0, None), "a success ends the rest");
}
