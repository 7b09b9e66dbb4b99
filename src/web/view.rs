//! View models shared by both portals: requests and their timelines as the
//! pages show them, with the effective state computed at `now`.

use chrono::{DateTime, Utc};

use crate::{
    i18n::Tr,
    requests::{AccessRequest, Action, Refusal, Refused, Status, TimelineEntry, format_minutes},
};

/// The CSS class of a state's badge.
pub fn badge_class(status: Status) -> &'static str {
    match status {
        Status::PendingManager | Status::PendingCustomer => "badge-pending",
        Status::Approved => "badge-on",
        Status::Rejected | Status::Denied | Status::Revoked => "badge-refused",
        Status::Expired | Status::Cancelled | Status::Ended => "badge-closed",
    }
}

/// How long from `now` until `end`, in whole minutes ("3 h 12 min"; never
/// below "0 min"): the time left of a deadline or an access window.
pub fn time_left(now: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let minutes = (end - now).num_minutes().max(0);
    format_minutes(i32::try_from(minutes).unwrap_or(i32::MAX))
}

/// Which realm is looking: names of the other side are shown differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Provider,
    Customer,
}

pub struct RequestView {
    pub id: String,
    pub tenant: String,
    pub engineer: String,
    pub service_request: String,
    pub workload: &'static str,
    pub duration: String,
    pub justification: String,
    pub status: Status,
    pub status_key: &'static str,
    pub badge: &'static str,
    pub created_at: String,
    /// ("expires at" / "access ends at" label key, time), when one applies.
    pub deadline: Option<(&'static str, String)>,
    /// The short fingerprint people compare with the approvers' mail.
    pub fingerprint: String,
    /// Filed citing no open service request of its tenant: marked in red.
    pub no_ticket: bool,
    /// The ticket it cites, where a page shows it (see [`TicketFacts`]).
    pub ticket: Option<TicketFacts>,
    /// Issue 19: while a request with a quorum over 1 waits for its
    /// customer, how many approved and who.
    pub quorum: Option<QuorumView>,
}

/// "2 of 3 approvals" and who approved (customers see the names, provider
/// staff the count only, as the timeline names the customer's people).
pub struct QuorumView {
    pub given: usize,
    pub required: u8,
    /// The approvers' names, comma-separated; empty for provider staff.
    pub names: String,
}

impl QuorumView {
    fn new(req: &AccessRequest, status: Status, viewer: Viewer) -> Option<Self> {
        (status == Status::PendingCustomer && req.quorum > 1).then(|| Self {
            given: req.approvals.len(),
            required: req.quorum,
            names: match viewer {
                Viewer::Customer => req
                    .approvals
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                Viewer::Provider => String::new(),
            },
        })
    }

    /// "2 of 3 approvals", in the reader's language.
    pub fn count(&self, tr: &Tr) -> String {
        tr.t_args(
            "approvals-count",
            &[
                ("given", &self.given.to_string()),
                ("required", &self.required.to_string()),
            ],
        )
    }
}

/// The service request a request cites, as its detail page shows it.
pub struct TicketFacts {
    pub number: String,
    pub title: String,
    pub opener: String,
    pub opened_at: String,
    /// Where the ticket's page is in the viewer's portal.
    pub href: String,
}

impl TicketFacts {
    pub fn new(tr: &Tr, t: &crate::requests::tickets::Ticket, viewer: Viewer) -> Self {
        Self {
            number: t.number.clone(),
            title: t.title.clone(),
            opener: t.opener_name.clone(),
            opened_at: tr.fmt_time(t.opened_at),
            href: match viewer {
                Viewer::Customer => format!("/support/tickets/{}", t.number),
                Viewer::Provider => format!("/support/{}/{}", t.tenant_id, t.number),
            },
        }
    }
}

impl RequestView {
    pub fn new(tr: &Tr, req: &AccessRequest, now: DateTime<Utc>, viewer: Viewer) -> Self {
        let status = req.effective(now);
        let deadline = match status {
            Status::PendingCustomer | Status::Expired => req
                .expires_at
                .map(|at| ("field-expires-at", tr.fmt_time(at))),
            Status::Approved | Status::Ended => req
                .ends_at
                .map(|at| ("field-access-ends-at", tr.fmt_time(at))),
            // Revoked early: when access really ended, not when it would have.
            Status::Revoked => req
                .closed_at
                .map(|at| ("field-access-revoked-at", tr.fmt_time(at))),
            _ => None,
        };
        Self {
            id: req.id.to_string(),
            tenant: req.tenant_name.clone(),
            engineer: match viewer {
                Viewer::Provider => req.engineer_name.clone(),
                Viewer::Customer => req.engineer_public_id(),
            },
            service_request: req.service_request.clone(),
            workload: req.workload.name(),
            duration: format_minutes(req.duration_minutes),
            justification: req.justification.clone(),
            status,
            status_key: status.label_key(),
            badge: badge_class(status),
            created_at: tr.fmt_time(req.created_at),
            deadline,
            fingerprint: req.short_fingerprint(),
            no_ticket: req.ticket_id.is_none(),
            ticket: None,
            quorum: QuorumView::new(req, status, viewer),
        }
    }
}

/// The columns a request table can show; each page picks its own, in its
/// order, and `macros.html` renders them all alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    ServiceRequest,
    Tenant,
    Requester,
    Workload,
    Duration,
    RequestedAt,
    Deadline,
    Status,
    /// Links to the decisions the viewer is offered (the approval queue).
    Decide,
}

impl Column {
    pub fn header_key(self) -> &'static str {
        match self {
            Column::ServiceRequest => "field-service-request",
            Column::Tenant => "field-tenant",
            Column::Requester => "field-requester",
            Column::Workload => "field-workload",
            Column::Duration => "field-duration",
            Column::RequestedAt => "field-requested-at",
            Column::Deadline => "field-deadline",
            Column::Status => "field-status",
            Column::Decide => "field-actions",
        }
    }
}

/// One row of a request table: the request, and what the viewer may do.
pub struct TableRow {
    pub r: RequestView,
    /// The viewer filed it.
    pub own: bool,
    /// The decisions offered, as (slug, label key).
    pub actions: Vec<(&'static str, String)>,
}

impl Viewer {
    /// Translation-key prefix of a decision's confirmation texts
    /// (`<prefix>-<action>-title`, `-question`, `-button`).
    pub fn confirm_prefix(self) -> &'static str {
        match self {
            Viewer::Customer => "customer",
            Viewer::Provider => "confirm",
        }
    }

    /// The translation key of a decision's button or link.
    pub fn action_label(self, action: Action) -> String {
        match (self, action) {
            (Viewer::Provider, Action::Approve | Action::Reject | Action::Cancel) => {
                format!("action-{}", action.slug())
            }
            // Deny and revoke are the customer's (staff are never offered them).
            _ => format!("customer-{}-link", action.slug()),
        }
    }

    /// The translation key of the confirmation after `action` brought a
    /// request to `status` (`{ $id }` and `{ $at }`, the window's end, are
    /// given to it).
    pub fn flash_key(self, action: Action, status: Status) -> String {
        match (self, action, status) {
            // Issue 19: an approval that did not yet reach the quorum.
            (Viewer::Customer, Action::Approve, Status::PendingCustomer) => {
                "flash-customer-approve-partial".into()
            }
            (Viewer::Customer, a, _) => format!("flash-customer-{}", a.slug()),
            (Viewer::Provider, Action::Approve, Status::PendingCustomer) => {
                "flash-approved-to-customer".into()
            }
            (Viewer::Provider, Action::Approve, _) => "flash-approved-open".into(),
            (Viewer::Provider, Action::Reject, _) => "flash-rejected".into(),
            (Viewer::Provider, _, _) => "flash-cancelled".into(),
        }
    }
}

pub struct TimelineView {
    pub at: String,
    pub event_key: String,
    pub actor: String,
    pub comment: Option<String>,
}

/// How an actor is named to `viewer`: customers see provider staff by their
/// staff id only; engineers see the customer as the organisation.
pub fn actor_label(tr: &Tr, entry: &TimelineEntry, tenant: &str, viewer: Viewer) -> String {
    match (entry.actor_kind.as_str(), viewer) {
        ("system", _) => tr.t("actor-system"),
        ("customer", Viewer::Provider) => tr.t1("actor-customer", "tenant", tenant),
        ("engineer" | "manager", Viewer::Customer) => entry
            .staff_id()
            .map(|id| id.public_id())
            .unwrap_or_else(|| entry.actor_name.clone()),
        _ => entry.actor_name.clone(),
    }
}

pub fn timeline_view(
    tr: &Tr,
    entries: &[TimelineEntry],
    tenant: &str,
    viewer: Viewer,
) -> Vec<TimelineView> {
    entries
        .iter()
        .map(|e| TimelineView {
            at: tr.fmt_time(e.at),
            event_key: format!("event-{}", e.event.replace('_', "-")),
            actor: actor_label(tr, e, tenant, viewer),
            comment: e.comment.clone(),
        })
        .collect()
}

/// A refusal in words, naming who decided and when where that is known.
pub fn refusal_message(tr: &Tr, refused: &Refused, viewer: Viewer) -> String {
    let (last, tenant) = (refused.last.as_ref(), refused.request.tenant_name.as_str());
    match refused.refusal {
        Refusal::Expired { at } => tr.t1("refusal-expired", "at", &tr.fmt_time(at)),
        Refusal::WindowEnded { at } => tr.t1("refusal-window-ended", "at", &tr.fmt_time(at)),
        Refusal::AlreadyDecided { status } | Refusal::NotInThisState { status } => match last {
            Some(e) if e.status() == Some(Status::Expired) => {
                tr.t1("refusal-expired", "at", &tr.fmt_time(e.at))
            }
            Some(e) if e.status() == Some(Status::Ended) => {
                tr.t1("refusal-window-ended", "at", &tr.fmt_time(e.at))
            }
            Some(e) => tr.t_args(
                "refusal-already",
                &[
                    (
                        "state",
                        &tr.t(&format!("state-word-{}", status.as_db().replace('_', "-"))),
                    ),
                    ("who", &actor_label(tr, e, tenant, viewer)),
                    ("at", &tr.fmt_time(e.at)),
                ],
            ),
            None => tr.t(status.label_key()),
        },
        Refusal::TwoPersonRule => tr.t("refusal-two-person"),
        Refusal::NotYourRequest => tr.t("refusal-not-your-request"),
        Refusal::NotYourDecision | Refusal::NotYetDue => tr.t("refusal-not-your-decision"),
        Refusal::AlreadyApprovedByYou => tr.t_args(
            "refusal-approved-already-by-you",
            &[
                ("given", &refused.request.approvals.len().to_string()),
                ("required", &refused.request.quorum.to_string()),
            ],
        ),
    }
}

/// 409 for "too late / someone else decided", 403 for "not yours to decide".
pub fn refusal_status(refusal: Refusal) -> actix_web::http::StatusCode {
    use actix_web::http::StatusCode;
    match refusal {
        Refusal::TwoPersonRule | Refusal::NotYourRequest | Refusal::NotYourDecision => {
            StatusCode::FORBIDDEN
        }
        _ => StatusCode::CONFLICT,
    }
}

/// A service request as both portals show it.
pub struct TicketView {
    pub number: String,
    pub title: String,
    pub description: String,
    pub tenant: String,
    pub tenant_id: String,
    pub workload: &'static str,
    pub severity: String,
    pub severity_key: &'static str,
    pub open: bool,
    pub opener: String,
    pub opened_at: String,
    /// (when, by whom), once closed.
    pub closed: Option<(String, String)>,
    pub messages: Vec<MessageView>,
}

/// One message of a ticket's conversation.
pub struct MessageView {
    pub at: String,
    pub author: String,
    pub staff: bool,
    pub body: String,
}

impl TicketView {
    pub fn new(
        tr: &Tr,
        t: &crate::requests::tickets::Ticket,
        messages: &[crate::requests::tickets::Message],
        viewer: Viewer,
    ) -> Self {
        Self {
            number: t.number.clone(),
            title: t.title.clone(),
            description: t.description.clone(),
            tenant: t.tenant_name.clone(),
            tenant_id: t.tenant_id.to_string(),
            workload: t.workload.name(),
            severity: t.severity.as_db().to_owned(),
            severity_key: t.severity.label_key(),
            open: t.open,
            opener: t.opener_name.clone(),
            opened_at: tr.fmt_time(t.opened_at),
            closed: t.closed_at.map(|at| {
                (
                    tr.fmt_time(at),
                    t.closed_by_name.clone().unwrap_or_default(),
                )
            }),
            messages: messages
                .iter()
                .map(|m| {
                    let staff = m.author_kind == "staff";
                    MessageView {
                        at: tr.fmt_time(m.at),
                        author: match (staff, viewer) {
                            (true, Viewer::Customer) => tr.t("ticket-author-staff"),
                            (false, Viewer::Provider) => {
                                format!("{} ({})", m.author_name, t.tenant_name)
                            }
                            _ => m.author_name.clone(),
                        },
                        staff,
                        body: m.body.clone(),
                    }
                })
                .collect(),
        }
    }
}
