//! Reading a tenant user: by id, or as typed at sign-in (the organization's
//! name and the e-mail address). Only [`find_user_for_sign_in`] reads the
//! password hash: every other read leaves it in the database.

use diesel::prelude::*;

use super::{Role, TenantUser, TenantUserRow, lower};
use crate::{
    identity::UserId,
    schema::{tenant_users, tenants},
};

/// The user of a row read with its own tenant's name and Lockbox switch
/// (joined by `tenant_users.tenant_id`; never another tenant's).
pub fn to_user(row: TenantUserRow, (tenant_name, lockbox_enabled): (String, bool)) -> TenantUser {
    TenantUser {
        id: row.id,
        tenant_id: row.tenant_id,
        tenant_name,
        lockbox_enabled,
        email: row.email,
        display_name: row.display_name,
        // The column's CHECK constraint admits only known roles; anything
        // else is treated as the least privileged role.
        role: Role::from_db(&row.role).unwrap_or(Role::User),
    }
}

/// The account typed at sign-in: the organization's name and the e-mail
/// address, each trimmed and matched without case.
#[diesel::dsl::auto_type(no_type_alias)]
fn typed(tenant_name: String, email: String) -> _ {
    lower(tenants::name)
        .eq(tenant_name)
        .and(lower(tenant_users::email).eq(email))
}

fn typed_as(tenant_name: &str, email: &str) -> (String, String) {
    (
        tenant_name.trim().to_lowercase(),
        email.trim().to_lowercase(),
    )
}

/// The user and their password hash, for sign-in.
pub fn find_user_for_sign_in(
    conn: &mut PgConnection,
    tenant_name: &str,
    email: &str,
) -> QueryResult<Option<(TenantUser, String)>> {
    let (tenant_name, email) = typed_as(tenant_name, email);
    let found: Option<(TenantUserRow, (String, bool), String)> = tenant_users::table
        .inner_join(tenants::table)
        .filter(typed(tenant_name, email))
        .select((
            TenantUserRow::as_select(),
            (tenants::name, tenants::lockbox_enabled),
            tenant_users::password_hash,
        ))
        .first(conn)
        .optional()?;
    Ok(found.map(|(row, tenant, hash)| (to_user(row, tenant), hash)))
}

/// The user typed at sign-in, without their password hash: who a sign-in
/// or an ended lock-out is recorded against, and the command line's
/// lookups.
pub fn find_typed_user(
    conn: &mut PgConnection,
    tenant_name: &str,
    email: &str,
) -> QueryResult<Option<TenantUser>> {
    let (tenant_name, email) = typed_as(tenant_name, email);
    first_user(conn, Box::new(typed(tenant_name, email)))
}

pub fn find_user(conn: &mut PgConnection, id: UserId) -> QueryResult<Option<TenantUser>> {
    first_user(conn, Box::new(tenant_users::id.eq(id)))
}

/// A condition on a user joined to their tenant.
type UserFilter = Box<
    dyn BoxableExpression<
            diesel::dsl::InnerJoinQuerySource<tenant_users::table, tenants::table>,
            diesel::pg::Pg,
            SqlType = diesel::sql_types::Bool,
        >,
>;

/// The user `filter` finds, with their tenant's name and Lockbox switch.
fn first_user(conn: &mut PgConnection, filter: UserFilter) -> QueryResult<Option<TenantUser>> {
    let found: Option<(TenantUserRow, (String, bool))> = tenant_users::table
        .inner_join(tenants::table)
        .filter(filter)
        .select((
            TenantUserRow::as_select(),
            (tenants::name, tenants::lockbox_enabled),
        ))
        .first(conn)
        .optional()?;
    Ok(found.map(|(row, tenant)| to_user(row, tenant)))
}
