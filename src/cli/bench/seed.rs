//! The bench's scratch data: a plausible year of audit records per tenant.

use chrono::{DateTime, Duration, Utc};
use diesel::{PgConnection, prelude::*};
use serde_json::json;
use uuid::Uuid;

use super::BenchError;
use crate::{
    audit::{self, activity},
    identity::TenantId,
    schema::audit_records as ar,
};

/// A plausible mix of records: decisions, filings, operator operations,
/// sign-ins; twenty users; times spread over a year.
pub(super) fn seed_tenant(
    conn: &mut PgConnection,
    tenant: TenantId,
    count: u64,
    start: DateTime<Utc>,
) -> Result<(), BenchError> {
    const ACTIVITIES: [&str; 6] = [
        activity::SET_REQUEST,
        activity::NEW_REQUEST,
        activity::APPROVE_REQUEST,
        activity::USER_LOGGED_IN,
        "Get-MailboxStatistics",
        "Search-Mailbox",
    ];
    // Numbered after what the tenant already has (its creation record).
    let mut seq: i64 = ar::table
        .filter(ar::tenant_id.eq(tenant))
        .count()
        .get_result(conn)
        .map_err(BenchError::from)?;
    let step_ms = (365 * 24 * 3600 * 1000) / count.max(1) as i64;
    // The seeded records' times run over the year from `start` whatever
    // the tenant held before (its requests' records): numbered from the
    // tenant's count, they ran past the year, into the future.
    let first = seq;
    let mut done = 0;
    while done < count {
        let batch = (count - done).min(1_000);
        let mut rows = Vec::with_capacity(batch as usize);
        for _ in 0..batch {
            seq += 1;
            let n = seq as usize;
            let act = ACTIVITIES[n % ACTIVITIES.len()];
            let user = n % 20;
            let (actor_id, actor_name) = if act.starts_with("Get-") || act.starts_with("Search-") {
                (
                    format!("PS-{:08X}", user),
                    audit::PROVIDER_OPERATOR.to_owned(),
                )
            } else {
                (
                    Uuid::from_u128(user as u128).to_string(),
                    format!("Approver {user}"),
                )
            };
            let decision = ["Approve", "Deny", "Cancel", "Revoke"][n % 4];
            let params =
                json!({"ApprovalDecision": decision, "Comment": format!("case {}", n % 997)});
            let item = Uuid::from_u128(n as u128 / 5).to_string();
            let at = start + Duration::milliseconds(step_ms * (seq - first - 1));
            let ip = format!("10.0.{}.{}", user, n % 250);
            rows.push((
                ar::tenant_id.eq(tenant),
                ar::occurred_at.eq(at),
                ar::actor_id.eq(actor_id),
                ar::actor_name.eq(actor_name),
                ar::ip.eq(ip),
                ar::activity.eq(act),
                ar::item.eq(item),
                ar::parameters.eq(params),
            ));
        }
        diesel::insert_into(ar::table)
            .values(rows)
            .execute(conn)
            .map_err(BenchError::from)?;
        done += batch;
    }
    Ok(())
}
