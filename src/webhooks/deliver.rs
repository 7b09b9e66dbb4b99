//! The webhook worker. Unlike mail, an HTTP call may take up to the
//! timeout, so no transaction stays open across it: [`claim`] takes due
//! deliveries with `FOR UPDATE SKIP LOCKED` and leases them (moves their
//! `next_attempt_at` past the attempt's timeout, counting the attempt) in
//! one short transaction; [`post`] sends outside any transaction; [`mark`]
//! records the outcome only if the lease is still this worker's. A worker
//! that dies after posting leaves the delivery due again when the lease
//! ends: at least once, with the same `webhook-id`, so receivers
//! de-duplicate. Failures back off like mail (30 s doubling, capped at an
//! hour, jittered) and are retried until delivered or the endpoint, failing
//! for the whole failure period (3 days), is disabled (its tenant's global
//! administrators are mailed). The endpoint itself rests after a failure
//! for the backoff of its failed attempts in a row (see [`DUE`]).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::endpoints::{self, Endpoint};
pub use super::post::{Outcome, post};
use crate::{
    auth::totp::Sealer,
    db::{self, DbError, PgPool},
    notify::outbox::{self as mail_outbox, backoff},
    schema::{webhook_deliveries as wd, webhook_endpoints as we},
};

/// An opened `whsec_` secret: never printed, not even by `Debug`.
#[derive(Clone, Default)]
pub struct Secret(Option<String>);

impl Secret {
    pub fn new(secret: Option<String>) -> Self {
        Self(secret)
    }

    /// The secret (`None`: it did not open).
    pub fn reveal(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How the worker delivers (from the deployment's settings).
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// `LOCKBOX_WEBHOOK_TIMEOUT_SECONDS` (default 10).
    pub timeout: StdDuration,
    /// `LOCKBOX_WEBHOOK_ALLOW_HTTP_LOOPBACK` (default off).
    pub allow_http_loopback: bool,
    /// How long an endpoint may fail continuously before it is disabled
    /// (3 days).
    pub disable_after: Duration,
}

/// A leased delivery, with what is needed to send it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub message_id: String,
    pub payload: String,
    /// This attempt's number (the lease's token).
    pub attempt: i32,
    pub endpoint: Endpoint,
    /// The opened `whsec_` secret.
    pub secret: Secret,
}

/// A due delivery, the oldest of its endpoint.
#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    endpoint_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    message_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    payload: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
}

/// At most one due delivery per enabled endpoint that is not resting, the
/// one due longest: a slow endpoint with many due deliveries takes one
/// place in a round, not the whole batch. An endpoint rests after a failed
/// attempt for its own backoff (`resting_until`, see [`failing`]): a
/// receiver that is away is tried once per backoff, not once per round
/// with each event of its backlog in turn. Each endpoint's look reads
/// `webhook_deliveries_endpoint_due` in order and stops at its first row.
/// (PostgreSQL refuses `FOR UPDATE` with `DISTINCT ON`, so each endpoint's
/// delivery is locked in a lateral subquery.) Public for the plan test.
#[doc(hidden)]
pub const DUE: &str = "SELECT d.id, d.endpoint_id, d.message_id, d.payload, d.attempts \
    FROM webhook_endpoints e CROSS JOIN LATERAL ( \
      SELECT id, endpoint_id, message_id, payload, attempts, next_attempt_at \
      FROM webhook_deliveries \
      WHERE endpoint_id = e.id AND status = 'pending' AND next_attempt_at <= $1 \
      ORDER BY next_attempt_at, created_at LIMIT 1 FOR UPDATE SKIP LOCKED) d \
    WHERE e.enabled AND (e.resting_until IS NULL OR e.resting_until <= $1) \
    ORDER BY d.next_attempt_at LIMIT $2";

/// Leases up to `batch` due deliveries of enabled endpoints, at most one
/// per endpoint, for one attempt each (see the module doc). Safe with
/// several workers.
pub fn claim(
    conn: &mut PgConnection,
    sealer: &Sealer,
    now: DateTime<Utc>,
    lease: Duration,
    batch: i64,
) -> QueryResult<Vec<Claimed>> {
    use diesel::sql_types::{BigInt, Timestamptz};
    conn.transaction(|conn| {
        let due: Vec<Due> = diesel::sql_query(DUE)
            .bind::<Timestamptz, _>(now)
            .bind::<BigInt, _>(batch)
            .load(conn)?;
        let ids: Vec<Uuid> = due.iter().map(|d| d.endpoint_id).collect();
        let endpoints: Vec<(Endpoint, Vec<u8>)> = we::table
            .filter(we::id.eq_any(ids))
            .select((Endpoint::as_select(), we::secret))
            .load(conn)?;
        let mut claimed = Vec::with_capacity(due.len());
        for d in due {
            let Some((endpoint, secret)) = endpoints.iter().find(|(e, _)| e.id == d.endpoint_id)
            else {
                continue;
            };
            diesel::update(wd::table.find(d.id))
                .set((
                    wd::attempts.eq(d.attempts + 1),
                    wd::next_attempt_at.eq(now + lease),
                    wd::last_attempt_at.eq(now),
                ))
                .execute(conn)?;
            claimed.push(Claimed {
                id: d.id,
                message_id: d.message_id,
                payload: d.payload,
                attempt: d.attempts + 1,
                endpoint: endpoint.clone(),
                secret: Secret::new(endpoints::open(sealer, endpoint.id, secret)),
            });
        }
        Ok(claimed)
    })
}

/// What [`mark`] recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marked {
    Delivered,
    Retrying,
    /// The endpoint failed for the whole failure period and was disabled.
    Disabled,
    /// The lease had ended and another worker took the delivery over.
    Stale,
}

/// Records an attempt's outcome, if the lease is still this worker's.
pub fn mark(
    conn: &mut PgConnection,
    c: &Claimed,
    outcome: &Outcome,
    d: Delivery,
    now: DateTime<Utc>,
) -> QueryResult<Marked> {
    conn.transaction(|conn| {
        let mine = wd::table
            .filter(wd::id.eq(c.id))
            .filter(wd::attempts.eq(c.attempt))
            .filter(wd::status.eq("pending"));
        match outcome {
            Outcome::Delivered(status) => {
                let n = diesel::update(mine)
                    .set((
                        wd::status.eq("delivered"),
                        wd::delivered_at.eq(now),
                        wd::last_status.eq(Some(i32::from(*status))),
                        wd::last_error.eq(None::<String>),
                    ))
                    .execute(conn)?;
                diesel::update(we::table.find(c.endpoint.id))
                    .set((
                        we::failing_since.eq(None::<DateTime<Utc>>),
                        we::failures.eq(0),
                        we::resting_until.eq(None::<DateTime<Utc>>),
                    ))
                    .execute(conn)?;
                Ok(if n == 1 { Marked::Delivered } else { Marked::Stale })
            }
            Outcome::Failed {
                status,
                error,
                detail,
            } => {
                let n = diesel::update(mine)
                    .set((
                        wd::next_attempt_at.eq(now + backoff(c.attempt)),
                        wd::last_status.eq(status.map(i32::from)),
                        wd::last_error.eq(Some(error)),
                    ))
                    .execute(conn)?;
                if n == 0 {
                    return Ok(Marked::Stale);
                }
                tracing::warn!(webhook_id = %c.message_id, endpoint = %c.endpoint.id, host = %endpoints::origin(&c.endpoint.url), attempt = c.attempt, %detail, "webhook delivery failed; will retry");
                failing(conn, &c.endpoint, d, now)
            }
        }
    })
}

mod sql {
    diesel::define_sql_function! {
        /// PostgreSQL's COALESCE of a stored instant and a given one.
        fn coalesce(
            a: diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            b: diesel::sql_types::Timestamptz,
        ) -> diesel::sql_types::Timestamptz;
    }
}

/// Notes that the endpoint fails: it rests for the backoff of its failed
/// attempts in a row (a success resets them), so one event it keeps
/// rejecting holds the others up once per retry and for one short backoff,
/// not for the event's own hour-long one. Disables it once it failed for
/// the whole failure period.
fn failing(
    conn: &mut PgConnection,
    e: &Endpoint,
    d: Delivery,
    now: DateTime<Utc>,
) -> QueryResult<Marked> {
    // Failing since now unless it already was; one more failure in a row.
    let (failures, since): (i32, Option<DateTime<Utc>>) = diesel::update(we::table.find(e.id))
        .set((
            we::failing_since.eq(sql::coalesce(we::failing_since, now).nullable()),
            we::failures.eq(we::failures + 1),
        ))
        .returning((we::failures, we::failing_since))
        .get_result(conn)?;
    diesel::update(we::table.find(e.id))
        .set(we::resting_until.eq(now + backoff(failures)))
        .execute(conn)?;
    let Some(since) = since else {
        return Ok(Marked::Retrying);
    };
    if now - since < d.disable_after || !super::endpoints::disable(conn, e, now)? {
        return Ok(Marked::Retrying);
    }
    tracing::error!(endpoint = %e.id, %since, "webhook endpoint failed for the whole failure period; disabled");
    if let Some(tenant) = e.tenant_id {
        let mails = super::mails::disabled(conn, crate::identity::TenantId(tenant), e, since, now)?;
        mail_outbox::enqueue(conn, mails, None, now)?;
    }
    Ok(Marked::Disabled)
}

/// What one round of the worker did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub delivered: usize,
    pub retrying: usize,
    pub disabled: usize,
    /// Old finished deliveries deleted ([`sweep`]).
    pub swept: usize,
}

impl Round {
    fn add(&mut self, m: Marked) {
        match m {
            Marked::Delivered => self.delivered += 1,
            Marked::Retrying => self.retrying += 1,
            Marked::Disabled => {
                self.retrying += 1;
                self.disabled += 1;
            }
            Marked::Stale => {}
        }
    }
}

/// How long delivered and failed deliveries are kept (the endpoint's page
/// shows the recent ones; older ones only take space).
pub const KEEP: Duration = Duration::days(30);
/// Deliveries one sweep deletes at most (one short statement).
const SWEEP_BATCH: i64 = 1000;

/// Deletes up to a batch of delivered and failed deliveries older than
/// [`KEEP`]; pending ones stay whatever their age.
pub fn sweep(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    use diesel::sql_types::{BigInt, Timestamptz};
    diesel::sql_query(
        "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries \
         WHERE status IN ('delivered', 'failed') AND created_at < $1 LIMIT $2)",
    )
    .bind::<Timestamptz, _>(now - KEEP)
    .bind::<BigInt, _>(SWEEP_BATCH)
    .execute(conn)
}

/// One round: sweep old deliveries, claim up to `batch` due ones (one per
/// endpoint), post them concurrently and mark each as soon as its post
/// finishes, so a slow endpoint delays no other. Safe to run in several
/// processes at once.
pub async fn deliver_due(
    pool: &PgPool,
    sealer: &Sealer,
    d: Delivery,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<Round, DbError> {
    use futures_util::StreamExt;
    // The lease outlives the attempt: the timeout and some slack.
    let lease =
        Duration::from_std(d.timeout).unwrap_or(Duration::seconds(10)) + Duration::seconds(30);
    let sealer = sealer.clone();
    let (swept, claimed) = db::blocking(pool, move |conn| {
        let swept = sweep(conn, now)?;
        Ok::<_, DbError>((swept, claim(conn, &sealer, now, lease, batch)?))
    })
    .await?;
    let width = claimed.len().max(1);
    let marked: Vec<Result<Marked, DbError>> = futures_util::stream::iter(claimed)
        .map(|c| async move {
            let outcome = post(&c, d, now).await;
            db::blocking(pool, move |conn| {
                mark(conn, &c, &outcome, d, now).map_err(DbError::from)
            })
            .await
        })
        .buffer_unordered(width)
        .collect()
        .await;
    let mut round = Round {
        swept,
        ..Round::default()
    };
    for m in marked {
        round.add(m?);
    }
    Ok(round)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_delivery_prints_no_secret() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let claimed = Claimed {
            id: Uuid::nil(),
            message_id: "msg_1".into(),
            payload: "{}".into(),
            attempt: 1,
            endpoint: Endpoint {
                id: Uuid::nil(),
                tenant_id: None,
                url: "https://hooks.example.com/".into(),
                events: vec![],
                enabled: true,
                failing_since: None,
                disabled_at: None,
                created_at: DateTime::<Utc>::UNIX_EPOCH,
            },
            secret: Secret::new(Some(secret.into())),
        };
        let printed = format!("{claimed:?}");
        assert!(!printed.contains("MfKQ9r8"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");
        assert_eq!(claimed.secret.reveal(), Some(secret));
    }
}
