//! What the two portals' home pages show: the use cases behind the cards.
//! Each takes the [`Caller`] and `now` and decides from the caller alone
//! what they may see, so a page cannot show another tenant's requests or a
//! card its reader's role does not allow.
//!
//! - admin center ([`customer_home`]): requests waiting for the customer's
//!   decision, access windows open now with the operator actions under
//!   them, the Lockbox switch, the audit chain and requests per week by
//!   outcome ([`weekly`]);
//! - a tenant user without a Customer Lockbox role ([`open_tickets`]): the
//!   service requests they opened that are still open;
//! - engineer portal ([`engineer_home`]): the caller's requests waiting for
//!   a decision, their windows open now, and for managers the approval
//!   queue.

use chrono::{DateTime, Utc};
use diesel::PgConnection;

use super::{
    caller::Caller,
    machine::Status,
    model::{AccessRequest, RequestError, Scope},
    tickets::{Ticket, TicketScope, queries as tickets},
    use_cases,
};
use crate::{
    audit::{
        self,
        overview::{Activity, ChainStatus},
    },
    tenants,
};

mod queries;
pub mod weekly;

pub use weekly::{Outcome, WeekCounts};

/// Requests waiting for the customer shown on the home page: those whose
/// deadline comes first.
pub const SOONEST_SHOWN: i64 = 5;
/// Open access windows shown (the count says how many there are).
pub const WINDOWS_SHOWN: i64 = 10;
/// The newest operator actions shown under each open window.
pub const ACTIONS_SHOWN: i64 = 3;
/// An engineer's own open requests and windows read for their home.
pub const OWN_SHOWN: i64 = 20;
/// Open service requests shown to a user without a Lockbox role.
pub const TICKETS_SHOWN: i64 = 5;

/// The admin center's home for a global administrator or approver.
#[derive(Debug, Clone)]
pub struct CustomerHome {
    /// The tenant's Customer Lockbox switch.
    pub lockbox_enabled: bool,
    /// How many requests wait for the customer's decision now.
    pub waiting: i64,
    /// The [`SOONEST_SHOWN`] of them whose deadline comes first.
    pub soonest: Vec<AccessRequest>,
    /// How many access windows are open now.
    pub open_windows: i64,
    /// The [`WINDOWS_SHOWN`] that end first, each with the operator actions
    /// under it so far.
    pub windows: Vec<(AccessRequest, Activity)>,
    /// The audit chain: records, newest hash, newest checkpoint.
    pub chain: ChainStatus,
    /// Requests filed per week by outcome, oldest week first.
    pub weeks: Vec<WeekCounts>,
}

/// Everything the admin center's home shows `caller`, a global
/// administrator or approver of their tenant, at `now`. Anyone else is
/// refused (a plain user sees [`open_tickets`] instead).
pub fn customer_home(
    conn: &mut PgConnection,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<CustomerHome, RequestError> {
    let Some(Scope::Tenant(tenant)) = caller.scope() else {
        return Err(RequestError::RoleForbids);
    };
    let soonest = queries::waiting_soonest(conn, tenant, now, SOONEST_SHOWN)?;
    let windows = queries::open_windows(conn, tenant, now, WINDOWS_SHOWN)?;
    let ids: Vec<_> = windows.iter().map(|w| w.id).collect();
    let mut actions = audit::overview::under_requests(
        conn,
        tenant,
        &ids,
        audit::activity::OPERATOR_ACTIONS,
        ACTIONS_SHOWN,
    )?;
    Ok(CustomerHome {
        lockbox_enabled: tenants::lockbox_enabled(conn, tenant)?,
        waiting: queries::count_in(conn, tenant, queries::WAITING, now)?,
        soonest: super::queries::with_approvals(conn, soonest)?,
        open_windows: queries::count_in(conn, tenant, queries::OPEN, now)?,
        windows: windows
            .into_iter()
            .map(|w| {
                let done = actions.remove(&w.id).unwrap_or_default();
                (w, done)
            })
            .collect(),
        chain: audit::overview::chain_status(conn, tenant)?,
        weeks: weekly::outcomes(conn, tenant, now)?,
    })
}

/// The open service requests a customer `caller` sees (a plain user: the
/// ones they opened), newest first, at most [`TICKETS_SHOWN`].
pub fn open_tickets(conn: &mut PgConnection, caller: &Caller) -> Result<Vec<Ticket>, RequestError> {
    if !matches!(caller, Caller::Customer { .. }) {
        return Err(RequestError::RoleForbids);
    }
    // Open tickets come first in the list, so one short page holds them.
    let (page, _) = tickets::list_for_tenant(conn, TicketScope::of(caller), None, TICKETS_SHOWN)?;
    Ok(page.into_iter().filter(|t| t.open).collect())
}

/// The engineer portal's home.
#[derive(Debug, Clone, Default)]
pub struct EngineerHome {
    /// The caller's requests waiting for a manager or the customer, newest
    /// first.
    pub open: Vec<AccessRequest>,
    /// The caller's approved requests whose window is open now, the one
    /// ending first first.
    pub windows: Vec<AccessRequest>,
    /// For managers: the approval queue.
    pub queue: Option<QueueSummary>,
}

/// The managers' approval queue at a glance.
#[derive(Debug, Clone)]
pub struct QueueSummary {
    pub count: i64,
    /// The request that has waited longest.
    pub oldest: Option<AccessRequest>,
}

/// What the engineer portal's home shows `caller`, provider staff, at
/// `now`: their own requests only, and the queue when they are a manager.
pub fn engineer_home(
    conn: &mut PgConnection,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<EngineerHome, RequestError> {
    let engineer = caller.staff_id().ok_or(RequestError::RoleForbids)?;
    let own = queries::own_in_progress(conn, engineer, now, OWN_SHOWN)?;
    let own = super::queries::with_approvals(conn, own)?;
    let (mut windows, open): (Vec<_>, Vec<_>) = own
        .into_iter()
        .partition(|r| r.effective(now) == Status::Approved);
    windows.sort_by_key(|r| (r.ends_at, r.id));
    let queue = if caller.is_manager() {
        let (oldest, _) = use_cases::approval_queue(conn, caller, None, 1)?;
        Some(QueueSummary {
            count: queries::manager_queue_count(conn)?,
            oldest: oldest.into_iter().next(),
        })
    } else {
        None
    };
    Ok(EngineerHome {
        open,
        windows,
        queue,
    })
}
