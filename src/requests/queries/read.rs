//! Reading requests in one statement each, their customer approvals
//! included (issue 20): one request ([`find`]) and a page of a tenant's
//! list ([`list_for_tenant`]). Raw SQL kept prepared (`db::prepared`),
//! sharing its column list and its approvals' lateral aggregate.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};

use super::super::{
    machine::Status,
    model::{AccessRequest, Approval, Cursor, RequestRow, Scope, TenantFilter, from_row},
};
use crate::identity::{RequestId, TenantId, UserId};

/// The columns of [`RankedRow`] before its rank, from `access_requests p`
/// joined with `tenants t` and `provider_staff s`.
macro_rules! request_columns {
    () => {
        "p.id, p.tenant_id, p.engineer_id, p.service_request, p.workload, \
         p.duration_minutes, p.justification, p.status, p.created_at, p.manager_id, \
         p.expires_at, p.approved_at, p.ends_at, p.closed_at, p.ticket_id, \
         p.approvals_required, t.name AS tenant_name, s.display_name AS engineer_name"
    };
}

/// The customer approvals (issue 19) of the request row `$row`, oldest
/// first, as the lateral row `ap` of three arrays (NULL when none): what
/// [`super::with_approvals`] reads, in the statement that reads the request.
macro_rules! approvals_of {
    ($row:literal) => {
        concat!(
            "LEFT JOIN LATERAL ( \
                SELECT array_agg(e.actor_id ORDER BY e.occurred_at, e.id) AS approver_ids, \
                    array_agg(e.actor_name ORDER BY e.occurred_at, e.id) AS approver_names, \
                    array_agg(e.occurred_at ORDER BY e.occurred_at, e.id) AS approvals_at \
                FROM access_request_events e \
                WHERE e.request_id = ",
            $row,
            ".id AND e.event = 'customer_approved' AND e.actor_id IS NOT NULL) ap ON true"
        )
    };
}

#[derive(QueryableByName)]
struct RankedRow {
    #[diesel(embed)]
    request: RequestRow,
    #[diesel(sql_type = diesel::sql_types::Text)]
    tenant_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    engineer_name: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    rank: i32,
    /// The customer approvals, in the order given (issue 19); NULL when
    /// there are none.
    #[diesel(sql_type = Nullable<Array<SqlUuid>>)]
    approver_ids: Option<Vec<uuid::Uuid>>,
    #[diesel(sql_type = Nullable<Array<Text>>)]
    approver_names: Option<Vec<String>>,
    #[diesel(sql_type = Nullable<Array<Timestamptz>>)]
    approvals_at: Option<Vec<DateTime<Utc>>>,
}

impl RankedRow {
    /// The request, its approvals filled in, and its rank.
    fn into_request(self) -> (AccessRequest, i32) {
        let mut request = from_row((self.request, self.tenant_name, self.engineer_name));
        let ids = self.approver_ids.unwrap_or_default();
        let names = self.approver_names.unwrap_or_default();
        let ats = self.approvals_at.unwrap_or_default();
        request.approvals = ids
            .into_iter()
            .zip(names)
            .zip(ats)
            .map(|((user, name), at)| Approval {
                user_id: UserId(user),
                name,
                at,
            })
            .collect();
        (request, self.rank)
    }
}

/// The admin center's list (and the API's): pending requests first, then
/// the rest, each newest first; one page after the cursor (`$6` rank, `$7`
/// time, `$8` id). It reads only what the page shows: the pending part by
/// keyset on its partial index (migration 000900), the closed part by
/// keyset on its own, and the few requests whose deadline passed before
/// the sweeper recorded it (still stored as pending, already expired) from
/// the tenant's deadline index; only those parts' first rows are sorted together.
/// Each part's bound is `(created_at, id) < …` on the index itself, and a
/// part the cursor has passed is cut off before it reads anything. The
/// page's customer approvals (issue 19) come with it, aggregated per row
/// after the limit, so a list page is one statement (issue 20).
///
/// `$tenant` names the tenant (`$1`, or `(SELECT $1::uuid)` in
/// [`FIRST_PAGES`]: see there); `$pending`, `$closed` and `$due` are each
/// part's conditions beyond its index: the filters and the cursor. The
/// pending part keeps a request whose effective state is not `expired`
/// (among requests stored as pending, the same as "still pending"), which
/// PostgreSQL estimates as most rows: asked for "is pending" it guessed
/// 1 % and read the whole part by bitmap and sorted it, 5–7 ms for 10,000
/// requests.
///
/// The due part's `expires_at > '-infinity'` changes no result. It makes
/// "deadline before `$2`" a range, which a plan for unknown parameters
/// (the generic plan) estimates at 0.5 % of the rows instead of a third.
/// Without it the generic plan of a first page ([`FIRST_PAGES`]) looked
/// dearer than one planned for the call's values, and PostgreSQL planned
/// it afresh on every call (`pg_stat_statements` with `track_planning`:
/// 9,886 plans for 9,876 calls).
macro_rules! list_for_tenant {
    ($tenant:literal, $limit:literal, $pending:expr, $closed:expr, $due:expr) => {
        concat!(
            "SELECT /* requests list */ page.*, ap.approver_ids, \
                ap.approver_names, ap.approvals_at \
             FROM (SELECT ",
            request_columns!(),
            ", p.rank \
             FROM ( \
                (SELECT a.*, 0 AS rank FROM access_requests a \
                 WHERE a.tenant_id = ",
            $tenant,
            " AND a.status IN ('pending_manager', 'pending_customer') \
                   AND request_effective_status(a.status, a.expires_at, a.ends_at, $2) \
                       <> 'expired' ",
            $pending,
            " ORDER BY a.created_at DESC, a.id DESC LIMIT ",
            $limit,
            ") \
                UNION ALL \
                (SELECT a.*, 1 AS rank FROM access_requests a \
                 WHERE a.tenant_id = ",
            $tenant,
            " AND a.status NOT IN ('pending_manager', 'pending_customer') ",
            $closed,
            " ORDER BY a.created_at DESC, a.id DESC LIMIT ",
            $limit,
            ") \
                UNION ALL \
                (SELECT a.*, 1 AS rank FROM access_requests a \
                 WHERE a.tenant_id = ",
            $tenant,
            " AND a.status = 'pending_customer' \
                   AND a.expires_at > '-infinity' AND a.expires_at <= $2 ",
            $due,
            ") \
             ) p \
             JOIN tenants t ON t.id = p.tenant_id \
             JOIN provider_staff s ON s.id = p.engineer_id \
             ORDER BY p.rank ASC, p.created_at DESC, p.id DESC \
             LIMIT ",
            $limit,
            ") page ",
            approvals_of!("page"),
            " ORDER BY page.rank ASC, page.created_at DESC, page.id DESC"
        )
    };
}

/// The creation window (`$4`, `$5`) and the one request (`$10`) filters.
macro_rules! window {
    () => {
        "AND ($4::timestamptz IS NULL OR a.created_at >= $4) \
         AND ($5::timestamptz IS NULL OR a.created_at < $5) \
         AND ($10::uuid IS NULL OR a.id = $10) "
    };
}

/// The effective state filter (`$3`).
macro_rules! in_state {
    () => {
        "AND ($3::text IS NULL \
              OR request_effective_status(a.status, a.expires_at, a.ends_at, $2) = $3) "
    };
}

/// Rows before the cursor (`$7`, `$8`) when it is in the part of `$rank`,
/// else every row: a bound the part's index reads.
macro_rules! before_cursor {
    ($rank:literal) => {
        concat!(
            "AND (a.created_at, a.id) < ( \
                 CASE WHEN $6::int = ",
            $rank,
            " THEN $7::timestamptz ELSE 'infinity'::timestamptz END, \
                 CASE WHEN $6::int = ",
            $rank,
            " THEN $8::uuid ELSE 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid END) "
        )
    };
}

/// Any page of the list, filtered or not: `$3` the effective state, `$4`
/// and `$5` the creation window, `$10` one request.
const LIST_FOR_TENANT: &str = list_for_tenant!(
    "$1",
    "$9",
    concat!(
        "AND ($6::int IS NULL OR $6::int <= 0) \
         AND ($3::text IS NULL OR $3::text IN ('pending_manager', 'pending_customer')) ",
        before_cursor!("0"),
        in_state!(),
        window!()
    ),
    concat!(
        "AND ($6::int IS NULL OR $6::int <= 1) ",
        before_cursor!("1"),
        in_state!(),
        window!()
    ),
    concat!(
        "AND ($6::int IS NULL OR $6::int <= 1) \
         AND ($3::text IS NULL OR $3::text = 'expired') \
         AND ($6::int IS NULL OR $6::int < 1 OR (a.created_at, a.id) < ($7, $8)) ",
        window!()
    )
);

/// The page of the admin center's request list.
pub const PORTAL_PAGE: i64 = 25;
/// The API list's page when the caller names none.
pub const API_PAGE: i64 = 50;

/// The first page, unfiltered, at the two sizes people open most (the
/// limit is one more: it tells whether there is a next page). A statement
/// of its own, without the optional conditions and with its limit written
/// in, so the plan PostgreSQL caches for it after five calls (a generic
/// plan, which cannot fold "`$3` IS NULL" away and guesses every such
/// condition selective) reads each part's index in order and stops at the
/// page's end, and is not planned again on every call. A limit given as a
/// parameter is guessed at a tenth of the rows: with 10,000 pending
/// requests the generic plan looked dearer than planning each call, and
/// PostgreSQL planned every call (0.6–1.4 ms, per `pg_stat_statements`,
/// for 0.3 ms of execution).
///
/// The tenant is `(SELECT $1::uuid)`, a value the planner learns only when
/// the statement runs, in the plans for the call's values too. Given as
/// `$1`, those plans knew how many requests the calling tenant holds: for
/// a tenant with half of all requests, the API's page of 51 looked cheaper
/// planned for it than in the generic plan (which assumes an average
/// tenant), and PostgreSQL planned every call of it (`bench web`: 1.0–1.1
/// ms of the database's CPU per API list call, against 0.3 ms for the
/// portal's page). A page stops at its limit however many requests its
/// tenant holds, so no plan of it should depend on which tenant asks.
const FIRST_PAGES: [(i64, &str); 2] = [
    (
        PORTAL_PAGE,
        list_for_tenant!("(SELECT $1::uuid)", "26", "", "", ""),
    ),
    (
        API_PAGE,
        list_for_tenant!("(SELECT $1::uuid)", "51", "", "", ""),
    ),
];

/// One request by id (`$1`), within tenant `$2` unless it is NULL.
const FIND: &str = concat!(
    "SELECT /* request */ ",
    request_columns!(),
    ", 0 AS rank, ap.approver_ids, ap.approver_names, ap.approvals_at \
     FROM access_requests p \
     JOIN tenants t ON t.id = p.tenant_id \
     JOIN provider_staff s ON s.id = p.engineer_id ",
    approvals_of!("p"),
    " WHERE p.id = $1 AND ($2::uuid IS NULL OR p.tenant_id = $2)"
);

/// One page of a tenant's requests, pending first, with the cursor of the
/// next page if there is one.
pub fn list_for_tenant(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    filter: &TenantFilter,
    after: Option<Cursor>,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<(Vec<AccessRequest>, Option<Cursor>)> {
    let unfiltered = after.is_none() && *filter == TenantFilter::default();
    let sql = FIRST_PAGES
        .iter()
        .find(|(size, _)| unfiltered && *size == limit)
        .map_or(LIST_FOR_TENANT, |(_, sql)| sql);
    // Prepared once per connection each: the texts are constant. A first
    // page binds the parameters it does not use too (diesel sends their
    // types, so PostgreSQL needs no reference to infer them).
    let rows: Vec<RankedRow> = crate::db::prepared(
        diesel::sql_query(sql)
            .bind::<SqlUuid, _>(tenant_id)
            .bind::<Timestamptz, _>(now)
            .bind::<Nullable<Text>, _>(filter.state.map(Status::as_db))
            .bind::<Nullable<Timestamptz>, _>(filter.from)
            .bind::<Nullable<Timestamptz>, _>(filter.until)
            .bind::<Nullable<Integer>, _>(after.map(|c| c.rank))
            .bind::<Nullable<Timestamptz>, _>(after.map(|c| c.created_at))
            .bind::<Nullable<SqlUuid>, _>(after.map(|c| c.id))
            .bind::<BigInt, _>(limit + 1)
            .bind::<Nullable<SqlUuid>, _>(filter.request),
    )
    .load(conn)?;
    let more = rows.len() as i64 > limit;
    let page: Vec<(AccessRequest, i32)> = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(RankedRow::into_request)
        .collect();
    let next = more
        .then(|| {
            page.last().map(|(req, rank)| Cursor {
                rank: *rank,
                created_at: req.created_at,
                id: req.id,
            })
        })
        .flatten();
    Ok((page.into_iter().map(|(r, _)| r).collect(), next))
}

/// The request `id` (within the tenant if `scope` names one), its
/// customer approvals included: one statement.
pub fn find(
    conn: &mut PgConnection,
    id: RequestId,
    scope: Scope,
) -> QueryResult<Option<AccessRequest>> {
    let tenant = match scope {
        Scope::Provider => None,
        Scope::Tenant(t) => Some(t),
    };
    let row: Option<RankedRow> = crate::db::prepared(
        diesel::sql_query(FIND)
            .bind::<SqlUuid, _>(id)
            .bind::<Nullable<SqlUuid>, _>(tenant),
    )
    .get_result(conn)
    .optional()?;
    Ok(row.map(|r| r.into_request().0))
}

#[cfg(test)]
mod tests {
    use super::FIRST_PAGES;

    #[test]
    fn each_first_page_reads_one_row_more_than_its_size() {
        for (size, sql) in FIRST_PAGES {
            let limit = format!("LIMIT {}", size + 1);
            assert_eq!(sql.matches(&limit).count(), 3, "{size}: {sql}");
            assert!(!sql.contains("$9"), "{size}: {sql}");
        }
    }
}
