//! The evidence pack of a closed request: one JSON document a customer
//! hands to an auditor (SOC 2, ISO 27001). It holds the request, its
//! timeline, every decision with its signed receipt, every operator action
//! under it, and the stretch of the audit chain around the request with
//! the signed checkpoints on both sides ([`crate::audit::segment`]), so
//! `lockbox audit verify-file` (or any verifier written from README)
//! checks it offline as it checks an export.
//!
//! Fields: `format` (`lockbox-evidence-v1`), `times` (`UTC`: every time
//! in the pack is UTC, RFC 3339 ending in `Z`, whatever zone its reader
//! sees times in on the pages), `generated_at`, `request`
//! (with its `fingerprint`, `approvals_required` and every approval in
//! `approvals`), `timeline`, `operator_actions` (audit records,
//! newest first), `receipts` and `checkpoints` (as downloaded one by one),
//! `records` (the chain segment, oldest first, in the export's record
//! form).

use chrono::{DateTime, Utc};
use diesel::{PgConnection, QueryResult};
use serde::Serialize;

use crate::{
    audit::{self, Record, checkpoint, offline::EVIDENCE_FORMAT, receipt},
    identity::{RequestId, TenantId},
    requests::{AccessRequest, Caller, RequestError, use_cases},
};

/// Operator actions read per round trip.
const PAGE: i64 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    /// Evidence is of what happened: a request still open has more to come.
    #[error("the request is not closed yet")]
    NotClosed,
    /// Its newest records are not signed by a checkpoint yet (the servers
    /// sign one within `LOCKBOX_CHECKPOINT_MINUTES`).
    #[error("the request's last records are not signed by a checkpoint yet")]
    NotSigned,
}

#[derive(Debug, Serialize)]
pub struct Pack {
    pub format: &'static str,
    /// Every time in the pack is UTC (issue 22: pages show the reader's
    /// zone; what is handed on stays as recorded).
    pub times: &'static str,
    pub generated_at: DateTime<Utc>,
    pub request: RequestFacts,
    pub timeline: Vec<TimelineFact>,
    pub operator_actions: Vec<Record>,
    pub receipts: Vec<receipt::Published>,
    pub checkpoints: Vec<checkpoint::Published>,
    pub records: Vec<Record>,
}

#[derive(Debug, Serialize)]
pub struct RequestFacts {
    pub id: RequestId,
    pub tenant: String,
    pub tenant_name: String,
    pub engineer: String,
    pub engineer_name: String,
    pub service_request: String,
    pub workload: &'static str,
    pub duration_minutes: i32,
    pub justification: String,
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// SHA-256, hex (see `crate::requests::fingerprint`).
    pub fingerprint: String,
    pub short_fingerprint: String,
    /// The customer quorum the request was decided under (issue 19).
    pub approvals_required: u8,
    /// Every approver's approval, oldest first (each also has its audit
    /// record and its receipt).
    pub approvals: Vec<ApprovalFact>,
}

#[derive(Debug, Serialize)]
pub struct ApprovalFact {
    pub at: DateTime<Utc>,
    /// The approver's user id.
    pub approver: String,
    pub approver_name: String,
}

#[derive(Debug, Serialize)]
pub struct TimelineFact {
    pub at: DateTime<Utc>,
    pub event: String,
    pub to_status: String,
    pub actor_kind: String,
    pub actor_name: String,
    pub comment: Option<String>,
}

/// The evidence pack of request `id`, if `caller` may see it and it is
/// closed at `now`.
pub fn pack(
    conn: &mut PgConnection,
    caller: &Caller,
    id: RequestId,
    now: DateTime<Utc>,
) -> Result<Pack, EvidenceError> {
    let (request, timeline) = use_cases::detail(conn, caller, id)?;
    let status = request.effective(now);
    if !status.is_final() {
        return Err(EvidenceError::NotClosed);
    }
    let tenant = request.tenant_id;
    let mut actions = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = operator_actions(conn, tenant, id, after, PAGE)?;
        actions.extend(page);
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    let receipts = receipt::for_request(conn, tenant, id)?;
    let segment = audit::segment::around_request(conn, tenant, id)?;
    if !segment.signed {
        return Err(EvidenceError::NotSigned);
    }
    Ok(Pack {
        format: EVIDENCE_FORMAT,
        times: "UTC",
        generated_at: now,
        request: facts(&request, status.name()),
        timeline: timeline
            .into_iter()
            .map(|e| TimelineFact {
                at: e.at,
                event: e.event,
                to_status: e.to_status,
                actor_kind: e.actor_kind,
                actor_name: e.actor_name,
                comment: e.comment,
            })
            .collect(),
        operator_actions: actions,
        receipts: receipts.iter().map(receipt::Receipt::published).collect(),
        checkpoints: segment.checkpoints.iter().map(|c| c.published()).collect(),
        records: segment.records,
    })
}

fn facts(r: &AccessRequest, status: &'static str) -> RequestFacts {
    RequestFacts {
        id: r.id,
        tenant: r.tenant_id.0.hyphenated().to_string(),
        tenant_name: r.tenant_name.clone(),
        engineer: r.engineer_id.public_id(),
        engineer_name: r.engineer_name.clone(),
        service_request: r.service_request.clone(),
        workload: r.workload.as_db(),
        duration_minutes: r.duration_minutes,
        justification: r.justification.clone(),
        status,
        created_at: r.created_at,
        approved_at: r.approved_at,
        ends_at: r.ends_at,
        closed_at: r.closed_at,
        fingerprint: r.fingerprint_hex(),
        short_fingerprint: r.short_fingerprint(),
        approvals_required: r.quorum,
        approvals: r
            .approvals
            .iter()
            .map(|a| ApprovalFact {
                at: a.at,
                approver: a.user_id.0.hyphenated().to_string(),
                approver_name: a.name.clone(),
            })
            .collect(),
    }
}

/// What provider operators did, or tried, under one of `tenant`'s requests:
/// the operations and the refusals of the enforcement point, newest first,
/// a page at a time.
pub fn operator_actions(
    conn: &mut PgConnection,
    tenant: TenantId,
    request: RequestId,
    after: Option<audit::search::Cursor>,
    limit: i64,
) -> QueryResult<(Vec<audit::Record>, Option<audit::search::Cursor>)> {
    audit::for_request(
        conn,
        tenant,
        request,
        audit::activity::OPERATOR_ACTIONS,
        after,
        limit,
    )
}

#[cfg(test)]
mod tests {
    /// The audit layer's list of operator actions names every operation
    /// of the enforcement point, and nothing else but its refusals.
    #[test]
    fn the_operator_actions_are_the_operations_and_their_refusals() {
        let mut expected: Vec<&str> = super::super::OPERATIONS.iter().map(|o| o.name).collect();
        expected.push(crate::audit::activity::ACCESS_DENIED);
        assert_eq!(
            crate::audit::activity::OPERATOR_ACTIONS,
            expected.as_slice()
        );
    }
}
