//! The outbox: [`enqueue`] inside the transaction of the change; the worker
//! calls [`deliver_due`], which claims a due message with `FOR UPDATE SKIP
//! LOCKED` (several lockbox processes never send one message at the same
//! time), sends it, and marks it in the same transaction. A crash
//! between sending and marking leaves the message pending, so it is sent
//! again: at least once, with the same Message-ID, so duplicates are
//! recognisable. Failures back off exponentially with jitter (capped at an
//! hour) and are retried until delivered, for at least [`Retry::at_least`]
//! (at least the pending lifetime) and [`Retry::max_attempts`]; only then
//! is the message marked failed, counted in `/metrics`, listed by `lockbox
//! outbox list --failed` and sent again after `lockbox outbox retry`
//! ([`retry_failed`]). A message no longer useful is [`withdraw`]n.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use lettre::{Message, message::MultiPart};
use uuid::Uuid;

use super::{Mail, mailer::Mailer};
use crate::schema::outbox as ob;

/// The first retry waits this long; each further one twice as long.
const BACKOFF_BASE_SECONDS: i64 = 30;
/// No retry waits longer than this.
const BACKOFF_CAP_SECONDS: i64 = 3600;

/// Writes `mails` to the outbox (call inside the change's transaction).
pub fn enqueue(
    conn: &mut PgConnection,
    mails: Vec<Mail>,
    request_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let rows: Vec<_> = mails
        .into_iter()
        .map(|m| {
            let id = Uuid::new_v4();
            (
                ob::id.eq(id),
                ob::message_id.eq(format!("<{}@lockbox>", id.simple())),
                ob::kind.eq(m.kind),
                ob::request_id.eq(request_id),
                ob::to_address.eq(m.to),
                ob::subject.eq(m.subject),
                ob::body_text.eq(m.text),
                ob::body_html.eq(m.html),
                ob::next_attempt_at.eq(now),
                ob::created_at.eq(now),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    // One mail, as a decision's to its engineer, is kept prepared (every
    // value is bound, so its text is fixed). Several are not: the text
    // grows with their number, and a tenant's approvers, who may all be
    // mailed at once, have no upper bound.
    let one = rows.len() == 1;
    let insert = diesel::insert_into(ob::table).values(rows);
    if one {
        crate::db::prepared(insert.returning(ob::id)).written::<Uuid>(conn)
    } else {
        insert.execute(conn)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ob)]
pub struct Queued {
    pub id: Uuid,
    pub message_id: String,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// How long a failing message keeps being retried: until both hold.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// At least this many attempts (`LOCKBOX_MAIL_MAX_ATTEMPTS`).
    pub max_attempts: i32,
    /// At least this long after it was queued (the longer of
    /// `LOCKBOX_MAIL_RETRY_HOURS` and the pending lifetime).
    pub at_least: Duration,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

fn build(from: &str, q: &Queued) -> Result<Message, String> {
    Message::builder()
        .from(from.parse().map_err(|e| format!("from address: {e}"))?)
        .to(q
            .to_address
            .parse()
            .map_err(|e| format!("to address: {e}"))?)
        .subject(q.subject.clone())
        .message_id(Some(q.message_id.clone()))
        .multipart(MultiPart::alternative_plain_html(
            q.body_text.clone(),
            q.body_html.clone(),
        ))
        .map_err(|e| e.to_string())
}

/// The wait before attempt `attempts + 1`: exponential, capped, ±20 %
/// jitter so a recovering server is not hit by every message at once.
pub fn backoff(attempts: i32) -> Duration {
    let exp = BACKOFF_BASE_SECONDS.saturating_mul(1_i64 << attempts.clamp(0, 20).saturating_sub(1));
    let base = exp.min(BACKOFF_CAP_SECONDS) as f64;
    let jitter = 0.8 + rand::random::<f64>() * 0.4;
    Duration::milliseconds((base * jitter * 1000.0) as i64)
}

/// Sends up to `batch` due messages, each in its own transaction: claim one
/// (`FOR UPDATE SKIP LOCKED`), send, mark. A crash re-sends at most the
/// message in flight. Safe to run in several processes at once.
///
/// The message due longest is claimed first (a new one is due when queued,
/// so new mail goes in order of arrival; a retried one when its backoff
/// ends): the order of the index of due messages, which the claim reads
/// until the first one it can lock. Claiming by creation time instead
/// sorted every due message, bodies and all, on every claim (a lock above
/// a sort cannot stop early): 126 ms a message with a backlog of 33,000,
/// against under a millisecond now (issue 20).
pub fn deliver_due(
    conn: &mut PgConnection,
    mailer: &dyn Mailer,
    from: &str,
    retry: Retry,
    now: DateTime<Utc>,
    batch: i64,
) -> QueryResult<Delivery> {
    let mut report = Delivery::default();
    for _ in 0..batch {
        let delivered = conn.transaction(|conn| {
            let Some(q) = ob::table
                .filter(ob::status.eq("pending"))
                .filter(ob::next_attempt_at.le(now))
                .order(ob::next_attempt_at.asc())
                .limit(1)
                .for_update()
                .skip_locked()
                .select(Queued::as_select())
                .first(conn)
                .optional()?
            else {
                return Ok(None);
            };
            // A message that cannot be built never will be: fail it now.
            let outcome = match build(from, &q) {
                Ok(message) => mailer.send(&message).map_err(|e| (e, false)),
                Err(e) => Err((e, true)),
            };
            mark(conn, &q, outcome, retry, now).map(Some)
        })?;
        match delivered {
            None => break,
            Some(Marked::Sent) => report.sent += 1,
            Some(Marked::Retrying) => report.retrying += 1,
            Some(Marked::Failed) => report.failed += 1,
        }
    }
    Ok(report)
}

enum Marked {
    Sent,
    Retrying,
    Failed,
}

/// Records the outcome of one attempt; `Err((error, hopeless))`.
fn mark(
    conn: &mut PgConnection,
    q: &Queued,
    outcome: Result<(), (String, bool)>,
    retry: Retry,
    now: DateTime<Utc>,
) -> QueryResult<Marked> {
    let attempts = q.attempts + 1;
    match outcome {
        Ok(()) => {
            diesel::update(ob::table.find(q.id))
                .set((
                    ob::status.eq("sent"),
                    ob::attempts.eq(attempts),
                    ob::sent_at.eq(now),
                    ob::last_error.eq(None::<String>),
                ))
                .execute(conn)?;
            Ok(Marked::Sent)
        }
        Err((error, hopeless)) => {
            let give_up = hopeless
                || (attempts >= retry.max_attempts && now - q.created_at >= retry.at_least);
            diesel::update(ob::table.find(q.id))
                .set((
                    ob::status.eq(if give_up { "failed" } else { "pending" }),
                    ob::attempts.eq(attempts),
                    ob::next_attempt_at.eq(now + backoff(attempts)),
                    ob::last_error.eq(Some(&error)),
                ))
                .execute(conn)?;
            if give_up {
                tracing::error!(message_id = %q.message_id, attempts, %error, "mail delivery failed for good");
                Ok(Marked::Failed)
            } else {
                tracing::warn!(message_id = %q.message_id, attempts, %error, "mail delivery failed; will retry");
                Ok(Marked::Retrying)
            }
        }
    }
}

/// Withdraws the undelivered messages of `kind` about `request` (no longer
/// useful: e.g. the reminder of a request someone decided meanwhile).
pub fn withdraw(conn: &mut PgConnection, request: Uuid, kind: &str) -> QueryResult<usize> {
    crate::db::prepared(
        diesel::update(
            ob::table
                .filter(ob::request_id.eq(request))
                .filter(ob::kind.eq(kind))
                .filter(ob::status.eq_any(["pending", "failed"])),
        )
        .set(ob::status.eq("withdrawn"))
        .returning(ob::id),
    )
    .written::<Uuid>(conn)
}

/// A message that failed for good, as `lockbox outbox list --failed`
/// shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ob)]
pub struct Failed {
    pub id: Uuid,
    pub kind: String,
    pub to_address: String,
    pub subject: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The messages that failed for good, oldest first.
pub fn failed(conn: &mut PgConnection) -> QueryResult<Vec<Failed>> {
    ob::table
        .filter(ob::status.eq("failed"))
        .order(ob::created_at.asc())
        .select(Failed::as_select())
        .load(conn)
}

/// Queues failed messages again (one by id, or all), due at once (due
/// since they were queued, whatever a worker's clock says), with a fresh
/// count of attempts ([`Retry::max_attempts`] more before they fail again).
pub fn retry_failed(conn: &mut PgConnection, id: Option<Uuid>) -> QueryResult<usize> {
    let mut query = diesel::update(ob::table)
        .filter(ob::status.eq("failed"))
        .into_boxed();
    if let Some(id) = id {
        query = query.filter(ob::id.eq(id));
    }
    query
        .set((
            ob::status.eq("pending"),
            ob::attempts.eq(0),
            ob::next_attempt_at.eq(ob::created_at),
        ))
        .execute(conn)
}

/// Messages by status, for `/metrics` and `/healthz`.
pub fn counts(conn: &mut PgConnection) -> QueryResult<Vec<(String, i64)>> {
    ob::table
        .group_by(ob::status)
        .select((ob::status, diesel::dsl::count_star()))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        for attempts in 1..=12 {
            let expected = (30_i64 << (attempts - 1)).min(3600) as f64;
            let got = backoff(attempts).num_milliseconds() as f64 / 1000.0;
            assert!(
                got >= expected * 0.8 - 0.001 && got <= expected * 1.2 + 0.001,
                "{attempts}: {got}"
            );
        }
    }
}
