//! `lockbox demo`: a small world to click through. Contoso requires customer
//! approval, Fabrikam does not; each has a global administrator, two
//! approvers (so a tenant can require two approvals per request, issue 19,
//! and the journey needs both) and a plain user; the provider has two
//! engineers and a manager.
//!
//! The demo password lives here and only here: no other code path knows it.
//! It is printed for everyone to read, so the demo seeds only a database
//! that holds nothing but its own world.

use chrono::{DateTime, Utc};
use diesel::PgConnection;

use crate::{
    audit,
    auth::password,
    config::Settings,
    identity::{DisplayName, Email, NewPassword},
    staff::{self, StaffRole},
    tenants::{self, NewTenantUser, Role, TenantName},
};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "lockbox-demo-2026";

/// One demo account, as printed for the person trying lockbox out.
pub struct DemoAccount {
    pub portal: &'static str,
    pub organization: Option<&'static str>,
    pub email: String,
    pub name: &'static str,
    pub role: &'static str,
}

const TENANTS: &[(&str, bool, &str)] = &[
    ("Contoso", true, "contoso"),
    ("Fabrikam", false, "fabrikam"),
];

const TENANT_PEOPLE: &[(&str, &str, Role)] = &[
    ("admin", "Global Admin", Role::GlobalAdmin),
    ("approver", "Lockbox Approver", Role::Approver),
    ("approver2", "Second Approver", Role::Approver),
    ("user", "Plain User", Role::User),
];

const STAFF: &[(&str, &str, StaffRole)] = &[
    (
        "engineer1@provider.example",
        "Sam Rivera",
        StaffRole::Engineer,
    ),
    (
        "engineer2@provider.example",
        "Noor Haddad",
        StaffRole::Engineer,
    ),
    ("manager@provider.example", "Kim Jansen", StaffRole::Manager),
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Tenant(#[from] tenants::TenantError),
    #[error(transparent)]
    Staff(#[from] staff::StaffError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(
        "this database holds {0} of its own; `lockbox demo` seeds only an empty database or \
         its own demo (accounts with a published password): point DATABASE_URL or \
         LOCKBOX_DATA_DIR elsewhere"
    )]
    NotTheDemosDatabase(String),
    #[error("{0}")]
    Other(String),
}

/// Creates whatever of the demo world is missing; running it twice changes
/// nothing the second time. Refuses a database with tenants or provider
/// staff of its own, before changing anything.
pub fn seed(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Vec<DemoAccount>, DemoError> {
    refuse_anyone_elses(conn)?;
    let password = NewPassword::parse(DEMO_PASSWORD).map_err(|e| DemoError::Other(e.into()))?;
    let hash = password::hash_blocking(&password).map_err(|e| DemoError::Other(e.to_string()))?;
    let mut accounts = Vec::new();
    for (name, lockbox, domain) in TENANTS {
        let tenant = match tenants::find_tenant_by_name(conn, name)? {
            Some(t) => t,
            None => {
                let parsed = TenantName::parse(name).map_err(|e| DemoError::Other(e.into()))?;
                tenants::create_tenant(conn, &parsed, *lockbox, now, &audit::Actor::command_line())?
            }
        };
        crate::content::seed::seed_tenant(conn, tenant.id, &format!("{domain}.example"), 30, now)?;
        for (local, display, role) in TENANT_PEOPLE {
            let email = Email::parse(&format!("{local}@{domain}.example"))
                .map_err(|e| DemoError::Other(e.into()))?;
            if tenants::find_typed_user(conn, name, email.as_str())?.is_none() {
                let display_name = DisplayName::parse(&format!("{name} {display}"))
                    .map_err(|e| DemoError::Other(e.into()))?;
                let user = NewTenantUser {
                    tenant_id: tenant.id,
                    email: &email,
                    display_name: &display_name,
                    password_hash: &hash,
                    role: *role,
                };
                tenants::create_user(conn, user, now, &audit::Actor::command_line())?;
            }
            accounts.push(DemoAccount {
                portal: "admin center",
                organization: Some(name),
                email: email.to_string(),
                name: display,
                role: role.as_db(),
            });
        }
        open_demo_ticket(conn, &tenant, domain, now)?;
    }
    for (email_text, display, role) in STAFF {
        let email = Email::parse(email_text).map_err(|e| DemoError::Other(e.into()))?;
        if staff::find_by_email(conn, email.as_str())?.is_none() {
            let display_name =
                DisplayName::parse(display).map_err(|e| DemoError::Other(e.into()))?;
            staff::create_staff(conn, &email, &display_name, &hash, *role, now)?;
        }
        accounts.push(DemoAccount {
            portal: "engineer portal",
            organization: None,
            email: email.to_string(),
            name: display,
            role: role.as_db(),
        });
    }
    Ok(accounts)
}

/// One open service request per tenant, opened by its plain user, for a
/// demo request to cite (another only when none is open).
fn open_demo_ticket(
    conn: &mut PgConnection,
    tenant: &tenants::Tenant,
    domain: &str,
    now: DateTime<Utc>,
) -> Result<(), DemoError> {
    use crate::requests::{Caller, tickets};
    if !tickets::queries::open_for_tenant(conn, tenant.id)?.is_empty() {
        return Ok(());
    }
    let Some(user) =
        tenants::find_typed_user(conn, &tenant.name, &format!("user@{domain}.example"))?
    else {
        return Ok(());
    };
    let new = tickets::NewTicketInput {
        title: "Mailbox does not sync since the migration".into(),
        description:
            "Since last week's migration the shared finance mailbox receives no new mail. \
                      Please investigate."
                .into(),
        workload: "exchange".into(),
        severity: "B".into(),
    }
    .parse()
    .map_err(|e| DemoError::Other(format!("{e:?}")))?;
    tickets::commands::open(conn, &Caller::customer(&user), "", &new, now)
        .map_err(|e| DemoError::Other(e.to_string()))?;
    Ok(())
}

/// Names what in the database is not the demo's, if anything is: real
/// tenants or staff must never meet accounts whose password is printed.
fn refuse_anyone_elses(conn: &mut PgConnection) -> Result<(), DemoError> {
    use crate::schema::provider_staff;
    use diesel::prelude::*;
    let theirs: Vec<String> = tenants::list_tenants(conn)?
        .into_iter()
        .map(|t| t.name)
        .filter(|name| {
            !TENANTS
                .iter()
                .any(|(demo, _, _)| demo.eq_ignore_ascii_case(name))
        })
        .map(|name| format!("{name:?}"))
        .collect();
    let staff: Vec<String> = provider_staff::table
        .select(provider_staff::email)
        .load::<String>(conn)?
        .into_iter()
        .filter(|email| {
            !STAFF
                .iter()
                .any(|(demo, _, _)| demo.eq_ignore_ascii_case(email))
        })
        .collect();
    let mut found = Vec::new();
    if !theirs.is_empty() {
        found.push(format!("tenants ({})", theirs.join(", ")));
    }
    if !staff.is_empty() {
        let plural = if staff.len() == 1 { "" } else { "s" };
        found.push(format!("{} provider staff account{plural}", staff.len()));
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(DemoError::NotTheDemosDatabase(found.join(" and ")))
    }
}

/// The text `lockbox demo` prints: where to go and how to sign in.
pub fn describe(settings: &Settings, accounts: &[DemoAccount]) -> String {
    let mut out = format!(
        "\nlockbox demo is ready.\n\n  Admin center:    http://{}\n  Engineer portal: http://{}\n\n\
         Every demo account's password is: {DEMO_PASSWORD}\n\n",
        settings.admin_addr, settings.engineer_addr
    );
    match &settings.mail.transport {
        crate::config::MailTransport::Files(dir) => out.push_str(&format!(
            "Mail (no SMTP configured) is written as .eml files to: {}\n\n",
            std::path::absolute(dir)
                .unwrap_or_else(|_| dir.clone())
                .display()
        )),
        crate::config::MailTransport::Smtp(smtp) => {
            out.push_str(&format!(
                "Mail is sent through SMTP at {}:{}\n\n",
                smtp.host, smtp.port
            ));
        }
    }
    for a in accounts {
        out.push_str(&format!(
            "  {:<16} {:<10} {:<32} {:<18} {}\n",
            a.portal,
            a.organization.unwrap_or("-"),
            a.email,
            a.role,
            a.name
        ));
    }
    out.push_str(&two_factor_note(settings.staff_mfa_required));
    out
}

/// How the demo's people get their second factor: the demo enrols nobody.
fn two_factor_note(staff_required: bool) -> String {
    let staff = if staff_required {
        "and every provider staff member (LOCKBOX_STAFF_MFA=required)"
    } else {
        "(provider staff may enrol: LOCKBOX_STAFF_MFA=optional)"
    };
    format!(
        "\nTwo-factor sign-in: Contoso and Fabrikam require it of their global administrators \
         and approvers, {staff}.\nThe demo enrols nobody: after the password you are asked to \
         set up an authenticator app (scan the QR code, or type the key shown into any TOTP \
         app, e.g. `oathtool --totp -b KEY`), keep the ten recovery codes, then enter the \
         app's code at each sign-in and before each decision older than 5 minutes.\nThe plain \
         user signs in with the password alone.\n"
    )
}
