//! The request use cases every interface calls: a [`Caller`], the parsed
//! input and the time (a clock where a lock must be held first) in; a
//! typed result or a typed refusal out. The HTML portals, the JSON API and
//! the CLI translate these, and hold no rule of their own.

use chrono::{DateTime, Utc};
use diesel::PgConnection;

use super::{
    Comment, NewRequest,
    caller::{Action, Caller},
    commands::{self, Decision},
    effects::By,
    machine::{self, Actor, Policy, Status},
    model::{AccessRequest, Cursor, RequestError, Scope, TenantFilter, TimelineEntry},
    queries,
};
use crate::{clock::Clock, identity::RequestId};

/// The request `id` if `caller` may see it. Any other id, another tenant's
/// included, is "not found", never "forbidden" (which would confirm that
/// it exists).
pub fn visible(
    conn: &mut PgConnection,
    caller: &Caller,
    id: RequestId,
) -> Result<AccessRequest, RequestError> {
    let scope = caller.scope().ok_or(RequestError::NotFound)?;
    queries::find(conn, id, scope)?
        .filter(|r| caller.may_see(r))
        .ok_or(RequestError::NotFound)
}

/// A request with its timeline, as a detail page or API shows it.
pub fn detail(
    conn: &mut PgConnection,
    caller: &Caller,
    id: RequestId,
) -> Result<(AccessRequest, Vec<TimelineEntry>), RequestError> {
    let request = visible(conn, caller, id)?;
    let timeline = queries::timeline(conn, id)?;
    Ok((request, timeline))
}

/// The signed receipts of the customer's decisions on request `id`, oldest
/// first, if `caller` may see it: the approver keeps theirs, the engineer
/// sees the approval that opened their window.
pub fn receipts(
    conn: &mut PgConnection,
    caller: &Caller,
    id: RequestId,
) -> Result<Vec<crate::audit::receipt::Receipt>, RequestError> {
    let request = visible(conn, caller, id)?;
    Ok(crate::audit::receipt::for_request(
        conn,
        request.tenant_id,
        id,
    )?)
}

/// The request `id` for a decision `action` by `caller` (the confirmation
/// step): the role gate first, then visibility.
pub fn for_decision(
    conn: &mut PgConnection,
    caller: &Caller,
    id: RequestId,
    action: Action,
) -> Result<AccessRequest, RequestError> {
    caller.event_for(action)?;
    visible(conn, caller, id)
}

/// The request `id` if it is the caller's own: the access session is for
/// the engineer who asked, no one else.
pub fn own(
    conn: &mut PgConnection,
    caller: &Caller,
    id: RequestId,
) -> Result<AccessRequest, RequestError> {
    let found = visible(conn, caller, id)?;
    if Some(found.engineer_id) == caller.staff_id() {
        Ok(found)
    } else {
        Err(RequestError::NotFound)
    }
}

/// What a caller is offered on a request at `now`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offers {
    /// The decisions the state machine would accept from this caller now.
    pub actions: Vec<Action>,
    /// The access session: the requesting engineer, inside the window.
    pub session: bool,
    /// A manager looking at their own request waiting for a manager: they
    /// are told another manager must decide (two-person rule).
    pub own_pending_for_manager: bool,
}

/// The actions `caller` is offered on `req` at `now`: each action the
/// caller's role allows that the state machine would accept right now.
pub fn offers(caller: &Caller, req: &AccessRequest, now: DateTime<Utc>, policy: &Policy) -> Offers {
    let snap = req.snapshot();
    let actions = caller
        .actions()
        .iter()
        .copied()
        .filter(|&action| {
            caller.event_for(action).is_ok_and(|(event, actor)| {
                let event = req.counted(event, actor);
                machine::transition(&snap, event, actor, now, policy).is_ok()
            })
        })
        .collect();
    let own = Some(req.engineer_id) == caller.staff_id();
    let status = req.effective(now);
    Offers {
        actions,
        session: own && status == Status::Approved,
        own_pending_for_manager: own && caller.is_manager() && status == Status::PendingManager,
    }
}

/// Applies `action` by `caller` to request `id`: the role gate, the
/// visibility check (the scoped row lock itself, and for an engineer a
/// read before it), then the state machine under the lock (`now` is read
/// from `clock` once the lock is held). The one decision use case of
/// every interface.
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per input of the decision"
)]
pub fn decide_as(
    conn: &mut PgConnection,
    caller: &Caller,
    id: RequestId,
    action: Action,
    comment: Comment,
    ip: &str,
    clock: &dyn Clock,
    policy: &Policy,
    signer: Option<std::sync::Arc<crate::signing::Signer>>,
) -> Result<AccessRequest, RequestError> {
    let (event, actor) = caller.event_for(action)?;
    // A customer's approval opens their content: it is never made without
    // its receipt. Deny, cancel and revoke close it, and must work even
    // when the key cannot be read (they are then left without a receipt).
    if signer.is_none() && matches!(caller, Caller::Customer { .. }) && action == Action::Approve {
        return Err(RequestError::NoSigningKey);
    }
    let scope = caller.scope().ok_or(RequestError::NotFound)?;
    // An engineer sees fewer requests than the scope the lock reads: they
    // are asked first, so another engineer's request is never locked (nor
    // waited for) on their behalf. Everyone else sees every request the
    // scoped lock can find, so for them the lock is the check and no read
    // of its own.
    if !caller.sees_whole_scope() {
        visible(conn, caller, id)?;
    }
    let decision = Decision {
        event,
        actor,
        actor_name: caller.name().to_owned(),
        ip: ip.to_owned(),
        comment,
        via: caller.via().clone(),
        signer,
    };
    commands::decide(conn, id, scope, &decision, clock, policy)
}

/// Files `new` for `caller`, who must be provider staff; with
/// `require_ticket` its number must be an open ticket of the tenant.
pub fn file_as(
    conn: &mut PgConnection,
    caller: &Caller,
    new: &NewRequest,
    ip: &str,
    now: DateTime<Utc>,
    require_ticket: bool,
) -> Result<RequestId, RequestError> {
    let engineer = caller.staff_id().ok_or(RequestError::RoleForbids)?;
    let by = By {
        actor: Actor::Engineer(engineer),
        name: caller.name(),
        ip,
        via: caller.via(),
    };
    commands::file_citing(conn, by, engineer, new, now, require_ticket)
}

/// A page of requests and the cursor of the next page, if any.
pub type Page = (Vec<AccessRequest>, Option<Cursor>);

/// The caller's own requests, newest first (provider staff).
pub fn list_own(
    conn: &mut PgConnection,
    caller: &Caller,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Page, RequestError> {
    let engineer = caller.staff_id().ok_or(RequestError::RoleForbids)?;
    Ok(queries::list_for_engineer(conn, engineer, after, limit)?)
}

/// Requests waiting for a manager, oldest first (managers only).
pub fn approval_queue(
    conn: &mut PgConnection,
    caller: &Caller,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Page, RequestError> {
    if !caller.is_manager() {
        return Err(RequestError::RoleForbids);
    }
    Ok(queries::manager_queue(conn, after, limit)?)
}

/// One page of the caller's tenant's requests, pending first (customers
/// with a Customer Lockbox role).
pub fn list_for_tenant(
    conn: &mut PgConnection,
    caller: &Caller,
    filter: &TenantFilter,
    after: Option<Cursor>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Page, RequestError> {
    match caller.scope() {
        Some(Scope::Tenant(tenant)) => Ok(queries::list_for_tenant(
            conn, tenant, filter, after, now, limit,
        )?),
        _ => Err(RequestError::RoleForbids),
    }
}
