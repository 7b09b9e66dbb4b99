//! An evidence pack is an export of the stretch of the chain around one
//! request, plus copies a person reads: the request's facts and its
//! operator actions. Those copies are checked against the signed records
//! here, so a pack that verifies cannot tell an auditor more or less than
//! the log does. (The timeline is the portal's view of the same history and
//! is not signed; the records of every transition are.)
//!
//! Checks besides those of an export:
//! * every record is covered by a checkpoint in the pack (the segment ends
//!   at a signed head);
//! * the file holds at least one record of the request;
//! * `request.fingerprint` is the fingerprint of `request`'s facts, and
//!   every receipt names that request and fingerprint;
//! * `operator_actions` are exactly the request's records whose activity
//!   does not name the request itself (`…AccessToCustomerDataRequest…`:
//!   its transitions), each the same as its signed record;
//! * `request.approvals` (issue 19; absent in older packs) are exactly the
//!   request's signed approvals (`Set-AccessToCustomerDataRequest` with
//!   `ApprovalDecision` `Approve`), in order, each with its record's actor
//!   id, actor name and time; the n-th names `ApprovalsGiven` n, and each
//!   names `ApprovalsRequired` equal to `request.approvals_required` (so a
//!   pack cannot claim a smaller quorum than the one its approvals were
//!   counted against).

use serde::Deserialize;

use super::{EVIDENCE_FORMAT, FileRecord, Problem, Summary, Verifier};
use crate::{
    audit::{
        checkpoint,
        receipt::{self, RequestFacts},
    },
    identity::{RequestId, TenantId},
};

#[derive(Deserialize)]
struct Request {
    id: RequestId,
    tenant: TenantId,
    engineer: String,
    service_request: String,
    workload: String,
    duration_minutes: i32,
    justification: String,
    fingerprint: String,
    approvals: Option<Vec<Approval>>,
    approvals_required: Option<u64>,
}

/// One approval as an evidence pack's request lists it.
#[derive(Deserialize)]
struct Approval {
    at: chrono::DateTime<chrono::Utc>,
    approver: String,
    approver_name: String,
}

#[derive(Deserialize)]
struct Pack {
    format: String,
    request: Request,
    #[serde(default)]
    checkpoints: Vec<checkpoint::Published>,
    #[serde(default)]
    receipts: Vec<receipt::Published>,
    operator_actions: Vec<FileRecord>,
    records: Vec<FileRecord>,
}

/// What the activities of a request's own history name; every other record
/// of the request is an operator action.
const REQUEST_ACTIVITY: &str = "AccessToCustomerDataRequest";

pub(super) fn verify(text: &str, mut verifier: Verifier) -> Result<Summary, Problem> {
    let pack: Pack = serde_json::from_str(text).map_err(|e| {
        Problem::Malformed(format!(
            "the file is neither an export in JSON Lines nor an evidence pack ({e})"
        ))
    })?;
    if pack.format != EVIDENCE_FORMAT {
        return Err(Problem::Malformed(format!(
            "the file's format is {:?}, not {EVIDENCE_FORMAT}",
            pack.format
        )));
    }
    for c in &pack.checkpoints {
        verifier.add_checkpoint(c)?;
    }
    for r in &pack.receipts {
        verifier.add_receipt(r)?;
    }
    for record in &pack.records {
        verifier.push(record)?;
    }
    let summary = verifier.finish()?;
    if let (Some(to), Some((_, hi))) = (summary.signed_to, summary.seqs)
        && hi > to
    {
        return Err(Problem::Unsigned { signed_to: to, hi });
    }
    check_request(&pack)?;
    check_operator_actions(&pack)?;
    check_approvals(&pack)?;
    Ok(summary)
}

fn check_request(pack: &Pack) -> Result<(), Problem> {
    let r = &pack.request;
    let problem = |reason: String| Problem::Pack {
        part: "request",
        reason,
    };
    if !pack.records.iter().any(|x| x.request_id == Some(r.id)) {
        return Err(problem("the records hold nothing of this request".into()));
    }
    if pack.records.iter().any(|x| x.tenant_id != r.tenant) {
        return Err(problem("it names another tenant than its records".into()));
    }
    let fingerprint = crate::digest::hex(
        &RequestFacts {
            id: r.id,
            tenant: r.tenant,
            engineer: &r.engineer,
            service_request: &r.service_request,
            workload: &r.workload,
            duration_minutes: r.duration_minutes,
            justification: &r.justification,
        }
        .fingerprint(),
    );
    if fingerprint != r.fingerprint {
        return Err(problem(
            "its facts do not give its fingerprint (the request was altered)".into(),
        ));
    }
    for receipt in &pack.receipts {
        if receipt.request != r.id.to_string() || receipt.request_fingerprint != fingerprint {
            return Err(problem(format!(
                "the receipt of audit record {} is for another request",
                receipt.audit_record
            )));
        }
    }
    Ok(())
}

fn check_operator_actions(pack: &Pack) -> Result<(), Problem> {
    let problem = |reason: String| Problem::Pack {
        part: "operator actions",
        reason,
    };
    let signed: Vec<&FileRecord> = pack
        .records
        .iter()
        .filter(|x| x.request_id == Some(pack.request.id))
        .filter(|x| !x.activity.contains(REQUEST_ACTIVITY))
        .collect();
    for action in &pack.operator_actions {
        match signed.iter().find(|x| x.id == action.id) {
            Some(record) if *record == action => {}
            Some(_) => {
                return Err(problem(format!(
                    "record {} differs from its signed record",
                    action.id
                )));
            }
            None => {
                return Err(problem(format!(
                    "record {} is not an operator action among the signed records",
                    action.id
                )));
            }
        }
    }
    if let Some(missing) = signed
        .iter()
        .find(|x| !pack.operator_actions.iter().any(|a| a.id == x.id))
    {
        return Err(problem(format!(
            "the signed record {} ({}) is left out",
            missing.id, missing.activity
        )));
    }
    Ok(())
}

fn check_approvals(pack: &Pack) -> Result<(), Problem> {
    let Some(listed) = &pack.request.approvals else {
        return Ok(());
    };
    let problem = |reason: String| Problem::Pack {
        part: "approvals",
        reason,
    };
    let signed: Vec<&FileRecord> = pack
        .records
        .iter()
        .filter(|x| x.request_id == Some(pack.request.id))
        .filter(|x| x.activity == crate::audit::activity::SET_REQUEST)
        .filter(|x| x.parameters["ApprovalDecision"] == "Approve")
        .collect();
    if listed.len() != signed.len() {
        return Err(problem(format!(
            "it lists {} approvals, the signed records hold {}",
            listed.len(),
            signed.len()
        )));
    }
    let required = pack.request.approvals_required;
    for (n, (approval, record)) in (1u64..).zip(listed.iter().zip(signed)) {
        let counted = &record.parameters;
        if counted["ApprovalsGiven"].as_u64().is_some_and(|g| g != n)
            || required.is_some_and(|q| counted["ApprovalsRequired"].as_u64() != Some(q))
        {
            return Err(problem(format!(
                "the approval of record {} was counted as another of the quorum than the pack says",
                record.id
            )));
        }
        if approval.approver != record.actor_id
            || approval.approver_name != record.actor_name
            || approval.at != record.occurred_at
        {
            return Err(problem(format!(
                "the approval of record {} differs from its signed record",
                record.id
            )));
        }
    }
    Ok(())
}
