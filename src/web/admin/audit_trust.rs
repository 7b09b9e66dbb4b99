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

/// The deployment's current public key, from the public keyring (the page
/// never reads the private key). Reads a small file: call it where
/// blocking is allowed.
pub(super) fn current_key(key_file: &std::path::Path) -> Option<crate::signing::PublicKeyEntry> {
    match crate::signing::PublicKeys::load(key_file) {
        Ok(keys) => keys.current().cloned(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the signing keyring");
            None
        }
    }
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
        .body(key.pem()))
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
