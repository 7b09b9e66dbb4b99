//! The mail of a partial approval (issue 19): "1 more approval needed",
//! to the tenant's approvers and global administrators who have not yet
//! approved the request.

use diesel::prelude::*;

use super::{Mail, To, deciders, facts, mail, subject};
use crate::{
    i18n::Tr,
    identity::UserId,
    notify::{defang, notice::Notice},
    requests::{Actor, Tally, effects::By, format_minutes, model::AccessRequest},
};

/// The outbox kind of the mail.
pub const KIND: &str = "approval_needed";

/// The mail: `by` approved, `tally` (before their approval) says how many
/// approved and how many must; the recipient has not approved yet.
pub fn more_needed_notice(
    tr: &Tr,
    req: &AccessRequest,
    by: &str,
    tally: Tally,
) -> (String, Notice) {
    let given = u16::from(tally.given) + 1;
    let remaining = u16::from(tally.required).saturating_sub(given);
    let (given, required, remaining) = (
        given.to_string(),
        tally.required.to_string(),
        remaining.to_string(),
    );
    let by = defang(by);
    let mut f = facts(tr, req);
    f.push((
        tr.t("mail-fact-approvals"),
        tr.t_args(
            "approvals-count",
            &[("given", &given), ("required", &required)],
        ),
    ));
    f.push((
        tr.t("mail-fact-duration"),
        format_minutes(req.duration_minutes),
    ));
    f.push((
        tr.t("mail-fact-expires"),
        req.expires_at.map(|at| tr.fmt_time(at)).unwrap_or_default(),
    ));
    f.push((tr.t("mail-fact-fingerprint"), req.short_fingerprint()));
    let key = if remaining == "1" { "one" } else { "many" };
    let args = [("name", by.as_str()), ("remaining", remaining.as_str())];
    let notice = Notice {
        lang: tr.lang.code(),
        heading: tr.t_args(&format!("mail-quorum-{key}-heading"), &args),
        before: vec![tr.t_args("mail-quorum-body", &args)],
        facts: f,
        warning: None,
        after: vec![
            tr.t("mail-fingerprint-check"),
            tr.t("mail-sign-in-admin"),
            tr.t("mail-no-links"),
            tr.t("mail-pending-expiry"),
        ],
    };
    let subject = subject(
        tr,
        &format!("mail-quorum-{key}-subject"),
        req,
        &[("remaining", &remaining)],
    );
    (subject, notice)
}

/// The mails of a partial approval by `by`: to every approver and global
/// administrator of the tenant who has not approved yet (the one who just
/// did included among those who have).
pub fn more_needed(
    conn: &mut PgConnection,
    req: &AccessRequest,
    by: By<'_>,
    tally: Tally,
) -> QueryResult<Vec<Mail>> {
    let approver: Option<UserId> = match by.actor {
        Actor::Customer(user) => Some(user),
        _ => None,
    };
    deciders(conn, req)?
        .iter()
        .filter(|(id, _)| Some(*id) != approver && !req.approvals.iter().any(|a| a.user_id == *id))
        .map(|(_, to): &(UserId, To)| {
            mail(KIND, to, more_needed_notice(&to.tr, req, by.name, tally))
        })
        .collect()
}
