//! What the pool's checkouts cost: how long each `pool.get()` waited for a
//! connection, and how many gave up (timed out). Recorded by an r2d2 event
//! handler on every pool [`super::build_pool_with`] builds.
//!
//! Process-wide on purpose: a pool is built before the application that
//! serves with it (and tests build several in one process), so the figures
//! live here and each application's registry exports the same ones. In
//! production a process has one serving pool (plus, briefly, the owner's
//! for migrations), so they are that pool's figures.

use std::sync::LazyLock;

use diesel::r2d2::{
    HandleEvent,
    event::{CheckoutEvent, TimeoutEvent},
};
use prometheus::{Histogram, HistogramOpts, IntCounter};

/// The checkout figures; `None` only if the metric definitions were
/// invalid (they are constants, so never in practice).
pub struct Checkouts {
    pub wait: Histogram,
    pub timeouts: IntCounter,
}

static CHECKOUTS: LazyLock<Option<Checkouts>> = LazyLock::new(|| {
    let wait = Histogram::with_opts(
        HistogramOpts::new(
            "lockbox_db_pool_wait_seconds",
            "Time a request for a pooled database connection waited for one.",
        )
        .buckets(vec![
            0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
        ]),
    )
    .ok()?;
    let timeouts = IntCounter::new(
        "lockbox_db_pool_timeouts_total",
        "Requests for a pooled database connection that gave up waiting.",
    )
    .ok()?;
    Some(Checkouts { wait, timeouts })
});

/// The process's checkout figures (see the module comment).
pub fn checkouts() -> Option<&'static Checkouts> {
    CHECKOUTS.as_ref()
}

/// The event handler every pool gets.
#[derive(Debug, Clone, Copy)]
pub(super) struct Watch;

impl HandleEvent for Watch {
    fn handle_checkout(&self, event: CheckoutEvent) {
        if let Some(c) = checkouts() {
            c.wait.observe(event.duration().as_secs_f64());
        }
    }

    fn handle_timeout(&self, _: TimeoutEvent) {
        super::health::suspect();
        if let Some(c) = checkouts() {
            c.timeouts.inc();
        }
    }
}
