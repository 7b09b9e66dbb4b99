//! The `lockbox` command line: serve the portals, migrate, seed a demo, and
//! create tenants, tenant users and provider staff. Passwords come from a
//! prompt or from standard input, never from the argument list (which other
//! users of the machine can read).

use std::{
    io::{BufRead, IsTerminal},
    process::ExitCode,
    sync::Arc,
};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{
    audit,
    auth::password,
    clock::{SharedClock, SystemClock},
    config::Settings,
    db::{self, PgPool, embedded::EmbeddedPostgres},
    demo,
    identity::{DisplayName, Email, NewPassword},
    staff::{self, StaffRole},
    startup::Application,
    tenants::{self, NewTenantUser, Role, TenantName},
};

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
    /// Manage tenant users (admin center accounts).
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
    /// Measure performance.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute every tenant's hash chain (or one tenant's) and name the
    /// first broken record. Exits non-zero when a chain is broken.
    Verify {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
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
enum ExportFormat {
    Csv,
    Jsonl,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Seed a scratch database with audit records and measure appends,
    /// searches and export memory. Prints the figures.
    Audit {
        /// Records to seed in all.
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// Tenants to spread them over.
        #[arg(long, default_value_t = 10)]
        tenants: u32,
        /// Keep the scratch database afterwards (for EXPLAIN ANALYZE).
        #[arg(long)]
        keep: bool,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant.
    Create {
        /// The organisation's name, unique.
        #[arg(long)]
        name: String,
        /// Require customer approval for data access from the start.
        #[arg(long)]
        lockbox_on: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a tenant user.
    Create {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: UserRoleArg,
        /// Defaults to the part of the e-mail address before the `@`.
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create a provider staff member.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: StaffRoleArg,
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
}

#[derive(Args)]
struct PasswordArgs {
    /// Read the password from the first line of standard input instead of
    /// prompting for it.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum UserRoleArg {
    GlobalAdmin,
    Approver,
    User,
}

impl From<UserRoleArg> for Role {
    fn from(r: UserRoleArg) -> Self {
        match r {
            UserRoleArg::GlobalAdmin => Role::GlobalAdmin,
            UserRoleArg::Approver => Role::Approver,
            UserRoleArg::User => Role::User,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum StaffRoleArg {
    Engineer,
    Manager,
}

impl From<StaffRoleArg> for StaffRole {
    fn from(r: StaffRoleArg) -> Self {
        match r {
            StaffRoleArg::Engineer => StaffRole::Engineer,
            StaffRoleArg::Manager => StaffRole::Manager,
        }
    }
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
/// returned guard, which stops it when dropped).
pub fn open_database(settings: &Settings) -> Result<(PgPool, Option<EmbeddedPostgres>), CliError> {
    let (url, guard) = match &settings.database_url {
        Some(url) => (url.expose().to_owned(), None),
        None => {
            let pg = EmbeddedPostgres::start(&settings.data_dir)?;
            tracing::info!(data_dir = %settings.data_dir.display(), "embedded PostgreSQL is running");
            (pg.database_url(), Some(pg))
        }
    };
    let pool = db::build_pool_with(&url, 16, Some(settings.limits.statement_timeout))?;
    db::run_migrations(&pool)?;
    Ok((pool, guard))
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
        return crate::bench::audit(&settings, records, tenants, keep).map_err(CliError::from);
    }
    let clock: SharedClock = Arc::new(SystemClock);
    let (pool, _embedded) = open_database(&settings)?;
    match command {
        Command::Serve => serve(settings, pool, clock).await,
        Command::Migrate => {
            println!("database is up to date");
            Ok(())
        }
        Command::Demo => {
            let accounts = db::blocking(&pool, {
                let clock = clock.clone();
                move |conn| demo::seed(conn, clock.now()).map_err(CliError::from)
            })
            .await?;
            println!("{}", demo::describe(&settings, &accounts));
            serve(settings, pool, clock).await
        }
        Command::Tenant {
            command: TenantCommand::Create { name, lockbox_on },
        } => {
            let name = TenantName::parse(&name).map_err(message)?;
            let tenant = db::blocking(&pool, move |conn| {
                tenants::create_tenant(
                    conn,
                    &name,
                    lockbox_on,
                    clock.now(),
                    &audit::Actor::command_line(),
                )
                .map_err(CliError::from)
                .and_then(|tenant| seal(conn, tenant))
            })
            .await?;
            println!("created tenant {} ({})", tenant.name, tenant.id);
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    tenant,
                    email,
                    role,
                    display_name,
                    password,
                },
        } => {
            let email = Email::parse(&email).map_err(message)?;
            let name = display_name_or_default(display_name.as_deref(), &email)?;
            let hash = password::hash_blocking(&read_password(&password)?)?;
            let role = Role::from(role);
            let id = db::blocking(&pool, move |conn| {
                let tenant = tenants::find_tenant_by_name(conn, &tenant)?
                    .ok_or_else(|| tenants::TenantError::UnknownTenant(tenant.clone()))?;
                let user = NewTenantUser {
                    tenant_id: tenant.id,
                    email: &email,
                    display_name: &name,
                    password_hash: &hash,
                    role,
                };
                let id =
                    tenants::create_user(conn, user, clock.now(), &audit::Actor::command_line())?;
                seal(conn, id)
            })
            .await?;
            println!("created user {id}");
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { tenant },
        } => {
            let reports = db::blocking(&pool, move |conn| verify(conn, tenant.as_deref())).await?;
            let mut broken = false;
            for (name, report) in reports {
                match report.broken {
                    None => println!(
                        "{name}: {} records, chain intact, head {}{}",
                        report.records,
                        report.head.as_deref().unwrap_or("(empty)"),
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
        Command::Audit {
            command: AuditCommand::Export { tenant, format },
        } => {
            let format = match format {
                ExportFormat::Csv => audit::export::Format::Csv,
                ExportFormat::Jsonl => audit::export::Format::JsonLines,
            };
            db::blocking(&pool, move |conn| {
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
        Command::Bench { .. } => Ok(()),
        Command::Staff {
            command:
                StaffCommand::Create {
                    email,
                    role,
                    display_name,
                    password,
                },
        } => {
            let email = Email::parse(&email).map_err(message)?;
            let name = display_name_or_default(display_name.as_deref(), &email)?;
            let hash = password::hash_blocking(&read_password(&password)?)?;
            let id = db::blocking(&pool, move |conn| {
                staff::create_staff(conn, &email, &name, &hash, role.into(), clock.now())
                    .map_err(CliError::from)
            })
            .await?;
            println!("created staff member {id}");
            Ok(())
        }
    }
}

/// Seals the audit records a command just wrote, so `audit verify` counts
/// them at once even when no lockbox server is running to do it. The
/// change is made either way: should sealing fail, a server seals later.
fn seal<T>(conn: &mut diesel::PgConnection, done: T) -> Result<T, CliError> {
    if let Err(e) = audit::seal::seal_pending(conn) {
        tracing::warn!(error = %e, "could not seal the new audit records; a running lockbox server will");
    }
    Ok(done)
}

/// Verifies one tenant's chain (by name) or every tenant's.
fn verify(
    conn: &mut diesel::PgConnection,
    tenant: Option<&str>,
) -> Result<Vec<(String, audit::verify::Report)>, CliError> {
    let list = match tenant {
        Some(name) => vec![
            tenants::find_tenant_by_name(conn, name)?
                .ok_or_else(|| tenants::TenantError::UnknownTenant(name.to_owned()))?,
        ],
        None => tenants::list_tenants(conn)?,
    };
    list.into_iter()
        .map(|t| Ok((t.name, audit::verify::verify_tenant(conn, t.id)?)))
        .collect()
}

/// An input refusal (a translation key) as an English sentence.
fn message(key: &'static str) -> CliError {
    CliError(crate::i18n::Tr::new(crate::i18n::Lang::En).t(key))
}

fn display_name_or_default(given: Option<&str>, email: &Email) -> Result<DisplayName, CliError> {
    let raw = given.unwrap_or_else(|| email.as_str().split('@').next().unwrap_or(""));
    DisplayName::parse(raw).map_err(message)
}

fn read_password(args: &PasswordArgs) -> Result<NewPassword, CliError> {
    let raw = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        if !std::io::stdin().is_terminal() {
            return Err(CliError(
                "no terminal to ask for the password on; pipe it in with --password-stdin".into(),
            ));
        }
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        if first != second {
            return Err(CliError("the two passwords differ".into()));
        }
        first
    };
    NewPassword::parse(&raw).map_err(message)
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
