//! Who a bearer secret acts as: the token looked up by its digest, its
//! user or staff member loaded afresh on every call.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::{SECRET_PREFIX, TokenScope};
use crate::{
    digest::sha256,
    identity::{StaffId, UserId},
    schema::api_tokens as t,
    staff::{self, StaffMember},
    tenants::{self, TenantUser},
};

/// The token a bearer secret names, for the realm it is used in.
pub struct TokenRef {
    pub id: Uuid,
    pub name: String,
    pub scope: TokenScope,
}

/// Who a valid bearer secret acts as.
pub enum Bearer {
    Customer(TenantUser, TokenRef),
    Staff(StaffMember, TokenRef),
}

/// The principal behind `secret` at `now`, or `None` (unknown, revoked,
/// expired, its user gone or without a Customer Lockbox role): the caller
/// answers all of these alike. Stamps the token's last use, at most once a
/// minute (no write per call).
pub fn authenticate(
    conn: &mut PgConnection,
    secret: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<Bearer>> {
    if !secret.starts_with(SECRET_PREFIX) || secret.len() > 128 {
        return Ok(None);
    }
    let hash = sha256(secret.as_bytes());
    #[derive(Queryable)]
    struct Found {
        id: Uuid,
        name: String,
        scope: String,
        user_id: Option<Uuid>,
        staff_id: Option<Uuid>,
        last_used_at: Option<DateTime<Utc>>,
    }
    let found: Option<Found> = t::table
        .filter(t::secret_hash.eq(&hash))
        .filter(t::revoked_at.is_null())
        .filter(t::expires_at.gt(now))
        .select((
            t::id,
            t::name,
            t::scope,
            t::user_id,
            t::staff_id,
            t::last_used_at,
        ))
        .first(conn)
        .optional()?;
    let Some(found) = found else {
        return Ok(None);
    };
    let token = TokenRef {
        id: found.id,
        name: found.name,
        scope: TokenScope::from_db(&found.scope).unwrap_or(TokenScope::Read),
    };
    let bearer = match (found.user_id, found.staff_id) {
        (Some(user), None) => tenants::find_user(conn, UserId(user))?
            .filter(|u| u.role.can_use_lockbox())
            .map(|u| Bearer::Customer(u, token)),
        (None, Some(member)) => {
            staff::find(conn, StaffId(member))?.map(|m| Bearer::Staff(m, token))
        }
        _ => None,
    };
    if bearer.is_some()
        && found
            .last_used_at
            .is_none_or(|at| now - at >= Duration::minutes(1))
    {
        diesel::update(t::table.find(found.id))
            .set(t::last_used_at.eq(now))
            .execute(conn)?;
    }
    Ok(bearer)
}
