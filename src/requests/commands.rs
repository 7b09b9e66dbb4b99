//! Changing requests: filing one, applying an event under the row lock, and
//! sweeping what time decided. Every change is one transaction; its side
//! effects (timeline, audit record, mail) are written by [`super::effects`]
//! in the same transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::{
    Comment, NewRequest, Via,
    effects::{self, By},
    machine::{self, Actor, Event, Policy, Status},
    model::{AccessRequest, Refused, RequestError, Scope},
    queries::{self, effective_at},
};
use crate::{
    audit,
    clock::Clock,
    identity::{RequestId, StaffId},
    schema::{access_requests as ar, tenants},
};

/// Files a request for `engineer`, refused while the same engineer has an
/// approved window open for the same tenant and workload. The request is
/// linked to the open ticket its number names, if there is one; without one
/// it is filed and marked (see [`file_citing`] for the rule that refuses).
pub fn file(
    conn: &mut PgConnection,
    engineer: By<'_>,
    engineer_id: StaffId,
    new: &NewRequest,
    now: DateTime<Utc>,
) -> Result<RequestId, RequestError> {
    file_citing(conn, engineer, engineer_id, new, now, false)
}

/// [`file`], refused with [`RequestError::NoMatchingTicket`] when
/// `require_ticket` and the number is no open ticket of the tenant. The
/// ticket is share-locked until the request is in, so a closing cannot slip
/// between the check and the filing.
pub fn file_citing(
    conn: &mut PgConnection,
    engineer: By<'_>,
    engineer_id: StaffId,
    new: &NewRequest,
    now: DateTime<Utc>,
    require_ticket: bool,
) -> Result<RequestId, RequestError> {
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
            .filter(effective_at(now).eq(Status::Approved.as_db()))
            .select(ar::ends_at)
            .first(conn)
            .optional()?;
        if let Some(Some(ends_at)) = open {
            return Err(RequestError::DuplicateWindow { ends_at });
        }
        let ticket = super::tickets::commands::open_ticket_for_filing(
            conn,
            new.tenant_id,
            new.service_request.as_str(),
        )?;
        if require_ticket && ticket.is_none() {
            return Err(RequestError::NoMatchingTicket);
        }
        let id = RequestId::new_random();
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
                ar::ticket_id.eq(ticket),
            ))
            .execute(conn)?;
        effects::record_event(
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
                    "StaffId": engineer_id.public_id(),
                    "MatchingServiceRequest": ticket.is_some(),
                }),
                request_id: Some(id),
            },
        )?;
        // Every manager hears of the new request in their queue.
        if let Some(req) = super::queries::find(conn, id, super::Scope::Provider)? {
            let queued = super::mails::awaiting_manager(conn, &req)?;
            crate::notify::outbox::enqueue(conn, queued, Some(id.0), now)?;
        }
        Ok(id)
    })
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
    /// The door the decision came through (an API token is named in the
    /// audit record).
    pub via: Via,
    /// Signs a customer decision's receipt (see [`crate::audit::receipt`]).
    pub signer: Option<std::sync::Arc<crate::signing::Signer>>,
}

impl Decision {
    fn by(&self) -> By<'_> {
        By {
            actor: self.actor,
            name: &self.actor_name,
            ip: &self.ip,
            via: &self.via,
        }
    }
}

/// Applies `decision` to the request under a row lock. `now` is read from
/// `clock` only once the lock is held, so time spent waiting for a
/// connection or for the lock can never let a decision land after its
/// deadline. For a manager's approval the tenant's Lockbox switch and
/// quorum are read inside the same transaction: their values at this moment
/// decide, and a request that goes to its customer keeps that quorum. For a
/// customer's approval the approvals so far are counted under the lock, and
/// the machine decides whether this one completes the quorum. A refusal
/// caused by time also records that time-decided state, so history shows
/// it.
pub fn decide(
    conn: &mut PgConnection,
    id: RequestId,
    scope: Scope,
    decision: &Decision,
    clock: &dyn Clock,
    policy: &Policy,
) -> Result<AccessRequest, RequestError> {
    let outcome = conn.transaction::<_, RequestError, _>(|conn| {
        let mut locked = lock(conn, id, scope)?.ok_or(RequestError::NotFound)?;
        let now = clock.now();
        let (event, quorum) = match decision.event {
            // The tenant's switch and quorum as they are at this moment.
            Event::ManagerApprove { .. } => {
                let (lockbox_on, quorum): (bool, i16) = tenants::table
                    .find(locked.tenant_id)
                    .select((tenants::lockbox_enabled, tenants::approvals_required))
                    .for_share()
                    .first(conn)?;
                (Event::ManagerApprove { lockbox_on }, Some(quorum))
            }
            // The approvals so far, counted under the row lock.
            other => (locked.counted(other, decision.actor), None),
        };
        match machine::transition(&locked.snapshot(), event, decision.actor, now, policy) {
            Ok(t) => {
                if let (Some(quorum), Status::PendingCustomer) = (quorum, t.to) {
                    record_quorum(conn, id, quorum)?;
                    // So the request `apply` returns says it too.
                    locked.quorum = u8::try_from(quorum).unwrap_or(locked.quorum);
                }
                let (by, comment) = (decision.by(), decision.comment.as_deref());
                let signer = decision.signer.as_deref();
                Ok(Ok(effects::apply(
                    conn, &locked, event, t, by, comment, signer,
                )?))
            }
            Err(refusal) => {
                record_time_decided(conn, &locked, now, policy)?;
                Ok(Err(refusal))
            }
        }
    })?;
    match outcome {
        // As committed: nothing else can have changed it, the row was
        // locked until now.
        Ok(after) => Ok(after),
        Err(refusal) => {
            let request = queries::find(conn, id, scope)?.ok_or(RequestError::NotFound)?;
            let last = queries::timeline(conn, id)?.pop();
            Err(RequestError::Refused(Box::new(Refused {
                refusal,
                last,
                request,
            })))
        }
    }
}

/// Records on the request the quorum it is decided under: the tenant's
/// setting at the moment it reaches its customer (issue 19), so a later
/// change of the setting never moves a request already waiting.
fn record_quorum(conn: &mut PgConnection, id: RequestId, quorum: i16) -> QueryResult<()> {
    crate::db::prepared(
        diesel::update(ar::table.find(id))
            .set(ar::approvals_required.eq(quorum))
            .returning(ar::id),
    )
    .written::<RequestId>(conn)?;
    Ok(())
}

/// The request row, locked for the rest of the transaction.
fn lock(
    conn: &mut PgConnection,
    id: RequestId,
    scope: Scope,
) -> QueryResult<Option<AccessRequest>> {
    // Locking clauses cannot be boxed, hence the two spelled-out queries.
    let locked = match scope {
        Scope::Provider => ar::table
            .filter(ar::id.eq(id))
            .select(ar::id)
            .for_update()
            .first::<RequestId>(conn),
        Scope::Tenant(t) => ar::table
            .filter(ar::id.eq(id))
            .filter(ar::tenant_id.eq(t))
            .select(ar::id)
            .for_update()
            .first::<RequestId>(conn),
    };
    match locked.optional()? {
        Some(_) => queries::find(conn, id, scope),
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
            effects::apply(conn, req, event, t, By::SYSTEM, None, None)?;
            return Ok(true);
        }
    }
    Ok(false)
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
        let due: Vec<RequestId> = ar::table
            .filter(ar::status.eq_any([Status::PendingCustomer.as_db(), Status::Approved.as_db()]))
            .filter(effective_at(now).ne(ar::status))
            .select(ar::id)
            .limit(batch)
            .for_update()
            .skip_locked()
            .load(conn)?;
        let mut recorded = 0;
        for id in due {
            if let Some(req) = queries::find(conn, id, Scope::Provider)?
                && record_time_decided(conn, &req, now, policy)?
            {
                recorded += 1;
            }
        }
        Ok(recorded)
    })
}
