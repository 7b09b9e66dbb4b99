//! What two-factor events leave behind: an audit record in the tenant's log
//! for a tenant user, a log line for provider staff (who have no tenant
//! log). Never a secret or a code.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::json;

use super::{Holder, Policy};
use crate::{audit, identity::UserId};

/// A two-factor event.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// An authenticator enrolled; `replaced` when it took another's place.
    Enrolled { replaced: bool },
    /// Removed by its own user.
    Removed,
    /// Reset by a global administrator (`by`), who is the actor.
    Reset { by: &'a audit::Actor },
    /// A code refused: wrong, already used, or a recovery code unknown or
    /// used. `during` says where: `SignIn`, `Enrolment` or `StepUp`.
    Failed { reason: &'a str, during: &'a str },
    /// A recovery code accepted; `left` remain.
    RecoveryUsed { left: i64 },
}

/// Records `event` of `holder`, who acted from `ip`, at `now`.
pub fn record(
    conn: &mut PgConnection,
    holder: &Holder,
    event: Event<'_>,
    ip: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let Policy::Tenant { tenant, .. } = holder.policy else {
        tracing::info!(
            staff = %holder.id,
            event = ?event,
            %ip,
            "two-factor event of a staff member"
        );
        return Ok(());
    };
    let own = audit::Actor::customer(UserId(holder.id), &holder.name, ip);
    let (actor, activity, parameters) = match event {
        Event::Enrolled { replaced } => (
            &own,
            audit::activity::NEW_AUTHENTICATOR,
            json!({"Method": "TOTP", "Replaced": replaced}),
        ),
        Event::Removed => (
            &own,
            audit::activity::REMOVE_AUTHENTICATOR,
            json!({"Method": "TOTP"}),
        ),
        Event::Reset { by } => (
            by,
            audit::activity::RESET_AUTHENTICATOR,
            json!({"Method": "TOTP", "UserId": holder.id, "User": holder.name}),
        ),
        Event::Failed { reason, during } => (
            &own,
            audit::activity::SECOND_FACTOR_FAILED,
            json!({"Reason": reason, "During": during}),
        ),
        Event::RecoveryUsed { left } => (
            &own,
            audit::activity::RECOVERY_CODE_USED,
            json!({"Remaining": left}),
        ),
    };
    audit::append(
        conn,
        audit::Entry {
            tenant_id: tenant,
            occurred_at: now,
            actor,
            activity,
            item: holder.id.to_string(),
            parameters,
            request_id: None,
        },
    )?;
    Ok(())
}
