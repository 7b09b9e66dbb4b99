//! The reminder: once, when a request waiting for the customer has
//! `LOCKBOX_REMINDER_BEFORE_MINUTES` left and nobody decided, its tenant's
//! global administrators and approvers are told again. Exactly once even
//! with several lockbox processes: the reminder is a row keyed by the
//! request (`request_reminders`), written under the request's row lock
//! together with its mails; whoever comes second finds it. A decision that
//! comes later withdraws a reminder not yet delivered (`effects`).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::{Scope, Status, mails, queries};
use crate::{
    identity::RequestId,
    notify::outbox,
    schema::{access_requests as ar, request_reminders as rr},
};

/// Reminds of every request that is due (up to `batch`); returns how many.
pub fn send_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    before: Duration,
    batch: i64,
) -> QueryResult<usize> {
    let due: Vec<RequestId> = ar::table
        .filter(ar::status.eq(Status::PendingCustomer.as_db()))
        .filter(ar::expires_at.gt(now))
        .filter(ar::expires_at.le(now + before))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            rr::table.filter(rr::request_id.eq(ar::id)),
        )))
        .select(ar::id)
        .limit(batch)
        .load(conn)?;
    let mut sent = 0;
    for id in due {
        if conn.transaction(|conn| remind(conn, id, now, before))? {
            sent += 1;
        }
    }
    Ok(sent)
}

/// Under the request's row lock: still waiting, still undecided, not yet
/// reminded? Then the reminder row and its mails, in one transaction.
fn remind(
    conn: &mut PgConnection,
    id: RequestId,
    now: DateTime<Utc>,
    before: Duration,
) -> QueryResult<bool> {
    let locked: Option<(String, Option<DateTime<Utc>>)> = ar::table
        .find(id)
        .for_update()
        .select((ar::status, ar::expires_at))
        .first(conn)
        .optional()?;
    let waiting = matches!(&locked, Some((status, Some(expires)))
        if status == Status::PendingCustomer.as_db() && *expires > now && *expires <= now + before);
    if !waiting {
        return Ok(false);
    }
    let claimed = diesel::insert_into(rr::table)
        .values((rr::request_id.eq(id), rr::sent_at.eq(now)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if claimed == 0 {
        return Ok(false);
    }
    let Some(req) = queries::find(conn, id, Scope::Provider)? else {
        return Ok(false);
    };
    let queued = mails::pending_customer(conn, &req, true)?;
    outbox::enqueue(conn, queued, Some(id.0), now)?;
    Ok(true)
}
