//! The customer quorum (issue 19): how many of the tenant's approvers —
//! global administrators and approvers — must approve a data access
//! request before it opens. Settings › Org settings › Customer Lockbox,
//! changed by global administrators only, under the tenant's row lock, and
//! recorded like the Lockbox switch (`Set-OrganizationConfig` with the new
//! and the previous value). A request takes the value it finds when it
//! reaches its customer (see `requests::commands::decide`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::{Role, TenantError, TenantUser};
use crate::{
    audit,
    identity::TenantId,
    schema::{tenant_users, tenants},
};

/// The bounds of the setting.
pub const MIN: u8 = 1;
pub const MAX: u8 = 5;

/// A quorum within the bounds, parsed from what was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quorum(u8);

impl Quorum {
    /// The translation key of the refusal for anything but a whole number
    /// from 1 to 5.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim().parse::<u8>() {
            Ok(n) if (MIN..=MAX).contains(&n) => Ok(Self(n)),
            _ => Err("error-quorum-range"),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// The tenant's quorum.
pub fn approvals_required(conn: &mut PgConnection, tenant_id: TenantId) -> QueryResult<u8> {
    let n: i16 = tenants::table
        .find(tenant_id)
        .select(tenants::approvals_required)
        .first(conn)?;
    Ok(u8::try_from(n).unwrap_or(MIN))
}

/// The most approvals any of the tenant's requests still waiting for it
/// needs: the quorum they were created under (a lowered setting does not
/// lower theirs), or the setting, whichever is larger. A role change must
/// leave at least this many people who can approve, or such a request
/// could only expire.
pub fn approvals_still_needed(conn: &mut PgConnection, tenant_id: TenantId) -> QueryResult<u8> {
    use crate::schema::access_requests as ar;
    let waiting: Option<i16> = ar::table
        .filter(ar::tenant_id.eq(tenant_id))
        .filter(ar::status.eq("pending_customer"))
        .select(diesel::dsl::max(ar::approvals_required))
        .first(conn)?;
    let setting = approvals_required(conn, tenant_id)?;
    Ok(waiting
        .and_then(|n| u8::try_from(n).ok())
        .map_or(setting, |n| n.max(setting)))
}

/// How many of the tenant's people can approve: its global administrators
/// and approvers.
pub fn people_who_approve(conn: &mut PgConnection, tenant_id: TenantId) -> QueryResult<i64> {
    tenant_users::table
        .filter(tenant_users::tenant_id.eq(tenant_id))
        .filter(tenant_users::role.eq_any([Role::GlobalAdmin.as_db(), Role::Approver.as_db()]))
        .count()
        .get_result(conn)
}

/// The quorum set by `user`, who must be a global administrator of their
/// tenant; refused when the tenant has fewer people who can approve than
/// it asks for (no request could ever be approved). Returns the previous
/// value; saving the same value records nothing.
pub fn set_quorum_as(
    conn: &mut PgConnection,
    user: &TenantUser,
    quorum: Quorum,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<u8, TenantError> {
    if !user.role.may_configure() {
        return Err(TenantError::NotAllowed);
    }
    let tenant_id = user.tenant_id;
    conn.transaction(|conn| {
        // The same lock a role change takes: the count below cannot change
        // before the new value is in.
        let old: i16 = tenants::table
            .find(tenant_id)
            .select(tenants::approvals_required)
            .for_update()
            .first(conn)?;
        let old = u8::try_from(old).unwrap_or(MIN);
        if old == quorum.get() {
            return Ok(old);
        }
        let people = people_who_approve(conn, tenant_id)?;
        if people < i64::from(quorum.get()) {
            return Err(TenantError::TooFewApprovers { people });
        }
        diesel::update(tenants::table.find(tenant_id))
            .set(tenants::approvals_required.eq(i16::from(quorum.get())))
            .execute(conn)?;
        audit::append(
            conn,
            audit::Entry {
                tenant_id,
                occurred_at: now,
                actor,
                activity: audit::activity::SET_ORGANIZATION_CONFIG,
                item: String::new(),
                parameters: json!({
                    "CustomerLockboxApprovalsRequired": quorum.get(),
                    "PreviousValue": old,
                }),
                request_id: None,
            },
        )?;
        Ok(old)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quorum_is_a_whole_number_from_one_to_five() {
        for ok in ["1", "2", " 5 "] {
            assert!(Quorum::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["0", "6", "", "two", "-1", "2.5", "300"] {
            assert_eq!(Quorum::parse(bad), Err("error-quorum-range"), "{bad}");
        }
    }
}
