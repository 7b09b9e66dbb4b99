//! Tenants (customer organisations) and their users. A tenant user's role
//! decides what they may do in the admin center; only the tenant's own global
//! administrators change roles.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use serde_json::json;

mod accounts;
mod model;
pub mod quorum;
pub mod security;
mod switches;
pub mod time_zone;

use crate::{
    audit,
    identity::{DisplayName, Email, TenantId, UserId},
    schema::{tenant_users, tenants},
};

pub use accounts::{find_typed_user, find_user, find_user_for_sign_in, to_user};
pub use model::*;
pub use quorum::{Quorum, approvals_required, set_quorum_as};
pub use switches::Switch;

fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Creates a tenant; its audit chain starts with the record of its creation.
pub fn create_tenant(
    conn: &mut PgConnection,
    name: &TenantName,
    lockbox_enabled: bool,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<Tenant, TenantError> {
    conn.transaction(|conn| {
        let tenant = insert_tenant(conn, name, lockbox_enabled, now)?;
        audit::append(
            conn,
            audit::Entry {
                tenant_id: tenant.id,
                occurred_at: now,
                actor,
                activity: audit::activity::NEW_ORGANIZATION,
                item: String::new(),
                parameters: json!({"Name": tenant.name, "CustomerLockboxEnabled": lockbox_enabled}),
                request_id: None,
            },
        )?;
        Ok(tenant)
    })
}

fn insert_tenant(
    conn: &mut PgConnection,
    name: &TenantName,
    lockbox_enabled: bool,
    now: DateTime<Utc>,
) -> Result<Tenant, TenantError> {
    diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(TenantId::new_random()),
            tenants::name.eq(name.as_str()),
            tenants::lockbox_enabled.eq(lockbox_enabled),
            tenants::created_at.eq(now),
        ))
        .returning(Tenant::as_returning())
        .get_result(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                TenantError::DuplicateTenant(name.as_str().to_owned())
            } else {
                e.into()
            }
        })
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Looks a tenant up by name, ignoring case.
pub fn find_tenant_by_name(conn: &mut PgConnection, name: &str) -> QueryResult<Option<Tenant>> {
    tenants::table
        .filter(lower(tenants::name).eq(name.trim().to_lowercase()))
        .select(Tenant::as_select())
        .first(conn)
        .optional()
}

pub struct NewTenantUser<'a> {
    pub tenant_id: TenantId,
    pub email: &'a Email,
    pub display_name: &'a DisplayName,
    pub password_hash: &'a str,
    pub role: Role,
}

/// Creates a tenant user, recorded in the tenant's audit log.
pub fn create_user(
    conn: &mut PgConnection,
    user: NewTenantUser<'_>,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<UserId, TenantError> {
    conn.transaction(|conn| {
        let id = insert_user(conn, &user, now)?;
        audit::append(
            conn,
            audit::Entry {
                tenant_id: user.tenant_id,
                occurred_at: now,
                actor,
                activity: audit::activity::NEW_USER,
                item: user.email.to_string(),
                parameters: json!({
                    "UserId": id,
                    "Email": user.email.as_str(),
                    "DisplayName": user.display_name.as_str(),
                    "Role": user.role.audit_name(),
                }),
                request_id: None,
            },
        )?;
        Ok(id)
    })
}

/// The operator's one way into a tenant (`lockbox user create`): its
/// *first* global administrator, and nothing else. From then on only the
/// tenant's global administrators add users and change roles (SPEC §1).
/// The tenant row is locked, so two at once cannot both be the first.
pub fn create_first_global_admin(
    conn: &mut PgConnection,
    tenant: &str,
    email: &Email,
    display_name: &DisplayName,
    password_hash: &str,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<UserId, TenantError> {
    conn.transaction(|conn| {
        let found: Tenant = tenants::table
            .filter(lower(tenants::name).eq(tenant.trim().to_lowercase()))
            .select(Tenant::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or_else(|| TenantError::UnknownTenant(tenant.to_owned()))?;
        let admins: i64 = tenant_users::table
            .filter(tenant_users::tenant_id.eq(found.id))
            .filter(tenant_users::role.eq(Role::GlobalAdmin.as_db()))
            .count()
            .get_result(conn)?;
        if admins > 0 {
            return Err(TenantError::HasGlobalAdmin(found.name));
        }
        let user = NewTenantUser {
            tenant_id: found.id,
            email,
            display_name,
            password_hash,
            role: Role::GlobalAdmin,
        };
        create_user(conn, user, now, actor)
    })
}

fn insert_user(
    conn: &mut PgConnection,
    user: &NewTenantUser<'_>,
    now: DateTime<Utc>,
) -> Result<UserId, TenantError> {
    diesel::insert_into(tenant_users::table)
        .values((
            tenant_users::id.eq(UserId::new_random()),
            tenant_users::tenant_id.eq(user.tenant_id),
            tenant_users::email.eq(user.email.as_str()),
            tenant_users::display_name.eq(user.display_name.as_str()),
            tenant_users::password_hash.eq(user.password_hash),
            tenant_users::role.eq(user.role.as_db()),
            tenant_users::created_at.eq(now),
        ))
        .returning(tenant_users::id)
        .get_result(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                TenantError::DuplicateUser(user.email.to_string())
            } else {
                e.into()
            }
        })
}

/// Every tenant, by name (the engineer's tenant picker).
pub fn list_tenants(conn: &mut PgConnection) -> QueryResult<Vec<Tenant>> {
    tenants::table
        .order(lower(tenants::name))
        .select(Tenant::as_select())
        .load(conn)
}

/// Whether the tenant requires customer approval for data access.
pub fn lockbox_enabled(conn: &mut PgConnection, tenant_id: TenantId) -> QueryResult<bool> {
    tenants::table
        .find(tenant_id)
        .select(tenants::lockbox_enabled)
        .first(conn)
}

/// The Lockbox switch changed by `user`: only a global administrator of
/// their tenant may (SPEC §3); every interface calls this.
pub fn set_lockbox_as(
    conn: &mut PgConnection,
    user: &TenantUser,
    enabled: bool,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<bool, TenantError> {
    if !user.role.may_configure() {
        return Err(TenantError::NotAllowed);
    }
    Ok(set_lockbox(conn, user.tenant_id, enabled, now, actor)?)
}

/// Turns the tenant's Customer Lockbox on or off, recorded in its audit
/// log with the old and the new value; returns the old value.
pub fn set_lockbox(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    enabled: bool,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> QueryResult<bool> {
    switches::set(
        conn,
        tenant_id,
        Switch::CustomerLockbox,
        enabled,
        now,
        actor,
    )
}

/// Where a page of the users list ends: the last user's sort key.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserCursor {
    pub after_name: String,
    pub after_email: String,
}

/// One page of the tenant's users, by display name (then e-mail, which is
/// unique in a tenant), and the cursor of the next page.
pub fn list_users(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    after: Option<&UserCursor>,
    limit: i64,
) -> QueryResult<(Vec<TenantUser>, Option<UserCursor>)> {
    let mut query = tenant_users::table
        .inner_join(tenants::table)
        .filter(tenant_users::tenant_id.eq(tenant_id))
        .into_boxed();
    if let Some(c) = after {
        let name = lower(tenant_users::display_name);
        query = query.filter(
            name.gt(c.after_name.clone())
                .or(lower(tenant_users::display_name)
                    .eq(c.after_name.clone())
                    .and(tenant_users::email.gt(c.after_email.clone()))),
        );
    }
    // The sort key as the database lower-cases it, for the cursor.
    let mut rows: Vec<(TenantUserRow, (String, bool), String)> = query
        .order((lower(tenant_users::display_name), tenant_users::email))
        .select((
            TenantUserRow::as_select(),
            (tenants::name, tenants::lockbox_enabled),
            lower(tenant_users::display_name),
        ))
        .limit(limit + 1)
        .load(conn)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more
        .then(|| {
            rows.last().map(|(row, _, name)| UserCursor {
                after_name: name.clone(),
                after_email: row.email.clone(),
            })
        })
        .flatten();
    Ok((
        rows.into_iter().map(|(r, t, _)| to_user(r, t)).collect(),
        next,
    ))
}

/// Changes a user's role within `tenant_id`. The tenant row is locked so
/// that two administrators demoting each other at once cannot leave the
/// tenant without a global administrator. Returns the old role.
pub fn set_role(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
    role: Role,
    now: DateTime<Utc>,
    actor: &audit::Actor,
) -> Result<Role, TenantError> {
    conn.transaction(|conn| {
        tenants::table
            .find(tenant_id)
            .select(tenants::id)
            .for_update()
            .first::<TenantId>(conn)?;
        let (current, email): (String, String) = tenant_users::table
            .filter(tenant_users::id.eq(user_id))
            .filter(tenant_users::tenant_id.eq(tenant_id))
            .select((tenant_users::role, tenant_users::email))
            .first(conn)
            .optional()?
            .ok_or(TenantError::UnknownUser)?;
        let old = Role::from_db(&current).unwrap_or(Role::User);
        if old == Role::GlobalAdmin && role != Role::GlobalAdmin {
            let admins: i64 = tenant_users::table
                .filter(tenant_users::tenant_id.eq(tenant_id))
                .filter(tenant_users::role.eq(Role::GlobalAdmin.as_db()))
                .count()
                .get_result(conn)?;
            if admins <= 1 {
                return Err(TenantError::LastGlobalAdmin);
            }
        }
        // Issue 19: the tenant keeps enough people to reach its quorum.
        if old.can_use_lockbox() && !role.can_use_lockbox() {
            let people = quorum::people_who_approve(conn, tenant_id)?;
            let required = quorum::approvals_still_needed(conn, tenant_id)?;
            if people - 1 < i64::from(required) {
                return Err(TenantError::BelowQuorum { required });
            }
        }
        diesel::update(tenant_users::table.find(user_id))
            .set(tenant_users::role.eq(role.as_db()))
            .execute(conn)?;
        // A change is a removal from the old role group and an addition to
        // the new one; plain "user" is no role group.
        let changes = [
            (old, audit::activity::REMOVE_ROLE_MEMBER),
            (role, audit::activity::ADD_ROLE_MEMBER),
        ];
        for (group, activity) in changes {
            if old == role || group == Role::User {
                continue;
            }
            audit::append(
                conn,
                audit::Entry {
                    tenant_id,
                    occurred_at: now,
                    actor,
                    activity,
                    item: email.clone(),
                    parameters: json!({"Role": group.audit_name(), "Member": email, "UserId": user_id}),
                    request_id: None,
                },
            )?;
        }
        Ok(old)
    })
}

/// The users who decide on the tenant's requests (and are told of them).
pub fn lockbox_people(
    conn: &mut PgConnection,
    tenant_id: TenantId,
) -> QueryResult<Vec<TenantUser>> {
    let rows: Vec<(TenantUserRow, (String, bool))> = tenant_users::table
        .inner_join(tenants::table)
        .filter(tenant_users::tenant_id.eq(tenant_id))
        .filter(tenant_users::role.eq_any([Role::GlobalAdmin.as_db(), Role::Approver.as_db()]))
        .order((lower(tenant_users::display_name), tenant_users::email))
        .select((
            TenantUserRow::as_select(),
            (tenants::name, tenants::lockbox_enabled),
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|(r, t)| to_user(r, t)).collect())
}
