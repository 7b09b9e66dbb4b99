//! Password hashing with argon2id at the argon2 crate's defaults (OWASP's
//! recommended parameters). Hashing is deliberately expensive, so it runs on
//! a fixed set of threads, as many as cores, behind a semaphore of the same
//! size: a flood of sign-ins queues up instead of starving the server. Not
//! on the general blocking pool: each hash takes a 19 MiB block, and with
//! glibc's malloc every one of that pool's (up to 512) threads kept its own
//! allocator arena of them — hundreds of megabytes after a burst of
//! sign-ins.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
    mpsc,
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

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads, started once; they end when the last [`Hasher`]
/// clone is dropped (their queue closes).
#[derive(Clone)]
struct Threads {
    jobs: mpsc::Sender<Job>,
}

impl Threads {
    fn start(count: usize) -> Result<Self, HashError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..count {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("lockbox-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| HashError(e.to_string()))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `f` on one of the threads; `None` if it panicked.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            if let Ok(value) = outcome {
                let _ = done.send(value);
            }
        });
        self.jobs.send(job).ok()?;
        result.await.ok()
    }
}

/// The shared hasher: bounded concurrency plus a dummy hash so that an
/// unknown account costs as much time as a known one.
#[derive(Clone)]
pub struct Hasher {
    threads: Threads,
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
            threads: Threads::start(cores)?,
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
        let ok = self
            .threads
            .run(move || verify_blocking(&candidate, &hash))
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
        self.threads
            .run(move || hash_blocking(&password))
            .await
            .ok_or_else(|| HashError("the hashing thread failed".into()))?
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
