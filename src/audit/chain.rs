//! The hash chain. Each tenant's records are chained:
//!
//! ```text
//! hash = SHA-256(prev_hash || canonical(record))
//! ```
//!
//! with `prev_hash` 32 zero bytes for a tenant's first record. A record's
//! place in the chain (seq, from 1) follows record id order; the sealer
//! assigns it moments after the record commits ([`super::seal`]). The
//! canonical encoding is the ASCII tag `lockbox-audit-v1`, then these fields
//! in this order, each as an 8-byte big-endian length followed by its UTF-8
//! bytes:
//!
//! 1. tenant id (lower-case hyphenated UUID)
//! 2. seq (decimal)
//! 3. occurred_at (RFC 3339, UTC, exactly six fractional digits, `Z`)
//! 4. actor id
//! 5. actor display name
//! 6. client IP (empty when none)
//! 7. activity
//! 8. item (empty when none)
//! 9. request id (lower-case hyphenated UUID, or empty)
//! 10. parameters as canonical JSON: object keys sorted by code point, no
//!     insignificant whitespace (what `serde_json` writes for a `Value`).
//!
//! Anyone holding an export can recompute every hash with this description.

use crate::identity::{RequestId, TenantId};
use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

pub const GENESIS: [u8; 32] = [0; 32];
const TAG: &[u8] = b"lockbox-audit-v1";

/// The fields covered by a record's hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Chained<'a> {
    pub tenant_id: TenantId,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: &'a str,
    pub actor_name: &'a str,
    pub ip: &'a str,
    pub activity: &'a str,
    pub item: &'a str,
    pub request_id: Option<RequestId>,
    pub parameters: &'a serde_json::Value,
}

pub(crate) use crate::digest::frame as field;

/// `pub fn chained(&self, seq) -> Chained` for a record type with the
/// encoded fields under their names (a log record, one being sealed, one
/// read from an export): the fields the hash covers are listed once, here.
macro_rules! chained_from_fields {
    ($record:ty) => {
        impl $record {
            /// The fields its hash covers, at chain position `seq`.
            pub fn chained(&self, seq: i64) -> $crate::audit::chain::Chained<'_> {
                $crate::audit::chain::Chained {
                    tenant_id: self.tenant_id,
                    seq,
                    occurred_at: self.occurred_at,
                    actor_id: &self.actor_id,
                    actor_name: &self.actor_name,
                    ip: &self.ip,
                    activity: &self.activity,
                    item: &self.item,
                    request_id: self.request_id,
                    parameters: &self.parameters,
                }
            }
        }
    };
}
pub(crate) use chained_from_fields;

/// The canonical encoding described in the module documentation.
pub fn canonical(r: &Chained<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(TAG);
    field(&mut out, r.tenant_id.0.hyphenated().to_string().as_bytes());
    field(&mut out, r.seq.to_string().as_bytes());
    field(
        &mut out,
        r.occurred_at
            .to_rfc3339_opts(SecondsFormat::Micros, true)
            .as_bytes(),
    );
    field(&mut out, r.actor_id.as_bytes());
    field(&mut out, r.actor_name.as_bytes());
    field(&mut out, r.ip.as_bytes());
    field(&mut out, r.activity.as_bytes());
    field(&mut out, r.item.as_bytes());
    let request = r
        .request_id
        .map(|u| u.0.hyphenated().to_string())
        .unwrap_or_default();
    field(&mut out, request.as_bytes());
    field(&mut out, r.parameters.to_string().as_bytes());
    out
}

/// `SHA-256(prev_hash || canonical(record))`.
pub fn hash(prev_hash: &[u8], record: &Chained<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(canonical(record));
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(params: &serde_json::Value) -> Chained<'_> {
        Chained {
            tenant_id: TenantId(uuid::Uuid::from_u128(1)),
            seq: 1,
            occurred_at: DateTime::parse_from_rfc3339("2026-03-02T09:00:00.5Z")
                .expect("valid")
                .with_timezone(&Utc),
            actor_id: "u1",
            actor_name: "Ada",
            ip: "127.0.0.1",
            activity: "Set-AccessToCustomerDataRequest",
            item: "r1",
            request_id: None,
            parameters: params,
        }
    }

    #[test]
    fn the_encoding_is_stable_and_documented() {
        let params = serde_json::json!({"b": 1, "a": "x"});
        let bytes = canonical(&record(&params));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("lockbox-audit-v1"));
        assert!(text.contains("2026-03-02T09:00:00.500000Z"));
        assert!(text.ends_with(r#"{"a":"x","b":1}"#), "sorted keys: {text}");
    }

    #[test]
    fn any_change_changes_the_hash() {
        let params = serde_json::json!({"ApprovalDecision": "Approve"});
        let base = hash(&GENESIS, &record(&params));
        let other = serde_json::json!({"ApprovalDecision": "Deny"});
        assert_ne!(base, hash(&GENESIS, &record(&other)));
        let mut moved = record(&params);
        moved.seq = 2;
        assert_ne!(base, hash(&GENESIS, &moved));
        assert_ne!(base, hash(&[1; 32], &record(&params)));
        // Field boundaries are unambiguous: "ab"+"c" differs from "a"+"bc".
        let mut a = record(&params);
        a.actor_id = "ab";
        a.actor_name = "c";
        let mut b = record(&params);
        b.actor_id = "a";
        b.actor_name = "bc";
        assert_ne!(hash(&GENESIS, &a), hash(&GENESIS, &b));
    }
}
