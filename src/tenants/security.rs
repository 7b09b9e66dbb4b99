//! Settings › Security: the tenant's rule "Require two-factor sign-in for
//! global administrators and approvers" (on for every tenant created since
//! migration `000100_two_factor`; see that migration for older ones).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{Role, TenantError, TenantUser};
use crate::{audit, identity::TenantId, schema::tenants};

/// Whether the tenant requires two-factor sign-in of its global
/// administrators and approvers.
pub fn requires_two_factor(conn: &mut PgConnection, tenant_id: TenantId) -> QueryResult<bool> {
    tenants::table
        .find(tenant_id)
        .select(tenants::require_two_factor)
        .first(conn)
}

/// Whether a user with `role` in a tenant whose rule is `tenant_requires`
/// must sign in with a second factor: the rule covers the roles that
/// decide (global administrators and approvers), not plain users.
pub fn role_requires_two_factor(tenant_requires: bool, role: Role) -> bool {
    tenant_requires && role.can_use_lockbox()
}

/// The rule changed by `user`, a global administrator of the tenant,
/// recorded in its audit log (`Set-OrganizationConfig`) with the old and
/// the new value; returns the old value. Saving without a change records
/// nothing.
pub fn set_two_factor_rule_as(
    conn: &mut PgConnection,
    user: &TenantUser,
    required: bool,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<bool, TenantError> {
    if !user.role.may_configure() {
        return Err(TenantError::NotAllowed);
    }
    Ok(super::switches::set(
        conn,
        user.tenant_id,
        super::Switch::RequireTwoFactor,
        required,
        now,
        actor,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_covers_the_roles_that_decide() {
        assert!(role_requires_two_factor(true, Role::GlobalAdmin));
        assert!(role_requires_two_factor(true, Role::Approver));
        assert!(!role_requires_two_factor(true, Role::User));
        assert!(!role_requires_two_factor(false, Role::GlobalAdmin));
    }
}
