//! The `lockbox` command line, the top of the layers: serve the portals,
//! migrate, seed a demo ([`demo`]), create accounts ([`accounts`]), verify
//! and export the audit log ([`audit`]), list and retry failed mail
//! ([`outbox`]), manage the provider's webhook endpoints and receive
//! webhooks ([`webhook`]), and measure ([`bench`](mod@bench)).

pub mod accounts;
pub mod audit;
pub mod bench;
pub mod demo;
pub mod outbox;
pub mod webhook;

use std::{process::ExitCode, sync::Arc};

use clap::{Parser, Subcommand};

use crate::{
    clock::{SharedClock, SystemClock},
    config::Settings,
    db::{self, PgPool},
    startup::Application,
};
use accounts::{StaffCommand, TenantCommand, UserCommand};
use audit::AuditCommand;
use bench::BenchCommand;

#[derive(Parser)]
#[command(name = "lockbox", version, about = "A self-hostable Customer Lockbox")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the admin center and the engineer portal.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Seed a demo world (idempotently), print its accounts, and serve.
    Demo,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Create a tenant's first global administrator (admin center account).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage provider staff (engineer portal accounts).
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Verify or export the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Manage the deployment signing key.
    Key {
        #[command(subcommand)]
        command: audit::KeyCommand,
    },
    /// Mail that failed for good: list it, queue it again.
    Outbox {
        #[command(subcommand)]
        command: outbox::OutboxCommand,
    },
    /// The provider's webhook endpoints; `listen`: a receiver that prints
    /// verified events.
    Webhook {
        #[command(subcommand)]
        command: webhook::WebhookCommand,
    },
    /// Measure performance.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

/// A failure reported to the person at the terminal as one line.
#[derive(Debug)]
pub struct CliError(String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

/// The entry point of the binary.
pub fn main() -> ExitCode {
    crate::startup::memory::return_large_blocks();
    crate::startup::memory::purge_freed_pages_at_once();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", one_line(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError(message)) => {
            eprintln!("error: {}", one_line(&message));
            ExitCode::FAILURE
        }
    }
}

/// Folds clap's multi-line message into one line, dropping the hints.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("For more information") && !l.starts_with("Usage:")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn init_tracing() {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_env("LOCKBOX_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let json = std::env::var("LOCKBOX_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The database: `DATABASE_URL`, or the embedded cluster (kept alive by the
/// returned value, which stops it when dropped), migrated as its owner.
pub fn open_database(settings: &Settings) -> Result<db::Database, CliError> {
    Ok(db::Database::open(settings)?)
}

async fn run(command: Command) -> Result<(), CliError> {
    let settings = Settings::from_env()?;
    if let Command::Bench {
        command:
            BenchCommand::Audit {
                records,
                tenants,
                keep,
            },
    } = command
    {
        return bench::audit(&settings, records, tenants, keep).map_err(CliError::from);
    }
    if let Command::Audit {
        command: command @ AuditCommand::VerifyFile { .. },
    } = command
    {
        // Offline: no database is opened, none is needed.
        return audit::verify_file(command);
    }
    if let Command::Bench {
        command: BenchCommand::VerifyFile { records },
    } = command
    {
        return bench::verify_file::run(records).map_err(CliError::from);
    }
    if let Command::Key { command } = command {
        return audit::key(command, &settings);
    }
    if let Command::Bench {
        command:
            BenchCommand::Api {
                requests,
                calls,
                decisions,
                clients,
                phase_seconds,
                keep,
            },
    } = command
    {
        let bench = bench::api::ApiBench {
            requests,
            calls,
            decisions,
            clients,
            phase_limit: std::time::Duration::from_secs(phase_seconds),
            keep,
        };
        return bench::api::run(&settings, bench)
            .await
            .map_err(CliError::from);
    }
    if let Command::Webhook {
        command: webhook::WebhookCommand::Listen { port, secret },
    } = &command
    {
        return webhook::listen(*port, secret).await;
    }
    if let Command::Bench {
        command: BenchCommand::Web(args),
    } = command
    {
        return bench::web::run(&settings, args.bench())
            .await
            .map_err(CliError::from);
    }
    let clock: SharedClock = Arc::new(SystemClock);
    let database = open_database(&settings)?;
    // The server's role; the operator's commands below act as the owner.
    let pool = database.app.clone();
    match command {
        Command::Serve => serve(settings, pool, clock).await,
        Command::Migrate => {
            println!("database is up to date");
            Ok(())
        }
        Command::Demo => {
            let accounts = db::blocking(&database.owner()?, {
                let clock = clock.clone();
                move |conn| demo::seed(conn, clock.now()).map_err(CliError::from)
            })
            .await?;
            println!("{}", demo::describe(&settings, &accounts));
            serve(settings, pool, clock).await
        }
        Command::Bench { .. } | Command::Key { .. } => Ok(()),
        Command::Tenant { command } => accounts::tenant(command, &database.owner()?, clock).await,
        Command::User { command } => accounts::user(command, &database.owner()?, clock).await,
        Command::Staff { command } => accounts::staff(command, &database.owner()?, clock).await,
        Command::Audit { command } => audit::run(command, &pool, &settings).await,
        Command::Outbox { command } => outbox::run(command, &pool).await,
        Command::Webhook { command } => webhook::run(command, &pool, clock.now()).await,
    }
}

/// An input refusal (a translation key) as an English sentence.
pub(crate) fn message(key: &'static str) -> CliError {
    CliError(crate::i18n::Tr::new(crate::i18n::Lang::En).t(key))
}

async fn serve(settings: Settings, pool: PgPool, clock: SharedClock) -> Result<(), CliError> {
    let app = Application::build(settings.clone(), pool, clock)?;
    tracing::info!(
        admin = %format!("http://{}", settings.admin_addr),
        engineer = %format!("http://{}", settings.engineer_addr),
        "lockbox is serving"
    );
    app.run_until_stopped().await?;
    tracing::info!("lockbox stopped");
    Ok(())
}
