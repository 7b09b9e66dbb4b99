//! Who a bearer secret acts as: the token looked up by its digest with
//! its user or staff member, read afresh on every call.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::{SECRET_PREFIX, TokenScope};
use crate::{
    digest::sha256,
    schema::{api_tokens as t, provider_staff, tenant_users, tenants as tenants_t},
    staff::{StaffMember, StaffRow},
    tenants::{self, TenantUser, TenantUserRow},
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
        last_used_at: Option<DateTime<Utc>>,
    }
    // The token with its user (and the user's tenant) or staff member, in
    // one statement: every API call pays this before its own queries.
    type Row = (
        Found,
        Option<TenantUserRow>,
        Option<(String, bool)>,
        Option<StaffRow>,
    );
    let found: Option<Row> = t::table
        .left_join(tenant_users::table.inner_join(tenants_t::table))
        .left_join(provider_staff::table)
        .filter(t::secret_hash.eq(&hash))
        .filter(t::revoked_at.is_null())
        .filter(t::expires_at.gt(now))
        .select((
            (t::id, t::name, t::scope, t::last_used_at),
            Option::<TenantUserRow>::as_select(),
            (tenants_t::name, tenants_t::lockbox_enabled).nullable(),
            Option::<StaffRow>::as_select(),
        ))
        .first(conn)
        .optional()?;
    let Some((found, user, tenant, member)) = found else {
        return Ok(None);
    };
    let token = TokenRef {
        id: found.id,
        name: found.name,
        scope: TokenScope::from_db(&found.scope).unwrap_or(TokenScope::Read),
    };
    // A token belongs to exactly one of them (a CHECK constraint).
    let bearer = match (user.zip(tenant), member) {
        (Some((user, tenant)), None) => Some(tenants::to_user(user, tenant))
            .filter(|u| u.role.can_use_lockbox())
            .map(|u| Bearer::Customer(u, token)),
        (None, Some(member)) => Some(Bearer::Staff(member.into(), token)),
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
