//! The background work of a lockbox process: each safe with several
//! processes running at once, each logging a database outage once and
//! stopping between rounds on shutdown (see [`super::rounds`]).

use std::time::Duration;

use super::rounds::{Rounds, Stop};
use crate::{db, requests::commands as requests, web::AppState};

/// Records expiries and ends of access windows soon after time decides
/// them (every page already shows the effective state; this writes it into
/// history). Safe with several lockbox processes: see [`requests::sweep`].
pub(super) async fn sweeper(state: AppState, every: Duration, stop: Stop) {
    let mut rounds = Rounds::new("sweeper", every, stop);
    while rounds.next().await {
        let (now, policy) = (state.clock.now(), state.policy());
        let before = state.settings.mail.reminder_before;
        let result = db::blocking(&state.pool, move |conn| {
            let swept = requests::sweep(conn, now, &policy, 500)?;
            crate::requests::reminders::send_due(conn, now, before, 500)?;
            Ok::<_, db::DbError>(swept)
        })
        .await;
        rounds.record(&result);
        if result.is_ok() {
            state.metrics.set_marks(|m| m.sweeper_round = Some(now));
        }
        if let Ok(n @ 1..) = result {
            tracing::info!(recorded = n, "sweeper recorded expired or ended requests");
        }
    }
}

/// Chains new audit records into their tenants' chains within a moment of
/// their commit (see [`crate::audit::seal`]). Safe with several lockbox
/// processes; an idle round costs one small query.
pub(super) async fn sealer(state: AppState, every: Duration, stop: Stop) {
    let mut rounds = Rounds::new("sealer", every, stop);
    while rounds.next().await {
        let result = db::blocking(&state.pool, |conn| {
            crate::audit::seal::seal_pending(conn).map_err(db::DbError::from)
        })
        .await;
        rounds.record(&result);
        if result.is_ok() {
            let now = state.clock.now();
            state.metrics.set_marks(|m| m.sealer_round = Some(now));
        }
    }
}

/// Once a minute, signs a checkpoint for each tenant whose audit chain
/// moved since its last one, once that is `every` old (see
/// [`crate::audit::checkpoint`]), then queues the day's digest of each
/// tenant's newest checkpoint ([`crate::notify::checkpoint_digest`]). Safe
/// with several lockbox processes; an idle round costs two small queries.
pub(super) async fn checkpointer(state: AppState, every: chrono::Duration, stop: Stop) {
    let mut rounds = Rounds::new(
        "checkpointer",
        state.settings.resilience.checkpoint_round,
        stop,
    );
    while rounds.next().await {
        let now = state.clock.now();
        // Read again when the key file changed: a rotation takes effect
        // without a restart.
        let signer = match state.keys.current() {
            Ok(signer) => signer,
            Err(e) => {
                tracing::error!(error = %e, "no audit checkpoints: the signing key is unusable");
                continue;
            }
        };
        let result = db::blocking(&state.pool, move |conn| {
            // One tenant's failure must not hold the others' digests back.
            let hook: &crate::audit::checkpoint::OnWritten = &crate::webhooks::checkpoint_created;
            let written = crate::audit::checkpoint::write_due_then(conn, &signer, now, every, hook);
            let digests = crate::notify::checkpoint_digest::send_due(conn, now)?;
            Ok::<_, db::DbError>((written?, digests))
        })
        .await;
        rounds.record(&result);
        if let Ok((written, digests)) = result
            && (written > 0 || digests > 0)
        {
            tracing::info!(written, digests, "signed audit checkpoints");
        }
    }
}

/// Mails one round of the outbox worker sends at most.
const MAIL_BATCH: i64 = 50;

/// Delivers due mail from the outbox every `every`, and at once again
/// after a round that took a whole batch and sent some of it (a backlog
/// drains at the SMTP server's pace, not a batch per interval). Safe with
/// several lockbox processes: see [`crate::notify::outbox::deliver_due`].
pub(super) async fn mail_worker(state: AppState, every: Duration, stop: Stop) {
    let mailer: std::sync::Arc<dyn crate::notify::mailer::Mailer> =
        match crate::notify::mailer::from_settings(&state.settings.mail.transport) {
            Ok(m) => std::sync::Arc::from(m),
            Err(e) => {
                tracing::error!(error = %e, "mail is not configured correctly; nothing will be sent");
                return;
            }
        };
    let mut rounds = Rounds::new("mail", every, stop);
    while rounds.next().await {
        let (mailer, now) = (mailer.clone(), state.clock.now());
        let from = state.settings.mail.from.clone();
        let retry = crate::notify::outbox::Retry {
            max_attempts: state.settings.mail.max_attempts,
            at_least: state.settings.mail_retry_for(),
        };
        let result = db::blocking(&state.pool, move |conn| {
            crate::notify::outbox::deliver_due(conn, mailer.as_ref(), &from, retry, now, MAIL_BATCH)
                .map_err(db::DbError::from)
        })
        .await;
        rounds.record(&result);
        if let Ok(d) = result {
            count_deliveries(&state, "mail", d.sent, d.retrying + d.failed);
            // Not after a round that only failed: the SMTP server is away,
            // and its backlog waits for each message's backoff.
            if d.sent > 0
                && i64::try_from(d.sent + d.retrying + d.failed).is_ok_and(|n| n >= MAIL_BATCH)
            {
                rounds.again();
            }
        }
    }
}

/// Delivers due webhooks every `every` (see [`crate::webhooks::deliver`]):
/// claim with a lease, post concurrently outside any transaction, mark;
/// and at once again after a round that delivered anything. A round takes
/// at most one delivery per endpoint (so one endpoint's events arrive in
/// order, and a slow one takes one place in it): waiting an interval after
/// each would let an endpoint receive one event every `every`, slower
/// than a busy tenant's decisions make them. A failing endpoint rests for
/// its own backoff (see [`crate::webhooks::deliver::DUE`]). Safe with
/// several lockbox processes.
pub(super) async fn webhook_worker(state: AppState, every: Duration, stop: Stop) {
    let s = &state.settings.webhooks;
    let delivery = crate::webhooks::deliver::Delivery {
        timeout: s.timeout,
        allow_http_loopback: s.allow_http_loopback,
        disable_after: s.disable_after,
    };
    if s.allow_http_loopback {
        // A development setting: in production it lets any tenant point
        // webhooks at this machine's own services.
        tracing::warn!(
            "LOCKBOX_WEBHOOK_ALLOW_HTTP_LOOPBACK is on: tenants' webhooks may reach loopback \
             addresses over plain HTTP. NEVER use this in production."
        );
    }
    let mut rounds = Rounds::new("webhooks", every, stop);
    while rounds.next().await {
        let now = state.clock.now();
        let result =
            crate::webhooks::deliver::deliver_due(&state.pool, &state.sealer, delivery, now, 20)
                .await;
        rounds.record(&result);
        if let Ok(round) = result {
            count_deliveries(&state, "webhook", round.delivered, round.retrying);
            if round.delivered > 0 {
                rounds.again();
            }
            if round.disabled > 0 {
                tracing::warn!(disabled = round.disabled, "webhook endpoints disabled")
            }
        }
    }
}

/// Counts a round's delivery attempts by outcome.
fn count_deliveries(state: &AppState, channel: &str, succeeded: usize, failed: usize) {
    let m = &state.metrics;
    let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
    m.delivery_attempts
        .with_label_values(&[channel])
        .inc_by(n(succeeded + failed));
    m.delivery_successes
        .with_label_values(&[channel])
        .inc_by(n(succeeded));
    m.delivery_failures
        .with_label_values(&[channel])
        .inc_by(n(failed));
}

/// Refreshes the gauges that need the database every
/// `LOCKBOX_METRICS_REFRESH_SECONDS` (see [`crate::web::metrics::refresh`]):
/// a scrape itself reads no database.
pub(super) async fn metrics_refresher(state: AppState, stop: Stop) {
    let mut rounds = Rounds::new("metrics", state.settings.metrics.refresh(), stop);
    while rounds.next().await {
        let result = crate::web::metrics::refresh::refresh(&state.pool, &state.metrics).await;
        rounds.record(&result);
    }
}
