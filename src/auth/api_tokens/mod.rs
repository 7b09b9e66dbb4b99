//! API tokens (SPEC §8). A customer token is created by a global
//! administrator of the tenant and acts with that user's rights, capped by
//! its scope: if the user loses their Customer Lockbox role the token stops
//! working at once, because every call loads the user afresh. A staff token
//! acts as its staff member. The secret (`lbx_` and 256 random bits in hex)
//! is shown once; only its SHA-256 is stored, so a stolen table opens
//! nothing.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::token;
use crate::{
    audit,
    digest::sha256,
    identity::{StaffId, TenantId},
    schema::api_tokens as t,
    tenants::TenantUser,
};

/// What a token may do, each scope including the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenScope {
    /// List and read requests, search and export the audit log.
    Read,
    /// Read, and decide on requests.
    Decide,
    /// Decide, and change the organization's configuration.
    Admin,
}

impl TokenScope {
    pub const ALL: [TokenScope; 3] = [TokenScope::Read, TokenScope::Decide, TokenScope::Admin];

    pub fn as_db(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Decide => "decide",
            TokenScope::Admin => "admin",
        }
    }

    pub fn from_db(raw: &str) -> Option<Self> {
        TokenScope::ALL.into_iter().find(|s| s.as_db() == raw)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            TokenScope::Read => "token-scope-read",
            TokenScope::Decide => "token-scope-decide",
            TokenScope::Admin => "token-scope-admin",
        }
    }
}

/// The prefix of every secret, so a leaked one is recognisable (secret
/// scanners) and a bearer value that lacks it is refused without a query.
pub const SECRET_PREFIX: &str = "lbx_";
/// Expiry bounds, in days.
pub const MIN_DAYS: i64 = 1;
pub const MAX_DAYS: i64 = 365;
pub const DEFAULT_DAYS: i64 = 90;

/// A new token as typed: a name, a scope, days until it expires.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewTokenInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub expires_days: String,
}

/// A validated new token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub scope: TokenScope,
    pub valid_for: Duration,
}

impl NewTokenInput {
    /// Parses every field, collecting every error (translation keys).
    pub fn parse(
        &self,
    ) -> Result<NewToken, std::collections::BTreeMap<&'static str, &'static str>> {
        let mut errors = std::collections::BTreeMap::new();
        let name = self.name.trim();
        if name.is_empty() {
            errors.insert("name", "error-token-name-required");
        } else if name.chars().count() > 100 || name.chars().any(char::is_control) {
            errors.insert("name", "error-token-name-invalid");
        }
        let scope = TokenScope::from_db(self.scope.trim());
        if scope.is_none() {
            errors.insert("scope", "error-token-scope");
        }
        let days = match self.expires_days.trim() {
            "" => Some(DEFAULT_DAYS),
            raw => raw
                .parse::<i64>()
                .ok()
                .filter(|d| (MIN_DAYS..=MAX_DAYS).contains(d)),
        };
        if days.is_none() {
            errors.insert("expires_days", "error-token-expiry");
        }
        match (scope, days) {
            (Some(scope), Some(days)) if errors.is_empty() => Ok(NewToken {
                name: name.to_owned(),
                scope,
                valid_for: Duration::days(days),
            }),
            _ => Err(errors),
        }
    }
}

/// A token as listed (never its secret).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = t)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn scope(&self) -> TokenScope {
        TokenScope::from_db(&self.scope).unwrap_or(TokenScope::Read)
    }

    /// Usable at `now`: neither revoked nor expired.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    /// "revoked", "active" or "expired" at `now` (the pages' label).
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        match (self.revoked_at, self.is_active(now)) {
            (Some(_), _) => "revoked",
            (None, true) => "active",
            (None, false) => "expired",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Only a tenant's global administrators manage its tokens.
    #[error("only global administrators manage API tokens")]
    NotAllowed,
    #[error("no such token")]
    NotFound,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// A fresh secret and the digest that is stored.
fn new_secret() -> (String, Vec<u8>) {
    let secret = format!("{SECRET_PREFIX}{}", token::random_token());
    let hash = sha256(secret.as_bytes());
    (secret, hash)
}

/// Creates a token for `creator`'s tenant, acting as `creator`; returns it
/// with its secret, which is never available again. Audited.
pub fn create_customer_token(
    conn: &mut PgConnection,
    creator: &TenantUser,
    new: &NewToken,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<(ApiToken, String), TokenError> {
    if !creator.role.may_configure() {
        return Err(TokenError::NotAllowed);
    }
    let (secret, hash) = new_secret();
    conn.transaction(|conn| {
        let created: ApiToken = diesel::insert_into(t::table)
            .values((
                t::id.eq(Uuid::new_v4()),
                t::realm.eq("customer"),
                t::tenant_id.eq(creator.tenant_id),
                t::user_id.eq(creator.id),
                t::name.eq(&new.name),
                t::scope.eq(new.scope.as_db()),
                t::secret_hash.eq(&hash),
                t::created_at.eq(now),
                t::expires_at.eq(now + new.valid_for),
            ))
            .returning(ApiToken::as_returning())
            .get_result(conn)?;
        audit::append(
            conn,
            audit::Entry {
                tenant_id: creator.tenant_id,
                occurred_at: now,
                actor,
                activity: audit::activity::NEW_API_TOKEN,
                item: created.id.to_string(),
                parameters: json!({
                    "TokenId": created.id,
                    "Name": created.name,
                    "Scope": created.scope,
                    "ExpiresAt": created.expires_at,
                }),
                request_id: None,
            },
        )?;
        Ok((created, secret))
    })
}

/// The tenant's tokens, newest first (at most `limit`).
pub fn list_customer_tokens(
    conn: &mut PgConnection,
    tenant: TenantId,
    limit: i64,
) -> QueryResult<Vec<ApiToken>> {
    t::table
        .filter(t::tenant_id.eq(tenant))
        .order((t::created_at.desc(), t::id.desc()))
        .limit(limit)
        .select(ApiToken::as_select())
        .load(conn)
}

/// Revokes one of `by`'s tenant's tokens; audited. Revoking a revoked token
/// changes nothing and records nothing.
pub fn revoke_customer_token(
    conn: &mut PgConnection,
    by: &TenantUser,
    id: Uuid,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<ApiToken, TokenError> {
    if !by.role.may_configure() {
        return Err(TokenError::NotAllowed);
    }
    conn.transaction(|conn| {
        let found: ApiToken = t::table
            .filter(t::id.eq(id))
            .filter(t::tenant_id.eq(by.tenant_id))
            .select(ApiToken::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(TokenError::NotFound)?;
        if found.revoked_at.is_some() {
            return Ok(found);
        }
        let revoked: ApiToken = diesel::update(t::table.find(id))
            .set(t::revoked_at.eq(now))
            .returning(ApiToken::as_returning())
            .get_result(conn)?;
        audit::append(
            conn,
            audit::Entry {
                tenant_id: by.tenant_id,
                occurred_at: now,
                actor,
                activity: audit::activity::REMOVE_API_TOKEN,
                item: id.to_string(),
                parameters: json!({"TokenId": id, "Name": revoked.name}),
                request_id: None,
            },
        )?;
        Ok(revoked)
    })
}

/// Creates a token for a staff member (by the operator's CLI, or by the
/// staff member in the portal); returns it with its secret.
pub fn create_staff_token(
    conn: &mut PgConnection,
    staff: StaffId,
    name: &str,
    valid_for: Duration,
    now: DateTime<Utc>,
) -> QueryResult<(ApiToken, String)> {
    let (secret, hash) = new_secret();
    let created = diesel::insert_into(t::table)
        .values((
            t::id.eq(Uuid::new_v4()),
            t::realm.eq("staff"),
            t::staff_id.eq(staff),
            t::name.eq(name),
            // Staff act with their role's rights; the scope does not cap them.
            t::scope.eq(TokenScope::Admin.as_db()),
            t::secret_hash.eq(&hash),
            t::created_at.eq(now),
            t::expires_at.eq(now + valid_for),
        ))
        .returning(ApiToken::as_returning())
        .get_result(conn)?;
    Ok((created, secret))
}

/// A staff member's own tokens, newest first (at most `limit`).
pub fn list_staff_tokens(
    conn: &mut PgConnection,
    staff: StaffId,
    limit: i64,
) -> QueryResult<Vec<ApiToken>> {
    t::table
        .filter(t::staff_id.eq(staff))
        .order((t::created_at.desc(), t::id.desc()))
        .limit(limit)
        .select(ApiToken::as_select())
        .load(conn)
}

/// Revokes one of `staff`'s own tokens (anyone else's is not found).
/// Revoking a revoked token changes nothing.
pub fn revoke_staff_token(
    conn: &mut PgConnection,
    staff: StaffId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<ApiToken, TokenError> {
    conn.transaction(|conn| {
        let found: ApiToken = t::table
            .filter(t::id.eq(id))
            .filter(t::staff_id.eq(staff))
            .select(ApiToken::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(TokenError::NotFound)?;
        if found.revoked_at.is_some() {
            return Ok(found);
        }
        Ok(diesel::update(t::table.find(id))
            .set(t::revoked_at.eq(now))
            .returning(ApiToken::as_returning())
            .get_result(conn)?)
    })
}

mod bearer;

pub use bearer::{Bearer, TokenRef, authenticate};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_include_the_ones_before_them() {
        assert!(TokenScope::Read < TokenScope::Decide && TokenScope::Decide < TokenScope::Admin);
        for s in TokenScope::ALL {
            assert_eq!(TokenScope::from_db(s.as_db()), Some(s));
        }
    }

    #[test]
    fn new_tokens_are_validated_field_by_field() {
        let ok = NewTokenInput {
            name: " SOAR ".into(),
            scope: "decide".into(),
            expires_days: String::new(),
        };
        assert_eq!(
            ok.parse(),
            Ok(NewToken {
                name: "SOAR".into(),
                scope: TokenScope::Decide,
                valid_for: Duration::days(90)
            })
        );
        let bad = NewTokenInput {
            name: "\u{7}".into(),
            scope: "root".into(),
            expires_days: "366".into(),
        };
        assert_eq!(bad.parse().map(|_| ()).expect_err("invalid").len(), 3);
    }

    #[test]
    fn secrets_are_long_prefixed_and_stored_hashed() {
        let (secret, hash) = new_secret();
        assert!(secret.starts_with("lbx_"));
        assert_eq!(secret.len(), 4 + 64, "256 bits in hex");
        assert_eq!(hash, sha256(secret.as_bytes()));
    }
}
