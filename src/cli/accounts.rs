//! `lockbox tenant|user|staff create`: the accounts the provider's
//! operators create. Passwords come from a prompt or from standard input,
//! never from the argument list (which other users of the machine can
//! read).

use std::io::{BufRead, IsTerminal};

use clap::{Args, Subcommand, ValueEnum};

use super::{CliError, message};
use crate::{
    audit,
    auth::{api_tokens, password},
    clock::SharedClock,
    db::{self, PgPool},
    identity::{DisplayName, Email, NewPassword},
    staff::{self, StaffRole},
    tenants::{self, Role, TenantName},
};

#[derive(Subcommand)]
pub enum TenantCommand {
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
pub enum UserCommand {
    /// Create a tenant's first global administrator. Everyone after them
    /// is added by the tenant's global administrators in the admin center.
    Create {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// Only `global-admin` is accepted: approvers and other users are
        /// the tenant's own global administrators' to add.
        #[arg(long, value_enum, default_value = "global-admin")]
        role: UserRoleArg,
        /// Defaults to the part of the e-mail address before the `@`.
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
}

#[derive(Subcommand)]
pub enum StaffCommand {
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
    /// Manage a staff member's API tokens (the provider API).
    Token {
        #[command(subcommand)]
        command: StaffTokenCommand,
    },
    /// Remove a staff member's authenticator and recovery codes (a lost
    /// phone): they enrol again at their next sign-in.
    ResetTwoFactor {
        /// The staff member's e-mail address.
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
pub enum StaffTokenCommand {
    /// Create an API token for a staff member; its secret is printed once.
    Create {
        /// The staff member's e-mail address.
        #[arg(long)]
        email: String,
        /// What the token is for (e.g. the ITSM's name).
        #[arg(long)]
        name: String,
        /// Days until it expires (1 to 365).
        #[arg(long, default_value_t = api_tokens::DEFAULT_DAYS)]
        expires_days: i64,
    },
}

#[derive(Args)]
pub struct PasswordArgs {
    /// Read the password from the first line of standard input instead of
    /// prompting for it.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum UserRoleArg {
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
pub enum StaffRoleArg {
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

pub async fn tenant(
    command: TenantCommand,
    pool: &PgPool,
    clock: SharedClock,
) -> Result<(), CliError> {
    let TenantCommand::Create { name, lockbox_on } = command;
    let name = TenantName::parse(&name).map_err(message)?;
    let tenant = db::blocking(pool, move |conn| {
        tenants::create_tenant(
            conn,
            &name,
            lockbox_on,
            clock.now(),
            &audit::Actor::command_line(),
        )
        .map_err(CliError::from)
        .and_then(|tenant| super::audit::seal(conn, tenant))
    })
    .await?;
    println!("created tenant {} ({})", tenant.name, tenant.id);
    Ok(())
}

pub async fn user(command: UserCommand, pool: &PgPool, clock: SharedClock) -> Result<(), CliError> {
    let UserCommand::Create {
        tenant,
        email,
        role,
        display_name,
        password,
    } = command;
    // Provider staff never decide who approves (SPEC §1): the operator
    // creates a tenant's first global administrator only.
    if Role::from(role) != Role::GlobalAdmin {
        return Err(CliError(
            "`lockbox user create` creates only a tenant's first global administrator; \
             its global administrators add approvers and users in the admin center, \
             under Roles (/roles)"
                .into(),
        ));
    }
    let email = Email::parse(&email).map_err(message)?;
    let name = display_name_or_default(display_name.as_deref(), &email)?;
    let hash = password::hash_blocking(&read_password(&password)?)?;
    let id = db::blocking(pool, move |conn| {
        let id = tenants::create_first_global_admin(
            conn,
            &tenant,
            &email,
            &name,
            &hash,
            clock.now(),
            &audit::Actor::command_line(),
        )?;
        super::audit::seal(conn, id)
    })
    .await?;
    println!("created user {id}");
    Ok(())
}

pub async fn staff(
    command: StaffCommand,
    pool: &PgPool,
    clock: SharedClock,
) -> Result<(), CliError> {
    let (email, role, display_name, password) = match command {
        StaffCommand::Create {
            email,
            role,
            display_name,
            password,
        } => (email, role, display_name, password),
        StaffCommand::Token {
            command:
                StaffTokenCommand::Create {
                    email,
                    name,
                    expires_days,
                },
        } => return staff_token(pool, clock, &email, &name, expires_days).await,
        StaffCommand::ResetTwoFactor { email } => {
            return reset_staff_two_factor(pool, clock, &email).await;
        }
    };
    let email = Email::parse(&email).map_err(message)?;
    let name = display_name_or_default(display_name.as_deref(), &email)?;
    let hash = password::hash_blocking(&read_password(&password)?)?;
    let id = db::blocking(pool, move |conn| {
        staff::create_staff(conn, &email, &name, &hash, role.into(), clock.now())
            .map_err(CliError::from)
    })
    .await?;
    println!("created staff member {id}");
    Ok(())
}

/// Removes a staff member's authenticator (logged, as staff events are).
async fn reset_staff_two_factor(
    pool: &PgPool,
    clock: SharedClock,
    email: &str,
) -> Result<(), CliError> {
    use crate::auth::{
        Realm, TypedAccount,
        totp::{Holder, Policy, record::Event, store},
    };
    let typed = email.to_owned();
    let now = clock.now();
    let removed = db::blocking(pool, move |conn| {
        let Some(member) = staff::find_by_email(conn, &typed)? else {
            return Ok(None);
        };
        let holder = Holder {
            realm: Realm::Engineer,
            id: member.id.0,
            name: member.display_name.clone(),
            account: TypedAccount::staff(&member.email),
            policy: Policy::Staff { required: true },
        };
        let by = crate::audit::Actor::command_line();
        Ok::<_, CliError>(Some(store::remove(
            conn,
            &holder,
            Event::Reset { by: &by },
            "",
            now,
        )?))
    })
    .await?;
    match removed {
        None => Err(CliError::from(format!(
            "no staff member with e-mail address {email}"
        ))),
        Some(true) => {
            println!(
                "removed the authenticator of {email}; they set up a new one at their next sign-in"
            );
            Ok(())
        }
        Some(false) => {
            println!("{email} has no authenticator");
            Ok(())
        }
    }
}

/// Creates a staff member's API token and prints its secret, once.
async fn staff_token(
    pool: &PgPool,
    clock: SharedClock,
    email: &str,
    name: &str,
    expires_days: i64,
) -> Result<(), CliError> {
    let new = api_tokens::NewTokenInput {
        name: name.to_owned(),
        scope: api_tokens::TokenScope::Admin.as_db().into(),
        expires_days: expires_days.to_string(),
    }
    .parse()
    .map_err(|errors| {
        let keys: Vec<&'static str> = errors.into_values().collect();
        CliError(
            keys.iter()
                .map(|k| {
                    crate::i18n::Tr::new(crate::i18n::Lang::En).t_args(
                        k,
                        &[
                            ("min", &api_tokens::MIN_DAYS.to_string()),
                            ("max", &api_tokens::MAX_DAYS.to_string()),
                        ],
                    )
                })
                .collect::<Vec<_>>()
                .join(" "),
        )
    })?;
    let email = email.to_owned();
    let (token, secret) = db::blocking(pool, move |conn| {
        let member = staff::find_by_email(conn, &email)?
            .ok_or_else(|| CliError(format!("no provider staff member {email:?}")))?;
        Ok::<_, CliError>(api_tokens::create_staff_token(
            conn,
            member.id,
            &new.name,
            new.valid_for,
            clock.now(),
        )?)
    })
    .await?;
    println!(
        "created API token {} ({}), valid until {}; its secret, shown only now:\n{secret}",
        token.name,
        token.id,
        token
            .expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    Ok(())
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
