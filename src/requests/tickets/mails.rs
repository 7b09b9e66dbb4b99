//! The mails of service requests and of "more information" (no links, as
//! every lockbox mail; everything a person typed is defanged), each in its
//! recipient's language (`notify::language`, the `mail-…` keys of both
//! Fluent bundles) and in the lifecycle mails' layout: the opener is told
//! of a staff reply, every staff member of a new critical ticket, the
//! engineer of a request cancelled by its ticket's closing and of an
//! approver's question, the approvers of the engineer's answer.

use diesel::prelude::*;
use uuid::Uuid;

use super::Ticket;
use crate::{
    i18n::Tr,
    notify::{self, Mail, defang, language, notice::Notice},
    requests::model::AccessRequest,
    schema::{provider_staff, tenant_users},
    staff, tenants,
};

fn notice(
    tr: &Tr,
    heading: &str,
    before: Vec<String>,
    facts: Vec<(String, String)>,
    closing: &str,
) -> Notice {
    Notice {
        lang: tr.lang.code(),
        heading: tr.t(heading),
        before,
        facts,
        warning: None,
        after: vec![tr.t(closing), tr.t("mail-no-links")],
    }
}

fn ticket_facts(tr: &Tr, t: &Ticket) -> Vec<(String, String)> {
    vec![
        (tr.t("mail-fact-organization"), defang(&t.tenant_name)),
        (tr.t("mail-fact-ticket"), t.number.clone()),
        (tr.t("mail-fact-title"), defang(&t.title)),
        (tr.t("mail-fact-opened-by"), defang(&t.opener_name)),
        (tr.t("mail-fact-opened-at"), tr.fmt_time(t.opened_at)),
        (tr.t("mail-fact-workload"), t.workload.name().to_owned()),
        (tr.t("mail-fact-severity"), t.severity.as_db().to_owned()),
    ]
}

fn request_facts(tr: &Tr, req: &AccessRequest) -> Vec<(String, String)> {
    vec![
        (tr.t("mail-fact-organization"), defang(&req.tenant_name)),
        (tr.t("mail-fact-request-id"), req.id.to_string()),
        (
            tr.t("mail-fact-service-request"),
            defang(&req.service_request),
        ),
        (tr.t("mail-fact-workload"), req.workload.name().to_owned()),
        (tr.t("mail-fact-fingerprint"), req.short_fingerprint()),
    ]
}

/// The opener's mail: provider support replied (`body`, quoted).
pub fn reply_notice(tr: &Tr, t: &Ticket, body: &str) -> (String, Notice) {
    let n = notice(
        tr,
        "mail-ticket-reply-heading",
        vec![defang(body)],
        ticket_facts(tr, t),
        "mail-sign-in-support",
    );
    (tr.t1("mail-ticket-reply-subject", "number", &t.number), n)
}

/// Provider staff's mail: a critical ticket was opened.
pub fn critical_notice(tr: &Tr, t: &Ticket) -> (String, Notice) {
    let n = notice(
        tr,
        "mail-ticket-critical-heading",
        vec![defang(&t.description)],
        ticket_facts(tr, t),
        "mail-sign-in-engineer",
    );
    let tenant = defang(&t.tenant_name);
    let subject = tr.t_args(
        "mail-ticket-critical-subject",
        &[("number", &t.number), ("tenant", &tenant)],
    );
    (subject, n)
}

/// The engineer's mail: their request was cancelled as its ticket closed.
pub fn cancelled_notice(tr: &Tr, req: &AccessRequest, t: &Ticket) -> (String, Notice) {
    let title = defang(&t.title);
    let body = tr.t_args(
        "mail-ticket-cancelled-body",
        &[("number", &t.number), ("title", &title)],
    );
    let n = notice(
        tr,
        "mail-ticket-cancelled-heading",
        vec![body],
        request_facts(tr, req),
        "mail-sign-in-engineer",
    );
    let sr = defang(&req.service_request);
    (tr.t1("mail-ticket-cancelled-subject", "sr", &sr), n)
}

/// The engineer's mail: an approver asks `text`.
pub fn question_notice(tr: &Tr, req: &AccessRequest, text: &str) -> (String, Notice) {
    let before = vec![tr.t("mail-question-body"), defang(text)];
    let n = notice(
        tr,
        "mail-question-heading",
        before,
        request_facts(tr, req),
        "mail-sign-in-engineer",
    );
    let sr = defang(&req.service_request);
    (tr.t1("mail-question-subject", "sr", &sr), n)
}

/// The approvers' mail: the engineer answered `text`.
pub fn answer_notice(tr: &Tr, req: &AccessRequest, text: &str) -> (String, Notice) {
    let before = vec![tr.t("mail-answer-body"), defang(text)];
    let n = notice(
        tr,
        "mail-answer-heading",
        before,
        request_facts(tr, req),
        "mail-sign-in-admin",
    );
    let (sr, tenant) = (defang(&req.service_request), defang(&req.tenant_name));
    (
        tr.t_args("mail-answer-subject", &[("sr", &sr), ("tenant", &tenant)]),
        n,
    )
}

/// One mail per recipient, each rendered in their language and zone.
fn mails(
    kind: &'static str,
    to: Vec<(String, Tr)>,
    build: impl Fn(&Tr) -> (String, Notice),
) -> QueryResult<Vec<Mail>> {
    to.into_iter()
        .map(|(to, tr)| {
            let (subject, n) = build(&tr);
            let (text, html) = n.render()?;
            Ok(Mail {
                kind,
                to,
                subject,
                text,
                html,
            })
        })
        .collect()
}

/// Addresses with their mail language and time zone in `realm`.
fn with_language(
    conn: &mut PgConnection,
    realm: &str,
    people: Vec<(Uuid, String)>,
) -> QueryResult<Vec<(String, Tr)>> {
    people
        .into_iter()
        .map(|(id, email)| Ok((email, notify::reader(conn, realm, id)?)))
        .collect()
}

/// The opener is told that provider support replied.
pub fn reply(conn: &mut PgConnection, t: &Ticket, body: &str) -> QueryResult<Vec<Mail>> {
    let opener: Vec<(Uuid, String)> = tenant_users::table
        .filter(tenant_users::id.eq(t.opened_by))
        .select((tenant_users::id, tenant_users::email))
        .load(conn)?;
    let to = with_language(conn, language::ADMIN, opener)?;
    mails("ticket_reply", to, |tr| reply_notice(tr, t, body))
}

/// Every provider staff member is told of a new critical (A) ticket.
pub fn critical(conn: &mut PgConnection, t: &Ticket) -> QueryResult<Vec<Mail>> {
    let everyone: Vec<(Uuid, String)> = provider_staff::table
        .order(provider_staff::email)
        .select((provider_staff::id, provider_staff::email))
        .load(conn)?;
    let to = with_language(conn, language::ENGINEER, everyone)?;
    mails("ticket_critical", to, |tr| critical_notice(tr, t))
}

/// The engineer is told their pending request was cancelled because the
/// ticket it cites was closed.
pub fn cancelled_by_closing(
    conn: &mut PgConnection,
    req: &AccessRequest,
    t: &Ticket,
) -> QueryResult<Vec<Mail>> {
    let to = engineer(conn, req)?;
    mails("request_ticket_closed", to, |tr| {
        cancelled_notice(tr, req, t)
    })
}

/// The engineer is told an approver asks for more information.
pub fn question(
    conn: &mut PgConnection,
    req: &AccessRequest,
    text: &str,
) -> QueryResult<Vec<Mail>> {
    let to = engineer(conn, req)?;
    mails("information_question", to, |tr| {
        question_notice(tr, req, text)
    })
}

/// The approvers are told the engineer answered.
pub fn answer(conn: &mut PgConnection, req: &AccessRequest, text: &str) -> QueryResult<Vec<Mail>> {
    let people = tenants::lockbox_people(conn, req.tenant_id)?
        .into_iter()
        .map(|p| (p.id.0, p.email))
        .collect();
    let to = with_language(conn, language::ADMIN, people)?;
    mails("information_answer", to, |tr| answer_notice(tr, req, text))
}

fn engineer(conn: &mut PgConnection, req: &AccessRequest) -> QueryResult<Vec<(String, Tr)>> {
    let found: Vec<(Uuid, String)> = staff::find(conn, req.engineer_id)?
        .map(|s| (s.id.0, s.email))
        .into_iter()
        .collect();
    with_language(conn, language::ENGINEER, found)
}
