//! An actix-session [`SessionStore`] backed by PostgreSQL.
//!
//! The cookie store cannot end a session before its cookie expires; a
//! security product must. Here sign-out deletes the row, and every read
//! checks the idle timeout and the absolute lifetime against the injected
//! clock, so a replayed cookie is worthless once either has passed. Only a
//! SHA-256 of the session key is stored.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use chrono::{DateTime, Duration, Utc};
use diesel::{
    prelude::*,
    sql_types::{Bytea, Double, Jsonb, Nullable, Text, Timestamptz},
};

use super::{Realm, token};
use crate::{clock::SharedClock, db::PgPool, schema::web_sessions as ws};

type State = HashMap<String, String>;

#[derive(Clone)]
pub struct PgSessionStore {
    pool: PgPool,
    clock: SharedClock,
    realm: Realm,
    idle: Duration,
    absolute: Duration,
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
        }
    }

    async fn run<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut PgConnection, DateTime<Utc>) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let now = self.clock.now();
        actix_web::rt::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            Ok(f(&mut conn, now)?)
        })
        .await?
    }

    /// Records activity: optionally new state, and a deadline of the idle
    /// timeout from now, never past the absolute lifetime. A session deleted
    /// meanwhile (sign-out in another tab) stays deleted: nothing is written
    /// and the cookie keeps pointing at nothing.
    async fn touch(
        &self,
        key: &SessionKey,
        state: Option<serde_json::Value>,
    ) -> anyhow::Result<()> {
        let (hash, realm) = (key_hash(key), self.realm.as_db());
        let (idle, absolute) = (self.idle, self.absolute.num_seconds() as f64);
        self.run(move |conn, now| {
            diesel::sql_query(
                "UPDATE web_sessions \
                 SET state = COALESCE($1, state), \
                     expires_at = LEAST($2, created_at + make_interval(secs => $3)) \
                 WHERE key_hash = $4 AND realm = $5 AND expires_at > $6",
            )
            .bind::<Nullable<Jsonb>, _>(state)
            .bind::<Timestamptz, _>(now + idle)
            .bind::<Double, _>(absolute)
            .bind::<Bytea, _>(hash)
            .bind::<Text, _>(realm)
            .bind::<Timestamptz, _>(now)
            .execute(conn)
        })
        .await?;
        Ok(())
    }
}

fn key_hash(key: &SessionKey) -> Vec<u8> {
    crate::digest::sha256(key.as_ref().as_bytes())
}

impl SessionStore for PgSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let (hash, realm) = (key_hash(session_key), self.realm.as_db());
        let state: Option<serde_json::Value> = self
            .run(move |conn, now| {
                ws::table
                    .filter(ws::key_hash.eq(hash))
                    .filter(ws::realm.eq(realm))
                    .filter(ws::expires_at.gt(now))
                    .select(ws::state)
                    .first(conn)
                    .optional()
            })
            .await
            .map_err(LoadError::Other)?;
        state
            .map(|v| serde_json::from_value(v).map_err(|e| LoadError::Deserialization(e.into())))
            .transpose()
    }

    async fn save(&self, state: State, _ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        let key = token::random_token();
        let session_key = SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))?;
        let hash = key_hash(&session_key);
        let state = serde_json::to_value(state).map_err(|e| SaveError::Serialization(e.into()))?;
        let (realm, idle) = (self.realm.as_db(), self.idle);
        self.run(move |conn, now| {
            diesel::insert_into(ws::table)
                .values((
                    ws::key_hash.eq(hash),
                    ws::realm.eq(realm),
                    ws::state.eq(state),
                    ws::created_at.eq(now),
                    ws::expires_at.eq(now + idle),
                ))
                .execute(conn)
        })
        .await
        .map_err(SaveError::Other)?;
        Ok(session_key)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        state: State,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let state =
            serde_json::to_value(state).map_err(|e| UpdateError::Serialization(e.into()))?;
        self.touch(&session_key, Some(state))
            .await
            .map_err(UpdateError::Other)?;
        Ok(session_key)
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> anyhow::Result<()> {
        self.touch(session_key, None).await
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
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

/// Removes sessions whose deadline has passed (they are already refused on
/// read; this only reclaims space).
pub fn prune(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(ws::table.filter(ws::expires_at.le(now))).execute(conn)
}
