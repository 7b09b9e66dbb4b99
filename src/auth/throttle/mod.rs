//! Brute-force throttling that an attacker cannot turn against a real user.
//!
//! # Counted before the password is checked
//!
//! An attempt is judged and counted in one transaction that holds its
//! counters' locks (advisory locks, one per counter key), *before* its
//! password is hashed; a failure then needs no further write, and a
//! success takes its attempt back ([`succeeded`]). So a burst of parallel
//! guesses is judged one guess after the other: of 200 concurrent guesses
//! for one account from one address, [`PAIR_LIMIT`] reach the password
//! check and the rest are refused. State lives in PostgreSQL, so every
//! lockbox process sees the same counts.
//!
//! # Three counters per attempt
//!
//! Each is a row of `sign_in_counters` whose window of [`WINDOW`] starts
//! with its first attempt (a lock-out's end starts a new one):
//!
//! - **the pair** (account, network): after [`PAIR_LIMIT`] attempts the
//!   pair is locked out for [`LOCKOUT`]. The real user, coming from another
//!   network, is not affected.
//! - **the network**, across accounts: after [`ADDRESS_LIMIT`] attempts it
//!   is locked out for [`LOCKOUT`] (password spraying from one place).
//! - **the account**, across networks: never locked; see the slowdown below.
//!
//! A network is an IPv4 address, or the /64 an IPv6 address belongs to: a
//! host may use any address of its /64, so counting per IPv6 address would
//! hand an attacker 2^64 fresh starts ([`Network`]).
//!
//! # The per-account slowdown, and why it cannot lock the real user out
//!
//! Guessing from many networks gets [`PAIR_LIMIT`] guesses per network. Once
//! an account has [`ACCOUNT_SLOWDOWN_AFTER`] attempts in its window from
//! anywhere, an attempt from a network that *itself* has a failure for
//! this account in its window must come at least [`slowdown`] after the
//! account's previous attempt: 1 s, doubling with every further attempt, at
//! most [`MAX_SLOWDOWN`] — and never more than [`MAX_SLOWDOWN`] after that
//! network's own previous attempt, so attempts from other networks cannot
//! keep pushing the wait out. The refusal lasts at most that long and is
//! never a lock-out.
//!
//! The slowdown applies only to networks with failures of their own, so an
//! attacker, whose every network has failed, can never make it apply to a
//! network they have not used: the real user signing in from their usual
//! place without having mistyped is never slowed down, however many
//! networks the attack comes from. (A slowdown shared by all networks would
//! let an attacker who keeps trying take every slot and so lock the real
//! user out.) The price is that each fresh network still gets its first
//! guess at once: once the slowdown applies, guessing from many networks
//! is held to about one guess per new network plus one per
//! [`MAX_SLOWDOWN`], instead of [`PAIR_LIMIT`] per network.
//!
//! # Lock-outs in the audit log
//!
//! A refused attempt writes nothing to any audit log. A lock-out of a pair
//! gets a row of `sign_in_lockouts` that counts the attempts it refused; it
//! is reported once, after it has ended, by housekeeping
//! ([`crate::auth::report_ended_lockouts`]). Network lock-outs and the
//! slowdown span accounts (and tenants) and are only traced.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
};

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::schema::sign_in_counters as c;

/// Attempts per (account, network) in a window before the pair is locked out.
pub const PAIR_LIMIT: i32 = 5;
/// Attempts per network across accounts in a window before it is locked out.
pub const ADDRESS_LIMIT: i32 = 50;
/// Attempts for an account across networks in a window before networks
/// with failures of their own are slowed down.
pub const ACCOUNT_SLOWDOWN_AFTER: i32 = 20;
pub const WINDOW: Duration = Duration::minutes(15);
pub const LOCKOUT: Duration = Duration::minutes(15);
/// The longest wait the per-account slowdown imposes.
pub const MAX_SLOWDOWN: Duration = Duration::seconds(30);

/// Where attempts come from, as throttling and rate limits count them: an
/// IPv4 address, or the /64 of an IPv6 address (an IPv4-mapped IPv6
/// address counts as its IPv4 address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network(IpAddr);

impl Network {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => Self(IpAddr::V6(Ipv6Addr::from(
                    u128::from(v6) & !(u128::from(u64::MAX)),
                ))),
            },
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// One key's count within its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = c, check_for_backend(diesel::pg::Pg))]
pub struct Counter {
    pub window_start: DateTime<Utc>,
    /// Attempts of the window that did not succeed, including those whose
    /// password is still being checked.
    pub attempts: i32,
    pub last_attempt_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Counter {
    pub fn fresh(now: DateTime<Utc>) -> Self {
        Self {
            window_start: now,
            attempts: 0,
            last_attempt_at: now,
            locked_until: None,
        }
    }

    /// The counter as it stands at `now`: once its window has run out, or
    /// its lock-out has ended, it starts over.
    fn at(self, now: DateTime<Utc>) -> Self {
        match self.locked_until {
            Some(until) if until > now => self,
            Some(_) => Self::fresh(now),
            None if self.window_start + WINDOW <= now => Self::fresh(now),
            None => self,
        }
    }

    fn locked(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| *until > now)
    }

    /// Counts one admitted attempt; a key with a limit is locked out when
    /// it reaches it (before the password is checked: if that attempt
    /// succeeds, [`succeeded`] lifts the lock again).
    fn count(self, now: DateTime<Utc>, limit: Option<i32>) -> Self {
        let attempts = self.attempts.saturating_add(1);
        let locked_until = match limit {
            Some(limit) if attempts >= limit => Some(now + LOCKOUT),
            _ => self.locked_until,
        };
        Self {
            attempts,
            last_attempt_at: now,
            locked_until,
            ..self
        }
    }
}

/// The three counters an attempt is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub address: Counter,
    pub pair: Counter,
    pub account: Counter,
}

/// Why an attempt was refused before its password was checked, and until
/// when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This network tried too many accounts.
    NetworkLockedOut { until: DateTime<Utc> },
    /// Too many failures for this account from this network.
    PairLockedOut { until: DateTime<Utc> },
    /// The account is failing from many networks and this one has failed
    /// for it too: a short wait (see the module documentation).
    SlowedDown { until: DateTime<Utc> },
}

impl Refusal {
    pub fn until(&self) -> DateTime<Utc> {
        match *self {
            Refusal::NetworkLockedOut { until }
            | Refusal::PairLockedOut { until }
            | Refusal::SlowedDown { until } => until,
        }
    }
}

/// The wait the per-account slowdown imposes on an account with `attempts`
/// in its window: none below [`ACCOUNT_SLOWDOWN_AFTER`], then 1 s doubling
/// with each further attempt, at most [`MAX_SLOWDOWN`].
pub fn slowdown(attempts: i32) -> Option<Duration> {
    let over = u32::try_from(attempts.checked_sub(ACCOUNT_SLOWDOWN_AFTER)?).ok()?;
    Some(Duration::seconds(1_i64 << over.min(16)).min(MAX_SLOWDOWN))
}

/// Judges an attempt by its counters at `now`: the counters with the
/// attempt counted, or why it is refused. Pure; [`admit`] runs it under
/// the counters' locks.
pub fn judge(counters: Counters, now: DateTime<Utc>) -> Result<Counters, Refusal> {
    let (address, pair, account) = (
        counters.address.at(now),
        counters.pair.at(now),
        counters.account.at(now),
    );
    if let Some(until) = address.locked(now) {
        return Err(Refusal::NetworkLockedOut { until });
    }
    if let Some(until) = pair.locked(now) {
        return Err(Refusal::PairLockedOut { until });
    }
    if pair.attempts > 0
        && let Some(wait) = slowdown(account.attempts)
    {
        // Others' attempts move the account's clock; this network's own
        // last attempt bounds the wait, so attempts from elsewhere can
        // never keep it waiting longer than MAX_SLOWDOWN.
        let until = (account.last_attempt_at + wait).min(pair.last_attempt_at + MAX_SLOWDOWN);
        if now < until {
            return Err(Refusal::SlowedDown { until });
        }
    }
    Ok(Counters {
        address: address.count(now, Some(ADDRESS_LIMIT)),
        pair: pair.count(now, Some(PAIR_LIMIT)),
        account: account.count(now, None),
    })
}

mod store;

pub use store::*;

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("valid")
    }

    fn fresh() -> Counters {
        let f = Counter::fresh(t0());
        Counters {
            address: f,
            pair: f,
            account: f,
        }
    }

    /// Runs `n` admitted attempts through `judge` at `now`.
    fn admit_n(mut counters: Counters, n: usize, now: DateTime<Utc>) -> Counters {
        for i in 0..n {
            counters = judge(counters, now).unwrap_or_else(|r| panic!("attempt {i}: {r:?}"));
        }
        counters
    }

    #[test]
    fn networks_are_ipv4_addresses_and_ipv6_slash_64s() {
        let net = |s: &str| Network::of(s.parse().expect("ip")).to_string();
        assert_eq!(net("203.0.113.9"), "203.0.113.9");
        assert_eq!(net("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(net("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(net("2001:db8:1:3::1"), net("2001:db8:1:2::1"));
        assert_eq!(net("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(net("::1"), "::/64");
    }

    #[test]
    fn the_pair_limit_locks_the_pair_from_the_attempt_that_reaches_it() {
        let now = t0();
        let counters = admit_n(fresh(), 4, now);
        assert_eq!(counters.pair.locked_until, None);
        let counters = admit_n(counters, 1, now);
        assert_eq!(counters.pair.locked_until, Some(now + LOCKOUT));
        assert_eq!(
            judge(counters, now),
            Err(Refusal::PairLockedOut {
                until: now + LOCKOUT
            })
        );
        let later = now + LOCKOUT - Duration::seconds(1);
        assert!(judge(counters, later).is_err());
        let ended = judge(counters, now + LOCKOUT).expect("the lock-out has ended");
        assert_eq!(ended.pair.attempts, 1, "a new window");
    }

    #[test]
    fn a_window_that_has_run_out_starts_over() {
        let counters = admit_n(fresh(), 4, t0());
        let next = judge(counters, t0() + WINDOW).expect("admitted");
        assert_eq!(next.pair.attempts, 1);
        assert_eq!(next.pair.window_start, t0() + WINDOW);
        let next = judge(counters, t0() + WINDOW - Duration::seconds(1)).expect("admitted");
        assert_eq!(next.pair.attempts, 5);
    }

    #[test]
    fn the_network_limit_locks_the_network_across_accounts() {
        let now = t0();
        let mut counters = fresh();
        counters.address.attempts = ADDRESS_LIMIT - 1;
        let counters = judge(counters, now).expect("the 50th is admitted");
        let other_account = Counters {
            pair: Counter::fresh(now),
            account: Counter::fresh(now),
            ..counters
        };
        assert_eq!(
            judge(other_account, now),
            Err(Refusal::NetworkLockedOut {
                until: now + LOCKOUT
            })
        );
    }

    #[test]
    fn the_slowdown_grows_from_one_second_to_its_cap() {
        assert_eq!(slowdown(ACCOUNT_SLOWDOWN_AFTER - 1), None);
        assert_eq!(slowdown(ACCOUNT_SLOWDOWN_AFTER), Some(Duration::seconds(1)));
        assert_eq!(
            slowdown(ACCOUNT_SLOWDOWN_AFTER + 2),
            Some(Duration::seconds(4))
        );
        assert_eq!(slowdown(ACCOUNT_SLOWDOWN_AFTER + 5), Some(MAX_SLOWDOWN));
        assert_eq!(slowdown(i32::MAX), Some(MAX_SLOWDOWN));
    }

    #[test]
    fn the_slowdown_holds_back_networks_with_failures_but_never_a_clean_one() {
        let now = t0();
        let mut counters = fresh();
        counters.account.attempts = ACCOUNT_SLOWDOWN_AFTER;
        counters.account.last_attempt_at = now;
        let clean = judge(counters, now).expect("a clean network is never slowed down");
        assert_eq!(clean.account.attempts, ACCOUNT_SLOWDOWN_AFTER + 1);

        counters.pair.attempts = 1;
        assert_eq!(
            judge(counters, now),
            Err(Refusal::SlowedDown {
                until: now + Duration::seconds(1)
            })
        );
        let after = judge(counters, now + Duration::seconds(1)).expect("the wait is over");
        assert_eq!(
            judge(after, now + Duration::seconds(2)),
            Err(Refusal::SlowedDown {
                until: now + Duration::seconds(3)
            }),
            "the next wait is twice as long, from the last attempt"
        );
    }

    /// Review finding: an attacker guessing from a fresh network every few
    /// seconds kept moving the account's last attempt, so a real user who
    /// had mistyped once stayed slowed down for the whole window.
    #[test]
    fn attempts_from_elsewhere_never_keep_a_network_waiting_past_the_cap() {
        let now = t0();
        let mut victim = fresh();
        victim.pair.attempts = 1; // one typo from the victim's own network
        victim.pair.last_attempt_at = now;
        victim.account.attempts = ACCOUNT_SLOWDOWN_AFTER + 10;
        // The attacker's latest guess, from another network, a moment ago.
        let later = now + MAX_SLOWDOWN;
        victim.account.last_attempt_at = later - Duration::seconds(1);
        let admitted = judge(victim, later).expect("the cap from its own attempt has passed");
        assert_eq!(admitted.pair.attempts, 2);
        assert!(
            judge(victim, later - Duration::seconds(1)).is_err(),
            "still within the cap"
        );
    }
}
