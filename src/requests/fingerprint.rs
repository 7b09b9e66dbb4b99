//! A request's fingerprint: SHA-256 over what the engineer asked for, so
//! a decision's receipt names exactly the request it decided, and so a
//! person can compare a request in a mail with the one in the admin center.
//!
//! The hashed bytes are the ASCII tag `lockbox-request-v1`, then these
//! fields, each as an 8-byte big-endian length followed by its UTF-8 bytes:
//!
//! 1. request id (lower-case hyphenated UUID)
//! 2. tenant id (lower-case hyphenated UUID)
//! 3. service request number, as filed
//! 4. workload (`exchange`, `sharepoint` or `onedrive`)
//! 5. requested duration in minutes (decimal)
//!
//! The full fingerprint is the digest in 64 lower-case hex digits; the short
//! one, for people, is its first 60 bits in Crockford's base32 (no I, L, O,
//! U), three groups of four: `7QK2-M9XD-40HF`.

use super::model::AccessRequest;

const TAG: &str = "lockbox-request-v1";
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl AccessRequest {
    /// SHA-256 of the encoding above.
    pub fn fingerprint(&self) -> [u8; 32] {
        let id = self.id.0.hyphenated().to_string();
        let tenant = self.tenant_id.0.hyphenated().to_string();
        let duration = self.duration_minutes.to_string();
        let fields: [&[u8]; 5] = [
            id.as_bytes(),
            tenant.as_bytes(),
            self.service_request.as_bytes(),
            self.workload.as_db().as_bytes(),
            duration.as_bytes(),
        ];
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&crate::digest::sha256(&crate::digest::framed(TAG, fields)));
        digest
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
}
