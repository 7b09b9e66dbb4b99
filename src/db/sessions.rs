//! Which stored session a request's cookie names, and whether it is still
//! live: the one filter every read of a session uses (the session store's
//! own, and each portal's read of a session together with its signed-in
//! account), so the rule is written once.

use chrono::{DateTime, Utc};
use diesel::{dsl, prelude::*};

use crate::schema::web_sessions as ws;

/// A stored session as read: its state, creation, deadline and the
/// account it is signed in as (if any).
pub type Stored = (
    serde_json::Value,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<uuid::Uuid>,
);

/// A stored session with what its account reads as (`None`: no account
/// signed in, or the account is gone).
pub type WithPrincipal<P> = (Stored, Option<P>);

/// The columns of [`Stored`].
pub const STORED: (ws::state, ws::created_at, ws::expires_at, ws::principal_id) =
    (ws::state, ws::created_at, ws::expires_at, ws::principal_id);

/// The session looked for: the SHA-256 of its key, the portal it belongs
/// to, and the time it must still be live at.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    pub key_hash: &'a [u8],
    pub realm: &'a str,
    pub now: DateTime<Utc>,
}

/// The filter of [`Lookup::live`].
pub type Live<'a> = dsl::And<
    dsl::And<dsl::Eq<ws::key_hash, &'a [u8]>, dsl::Eq<ws::realm, &'a str>>,
    dsl::Gt<ws::expires_at, DateTime<Utc>>,
>;

impl<'a> Lookup<'a> {
    /// The session under this key in this portal, if its deadline has not
    /// passed (a deadline is over the instant it is reached).
    pub fn live(&self) -> Live<'a> {
        ws::key_hash
            .eq(self.key_hash)
            .and(ws::realm.eq(self.realm))
            .and(ws::expires_at.gt(self.now))
    }
}
