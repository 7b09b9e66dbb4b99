//! The request list reads only what a page shows (pending part, then the
//! rest, each by keyset on an index of its own) and keeps exactly the
//! order and the pages of the query that ranked every request of the
//! tenant, which this test keeps as the reference: across the boundary
//! between the pending part and the rest, with ties, and with requests
//! whose deadline passed while they are still stored as pending.

use chrono::Duration;
use diesel::{PgConnection, RunQueryDsl};
use lockbox::{
    identity::{RequestId, TenantId},
    requests::{Cursor, Status, TenantFilter, queries},
};

use crate::helpers::{TestApp, TestUser, world};

/// The list's SQL before it was split in parts: every request of the
/// tenant ranked by its effective state, then sorted.
const REFERENCE: &str = "WITH r AS ( \
            SELECT a.*, request_effective_status(a.status, a.expires_at, a.ends_at, $2) \
                AS effective \
            FROM access_requests a WHERE a.tenant_id = $1), \
         ranked AS ( \
            SELECT r.*, CASE WHEN r.effective IN ('pending_manager', 'pending_customer') \
                THEN 0 ELSE 1 END AS rank FROM r) \
         SELECT ranked.id, ranked.tenant_id, ranked.engineer_id, ranked.service_request, \
                ranked.workload, ranked.duration_minutes, ranked.justification, ranked.status, \
                ranked.created_at, ranked.manager_id, ranked.expires_at, ranked.approved_at, \
                ranked.ends_at, ranked.closed_at, ranked.ticket_id, ranked.approvals_required, t.name AS tenant_name, s.display_name AS engineer_name, ranked.rank \
         FROM ranked \
         JOIN tenants t ON t.id = ranked.tenant_id \
         JOIN provider_staff s ON s.id = ranked.engineer_id \
         WHERE ($3::text IS NULL OR ranked.effective = $3) \
           AND ($4::timestamptz IS NULL OR ranked.created_at >= $4) \
           AND ($5::timestamptz IS NULL OR ranked.created_at < $5) \
           AND ($6::int IS NULL OR ranked.rank > $6 \
                OR (ranked.rank = $6 AND (ranked.created_at, ranked.id) < ($7, $8))) \
           AND ($10::uuid IS NULL OR ranked.id = $10) \
         ORDER BY ranked.rank ASC, ranked.created_at DESC, ranked.id DESC \
         LIMIT $9";

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
}

/// The whole list in the reference order, at `now`, filtered by `state`.
fn reference(
    conn: &mut PgConnection,
    tenant: TenantId,
    state: Option<Status>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<RequestId> {
    use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    let none_at: Option<chrono::DateTime<chrono::Utc>> = None;
    let rows: Vec<Id> = diesel::sql_query(REFERENCE)
        .bind::<SqlUuid, _>(tenant)
        .bind::<Timestamptz, _>(now)
        .bind::<Nullable<Text>, _>(state.map(Status::as_db))
        .bind::<Nullable<Timestamptz>, _>(none_at)
        .bind::<Nullable<Timestamptz>, _>(none_at)
        .bind::<Nullable<Integer>, _>(None::<i32>)
        .bind::<Nullable<Timestamptz>, _>(none_at)
        .bind::<Nullable<SqlUuid>, _>(None::<uuid::Uuid>)
        .bind::<BigInt, _>(1_000_i64)
        .bind::<Nullable<SqlUuid>, _>(None::<uuid::Uuid>)
        .load(conn)
        .expect("reference list");
    rows.into_iter().map(|r| RequestId(r.id)).collect()
}

/// The whole list read `size` rows a page, each page after the last one's
/// cursor, as the admin center and the API read it.
fn paged(
    conn: &mut PgConnection,
    tenant: TenantId,
    state: Option<Status>,
    now: chrono::DateTime<chrono::Utc>,
    size: i64,
) -> Vec<RequestId> {
    let filter = TenantFilter {
        state,
        ..Default::default()
    };
    let (mut all, mut after): (Vec<RequestId>, Option<Cursor>) = (Vec::new(), None);
    loop {
        let (page, next) =
            queries::list_for_tenant(conn, tenant, &filter, after, now, size).expect("page");
        assert!(page.len() as i64 <= size, "a page holds at most {size}");
        all.extend(page.iter().map(|r| r.id));
        match next {
            Some(c) => after = Some(c),
            None => return all,
        }
    }
}

fn cancel(app: &TestApp, id: RequestId, engineer: &TestUser) -> RequestId {
    app.arrange_cancel(id, engineer);
    id
}

#[tokio::test]
async fn the_list_keeps_its_order_and_pages_across_the_pending_boundary_as_deadlines_pass() {
    let w = world().await;
    let (app, t) = (&w.app, w.contoso);
    // At t0, four requests at the same instant: the pages must break ties.
    let a = app.arrange_request(t, &w.engineer, None);
    let b = app.arrange_request(t, &w.engineer, Some(&w.manager));
    let b2 = app.arrange_request(t, &w.engineer, Some(&w.manager));
    let f = cancel(app, app.arrange_request(t, &w.engineer, None), &w.engineer);
    app.clock.advance(Duration::hours(6));
    let c = app.arrange_request(t, &w.engineer, Some(&w.manager));
    let d = cancel(app, app.arrange_request(t, &w.engineer, None), &w.engineer);
    app.clock.advance(Duration::hours(1));
    let e = app.arrange_request(t, &w.engineer, None);
    // Another tenant's requests never show.
    app.arrange_request(w.fabrikam, &w.engineer, None);

    let by_id_desc = |mut v: Vec<RequestId>| {
        v.sort_by_key(|y| std::cmp::Reverse(y.0));
        v
    };
    let mut conn = app.app_conn();
    // Before any deadline: pending e, c, then the t0 tie (a, b, b2), then
    // the closed ones newest first (d, then f).
    let now = app.clock_now();
    let mut before = vec![e, c];
    before.extend(by_id_desc(vec![a, b, b2]));
    before.extend([d, f]);
    // 13 hours after t0: b and b2 are expired by their deadline but still
    // stored as waiting for the customer; they move to the history part,
    // after d (6 h), tied with f at t0.
    app.clock.set(now + Duration::hours(6));
    let later = app.clock_now();
    assert_eq!(
        app.stored_status(b),
        "pending_customer",
        "nobody recorded the expiry"
    );
    let mut after = vec![e, c, a, d];
    after.extend(by_id_desc(vec![b, b2, f]));

    for (at, want) in [(now, before), (later, after)] {
        assert_eq!(
            reference(&mut conn, t, None, at),
            want,
            "the reference order"
        );
        for size in [1, 2, 3, 4, 7, 25] {
            assert_eq!(paged(&mut conn, t, None, at, size), want, "pages of {size}");
        }
        for state in [
            Status::PendingManager,
            Status::PendingCustomer,
            Status::Expired,
            Status::Cancelled,
        ] {
            let want = reference(&mut conn, t, Some(state), at);
            for size in [1, 2, 25] {
                assert_eq!(
                    paged(&mut conn, t, Some(state), at, size),
                    want,
                    "{state:?}, {size}"
                );
            }
        }
    }
    assert_eq!(
        paged(&mut conn, t, Some(Status::Expired), later, 1),
        by_id_desc(vec![b, b2]),
        "the filter by state applies the deadline"
    );
}
