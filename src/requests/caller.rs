//! Who is acting on requests ([`Caller`]) and what they can ask for
//! ([`Action`]). The portals, the API and the CLI build a `Caller` from
//! their signed-in principal and hand it to the use cases in
//! [`super::use_cases`]; which requests a caller sees, which actions it may
//! take and which it is offered is decided here and by the state machine,
//! nowhere else.

use super::{
    machine::{Actor, Event, Tally},
    model::{AccessRequest, RequestError, Scope},
};
use crate::{
    identity::{StaffId, TenantId, UserId},
    staff::{StaffMember, StaffRole},
    tenants::{Role, TenantUser},
};

/// Someone acting on requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A user of a customer tenant (admin center or their API token).
    Customer {
        id: UserId,
        tenant: TenantId,
        name: String,
        role: Role,
        via: Via,
    },
    /// A provider staff member (engineer portal or their API token).
    Staff {
        id: StaffId,
        name: String,
        role: StaffRole,
        via: Via,
    },
}

/// Through which door a caller came: the audit record of an API call names
/// the token, and that of a portal decision confirmed with a second factor
/// says so (`Mfa`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Via {
    #[default]
    Portal,
    /// A portal, the decision confirmed with a second factor (step-up).
    PortalWithSecondFactor,
    Token {
        id: uuid::Uuid,
        name: String,
    },
}

impl Caller {
    pub fn customer(user: &TenantUser) -> Self {
        Caller::Customer {
            id: user.id,
            tenant: user.tenant_id,
            name: user.display_name.clone(),
            role: user.role,
            via: Via::Portal,
        }
    }

    pub fn staff(member: &StaffMember) -> Self {
        Caller::Staff {
            id: member.id,
            name: member.display_name.clone(),
            role: member.role,
            via: Via::Portal,
        }
    }

    /// The same caller, acting through API token `id` named `name`.
    pub fn through_token(mut self, id: uuid::Uuid, name: &str) -> Self {
        let token = Via::Token {
            id,
            name: name.to_owned(),
        };
        match &mut self {
            Caller::Customer { via, .. } | Caller::Staff { via, .. } => *via = token,
        }
        self
    }

    /// The same caller in a portal, having confirmed with a second factor.
    pub fn with_second_factor(mut self) -> Self {
        match &mut self {
            Caller::Customer { via, .. } | Caller::Staff { via, .. } => {
                *via = Via::PortalWithSecondFactor;
            }
        }
        self
    }

    pub fn via(&self) -> &Via {
        match self {
            Caller::Customer { via, .. } | Caller::Staff { via, .. } => via,
        }
    }

    /// The name the timeline records.
    pub fn name(&self) -> &str {
        match self {
            Caller::Customer { name, .. } | Caller::Staff { name, .. } => name,
        }
    }

    pub fn is_manager(&self) -> bool {
        matches!(
            self,
            Caller::Staff {
                role: StaffRole::Manager,
                ..
            }
        )
    }

    /// The staff member, if the caller is one.
    pub fn staff_id(&self) -> Option<StaffId> {
        match self {
            Caller::Staff { id, .. } => Some(*id),
            Caller::Customer { .. } => None,
        }
    }

    /// Which rows a query may return for this caller: a customer with a
    /// Customer Lockbox role sees their tenant's requests only; a plain
    /// tenant user sees none.
    pub(super) fn scope(&self) -> Option<Scope> {
        match self {
            Caller::Customer { tenant, role, .. } if role.can_use_lockbox() => {
                Some(Scope::Tenant(*tenant))
            }
            Caller::Customer { .. } => None,
            Caller::Staff { .. } => Some(Scope::Provider),
        }
    }

    /// Whether the caller sees every request of its [`Self::scope`]: a
    /// customer sees their tenant's, a manager all; an engineer only
    /// their own, fewer than the provider-wide scope.
    pub(super) fn sees_whole_scope(&self) -> bool {
        match self {
            Caller::Customer { .. } => true,
            Caller::Staff { .. } => self.is_manager(),
        }
    }

    /// Whether the caller may see `req` (already within [`Caller::scope`]):
    /// staff see their own requests, managers every request.
    pub(super) fn may_see(&self, req: &AccessRequest) -> bool {
        match self {
            Caller::Customer { tenant, .. } => req.tenant_id == *tenant,
            Caller::Staff { id, .. } => req.engineer_id == *id || self.is_manager(),
        }
    }

    /// The actions this kind of caller has at all, in the order pages offer
    /// them.
    pub fn actions(&self) -> &'static [Action] {
        match self {
            Caller::Customer { .. } => &[
                Action::Approve,
                Action::Deny,
                Action::Cancel,
                Action::Revoke,
            ],
            Caller::Staff { .. } => &[Action::Approve, Action::Reject, Action::Cancel],
        }
    }

    /// The machine's event and actor for `action` by this caller: an
    /// action the caller does not have is unknown; one their role does not
    /// allow is forbidden.
    pub fn event_for(&self, action: Action) -> Result<(Event, Actor), RequestError> {
        if !self.actions().contains(&action) {
            return Err(RequestError::UnknownAction);
        }
        match (self, action) {
            (Caller::Customer { role, .. }, _) if !role.can_use_lockbox() => {
                Err(RequestError::RoleForbids)
            }
            (Caller::Customer { id, .. }, action) => Ok((
                match action {
                    // The approvals so far are counted when the decision
                    // is applied, under the request's row lock.
                    Action::Approve => Event::CustomerApprove(Tally::SINGLE),
                    Action::Deny => Event::CustomerDeny,
                    Action::Revoke => Event::Revoke,
                    Action::Cancel | Action::Reject => Event::Cancel,
                },
                Actor::Customer(*id),
            )),
            (Caller::Staff { id, .. }, Action::Cancel) => Ok((Event::Cancel, Actor::Engineer(*id))),
            (Caller::Staff { id, .. }, action) if self.is_manager() => Ok((
                match action {
                    // The switch's value is read when the decision is applied.
                    Action::Approve => Event::ManagerApprove { lockbox_on: true },
                    _ => Event::ManagerReject,
                },
                Actor::Manager(*id),
            )),
            (Caller::Staff { .. }, _) => Err(RequestError::RoleForbids),
        }
    }
}

/// A decision someone can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Deny,
    Reject,
    Cancel,
    Revoke,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Approve,
        Action::Deny,
        Action::Reject,
        Action::Cancel,
        Action::Revoke,
    ];

    /// The action's name in URLs and API bodies.
    pub fn slug(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Deny => "deny",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
            Action::Revoke => "revoke",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Action::ALL.into_iter().find(|a| a.slug() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn customer(role: Role) -> Caller {
        Caller::Customer {
            id: UserId(Uuid::from_u128(1)),
            tenant: TenantId(Uuid::from_u128(2)),
            name: "Ada".into(),
            role,
            via: Via::Portal,
        }
    }

    fn staff(role: StaffRole) -> Caller {
        Caller::Staff {
            id: StaffId(Uuid::from_u128(3)),
            name: "Eve".into(),
            role,
            via: Via::Portal,
        }
    }

    #[test]
    fn actions_round_trip_through_their_slugs() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.slug()), Some(a));
        }
        assert_eq!(Action::parse("APPROVE"), None);
    }

    #[test]
    fn role_gates_live_in_the_caller() {
        let engineer = staff(StaffRole::Engineer);
        assert!(matches!(
            engineer.event_for(Action::Approve),
            Err(RequestError::RoleForbids)
        ));
        assert!(matches!(
            engineer.event_for(Action::Revoke),
            Err(RequestError::UnknownAction)
        ));
        assert!(engineer.event_for(Action::Cancel).is_ok());
        assert!(staff(StaffRole::Manager).event_for(Action::Reject).is_ok());
        assert!(matches!(
            customer(Role::Approver).event_for(Action::Reject),
            Err(RequestError::UnknownAction)
        ));
        assert!(matches!(
            customer(Role::User).event_for(Action::Approve),
            Err(RequestError::RoleForbids)
        ));
        assert_eq!(customer(Role::User).scope().map(|_| ()), None);
    }
}
