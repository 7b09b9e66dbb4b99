//! Read models of a request: the request with the names pages show, its
//! timeline, list filters and cursors, and the errors of the request use
//! cases.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::{
    Workload,
    machine::{Actor, Event, Refusal, Snapshot, Status, Tally},
};
use crate::{
    identity::{RequestId, StaffId, TenantId, UserId},
    schema::access_requests as ar,
};

/// A request as read, with the names the pages show.
#[derive(Debug, Clone)]
pub struct AccessRequest {
    pub id: RequestId,
    pub tenant_id: TenantId,
    pub tenant_name: String,
    pub engineer_id: StaffId,
    pub engineer_name: String,
    pub service_request: String,
    pub workload: Workload,
    pub duration_minutes: i32,
    pub justification: String,
    /// The stored state; see [`AccessRequest::effective`] for the true one.
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub manager_id: Option<StaffId>,
    pub expires_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// When a final state was recorded.
    pub closed_at: Option<DateTime<Utc>>,
    /// The open service request it cited when filed; `None`: no matching
    /// one (see [`super::tickets`]).
    pub ticket_id: Option<Uuid>,
    /// The customer quorum the request is decided under (issue 19): the
    /// tenant's setting when it entered `PendingCustomer`; 1 before that.
    pub quorum: u8,
    /// The customer's approvals so far, oldest first (loaded by
    /// [`super::queries::find`] and the lists; empty elsewhere).
    pub approvals: Vec<Approval>,
}

/// One approver's approval of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub user_id: UserId,
    pub name: String,
    pub at: DateTime<Utc>,
}

impl AccessRequest {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            status: self.status,
            engineer_id: self.engineer_id,
            duration: chrono::Duration::minutes(i64::from(self.duration_minutes)),
            expires_at: self.expires_at,
            ends_at: self.ends_at,
        }
    }

    /// The approvals so far as the machine counts them, for an approval
    /// by `actor`.
    pub fn tally_for(&self, actor: Actor) -> Tally {
        let yours = match actor {
            Actor::Customer(user) => self.approvals.iter().any(|a| a.user_id == user),
            _ => false,
        };
        Tally {
            given: u8::try_from(self.approvals.len()).unwrap_or(u8::MAX),
            required: self.quorum,
            yours,
        }
    }

    /// `event` with this request's approvals counted in, when it is an
    /// approval (the machine decides from them whether it completes the
    /// quorum).
    pub fn counted(&self, event: Event, actor: Actor) -> Event {
        match event {
            Event::CustomerApprove(_) => Event::CustomerApprove(self.tally_for(actor)),
            other => other,
        }
    }

    /// The state at `now`, time rules applied.
    pub fn effective(&self, now: DateTime<Utc>) -> Status {
        self.snapshot().effective(now).0
    }

    /// The provider staff id customers see instead of a name or address.
    pub fn engineer_public_id(&self) -> String {
        self.engineer_id.public_id()
    }
}

#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = ar)]
pub(super) struct RequestRow {
    id: RequestId,
    tenant_id: TenantId,
    engineer_id: StaffId,
    service_request: String,
    workload: String,
    duration_minutes: i32,
    justification: String,
    status: String,
    created_at: DateTime<Utc>,
    manager_id: Option<StaffId>,
    expires_at: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    ticket_id: Option<Uuid>,
    approvals_required: Option<i16>,
}

/// A request row with its tenant's and engineer's names.
pub(super) type Row = (RequestRow, String, String);

pub(super) fn from_row((r, tenant_name, engineer_name): Row) -> AccessRequest {
    AccessRequest {
        id: r.id,
        tenant_id: r.tenant_id,
        tenant_name,
        engineer_id: r.engineer_id,
        engineer_name,
        service_request: r.service_request,
        // Both columns are CHECK-constrained to these values.
        workload: Workload::from_db(&r.workload).unwrap_or(Workload::Exchange),
        duration_minutes: r.duration_minutes,
        justification: r.justification,
        status: Status::from_db(&r.status).unwrap_or(Status::Cancelled),
        created_at: r.created_at,
        manager_id: r.manager_id,
        expires_at: r.expires_at,
        approved_at: r.approved_at,
        ends_at: r.ends_at,
        closed_at: r.closed_at,
        ticket_id: r.ticket_id,
        quorum: r
            .approvals_required
            .and_then(|n| u8::try_from(n).ok())
            .unwrap_or(1),
        approvals: Vec::new(),
    }
}

/// One entry of a request's timeline.
#[derive(Debug, Clone, Queryable)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub event: String,
    pub to_status: String,
    pub actor_kind: String,
    /// A staff id or a tenant user id, as `actor_kind` says.
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub comment: Option<String>,
}

impl TimelineEntry {
    pub fn status(&self) -> Option<Status> {
        Status::from_db(&self.to_status)
    }

    /// The staff member behind an engineer's or manager's entry.
    pub fn staff_id(&self) -> Option<StaffId> {
        matches!(self.actor_kind.as_str(), "engineer" | "manager")
            .then_some(self.actor_id.map(StaffId))
            .flatten()
    }

    /// The tenant user behind a customer's entry.
    pub fn user_id(&self) -> Option<UserId> {
        (self.actor_kind == "customer")
            .then_some(self.actor_id.map(UserId))
            .flatten()
    }
}

/// Whose requests a query may return.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// Provider staff: every tenant (who may see which request is decided
    /// by [`super::Caller`]).
    Provider,
    /// A tenant's admin center: that tenant only.
    Tenant(TenantId),
}

/// Filters of the admin center's request list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantFilter {
    /// The effective state (time rules applied).
    pub state: Option<Status>,
    /// Requested at or after.
    pub from: Option<DateTime<Utc>>,
    /// Requested before.
    pub until: Option<DateTime<Utc>>,
    /// This request only.
    pub request: Option<RequestId>,
}

/// A position in the admin center's list: pending requests come first,
/// then the rest, each newest first. Keyset pagination continues strictly
/// after it, so no page ever repeats or skips a row (no OFFSET).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub rank: i32,
    pub created_at: DateTime<Utc>,
    pub id: RequestId,
}

impl Cursor {
    /// `rank.micros.uuid`, safe in a URL.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            self.rank,
            self.created_at.timestamp_micros(),
            self.id
        )
    }

    /// The cursor `encode` wrote; `None` for anything else, including a
    /// time outside the years 1–9999 (PostgreSQL could not compare with it).
    pub fn decode(raw: &str) -> Option<Self> {
        use chrono::Datelike;
        let mut parts = raw.splitn(3, '.');
        let rank = parts.next()?.parse().ok()?;
        let micros = parts.next()?.parse().ok()?;
        let id = RequestId::parse(parts.next()?)?;
        let created_at = DateTime::from_timestamp_micros(micros)?;
        (1..=9999).contains(&created_at.year()).then_some(Self {
            rank,
            created_at,
            id,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("no such request")]
    NotFound,
    /// Not an action this kind of caller has (a portal answers 404).
    #[error("no such action")]
    UnknownAction,
    /// The caller's role does not allow the action (403).
    #[error("the caller's role does not allow this")]
    RoleForbids,
    #[error("no such tenant")]
    UnknownTenant,
    #[error("an approved access window for this tenant and workload is still open until {ends_at}")]
    DuplicateWindow { ends_at: DateTime<Utc> },
    /// The service request number is no open ticket of the tenant (with
    /// `LOCKBOX_REQUIRE_TICKET` on).
    #[error("no open service request of this tenant has that number")]
    NoMatchingTicket,
    #[error("refused: {:?}", .0.refusal)]
    Refused(Box<Refused>),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    /// No connection to be had (or the blocking task was lost).
    #[error(transparent)]
    Pool(#[from] crate::db::DbError),
    /// An approval is signed (its receipt) or not made: the deployment's
    /// signing key could not be read.
    #[error("the signing key is unavailable, and an approval needs its signed receipt")]
    NoSigningKey,
}

/// A decision the state machine refused, with what the refused person
/// needs to understand why.
#[derive(Debug)]
pub struct Refused {
    pub refusal: Refusal,
    /// The entry that brought the request where it is (who and when).
    pub last: Option<TimelineEntry>,
    pub request: AccessRequest,
}
