//! Two-factor sign-in with an authenticator app (TOTP, RFC 6238: SHA-1,
//! 6 digits, 30-second steps, one step of skew either way) and ten
//! single-use recovery codes.
//!
//! - the secret is 160 random bits, shown once as a QR code and as base32
//!   text while the user enrols, and stored only sealed ([`Sealer`]);
//! - an enrolment counts once one code from it has been accepted;
//! - a code is accepted for a time step after the last one accepted, never
//!   again for the same (a conditional UPDATE, so two parallel requests
//!   cannot both use it: [`store`]);
//! - wrong codes are throttled like passwords ([`crate::auth::throttle`],
//!   per account and network, counted before the check) on counters of
//!   their own ([`crate::auth::TypedAccount::for_codes`]);
//! - recovery codes carry 80 random bits each and are stored as SHA-256.
//!
//! Who must have a second factor ([`Policy`]): a tenant's global
//! administrators and approvers when the tenant requires it
//! ([`crate::tenants::security`]), and provider staff unless the
//! deployment says otherwise (`LOCKBOX_STAFF_MFA`).

pub mod record;
pub mod store;

use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use chrono::{DateTime, Duration, Utc};
use totp_rs::{Builder, Secret, Totp};
use uuid::Uuid;

use super::{Realm, TypedAccount};
use crate::{identity::TenantId, tenants::Role};

/// How long a code entered confirms sensitive actions (step-up).
pub const STEP_UP_WINDOW: Duration = Duration::minutes(5);
/// How long a half-signed-in session (password right, code not yet
/// entered) may take for its second step.
pub const SECOND_STEP_WINDOW: Duration = Duration::minutes(5);
/// How long someone the rule sends to enrol after their password may take
/// to set up their authenticator app.
pub const ENROLMENT_WINDOW: Duration = Duration::minutes(15);
/// Recovery codes per enrolment.
pub const RECOVERY_CODES: usize = 10;
/// The issuer authenticator apps show.
pub const ISSUER: &str = "lockbox";

const SECRET_BYTES: usize = 20;

/// Who has (or may have) a second factor: the account, how throttling
/// names it, and the rule that applies to it.
#[derive(Debug, Clone)]
pub struct Holder {
    pub realm: Realm,
    pub id: Uuid,
    /// The name the audit log gives them.
    pub name: String,
    /// Throttling's key for the account (see [`TypedAccount::for_codes`]).
    pub account: TypedAccount,
    pub policy: Policy,
}

/// Which rule says whether a holder must have a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// A tenant user: the tenant's setting, for global administrators and
    /// approvers.
    Tenant { tenant: TenantId, role: Role },
    /// Provider staff: the deployment's `LOCKBOX_STAFF_MFA`.
    Staff { required: bool },
}

/// Where a holder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub enrolled_at: Option<DateTime<Utc>>,
    /// The rule requires a second factor of them.
    pub required: bool,
    pub recovery_left: i64,
}

impl Standing {
    pub fn enrolled(&self) -> bool {
        self.enrolled_at.is_some()
    }

    /// Sensitive actions ask for a code: of everyone with an authenticator,
    /// and of everyone the rule covers (who must enrol first).
    pub fn steps_up(&self) -> bool {
        self.enrolled() || self.required
    }
}

/// Seals authenticator secrets at rest with XChaCha20-Poly1305, bound to
/// their realm and account (a sealed secret copied to another account does
/// not open).
#[derive(Clone)]
pub struct Sealer(XChaCha20Poly1305);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

fn binding(realm: Realm, id: Uuid) -> Vec<u8> {
    format!("lockbox second factor v1|{}|{id}", realm.as_db()).into_bytes()
}

impl Sealer {
    /// A sealer whose key is derived from `secret` (at least 32 bytes of
    /// randomness, e.g. the deployment's `second_factor_key`).
    pub fn new(secret: &[u8]) -> Self {
        let mut input = b"lockbox second-factor sealing key\0".to_vec();
        input.extend_from_slice(secret);
        let key = crate::digest::sha256(&input);
        Self(XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(
            &key,
        )))
    }

    /// Nonce (24 bytes) followed by the ciphertext and its tag.
    pub fn seal(&self, realm: Realm, id: Uuid, plain: &[u8]) -> Vec<u8> {
        self.seal_bound(&binding(realm, id), plain)
    }

    pub fn open(&self, realm: Realm, id: Uuid, sealed: &[u8]) -> Option<Vec<u8>> {
        self.open_bound(&binding(realm, id), sealed)
    }

    /// Seals `plain` bound to `aad` (what it belongs to: a sealed value
    /// copied elsewhere does not open). Also used for webhook secrets.
    pub fn seal_bound(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::fill(&mut nonce[..]);
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            // Encryption fails only for messages of gigabytes.
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open_bound(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 24 {
            return None;
        }
        let (nonce, body) = sealed.split_at(24);
        self.0
            .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad })
            .ok()
    }
}

/// A new authenticator secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::fill(&mut secret[..]);
    secret
}

fn totp(secret: &[u8]) -> Option<Totp> {
    Builder::new().with_secret(secret.to_vec()).build().ok()
}

/// The secret as authenticator apps take it typed in: base32, no padding.
pub fn base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://` URI the QR code carries.
pub fn otpauth_uri(label: &str, secret: &[u8]) -> String {
    let label = percent(&format!("{ISSUER}:{label}"));
    format!(
        "otpauth://totp/{label}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits=6&period=30",
        base32(secret)
    )
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What was typed into a code field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    /// Six digits (spaces ignored).
    Totp(String),
    /// A recovery code (case, spaces and dashes ignored).
    Recovery(String),
}

/// Recovery codes: 16 characters of this alphabet (5 bits each).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
const RECOVERY_LEN: usize = 16;

impl Typed {
    /// The code as typed, or `None` if it is neither a six-digit code nor a
    /// recovery code.
    pub fn parse(raw: &str) -> Option<Self> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if compact.len() == 6 && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Typed::Totp(compact));
        }
        if compact.len() == RECOVERY_LEN && compact.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))
        {
            return Some(Typed::Recovery(compact));
        }
        None
    }
}

/// The time step a six-digit `code` belongs to at `now` (±1 step), if the
/// secret produced it.
pub fn matching_step(secret: &[u8], code: &str, now: DateTime<Utc>) -> Option<i64> {
    let time = u64::try_from(now.timestamp()).ok()?;
    let step = totp(secret)?.check(code, time)?;
    i64::try_from(step).ok()
}

/// The code the secret shows at `now` (for the tests of this module and
/// the test suite's own authenticator).
pub fn code_at(secret: &[u8], now: DateTime<Utc>) -> Option<String> {
    let time = u64::try_from(now.timestamp()).ok()?;
    Some(totp(secret)?.generate(time).to_string())
}

/// Ten fresh recovery codes, formatted `xxxx-xxxx-xxxx-xxxx`.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut raw = [0u8; RECOVERY_LEN];
            rand::fill(&mut raw[..]);
            let chars: Vec<char> = raw
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(*b) % RECOVERY_ALPHABET.len()]))
                .collect();
            chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// How a recovery code is stored: SHA-256 of its compact form.
pub fn recovery_hash(code: &str) -> Vec<u8> {
    let compact = match Typed::parse(code) {
        Some(Typed::Recovery(c)) => c,
        _ => code.to_owned(),
    };
    crate::digest::sha256(compact.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_772_441_000 + secs, 0).expect("valid")
    }

    #[test]
    fn codes_match_their_step_and_one_step_either_side_only() {
        let secret = new_secret();
        let now = at(0);
        let code = code_at(&secret, now).expect("code");
        let step = now.timestamp() / 30;
        assert_eq!(matching_step(&secret, &code, now), Some(step));
        for (offset, expected) in [(-60, None), (-30, Some(step)), (30, Some(step)), (60, None)] {
            let then = now + Duration::seconds(offset);
            assert_eq!(
                matching_step(&secret, &code, then),
                expected,
                "checked {offset} s later"
            );
        }
        assert_eq!(matching_step(&new_secret(), &code, now), None);
    }

    #[test]
    fn recovery_codes_are_recognised_however_they_are_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 19);
        let sloppy = code.to_uppercase().replace('-', " ");
        assert_eq!(recovery_hash(&sloppy), recovery_hash(code));
        assert!(matches!(Typed::parse(code), Some(Typed::Recovery(_))));
        assert_eq!(
            Typed::parse(" 123 456 "),
            Some(Typed::Totp("123456".into()))
        );
        assert_eq!(Typed::parse("12345"), None);
        assert_eq!(Typed::parse("abcdef"), None);
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_own_account() {
        let sealer = Sealer::new(&[7u8; 64]);
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = sealer.seal(Realm::Admin, me, b"secret");
        assert_eq!(
            sealer.open(Realm::Admin, me, &sealed).as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(sealer.open(Realm::Admin, other, &sealed), None);
        assert_eq!(sealer.open(Realm::Engineer, me, &sealed), None);
        assert_eq!(
            Sealer::new(&[8u8; 64]).open(Realm::Admin, me, &sealed),
            None
        );
    }

    #[test]
    fn the_uri_names_issuer_and_account() {
        let uri = otpauth_uri("ann@contoso.example", &[0u8; 20]);
        assert!(
            uri.starts_with("otpauth://totp/lockbox%3Aann@contoso.example?secret=AAAA"),
            "{uri}"
        );
    }
}
