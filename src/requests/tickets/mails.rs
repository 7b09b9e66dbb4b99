//! The mails of service requests and of "more information" (no links, as
//! every lockbox mail; everything a person typed is defanged): the opener
//! is told of a staff reply, every staff member of a new critical ticket,
//! the engineer of a request cancelled by its ticket's closing and of an
//! approver's question, the approvers of the engineer's answer.

use askama::Template;
use diesel::prelude::*;

use super::Ticket;
use crate::{
    i18n::fmt_time,
    notify::{Mail, defang, render},
    requests::model::AccessRequest,
    schema::{provider_staff, tenant_users},
    staff, tenants,
};

#[derive(Template)]
#[template(path = "email/notice.txt")]
struct NoticeText<'a> {
    n: &'a Notice,
}

#[derive(Template)]
#[template(path = "email/notice.html")]
struct NoticeHtml<'a> {
    n: &'a Notice,
}

/// A plain notice: a heading, some paragraphs, facts, an optional quote.
pub(crate) struct Notice {
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub facts: Vec<(&'static str, String)>,
    pub quote: Option<String>,
    pub closing: &'static str,
}

impl Notice {
    fn mails(&self, kind: &'static str, subject: &str, to: Vec<String>) -> QueryResult<Vec<Mail>> {
        let (text, html) = (
            render(&NoticeText { n: self })?,
            render(&NoticeHtml { n: self })?,
        );
        Ok(to
            .into_iter()
            .map(|to| Mail {
                kind,
                to,
                subject: subject.to_owned(),
                text: text.clone(),
                html: html.clone(),
            })
            .collect())
    }
}

const ADMIN_CENTER: &str = "Sign in to your admin center yourself, the way you always do, and open Support, then Service requests.";
const ENGINEER_PORTAL: &str = "Sign in to the engineer portal the way you always do.";

fn ticket_facts(t: &Ticket) -> Vec<(&'static str, String)> {
    vec![
        ("Organization", defang(&t.tenant_name)),
        ("Service request", t.number.clone()),
        ("Title", defang(&t.title)),
        ("Opened by", defang(&t.opener_name)),
        ("Opened at", fmt_time(t.opened_at)),
        ("Workload", t.workload.name().to_owned()),
        ("Severity", t.severity.as_db().to_owned()),
    ]
}

/// The opener is told that provider support replied.
pub fn reply(conn: &mut PgConnection, t: &Ticket, body: &str) -> QueryResult<Vec<Mail>> {
    let to: Vec<String> = tenant_users::table
        .filter(tenant_users::id.eq(t.opened_by))
        .select(tenant_users::email)
        .load(conn)?;
    let notice = Notice {
        heading: "Provider support replied to your service request".into(),
        paragraphs: vec![],
        facts: ticket_facts(t),
        quote: Some(defang(body)),
        closing: ADMIN_CENTER,
    };
    let subject = format!(
        "Service request {}: a reply from provider support",
        t.number
    );
    notice.mails("ticket_reply", &subject, to)
}

/// Every provider staff member is told of a new critical (A) ticket.
pub fn critical(conn: &mut PgConnection, t: &Ticket) -> QueryResult<Vec<Mail>> {
    let to: Vec<String> = provider_staff::table
        .order(provider_staff::email)
        .select(provider_staff::email)
        .load(conn)?;
    let notice = Notice {
        heading: "A critical service request was opened".into(),
        paragraphs: vec![defang(&t.description)],
        facts: ticket_facts(t),
        quote: None,
        closing: ENGINEER_PORTAL,
    };
    let subject = format!(
        "Critical service request {} ({})",
        t.number,
        defang(&t.tenant_name)
    );
    notice.mails("ticket_critical", &subject, to)
}

fn request_facts(req: &AccessRequest) -> Vec<(&'static str, String)> {
    vec![
        ("Organization", defang(&req.tenant_name)),
        ("Request ID", req.id.to_string()),
        ("Service request number", defang(&req.service_request)),
        ("Workload", req.workload.name().to_owned()),
        ("Fingerprint", req.short_fingerprint()),
    ]
}

/// The engineer is told their pending request was cancelled because the
/// ticket it cites was closed.
pub fn cancelled_by_closing(
    conn: &mut PgConnection,
    req: &AccessRequest,
    t: &Ticket,
) -> QueryResult<Vec<Mail>> {
    let notice = Notice {
        heading: "Your access request was cancelled: its service request was closed".into(),
        paragraphs: vec![format!(
            "Service request {} (\"{}\") was closed, so the access request that cites it was cancelled.",
            t.number,
            defang(&t.title)
        )],
        facts: request_facts(req),
        quote: None,
        closing: ENGINEER_PORTAL,
    };
    let subject = format!(
        "Customer Lockbox: access request {} cancelled (service request closed)",
        defang(&req.service_request)
    );
    notice.mails(
        "request_ticket_closed",
        &subject,
        engineer_address(conn, req)?,
    )
}

/// The engineer is told an approver asks for more information.
pub fn question(
    conn: &mut PgConnection,
    req: &AccessRequest,
    text: &str,
) -> QueryResult<Vec<Mail>> {
    let notice = Notice {
        heading: "The customer asks for more information about your access request".into(),
        paragraphs: vec![
            "An approver of the customer asks the question below. The request stays pending and its deadline is unchanged; answer it on the request's page.".into(),
        ],
        facts: request_facts(req),
        quote: Some(defang(text)),
        closing: ENGINEER_PORTAL,
    };
    let subject = format!(
        "Customer Lockbox: more information needed for access request {}",
        defang(&req.service_request)
    );
    notice.mails(
        "information_question",
        &subject,
        engineer_address(conn, req)?,
    )
}

/// The approvers are told the engineer answered.
pub fn answer(conn: &mut PgConnection, req: &AccessRequest, text: &str) -> QueryResult<Vec<Mail>> {
    let notice = Notice {
        heading: "The engineer answered your question about an access request".into(),
        paragraphs: vec!["The request still waits for your organization's decision.".into()],
        facts: request_facts(req),
        quote: Some(defang(text)),
        closing: "Sign in to your admin center yourself, the way you always do, and open Support, then Customer Lockbox requests.",
    };
    let subject = format!(
        "Customer Lockbox: an answer about access request {} ({})",
        defang(&req.service_request),
        defang(&req.tenant_name)
    );
    let to = tenants::lockbox_people(conn, req.tenant_id)?
        .into_iter()
        .map(|p| p.email)
        .collect();
    notice.mails("information_answer", &subject, to)
}

fn engineer_address(conn: &mut PgConnection, req: &AccessRequest) -> QueryResult<Vec<String>> {
    Ok(staff::find(conn, req.engineer_id)?
        .map(|s| s.email)
        .into_iter()
        .collect())
}
