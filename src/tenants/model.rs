//! What a tenant and its users are: the tenant's name, a user's role and
//! what it allows, and the refusals of the tenant use cases.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{
    identity::{TenantId, UserId},
    schema::{tenant_users, tenants},
};

/// A tenant's name: 1–100 characters, trimmed, unique (case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantName(String);

impl TenantName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("error-tenant-name-required");
        }
        if value.chars().count() > 100 || value.chars().any(char::is_control) {
            return Err("error-tenant-name-invalid");
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub lockbox_enabled: bool,
    pub created_at: DateTime<Utc>,
}

/// What a tenant user may do in the admin center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Role {
    GlobalAdmin,
    Approver,
    User,
}

impl Role {
    pub fn as_db(self) -> &'static str {
        match self {
            Role::GlobalAdmin => "global_admin",
            Role::Approver => "approver",
            Role::User => "user",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "global_admin" => Some(Role::GlobalAdmin),
            "approver" => Some(Role::Approver),
            "user" => Some(Role::User),
            _ => None,
        }
    }

    /// The spelling used on the command line.
    pub fn from_cli(value: &str) -> Option<Self> {
        match value {
            "global-admin" => Some(Role::GlobalAdmin),
            "approver" => Some(Role::Approver),
            "user" => Some(Role::User),
            _ => None,
        }
    }

    /// Global administrators, and only they, change the tenant's
    /// configuration: the switch, roles, API tokens (SPEC §1, §3).
    pub fn may_configure(self) -> bool {
        self == Role::GlobalAdmin
    }

    /// Global administrators and approvers may use the lockbox pages.
    pub fn can_use_lockbox(self) -> bool {
        matches!(self, Role::GlobalAdmin | Role::Approver)
    }

    pub const ALL: [Role; 3] = [Role::GlobalAdmin, Role::Approver, Role::User];

    /// The role's name in audit records (English, like the activities).
    pub fn audit_name(self) -> &'static str {
        match self {
            Role::GlobalAdmin => "Global Administrator",
            Role::Approver => "Customer Lockbox Access Approver",
            Role::User => "User",
        }
    }

    /// The translation key of the role's name.
    pub fn label_key(self) -> &'static str {
        match self {
            Role::GlobalAdmin => "role-global-admin",
            Role::Approver => "role-approver",
            Role::User => "role-user",
        }
    }
}

/// A tenant user's row without the password hash: every read of a user
/// selects these columns, and only sign-in adds the hash beside them
/// (`find_user_for_sign_in`), so a page view, an API call or a list of
/// users never carries one out of the database.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tenant_users)]
pub struct TenantUserRow {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// A tenant user as the rest of the code sees them (no password hash),
/// with their tenant's name and Lockbox switch as read with them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TenantUser {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub tenant_name: String,
    /// Whether the tenant requires approval, as read with the user (the
    /// request list shows it without a query of its own).
    pub lockbox_enabled: bool,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("a tenant named {0:?} already exists")]
    DuplicateTenant(String),
    #[error("no tenant named {0:?}")]
    UnknownTenant(String),
    #[error("{0} already has an account in this tenant")]
    DuplicateUser(String),
    #[error("a tenant must keep at least one global administrator")]
    LastGlobalAdmin,
    #[error("no such user in this tenant")]
    UnknownUser,
    #[error(
        "tenant {0:?} already has a global administrator; its global administrators add users \
         and assign roles in the admin center, under Roles (/roles)"
    )]
    HasGlobalAdmin(String),
    /// The quorum asks for more approvals than the tenant has people who
    /// can approve (global administrators and approvers).
    #[error("the tenant has only {people} people who can approve")]
    TooFewApprovers { people: i64 },
    /// A role change would leave fewer people who can approve than the
    /// tenant's quorum.
    #[error("the tenant's quorum needs {required} people who can approve")]
    BelowQuorum { required: u8 },
    /// Only a tenant's global administrators change its configuration.
    #[error("only global administrators may do this")]
    NotAllowed,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_are_trimmed_and_bounded() {
        assert_eq!(
            TenantName::parse(" Contoso ").map(|n| n.0),
            Ok("Contoso".into())
        );
        assert_eq!(TenantName::parse(""), Err("error-tenant-name-required"));
        assert!(TenantName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::GlobalAdmin, Role::Approver, Role::User] {
            assert_eq!(Role::from_db(role.as_db()), Some(role));
        }
        assert_eq!(Role::from_cli("global-admin"), Some(Role::GlobalAdmin));
        assert_eq!(Role::from_cli("root"), None);
        assert!(!Role::User.can_use_lockbox());
    }
}
