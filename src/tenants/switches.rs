//! The organization's on/off settings (Settings): the Customer Lockbox
//! switch and the two-factor rule, each changed under the tenant's row lock
//! and recorded the same way.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::{audit, identity::TenantId, schema::tenants};

/// An on/off setting of the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    CustomerLockbox,
    RequireTwoFactor,
}

impl Switch {
    /// Its name in the `Set-OrganizationConfig` record.
    fn parameter(self) -> &'static str {
        match self {
            Switch::CustomerLockbox => "CustomerLockboxEnabled",
            Switch::RequireTwoFactor => "RequireTwoFactorSignIn",
        }
    }
}

/// Sets `switch` under the tenant's row lock and records the change in
/// its audit log (`Set-OrganizationConfig`, the new and the previous
/// value); returns the previous value. Saving without a change records
/// nothing: nothing happened.
pub(crate) fn set(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    switch: Switch,
    value: bool,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> QueryResult<bool> {
    conn.transaction(|conn| {
        let row = tenants::table.find(tenant_id).for_update();
        let old: bool = match switch {
            Switch::CustomerLockbox => row.select(tenants::lockbox_enabled).first(conn)?,
            Switch::RequireTwoFactor => row.select(tenants::require_two_factor).first(conn)?,
        };
        if old == value {
            return Ok(old);
        }
        let target = diesel::update(tenants::table.find(tenant_id));
        match switch {
            Switch::CustomerLockbox => target
                .set(tenants::lockbox_enabled.eq(value))
                .execute(conn)?,
            Switch::RequireTwoFactor => target
                .set(tenants::require_two_factor.eq(value))
                .execute(conn)?,
        };
        audit::append(
            conn,
            audit::Entry {
                tenant_id,
                occurred_at: now,
                actor,
                activity: audit::activity::SET_ORGANIZATION_CONFIG,
                item: String::new(),
                parameters: json!({ switch.parameter(): value, "PreviousValue": old }),
                request_id: None,
            },
        )?;
        Ok(old)
    })
}
