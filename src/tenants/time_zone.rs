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
    identity::TenantId,
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

/// A live session with the user it is signed in as, their tenant's name,
/// switch and zone, and the zone they chose under `realm`: one statement,
/// as the admin center reads it on every signed-in request. The user is
/// `None` when the session has none, or the account is gone.
pub fn find_session_user(
    conn: &mut PgConnection,
    session: &crate::db::sessions::Lookup<'_>,
    realm: &str,
) -> QueryResult<Option<crate::db::sessions::WithPrincipal<UserWithZones>>> {
    use crate::{
        db::sessions::STORED, schema::time_zone_preferences as tzp, schema::web_sessions as ws,
    };
    type Found = (
        crate::db::sessions::Stored,
        Option<TenantUserRow>,
        Option<(String, bool, String)>,
        Option<String>,
    );
    let found: Option<Found> = ws::table
        .left_join(tenant_users::table.on(tenant_users::id.nullable().eq(ws::principal_id)))
        .left_join(
            tenants::table.on(tenants::id
                .nullable()
                .eq(tenant_users::tenant_id.nullable())),
        )
        .left_join(
            tzp::table.on(tzp::account_id
                .nullable()
                .eq(ws::principal_id)
                .and(tzp::realm.eq(realm))),
        )
        .filter(session.live())
        .select((
            STORED,
            <TenantUserRow as Selectable<diesel::pg::Pg>>::construct_selection().nullable(),
            (tenants::name, tenants::lockbox_enabled, tenants::time_zone).nullable(),
            tzp::zone.nullable(),
        ))
        .first(conn)
        .optional()?;
    Ok(found.map(|(stored, row, tenant, chosen)| {
        let user = row
            .zip(tenant)
            .map(|(row, (name, on, default))| (to_user(row, (name, on)), chosen, default));
        (stored, user)
    }))
}

/// A user with the zone they chose (if any) and their tenant's default.
pub type UserWithZones = (TenantUser, Option<String>, String);
