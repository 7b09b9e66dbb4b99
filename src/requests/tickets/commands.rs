//! Changing tickets: opening one (a customer), adding to its conversation
//! (the customer's side or provider staff), and closing it (the customer
//! closes, staff resolve), which cancels the lockbox requests still pending
//! under it. Each is one transaction with its audit record and mails.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::{
    MessageBody, NewTicket, Ticket, TicketError, TicketNumber, TicketScope, mails, queries,
};
use crate::{
    audit,
    identity::{RequestId, TenantId},
    notify::outbox,
    requests::{
        caller::Caller,
        effects::{self, By},
        machine::{self, Actor, Event, Policy, Status},
        model::Scope,
        queries as request_queries,
    },
    schema::{access_requests as ar, service_request_messages as m, service_requests as sr},
    staff::StaffRole,
};

/// How the caller appears in the tenant's audit log.
fn audit_actor(caller: &Caller, ip: &str) -> audit::Actor {
    match caller {
        Caller::Customer { id, name, .. } => audit::Actor::customer(*id, name, ip),
        Caller::Staff { id, .. } => audit::Actor::provider_operator(*id, ip),
    }
}

/// Queues a ticket's webhook event (`ticket.opened`, `.message_added`,
/// `.closed`): its number and states, never its title or messages.
fn hook(
    conn: &mut PgConnection,
    tenant: TenantId,
    event_type: &'static str,
    number: &str,
    mut data: serde_json::Value,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    data["service_request"] = json!(number);
    data["occurred_at"] = json!(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let event = crate::webhooks::WebhookEvent {
        event_type,
        tenant_id: tenant,
        data,
    };
    crate::webhooks::enqueue(conn, event, now)?;
    Ok(())
}

fn side(caller: &Caller) -> &'static str {
    match caller {
        Caller::Customer { .. } => "customer",
        Caller::Staff { .. } => "provider",
    }
}

/// Opens a ticket for a customer caller; returns its number.
pub fn open(
    conn: &mut PgConnection,
    caller: &Caller,
    ip: &str,
    new: &NewTicket,
    now: DateTime<Utc>,
) -> Result<TicketNumber, TicketError> {
    let Caller::Customer {
        id: user,
        tenant,
        name,
        ..
    } = caller
    else {
        return Err(TicketError::NotFound);
    };
    conn.transaction(|conn| {
        let seq: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "nextval('service_request_number_seq')",
        ))
        .get_result(conn)?;
        let number = TicketNumber::make(now, seq);
        let id = Uuid::new_v4();
        diesel::insert_into(sr::table)
            .values((
                sr::id.eq(id),
                sr::tenant_id.eq(tenant),
                sr::number.eq(number.as_str()),
                sr::title.eq(&new.title),
                sr::description.eq(&new.description),
                sr::workload.eq(new.workload.as_db()),
                sr::severity.eq(new.severity.as_db()),
                sr::status.eq("open"),
                sr::opened_by.eq(user),
                sr::opener_name.eq(name),
                sr::opened_at.eq(now),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            audit::Entry {
                tenant_id: *tenant,
                occurred_at: now,
                actor: &audit_actor(caller, ip),
                activity: audit::activity::NEW_SERVICE_REQUEST,
                item: number.as_str().to_owned(),
                parameters: json!({
                    "ServiceRequest": number.as_str(),
                    "Title": new.title,
                    "Workload": new.workload.name(),
                    "Severity": new.severity.as_db(),
                }),
                request_id: None,
            },
        )?;
        if new.severity == super::Severity::A
            && let Some(ticket) = queries::by_id(conn, id)?
        {
            let queued = mails::critical(conn, &ticket)?;
            outbox::enqueue(conn, queued, None, now)?;
        }
        let facts = json!({"workload": new.workload.name(), "severity": new.severity.as_db(), "status": "open"});
        hook(conn, *tenant, "ticket.opened", number.as_str(), facts, now)?;
        Ok(number)
    })
}

/// The ticket `number` (of `tenant`, when the path names one) locked for
/// the rest of the transaction, if the caller sees it.
fn lock(
    conn: &mut PgConnection,
    caller: &Caller,
    tenant: Option<TenantId>,
    number: &str,
) -> Result<Ticket, TicketError> {
    let ticket = queries::find(conn, TicketScope::of(caller), tenant, number)?
        .ok_or(TicketError::NotFound)?;
    let open: String = sr::table
        .find(ticket.id)
        .select(sr::status)
        .for_update()
        .first(conn)?;
    if open == "open" {
        Ok(ticket)
    } else {
        Err(TicketError::Closed)
    }
}

/// Adds a message to an open ticket's conversation: the customer's side or
/// provider staff (whose reply is mailed to the opener).
pub fn add_message(
    conn: &mut PgConnection,
    caller: &Caller,
    ip: &str,
    tenant: Option<TenantId>,
    number: &str,
    body: &MessageBody,
    now: DateTime<Utc>,
) -> Result<Ticket, TicketError> {
    conn.transaction(|conn| {
        let ticket = lock(conn, caller, tenant, number)?;
        let (kind, author_id) = match caller {
            Caller::Customer { id, .. } => ("customer", id.0),
            Caller::Staff { id, .. } => ("staff", id.0),
        };
        diesel::insert_into(m::table)
            .values((
                m::ticket_id.eq(ticket.id),
                m::created_at.eq(now),
                m::author_kind.eq(kind),
                m::author_id.eq(author_id),
                m::author_name.eq(caller.name()),
                m::body.eq(body.as_str()),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            audit::Entry {
                tenant_id: ticket.tenant_id,
                occurred_at: now,
                actor: &audit_actor(caller, ip),
                activity: audit::activity::ADD_SERVICE_REQUEST_MESSAGE,
                item: ticket.number.clone(),
                parameters: json!({"ServiceRequest": ticket.number, "Message": body.as_str()}),
                request_id: None,
            },
        )?;
        if kind == "staff" {
            let queued = mails::reply(conn, &ticket, body.as_str())?;
            outbox::enqueue(conn, queued, None, now)?;
        }
        let facts = json!({"author": side(caller), "status": "open"});
        hook(
            conn,
            ticket.tenant_id,
            "ticket.message_added",
            &ticket.number,
            facts,
            now,
        )?;
        Ok(ticket)
    })
}

/// Closes an open ticket (a customer closes it, staff resolve it) and
/// cancels the lockbox requests still pending under it that the closer
/// could cancel themselves, each audited and its engineer told. Returns the
/// cancelled requests.
pub fn close(
    conn: &mut PgConnection,
    caller: &Caller,
    ip: &str,
    tenant: Option<TenantId>,
    number: &str,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Result<Vec<RequestId>, TicketError> {
    conn.transaction(|conn| {
        let ticket = lock(conn, caller, tenant, number)?;
        let closed_by = match caller {
            Caller::Customer { name, .. } => name.clone(),
            Caller::Staff { id, .. } => format!("{} ({})", audit::PROVIDER_OPERATOR, id.public_id()),
        };
        diesel::update(sr::table.find(ticket.id))
            .set((
                sr::status.eq("closed"),
                sr::closed_at.eq(now),
                sr::closed_by_name.eq(&closed_by),
            ))
            .execute(conn)?;
        // Closing cancels only the pending requests the closer could cancel
        // themselves: a customer's global administrators and approvers any
        // (they could deny them), plain users none; a manager any, an
        // engineer their own. The others stay pending for their deciders.
        let under: Vec<(RequestId, uuid::Uuid)> = ar::table
            .filter(ar::ticket_id.eq(ticket.id))
            .filter(ar::status.eq_any([Status::PendingManager.as_db(), Status::PendingCustomer.as_db()]))
            .order(ar::created_at.asc())
            .select((ar::id, ar::engineer_id))
            .for_update()
            .load(conn)?;
        let pending: Vec<RequestId> = under
            .into_iter()
            .filter(|(_, engineer)| match caller {
                Caller::Customer { role, .. } => role.can_use_lockbox(),
                Caller::Staff { id, role: StaffRole::Engineer, .. } => id.0 == *engineer,
                Caller::Staff { .. } => true,
            })
            .map(|(id, _)| id)
            .collect();
        let comment = format!("Service request {} was closed by {closed_by}.", ticket.number);
        let mut cancelled = Vec::new();
        for id in pending {
            let Some(req) = request_queries::find(conn, id, Scope::Provider)? else {
                continue;
            };
            // A request time already decided (expired) is left to the sweeper.
            let Ok(t) = machine::transition(&req.snapshot(), Event::Cancel, Actor::System, now, policy)
            else {
                continue;
            };
            effects::apply(conn, &req, Event::Cancel, t, By::SYSTEM, Some(&comment), None)?;
            let queued = mails::cancelled_by_closing(conn, &req, &ticket)?;
            outbox::enqueue(conn, queued, Some(id.0), now)?;
            cancelled.push(id);
        }
        audit::append(
            conn,
            audit::Entry {
                tenant_id: ticket.tenant_id,
                occurred_at: now,
                actor: &audit_actor(caller, ip),
                activity: audit::activity::CLOSE_SERVICE_REQUEST,
                item: ticket.number.clone(),
                parameters: json!({
                    "ServiceRequest": ticket.number,
                    "CancelledRequests": cancelled.iter().map(ToString::to_string).collect::<Vec<_>>(),
                }),
                request_id: None,
            },
        )?;
        let facts = json!({
            "closed_by": side(caller),
            "status": "closed",
            "cancelled_requests": cancelled.iter().map(|r| r.0).collect::<Vec<_>>(),
        });
        hook(conn, ticket.tenant_id, "ticket.closed", &ticket.number, facts, now)?;
        Ok(cancelled)
    })
}

/// The open ticket of `tenant` numbered `number`, locked against closing
/// until the filing commits; `None` if there is none.
pub fn open_ticket_for_filing(
    conn: &mut PgConnection,
    tenant: TenantId,
    number: &str,
) -> QueryResult<Option<Uuid>> {
    sr::table
        .filter(sr::tenant_id.eq(tenant))
        .filter(sr::number.eq(number))
        .filter(sr::status.eq("open"))
        .select(sr::id)
        .for_share()
        .first(conn)
        .optional()
}
