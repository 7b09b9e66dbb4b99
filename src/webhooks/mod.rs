//! Webhooks (Standard Webhooks): events about a tenant's requests, tickets
//! and audit checkpoints, sent signed to the endpoints the tenant's global
//! administrators registered and to the provider's own endpoints.
//!
//! - [`enqueue`] writes one delivery per subscribed endpoint to the webhook
//!   outbox, inside the transaction of the change (called from
//!   `requests::effects`, the ticket commands and the checkpointer);
//! - [`endpoints`]: registering, listing, removing (audited);
//! - [`sign`]: the `whsec_` secrets and the signature (also used by `lockbox
//!   webhook listen` to verify);
//! - [`guard`]: where a delivery may connect (no SSRF);
//! - [`deliver`]: the worker: claim with a lease, post outside any
//!   transaction, mark; retries with capped backoff; an endpoint failing
//!   for three days is disabled and its tenant's global admins are mailed.
//!
//! Payloads carry ids and facts only, never customer content (no
//! justification, no ticket text).

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    identity::TenantId,
    schema::{webhook_deliveries as wd, webhook_endpoints as we},
};

pub mod deliver;
pub mod endpoints;
pub mod guard;
mod mails;
mod post;
pub mod sign;

/// The groups of events an endpoint subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventGroup {
    /// `request.pending_customer`.
    PendingCustomer,
    /// `request.approved`, `.rejected` (by the provider's manager),
    /// `.denied`, `.cancelled`, `.revoked`: every decision that ends the
    /// wait.
    Decided,
    /// `request.expired`.
    Expired,
    /// `request.ended`.
    Ended,
    /// `request.operator_action`.
    OperatorAction,
    /// `checkpoint.created`.
    Checkpoint,
    /// `ticket.opened`, `ticket.message_added`, `ticket.closed`.
    Ticket,
}

impl EventGroup {
    pub const ALL: [EventGroup; 7] = [
        EventGroup::PendingCustomer,
        EventGroup::Decided,
        EventGroup::Expired,
        EventGroup::Ended,
        EventGroup::OperatorAction,
        EventGroup::Checkpoint,
        EventGroup::Ticket,
    ];

    pub fn as_db(self) -> &'static str {
        match self {
            EventGroup::PendingCustomer => "pending_customer",
            EventGroup::Decided => "decided",
            EventGroup::Expired => "expired",
            EventGroup::Ended => "ended",
            EventGroup::OperatorAction => "operator_action",
            EventGroup::Checkpoint => "checkpoint",
            EventGroup::Ticket => "ticket",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_db() == s)
    }

    /// The group of an event type (`None`: sent to no one, e.g. a test).
    pub fn of(event_type: &str) -> Option<Self> {
        Some(match event_type {
            "request.pending_customer" => EventGroup::PendingCustomer,
            "request.approved" | "request.rejected" | "request.denied" | "request.cancelled"
            | "request.revoked" => EventGroup::Decided,
            "request.expired" => EventGroup::Expired,
            "request.ended" => EventGroup::Ended,
            "request.operator_action" => EventGroup::OperatorAction,
            "checkpoint.created" => EventGroup::Checkpoint,
            t if t.starts_with("ticket.") => EventGroup::Ticket,
            _ => return None,
        })
    }

    /// The settings page's label.
    pub fn label_key(self) -> String {
        format!("webhook-event-{}", self.as_db().replace('_', "-"))
    }
}

/// One event: its type, its tenant, and its facts (`data`).
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    pub event_type: &'static str,
    pub tenant_id: TenantId,
    pub data: Value,
}

/// The body every delivery of an event carries (Standard Webhooks'
/// `type`, `timestamp`, `data`), the tenant's id always in `data`.
pub fn body(event_type: &str, tenant: TenantId, at: DateTime<Utc>, mut data: Value) -> String {
    data["tenant_id"] = json!(tenant.0);
    json!({
        "type": event_type,
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

/// A new `webhook-id`: `msg_` and 32 hex digits, one per event and endpoint,
/// repeated by every retry.
pub fn new_message_id() -> String {
    format!("msg_{}", Uuid::new_v4().simple())
}

/// Writes `event` to the webhook outbox for every enabled endpoint that
/// subscribes to its group: the tenant's own and the provider's (call
/// inside the change's transaction). Returns how many deliveries it queued.
pub fn enqueue(
    conn: &mut PgConnection,
    event: WebhookEvent,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let Some(group) = EventGroup::of(event.event_type) else {
        return Ok(0);
    };
    let endpoints: Vec<Uuid> = we::table
        .filter(we::enabled.eq(true))
        .filter(
            we::tenant_id
                .eq(event.tenant_id.0)
                .or(we::tenant_id.is_null()),
        )
        .filter(we::events.contains(vec![group.as_db()]))
        .select(we::id)
        .load(conn)?;
    let payload = body(event.event_type, event.tenant_id, now, event.data);
    let rows: Vec<_> = endpoints
        .into_iter()
        .map(|endpoint| {
            let id = new_message_id();
            queued(
                id,
                endpoint,
                Some(event.tenant_id),
                event.event_type,
                &payload,
                now,
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    diesel::insert_into(wd::table).values(rows).execute(conn)
}

type Row = (
    diesel::dsl::Eq<wd::id, Uuid>,
    diesel::dsl::Eq<wd::message_id, String>,
    diesel::dsl::Eq<wd::endpoint_id, Uuid>,
    diesel::dsl::Eq<wd::tenant_id, Option<Uuid>>,
    diesel::dsl::Eq<wd::event_type, String>,
    diesel::dsl::Eq<wd::payload, String>,
    diesel::dsl::Eq<wd::next_attempt_at, DateTime<Utc>>,
    diesel::dsl::Eq<wd::created_at, DateTime<Utc>>,
);

fn queued(
    message_id: String,
    endpoint: Uuid,
    tenant: Option<TenantId>,
    event_type: &str,
    payload: &str,
    now: DateTime<Utc>,
) -> Row {
    (
        wd::id.eq(Uuid::new_v4()),
        wd::message_id.eq(message_id),
        wd::endpoint_id.eq(endpoint),
        wd::tenant_id.eq(tenant.map(|t| t.0)),
        wd::event_type.eq(event_type.to_owned()),
        wd::payload.eq(payload.to_owned()),
        wd::next_attempt_at.eq(now),
        wd::created_at.eq(now),
    )
}

/// Queues a `webhook.test` event for one endpoint only (the settings
/// page's "Send test event").
pub fn enqueue_test(
    conn: &mut PgConnection,
    endpoint: Uuid,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> QueryResult<String> {
    let payload = body(
        "webhook.test",
        tenant,
        now,
        json!({"endpoint_id": endpoint}),
    );
    let message_id = new_message_id();
    let row = queued(
        message_id.clone(),
        endpoint,
        Some(tenant),
        "webhook.test",
        &payload,
        now,
    );
    diesel::insert_into(wd::table).values(row).execute(conn)?;
    Ok(message_id)
}

/// Why a test event was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestRefused {
    /// The endpoint is disabled: nothing would be sent.
    Disabled,
    /// A test event for it is still waiting to be delivered.
    Pending,
}

/// The settings page's "Send test event": at most one pending test event
/// per endpoint (the button cannot flood a receiver or the outbox), none
/// for a disabled endpoint. The endpoint's row is locked, so two clicks at
/// once queue one.
pub fn send_test(
    conn: &mut PgConnection,
    endpoint: Uuid,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> QueryResult<Result<String, TestRefused>> {
    conn.transaction(|conn| {
        let enabled: bool = we::table
            .find(endpoint)
            .select(we::enabled)
            .for_update()
            .first(conn)?;
        if !enabled {
            return Ok(Err(TestRefused::Disabled));
        }
        let pending: i64 = wd::table
            .filter(wd::endpoint_id.eq(endpoint))
            .filter(wd::event_type.eq("webhook.test"))
            .filter(wd::status.eq("pending"))
            .count()
            .get_result(conn)?;
        if pending > 0 {
            return Ok(Err(TestRefused::Pending));
        }
        enqueue_test(conn, endpoint, tenant, now).map(Ok)
    })
}

/// Deliveries by status, for `/metrics`.
pub fn counts(conn: &mut PgConnection) -> QueryResult<Vec<(String, i64)>> {
    wd::table
        .group_by(wd::status)
        .select((wd::status, diesel::dsl::count_star()))
        .load(conn)
}

/// Queues `request.operator_action`: an operation by provider staff on the
/// tenant's content, run or refused (its name and workload, never its
/// parameters or results).
pub fn operator_action(
    conn: &mut PgConnection,
    tenant: TenantId,
    request: Option<crate::identity::RequestId>,
    operation: &str,
    workload: &str,
    executed: bool,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let data = json!({
        "request_id": request.map(|r| r.0),
        "operation": operation,
        "workload": workload,
        "outcome": if executed { "executed" } else { "refused" },
        "occurred_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "actor": "provider",
    });
    let event = WebhookEvent {
        event_type: "request.operator_action",
        tenant_id: tenant,
        data,
    };
    enqueue(conn, event, now)
}

/// Queues `checkpoint.created`: a signed checkpoint of the tenant's audit
/// log (its sequence number, head hash and key; anyone may check it).
pub fn checkpoint_created(
    conn: &mut PgConnection,
    c: &crate::audit::checkpoint::Checkpoint,
) -> QueryResult<()> {
    let data = json!({
        "seq": c.seq,
        "record_count": c.record_count,
        "head_hash": crate::digest::hex(&c.head_hash),
        "key_id": c.key_id,
        "created_at": c.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    let event = WebhookEvent {
        event_type: "checkpoint.created",
        tenant_id: c.tenant_id,
        data,
    };
    enqueue(conn, event, c.created_at)?;
    Ok(())
}
