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
//! administrators are mailed).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::{
    endpoints::{self, Endpoint},
    guard, sign,
};
use crate::{
    auth::totp::Sealer,
    db::{self, DbError, PgPool},
    notify::outbox::{self as mail_outbox, backoff},
    schema::{webhook_deliveries as wd, webhook_endpoints as we},
};

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
    /// The opened `whsec_` secret (`None`: it did not open).
    pub secret: Option<String>,
}

/// Leases up to `batch` due deliveries of enabled endpoints for one
/// attempt each (see the module doc). Safe with several workers.
pub fn claim(
    conn: &mut PgConnection,
    sealer: &Sealer,
    now: DateTime<Utc>,
    lease: Duration,
    batch: i64,
) -> QueryResult<Vec<Claimed>> {
    conn.transaction(|conn| {
        let enabled = we::table.filter(we::enabled.eq(true)).select(we::id);
        let due: Vec<(Uuid, Uuid, String, String, i32)> = wd::table
            .filter(wd::status.eq("pending"))
            .filter(wd::next_attempt_at.le(now))
            .filter(wd::endpoint_id.eq_any(enabled))
            .order(wd::next_attempt_at.asc())
            .limit(batch)
            .for_update()
            .skip_locked()
            .select((
                wd::id,
                wd::endpoint_id,
                wd::message_id,
                wd::payload,
                wd::attempts,
            ))
            .load(conn)?;
        let ids: Vec<Uuid> = due.iter().map(|d| d.1).collect();
        let endpoints: Vec<(Endpoint, Vec<u8>)> = we::table
            .filter(we::id.eq_any(ids))
            .select((Endpoint::as_select(), we::secret))
            .load(conn)?;
        let mut claimed = Vec::with_capacity(due.len());
        for (id, endpoint_id, message_id, payload, attempts) in due {
            let Some((endpoint, secret)) = endpoints.iter().find(|(e, _)| e.id == endpoint_id)
            else {
                continue;
            };
            diesel::update(wd::table.find(id))
                .set((
                    wd::attempts.eq(attempts + 1),
                    wd::next_attempt_at.eq(now + lease),
                    wd::last_attempt_at.eq(now),
                ))
                .execute(conn)?;
            claimed.push(Claimed {
                id,
                message_id,
                payload,
                attempt: attempts + 1,
                endpoint: endpoint.clone(),
                secret: endpoints::open(sealer, endpoint.id, secret),
            });
        }
        Ok(claimed)
    })
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered(u16),
    /// Any other answer, a refused target, a timeout, a connection error.
    Failed { status: Option<u16>, error: String },
}

/// Sends one delivery: checks and pins the target ([`guard::resolve`]),
/// signs the body at this attempt's time, posts with the timeout and no
/// redirects.
pub async fn post(c: &Claimed, d: Delivery, now: DateTime<Utc>) -> Outcome {
    let failed = |error: String| Outcome::Failed {
        status: None,
        error,
    };
    let rules = c.endpoint.rules(d.allow_http_loopback);
    let Ok(url) = reqwest::Url::parse(&c.endpoint.url) else {
        return failed("not a valid URL".into());
    };
    let (host, address) = match guard::resolve(&url, rules).await {
        Ok(target) => target,
        Err(refused) => return failed(format!("refused: {refused}")),
    };
    let Some(key) = c.secret.as_deref().and_then(sign::key_of) else {
        return failed("the endpoint's secret is unusable".into());
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(d.timeout)
        .connect_timeout(d.timeout)
        .no_proxy()
        .resolve(&host, address)
        .user_agent("lockbox-webhooks")
        .build();
    let client = match client {
        Ok(client) => client,
        Err(e) => return failed(format!("client: {e}")),
    };
    let timestamp = now.timestamp();
    let signature = sign::signature(&key, &c.message_id, timestamp, c.payload.as_bytes());
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &c.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(c.payload.clone())
        .send()
        .await;
    match sent {
        Ok(resp) if resp.status().is_success() => Outcome::Delivered(resp.status().as_u16()),
        Ok(resp) => Outcome::Failed {
            status: Some(resp.status().as_u16()),
            error: format!("answered {}", resp.status()),
        },
        Err(e) if e.is_timeout() => {
            failed(format!("no answer within {} s", d.timeout.as_secs_f32()))
        }
        Err(e) => failed(format!("could not deliver: {e}")),
    }
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
                    .set(we::failing_since.eq(None::<DateTime<Utc>>))
                    .execute(conn)?;
                Ok(if n == 1 { Marked::Delivered } else { Marked::Stale })
            }
            Outcome::Failed { status, error } => {
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
                tracing::warn!(webhook_id = %c.message_id, endpoint = %c.endpoint.id, attempt = c.attempt, %error, "webhook delivery failed; will retry");
                failing(conn, &c.endpoint, d, now)
            }
        }
    })
}

/// Notes that the endpoint fails; disables it once it failed for the
/// whole failure period.
fn failing(
    conn: &mut PgConnection,
    e: &Endpoint,
    d: Delivery,
    now: DateTime<Utc>,
) -> QueryResult<Marked> {
    diesel::update(we::table.find(e.id).filter(we::failing_since.is_null()))
        .set(we::failing_since.eq(now))
        .execute(conn)?;
    let since: Option<DateTime<Utc>> =
        we::table.find(e.id).select(we::failing_since).first(conn)?;
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
}

/// One round: claim up to `batch` due deliveries, post them concurrently,
/// mark each. Safe to run in several processes at once.
pub async fn deliver_due(
    pool: &PgPool,
    sealer: &Sealer,
    d: Delivery,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<Round, DbError> {
    // The lease outlives the attempt: the timeout and some slack.
    let lease =
        Duration::from_std(d.timeout).unwrap_or(Duration::seconds(10)) + Duration::seconds(30);
    let sealer = sealer.clone();
    let claimed = db::blocking(pool, move |conn| {
        claim(conn, &sealer, now, lease, batch).map_err(DbError::from)
    })
    .await?;
    let outcomes = futures_util::future::join_all(claimed.iter().map(|c| post(c, d, now))).await;
    let marked = db::blocking(pool, move |conn| {
        claimed
            .iter()
            .zip(&outcomes)
            .map(|(c, o)| mark(conn, c, o, d, now))
            .collect::<QueryResult<Vec<_>>>()
            .map_err(DbError::from)
    })
    .await?;
    let mut round = Round::default();
    for m in marked {
        match m {
            Marked::Delivered => round.delivered += 1,
            Marked::Retrying => round.retrying += 1,
            Marked::Disabled => {
                round.retrying += 1;
                round.disabled += 1;
            }
            Marked::Stale => {}
        }
    }
    Ok(round)
}
