//! Password hashing with argon2id at the argon2 crate's defaults (OWASP's
//! recommended parameters). Hashing is deliberately expensive, so it runs on
//! the blocking pool behind a semaphore sized to the cores: a flood of
//! sign-ins queues up instead of starving the server.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use argon2::{
    Argon2,
    password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash},
};
use tokio::sync::Semaphore;

use crate::identity::NewPassword;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes a new password (blocking; for the CLI and background threads).
pub fn hash_blocking(password: &NewPassword) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Checks `candidate` against a stored PHC string (blocking).
pub fn verify_blocking(candidate: &str, stored: &str) -> bool {
    PasswordHash::new(stored).ok().is_some_and(|parsed| {
        Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok()
    })
}

/// The shared hasher: bounded concurrency plus a dummy hash so that an
/// unknown account costs as much time as a known one.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    dummy: Arc<String>,
    verifications: Arc<AtomicU64>,
}

impl Hasher {
    pub fn new() -> Result<Self, HashError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let dummy = hash_blocking(
            &NewPassword::parse("lockbox-dummy-password").map_err(|e| HashError(e.into()))?,
        )?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(cores)),
            dummy: Arc::new(dummy),
            verifications: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Verifies `candidate` against `stored`, or against the dummy hash when
    /// there is no such account (and then always answers false).
    pub async fn verify(&self, candidate: String, stored: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy.as_str().to_owned());
        let ok = actix_web::rt::task::spawn_blocking(move || verify_blocking(&candidate, &hash))
            .await
            .unwrap_or(false);
        ok && known
    }

    /// How many passwords this hasher has verified (against a stored or
    /// the dummy hash) since it was made: what a flood of sign-ins costs.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    pub async fn hash(&self, password: NewPassword) -> Result<String, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        actix_web::rt::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .map_err(|e| HashError(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashing_is_bounded_to_the_cores_and_unknown_accounts_never_pass() {
        let hasher = Hasher::new().expect("hasher");
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(hasher.permits.available_permits(), cores);
        assert!(
            !hasher.verify("lockbox-dummy-password".into(), None).await,
            "the dummy hash opens nothing"
        );
        assert_eq!(hasher.verifications(), 1, "the dummy check counts too");
        let hash = hasher
            .hash(NewPassword::parse("a long enough password").expect("valid"))
            .await
            .expect("hash");
        assert!(
            hasher
                .verify("a long enough password".into(), Some(hash))
                .await
        );
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let pw = NewPassword::parse("correct horse battery").expect("valid");
        let hash = hash_blocking(&pw).expect("hashes");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_blocking("correct horse battery", &hash));
        assert!(!verify_blocking("wrong horse battery", &hash));
        assert!(!verify_blocking("anything", "not a hash"));
    }
}
