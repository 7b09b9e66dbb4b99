//! "More information" (SPEC §2): on a request waiting for the customer an
//! approver asks the engineer a question, the engineer answers in the
//! portal; as often as needed. The request stays `PendingCustomer` and its
//! deadline does not move: no state of the machine changes, so questions
//! and answers are rows of their own, shown in the timeline, audited and
//! mailed (the engineer of a question, the approvers of an answer).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::{
    caller::Caller,
    machine::{Refusal, Status},
    model::{AccessRequest, Refused, RequestError, Scope, TimelineEntry},
    queries,
    tickets::mails,
    use_cases,
};
use crate::{
    audit,
    clock::Clock,
    identity::RequestId,
    notify::outbox,
    schema::{access_requests as ar, request_information as ri},
};

/// A question or an answer: 1–2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformationText(String);

impl InformationText {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let v = raw.trim();
        if v.is_empty() {
            return Err("error-information-required");
        }
        if v.chars().count() > 2000
            || v.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("error-information-too-long");
        }
        Ok(Self(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One question or answer.
#[derive(Debug, Clone)]
pub struct InformationEntry {
    pub at: DateTime<Utc>,
    pub question: bool,
    pub actor_kind: String,
    pub actor_id: Uuid,
    pub actor_name: String,
    pub body: String,
}

/// A request's questions and answers, oldest first.
pub fn entries(conn: &mut PgConnection, id: RequestId) -> QueryResult<Vec<InformationEntry>> {
    let rows: Vec<(DateTime<Utc>, String, String, Uuid, String, String)> = ri::table
        .filter(ri::request_id.eq(id))
        .order(ri::id.asc())
        .select((
            ri::occurred_at,
            ri::kind,
            ri::actor_kind,
            ri::actor_id,
            ri::actor_name,
            ri::body,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(at, kind, actor_kind, actor_id, actor_name, body)| InformationEntry {
                at,
                question: kind == "question",
                actor_kind,
                actor_id,
                actor_name,
                body,
            },
        )
        .collect())
}

/// The question still waiting for an answer, if the newest entry is one.
pub fn open_question(entries: &[InformationEntry]) -> Option<&InformationEntry> {
    entries.last().filter(|e| e.question)
}

/// The request's timeline with its questions and answers in time order.
pub fn timeline(conn: &mut PgConnection, id: RequestId) -> QueryResult<Vec<TimelineEntry>> {
    Ok(timeline_and_entries(conn, id)?.0)
}

/// [`timeline`] and the [`entries`] in it, each read once (a detail page
/// shows both).
pub fn timeline_and_entries(
    conn: &mut PgConnection,
    id: RequestId,
) -> QueryResult<(Vec<TimelineEntry>, Vec<InformationEntry>)> {
    let mut all = queries::timeline(conn, id)?;
    let entries = entries(conn, id)?;
    all.extend(entries.iter().cloned().map(|e| TimelineEntry {
        at: e.at,
        event: if e.question {
            "information_requested".into()
        } else {
            "information_provided".into()
        },
        to_status: Status::PendingCustomer.as_db().into(),
        actor_kind: e.actor_kind,
        actor_id: Some(e.actor_id),
        actor_name: e.actor_name,
        comment: Some(e.body),
    }));
    // Stable: at equal times the recorded state change comes first.
    all.sort_by_key(|e| e.at);
    Ok((all, entries))
}

/// The request locked, and still waiting for the customer at `now` (read
/// once the lock is held); otherwise the refusal the decision pages show.
fn lock_pending(
    conn: &mut PgConnection,
    id: RequestId,
    clock: &dyn Clock,
) -> Result<(AccessRequest, DateTime<Utc>), RequestError> {
    ar::table
        .find(id)
        .select(ar::id)
        .for_update()
        .first::<RequestId>(conn)?;
    let req = queries::find(conn, id, Scope::Provider)?.ok_or(RequestError::NotFound)?;
    let now = clock.now();
    let (status, since) = req.snapshot().effective(now);
    if status == Status::PendingCustomer {
        return Ok((req, now));
    }
    let refusal = match (status, since) {
        (Status::Expired, Some(at)) => Refusal::Expired { at },
        (s, _) if s.is_final() => Refusal::AlreadyDecided { status: s },
        (s, _) => Refusal::NotInThisState { status: s },
    };
    let last = queries::timeline(conn, id)?.pop();
    Err(RequestError::Refused(Box::new(Refused {
        refusal,
        last,
        request: req,
    })))
}

#[expect(clippy::too_many_arguments, reason = "one argument per column")]
fn insert(
    conn: &mut PgConnection,
    req: &AccessRequest,
    question: bool,
    at: DateTime<Utc>,
    actor_kind: &str,
    actor_id: Uuid,
    actor_name: &str,
    body: &str,
) -> QueryResult<()> {
    diesel::insert_into(ri::table)
        .values((
            ri::request_id.eq(req.id),
            ri::kind.eq(if question { "question" } else { "answer" }),
            ri::occurred_at.eq(at),
            ri::actor_kind.eq(actor_kind),
            ri::actor_id.eq(actor_id),
            ri::actor_name.eq(actor_name),
            ri::body.eq(body),
        ))
        .execute(conn)?;
    Ok(())
}

/// An approver (or global administrator) of the request's tenant asks the
/// engineer a question; the request must be waiting for the customer.
pub fn ask(
    conn: &mut PgConnection,
    caller: &Caller,
    id: RequestId,
    text: &InformationText,
    ip: &str,
    clock: &dyn Clock,
) -> Result<AccessRequest, RequestError> {
    let Caller::Customer {
        id: user,
        name,
        role,
        ..
    } = caller
    else {
        return Err(RequestError::UnknownAction);
    };
    if !role.can_use_lockbox() {
        return Err(RequestError::RoleForbids);
    }
    use_cases::visible(conn, caller, id)?;
    conn.transaction(|conn| {
        let (req, now) = lock_pending(conn, id, clock)?;
        insert(
            conn,
            &req,
            true,
            now,
            "customer",
            user.0,
            name,
            text.as_str(),
        )?;
        audit::append(
            conn,
            audit::Entry {
                tenant_id: req.tenant_id,
                occurred_at: now,
                actor: &audit::Actor::customer(*user, name, ip),
                activity: audit::activity::REQUEST_INFORMATION,
                item: req.id.to_string(),
                parameters: json!({"Question": text.as_str()}),
                request_id: Some(req.id),
            },
        )?;
        let queued = mails::question(conn, &req, text.as_str())?;
        outbox::enqueue(conn, queued, Some(req.id.0), now)?;
        Ok(req)
    })
}

/// The engineer who filed the request answers the open question; the
/// request must still be waiting for the customer.
pub fn answer(
    conn: &mut PgConnection,
    caller: &Caller,
    id: RequestId,
    text: &InformationText,
    ip: &str,
    clock: &dyn Clock,
) -> Result<AccessRequest, RequestError> {
    let Caller::Staff {
        id: staff, name, ..
    } = caller
    else {
        return Err(RequestError::UnknownAction);
    };
    use_cases::own(conn, caller, id)?;
    conn.transaction(|conn| {
        let (req, now) = lock_pending(conn, id, clock)?;
        if open_question(&entries(conn, id)?).is_none() {
            return Err(RequestError::UnknownAction);
        }
        insert(
            conn,
            &req,
            false,
            now,
            "engineer",
            staff.0,
            name,
            text.as_str(),
        )?;
        audit::append(
            conn,
            audit::Entry {
                tenant_id: req.tenant_id,
                occurred_at: now,
                actor: &audit::Actor::provider_operator(*staff, ip),
                activity: audit::activity::SUBMIT_INFORMATION,
                item: req.id.to_string(),
                parameters: json!({"Answer": text.as_str(), "StaffId": staff.public_id()}),
                request_id: Some(req.id),
            },
        )?;
        let queued = mails::answer(conn, &req, text.as_str())?;
        outbox::enqueue(conn, queued, Some(req.id.0), now)?;
        Ok(req)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_are_required_and_bounded() {
        assert!(InformationText::parse(&"q".repeat(2000)).is_ok());
        assert_eq!(
            InformationText::parse(&"q".repeat(2001)),
            Err("error-information-too-long")
        );
        assert_eq!(
            InformationText::parse(" \n "),
            Err("error-information-required")
        );
    }
}
