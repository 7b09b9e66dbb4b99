//! Brute-force throttling that an attacker cannot turn against a real user.
//!
//! Failures are counted per (account, client address): after
//! [`PAIR_LIMIT`] failures within [`WINDOW`] that pair is refused for
//! [`LOCKOUT`]; the real user, coming from another address, still gets in.
//! One address is also capped across all accounts ([`ADDRESS_LIMIT`]).
//! State lives in PostgreSQL so every lockbox process sees the same counts.

use chrono::{DateTime, Duration, Utc};
use diesel::{dsl::count_star, prelude::*};

use super::Realm;
use crate::schema::{sign_in_failures as f, sign_in_lockouts as l};

pub const PAIR_LIMIT: i64 = 5;
pub const ADDRESS_LIMIT: i64 = 50;
pub const WINDOW: Duration = Duration::minutes(15);
pub const LOCKOUT: Duration = Duration::minutes(15);

fn pair_key(account: &str, ip: &str) -> String {
    format!("pair:{}|{ip}", account.trim().to_lowercase())
}

fn address_key(ip: &str) -> String {
    format!("address:{ip}")
}

pub fn is_locked(
    conn: &mut PgConnection,
    realm: Realm,
    account: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let keys = [pair_key(account, ip), address_key(ip)];
    let n: i64 = l::table
        .filter(l::realm.eq(realm.as_db()))
        .filter(l::scope_key.eq_any(&keys))
        .filter(l::locked_until.gt(now))
        .select(count_star())
        .first(conn)?;
    Ok(n > 0)
}

pub fn record_failure(
    conn: &mut PgConnection,
    realm: Realm,
    account: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let account = account.trim().to_lowercase();
    conn.transaction(|conn| {
        diesel::insert_into(f::table)
            .values((
                f::realm.eq(realm.as_db()),
                f::account.eq(&account),
                f::ip.eq(ip),
                f::occurred_at.eq(now),
            ))
            .execute(conn)?;
        let recent = f::table
            .filter(f::realm.eq(realm.as_db()))
            .filter(f::ip.eq(ip))
            .filter(f::occurred_at.gt(now - WINDOW));
        let pair: i64 = recent
            .filter(f::account.eq(&account))
            .select(count_star())
            .first(conn)?;
        if pair >= PAIR_LIMIT {
            lock(conn, realm, pair_key(&account, ip), now + LOCKOUT)?;
        }
        let address: i64 = recent.select(count_star()).first(conn)?;
        if address >= ADDRESS_LIMIT {
            lock(conn, realm, address_key(ip), now + LOCKOUT)?;
        }
        Ok(())
    })
}

fn lock(
    conn: &mut PgConnection,
    realm: Realm,
    key: String,
    until: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::insert_into(l::table)
        .values((
            l::realm.eq(realm.as_db()),
            l::scope_key.eq(&key),
            l::locked_until.eq(until),
        ))
        .on_conflict((l::realm, l::scope_key))
        .do_update()
        .set(l::locked_until.eq(until))
        .execute(conn)
}

/// A successful sign-in forgets that pair's failures.
pub fn clear_pair(
    conn: &mut PgConnection,
    realm: Realm,
    account: &str,
    ip: &str,
) -> QueryResult<()> {
    diesel::delete(
        f::table
            .filter(f::realm.eq(realm.as_db()))
            .filter(f::account.eq(account.trim().to_lowercase()))
            .filter(f::ip.eq(ip)),
    )
    .execute(conn)?;
    Ok(())
}

/// Forgets failures and lock-outs that can no longer matter.
pub fn prune(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    let a = diesel::delete(f::table.filter(f::occurred_at.lt(now - WINDOW))).execute(conn)?;
    let b = diesel::delete(l::table.filter(l::locked_until.lt(now))).execute(conn)?;
    Ok(a + b)
}
