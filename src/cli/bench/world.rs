//! The seeded world of the HTTP benchmarks (`bench api`, `bench web`):
//! provider staff, and tenants with Customer Lockbox on, a global
//! administrator with a decide token each, and requests filed by the
//! engineers and approved by the manager through the use cases (as the
//! portals do), so they wait for the customer.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;

use super::BenchError;
use crate::{
    audit::Actor,
    auth::api_tokens::{self, NewToken, TokenScope},
    clock::{Clock, SystemClock},
    db::PgPool,
    identity::{DisplayName, Email, RequestId, StaffId, TenantId},
    requests::{Action, Caller, Comment, NewRequestInput, Policy, use_cases},
    staff::{self, StaffRole},
    tenants::{self, NewTenantUser, Role, TenantName, TenantUser},
};

/// Threads filing and approving the seed.
pub(super) const SEEDERS: u32 = 4;
/// Engineers the seeded requests are spread over (each filing checks the
/// engineer's own open windows).
const ENGINEERS: u32 = 20;
/// The hash of accounts that never sign in: no password matches it.
pub(super) const NO_PASSWORD: &str = "$argon2id$bench-accounts-never-sign-in";

/// The provider's engineers and their manager.
pub(super) struct Staff {
    engineers: Vec<StaffId>,
    manager: StaffId,
}

impl Staff {
    pub(super) fn create(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Self, BenchError> {
        let member = |conn: &mut PgConnection, email: &str, role| {
            let name = DisplayName::parse(email).map_err(BenchError::from)?;
            let email = Email::parse(email).map_err(BenchError::from)?;
            staff::create_staff(conn, &email, &name, NO_PASSWORD, role, now)
                .map_err(BenchError::from)
        };
        let engineers = (0..ENGINEERS)
            .map(|i| {
                member(
                    conn,
                    &format!("engineer{i}@bench.example"),
                    StaffRole::Engineer,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let manager = member(conn, "manager@bench.example", StaffRole::Manager)?;
        Ok(Self { engineers, manager })
    }
}

/// One tenant to seed.
pub(super) struct TenantSpec<'a> {
    pub name: &'a str,
    pub admin_email: &'a str,
    /// The administrator's password hash ([`NO_PASSWORD`]: never signs in).
    pub password_hash: &'a str,
    /// Requests filed and approved, waiting for the customer.
    pub requests: u32,
}

/// A seeded tenant: its administrator, the secret of their decide token,
/// and the requests waiting for them.
pub(super) struct Seeded {
    pub admin: TenantUser,
    pub token: String,
    pub requests: Vec<RequestId>,
}

/// Seeds one tenant (stopping the filing at `deadline`).
pub(super) fn seed(
    pool: &PgPool,
    policy: &Policy,
    staff: &Staff,
    spec: &TenantSpec,
    now: DateTime<Utc>,
    deadline: Instant,
) -> Result<Seeded, BenchError> {
    let mut conn = pool.get().map_err(BenchError::from)?;
    let operator = Actor::command_line();
    let tenant = tenants::create_tenant(
        &mut conn,
        &TenantName::parse(spec.name).map_err(BenchError::from)?,
        true,
        now,
        &operator,
    )
    .map_err(BenchError::from)?;
    let admin = tenants::create_user(
        &mut conn,
        NewTenantUser {
            tenant_id: tenant.id,
            email: &Email::parse(spec.admin_email).map_err(BenchError::from)?,
            display_name: &DisplayName::parse("Bench Admin").map_err(BenchError::from)?,
            password_hash: spec.password_hash,
            role: Role::GlobalAdmin,
        },
        now,
        &operator,
    )
    .map_err(BenchError::from)?;
    let admin = tenants::find_user(&mut conn, admin)
        .map_err(BenchError::from)?
        .ok_or_else(|| BenchError("the bench admin vanished".into()))?;
    // The bench signs in with a password alone (no authenticator).
    tenants::security::set_two_factor_rule_as(&mut conn, &admin, false, now, &operator)
        .map_err(BenchError::from)?;
    let (_, token) = api_tokens::create_customer_token(
        &mut conn,
        &admin,
        &NewToken {
            name: "bench".into(),
            scope: TokenScope::Decide,
            valid_for: Duration::days(1),
        },
        now,
        &operator,
    )
    .map_err(BenchError::from)?;
    // Every request cites the tenant's one open service request.
    let ticket = crate::requests::tickets::NewTicketInput {
        title: "Mailbox does not sync".into(),
        description: "Bench".into(),
        workload: "exchange".into(),
        severity: "B".into(),
    };
    let new = ticket.parse().map_err(|e| BenchError(format!("{e:?}")))?;
    let caller = Caller::customer(&admin);
    let ticket = crate::requests::tickets::commands::open(&mut conn, &caller, "", &new, now)
        .map_err(|e| BenchError(e.to_string()))?;
    drop(conn);

    let count = spec.requests;
    let seeders: Vec<_> = (0..SEEDERS)
        .map(|part| {
            let (pool, policy, ticket) = (pool.clone(), *policy, ticket.clone());
            let mine = count / SEEDERS + u32::from(part < count % SEEDERS);
            let engineers: Vec<StaffId> = staff
                .engineers
                .iter()
                .skip(part as usize)
                .step_by(SEEDERS as usize)
                .copied()
                .collect();
            let manager = staff.manager;
            std::thread::spawn(move || {
                let seed = (tenant.id, ticket.as_str());
                file_and_approve(&pool, seed, &engineers, manager, &policy, mine, deadline)
            })
        })
        .collect();
    let mut requests = Vec::with_capacity(count as usize);
    for s in seeders {
        requests.extend(
            s.join()
                .map_err(|_| BenchError("a seeding thread panicked".into()))??,
        );
    }
    Ok(Seeded {
        admin,
        token,
        requests,
    })
}

fn file_and_approve(
    pool: &PgPool,
    (tenant, ticket): (TenantId, &str),
    engineers: &[StaffId],
    manager: StaffId,
    policy: &Policy,
    count: u32,
    deadline: Instant,
) -> Result<Vec<RequestId>, BenchError> {
    let mut conn = pool.get().map_err(BenchError::from)?;
    let member = |conn: &mut PgConnection, id| {
        staff::find(conn, id)
            .map_err(BenchError::from)?
            .ok_or_else(|| BenchError("a bench staff member vanished".into()))
    };
    let engineers = engineers
        .iter()
        .map(|id| member(&mut conn, *id).map(|m| Caller::staff(&m)))
        .collect::<Result<Vec<_>, _>>()?;
    let manager = Caller::staff(&member(&mut conn, manager)?);
    let clock = SystemClock;
    let mut filed = Vec::with_capacity(count as usize);
    for i in 0..count {
        if Instant::now() >= deadline {
            break;
        }
        let new = NewRequestInput {
            tenant: tenant.to_string(),
            service_request: ticket.to_owned(),
            workload: "exchange".into(),
            duration: "60".into(),
            justification: "Bench: mailbox does not sync.".into(),
        }
        .parse(policy)
        .map_err(|e| BenchError(format!("{e:?}")))?;
        let engineer = engineers
            .get(i as usize % engineers.len().max(1))
            .ok_or_else(|| BenchError("no engineers to file with".into()))?;
        let id = use_cases::file_as(&mut conn, engineer, &new, "127.0.0.1", clock.now(), true)
            .map_err(BenchError::from)?;
        use_cases::decide_as(
            &mut conn,
            &manager,
            id,
            Action::Approve,
            Comment::default(),
            "127.0.0.1",
            &clock,
            policy,
            // Managers' approvals sign no receipt.
            None,
        )
        .map_err(BenchError::from)?;
        filed.push(id);
    }
    Ok(filed)
}
