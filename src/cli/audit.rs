//! `lockbox audit verify|export`: check a tenant's chain and its signed
//! checkpoints, or write its whole log to standard output; `lockbox key
//! rotate`: a new deployment signing key.

use clap::{Subcommand, ValueEnum};

use super::CliError;
use crate::{
    audit,
    db::{self, PgPool},
    tenants,
};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute every tenant's hash chain (or one tenant's) and name the
    /// first broken record; check every signed checkpoint against the chain
    /// and the keyring beside `LOCKBOX_SIGNING_KEY_FILE`, and name the
    /// first it contradicts. Exits non-zero when either fails.
    Verify {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Verify an export (JSON Lines) or an evidence pack offline: no
    /// database, no network. Recomputes the chain, checks each checkpoint
    /// and receipt against the public keys, and that the file reaches
    /// every checkpoint. Exits 0 with counts, or non-zero naming the first
    /// problem.
    VerifyFile {
        /// The export (`.jsonl`) or evidence pack (`.json`).
        file: std::path::PathBuf,
        /// A signed checkpoint (JSON, from the Audit page or the digest
        /// mail) the file must reach; repeatable.
        #[arg(long)]
        checkpoint: Vec<std::path::PathBuf>,
        /// A signed decision receipt (JSON) whose audit record the file
        /// must hold; repeatable.
        #[arg(long)]
        receipt: Vec<std::path::PathBuf>,
        /// The deployment's public key (`PUBLIC KEY` PEM) or keyring
        /// (JSON, every key with its validity); repeatable.
        #[arg(long = "public-key", required = true)]
        public_key: Vec<std::path::PathBuf>,
    },
    /// Write a tenant's whole audit log to standard output.
    Export {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

pub async fn run(
    command: AuditCommand,
    pool: &PgPool,
    settings: &crate::config::Settings,
) -> Result<(), CliError> {
    match command {
        AuditCommand::Verify { tenant } => {
            let keys = crate::signing::PublicKeys::load(&settings.signing_key_file)?;
            verify_command(tenant, keys, pool).await
        }
        AuditCommand::Export { tenant, format } => export_command(tenant, format, pool).await,
        command @ AuditCommand::VerifyFile { .. } => verify_file(command),
    }
}

async fn verify_command(
    tenant: Option<String>,
    keys: crate::signing::PublicKeys,
    pool: &PgPool,
) -> Result<(), CliError> {
    let reports = db::blocking(pool, move |conn| verify(conn, tenant.as_deref(), &keys)).await?;
    let mut broken = false;
    for (name, report) in reports {
        if let Some(c) = &report.contradicted {
            broken = true;
            println!(
                "{name}: CHECKPOINT CONTRADICTED: the checkpoint of seq {} signed at {} (key {}): {}",
                c.seq, c.time, c.key_id, c.reason
            );
        }
        match report.broken {
            None => println!(
                "{name}: {} records, chain intact, head {}{}{}",
                report.records,
                report.head.as_deref().unwrap_or("(empty)"),
                match report.checkpoints {
                    0 => String::new(),
                    n => format!("; {n} signed checkpoints agree"),
                },
                match (report.pending, report.oldest_pending) {
                    (0, _) | (_, None) => String::new(),
                    (n, Some(at)) => format!(
                        "; {n} more awaiting their seal (the oldest recorded {}): \
                             a running lockbox server seals them",
                        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                }
            ),
            Some(b) => {
                broken = true;
                let seq = b.seq.map(|s| format!(" (seq {s})")).unwrap_or_default();
                println!(
                    "{name}: CHAIN BROKEN at record id {}{seq}: {}; {} records before it verify",
                    b.id, b.reason, report.records
                );
            }
        }
    }
    if broken {
        Err(CliError("the audit log failed verification".into()))
    } else {
        Ok(())
    }
}

async fn export_command(
    tenant: String,
    format: ExportFormat,
    pool: &PgPool,
) -> Result<(), CliError> {
    let format = match format {
        ExportFormat::Csv => audit::export::Format::Csv,
        ExportFormat::Jsonl => audit::export::Format::JsonLines,
    };
    db::blocking(pool, move |conn| {
        let found = tenants::find_tenant_by_name(conn, &tenant)?
            .ok_or_else(|| tenants::TenantError::UnknownTenant(tenant.clone()))?;
        let mut out = std::io::stdout().lock();
        let filter = audit::search::Filter::default();
        audit::export::export(conn, found.id, &filter, format, |chunk| {
            std::io::Write::write_all(&mut out, &chunk).map_err(CliError::from)
        })?;
        std::io::Write::flush(&mut out).map_err(CliError::from)
    })
    .await
}

/// Seals the audit records a command just wrote, so `audit verify` counts
/// them at once even when no lockbox server is running to do it. The
/// change is made either way: should sealing fail, a server seals later.
pub(super) fn seal<T>(conn: &mut diesel::PgConnection, done: T) -> Result<T, CliError> {
    if let Err(e) = audit::seal::seal_pending(conn) {
        tracing::warn!(error = %e, "could not seal the new audit records; a running lockbox server will");
    }
    Ok(done)
}

/// Verifies one tenant's chain (by name) or every tenant's.
fn verify(
    conn: &mut diesel::PgConnection,
    tenant: Option<&str>,
    keys: &crate::signing::PublicKeys,
) -> Result<Vec<(String, audit::verify::Report)>, CliError> {
    let list = match tenant {
        Some(name) => vec![
            tenants::find_tenant_by_name(conn, name)?
                .ok_or_else(|| tenants::TenantError::UnknownTenant(name.to_owned()))?,
        ],
        None => tenants::list_tenants(conn)?,
    };
    list.into_iter()
        .map(|t| {
            Ok((
                t.name,
                audit::verify::verify_tenant_with_checkpoints(conn, t.id, keys)?,
            ))
        })
        .collect()
}

/// `lockbox audit verify-file`: reads only the files it is given.
pub fn verify_file(command: AuditCommand) -> Result<(), CliError> {
    let AuditCommand::VerifyFile {
        file,
        checkpoint,
        receipt,
        public_key,
    } = command
    else {
        return Err(CliError("not a verify-file command".into()));
    };
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|e| CliError(format!("{}: {e}", path.display())))
    };
    let mut keys = crate::signing::PublicKeys::default();
    for path in &public_key {
        let ring = crate::signing::PublicKeys::from_file_text(&read(path)?).ok_or_else(|| {
            CliError(format!(
                "{}: neither a PUBLIC KEY PEM nor a lockbox keyring",
                path.display()
            ))
        })?;
        keys.extend(ring);
    }
    let json = |path: &std::path::Path| -> Result<serde_json::Value, CliError> {
        serde_json::from_str(&read(path)?)
            .map_err(|e| CliError(format!("{}: not JSON ({e})", path.display())))
    };
    let checkpoints = checkpoint
        .iter()
        .map(|p| {
            serde_json::from_value(json(p)?)
                .map_err(|e| CliError(format!("{}: not a checkpoint ({e})", p.display())))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let receipts = receipt
        .iter()
        .map(|p| {
            serde_json::from_value(json(p)?)
                .map_err(|e| CliError(format!("{}: not a receipt ({e})", p.display())))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let input = std::fs::File::open(&file)
        .map(std::io::BufReader::new)
        .map_err(|e| CliError(format!("{}: {e}", file.display())))?;
    let verifier = audit::offline::Verifier::new(keys);
    match audit::offline::verify_file(input, verifier, &checkpoints, &receipts) {
        Ok(summary) => {
            println!("{}: {summary}", file.display());
            Ok(())
        }
        Err(problem) => Err(CliError(format!(
            "{}: VERIFICATION FAILED: {problem}",
            file.display()
        ))),
    }
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Replace the deployment signing key with a new one; the old public
    /// key stays in the keyring (valid until now), so what it signed stays
    /// verifiable. Running servers sign with the new key from their next
    /// checkpoint round.
    Rotate,
}

pub fn key(command: KeyCommand, settings: &crate::config::Settings) -> Result<(), CliError> {
    match command {
        KeyCommand::Rotate => {
            let file = &settings.signing_key_file;
            let previous = crate::signing::PublicKeys::load(file)?.current().cloned();
            let now = chrono::Utc::now();
            let signer = crate::signing::Signer::rotate(file, now)?;
            println!(
                "new signing key {} in {}; old public keys kept in {}",
                signer.key_id(),
                file.display(),
                crate::signing::keyring_path(file).display()
            );
            let keys = crate::signing::PublicKeys::load(file)?;
            let entry = keys
                .find(signer.key_id())
                .cloned()
                .ok_or_else(|| CliError("the new key is missing from the keyring".into()))?;
            let database = super::open_database(settings)?;
            let mut conn = database.owner()?.get()?;
            let n = record_rotation(&mut conn, &entry, previous.as_ref(), now).map_err(|e| {
                CliError(format!(
                    "the key was rotated, but its audit records could not be written: {}",
                    e.0
                ))
            })?;
            println!("recorded the rotation in the audit log of {n} tenants");
            seal(&mut conn, ())
        }
    }
}

/// A `Set-LockboxSigningKey` record in every tenant's log: the customer
/// sees when the key that signs their checkpoints and receipts changed.
fn record_rotation(
    conn: &mut diesel::PgConnection,
    new: &crate::signing::PublicKeyEntry,
    previous: Option<&crate::signing::PublicKeyEntry>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, CliError> {
    use diesel::Connection;
    let list = tenants::list_tenants(conn)?;
    conn.transaction(|conn| {
        for t in &list {
            audit::append(
                conn,
                audit::Entry {
                    tenant_id: t.id,
                    occurred_at: now,
                    actor: &audit::Actor::command_line(),
                    activity: audit::activity::SET_SIGNING_KEY,
                    item: new.key_id.clone(),
                    parameters: serde_json::json!({
                        "KeyId": new.key_id,
                        "Fingerprint": new.fingerprint(),
                        "ValidFrom": new.valid_from,
                        "PreviousKeyId": previous.map(|k| k.key_id.clone()),
                    }),
                    request_id: None,
                },
            )?;
        }
        Ok::<_, CliError>(list.len())
    })
}
