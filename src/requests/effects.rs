//! What a transition writes besides the request's new state, inside the
//! transaction that holds its row lock: the timeline entry, the audit
//! record, the mails in the outbox and the webhook event in the webhook
//! outbox. This is the one place a new side effect of a transition joins.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::{
    Via,
    machine::{Actor, Event, Status, Transition},
    mails,
    model::AccessRequest,
    webhook_events,
};
use crate::{
    audit,
    identity::RequestId,
    notify::outbox,
    schema::{access_request_events as ev, access_requests as ar},
    signing::Signer,
};

/// Who causes a transition, as the timeline and the audit log name them,
/// and the address they came from.
#[derive(Debug, Clone, Copy)]
pub struct By<'a> {
    pub actor: Actor,
    pub name: &'a str,
    pub ip: &'a str,
    pub via: &'a Via,
}

impl By<'_> {
    pub const SYSTEM: By<'static> = By {
        actor: Actor::System,
        name: "System",
        ip: "",
        via: &Via::Portal,
    };

    /// Provider staff appear as "Provider Operator" with their staff id;
    /// nothing else about them reaches the customer's log.
    pub fn audit_actor(&self) -> audit::Actor {
        match self.actor {
            Actor::Engineer(id) | Actor::Manager(id) => {
                audit::Actor::provider_operator(id, self.ip)
            }
            Actor::Customer(id) => audit::Actor::customer(id, self.name, self.ip),
            Actor::System => audit::Actor::system(),
        }
    }
}

/// Writes an accepted transition: the request's new state, its timeline
/// entry, its audit record (a customer's decision names the request's
/// fingerprint), the decision's signed receipt ([`audit::receipt`], when a
/// customer decides and `signer` is given) and its mails. Called inside
/// the transaction that holds the row lock. Returns the request as it now
/// stands (what was written, applied to `req`), so a decision need not
/// read it again.
pub fn apply(
    conn: &mut PgConnection,
    req: &AccessRequest,
    event: Event,
    t: Transition,
    by: By<'_>,
    comment: Option<&str>,
    signer: Option<&Signer>,
) -> QueryResult<AccessRequest> {
    let closed_at = t.to.is_final().then_some(t.at);
    let manager = match (event, by.actor) {
        (Event::ManagerApprove { .. } | Event::ManagerReject, Actor::Manager(m)) => Some((m, t.at)),
        _ => None,
    };
    // Prepared: diesel never keeps an UPDATE, and this one's text is the
    // same for every transition (a missing value is bound as NULL).
    crate::db::prepared(
        diesel::update(ar::table.find(req.id))
            .set((
                ar::status.eq(t.to.as_db()),
                ar::expires_at.eq(t.expires_at),
                ar::approved_at.eq(t.approved_at.or(req.approved_at)),
                ar::ends_at.eq(t.ends_at),
                ar::closed_at.eq(closed_at),
                ar::manager_id.eq(manager.map(|m| m.0).or(req.manager_id)),
            ))
            .returning(ar::id),
    )
    .written::<RequestId>(conn)?;
    if let Some((_, at)) = manager {
        crate::db::prepared(
            diesel::update(ar::table.find(req.id))
                .set(ar::manager_decided_at.eq(at))
                .returning(ar::id),
        )
        .written::<RequestId>(conn)?;
    }
    let after = written(req, event, t, by, closed_at, manager.map(|m| m.0));
    record_event(conn, req.id, t.at, event.as_db(), t.to, by, comment)?;
    let (activity, mut parameters) = audit_of(event, t, by, comment);
    let decision = parameters["ApprovalDecision"].as_str().map(str::to_owned);
    if decision.is_some() {
        parameters["RequestFingerprint"] = json!(req.fingerprint_hex());
    }
    if let Via::Token { id, name } = by.via {
        parameters["ApiToken"] = json!({"Id": id, "Name": name});
    }
    if let Via::PortalWithSecondFactor = by.via {
        parameters["Mfa"] = json!(true);
    }
    let actor = by.audit_actor();
    let record = audit::append(
        conn,
        audit::Entry {
            tenant_id: req.tenant_id,
            occurred_at: t.at,
            actor: &actor,
            activity,
            item: req.id.to_string(),
            parameters,
            request_id: Some(req.id),
        },
    )?;
    if let (Some(decision), Some(signer)) = (decision, signer) {
        let statement = audit::receipt::Statement {
            tenant_id: req.tenant_id,
            audit_record: record,
            request_id: req.id,
            decision: &decision,
            approver: &actor.id,
            approver_name: &actor.name,
            comment: comment.unwrap_or(""),
            decided_at: t.at,
            request_fingerprint: req.fingerprint(),
        };
        audit::receipt::issue(conn, signer, &statement)?;
    }
    webhook_events::transition(conn, req, event, t, by.actor)?;
    notify_transition(conn, req, event, t, by)?;
    Ok(after)
}

/// `req` with what [`apply`] writes: the columns of its UPDATE, and a
/// customer's approval as the timeline entry `customer_approved` that
/// [`super::queries::with_approvals`] reads back.
fn written(
    req: &AccessRequest,
    event: Event,
    t: Transition,
    by: By<'_>,
    closed_at: Option<DateTime<Utc>>,
    manager: Option<crate::identity::StaffId>,
) -> AccessRequest {
    let mut after = req.clone();
    after.status = t.to;
    after.expires_at = t.expires_at;
    after.approved_at = t.approved_at.or(req.approved_at);
    after.ends_at = t.ends_at;
    after.closed_at = closed_at;
    after.manager_id = manager.or(req.manager_id);
    if let (Event::CustomerApprove(_), Actor::Customer(user)) = (event, by.actor) {
        after.approvals.push(super::model::Approval {
            user_id: user,
            name: by.name.to_owned(),
            at: t.at,
        });
    }
    after
}

/// Queues the mails a transition causes (see [`mails`] for who hears of
/// what) and withdraws a reminder still queued for a request that no
/// longer waits.
fn notify_transition(
    conn: &mut PgConnection,
    req: &AccessRequest,
    event: Event,
    t: Transition,
    by: By<'_>,
) -> QueryResult<()> {
    use mails::{EngineerNews as News, TenantNews};
    let mut queued = Vec::new();
    let news = match (event, t.to) {
        // Issue 19: a partial approval; the approvers who have not yet
        // approved hear that more are needed.
        (Event::CustomerApprove(tally), Status::PendingCustomer) => {
            queued.extend(mails::quorum::more_needed(conn, req, by, tally)?);
            None
        }
        (_, Status::PendingCustomer) => {
            let waiting = AccessRequest {
                expires_at: t.expires_at,
                ..req.clone()
            };
            queued.extend(mails::pending_customer(conn, &waiting, false)?);
            Some(News::ManagerApproved)
        }
        (Event::ManagerApprove { .. }, _) => Some(News::Opened),
        (Event::ManagerReject, _) => Some(News::ManagerRejected),
        (Event::CustomerApprove(_), _) => Some(News::Approved),
        (Event::CustomerDeny, _) => Some(News::Denied),
        (Event::Expire, _) => Some(News::Expired),
        (Event::Cancel, _) => Some(News::Cancelled),
        (Event::Revoke, _) => Some(News::Revoked),
        (Event::End, _) => Some(News::Ended),
    };
    // An engineer who cancels their own request needs no mail about it.
    let own_doing = by.actor == Actor::Engineer(req.engineer_id);
    if let (Some(news), false) = (news, own_doing) {
        let ends = (t.to == Status::Approved).then_some(t.ends_at).flatten();
        queued.extend(mails::to_engineer(conn, req, news, t.at, ends)?);
    }
    if let Actor::Customer(user) = by.actor {
        let told = match event {
            Event::Cancel => Some(TenantNews::Cancelled),
            Event::Revoke => Some(TenantNews::Revoked),
            _ => None,
        };
        if let Some(told) = told {
            queued.extend(mails::to_tenant_others(
                conn, req, told, user, by.name, t.at,
            )?);
        }
    }
    if t.to != Status::PendingCustomer {
        outbox::withdraw(conn, req.id.0, mails::REMINDER)?;
    }
    outbox::enqueue(conn, queued, Some(req.id.0), t.at)?;
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
    let staff = match by.actor {
        Actor::Engineer(id) | Actor::Manager(id) => id.public_id(),
        _ => String::new(),
    };
    let customer = |decision: &str| {
        (
            a::SET_REQUEST,
            json!({"ApprovalDecision": decision, "Comment": comment}),
        )
    };
    match (event, by.actor) {
        (Event::CustomerApprove(tally), _) => {
            let (activity, mut parameters) = customer("Approve");
            // Issue 19: which approval of the quorum this one is.
            parameters["ApprovalsGiven"] = json!(tally.given.saturating_add(1));
            parameters["ApprovalsRequired"] = json!(tally.required);
            (activity, parameters)
        }
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

/// The request's timeline entry for a transition (or its filing).
pub(super) fn record_event(
    conn: &mut PgConnection,
    request_id: RequestId,
    at: DateTime<Utc>,
    event: &str,
    to: Status,
    by: By<'_>,
    comment: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(ev::table)
        .values((
            ev::request_id.eq(request_id),
            ev::occurred_at.eq(at),
            ev::event.eq(event),
            ev::to_status.eq(to.as_db()),
            ev::actor_kind.eq(by.actor.kind()),
            ev::actor_id.eq(by.actor.id()),
            ev::actor_name.eq(by.name),
            ev::comment.eq(comment),
        ))
        .execute(conn)?;
    Ok(())
}
