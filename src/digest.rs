//! SHA-256 and hex: the digests of the audit chain, session keys and
//! fingerprints. A leaf: it imports nothing of the crate.

use sha2::{Digest, Sha256};

pub fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// Lower-case hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
