//! The organisation's time zone (issue 22): what its people read times in
//! until they choose their own (Account › Time zone). Settings › Org
//! settings, changed by global administrators only and recorded like the
//! other organisation settings (`Set-OrganizationConfig` with the new and
//! the previous value). UTC until someone picks one.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::{TenantError, TenantUser, TenantUserRow, to_user};
use crate::{
    audit,
    i18n::{Tz, reader_zone},
    identity::{TenantId, UserId},
    schema::{tenant_users, tenants},
};

/// The organisation's default zone.
pub fn default_zone(conn: &mut PgConnection, tenant_id: TenantId) -> QueryResult<Tz> {
    let name: String = tenants::table
        .find(tenant_id)
        .select(tenants::time_zone)
        .first(conn)?;
    Ok(reader_zone(None, Some(&name)))
}

/// `user` sets the organisation's default zone to `zone`; only a global
/// administrator may (every interface calls this).
pub fn set_default_zone_as(
    conn: &mut PgConnection,
    user: &TenantUser,
    zone: Tz,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<(), TenantError> {
    if !user.role.may_configure() {
        return Err(TenantError::NotAllowed);
    }
    let tenant_id = user.tenant_id;
    conn.transaction(|conn| {
        let old: String = tenants::table
            .find(tenant_id)
            .select(tenants::time_zone)
            .for_update()
            .first(conn)?;
        if old == zone.name() {
            return Ok(());
        }
        diesel::update(tenants::table.find(tenant_id))
            .set(tenants::time_zone.eq(zone.name()))
            .execute(conn)?;
        audit::append(
            conn,
            audit::Entry {
                tenant_id,
                occurred_at: now,
                actor,
                activity: audit::activity::SET_ORGANIZATION_CONFIG,
                item: String::new(),
                parameters: json!({ "TimeZone": zone.name(), "PreviousValue": old }),
                request_id: None,
            },
        )?;
        Ok(())
    })
}

/// [`super::find_user`], with the zone the user chose under `realm` (if any) and
/// their tenant's default zone: one statement, as the session store loads
/// a signed-in user on every request.
pub fn find_user_with_zone(
    conn: &mut PgConnection,
    id: UserId,
    realm: &str,
) -> QueryResult<Option<(TenantUser, Option<String>, String)>> {
    use crate::schema::time_zone_preferences as tzp;
    /// The user, their tenant's name, switch and zone, and their choice.
    type Found = (TenantUserRow, (String, bool, String), Option<String>);
    let found: Option<Found> = tenant_users::table
        .inner_join(tenants::table)
        .left_join(
            tzp::table.on(tzp::account_id
                .eq(tenant_users::id)
                .and(tzp::realm.eq(realm))),
        )
        .filter(tenant_users::id.eq(id))
        .select((
            TenantUserRow::as_select(),
            (tenants::name, tenants::lockbox_enabled, tenants::time_zone),
            tzp::zone.nullable(),
        ))
        .first(conn)
        .optional()?;
    Ok(found.map(|(row, (name, on, default), chosen)| (to_user(row, (name, on)), chosen, default)))
}
