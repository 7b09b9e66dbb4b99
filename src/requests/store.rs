//! Persistence of access requests. Every transition is one transaction that
//! locks the request row, so of many concurrent decisions exactly one wins;
//! the timeline's unique (request, state) index backs that up.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::{
    Comment, NewRequest, Workload,
    machine::{self, Actor, Event, Policy, Refusal, Snapshot, Status, Transition},
};
use crate::{
    audit, notify,
    schema::{access_request_events as ev, access_requests as ar, provider_staff as ps, tenants},
};
use serde_json::json;

/// A request as read, with the names the pages show.
#[derive(Debug, Clone)]
pub struct AccessRequest {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub engineer_id: Uuid,
    pub engineer_name: String,
    pub service_request: String,
    pub workload: Workload,
    pub duration_minutes: i32,
    pub justification: String,
    /// The stored state; see [`AccessRequest::effective`] for the true one.
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub manager_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// When a final state was recorded.
    pub closed_at: Option<DateTime<Utc>>,
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

    /// The state at `now`, time rules applied.
    pub fn effective(&self, now: DateTime<Utc>) -> Status {
        self.snapshot().effective(now).0
    }

    /// The provider staff id customers see instead of a name or address.
    pub fn engineer_public_id(&self) -> String {
        staff_public_id(self.engineer_id)
    }
}

/// A short, stable id for a staff member, for customer-facing pages.
pub fn staff_public_id(id: Uuid) -> String {
    let hex = id.simple().to_string();
    format!("PS-{}", hex[..8].to_uppercase())
}

#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = ar)]
struct RequestRow {
    id: Uuid,
    tenant_id: Uuid,
    engineer_id: Uuid,
    service_request: String,
    workload: String,
    duration_minutes: i32,
    justification: String,
    status: String,
    created_at: DateTime<Utc>,
    manager_id: Option<Uuid>,
    expires_at: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
}

type Row = (RequestRow, String, String);

fn from_row((r, tenant_name, engineer_name): Row) -> AccessRequest {
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
    }
}

/// The requests with their names joined in.
macro_rules! joined {
    () => {
        ar::table
            .inner_join(tenants::table)
            .inner_join(ps::table.on(ps::id.eq(ar::engineer_id)))
            .select((RequestRow::as_select(), tenants::name, ps::display_name))
    };
}

/// One entry of a request's timeline.
#[derive(Debug, Clone, Queryable)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub event: String,
    pub to_status: String,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub comment: Option<String>,
}

impl TimelineEntry {
    pub fn status(&self) -> Option<Status> {
        Status::from_db(&self.to_status)
    }
}

/// Whose requests a reader may see.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// Provider staff pages: every tenant (ownership is checked by the web
    /// layer and the state machine).
    Provider,
    /// A tenant's admin center: that tenant only.
    Tenant(Uuid),
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("no such request")]
    NotFound,
    #[error("no such tenant")]
    UnknownTenant,
    #[error("an approved access window for this tenant and workload is still open until {ends_at}")]
    DuplicateWindow { ends_at: DateTime<Utc> },
    #[error("refused: {:?}", .0.refusal)]
    Refused(Box<Refused>),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
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

pub fn find(conn: &mut PgConnection, id: Uuid, scope: Scope) -> QueryResult<Option<AccessRequest>> {
    let query = joined!().filter(ar::id.eq(id)).into_boxed();
    let query = match scope {
        Scope::Provider => query,
        Scope::Tenant(t) => query.filter(ar::tenant_id.eq(t)),
    };
    Ok(query.first::<Row>(conn).optional()?.map(from_row))
}

pub fn timeline(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<TimelineEntry>> {
    ev::table
        .filter(ev::request_id.eq(id))
        .order((ev::occurred_at.asc(), ev::id.asc()))
        .select((
            ev::occurred_at,
            ev::event,
            ev::to_status,
            ev::actor_kind,
            ev::actor_id,
            ev::actor_name,
            ev::comment,
        ))
        .load(conn)
}

/// An engineer's own requests, newest first.
pub fn list_for_engineer(
    conn: &mut PgConnection,
    engineer_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<AccessRequest>> {
    Ok(joined!()
        .filter(ar::engineer_id.eq(engineer_id))
        .order((ar::created_at.desc(), ar::id.desc()))
        .limit(limit)
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

/// Filters of the admin center's request list.
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    /// The effective state (time rules applied).
    pub state: Option<Status>,
    /// Requested at or after.
    pub from: Option<DateTime<Utc>>,
    /// Requested before.
    pub until: Option<DateTime<Utc>>,
}

/// A position in the admin center's list: pending requests come first,
/// then the rest, each newest first. Keyset pagination continues strictly
/// after it, so no page ever repeats or skips a row (no OFFSET).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub rank: i32,
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
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

    pub fn decode(raw: &str) -> Option<Self> {
        let mut parts = raw.splitn(3, '.');
        let rank = parts.next()?.parse().ok()?;
        let micros = parts.next()?.parse().ok()?;
        let id = Uuid::parse_str(parts.next()?).ok()?;
        Some(Self {
            rank,
            created_at: DateTime::from_timestamp_micros(micros)?,
            id,
        })
    }
}

#[derive(QueryableByName)]
struct RankedRow {
    #[diesel(embed)]
    request: RequestRow,
    #[diesel(sql_type = diesel::sql_types::Text)]
    tenant_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    engineer_name: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    rank: i32,
}

/// One page of a tenant's requests, pending first, with the cursor of the
/// next page if there is one.
pub fn list_for_tenant(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    filter: &TenantFilter,
    after: Option<Cursor>,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<(Vec<AccessRequest>, Option<Cursor>)> {
    use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    let rows: Vec<RankedRow> = diesel::sql_query(
        "WITH r AS ( \
            SELECT a.*, CASE \
                WHEN a.status = 'pending_customer' AND a.expires_at <= $2 THEN 'expired' \
                WHEN a.status = 'approved' AND a.ends_at <= $2 THEN 'ended' \
                ELSE a.status END AS effective \
            FROM access_requests a WHERE a.tenant_id = $1), \
         ranked AS ( \
            SELECT r.*, CASE WHEN r.effective IN ('pending_manager', 'pending_customer') \
                THEN 0 ELSE 1 END AS rank FROM r) \
         SELECT ranked.id, ranked.tenant_id, ranked.engineer_id, ranked.service_request, \
                ranked.workload, ranked.duration_minutes, ranked.justification, ranked.status, \
                ranked.created_at, ranked.manager_id, ranked.expires_at, ranked.approved_at, \
                ranked.ends_at, ranked.closed_at, t.name AS tenant_name, s.display_name AS engineer_name, ranked.rank \
         FROM ranked \
         JOIN tenants t ON t.id = ranked.tenant_id \
         JOIN provider_staff s ON s.id = ranked.engineer_id \
         WHERE ($3::text IS NULL OR ranked.effective = $3) \
           AND ($4::timestamptz IS NULL OR ranked.created_at >= $4) \
           AND ($5::timestamptz IS NULL OR ranked.created_at < $5) \
           AND ($6::int IS NULL OR ranked.rank > $6 \
                OR (ranked.rank = $6 AND (ranked.created_at, ranked.id) < ($7, $8))) \
         ORDER BY ranked.rank ASC, ranked.created_at DESC, ranked.id DESC \
         LIMIT $9",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Timestamptz, _>(now)
    .bind::<Nullable<Text>, _>(filter.state.map(Status::as_db))
    .bind::<Nullable<Timestamptz>, _>(filter.from)
    .bind::<Nullable<Timestamptz>, _>(filter.until)
    .bind::<Nullable<Integer>, _>(after.map(|c| c.rank))
    .bind::<Nullable<Timestamptz>, _>(after.map(|c| c.created_at))
    .bind::<Nullable<SqlUuid>, _>(after.map(|c| c.id))
    .bind::<BigInt, _>(limit + 1)
    .load(conn)?;
    let more = rows.len() as i64 > limit;
    let mut page: Vec<(AccessRequest, i32)> = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|r| {
            (
                from_row((r.request, r.tenant_name, r.engineer_name)),
                r.rank,
            )
        })
        .collect();
    let next = if more {
        page.last().map(|(req, rank)| Cursor {
            rank: *rank,
            created_at: req.created_at,
            id: req.id,
        })
    } else {
        None
    };
    Ok((page.drain(..).map(|(r, _)| r).collect(), next))
}

/// The newest request of `engineer` for `tenant` and `workload`.
pub fn latest_for(
    conn: &mut PgConnection,
    engineer: Uuid,
    tenant: Uuid,
    workload: Workload,
) -> QueryResult<Option<AccessRequest>> {
    Ok(joined!()
        .filter(ar::engineer_id.eq(engineer))
        .filter(ar::tenant_id.eq(tenant))
        .filter(ar::workload.eq(workload.as_db()))
        .order((ar::created_at.desc(), ar::id.desc()))
        .first::<Row>(conn)
        .optional()?
        .map(from_row))
}

/// How many requests are stored in each state (for `/metrics`).
pub fn counts_by_status(conn: &mut PgConnection) -> QueryResult<Vec<(String, i64)>> {
    ar::table
        .group_by(ar::status)
        .select((ar::status, diesel::dsl::count_star()))
        .load(conn)
}

/// Requests waiting for a manager, oldest first.
pub fn manager_queue(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<AccessRequest>> {
    Ok(joined!()
        .filter(ar::status.eq(Status::PendingManager.as_db()))
        .order((ar::created_at.asc(), ar::id.asc()))
        .limit(limit)
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

/// Files a request for `engineer`, refused while the same engineer has an
/// approved window open for the same tenant and workload.
pub fn file(
    conn: &mut PgConnection,
    (engineer_id, name, ip): (Uuid, &str, &str),
    new: &NewRequest,
    now: DateTime<Utc>,
) -> Result<Uuid, RequestError> {
    let engineer = By {
        actor: Actor::Engineer(engineer_id),
        name,
        ip,
    };
    conn.transaction(|conn| {
        let tenant_exists: bool = diesel::select(diesel::dsl::exists(
            tenants::table.filter(tenants::id.eq(new.tenant_id)),
        ))
        .get_result(conn)?;
        if !tenant_exists {
            return Err(RequestError::UnknownTenant);
        }
        let open: Option<Option<DateTime<Utc>>> = ar::table
            .filter(ar::engineer_id.eq(engineer_id))
            .filter(ar::tenant_id.eq(new.tenant_id))
            .filter(ar::workload.eq(new.workload.as_db()))
            .filter(ar::status.eq(Status::Approved.as_db()))
            .filter(ar::ends_at.gt(now))
            .select(ar::ends_at)
            .first(conn)
            .optional()?;
        if let Some(Some(ends_at)) = open {
            return Err(RequestError::DuplicateWindow { ends_at });
        }
        let id = Uuid::new_v4();
        diesel::insert_into(ar::table)
            .values((
                ar::id.eq(id),
                ar::tenant_id.eq(new.tenant_id),
                ar::engineer_id.eq(engineer_id),
                ar::service_request.eq(new.service_request.as_str()),
                ar::workload.eq(new.workload.as_db()),
                ar::duration_minutes.eq(new.duration.minutes()),
                ar::justification.eq(new.justification.as_str()),
                ar::status.eq(Status::PendingManager.as_db()),
                ar::created_at.eq(now),
            ))
            .execute(conn)?;
        record_event(
            conn,
            id,
            now,
            "filed",
            Status::PendingManager,
            engineer,
            None,
        )?;
        audit::append(
            conn,
            audit::Entry {
                tenant_id: new.tenant_id,
                occurred_at: now,
                actor: &engineer.audit_actor(),
                activity: audit::activity::NEW_REQUEST,
                item: id.to_string(),
                parameters: json!({
                    "ServiceRequest": new.service_request.as_str(),
                    "Workload": new.workload.name(),
                    "DurationMinutes": new.duration.minutes(),
                    "Justification": new.justification.as_str(),
                    "StaffId": staff_public_id(engineer_id),
                }),
                request_id: Some(id),
            },
        )?;
        Ok(id)
    })
}

/// Who causes a transition, as the timeline and the audit log name them,
/// and the address they came from.
#[derive(Debug, Clone, Copy)]
pub struct By<'a> {
    pub actor: Actor,
    pub name: &'a str,
    pub ip: &'a str,
}

impl By<'_> {
    const SYSTEM: By<'static> = By {
        actor: Actor::System,
        name: "System",
        ip: "",
    };

    /// Provider staff appear as "Provider Operator" with their staff id;
    /// nothing else about them reaches the customer's log.
    fn audit_actor(&self) -> audit::Actor {
        match self.actor {
            Actor::Engineer(id) | Actor::Manager(id) => {
                audit::Actor::provider_operator(id, self.ip)
            }
            Actor::Customer(id) => audit::Actor::customer(id, self.name, self.ip),
            Actor::System => audit::Actor::system(),
        }
    }
}

/// A decision to apply: what happens, who causes it, from where, and their
/// optional comment.
#[derive(Debug, Clone)]
pub struct Decision {
    pub event: Event,
    pub actor: Actor,
    pub actor_name: String,
    pub ip: String,
    pub comment: Comment,
}

impl Decision {
    fn by(&self) -> By<'_> {
        By {
            actor: self.actor,
            name: &self.actor_name,
            ip: &self.ip,
        }
    }
}

/// Applies `event` to the request under a row lock. For a manager's
/// approval the tenant's Lockbox switch is read inside the same transaction:
/// its value at this moment decides. A refusal caused by time (expired,
/// window ended) also records that time-decided state, so history shows it.
pub fn decide(
    conn: &mut PgConnection,
    id: Uuid,
    scope: Scope,
    decision: &Decision,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Result<AccessRequest, RequestError> {
    let outcome = conn.transaction::<_, RequestError, _>(|conn| {
        let locked = lock(conn, id, scope)?.ok_or(RequestError::NotFound)?;
        let event = match decision.event {
            Event::ManagerApprove { .. } => Event::ManagerApprove {
                lockbox_on: tenants::table
                    .find(locked.tenant_id)
                    .select(tenants::lockbox_enabled)
                    .for_share()
                    .first(conn)?,
            },
            other => other,
        };
        match machine::transition(&locked.snapshot(), event, decision.actor, now, policy) {
            Ok(t) => {
                apply(
                    conn,
                    &locked,
                    event,
                    t,
                    decision.by(),
                    decision.comment.as_deref(),
                )?;
                Ok(Ok(()))
            }
            Err(refusal) => {
                record_time_decided(conn, &locked, now, policy)?;
                Ok(Err(refusal))
            }
        }
    })?;
    let request = find(conn, id, scope)?.ok_or(RequestError::NotFound)?;
    match outcome {
        Ok(()) => Ok(request),
        Err(refusal) => {
            let last = timeline(conn, id)?.pop();
            Err(RequestError::Refused(Box::new(Refused {
                refusal,
                last,
                request,
            })))
        }
    }
}

/// The request row, locked for the rest of the transaction.
fn lock(conn: &mut PgConnection, id: Uuid, scope: Scope) -> QueryResult<Option<AccessRequest>> {
    // Locking clauses cannot be boxed, hence the two spelled-out queries.
    let locked = match scope {
        Scope::Provider => ar::table
            .filter(ar::id.eq(id))
            .select(ar::id)
            .for_update()
            .first::<Uuid>(conn),
        Scope::Tenant(t) => ar::table
            .filter(ar::id.eq(id))
            .filter(ar::tenant_id.eq(t))
            .select(ar::id)
            .for_update()
            .first::<Uuid>(conn),
    };
    match locked.optional()? {
        Some(_) => find(conn, id, scope),
        None => Ok(None),
    }
}

/// Records expiry or end of window if time decided it and nobody recorded
/// it yet. Idempotent.
fn record_time_decided(
    conn: &mut PgConnection,
    req: &AccessRequest,
    now: DateTime<Utc>,
    policy: &Policy,
) -> QueryResult<bool> {
    for event in [Event::Expire, Event::End] {
        if let Ok(t) = machine::transition(&req.snapshot(), event, Actor::System, now, policy) {
            apply(conn, req, event, t, By::SYSTEM, None)?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes an accepted transition: the request's new state and its timeline
/// entry. Called inside the transaction that holds the row lock.
fn apply(
    conn: &mut PgConnection,
    req: &AccessRequest,
    event: Event,
    t: Transition,
    by: By<'_>,
    comment: Option<&str>,
) -> QueryResult<()> {
    let closed_at = t.to.is_final().then_some(t.at);
    let manager = match (event, by.actor) {
        (Event::ManagerApprove { .. } | Event::ManagerReject, Actor::Manager(m)) => Some((m, t.at)),
        _ => None,
    };
    diesel::update(ar::table.find(req.id))
        .set((
            ar::status.eq(t.to.as_db()),
            ar::expires_at.eq(t.expires_at),
            ar::approved_at.eq(t.approved_at.or(req.approved_at)),
            ar::ends_at.eq(t.ends_at),
            ar::closed_at.eq(closed_at),
            ar::manager_id.eq(manager.map(|m| m.0).or(req.manager_id)),
        ))
        .execute(conn)?;
    if let Some((_, at)) = manager {
        diesel::update(ar::table.find(req.id))
            .set(ar::manager_decided_at.eq(at))
            .execute(conn)?;
    }
    record_event(conn, req.id, t.at, event.as_db(), t.to, by, comment)?;
    let (activity, parameters) = audit_of(event, t, by, comment);
    audit::append(
        conn,
        audit::Entry {
            tenant_id: req.tenant_id,
            occurred_at: t.at,
            actor: &by.audit_actor(),
            activity,
            item: req.id.to_string(),
            parameters,
            request_id: Some(req.id),
        },
    )?;
    notify_transition(conn, req, event, t)
}

/// Queues the mails a transition causes, in the same transaction: the
/// customer's approvers when a request reaches them, the engineer when the
/// customer decides or the request expires.
fn notify_transition(
    conn: &mut PgConnection,
    req: &AccessRequest,
    event: Event,
    t: Transition,
) -> QueryResult<()> {
    let mails = match (event, t.to) {
        (_, Status::PendingCustomer) => {
            let waiting = AccessRequest {
                expires_at: t.expires_at,
                ..req.clone()
            };
            notify::pending_customer_mails(conn, &waiting)?
        }
        (Event::CustomerApprove | Event::CustomerDeny | Event::Expire, outcome) => {
            let ends = (outcome == Status::Approved).then_some(t.ends_at).flatten();
            notify::decision_mail(conn, req, outcome, t.at, ends)?
                .into_iter()
                .collect()
        }
        _ => Vec::new(),
    };
    notify::outbox::enqueue(conn, mails, Some(req.id), t.at)?;
    Ok(())
}

/// The audit activity and parameters of a transition.
fn audit_of(
    event: Event,
    t: Transition,
    by: By<'_>,
    comment: Option<&str>,
) -> (&'static str, serde_json::Value) {
    use audit::activity as a;
    let comment = comment.unwrap_or("");
    let staff = by.actor.id().map(staff_public_id).unwrap_or_default();
    let customer = |decision: &str| {
        (
            a::SET_REQUEST,
            json!({"ApprovalDecision": decision, "Comment": comment}),
        )
    };
    match (event, by.actor) {
        (Event::CustomerApprove, _) => customer("Approve"),
        (Event::CustomerDeny, _) => customer("Deny"),
        (Event::Revoke, _) => customer("Revoke"),
        (Event::Cancel, Actor::Customer(_)) => customer("Cancel"),
        (Event::Cancel, _) => (
            a::CANCEL_REQUEST,
            json!({"Comment": comment, "StaffId": staff}),
        ),
        (Event::ManagerApprove { .. }, _) => (
            a::APPROVE_REQUEST,
            json!({"Comment": comment, "StaffId": staff, "NextState": t.to.name()}),
        ),
        (Event::ManagerReject, _) => (
            a::REJECT_REQUEST,
            json!({"Comment": comment, "StaffId": staff}),
        ),
        (Event::Expire, _) => (a::EXPIRE_REQUEST, json!({"ExpiredAt": t.at})),
        (Event::End, _) => (a::END_REQUEST, json!({"EndedAt": t.at})),
    }
}

fn record_event(
    conn: &mut PgConnection,
    request_id: Uuid,
    at: DateTime<Utc>,
    event: &str,
    to: Status,
    by: By<'_>,
    comment: Option<&str>,
) -> QueryResult<()> {
    let (actor, actor_name) = (by.actor, by.name);
    diesel::insert_into(ev::table)
        .values((
            ev::request_id.eq(request_id),
            ev::occurred_at.eq(at),
            ev::event.eq(event),
            ev::to_status.eq(to.as_db()),
            ev::actor_kind.eq(actor.kind()),
            ev::actor_id.eq(actor.id()),
            ev::actor_name.eq(actor_name),
            ev::comment.eq(comment),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records expiries and window ends that time has decided, at most `batch`
/// per call. Rows another process is working on are skipped (`SKIP
/// LOCKED`), and a recorded state is never recorded again, so any number of
/// lockbox processes may sweep at once.
pub fn sweep(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    policy: &Policy,
    batch: i64,
) -> QueryResult<usize> {
    conn.transaction(|conn| {
        let due: Vec<Uuid> = ar::table
            .filter(
                ar::status
                    .eq(Status::PendingCustomer.as_db())
                    .and(ar::expires_at.le(now))
                    .or(ar::status
                        .eq(Status::Approved.as_db())
                        .and(ar::ends_at.le(now))),
            )
            .select(ar::id)
            .limit(batch)
            .for_update()
            .skip_locked()
            .load(conn)?;
        let mut recorded = 0;
        for id in due {
            if let Some(req) = find(conn, id, Scope::Provider)?
                && record_time_decided(conn, &req, now, policy)?
            {
                recorded += 1;
            }
        }
        Ok(recorded)
    })
}
