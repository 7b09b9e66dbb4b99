//! The rhythm of a background worker (issue 21): a round every interval;
//! while the database is away, one log line when the outage starts and
//! one when it ends (not one per failed round), rounds spaced out by a
//! growing pause; and a stop signal that ends the worker between rounds,
//! never in the middle of one, so on shutdown no work is left half done
//! (no lease held, no transaction cut off).

use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::db::DbError;

/// The longest pause between rounds while the database is away: the
/// workers resume at most this long after it is back.
const MAX_BACKOFF: Duration = Duration::from_secs(4);
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Tells the workers to stop after their current round; and, held until a
/// worker's first round is done, lets [`super::FirstRounds`] know when the
/// start-up rounds are over (every worker runs one at once on start).
#[derive(Clone)]
pub(super) struct Stop {
    signal: watch::Receiver<bool>,
    first_round: Option<super::FirstRound>,
}

impl Stop {
    pub(super) fn new(signal: watch::Receiver<bool>, first_round: super::FirstRound) -> Self {
        Self {
            signal,
            first_round: Some(first_round),
        }
    }
}

/// One worker's rounds.
pub(super) struct Rounds {
    worker: &'static str,
    tick: tokio::time::Interval,
    stop: Stop,
    down_since: Option<Instant>,
    backoff: Duration,
    /// A round has been started (so the next call ends the first).
    begun: bool,
}

impl Rounds {
    pub(super) fn new(worker: &'static str, every: Duration, stop: Stop) -> Self {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            worker,
            tick,
            stop,
            down_since: None,
            backoff: FIRST_BACKOFF,
            begun: false,
        }
    }

    /// Waits for the next round (while the database is away, the pause
    /// first); `false` once the process is stopping.
    pub(super) async fn next(&mut self) -> bool {
        if self.begun {
            // The round before was the first: it is done.
            self.stop.first_round = None;
        }
        self.begun = true;
        if *self.stop.signal.borrow() {
            return false;
        }
        let pause = self.down_since.map(|_| self.backoff);
        let (tick, stop) = (&mut self.tick, &mut self.stop.signal);
        tokio::select! {
            _ = async {
                if let Some(pause) = pause {
                    tokio::time::sleep(pause).await;
                }
                tick.tick().await;
            } => true,
            _ = stop.changed() => false,
        }
    }

    /// The round just done found work and more is likely waiting (it
    /// filled its batch, or delivered what one receiver had due), so the
    /// next round starts at once instead of after the interval.
    /// (A worker that takes a batch per interval drains a backlog no
    /// faster than that: 50 mails every 2 s, 25 a second, fell behind the
    /// mail that decisions queue under load; issue 20.)
    pub(super) fn again(&mut self) {
        self.tick.reset_immediately();
    }

    /// A round that worked: ends an outage (logged once).
    pub(super) fn succeeded(&mut self) {
        if let Some(since) = self.down_since.take() {
            tracing::info!(
                worker = self.worker,
                after_seconds = since.elapsed().as_secs_f64(),
                "the database is reachable again; resuming"
            );
        }
        self.backoff = FIRST_BACKOFF;
    }

    /// A round that failed. The database being away is logged once per
    /// outage, and spaces the rounds out; any other failure is logged each
    /// time, as before.
    pub(super) fn failed(&mut self, e: &DbError) {
        if !e.is_unavailable() {
            tracing::warn!(worker = self.worker, error = %e, "background round failed");
            return;
        }
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            tracing::warn!(
                worker = self.worker,
                error = %e,
                "the database is unreachable; retrying with backoff (logged once until it is back)"
            );
        } else {
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Records a round's outcome.
    pub(super) fn record<T>(&mut self, result: &Result<T, DbError>) {
        match result {
            Ok(_) => self.succeeded(),
            Err(e) => self.failed(e),
        }
    }
}
