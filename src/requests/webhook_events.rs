//! The webhook events of the request lifecycle (see `webhooks`): which
//! transition is told as which event, and the facts it carries — ids,
//! states, times, workload, service request number, fingerprint; never
//! the justification or any other text people typed.

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::{
    machine::{Actor, Event, Status, Transition},
    model::AccessRequest,
};
use crate::webhooks::{self, WebhookEvent};

fn time(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |t| {
        json!(t.to_rfc3339_opts(SecondsFormat::Secs, true))
    })
}

/// Who caused it, by kind only (no names, no ids of people).
fn actor_kind(actor: Actor) -> &'static str {
    match actor {
        Actor::Engineer(_) | Actor::Manager(_) => "provider",
        Actor::Customer(_) => "customer",
        Actor::System => "system",
    }
}

/// The event type of a transition (`None`: not told by webhook, e.g. an
/// approval that leaves the request waiting for more approvals of its
/// customer quorum: the request is decided, and told, at the approval
/// that completes it).
pub fn event_type(event: Event, to: Status) -> Option<&'static str> {
    Some(match (event, to) {
        (Event::CustomerApprove(_), Status::PendingCustomer) => return None,
        (_, Status::PendingCustomer) => "request.pending_customer",
        (Event::ManagerApprove { .. }, Status::Approved) | (Event::CustomerApprove(_), _) => {
            "request.approved"
        }
        (Event::ManagerReject, _) => "request.rejected",
        (Event::CustomerDeny, _) => "request.denied",
        (Event::Cancel, _) => "request.cancelled",
        (Event::Revoke, _) => "request.revoked",
        (Event::Expire, _) => "request.expired",
        (Event::End, _) => "request.ended",
        _ => return None,
    })
}

/// Queues the webhook event of a transition (inside its transaction).
pub fn transition(
    conn: &mut PgConnection,
    req: &AccessRequest,
    event: Event,
    t: Transition,
    actor: Actor,
) -> QueryResult<()> {
    let Some(event_type) = event_type(event, t.to) else {
        return Ok(());
    };
    let data = json!({
        "request_id": req.id.0,
        "status": t.to.as_db(),
        "previous_status": req.status.as_db(),
        "workload": req.workload.name(),
        "service_request": req.service_request,
        "fingerprint": req.fingerprint_hex(),
        "duration_minutes": req.duration_minutes,
        "occurred_at": time(Some(t.at)),
        "expires_at": time(t.expires_at),
        "access_ends_at": time(t.ends_at),
        "actor": actor_kind(actor),
    });
    let hook = WebhookEvent {
        event_type,
        tenant_id: req.tenant_id,
        data,
    };
    webhooks::enqueue(conn, hook, t.at)?;
    Ok(())
}
