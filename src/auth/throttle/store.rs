//! The counters in PostgreSQL: an attempt admitted (or refused) under its
//! counters' locks, a success taken back, lock-outs reported and pruned.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{ADDRESS_LIMIT, Counter, Counters, Network, Refusal, WINDOW, judge};
use crate::{
    auth::{Realm, TypedAccount},
    schema::{sign_in_counters as c, sign_in_lockouts as l},
};

mod sql {
    diesel::define_sql_function! {
        /// PostgreSQL's GREATEST of two instants.
        fn greatest(a: diesel::sql_types::Timestamptz, b: diesel::sql_types::Timestamptz)
            -> diesel::sql_types::Timestamptz;
    }
}

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

    fn all(&self) -> [&str; 3] {
        [
            self.address.as_str(),
            self.pair.as_str(),
            self.account.as_str(),
        ]
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
        let rows = lock_and_read(conn, realm, &keys)?;
        let fresh = Counter::fresh(now);
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

/// Takes the attempt's three keys' locks, then reads the counters that
/// exist. The locks are transaction-scoped advisory locks (in a key space
/// of their own: class [`LOCK_CLASS`], the key's 32-bit hash), taken in the
/// order of their numbers, so two attempts never take them crosswise; and
/// unlike row locks they exist before their rows do. With row locks alone,
/// an attempt that found its pair's row just forgotten by a success
/// ([`succeeded`]) inserted it while holding the account's row, and another
/// attempt that had inserted it first was waiting for that account's row:
/// a deadlock, which a burst of right and wrong passwords for one account
/// met within seconds. [`admit`] and [`succeeded`], the only writers that
/// create or change counters, take these locks first, so at most one
/// transaction changes a key at a time and a missing row is simply fresh;
/// [`prune`] only deletes rows that have run out, without these locks.
///
/// The read must see what the previous holder committed: call this in a
/// READ COMMITTED transaction (the default), never in a snapshot taken
/// before the lock.
fn lock_and_read(
    conn: &mut PgConnection,
    realm: Realm,
    keys: &Keys,
) -> QueryResult<Vec<(String, Counter)>> {
    let named: Vec<String> = keys
        .all()
        .iter()
        .map(|key| format!("{}/{key}", realm.as_db()))
        .collect();
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock($1, h) FROM (SELECT DISTINCT hashtext(k) AS h \
         FROM unnest($2::text[]) AS k ORDER BY h) AS keys",
    )
    .bind::<diesel::sql_types::Integer, _>(LOCK_CLASS)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&named)
    .execute(conn)?;
    c::table
        .filter(c::realm.eq(realm.as_db()))
        .filter(c::scope_key.eq_any(keys.all()))
        .select((c::scope_key, Counter::as_select()))
        .load(conn)
}

/// The first half of the throttle's advisory lock keys. Two-number keys
/// never meet the one-number (bigint) keys of the audit log's locks.
const LOCK_CLASS: i32 = 0x5349_474e; // "SIGN"

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
    conn.transaction(|conn| {
        let rows = lock_and_read(conn, *realm, keys)?;
        let realm = realm.as_db();
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
        // Never before it began: the attempt that opened it may have read
        // the clock after this one did and still committed first.
        diesel::update(running)
            .set(l::locked_until.eq(sql::greatest(l::locked_at, now)))
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
/// lock-out running. Rows an attempt has already written in its open
/// transaction are skipped (the next round takes them), so this never
/// waits for an attempt, and an attempt that waits for it is in no cycle.
/// A row an attempt has only read may go: the attempt writes the whole
/// counter back, and a run-out counter counts as fresh anyway.
pub fn prune(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    use diesel::sql_types::Timestamptz;
    diesel::sql_query(
        "DELETE FROM sign_in_counters WHERE (realm, scope_key) IN (\
         SELECT realm, scope_key FROM sign_in_counters \
         WHERE locked_until <= $1 OR (locked_until IS NULL AND window_start <= $2) \
         FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(now - WINDOW)
    .execute(conn)
}
