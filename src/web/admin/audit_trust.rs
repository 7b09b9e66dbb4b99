//! What the Audit page offers a customer to check the log without the
//! provider's word: the deployment's public key (PEM) and the tenant's
//! signed checkpoints (JSON).

use actix_web::{HttpResponse, web};

use super::LockboxUser;
use crate::{
    audit,
    db::{self, DbError},
    web::{AppState, error::AppError},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit/signing-key.pem", web::get().to(signing_key_pem))
        .route("/audit/signing-keys.json", web::get().to(keyring_json))
        .route(
            "/audit/checkpoints/{seq}.json",
            web::get().to(checkpoint_json),
        );
}

/// The deployment's current public key as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownKey {
    pub key_id: String,
    /// The raw key, standard base64.
    pub public_key: String,
    /// SHA-256 of the raw key, hex.
    pub fingerprint: String,
    /// The key as a `PUBLIC KEY` PEM block.
    pub pem: String,
}

/// Which version of the keyring file a [`ShownKey`] was read from: its
/// device and inode (a rotation writes a new file in its place), length,
/// and change time to the nanosecond (which no one can set back, unlike
/// the modification time, and which any write or rename moves).
type Stamp = Option<(u64, u64, u64, i64, i64)>;

/// The deployment's current public key, from the public keyring (the page
/// never reads the private key). The keyring is read again only when its
/// file changed (one `stat` otherwise): reading it, and decoding the key
/// for its fingerprint, was about a twentieth of an Audit page's CPU. Call
/// it where blocking is allowed.
pub(super) fn current_key(key_file: &std::path::Path) -> Option<ShownKey> {
    use std::{os::unix::fs::MetadataExt, sync::Mutex};
    static SEEN: Mutex<Option<(std::path::PathBuf, Stamp, Option<ShownKey>)>> = Mutex::new(None);
    let stamp: Stamp = std::fs::metadata(crate::signing::keyring_path(key_file))
        .ok()
        .map(|m| (m.dev(), m.ino(), m.len(), m.ctime(), m.ctime_nsec()));
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((path, at, key)) = seen.as_ref()
        && path == key_file
        && *at == stamp
    {
        return key.clone();
    }
    let key = match crate::signing::PublicKeys::load(key_file) {
        Ok(keys) => keys.current().map(|k| ShownKey {
            key_id: k.key_id.clone(),
            public_key: k.public_key.clone(),
            fingerprint: k.fingerprint(),
            pem: k.pem(),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the signing keyring");
            return None;
        }
    };
    *seen = Some((key_file.to_owned(), stamp, key.clone()));
    key
}

/// The current public key as a `PUBLIC KEY` PEM file.
async fn signing_key_pem(
    state: web::Data<AppState>,
    LockboxUser(_): LockboxUser,
) -> Result<HttpResponse, AppError> {
    let key_file = state.settings.signing_key_file.clone();
    let key = web::block(move || current_key(&key_file))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("reading the keyring: {e}")))?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-pem-file")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"lockbox-signing-key-{}.pem\"",
                key.key_id
            ),
        ))
        .body(key.pem))
}

/// Every public key the deployment signed with, with its validity period:
/// what `lockbox audit verify-file --public-key` needs to check what a
/// rotated-out key signed, and when.
async fn keyring_json(
    state: web::Data<AppState>,
    LockboxUser(_): LockboxUser,
) -> Result<HttpResponse, AppError> {
    let key_file = state.settings.signing_key_file.clone();
    let keys = web::block(move || crate::signing::PublicKeys::load(&key_file))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("reading the keyring: {e}")))?
        .map_err(|e| AppError::Internal(anyhow::anyhow!("reading the keyring: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"lockbox-signing-keys.json\"",
        ))
        .json(keys))
}

/// One of the tenant's checkpoints as JSON (another tenant's: 404).
async fn checkpoint_json(
    state: web::Data<AppState>,
    LockboxUser(user): LockboxUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (tenant, seq) = (user.tenant_id, path.into_inner());
    let checkpoint = db::blocking(&state.pool, move |conn| {
        audit::checkpoint::find(conn, tenant, seq).map_err(DbError::from)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"lockbox-checkpoint-{seq}.json\""),
        ))
        .json(checkpoint.published()))
}
