//! SHA-256 and hex: the digests of the audit chain, session keys and
//! fingerprints. A leaf: it imports nothing of the crate.

use sha2::{Digest, Sha256};

pub fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// Appends one field of the framed encodings (the audit chain's records,
/// checkpoints, receipts, request fingerprints): its length as 8 bytes
/// big-endian, then its bytes. Unambiguous: "ab"+"c" differs from "a"+"bc".
pub fn frame(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The ASCII `tag`, then each field [`frame`]d.
pub fn framed<'a>(tag: &str, fields: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(tag.as_bytes());
    for field in fields {
        frame(&mut out, field);
    }
    out
}

/// Lower-case hex, two digits a byte. A digit table, not `write!` per
/// byte: a request list page writes 25 fingerprints, each over a digest
/// in hex, and formatting was most of their cost.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Bytes from lower-case or upper-case hex; `None` for anything else.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        assert_eq!(from_hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(from_hex("0"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("+1"), None);
        assert_eq!(from_hex("é0"), None);
    }

    #[test]
    fn hex_is_two_lower_case_digits_a_byte() {
        assert_eq!(hex(&[0, 255, 16]), "00ff10");
        assert_eq!(
            hex(&sha256(b"abc"))[..16],
            *"ba7816bf8f01cfea",
            "the FIPS 180-2 test vector"
        );
    }
}
