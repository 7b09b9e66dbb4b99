//! Reading requests. Every query that asks "what state is this request in
//! now" goes through [`effective_status()`], the SQL twin of the machine's
//! time rule.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{
    Workload,
    machine::{Snapshot, Status},
    model::{AccessRequest, Approval, Cursor, RequestRow, Row, TimelineEntry, from_row},
};
use crate::{
    identity::{RequestId, StaffId, TenantId, UserId},
    schema::{access_request_events as ev, access_requests as ar, provider_staff as ps, tenants},
};

diesel::define_sql_function! {
    /// Migration 000008: the state time has decided at `at` (the SQL twin
    /// of `Snapshot::effective`; a test holds the two to each other).
    #[sql_name = "request_effective_status"]
    fn effective_status(
        status: diesel::sql_types::Text,
        expires_at: diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        ends_at: diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        at: diesel::sql_types::Timestamptz,
    ) -> diesel::sql_types::Text;
}

/// The effective state of the `access_requests` row at `now`, for filters.
pub(crate) fn effective_at(
    now: DateTime<Utc>,
) -> effective_status<ar::status, ar::expires_at, ar::ends_at, DateTime<Utc>> {
    effective_status(ar::status, ar::expires_at, ar::ends_at, now)
}

mod read;

pub use read::{API_PAGE, PORTAL_PAGE, find, list_for_tenant};

/// The requests with their names joined in.
macro_rules! joined {
    () => {
        ar::table
            .inner_join(tenants::table)
            .inner_join(ps::table.on(ps::id.eq(ar::engineer_id)))
            .select((RequestRow::as_select(), tenants::name, ps::display_name))
    };
}
pub(super) use joined;

/// `requests` with their customer approvals (issue 19) loaded, in one
/// query: each approval is the timeline entry `customer_approved`.
pub fn with_approvals(
    conn: &mut PgConnection,
    mut requests: Vec<AccessRequest>,
) -> QueryResult<Vec<AccessRequest>> {
    let ids: Vec<RequestId> = requests.iter().map(|r| r.id).collect();
    let rows: Vec<(RequestId, Option<uuid::Uuid>, String, DateTime<Utc>)> = ev::table
        .filter(ev::request_id.eq_any(ids))
        .filter(ev::event.eq("customer_approved"))
        .order((ev::occurred_at.asc(), ev::id.asc()))
        .select((
            ev::request_id,
            ev::actor_id,
            ev::actor_name,
            ev::occurred_at,
        ))
        .load(conn)?;
    for (request, user, name, at) in rows {
        if let (Some(r), Some(user)) = (requests.iter_mut().find(|r| r.id == request), user) {
            r.approvals.push(Approval {
                user_id: UserId(user),
                name,
                at,
            });
        }
    }
    Ok(requests)
}

pub fn timeline(conn: &mut PgConnection, id: RequestId) -> QueryResult<Vec<TimelineEntry>> {
    ev::table
        .filter(ev::request_id.eq(id))
        .order((ev::occurred_at.asc(), ev::id.asc()))
        .select((
            ev::occurred_at,
            ev::event,
            ev::to_status,
            ev::actor_kind,
            ev::actor_id,
            ev::actor_name,
            ev::comment,
        ))
        .load(conn)
}

/// An engineer's own requests, newest first, a page at a time (keyset:
/// strictly after `after`).
pub fn list_for_engineer(
    conn: &mut PgConnection,
    engineer_id: StaffId,
    after: Option<Cursor>,
    limit: i64,
) -> QueryResult<(Vec<AccessRequest>, Option<Cursor>)> {
    let mut query = joined!()
        .filter(ar::engineer_id.eq(engineer_id))
        .into_boxed();
    if let Some(c) = after {
        query = query.filter(
            ar::created_at
                .lt(c.created_at)
                .or(ar::created_at.eq(c.created_at).and(ar::id.lt(c.id))),
        );
    }
    let rows = query
        .order((ar::created_at.desc(), ar::id.desc()))
        .limit(limit + 1)
        .load::<Row>(conn)?;
    let (page, next) = page_of(rows, limit);
    Ok((with_approvals(conn, page)?, next))
}

/// `limit` rows of `rows` (which holds one more if there is a next page),
/// and the cursor after the last of them.
fn page_of(rows: Vec<Row>, limit: i64) -> (Vec<AccessRequest>, Option<Cursor>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    let page: Vec<AccessRequest> = rows.into_iter().take(limit).map(from_row).collect();
    let next = more
        .then(|| {
            page.last().map(|r| Cursor {
                rank: 0,
                created_at: r.created_at,
                id: r.id,
            })
        })
        .flatten();
    (page, next)
}

/// The newest request of `engineer` for `tenant` and `workload`.
pub fn latest_for(
    conn: &mut PgConnection,
    engineer: StaffId,
    tenant: TenantId,
    workload: Workload,
) -> QueryResult<Option<AccessRequest>> {
    Ok(joined!()
        .filter(ar::engineer_id.eq(engineer))
        .filter(ar::tenant_id.eq(tenant))
        .filter(ar::workload.eq(workload.as_db()))
        .order((ar::created_at.desc(), ar::id.desc()))
        .first::<Row>(conn)
        .optional()?
        .map(from_row))
}

/// How many requests are stored in each state (for `/metrics`).
pub fn counts_by_status(conn: &mut PgConnection) -> QueryResult<Vec<(String, i64)>> {
    ar::table
        .group_by(ar::status)
        .select((ar::status, diesel::dsl::count_star()))
        .load(conn)
}

/// Requests waiting for a manager, oldest first, a page at a time.
pub fn manager_queue(
    conn: &mut PgConnection,
    after: Option<Cursor>,
    limit: i64,
) -> QueryResult<(Vec<AccessRequest>, Option<Cursor>)> {
    let mut query = joined!()
        .filter(ar::status.eq(Status::PendingManager.as_db()))
        .into_boxed();
    if let Some(c) = after {
        query = query.filter(
            ar::created_at
                .gt(c.created_at)
                .or(ar::created_at.eq(c.created_at).and(ar::id.gt(c.id))),
        );
    }
    let rows = query
        .order((ar::created_at.asc(), ar::id.asc()))
        .limit(limit + 1)
        .load::<Row>(conn)?;
    Ok(page_of(rows, limit))
}

/// The state SQL's time rule gives `snap` at `at` (for the test that holds
/// SQL and the machine to one rule).
pub fn effective_in_sql(
    conn: &mut PgConnection,
    snap: &Snapshot,
    at: DateTime<Utc>,
) -> QueryResult<Option<Status>> {
    let raw: String = diesel::select(effective_status(
        snap.status.as_db(),
        snap.expires_at,
        snap.ends_at,
        at,
    ))
    .get_result(conn)?;
    Ok(Status::from_db(&raw))
}
