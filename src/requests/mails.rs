//! The mails of the request lifecycle, each in its recipient's language
//! (`notify::language`, from the Fluent bundles): the customer's approvers
//! and global administrators when a request waits for them, once more
//! shortly before it expires ([`super::reminders`]), and when someone else
//! of the tenant cancels or revokes it; the provider's managers when a new
//! request waits in their queue (one mail per new request); the engineer at
//! every transition of their request; the approvers who have not yet
//! approved when a request needs more approvals ([`quorum`]). Every time
//! in them is in the recipient's time zone (`notify::time_zone`). Rendered
//! here, queued by [`super::effects`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{format_minutes, model::AccessRequest};
use crate::{
    i18n::Tr,
    identity::UserId,
    notify::{self, Mail, defang, language, notice::Notice},
    staff, tenants,
};

/// The outbox kind of a reminder (withdrawn once the request is decided).
pub const REMINDER: &str = "reminder";

/// What the engineer is told of their request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineerNews {
    /// A manager approved; the customer decides next.
    ManagerApproved,
    /// A manager approved and the tenant has Lockbox off: the window is open.
    Opened,
    ManagerRejected,
    Approved,
    Denied,
    Expired,
    Cancelled,
    Revoked,
    Ended,
}

impl EngineerNews {
    pub const ALL: [EngineerNews; 9] = [
        EngineerNews::ManagerApproved,
        EngineerNews::Opened,
        EngineerNews::ManagerRejected,
        EngineerNews::Approved,
        EngineerNews::Denied,
        EngineerNews::Expired,
        EngineerNews::Cancelled,
        EngineerNews::Revoked,
        EngineerNews::Ended,
    ];

    fn key(self) -> &'static str {
        match self {
            EngineerNews::ManagerApproved => "manager-approved",
            EngineerNews::Opened => "opened",
            EngineerNews::ManagerRejected => "manager-rejected",
            EngineerNews::Approved => "approved",
            EngineerNews::Denied => "denied",
            EngineerNews::Expired => "expired",
            EngineerNews::Cancelled => "cancelled",
            EngineerNews::Revoked => "revoked",
            EngineerNews::Ended => "ended",
        }
    }

    /// The paragraph after the facts: access open, none given, no more.
    fn closing(self) -> Option<&'static str> {
        match self {
            EngineerNews::Approved | EngineerNews::Opened => Some("mail-window-open"),
            EngineerNews::ManagerRejected
            | EngineerNews::Denied
            | EngineerNews::Expired
            | EngineerNews::Cancelled => Some("mail-no-access"),
            EngineerNews::Revoked | EngineerNews::Ended => Some("mail-no-more-access"),
            EngineerNews::ManagerApproved => None,
        }
    }
}

/// A customer decision told to the rest of the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantNews {
    Cancelled,
    Revoked,
}

/// One recipient: where, and their language and time zone.
struct To {
    email: String,
    tr: Tr,
}

/// The facts every mail about a request names.
fn facts(tr: &Tr, req: &AccessRequest) -> Vec<(String, String)> {
    vec![
        (tr.t("mail-fact-organization"), defang(&req.tenant_name)),
        (tr.t("mail-fact-request-id"), req.id.to_string()),
        (
            tr.t("mail-fact-service-request"),
            defang(&req.service_request),
        ),
        (tr.t("mail-fact-workload"), req.workload.name().to_owned()),
    ]
}

fn subject(tr: &Tr, key: &str, req: &AccessRequest, more: &[(&'static str, &str)]) -> String {
    let (sr, tenant) = (defang(&req.service_request), defang(&req.tenant_name));
    let mut args = vec![("sr", sr.as_str()), ("tenant", tenant.as_str())];
    args.extend_from_slice(more);
    tr.t_args(key, &args)
}

/// The cited service request's title and opener (defanged); `None`: no
/// matching one.
pub type Ticket = Option<(String, String)>;

/// The mail that a request waits for the customer's decision (`reminder`:
/// the second one, shortly before it expires): with the cited service
/// request and the request's fingerprint.
pub fn waiting_notice(
    tr: &Tr,
    req: &AccessRequest,
    ticket: &Ticket,
    reminder: bool,
) -> (String, Notice) {
    let expires = req.expires_at.map(|at| tr.fmt_time(at)).unwrap_or_default();
    let mut f = facts(tr, req);
    f.insert(
        3,
        (
            tr.t("mail-fact-ticket"),
            match ticket {
                Some((title, opener)) => tr.t_args(
                    "mail-ticket-opened-by",
                    &[("title", title), ("opener", opener)],
                ),
                None => tr.t("mail-ticket-none"),
            },
        ),
    );
    f.push((
        tr.t("mail-fact-duration"),
        format_minutes(req.duration_minutes),
    ));
    f.push((tr.t("mail-fact-expires"), expires.clone()));
    f.push((tr.t("mail-fact-fingerprint"), req.short_fingerprint()));
    let (subject, heading, intro) = if reminder {
        (
            subject(tr, "mail-reminder-subject", req, &[("expires", &expires)]),
            "mail-reminder-heading",
            "mail-reminder-intro",
        )
    } else {
        (
            subject(tr, "mail-pending-subject", req, &[]),
            "mail-pending-heading",
            "mail-pending-intro",
        )
    };
    let notice = Notice {
        lang: tr.lang.code(),
        heading: tr.t(heading),
        before: vec![tr.t(intro)],
        facts: f,
        // No matching service request: in red (SPEC §12).
        warning: ticket.is_none().then_some(3),
        after: vec![
            tr.t("mail-fingerprint-check"),
            tr.t("mail-sign-in-admin"),
            tr.t("mail-no-links"),
            tr.t("mail-pending-expiry"),
        ],
    };
    (subject, notice)
}

/// The mail to a manager: a new request waits in the approval queue.
pub fn manager_notice(tr: &Tr, req: &AccessRequest) -> (String, Notice) {
    let mut f = facts(tr, req);
    f.push((
        tr.t("mail-fact-duration"),
        format_minutes(req.duration_minutes),
    ));
    f.push((tr.t("mail-fact-engineer"), defang(&req.engineer_name)));
    let notice = Notice {
        lang: tr.lang.code(),
        heading: tr.t("mail-manager-heading"),
        before: vec![tr.t("mail-manager-intro")],
        facts: f,
        warning: None,
        after: vec![tr.t("mail-manager-sign-in"), tr.t("mail-no-links")],
    };
    (subject(tr, "mail-manager-subject", req, &[]), notice)
}

/// The mail to the engineer: what happened to their request, when, and
/// until when access lasts if it is open.
pub fn engineer_notice(
    tr: &Tr,
    req: &AccessRequest,
    news: EngineerNews,
    at: DateTime<Utc>,
    access_ends_at: Option<DateTime<Utc>>,
) -> (String, Notice) {
    let key = news.key();
    let mut f = facts(tr, req);
    let when = match news {
        EngineerNews::Expired | EngineerNews::Ended => "mail-fact-time",
        _ => "mail-fact-decided",
    };
    f.push((tr.t(when), tr.fmt_time(at)));
    if let Some(end) = access_ends_at {
        f.push((tr.t("mail-fact-access-ends"), tr.fmt_time(end)));
    }
    let notice = Notice {
        lang: tr.lang.code(),
        heading: tr.t("mail-engineer-heading"),
        before: vec![tr.t(&format!("mail-engineer-{key}-body"))],
        facts: f,
        warning: None,
        after: news.closing().map(|k| tr.t(k)).into_iter().collect(),
    };
    let subject = subject(tr, &format!("mail-engineer-{key}-subject"), req, &[]);
    (subject, notice)
}

/// The mail to the tenant's other deciders: `by` cancelled or revoked.
pub fn tenant_notice(
    tr: &Tr,
    req: &AccessRequest,
    news: TenantNews,
    by: &str,
    at: DateTime<Utc>,
) -> (String, Notice) {
    let key = match news {
        TenantNews::Cancelled => "cancelled",
        TenantNews::Revoked => "revoked",
    };
    let by = defang(by);
    let mut f = facts(tr, req);
    f.push((tr.t("mail-fact-decided"), tr.fmt_time(at)));
    let notice = Notice {
        lang: tr.lang.code(),
        heading: tr.t("mail-tenant-heading"),
        before: vec![tr.t1(&format!("mail-tenant-{key}-body"), "name", &by)],
        facts: f,
        warning: None,
        after: vec![tr.t("mail-nothing-to-do"), tr.t("mail-no-links")],
    };
    let subject = subject(
        tr,
        &format!("mail-tenant-{key}-subject"),
        req,
        &[("name", &by)],
    );
    (subject, notice)
}

fn mail(kind: &'static str, to: &To, (subject, notice): (String, Notice)) -> QueryResult<Mail> {
    let (text, html) = notice.render()?;
    Ok(Mail {
        kind,
        to: to.email.clone(),
        subject,
        text,
        html,
    })
}

/// The tenant's global administrators and approvers, with their languages
/// and zones.
fn deciders(conn: &mut PgConnection, req: &AccessRequest) -> QueryResult<Vec<(UserId, To)>> {
    tenants::lockbox_people(conn, req.tenant_id)?
        .into_iter()
        .map(|p| {
            let tr = notify::reader(conn, language::ADMIN, p.id.0)?;
            Ok((p.id, To { email: p.email, tr }))
        })
        .collect()
}

/// Every global administrator and approver of the request's tenant: the
/// request waits for them (`reminder`: and expires soon).
pub fn pending_customer(
    conn: &mut PgConnection,
    req: &AccessRequest,
    reminder: bool,
) -> QueryResult<Vec<Mail>> {
    let kind = if reminder {
        REMINDER
    } else {
        "pending_customer"
    };
    let ticket: Ticket = match req.ticket_id {
        Some(id) => super::tickets::queries::by_id(conn, id)?
            .map(|t| (defang(&t.title), defang(&t.opener_name))),
        None => None,
    };
    // Those who already approved (issue 19) are not asked again.
    deciders(conn, req)?
        .iter()
        .filter(|(id, _)| !req.approvals.iter().any(|a| a.user_id == *id))
        .map(|(_, to)| {
            let notice = waiting_notice(&to.tr, req, &ticket, reminder);
            mail(kind, to, notice)
        })
        .collect()
}

/// Every manager: a new request waits in their queue.
pub fn awaiting_manager(conn: &mut PgConnection, req: &AccessRequest) -> QueryResult<Vec<Mail>> {
    staff::with_role(conn, staff::StaffRole::Manager)?
        .into_iter()
        .map(|m| {
            let to = To {
                tr: notify::reader(conn, language::ENGINEER, m.id.0)?,
                email: m.email,
            };
            mail("awaiting_manager", &to, manager_notice(&to.tr, req))
        })
        .collect()
}

/// The engineer's mail about their request.
pub fn to_engineer(
    conn: &mut PgConnection,
    req: &AccessRequest,
    news: EngineerNews,
    at: DateTime<Utc>,
    access_ends_at: Option<DateTime<Utc>>,
) -> QueryResult<Option<Mail>> {
    let Some((email, tr)) = notify::recipient(conn, language::ENGINEER, req.engineer_id.0)? else {
        return Ok(None);
    };
    let to = To { tr, email };
    let notice = engineer_notice(&to.tr, req, news, at, access_ends_at);
    mail("decision", &to, notice).map(Some)
}

/// The tenant's deciders other than `by`: `by_name` cancelled or revoked.
pub fn to_tenant_others(
    conn: &mut PgConnection,
    req: &AccessRequest,
    news: TenantNews,
    by: UserId,
    by_name: &str,
    at: DateTime<Utc>,
) -> QueryResult<Vec<Mail>> {
    deciders(conn, req)?
        .iter()
        .filter(|(id, _)| *id != by)
        .map(|(_, to)| {
            let notice = tenant_notice(&to.tr, req, news, by_name, at);
            mail("tenant_decision", to, notice)
        })
        .collect()
}

pub mod quorum;
#[cfg(test)]
mod tests;
