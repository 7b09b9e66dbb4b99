//! The deployment signing key: Ed25519, kept in files outside the
//! database, rotatable, its old public keys kept so old signatures stay
//! verifiable. Infrastructure: it knows no domain (the audit log's
//! checkpoints are signed with it, see `crate::audit::checkpoint`).
//!
//! Two files, side by side:
//!
//! * the **key file** (`LOCKBOX_SIGNING_KEY_FILE`, default
//!   `<data dir>/signing-key.pem`): the current private key as a PKCS#8
//!   `PRIVATE KEY` PEM block (RFC 8410). Created with mode 0600; lockbox
//!   refuses to use it while group or others may read it. Never stored in
//!   PostgreSQL, never logged.
//! * the **keyring** (the key file's name with `.keyring.json` for `.pem`,
//!   e.g. `signing-key.keyring.json`): public, JSON, every key this
//!   deployment ever signed with:
//!   `{"keys":[{"key_id":…,"public_key":…,"valid_from":…,"valid_until":…}]}`,
//!   `public_key` the raw 32-byte Ed25519 key in standard base64,
//!   `valid_from`/`valid_until` RFC 3339 UTC (`valid_until` null for the
//!   current key).
//!
//! A key's id is the first 16 hex digits of SHA-256 of its raw 32-byte
//! public key; its fingerprint is the whole digest in hex.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use chrono::{DateTime, Utc};
use ed25519_dalek::{
    Signature, Signer as _, SigningKey, Verifier, VerifyingKey,
    pkcs8::{
        DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey,
        spki::der::pem::LineEnding,
    },
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error(
        "the signing key file {0} may be read by group or others (mode {1:o}): run `chmod 600 {0}`"
    )]
    Exposed(String, u32),
    #[error("the signing key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the signing key file {0} holds no Ed25519 private key (PKCS#8 PEM)")]
    Malformed(String),
    #[error("the keyring {0} cannot be read: {1}")]
    Keyring(String, String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SigningError + '_ {
    move |source| SigningError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A public key this deployment signs or signed with, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyEntry {
    pub key_id: String,
    /// The raw 32-byte key, standard base64.
    pub public_key: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
}

impl PublicKeyEntry {
    fn of(key: &VerifyingKey, valid_from: DateTime<Utc>) -> Self {
        Self {
            key_id: key_id(key.as_bytes()),
            public_key: B64.encode(key.as_bytes()),
            valid_from,
            valid_until: None,
        }
    }

    fn verifying_key(&self) -> Option<VerifyingKey> {
        let bytes: [u8; 32] = B64.decode(&self.public_key).ok()?.try_into().ok()?;
        VerifyingKey::from_bytes(&bytes).ok()
    }

    /// The raw public key.
    pub fn raw(&self) -> Option<[u8; 32]> {
        self.verifying_key().map(|k| k.to_bytes())
    }

    /// SHA-256 of the raw public key, hex.
    pub fn fingerprint(&self) -> String {
        self.raw()
            .map(|raw| crate::digest::hex(&Sha256::digest(raw)))
            .unwrap_or_default()
    }

    /// The key as a `PUBLIC KEY` PEM block (SubjectPublicKeyInfo, RFC 8410),
    /// which `openssl pkey -pubin` reads.
    pub fn pem(&self) -> String {
        self.verifying_key()
            .and_then(|k| k.to_public_key_pem(LineEnding::LF).ok())
            .unwrap_or_default()
    }
}

/// Every public key of the deployment, oldest first: what a verifier needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeys {
    pub keys: Vec<PublicKeyEntry>,
}

impl PublicKeys {
    /// The keyring beside `key_file`; empty when there is none yet.
    pub fn load(key_file: &Path) -> Result<Self, SigningError> {
        let path = keyring_path(key_file);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| SigningError::Keyring(path.display().to_string(), e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// The key signatures are made with now.
    pub fn current(&self) -> Option<&PublicKeyEntry> {
        self.keys.iter().rev().find(|k| k.valid_until.is_none())
    }

    pub fn find(&self, key_id: &str) -> Option<&PublicKeyEntry> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    /// The `PUBLIC KEY` PEM block of a raw public key.
    pub fn pem_of(raw: &[u8; 32]) -> String {
        VerifyingKey::from_bytes(raw)
            .ok()
            .and_then(|k| k.to_public_key_pem(LineEnding::LF).ok())
            .unwrap_or_default()
    }

    /// A keyring of one public key read from a `PUBLIC KEY` PEM block
    /// (what the Audit page offers); a PEM knows no validity period, so the
    /// key counts as valid at any time.
    pub fn from_pem(text: &str) -> Option<Self> {
        let key = VerifyingKey::from_public_key_pem(text.trim()).ok()?;
        Some(Self {
            keys: vec![PublicKeyEntry::of(&key, DateTime::<Utc>::MIN_UTC)],
        })
    }

    /// A keyring from a file: the keyring JSON or a `PUBLIC KEY` PEM. A
    /// keyring whose key ids are not those of its keys is refused.
    pub fn from_file_text(text: &str) -> Option<Self> {
        if !text.trim_start().starts_with('{') {
            return Self::from_pem(text);
        }
        let ring: Self = serde_json::from_str(text).ok()?;
        ring.keys
            .iter()
            .all(|k| k.raw().is_some_and(|raw| key_id(&raw) == k.key_id))
            .then_some(ring)
    }

    /// Joins another keyring's keys. A key both hold is kept once, with
    /// the validity period a keyring gives it rather than a PEM's "always"
    /// (a PEM beside the keyring must not lift the keyring's bounds).
    pub fn extend(&mut self, other: PublicKeys) {
        for key in other.keys {
            match self.keys.iter_mut().find(|k| k.key_id == key.key_id) {
                None => self.keys.push(key),
                Some(kept) if kept.valid_from == DateTime::<Utc>::MIN_UTC => *kept = key,
                Some(_) => {}
            }
        }
    }

    /// [`Self::verify`], and a signature dated `at` must fall within its
    /// key's validity period, give or take [`CLOCK_SKEW`]: a retired key
    /// signs nothing new, and a key signs nothing dated before it existed.
    pub fn verify_at(
        &self,
        key_id: &str,
        message: &[u8],
        signature: &[u8],
        at: DateTime<Utc>,
    ) -> Verdict {
        match self.verify(key_id, message, signature) {
            Verdict::Valid => {}
            other => return other,
        }
        let Some(key) = self.find(key_id) else {
            return Verdict::UnknownKey;
        };
        let early = key
            .valid_from
            .checked_sub_signed(CLOCK_SKEW)
            .is_some_and(|from| at < from);
        let late = key.valid_until.is_some_and(|until| at > until + CLOCK_SKEW);
        if early || late {
            Verdict::OutsideValidity
        } else {
            Verdict::Valid
        }
    }

    /// Whether `signature` over `message` is a signature of key `key_id`.
    pub fn verify(&self, key_id: &str, message: &[u8], signature: &[u8]) -> Verdict {
        let Some(key) = self.find(key_id).and_then(PublicKeyEntry::verifying_key) else {
            return Verdict::UnknownKey;
        };
        let Ok(signature) = Signature::from_slice(signature) else {
            return Verdict::Invalid;
        };
        if key.verify(message, &signature).is_ok() {
            Verdict::Valid
        } else {
            Verdict::Invalid
        }
    }

    fn save(&self, key_file: &Path) -> Result<(), SigningError> {
        let path = keyring_path(key_file);
        let mut json = serde_json::to_vec_pretty(self)
            .map_err(|e| SigningError::Keyring(path.display().to_string(), e.to_string()))?;
        json.push(b'\n');
        write_atomically(&path, &json, 0o644)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Invalid,
    UnknownKey,
    /// A valid signature dated outside its key's validity period.
    OutsideValidity,
}

/// How far a signature's date may lie outside its key's validity period:
/// the clocks of a deployment's servers may differ a little.
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// The deployment's current signer for a long-running server: read from
/// the key file, and read again when the file changes, so a `lockbox key
/// rotate` takes effect without a restart.
#[derive(Debug)]
pub struct Keyholder {
    key_file: PathBuf,
    cached: std::sync::Mutex<Option<(std::time::SystemTime, std::sync::Arc<Signer>)>>,
}

impl Keyholder {
    pub fn new(key_file: PathBuf) -> Self {
        Self {
            key_file,
            cached: std::sync::Mutex::new(None),
        }
    }

    /// The key in the key file now (one `stat` when it did not change).
    pub fn current(&self) -> Result<std::sync::Arc<Signer>, SigningError> {
        let modified = std::fs::metadata(&self.key_file)
            .and_then(|m| m.modified())
            .map_err(io(&self.key_file))?;
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, signer)) = cached.as_ref()
            && *at == modified
        {
            return Ok(signer.clone());
        }
        let signer = std::sync::Arc::new(Signer::load(&self.key_file)?);
        *cached = Some((modified, signer.clone()));
        Ok(signer)
    }
}

/// The deployment's current private key.
pub struct Signer {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl Signer {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(key.verifying_key().as_bytes());
        Self { key, key_id }
    }

    /// A new random key (kept nowhere unless [`Self::rotate`] saves it).
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        // A CSPRNG seeded from the operating system.
        rand::fill(&mut seed);
        Self::from_seed(seed)
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The Ed25519 signature (64 bytes) of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    fn parse_pem(path: &Path, text: &str) -> Result<Self, SigningError> {
        let key = SigningKey::from_pkcs8_pem(text)
            .map_err(|_| SigningError::Malformed(path.display().to_string()))?;
        Ok(Self::from_seed(key.to_bytes()))
    }

    /// The key in `key_file`, which must exist (a running server never
    /// makes a new key behind the operator's back). Refuses a key file group
    /// or others may read.
    pub fn load(key_file: &Path) -> Result<Self, SigningError> {
        let text = std::fs::read_to_string(key_file).map_err(io(key_file))?;
        check_private(key_file)?;
        Self::parse_pem(key_file, &text)
    }

    /// The key in `key_file`, created (with its keyring) when there is
    /// none. Refuses a key file group or others may read.
    pub fn load_or_create(key_file: &Path, now: DateTime<Utc>) -> Result<Self, SigningError> {
        match std::fs::read_to_string(key_file) {
            Ok(text) => {
                check_private(key_file)?;
                let signer = Self::parse_pem(key_file, &text)?;
                // A key placed by hand: its public key joins the keyring.
                let mut ring = PublicKeys::load(key_file)?;
                if ring.find(&signer.key_id).is_none() {
                    for old in ring.keys.iter_mut().filter(|k| k.valid_until.is_none()) {
                        old.valid_until = Some(now);
                    }
                    let key = signer.key.verifying_key();
                    ring.keys.push(PublicKeyEntry::of(&key, now));
                    ring.save(key_file)?;
                }
                Ok(signer)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::rotate(key_file, now),
            Err(e) => Err(io(key_file)(e)),
        }
    }

    /// A new key: the current one's public key is kept (valid until `now`),
    /// the new one's joins the keyring, and it replaces the private key.
    pub fn rotate(key_file: &Path, now: DateTime<Utc>) -> Result<Self, SigningError> {
        if let Some(dir) = key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let signer = Self::generate();
        let mut ring = PublicKeys::load(key_file)?;
        for old in ring.keys.iter_mut().filter(|k| k.valid_until.is_none()) {
            old.valid_until = Some(now);
        }
        ring.keys
            .push(PublicKeyEntry::of(&signer.key.verifying_key(), now));
        // The keyring first: a crash between the two writes leaves the old
        // key signing and the new public key listed, never a signature no
        // public key verifies.
        ring.save(key_file)?;
        // PKCS#8 `PRIVATE KEY` PEM (RFC 8410), wiped from memory when dropped.
        let pem = signer
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| SigningError::Malformed(key_file.display().to_string()))?;
        write_atomically(key_file, pem.as_bytes(), 0o600)?;
        Ok(signer)
    }
}

/// `signing-key.pem` → `signing-key.keyring.json`.
pub fn keyring_path(key_file: &Path) -> PathBuf {
    key_file.with_extension("keyring.json")
}

/// The first 16 hex digits of SHA-256 of the raw public key.
pub fn key_id(public_key: &[u8; 32]) -> String {
    let mut hex = crate::digest::hex(&Sha256::digest(public_key));
    hex.truncate(16);
    hex
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), SigningError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(SigningError::Exposed(path.display().to_string(), mode));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), SigningError> {
    Ok(())
}

/// Writes a sibling temporary file with `mode` and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SigningError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp).map_err(io(&tmp))?;
    file.write_all(bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io(path))
}

#[cfg(test)]
mod tests;
