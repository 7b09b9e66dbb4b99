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
