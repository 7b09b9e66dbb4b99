//! An actix-session [`SessionStore`] backed by PostgreSQL.
//!
//! The cookie store cannot end a session before its cookie expires; a
//! security product must. Here sign-out deletes the row, and every read
//! checks the idle timeout and the absolute lifetime against the injected
//! clock, so a replayed cookie is worthless once either has passed. Only a
//! SHA-256 of the session key is stored.
//!
//! A visitor who has not signed in holds nothing but the CSRF token of the
//! sign-in form. Such a session is not stored at all: its key *is* the
//! token (with the time it was issued), carried in the signed session
//! cookie, so loading the sign-in page writes no row however often it is
//! asked for. The form's check is unchanged — the token must match the
//! session's — and signing in renews the session into a stored one.
//!
//! Reading a page writes nothing. The idle deadline is moved on by a
//! request only when it would move by a minute or more, in the same pool
//! checkout as the read: a busy session costs one small UPDATE a minute,
//! not one per page view. So the idle timeout is exact to that minute: a
//! session ends between `idle − 1 min` and `idle` after its last request.
//!
//! The signed-in principal comes in the same statement: the store keeps
//! the account's id beside the state (`principal_id`), the portal gives
//! it a [`PrincipalLoader`] that reads the session joined with its
//! account, and [`SessionStore::load`] hands the account to the request
//! as the portal's own type ([`handed_over`]), not through the session's
//! state: that is JSON text, and writing the account into it and reading
//! it back was a thirtieth of an Audit page's instructions. In a page view
//! the connection then serves the page's own queries
//! (`crate::db::one_checkout`).

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use chrono::{DateTime, Duration, Utc};
use diesel::{
    prelude::*,
    sql_types::{Bytea, Double, Jsonb, Nullable, Text, Timestamptz},
};

use super::{Realm, token};
use crate::{
    clock::SharedClock,
    db::{
        DbError, PgPool,
        sessions::{Lookup, STORED, Stored, WithPrincipal},
    },
    schema::web_sessions as ws,
};
use hand_over::{HANDED, HandOver};
pub use hand_over::{Handed, hand_over_scope, handed_over, handed_over_zone};

type State = HashMap<String, String>;

/// How a portal loads its signed-in principal: the state key that holds
/// the principal's id, and the function that reads a live session with
/// its principal in one statement (`None`: no live session; a `None`
/// principal: none signed in, or the account is gone).
#[derive(Clone, Copy)]
pub struct PrincipalLoader {
    pub key: &'static str,
    pub load: fn(&mut PgConnection, &Lookup<'_>) -> QueryResult<Option<WithPrincipal<Handed>>>,
}

/// The state key of a session that could not be read because the
/// database is unreachable (see [`SessionStore::load`]).
pub const UNAVAILABLE: &str = "\u{1}unavailable";

/// A request moves the idle deadline only when it would move by this much.
pub const EXTEND_EVERY: Duration = Duration::minutes(1);

#[derive(Clone)]
pub struct PgSessionStore {
    pool: PgPool,
    clock: SharedClock,
    realm: Realm,
    idle: Duration,
    absolute: Duration,
    principal: Option<PrincipalLoader>,
}

impl PgSessionStore {
    pub fn new(
        pool: PgPool,
        clock: SharedClock,
        realm: Realm,
        idle: Duration,
        absolute: Duration,
    ) -> Self {
        Self {
            pool,
            clock,
            realm,
            idle,
            absolute,
            principal: None,
        }
    }

    /// Loads the signed-in principal with the session (see [`handed_over`]).
    pub fn with_principal(mut self, loader: PrincipalLoader) -> Self {
        self.principal = Some(loader);
        self
    }

    async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut PgConnection, DateTime<Utc>) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let now = self.clock.now();
        // On the request's connection in a page view: the page's own
        // queries follow on it (`crate::db::one_checkout`).
        crate::db::blocking(&self.pool, move |conn| {
            // A session that cannot be read because the database is away
            // is answered 503 (see `crate::web::unavailable`).
            f(conn, now)
                .inspect_err(|e| {
                    crate::db::health::is_connection_error(e);
                })
                .map_err(DbError::from)
        })
        .await
    }

    /// Records activity: optionally new state, and a deadline of the idle
    /// timeout from now (see [`extend`]).
    async fn touch(&self, key: &SessionKey, state: Option<NewState>) -> anyhow::Result<()> {
        let (hash, realm) = (key_hash(key), self.realm.as_db());
        let (idle, absolute) = (self.idle, self.absolute);
        self.run(move |conn, now| extend(conn, &hash, realm, state, now, idle, absolute))
            .await?;
        Ok(())
    }

    /// The session's state with its principal (one statement with a
    /// loader), moving the idle deadline when it is a minute or more
    /// behind; `None` when there is no live session under `hash`.
    fn read(
        &self,
        conn: &mut PgConnection,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> QueryResult<Option<(serde_json::Value, Option<HandOver>)>> {
        let realm = self.realm.as_db();
        let lookup = Lookup {
            key_hash: hash,
            realm,
            now,
        };
        let found = match self.principal {
            Some(loader) => (loader.load)(conn, &lookup)?,
            None => ws::table
                .filter(lookup.live())
                .select(STORED)
                .first::<Stored>(conn)
                .optional()?
                .map(|stored| (stored, None)),
        };
        let Some(((state, created, expires, principal), account)) = found else {
            return Ok(None);
        };
        let due = (now + self.idle).min(created + self.absolute);
        if due - expires >= EXTEND_EVERY {
            extend(conn, hash, realm, None, now, self.idle, self.absolute)?;
        }
        let handed = principal
            .filter(|_| self.principal.is_some())
            .map(|id| HandOver { id, account });
        Ok(Some((state, handed)))
    }

    /// The account `state` is signed in as, kept beside it so a read can
    /// join it (see [`PrincipalLoader`]).
    fn principal_of(&self, state: &State) -> Option<uuid::Uuid> {
        let key = self.principal?.key;
        serde_json::from_str(state.get(key)?).ok()
    }
}

/// Moves the deadline to the idle timeout from now, never past the
/// absolute lifetime, optionally with new state. A session deleted
/// meanwhile (sign-out in another tab) stays deleted: nothing is written
/// and the cookie keeps pointing at nothing.
fn extend(
    conn: &mut PgConnection,
    hash: &[u8],
    realm: &str,
    state: Option<NewState>,
    now: DateTime<Utc>,
    idle: Duration,
    absolute: Duration,
) -> QueryResult<usize> {
    let (state, principal) = state.map_or((None, None), |(s, p)| (Some(s), p));
    diesel::sql_query(
        "UPDATE web_sessions \
         SET state = COALESCE($1, state), \
             principal_id = CASE WHEN $1 IS NULL THEN principal_id ELSE $7 END, \
             expires_at = LEAST($2, created_at + make_interval(secs => $3)) \
         WHERE key_hash = $4 AND realm = $5 AND expires_at > $6",
    )
    .bind::<Nullable<Jsonb>, _>(state)
    .bind::<Timestamptz, _>(now + idle)
    .bind::<Double, _>(absolute.num_seconds() as f64)
    .bind::<Bytea, _>(hash)
    .bind::<Text, _>(realm)
    .bind::<Timestamptz, _>(now)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(principal)
    .execute(conn)
}

/// A session's new state, and the account it is signed in as.
type NewState = (serde_json::Value, Option<uuid::Uuid>);

fn key_hash(key: &SessionKey) -> Vec<u8> {
    crate::digest::sha256(key.as_ref().as_bytes())
}

/// The session key of an anonymous session: `anon.<issued>.<token>`.
/// Stored keys are hex and never contain a `.`.
const ANONYMOUS: &str = "anon.";
/// The state key of the CSRF token (see `web::forms::PortalSession`).
const CSRF: &str = "csrf";

/// The key that carries `state` itself, if the state is only a CSRF token.
fn anonymous_key(state: &State, now: DateTime<Utc>) -> Option<SessionKey> {
    if state.len() != 1 {
        return None;
    }
    let token: String = serde_json::from_str(state.get(CSRF)?).ok()?;
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    SessionKey::try_from(format!("{ANONYMOUS}{}.{token}", now.timestamp())).ok()
}

/// The state an anonymous key carries, while it is younger than `absolute`;
/// `Some(None)` for an anonymous key that is malformed or too old.
fn anonymous_state(
    key: &SessionKey,
    now: DateTime<Utc>,
    absolute: Duration,
) -> Option<Option<State>> {
    let rest = key.as_ref().strip_prefix(ANONYMOUS)?;
    let state = rest.split_once('.').and_then(|(issued, token)| {
        let issued = DateTime::from_timestamp(issued.parse().ok()?, 0)?;
        let fresh = issued <= now && now - issued < absolute;
        let valid = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
        (fresh && valid).then(|| {
            let value = serde_json::Value::String(token.to_owned()).to_string();
            State::from([(CSRF.to_owned(), value)])
        })
    });
    Some(state)
}

fn is_anonymous(key: &SessionKey) -> bool {
    key.as_ref().starts_with(ANONYMOUS)
}

impl SessionStore for PgSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        if let Some(state) = anonymous_state(session_key, self.clock.now(), self.absolute) {
            return Ok(state);
        }
        let hash = key_hash(session_key);
        let store = self.clone();
        let state = match self
            .run(move |conn, now| store.read(conn, &hash, now))
            .await
        {
            Ok(state) => state,
            // The database is away: the request goes on with this marker
            // alone, and is answered 503 before any handler runs (see
            // `crate::web::unavailable`); nothing is written back.
            Err(e) if e.is_unavailable() => {
                return Ok(Some(State::from([(
                    UNAVAILABLE.to_owned(),
                    "true".to_owned(),
                )])));
            }
            Err(e) => return Err(LoadError::Other(e.into())),
        };
        let Some((state, handed)) = state else {
            return Ok(None);
        };
        // What this read found replaces whatever the room held, also when
        // it found no account. Outside a hand-over scope the account is
        // dropped here, and whoever needs it reads it again.
        let _ = HANDED.try_with(|room| *room.borrow_mut() = handed);
        serde_json::from_value(state)
            .map(Some)
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(&self, state: State, _ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        if let Some(key) = anonymous_key(&state, self.clock.now()) {
            return Ok(key);
        }
        let key = token::random_token();
        let session_key = SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))?;
        let hash = key_hash(&session_key);
        let principal = self.principal_of(&state);
        let state = serde_json::to_value(state).map_err(|e| SaveError::Serialization(e.into()))?;
        let (realm, idle) = (self.realm.as_db(), self.idle);
        self.run(move |conn, now| {
            diesel::insert_into(ws::table)
                .values((
                    ws::key_hash.eq(hash),
                    ws::realm.eq(realm),
                    ws::state.eq(state),
                    ws::principal_id.eq(principal),
                    ws::created_at.eq(now),
                    ws::expires_at.eq(now + idle),
                ))
                .execute(conn)
        })
        .await
        .map_err(|e| SaveError::Other(e.into()))?;
        Ok(session_key)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        state: State,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        if is_anonymous(&session_key) {
            // Nothing is stored under an anonymous key: the new state gets
            // a key of its own (anonymous again, or a stored session).
            return self.save(state, ttl).await.map_err(|e| match e {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            });
        }
        let principal = self.principal_of(&state);
        let state =
            serde_json::to_value(state).map_err(|e| UpdateError::Serialization(e.into()))?;
        self.touch(&session_key, Some((state, principal)))
            .await
            .map_err(UpdateError::Other)?;
        Ok(session_key)
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> anyhow::Result<()> {
        if is_anonymous(session_key) {
            return Ok(());
        }
        self.touch(session_key, None).await
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        if is_anonymous(session_key) {
            return Ok(());
        }
        let (hash, realm) = (key_hash(session_key), self.realm.as_db());
        self.run(move |conn, _| {
            diesel::delete(
                ws::table
                    .filter(ws::key_hash.eq(hash))
                    .filter(ws::realm.eq(realm)),
            )
            .execute(conn)
        })
        .await?;
        Ok(())
    }
}

/// Sessions [`prune`] deletes per statement.
pub const PRUNE_BATCH: i64 = 1_000;

/// Removes sessions whose deadline has passed (they are already refused on
/// read; this only reclaims space), [`PRUNE_BATCH`] at a time, each batch
/// its own short statement, so no long lock or huge transaction builds up
/// and the table's space is reused instead of bloating. Signed-out
/// sessions are deleted at sign-out already.
pub fn prune(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    use diesel::sql_types::BigInt;
    let mut total = 0;
    loop {
        let deleted = diesel::sql_query(
            "DELETE FROM web_sessions WHERE key_hash IN \
             (SELECT key_hash FROM web_sessions WHERE expires_at <= $1 LIMIT $2)",
        )
        .bind::<Timestamptz, _>(now)
        .bind::<BigInt, _>(PRUNE_BATCH)
        .execute(conn)?;
        total += deleted;
        if (deleted as i64) < PRUNE_BATCH {
            return Ok(total);
        }
    }
}

mod hand_over;
#[cfg(test)]
mod tests;
