//! The mails of the request lifecycle: the customer's approvers are told
//! when a request waits for them, the engineer when the customer decides or
//! the request expires. Rendered here, queued by [`super::effects`].

use askama::Template;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{format_minutes, machine::Status, model::AccessRequest};
use crate::{
    i18n::fmt_time,
    notify::{Mail, defang, render},
    staff, tenants,
};

#[derive(Template)]
#[template(path = "email/pending_customer.txt")]
struct PendingText<'a> {
    f: &'a PendingFields,
}

#[derive(Template)]
#[template(path = "email/pending_customer.html")]
struct PendingHtml<'a> {
    f: &'a PendingFields,
}

struct PendingFields {
    tenant: String,
    request_id: String,
    service_request: String,
    workload: &'static str,
    duration: String,
    expires_at: String,
    fingerprint: String,
    /// The cited ticket's title and opener; `None`: no matching ticket.
    ticket: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "email/decision.txt")]
struct DecisionText<'a> {
    f: &'a DecisionFields,
}

#[derive(Template)]
#[template(path = "email/decision.html")]
struct DecisionHtml<'a> {
    f: &'a DecisionFields,
}

struct DecisionFields {
    outcome: &'static str,
    tenant: String,
    request_id: String,
    service_request: String,
    workload: &'static str,
    at: String,
    access_ends_at: Option<String>,
}

/// The mails to every global administrator and approver of the request's
/// tenant: a request waits for them.
pub fn pending_customer(conn: &mut PgConnection, req: &AccessRequest) -> QueryResult<Vec<Mail>> {
    let f = PendingFields {
        tenant: defang(&req.tenant_name),
        request_id: req.id.to_string(),
        service_request: defang(&req.service_request),
        workload: req.workload.name(),
        duration: format_minutes(req.duration_minutes),
        expires_at: req.expires_at.map(fmt_time).unwrap_or_default(),
        fingerprint: req.short_fingerprint(),
        ticket: match req.ticket_id {
            Some(id) => super::tickets::queries::by_id(conn, id)?
                .map(|t| (defang(&t.title), defang(&t.opener_name))),
            None => None,
        },
    };
    let subject = format!(
        "Customer Lockbox: approval needed for access request {} ({})",
        f.service_request, f.tenant
    );
    let (text, html) = (
        render(&PendingText { f: &f })?,
        render(&PendingHtml { f: &f })?,
    );
    Ok(tenants::lockbox_people(conn, req.tenant_id)?
        .into_iter()
        .map(|person| Mail {
            kind: "pending_customer",
            to: person.email,
            subject: subject.clone(),
            text: text.clone(),
            html: html.clone(),
        })
        .collect())
}

/// The mail telling the engineer the customer's decision (or the expiry).
pub fn decision(
    conn: &mut PgConnection,
    req: &AccessRequest,
    outcome: Status,
    at: DateTime<Utc>,
    access_ends_at: Option<DateTime<Utc>>,
) -> QueryResult<Option<Mail>> {
    let Some(engineer) = staff::find(conn, req.engineer_id)? else {
        return Ok(None);
    };
    let f = DecisionFields {
        outcome: match outcome {
            Status::Approved => "approved",
            Status::Denied => "denied",
            _ => "expired",
        },
        tenant: defang(&req.tenant_name),
        request_id: req.id.to_string(),
        service_request: defang(&req.service_request),
        workload: req.workload.name(),
        at: fmt_time(at),
        access_ends_at: access_ends_at.map(fmt_time),
    };
    let subject = format!(
        "Customer Lockbox: access request {} {} by {}",
        f.service_request,
        f.outcome,
        if outcome == Status::Expired {
            "timeout"
        } else {
            "the customer"
        }
    );
    Ok(Some(Mail {
        kind: "decision",
        to: engineer.email,
        subject,
        text: render(&DecisionText { f: &f })?,
        html: render(&DecisionHtml { f: &f })?,
    }))
}
