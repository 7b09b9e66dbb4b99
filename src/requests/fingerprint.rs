//! A request's fingerprint: SHA-256 over what the engineer asked for, so
//! a decision's receipt names exactly the request it decided, and so a
//! person can compare a request in a mail with the one in the admin center.
//!
//! The hashed bytes are the ASCII tag `lockbox-request-v2`, then these
//! fields, each as an 8-byte big-endian length followed by its UTF-8 bytes:
//!
//! 1. request id (lower-case hyphenated UUID)
//! 2. tenant id (lower-case hyphenated UUID)
//! 3. the engineer who asked: their staff id as the customer sees it
//!    (`PS-` and 32 upper-case hex digits)
//! 4. service request number, as filed
//! 5. workload (`exchange`, `sharepoint` or `onedrive`)
//! 6. requested duration in minutes (decimal)
//! 7. SHA-256 of the justification's UTF-8 bytes, 64 lower-case hex digits
//!
//! (Computed by [`crate::audit::receipt::RequestFacts`], which the offline
//! verifier shares.)
//!
//! The full fingerprint is the digest in 64 lower-case hex digits; the short
//! one, for people, is its first 60 bits in Crockford's base32 (no I, L, O,
//! U), three groups of four: `7QK2-M9XD-40HF`.

use super::model::AccessRequest;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl AccessRequest {
    /// SHA-256 of the encoding above.
    pub fn fingerprint(&self) -> [u8; 32] {
        let engineer = self.engineer_id.public_id();
        crate::audit::receipt::RequestFacts {
            id: self.id,
            tenant: self.tenant_id,
            engineer: &engineer,
            service_request: &self.service_request,
            workload: self.workload.as_db(),
            duration_minutes: self.duration_minutes,
            justification: &self.justification,
        }
        .fingerprint()
    }

    /// [`Self::fingerprint`] in hex.
    pub fn fingerprint_hex(&self) -> String {
        crate::digest::hex(&self.fingerprint())
    }

    /// The first 60 bits of the fingerprint for people: `XXXX-XXXX-XXXX`.
    pub fn short_fingerprint(&self) -> String {
        short(&self.fingerprint())
    }
}

fn short(digest: &[u8; 32]) -> String {
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    let bits = u64::from_be_bytes(head) >> 4;
    let mut out = String::with_capacity(14);
    for i in 0..12 {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let index = (bits >> (55 - 5 * i)) & 0x1f;
        out.push(char::from(CROCKFORD[index as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_form_is_the_first_60_bits_in_crockford_base32() {
        let mut digest = [0u8; 32];
        assert_eq!(short(&digest), "0000-0000-0000");
        digest[..8].copy_from_slice(&[0xff; 8]);
        assert_eq!(short(&digest), "ZZZZ-ZZZZ-ZZZZ");
        // 0x08 0x86 0x42 ...: the first 5-bit groups 00001 00010 00011 00100
        digest[..8].copy_from_slice(&[0x08, 0x86, 0x42, 0x00, 0, 0, 0, 0]);
        assert!(short(&digest).starts_with("1234"), "{}", short(&digest));
    }

    fn sample() -> AccessRequest {
        use crate::identity::{RequestId, StaffId, TenantId};
        use uuid::Uuid;
        AccessRequest {
            id: RequestId(Uuid::from_u128(1)),
            tenant_id: TenantId(Uuid::from_u128(2)),
            tenant_name: "Contoso".into(),
            engineer_id: StaffId(Uuid::from_u128(3)),
            engineer_name: "Eve".into(),
            service_request: "SR-2026112900042".into(),
            workload: super::super::Workload::Exchange,
            duration_minutes: 240,
            justification: "Mailbox does not sync.".into(),
            status: super::super::Status::PendingCustomer,
            created_at: chrono::DateTime::UNIX_EPOCH,
            manager_id: None,
            expires_at: None,
            approved_at: None,
            ends_at: None,
            closed_at: None,
            ticket_id: None,
            quorum: 1,
            approvals: Vec::new(),
        }
    }

    /// The encoding documented at the top of this module, computed
    /// independently (Python's `hashlib` and `struct.pack('>Q', len)` over
    /// the seven fields), gives the digest the code gives: what a
    /// customer's verifier re-implements.
    #[test]
    fn the_fingerprint_is_the_documented_encoding() {
        let req = sample();
        assert_eq!(
            req.engineer_id.public_id(),
            "PS-00000000000000000000000000000003"
        );
        assert_eq!(
            req.fingerprint_hex(),
            "763f30db74e8e805ab4ccec175668c9d56d6ade0b2373d75fb82486a07827d09"
        );
    }

    #[test]
    fn the_fingerprint_is_stable_and_changes_with_every_input() {
        let base = sample();
        // Stable: the same request, the same fingerprint, whatever else
        // about it changes (names, state, the ticket link).
        let mut same = sample();
        same.tenant_name = "Other name".into();
        same.engineer_name = "Mallory".into();
        same.status = super::super::Status::Approved;
        same.ticket_id = Some(uuid::Uuid::from_u128(9));
        assert_eq!(base.fingerprint(), same.fingerprint());
        assert_eq!(base.short_fingerprint(), sample().short_fingerprint());
        let variants: [fn(&mut AccessRequest); 7] = [
            |r| r.id = crate::identity::RequestId(uuid::Uuid::from_u128(10)),
            |r| r.tenant_id = crate::identity::TenantId(uuid::Uuid::from_u128(11)),
            |r| r.engineer_id = crate::identity::StaffId(uuid::Uuid::from_u128(12)),
            |r| r.service_request = "SR-2026112900043".into(),
            |r| r.workload = super::super::Workload::OneDrive,
            |r| r.duration_minutes = 239,
            |r| r.justification = "Mailbox does not sync!".into(),
        ];
        for change in variants {
            let mut other = sample();
            change(&mut other);
            assert_ne!(base.fingerprint(), other.fingerprint());
            assert_ne!(base.short_fingerprint(), other.short_fingerprint());
        }
    }
}
