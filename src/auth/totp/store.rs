//! Authenticators and recovery codes in PostgreSQL: where a holder stands,
//! an enrolment's confirmation, checking a code (throttled, never twice for
//! one time step), removal and reset.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use diesel::{dsl::count_star, prelude::*};

use super::{
    Holder, Policy, Sealer, Standing, Typed, matching_step, new_recovery_codes,
    record::{Event, record},
    recovery_hash,
};
use crate::{
    auth::throttle::{self, Network, Refusal},
    schema::{recovery_codes as rc, second_factors as sf},
    tenants::security,
};

/// Where `holder` stands: enrolled or not, and whether the rule requires it.
pub fn standing(conn: &mut PgConnection, holder: &Holder) -> QueryResult<Standing> {
    let required = match holder.policy {
        Policy::Tenant { tenant, role } => {
            security::role_requires_two_factor(security::requires_two_factor(conn, tenant)?, role)
        }
        Policy::Staff { required } => required,
    };
    let enrolled_at: Option<DateTime<Utc>> = row_of(holder)
        .select(sf::enrolled_at)
        .first(conn)
        .optional()?;
    let recovery_left = if enrolled_at.is_some() {
        codes_of(holder)
            .filter(rc::used_at.is_null())
            .select(count_star())
            .first(conn)?
    } else {
        0
    };
    Ok(Standing {
        enrolled_at,
        required,
        recovery_left,
    })
}

type RowOf<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<sf::table, diesel::dsl::Eq<sf::realm, &'static str>>,
    diesel::dsl::Eq<sf::account_id, uuid::Uuid>,
>;

fn row_of(holder: &Holder) -> RowOf<'static> {
    sf::table
        .filter(sf::realm.eq(holder.realm.as_db()))
        .filter(sf::account_id.eq(holder.id))
}

type CodesOf = diesel::dsl::Filter<
    diesel::dsl::Filter<rc::table, diesel::dsl::Eq<rc::realm, &'static str>>,
    diesel::dsl::Eq<rc::account_id, uuid::Uuid>,
>;

fn codes_of(holder: &Holder) -> CodesOf {
    rc::table
        .filter(rc::realm.eq(holder.realm.as_db()))
        .filter(rc::account_id.eq(holder.id))
}

/// A code checked, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Accepted; `recovery_left` when it was a recovery code.
    Accepted { recovery_left: Option<i64> },
    /// Confirmed an enrolment: its recovery codes, to be shown once.
    Enrolled { recovery_codes: Vec<String> },
    /// Neither six digits nor a recovery code: nothing counted.
    Malformed,
    /// Not the code of this authenticator now.
    Wrong,
    /// Right, but a code of this time step (or an earlier one) was
    /// accepted already.
    Replayed,
    /// Nothing to check it against (no authenticator, or no enrolment
    /// under way).
    NotEnrolled,
    /// Refused before it was checked.
    Throttled(Refusal),
    /// An enrolment that may not replace found an authenticator set up
    /// meanwhile (by the account's owner, or by whoever else had the
    /// password): it stays, nothing was enrolled.
    AlreadyEnrolled,
}

/// Where a code is entered, as audit records name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum During {
    SignIn,
    StepUp,
    Enrolment,
}

impl During {
    fn as_str(self) -> &'static str {
        match self {
            During::SignIn => "SignIn",
            During::StepUp => "StepUp",
            During::Enrolment => "Enrolment",
        }
    }
}

/// One attempt at a code: typed, from where, when.
pub struct Attempt<'a> {
    pub code: &'a str,
    pub ip: IpAddr,
    pub now: DateTime<Utc>,
    pub during: During,
}

/// Wrong codes an account may have in a throttling window from all
/// networks together. A code is six digits: the password's per-network
/// allowance alone would let someone who has the password try hundreds of
/// thousands of codes from many networks. Only the password's holder can
/// use this allowance up, so a hard cap locks no one else out.
pub const CODE_ACCOUNT_LIMIT: i32 = 10;

/// Counts the attempt before it is checked; `Err` when throttling refuses.
fn admit(
    conn: &mut PgConnection,
    holder: &Holder,
    attempt: &Attempt<'_>,
) -> QueryResult<Result<throttle::Admitted, Refusal>> {
    let account = holder.account.clone().for_codes();
    let admitted = match throttle::admit(
        conn,
        holder.realm,
        &account,
        Network::of(attempt.ip),
        attempt.now,
    )? {
        Ok(admitted) => admitted,
        Err(refusal) => return Ok(Err(refusal)),
    };
    // The account's counter was locked and counted with this attempt:
    // parallel attempts from many networks are judged one after another.
    match admitted.account_attempts() {
        (attempts, until) if attempts > CODE_ACCOUNT_LIMIT => {
            Ok(Err(Refusal::SlowedDown { until }))
        }
        _ => Ok(Ok(admitted)),
    }
}

fn failed(
    conn: &mut PgConnection,
    holder: &Holder,
    attempt: &Attempt<'_>,
    reason: &str,
) -> QueryResult<()> {
    let during = attempt.during.as_str();
    let ip = attempt.ip.to_string();
    record(
        conn,
        holder,
        Event::Failed { reason, during },
        &ip,
        attempt.now,
    )
}

/// Checks a code of `holder`'s authenticator (or one of their recovery
/// codes): throttled, and a six-digit code only for a time step after the
/// last one accepted.
pub fn verify(
    conn: &mut PgConnection,
    sealer: &Sealer,
    holder: &Holder,
    attempt: &Attempt<'_>,
) -> QueryResult<Checked> {
    let Some(typed) = Typed::parse(attempt.code) else {
        return Ok(Checked::Malformed);
    };
    let sealed: Option<Vec<u8>> = row_of(holder).select(sf::secret).first(conn).optional()?;
    let Some(secret) = sealed.and_then(|s| sealer.open(holder.realm, holder.id, &s)) else {
        return Ok(Checked::NotEnrolled);
    };
    let admitted = match admit(conn, holder, attempt)? {
        Ok(admitted) => admitted,
        Err(refusal) => return Ok(Checked::Throttled(refusal)),
    };
    let ip = attempt.ip.to_string();
    match typed {
        Typed::Totp(code) => {
            let Some(step) = matching_step(&secret, &code, attempt.now) else {
                failed(conn, holder, attempt, "InvalidCode")?;
                return Ok(Checked::Wrong);
            };
            // The step is taken only if it is later than the last one: of
            // two requests with one code, one wins.
            let taken = diesel::update(row_of(holder).filter(sf::last_step.lt(step)))
                .set(sf::last_step.eq(step))
                .execute(conn)?;
            if taken == 0 {
                failed(conn, holder, attempt, "CodeAlreadyUsed")?;
                return Ok(Checked::Replayed);
            }
            throttle::succeeded(conn, &admitted, attempt.now)?;
            Ok(Checked::Accepted {
                recovery_left: None,
            })
        }
        Typed::Recovery(code) => conn.transaction(|conn| {
            let used = diesel::update(
                codes_of(holder)
                    .filter(rc::code_hash.eq(recovery_hash(&code)))
                    .filter(rc::used_at.is_null()),
            )
            .set(rc::used_at.eq(attempt.now))
            .execute(conn)?;
            if used == 0 {
                failed(conn, holder, attempt, "InvalidRecoveryCode")?;
                return Ok(Checked::Wrong);
            }
            let left: i64 = codes_of(holder)
                .filter(rc::used_at.is_null())
                .select(count_star())
                .first(conn)?;
            // The throttle's locks before the tenant's audit lock, the
            // order every other sign-in path takes them in.
            throttle::succeeded(conn, &admitted, attempt.now)?;
            record(conn, holder, Event::RecoveryUsed { left }, &ip, attempt.now)?;
            Ok(Checked::Accepted {
                recovery_left: Some(left),
            })
        }),
    }
}

/// Confirms an enrolment with a code from its `secret` (which the
/// enrolling person's session kept): with `may_replace` (a replacement the
/// person authorised with a current code) the new secret replaces any old
/// one; without it, an authenticator set up meanwhile stays and nothing
/// is enrolled. Ten new recovery codes replace the old ones.
pub fn confirm(
    conn: &mut PgConnection,
    sealer: &Sealer,
    holder: &Holder,
    secret: &[u8],
    attempt: &Attempt<'_>,
    may_replace: bool,
) -> QueryResult<Checked> {
    let Some(Typed::Totp(code)) = Typed::parse(attempt.code) else {
        return Ok(Checked::Malformed);
    };
    let admitted = match admit(conn, holder, attempt)? {
        Ok(admitted) => admitted,
        Err(refusal) => return Ok(Checked::Throttled(refusal)),
    };
    let Some(step) = matching_step(secret, &code, attempt.now) else {
        failed(conn, holder, attempt, "InvalidCode")?;
        return Ok(Checked::Wrong);
    };
    let codes = new_recovery_codes();
    let ip = attempt.ip.to_string();
    let sealed = sealer.seal(holder.realm, holder.id, secret);
    let enrolled = conn.transaction(|conn| {
        let replaced = may_replace && diesel::delete(row_of(holder)).execute(conn)? > 0;
        let inserted = diesel::insert_into(sf::table)
            .values((
                sf::realm.eq(holder.realm.as_db()),
                sf::account_id.eq(holder.id),
                sf::secret.eq(&sealed),
                sf::last_step.eq(step),
                sf::enrolled_at.eq(attempt.now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if inserted == 0 {
            // Someone enrolled this account meanwhile: theirs stays.
            return Ok(false);
        }
        let rows: Vec<_> = codes
            .iter()
            .map(|c| {
                (
                    rc::realm.eq(holder.realm.as_db()),
                    rc::account_id.eq(holder.id),
                    rc::code_hash.eq(recovery_hash(c)),
                )
            })
            .collect();
        diesel::insert_into(rc::table).values(rows).execute(conn)?;
        record(conn, holder, Event::Enrolled { replaced }, &ip, attempt.now)?;
        Ok::<_, diesel::result::Error>(true)
    })?;
    if !enrolled {
        return Ok(Checked::AlreadyEnrolled);
    }
    throttle::succeeded(conn, &admitted, attempt.now)?;
    Ok(Checked::Enrolled {
        recovery_codes: codes,
    })
}

/// Removes `holder`'s authenticator and recovery codes (and any enrolment
/// under way), recorded as `event` (removed by themselves, or reset).
/// Returns whether there was anything to remove.
pub fn remove(
    conn: &mut PgConnection,
    holder: &Holder,
    event: Event<'_>,
    ip: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    conn.transaction(|conn| {
        // The recovery codes go with it (ON DELETE CASCADE).
        let removed = diesel::delete(row_of(holder)).execute(conn)?;
        if removed > 0 {
            record(conn, holder, event, ip, now)?;
        }
        Ok(removed > 0)
    })
}

/// Which of `ids` (accounts of `realm`) have an authenticator.
pub fn enrolled_among(
    conn: &mut PgConnection,
    realm: crate::auth::Realm,
    ids: &[uuid::Uuid],
) -> QueryResult<Vec<uuid::Uuid>> {
    sf::table
        .filter(sf::realm.eq(realm.as_db()))
        .filter(sf::account_id.eq_any(ids))
        .select(sf::account_id)
        .load(conn)
}
