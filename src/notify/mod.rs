//! E-mail notifications. When a request reaches the customer, every global
//! administrator and approver of the tenant is told; when the customer
//! decides (or the request expires) the engineer is told. Messages are
//! written to the outbox in the same transaction as the change
//! ([`outbox::enqueue`]) and delivered by a worker ([`outbox::deliver_due`]).
//!
//! Customer mail carries no links of any kind (phishing protection, as the
//! seed asks): no URLs, and free text typed by provider staff is
//! [`defang`]ed so that no mail client turns it into a link.

pub mod mailer;
pub mod outbox;

use askama::Template;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{
    requests::{Status, format_minutes, store::AccessRequest},
    staff, tenants,
    web::view::fmt_time,
};

/// Text that cannot become a link: no scheme, no dotted host names, no
/// addresses ("www.x.example" becomes "w-w-w[.]x[.]example").
pub fn defang(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let wordy = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let starts_with = |i: usize, word: &str| {
        let w: Vec<char> = word.chars().collect();
        chars.len() >= i + w.len()
            && chars[i..i + w.len()]
                .iter()
                .zip(&w)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let word_start = i == 0 || !chars[i - 1].is_alphanumeric();
        if word_start && starts_with(i, "http") {
            out.push_str("hxxp");
            i += 4;
            continue;
        }
        if word_start && starts_with(i, "www") {
            out.push_str("w-w-w");
            i += 3;
            continue;
        }
        match c {
            '.' if i > 0 && i + 1 < chars.len() && wordy(chars[i - 1]) && wordy(chars[i + 1]) => {
                out.push_str("[.]");
            }
            '@' => out.push_str("[at]"),
            ':' if chars.get(i + 1) == Some(&'/') => out.push_str("[:]"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// One e-mail, rendered.
pub struct Mail {
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

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

fn render<T: Template>(t: &T) -> QueryResult<String> {
    t.render()
        .map_err(|e| diesel::result::Error::QueryBuilderError(format!("mail template: {e}").into()))
}

/// The mails to every global administrator and approver of the request's
/// tenant: a request waits for them.
pub fn pending_customer_mails(
    conn: &mut PgConnection,
    req: &AccessRequest,
) -> QueryResult<Vec<Mail>> {
    let f = PendingFields {
        tenant: defang(&req.tenant_name),
        request_id: req.id.to_string(),
        service_request: defang(&req.service_request),
        workload: req.workload.name(),
        duration: format_minutes(req.duration_minutes),
        expires_at: req.expires_at.map(fmt_time).unwrap_or_default(),
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
pub fn decision_mail(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defanged_text_holds_no_links() {
        assert_eq!(
            defang("see www.evil.example/x"),
            "see w-w-w[.]evil[.]example/x"
        );
        assert_eq!(defang("HTTPS://phish.example"), "hxxpS[:]//phish[.]example");
        assert_eq!(
            defang("İstanbul www"),
            "İstanbul w-w-w",
            "no panic on case-changing letters"
        );
        assert_eq!(defang("mail me@evil.example"), "mail me[at]evil[.]example");
        assert_eq!(
            defang("SR-4711. Done."),
            "SR-4711. Done.",
            "ordinary sentences stay"
        );
        assert_eq!(defang("Ünïcode naïve"), "Ünïcode naïve");
    }
}
