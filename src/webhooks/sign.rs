//! Standard Webhooks signing: a secret is `whsec_` followed by the base64
//! of 32 random bytes (the HMAC key is those bytes); a message is signed
//! as `v1,` and the base64 of HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}").
//! The delivery worker signs with it and `lockbox webhook listen` verifies
//! with it, so the two cannot disagree.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The prefix of every webhook secret.
pub const PREFIX: &str = "whsec_";
/// How far a `webhook-timestamp` may lie from the receiver's clock (the
/// spec's suggestion: five minutes), against replays.
pub const TOLERANCE_SECONDS: i64 = 300;

/// A new secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::fill(&mut key[..]);
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The HMAC key of a secret (`None`: not a `whsec_` secret).
pub fn key_of(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(PREFIX)?;
    STANDARD.decode(encoded).ok().filter(|k| !k.is_empty())
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    mac
}

/// The `webhook-signature` header value: `v1,<base64 signature>`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(key, id, timestamp, body).finalize().into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("the webhook-timestamp is more than five minutes away")]
    Stale,
    #[error("no v1 signature matches")]
    NoMatch,
}

/// Checks a received message: its timestamp within
/// [`TOLERANCE_SECONDS`] of `now` (seconds since the epoch), and one of
/// the space-separated signatures of the header (`v1,` ones) matching, in
/// constant time.
pub fn verify(
    key: &[u8],
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if (now - ts).abs() > TOLERANCE_SECONDS {
        return Err(VerifyError::Stale);
    }
    let matches = signatures.split_whitespace().any(|s| {
        s.strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|tag| mac(key, id, ts, body).verify_slice(&tag).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(VerifyError::NoMatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks reference vector (standard-webhooks
    /// repository, libraries/javascript/src/webhook.test.ts, "sign function
    /// works").
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_published_test_vector() {
        let key = key_of(SECRET).expect("a whsec secret");
        assert_eq!(signature(&key, ID, TS, BODY), EXPECTED);
        assert_eq!(
            verify(&key, ID, "1614265330", EXPECTED, BODY, TS + 10),
            Ok(())
        );
    }

    #[test]
    fn verification_refuses_tampering_and_stale_messages() {
        let key = key_of(SECRET).expect("a whsec secret");
        let other = format!("v1,AAAA {EXPECTED}");
        assert_eq!(verify(&key, ID, "1614265330", &other, BODY, TS), Ok(()));
        assert_eq!(
            verify(&key, ID, "1614265330", EXPECTED, br#"{"test": 1}"#, TS),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify(&key, ID, "1614265330", EXPECTED, BODY, TS + 301),
            Err(VerifyError::Stale)
        );
        assert_eq!(key_of("MfKQ9r8G"), None);
        let fresh = new_secret();
        assert_eq!(key_of(&fresh).map(|k| k.len()), Some(32));
    }
}
