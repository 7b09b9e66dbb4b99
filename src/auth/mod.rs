//! Authentication for both realms: password hashing, server-side sessions,
//! sign-in throttling, and the sign-in procedure they add up to.

pub mod api_tokens;
pub mod password;
pub mod session_store;
pub mod throttle;
pub mod token;
pub mod totp;

use std::net::IpAddr;

use diesel::PgConnection;
use uuid::Uuid;

use crate::{
    clock::SharedClock,
    db::{self, DbError, PgPool},
};

/// The two sign-in systems. Each has its own session cookie and its own rows
/// in the session table, so a session of one is worthless on the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Realm {
    Admin,
    Engineer,
}

impl Realm {
    pub fn as_db(self) -> &'static str {
        match self {
            Realm::Admin => "admin",
            Realm::Engineer => "engineer",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Realm::Admin),
            "engineer" => Some(Realm::Engineer),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    /// The account's id.
    Success(Uuid),
    /// Wrong organisation, e-mail or password: one answer for all three.
    Invalid,
    /// Refused before the password was checked (see [`throttle`]). Said the
    /// same way whether the account exists.
    Throttled(throttle::Refusal),
}

/// The account an attempt is for, as typed on a sign-in form (trimmed and
/// bounded): throttling is keyed by it whether or not such an account
/// exists, and a lock-out's audit record names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedAccount {
    organization: Option<String>,
    email: String,
    /// Counts attempts at second-factor codes rather than passwords: a
    /// throttling key of its own, so a right password never takes back
    /// wrong codes (see [`TypedAccount::for_codes`]).
    codes: bool,
}

/// Longer input matches no account (names have at most 100 characters,
/// e-mail addresses 254); what is kept of it is bounded.
const TYPED_MAX_CHARS: usize = 254;

fn bounded(typed: &str) -> String {
    typed.trim().chars().take(TYPED_MAX_CHARS).collect()
}

impl TypedAccount {
    /// A tenant user: organisation and e-mail address.
    pub fn tenant_user(organization: &str, email: &str) -> Self {
        Self {
            organization: Some(bounded(organization)),
            email: bounded(email),
            codes: false,
        }
    }

    /// A provider staff member: e-mail address only.
    pub fn staff(email: &str) -> Self {
        Self {
            organization: None,
            email: bounded(email),
            codes: false,
        }
    }

    /// The same account, for attempts at its second-factor codes: throttled
    /// like passwords (per account and network, counted before the check)
    /// but on counters of their own.
    pub fn for_codes(mut self) -> Self {
        self.codes = true;
        self
    }

    pub fn organization(&self) -> Option<&str> {
        self.organization.as_deref()
    }

    pub fn email(&self) -> &str {
        &self.email
    }

    /// The throttling key: case-insensitive like the account lookups, and
    /// unambiguous (the organisation is length-prefixed).
    pub fn key(&self) -> String {
        let email = self.email.to_lowercase();
        let key = match &self.organization {
            Some(org) => {
                let org = org.to_lowercase();
                format!("{}:{org}/{email}", org.len())
            }
            None => email,
        };
        if self.codes {
            format!("code:{key}")
        } else {
            key
        }
    }
}

/// One sign-in attempt as typed.
pub struct Attempt {
    pub realm: Realm,
    pub account: TypedAccount,
    pub ip: IpAddr,
    pub password: String,
}

/// Checks the attempt's password for the account `lookup` finds, with
/// throttling by account and client network: the attempt is judged and
/// counted before the password is hashed, so no burst gets more checks
/// than the limits allow.
pub async fn sign_in<F>(
    pool: &PgPool,
    clock: &SharedClock,
    hasher: &password::Hasher,
    attempt: Attempt,
    lookup: F,
) -> Result<SignInOutcome, DbError>
where
    F: FnOnce(&mut PgConnection) -> diesel::QueryResult<Option<(Uuid, String)>> + Send + 'static,
{
    let Attempt {
        realm,
        account,
        ip,
        password,
    } = attempt;
    let network = throttle::Network::of(ip);
    let now = clock.now();
    let (admission, found) = db::blocking(pool, move |conn| {
        match throttle::admit(conn, realm, &account, network, now)? {
            Err(refusal) => Ok::<_, DbError>((Err(refusal), None)),
            Ok(admitted) => Ok((Ok(admitted), lookup(conn)?)),
        }
    })
    .await?;
    let admitted = match admission {
        Ok(admitted) => admitted,
        Err(refusal) => return Ok(SignInOutcome::Throttled(refusal)),
    };
    let (id, hash) = found.unzip();
    let valid = hasher.verify(password, hash).await;
    match (valid, id) {
        (true, Some(id)) => {
            let now = clock.now();
            db::blocking(pool, move |conn| {
                throttle::succeeded(conn, &admitted, now).map_err(DbError::from)
            })
            .await?;
            Ok(SignInOutcome::Success(id))
        }
        // Nothing to write: the attempt was counted before the check.
        _ => Ok(SignInOutcome::Invalid),
    }
}

/// Records an admin-center sign-in attempt in the tenant's audit log:
/// `UserLoggedIn`, or `UserLoginFailed` with the reason. An attempt for an
/// organisation that does not exist has no log to go to and is only traced.
/// A throttled attempt writes nothing, so no flood of refused attempts can
/// fill a tenant's log: the lock-out is recorded once, when it has ended,
/// with the number of attempts it refused ([`report_ended_lockouts`]).
pub fn record_admin_sign_in(
    conn: &mut PgConnection,
    organization: &str,
    email: &str,
    outcome: SignInOutcome,
    ip: IpAddr,
    now: chrono::DateTime<chrono::Utc>,
) -> diesel::QueryResult<()> {
    use crate::{audit, tenants};
    if let SignInOutcome::Throttled(_) = outcome {
        return Ok(());
    }
    let Some(tenant) = tenants::find_tenant_by_name(conn, organization)? else {
        tracing::info!(%ip, "sign-in attempt for an unknown organisation");
        return Ok(());
    };
    let ip = ip.to_string();
    // What was typed is bounded before it is stored.
    let typed: String = email.trim().chars().take(254).collect();
    let user = tenants::find_typed_user(conn, organization, &typed)?;
    let actor = match &user {
        Some(u) => audit::Actor::customer(u.id, &u.display_name, &ip),
        // What a stranger typed never becomes a name in the log (nor a
        // spreadsheet formula in its CSV export); it stays in the parameters.
        None => audit::Actor {
            id: String::new(),
            name: "Unknown user".into(),
            ip,
        },
    };
    let (activity, parameters) = match outcome {
        SignInOutcome::Success(_) => (
            audit::activity::USER_LOGGED_IN,
            serde_json::json!({"Email": typed, "Role": user.as_ref().map(|u| u.role.audit_name())}),
        ),
        SignInOutcome::Invalid => (
            audit::activity::USER_LOGIN_FAILED,
            serde_json::json!({"Email": typed, "Reason": "InvalidCredentials"}),
        ),
        SignInOutcome::Throttled(_) => return Ok(()),
    };
    audit::append(
        conn,
        audit::Entry {
            tenant_id: tenant.id,
            occurred_at: now,
            actor: &actor,
            activity,
            item: String::new(),
            parameters,
            request_id: None,
        },
    )?;
    Ok(())
}

/// Reports lock-outs that have ended by `now`: each once, to its tenant's
/// audit log (`UserLoginFailed`, reason `TooManyAttempts`, with the
/// attempts it refused), and forgets it in the same transaction. Lock-outs
/// in the engineer realm, and for organisations that do not exist, have no
/// tenant log and are only traced. Housekeeping runs this every few
/// minutes; safe with several lockbox processes (`SKIP LOCKED`). Returns
/// how many it handled.
pub fn report_ended_lockouts(
    conn: &mut PgConnection,
    now: chrono::DateTime<chrono::Utc>,
) -> diesel::QueryResult<usize> {
    const BATCH: i64 = 100;
    let mut total = 0;
    loop {
        let n = report_lockout_batch(conn, now, BATCH)?;
        total += n;
        if i64::try_from(n).map_or(true, |n| n < BATCH) {
            return Ok(total);
        }
    }
}

fn report_lockout_batch(
    conn: &mut PgConnection,
    now: chrono::DateTime<chrono::Utc>,
    batch: i64,
) -> diesel::QueryResult<usize> {
    use diesel::Connection;
    conn.transaction(|conn| {
        let ended = throttle::ended_lockouts(conn, now, batch)?;
        for lockout in &ended {
            match (Realm::from_db(&lockout.realm), &lockout.organization) {
                (Some(Realm::Admin), Some(organization)) => {
                    record_admin_lockout(conn, organization, lockout)?;
                }
                _ => tracing::info!(
                    realm = %lockout.realm,
                    network = %lockout.network,
                    refused = lockout.refused,
                    "a sign-in lock-out ended"
                ),
            }
        }
        let ids: Vec<i64> = ended.iter().map(|l| l.id).collect();
        throttle::forget_lockouts(conn, &ids)?;
        Ok(ended.len())
    })
}

fn record_admin_lockout(
    conn: &mut PgConnection,
    organization: &str,
    lockout: &throttle::EndedLockout,
) -> diesel::QueryResult<()> {
    use crate::{audit, tenants};
    let Some(tenant) = tenants::find_tenant_by_name(conn, organization)? else {
        tracing::info!(network = %lockout.network, "a lock-out for an unknown organisation ended");
        return Ok(());
    };
    let user = tenants::find_typed_user(conn, organization, &lockout.email)?;
    let actor = match &user {
        Some(u) => audit::Actor::customer(u.id, &u.display_name, &lockout.network),
        None => audit::Actor {
            id: String::new(),
            name: "Unknown user".into(),
            ip: lockout.network.clone(),
        },
    };
    audit::append(
        conn,
        audit::Entry {
            tenant_id: tenant.id,
            occurred_at: lockout.locked_until,
            actor: &actor,
            activity: audit::activity::USER_LOGIN_FAILED,
            item: String::new(),
            parameters: serde_json::json!({
                "Email": lockout.email,
                "Reason": "TooManyAttempts",
                "LockedOutFrom": lockout.locked_at,
                "LockedOutUntil": lockout.locked_until,
                "RefusedAttempts": lockout.refused,
            }),
            request_id: None,
        },
    )?;
    Ok(())
}
