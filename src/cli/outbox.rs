//! `lockbox outbox`: the mail that failed for good, listed and queued again.

use clap::Subcommand;
use uuid::Uuid;

use super::CliError;
use crate::{db::PgPool, notify::outbox};

#[derive(Subcommand)]
pub enum OutboxCommand {
    /// List queued mail; with --failed, the messages that failed for good
    /// (id, kind, recipient, attempts, queued at, last error).
    List {
        #[arg(long)]
        failed: bool,
    },
    /// Queue failed messages again (one by --id, or --all); the running
    /// servers deliver them with a fresh count of attempts.
    Retry {
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        id: Option<Uuid>,
        #[arg(long)]
        all: bool,
    },
}

pub async fn run(command: OutboxCommand, pool: &PgPool) -> Result<(), CliError> {
    match command {
        OutboxCommand::List { failed } => {
            let rows = crate::db::blocking(pool, move |conn| {
                if failed {
                    outbox::failed(conn).map_err(crate::db::DbError::from)
                } else {
                    outbox::counts(conn)
                        .map(|counts| {
                            for (status, n) in counts {
                                println!("{status}\t{n}");
                            }
                            Vec::new()
                        })
                        .map_err(crate::db::DbError::from)
                }
            })
            .await?;
            for f in rows {
                println!(
                    "{}\t{}\t{}\t{} attempts\t{}\t{}",
                    f.id,
                    f.kind,
                    f.to_address,
                    f.attempts,
                    crate::i18n::fmt_utc(f.created_at),
                    f.last_error.as_deref().unwrap_or("").replace('\n', " ")
                );
            }
            Ok(())
        }
        OutboxCommand::Retry { id, all: _ } => {
            let n = crate::db::blocking(pool, move |conn| {
                outbox::retry_failed(conn, id).map_err(crate::db::DbError::from)
            })
            .await?;
            if id.is_some() && n == 0 {
                return Err(CliError("no failed message with that id".into()));
            }
            println!("queued {n} failed messages again");
            Ok(())
        }
    }
}
