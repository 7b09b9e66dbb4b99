//! Authentication for both realms: password hashing, server-side sessions,
//! sign-in throttling, and the sign-in procedure they add up to.

pub mod password;
pub mod session_store;
pub mod throttle;
pub mod token;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    /// The account's id.
    Success(Uuid),
    /// Wrong organisation, e-mail or password: one answer for all three.
    Invalid,
    /// Too many recent failures for this account from this address, or from
    /// this address overall. Said the same way whether the account exists.
    Throttled,
}

/// One sign-in attempt as typed.
pub struct Attempt {
    pub realm: Realm,
    /// What identifies the account as typed (organisation and e-mail);
    /// throttling is keyed by it, whether or not such an account exists.
    pub account_key: String,
    pub ip: IpAddr,
    pub password: String,
}

/// Checks the attempt's password for the account `lookup` finds, with
/// throttling by account and client address.
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
        account_key,
        ip,
        password,
    } = attempt;
    let now = clock.now();
    let ip = ip.to_string();
    let (key, addr) = (account_key.clone(), ip.clone());
    let (locked, account) = db::blocking(pool, move |conn| {
        if throttle::is_locked(conn, realm, &key, &addr, now)? {
            return Ok::<_, DbError>((true, None));
        }
        Ok((false, lookup(conn)?))
    })
    .await?;
    if locked {
        return Ok(SignInOutcome::Throttled);
    }
    let (id, hash) = match account {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    let valid = hasher.verify(password, hash).await;
    let now = clock.now();
    db::blocking(pool, move |conn| match (valid, id) {
        (true, Some(id)) => {
            throttle::clear_pair(conn, realm, &account_key, &ip)?;
            Ok(SignInOutcome::Success(id))
        }
        _ => {
            throttle::record_failure(conn, realm, &account_key, &ip, now)?;
            Ok(SignInOutcome::Invalid)
        }
    })
    .await
}

/// Records an admin-center sign-in attempt in the tenant's audit log:
/// `UserLoggedIn`, or `UserLoginFailed` with the reason. An attempt for an
/// organisation that does not exist has no log to go to and is only traced.
pub fn record_admin_sign_in(
    conn: &mut PgConnection,
    organization: &str,
    email: &str,
    outcome: SignInOutcome,
    ip: IpAddr,
    now: chrono::DateTime<chrono::Utc>,
) -> diesel::QueryResult<()> {
    use crate::{audit, tenants};
    let Some(tenant) = tenants::find_tenant_by_name(conn, organization)? else {
        tracing::info!(%ip, "sign-in attempt for an unknown organisation");
        return Ok(());
    };
    let ip = ip.to_string();
    // What was typed is bounded before it is stored.
    let typed: String = email.trim().chars().take(254).collect();
    let user = tenants::find_user_for_sign_in(conn, organization, &typed)?.map(|(u, _)| u);
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
        SignInOutcome::Throttled => (
            audit::activity::USER_LOGIN_FAILED,
            serde_json::json!({"Email": typed, "Reason": "TooManyAttempts"}),
        ),
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
