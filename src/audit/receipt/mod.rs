//! Signed decision receipts: for every customer decision (approve, deny,
//! cancel, revoke) a statement signed with the deployment's key
//! ([`crate::signing`]), written in the decision's transaction, that names
//! the decision's audit record. The approver keeps it; anyone can check it
//! with `openssl pkeyutl -verify` and the public key, and `lockbox audit
//! verify-file` checks it against the record in an export.
//!
//! The signed bytes are the ASCII tag `lockbox-receipt-v1`, then these
//! fields in this order, each as an 8-byte big-endian length followed by
//! its UTF-8 bytes (the framing of [`super::chain`]):
//!
//! 1. request id (lower-case hyphenated UUID)
//! 2. tenant id (lower-case hyphenated UUID)
//! 3. decision (`Approve`, `Deny`, `Cancel` or `Revoke`)
//! 4. approver: the audit record's actor id (the user's id)
//! 5. approver name: the audit record's actor name
//! 6. comment hash: SHA-256 of the comment's UTF-8 bytes (the empty string
//!    when there is none), 64 lower-case hex digits
//! 7. time (RFC 3339, UTC, exactly six fractional digits, `Z`): the audit
//!    record's `occurred_at`
//! 8. request fingerprint: 64 lower-case hex digits
//!    (`crate::requests::fingerprint`), also the record's
//!    `RequestFingerprint` parameter
//! 9. audit record: the decision's audit record id (decimal), the `id` of
//!    the record in an export, whose `seq` places it in the chain
//! 10. key id (16 lower-case hex digits)
//!
//! The JSON download carries these by the names `request`, `tenant`,
//! `decision`, `approver`, `approver_name`, `comment_sha256`, `time`,
//! `request_fingerprint`, `audit_record`, `key_id`, plus `format`
//! (`lockbox-receipt-v1`) and `signature` (128 lower-case hex digits).

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::chain::Chained;
use crate::{
    identity::{RequestId, TenantId},
    schema::decision_receipts as dr,
    signing::{PublicKeys, Signer, Verdict},
};

pub const FORMAT: &str = "lockbox-receipt-v1";

/// A stored receipt.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = dr)]
pub struct Receipt {
    pub tenant_id: TenantId,
    pub audit_record: i64,
    pub request_id: RequestId,
    pub decision: String,
    pub approver: String,
    pub approver_name: String,
    pub comment_sha256: Vec<u8>,
    pub decided_at: DateTime<Utc>,
    pub request_fingerprint: Vec<u8>,
    pub key_id: String,
    pub signature: Vec<u8>,
}

/// What a receipt states, before it is signed.
#[derive(Debug, Clone)]
pub struct Statement<'a> {
    pub tenant_id: TenantId,
    pub audit_record: i64,
    pub request_id: RequestId,
    pub decision: &'a str,
    pub approver: &'a str,
    pub approver_name: &'a str,
    pub comment: &'a str,
    pub decided_at: DateTime<Utc>,
    pub request_fingerprint: [u8; 32],
}

/// The JSON a customer downloads (field names in the module documentation).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Published {
    pub format: String,
    pub request: String,
    pub tenant: String,
    pub decision: String,
    pub approver: String,
    pub approver_name: String,
    pub comment_sha256: String,
    pub time: String,
    pub request_fingerprint: String,
    pub audit_record: i64,
    pub key_id: String,
    pub signature: String,
}

impl Receipt {
    /// The bytes the signature covers, as documented above.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let p = self.published();
        let record = self.audit_record.to_string();
        let fields: [&[u8]; 10] = [
            p.request.as_bytes(),
            p.tenant.as_bytes(),
            p.decision.as_bytes(),
            p.approver.as_bytes(),
            p.approver_name.as_bytes(),
            p.comment_sha256.as_bytes(),
            p.time.as_bytes(),
            p.request_fingerprint.as_bytes(),
            record.as_bytes(),
            p.key_id.as_bytes(),
        ];
        crate::digest::framed(FORMAT, fields)
    }

    /// `statement`, signed with `signer`.
    pub fn sign(signer: &Signer, s: &Statement<'_>) -> Self {
        // The database keeps microseconds: sign what it will give back.
        let decided_at = DateTime::from_timestamp_micros(s.decided_at.timestamp_micros())
            .unwrap_or(s.decided_at);
        let mut receipt = Self {
            tenant_id: s.tenant_id,
            audit_record: s.audit_record,
            request_id: s.request_id,
            decision: s.decision.to_owned(),
            approver: s.approver.to_owned(),
            approver_name: s.approver_name.to_owned(),
            comment_sha256: crate::digest::sha256(s.comment.as_bytes()),
            decided_at,
            request_fingerprint: s.request_fingerprint.to_vec(),
            key_id: signer.key_id().to_owned(),
            signature: Vec::new(),
        };
        receipt.signature = signer.sign(&receipt.signed_bytes()).to_vec();
        receipt
    }

    pub fn time(&self) -> String {
        self.decided_at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    pub fn published(&self) -> Published {
        use crate::digest::hex;
        Published {
            format: FORMAT.to_owned(),
            request: self.request_id.0.hyphenated().to_string(),
            tenant: self.tenant_id.0.hyphenated().to_string(),
            decision: self.decision.clone(),
            approver: self.approver.clone(),
            approver_name: self.approver_name.clone(),
            comment_sha256: hex(&self.comment_sha256),
            time: self.time(),
            request_fingerprint: hex(&self.request_fingerprint),
            audit_record: self.audit_record,
            key_id: self.key_id.clone(),
            signature: hex(&self.signature),
        }
    }

    /// A downloaded receipt read back; `None` when a field is malformed.
    pub fn from_published(p: &Published) -> Option<Self> {
        use crate::digest::from_hex;
        if p.format != FORMAT {
            return None;
        }
        Some(Self {
            tenant_id: TenantId(p.tenant.parse().ok()?),
            audit_record: p.audit_record,
            request_id: RequestId(p.request.parse().ok()?),
            decision: p.decision.clone(),
            approver: p.approver.clone(),
            approver_name: p.approver_name.clone(),
            comment_sha256: from_hex(&p.comment_sha256).filter(|h| h.len() == 32)?,
            decided_at: DateTime::parse_from_rfc3339(&p.time)
                .ok()?
                .with_timezone(&Utc),
            request_fingerprint: from_hex(&p.request_fingerprint).filter(|h| h.len() == 32)?,
            key_id: p.key_id.clone(),
            signature: from_hex(&p.signature)?,
        })
    }

    /// Whether the signature verifies with `keys` (and was made while its
    /// key was valid).
    pub fn verify(&self, keys: &PublicKeys) -> Verdict {
        keys.verify_at(
            &self.key_id,
            &self.signed_bytes(),
            &self.signature,
            self.decided_at,
        )
    }

    /// Why the audit record `id`/`r` is not the decision this receipt
    /// states, if it is not.
    pub fn contradicts(&self, id: i64, r: &Chained<'_>) -> Option<&'static str> {
        let param = |name: &str| r.parameters.get(name).and_then(|v| v.as_str());
        let comment = param("Comment").unwrap_or("");
        if id != self.audit_record {
            Some("it names another audit record")
        } else if r.tenant_id != self.tenant_id || r.request_id != Some(self.request_id) {
            Some("its audit record is about another tenant or request")
        } else if r.activity != super::activity::SET_REQUEST
            || param("ApprovalDecision") != Some(self.decision.as_str())
        {
            Some("its audit record holds another decision")
        } else if r.actor_id != self.approver || r.actor_name != self.approver_name {
            Some("its audit record names another approver")
        } else if r.occurred_at != self.decided_at {
            Some("its audit record is dated otherwise")
        } else if crate::digest::sha256(comment.as_bytes()) != self.comment_sha256 {
            Some("its audit record holds another comment")
        } else if param("RequestFingerprint")
            != Some(crate::digest::hex(&self.request_fingerprint).as_str())
        {
            Some("its audit record names a request with another fingerprint")
        } else {
            None
        }
    }
}

/// What a request fingerprint covers (`crate::requests::fingerprint`
/// documents the encoding); here, below the requests, so the offline
/// verifier recomputes it from an evidence pack.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    pub id: RequestId,
    pub tenant: TenantId,
    pub engineer: &'a str,
    pub service_request: &'a str,
    pub workload: &'a str,
    pub duration_minutes: i32,
    pub justification: &'a str,
}

impl RequestFacts<'_> {
    /// SHA-256 of the tag `lockbox-request-v2` and the framed fields.
    pub fn fingerprint(&self) -> [u8; 32] {
        let (mut id, mut tenant) = ([0u8; 36], [0u8; 36]);
        let id = self.id.0.hyphenated().encode_lower(&mut id);
        let tenant = self.tenant.0.hyphenated().encode_lower(&mut tenant);
        let duration = self.duration_minutes.to_string();
        let justification =
            crate::digest::hex(&crate::digest::sha256(self.justification.as_bytes()));
        let fields: [&[u8]; 7] = [
            id.as_bytes(),
            tenant.as_bytes(),
            self.engineer.as_bytes(),
            self.service_request.as_bytes(),
            self.workload.as_bytes(),
            duration.as_bytes(),
            justification.as_bytes(),
        ];
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&crate::digest::sha256(&crate::digest::framed(
            "lockbox-request-v2",
            fields,
        )));
        digest
    }
}

/// Signs and stores the receipt of a decision whose audit record was just
/// appended (inside the decision's transaction).
pub fn issue(
    conn: &mut PgConnection,
    signer: &Signer,
    statement: &Statement<'_>,
) -> QueryResult<Receipt> {
    let receipt = Receipt::sign(signer, statement);
    // Prepared: every field is bound (none is left to its DEFAULT), so
    // the text is the same for every receipt.
    crate::db::prepared(
        diesel::insert_into(dr::table)
            .values(&receipt)
            .returning(dr::audit_record),
    )
    .written::<i64>(conn)?;
    Ok(receipt)
}

/// The receipts of a request's decisions, oldest first (another tenant's
/// request has none).
pub fn for_request(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    request_id: RequestId,
) -> QueryResult<Vec<Receipt>> {
    dr::table
        .filter(dr::tenant_id.eq(tenant_id))
        .filter(dr::request_id.eq(request_id))
        .order(dr::audit_record.asc())
        .select(Receipt::as_select())
        .load(conn)
}

#[cfg(test)]
mod tests;
