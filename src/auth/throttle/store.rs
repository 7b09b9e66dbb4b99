//! The counters in PostgreSQL: an attempt admitted (or refused) under the
//! rows' locks, a success taken back, lock-outs reported and pruned.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{ADDRESS_LIMIT, Counter, Counters, Network, Refusal, WINDOW, judge};
use crate::{
    auth::{Realm, TypedAccount},
    schema::{sign_in_counters as c, sign_in_lockouts as l},
};

/// The counter keys of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Keys {
    address: String,
    pair: String,
    account: String,
}

impl Keys {
    fn new(account: &TypedAccount, network: Network) -> Self {
        let account = account.key();
        Self {
            address: format!("address:{network}"),
            pair: format!("pair:{account}|{network}"),
            account: format!("account:{account}"),
        }
    }

    /// All three in one order, so two attempts never lock them crosswise.
    fn sorted(&self) -> [&str; 3] {
        let mut keys = [
            self.address.as_str(),
            self.pair.as_str(),
            self.account.as_str(),
        ];
        keys.sort_unstable();
        keys
    }
}

/// An attempt that may go on to the password check.
#[derive(Debug, Clone)]
pub struct Admitted {
    realm: Realm,
    keys: Keys,
    /// The account's counter across networks, this attempt counted.
    account: super::Counter,
}

impl Admitted {
    /// Attempts for the account from anywhere in its window (this one
    /// included) and when that window ends.
    pub fn account_attempts(&self) -> (i32, DateTime<Utc>) {
        (
            self.account.attempts,
            self.account.window_start + super::WINDOW,
        )
    }
}

/// Judges and counts an attempt before its password is checked.
pub fn admit(
    conn: &mut PgConnection,
    realm: Realm,
    account: &TypedAccount,
    network: Network,
    now: DateTime<Utc>,
) -> QueryResult<Result<Admitted, Refusal>> {
    let keys = Keys::new(account, network);
    conn.transaction(|conn| {
        let sorted = keys.sorted();
        // Rows first (in key order), then their locks (in key order): two
        // attempts sharing keys wait for each other instead of deadlocking.
        let fresh = Counter::fresh(now);
        diesel::insert_into(c::table)
            .values(
                sorted
                    .iter()
                    .map(|key| {
                        (
                            c::realm.eq(realm.as_db()),
                            c::scope_key.eq(*key),
                            c::window_start.eq(fresh.window_start),
                            c::attempts.eq(fresh.attempts),
                            c::last_attempt_at.eq(fresh.last_attempt_at),
                            c::locked_until.eq(fresh.locked_until),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
            .on_conflict_do_nothing()
            .execute(conn)?;
        let rows: Vec<(String, Counter)> = c::table
            .filter(c::realm.eq(realm.as_db()))
            .filter(c::scope_key.eq_any(sorted))
            .order(c::scope_key.asc())
            .select((c::scope_key, Counter::as_select()))
            .for_update()
            .load(conn)?;
        let stored = |key: &str| {
            rows.iter()
                .find(|(k, _)| k == key)
                .map_or(fresh, |(_, counter)| *counter)
        };
        let before = Counters {
            address: stored(&keys.address),
            pair: stored(&keys.pair),
            account: stored(&keys.account),
        };
        match judge(before, now) {
            Err(refusal) => {
                if let Refusal::PairLockedOut { .. } = refusal {
                    count_refusal(conn, realm, &keys.pair, now)?;
                }
                tracing::debug!(%network, ?refusal, "sign-in attempt refused by throttling");
                Ok(Err(refusal))
            }
            Ok(after) => {
                for (key, counter) in [
                    (&keys.address, after.address),
                    (&keys.pair, after.pair),
                    (&keys.account, after.account),
                ] {
                    store(conn, realm, key, counter)?;
                }
                if before.address.at(now).locked(now).is_none()
                    && let Some(until) = after.address.locked(now)
                {
                    tracing::warn!(%network, %until, realm = realm.as_db(),
                        "sign-in locked out for a network that tried too many accounts");
                }
                if before.pair.at(now).locked(now).is_none()
                    && let Some(until) = after.pair.locked(now)
                {
                    tracing::warn!(%network, %until, realm = realm.as_db(),
                        "sign-in locked out for an account at a network");
                    diesel::insert_into(l::table)
                        .values((
                            l::realm.eq(realm.as_db()),
                            l::scope_key.eq(&keys.pair),
                            l::organization.eq(account.organization()),
                            l::email.eq(account.email()),
                            l::network.eq(network.to_string()),
                            l::locked_at.eq(now),
                            l::locked_until.eq(until),
                        ))
                        .execute(conn)?;
                }
                Ok(Ok(Admitted {
                    realm,
                    account: after.account,
                    keys: keys.clone(),
                }))
            }
        }
    })
}

fn store(conn: &mut PgConnection, realm: Realm, key: &str, counter: Counter) -> QueryResult<()> {
    // An upsert: housekeeping may have removed a stale row meanwhile.
    let values = (
        c::window_start.eq(counter.window_start),
        c::attempts.eq(counter.attempts),
        c::last_attempt_at.eq(counter.last_attempt_at),
        c::locked_until.eq(counter.locked_until),
    );
    diesel::insert_into(c::table)
        .values((c::realm.eq(realm.as_db()), c::scope_key.eq(key), values))
        .on_conflict((c::realm, c::scope_key))
        .do_update()
        .set(values)
        .execute(conn)?;
    Ok(())
}

/// One more attempt refused by the pair's running lock-out.
fn count_refusal(
    conn: &mut PgConnection,
    realm: Realm,
    pair: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        l::table
            .filter(l::realm.eq(realm.as_db()))
            .filter(l::scope_key.eq(pair))
            .filter(l::locked_until.gt(now)),
    )
    .set(l::refused.eq(l::refused + 1))
    .execute(conn)?;
    Ok(())
}

/// The admitted attempt's password was right: it was no failure. The pair
/// is forgotten, the wider counters take the attempt back (lifting a
/// network lock-out it alone completed), and a lock-out of the pair ends
/// now: reported if it refused anything, forgotten otherwise.
pub fn succeeded(
    conn: &mut PgConnection,
    admitted: &Admitted,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let Admitted { realm, keys, .. } = admitted;
    let realm = realm.as_db();
    conn.transaction(|conn| {
        // Locked in the order `admit` locks them, so the two never deadlock.
        let rows: Vec<(String, Counter)> = c::table
            .filter(c::realm.eq(realm))
            .filter(c::scope_key.eq_any(keys.sorted()))
            .order(c::scope_key.asc())
            .select((c::scope_key, Counter::as_select()))
            .for_update()
            .load(conn)?;
        for (key, counter) in rows {
            let limit = if key == keys.address {
                ADDRESS_LIMIT
            } else if key == keys.account {
                i32::MAX
            } else {
                continue;
            };
            let attempts = (counter.attempts - 1).max(0);
            let locked_until = counter.locked_until.filter(|_| attempts >= limit);
            diesel::update(c::table.find((realm, key.as_str())))
                .set((c::attempts.eq(attempts), c::locked_until.eq(locked_until)))
                .execute(conn)?;
        }
        diesel::delete(c::table.find((realm, keys.pair.as_str()))).execute(conn)?;
        let running = l::table
            .filter(l::realm.eq(realm))
            .filter(l::scope_key.eq(&keys.pair))
            .filter(l::locked_until.gt(now));
        diesel::delete(running.filter(l::refused.eq(0))).execute(conn)?;
        diesel::update(running)
            .set(l::locked_until.eq(now))
            .execute(conn)?;
        Ok(())
    })
}

/// A lock-out of an (account, network) pair that has ended.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = l, check_for_backend(diesel::pg::Pg))]
pub struct EndedLockout {
    pub id: i64,
    pub realm: String,
    pub organization: Option<String>,
    pub email: String,
    pub network: String,
    pub locked_at: DateTime<Utc>,
    pub locked_until: DateTime<Utc>,
    /// Attempts it refused.
    pub refused: i32,
}

/// Up to `limit` lock-outs that have ended by `now`, locked so that no
/// other process takes them too (`SKIP LOCKED`); [`forget_lockouts`] them
/// in the same transaction once reported.
pub fn ended_lockouts(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<EndedLockout>> {
    l::table
        .filter(l::locked_until.le(now))
        .order(l::id.asc())
        .limit(limit)
        .select(EndedLockout::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
}

pub fn forget_lockouts(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<usize> {
    diesel::delete(l::table.filter(l::id.eq_any(ids))).execute(conn)
}

/// Forgets counters that can no longer matter: window run out and no
/// lock-out running.
pub fn prune(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(
        c::table.filter(
            c::locked_until.le(now).or(c::locked_until
                .is_null()
                .and(c::window_start.le(now - WINDOW))),
        ),
    )
    .execute(conn)
}
