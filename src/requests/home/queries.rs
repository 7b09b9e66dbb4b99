//! The reads of the home pages. Each asks "what state is this request in
//! now" through the SQL time rule ([`effective_at`]); the stored state in
//! front of it only lets PostgreSQL use the partial indexes, since a
//! request can only be in a waiting or approved state now if it is stored
//! as one.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::super::{
    machine::Status,
    model::{AccessRequest, RequestRow, Row, from_row},
    queries::{effective_at, joined},
};
use crate::{
    identity::{StaffId, TenantId},
    schema::{access_requests as ar, provider_staff as ps, tenants},
};

pub(super) const WAITING: &str = "pending_customer";
pub(super) const OPEN: &str = "approved";

/// How many of `tenant`'s requests are in `state` at `now` (stored so and
/// not past a deadline): [`WAITING`] for the customer, [`OPEN`] windows.
pub(super) fn count_in(
    conn: &mut PgConnection,
    tenant: TenantId,
    state: &'static str,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    ar::table
        .filter(ar::tenant_id.eq(tenant))
        .filter(ar::status.eq(state))
        .filter(effective_at(now).eq(state))
        .count()
        .get_result(conn)
}

/// The `limit` requests of `tenant` waiting for the customer at `now`
/// whose deadline comes first.
pub(super) fn waiting_soonest(
    conn: &mut PgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<AccessRequest>> {
    Ok(joined!()
        .filter(ar::tenant_id.eq(tenant))
        .filter(ar::status.eq(WAITING))
        .filter(effective_at(now).eq(WAITING))
        .order((ar::expires_at.asc(), ar::id.asc()))
        .limit(limit)
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

/// The `limit` access windows of `tenant` open at `now` that end first.
pub(super) fn open_windows(
    conn: &mut PgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<AccessRequest>> {
    Ok(joined!()
        .filter(ar::tenant_id.eq(tenant))
        .filter(ar::status.eq(OPEN))
        .filter(effective_at(now).eq(OPEN))
        .order((ar::ends_at.asc(), ar::id.asc()))
        .limit(limit)
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

/// `engineer`'s requests still in progress at `now` (waiting for a
/// manager or the customer, or inside their window), newest first.
pub(super) fn own_in_progress(
    conn: &mut PgConnection,
    engineer: StaffId,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<AccessRequest>> {
    let live = [
        Status::PendingManager.as_db(),
        Status::PendingCustomer.as_db(),
        Status::Approved.as_db(),
    ];
    Ok(joined!()
        .filter(ar::engineer_id.eq(engineer))
        .filter(ar::status.eq_any(live))
        .filter(effective_at(now).eq_any(live))
        .order((ar::created_at.desc(), ar::id.desc()))
        .limit(limit)
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

/// How many requests wait for a manager (no time rule applies to them).
pub(super) fn manager_queue_count(conn: &mut PgConnection) -> QueryResult<i64> {
    ar::table
        .filter(ar::status.eq(Status::PendingManager.as_db()))
        .count()
        .get_result(conn)
}
