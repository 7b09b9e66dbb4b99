//! Plans that do not depend on luck: on a freshly migrated database that
//! was filled in bulk and never analysed (as after a restore or an import,
//! before autovacuum gets to it), the hot queries still use their indexes.
//! Each query is the product's own: the test runs it through the library,
//! then asks PostgreSQL to EXPLAIN the very statement the library
//! prepared (found in `pg_prepared_statements`). The audit page's query
//! runs inside a function (`audit_page`), where EXPLAIN cannot see: for it
//! the table's own counters tell how many rows a page read.

use chrono::Utc;
use diesel::{Connection, PgConnection, RunQueryDsl, sql_types::Text};
use lockbox::{
    audit::{Actor, search},
    identity::{DisplayName, Email, TenantId},
    requests::{model::Scope, queries},
    staff::{self, StaffRole},
    tenants::{self, TenantName},
};

use crate::helpers::TestDatabase;

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The plan of the statement the library prepared whose text matches
/// `pattern` (SQL LIKE), executed with `args` (SQL literals).
fn plan_of(conn: &mut PgConnection, pattern: &str, args: &str) -> String {
    let found: Vec<Name> = diesel::sql_query(
        "SELECT name::text AS name FROM pg_prepared_statements WHERE statement LIKE $1",
    )
    .bind::<Text, _>(pattern)
    .load(conn)
    .expect("prepared statements");
    assert_eq!(found.len(), 1, "one prepared statement matches {pattern}");
    explain_execute(conn, &found[0].name, args)
}

/// The plan of prepared statement `name` executed with `args` (SQL
/// literals), one line per node.
fn explain_execute(conn: &mut PgConnection, name: &str, args: &str) -> String {
    let lines: Vec<Line> = diesel::sql_query(format!("EXPLAIN EXECUTE {name}({args})"))
        .load(conn)
        .expect("explain");
    lines
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(diesel::QueryableByName)]
struct Reads {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    fetched: i64,
}

/// How often `audit_records` was scanned in full, and how many rows index
/// scans fetched from it, so far (this session's counters flushed first).
fn reads(conn: &mut PgConnection) -> Reads {
    diesel::sql_query("SELECT pg_stat_force_next_flush()")
        .execute(conn)
        .expect("flush");
    diesel::sql_query(
        "SELECT coalesce(seq_scan, 0) AS seq, coalesce(idx_tup_fetch, 0) AS fetched \
         FROM pg_stat_user_tables WHERE relname = 'audit_records'",
    )
    .get_result(conn)
    .expect("counters")
}

/// `count` requests of `tenant`, filed by `engineer` a minute apart,
/// waiting for the customer until tomorrow; inserted in bulk.
fn waiting_requests(conn: &mut PgConnection, tenant: TenantId, engineer: uuid::Uuid, count: u32) {
    diesel::sql_query(format!(
        "INSERT INTO access_requests (id, tenant_id, engineer_id, service_request, workload, \
            duration_minutes, justification, status, created_at, expires_at) \
         SELECT gen_random_uuid(), '{}', '{engineer}', 'SR-' || i, 'exchange', 60, 'Plans', \
            'pending_customer', now() - i * interval '1 minute', now() + interval '1 day' \
         FROM generate_series(1, {count}) AS i",
        tenant.0
    ))
    .execute(conn)
    .expect("requests");
}

fn fill(conn: &mut PgConnection) -> TenantId {
    let now = Utc::now();
    let tenant = tenants::create_tenant(
        conn,
        &TenantName::parse("Plans").expect("name"),
        true,
        now,
        &Actor::command_line(),
    )
    .expect("tenant")
    .id;
    let engineer = staff::create_staff(
        conn,
        &Email::parse("eng@provider.example").expect("email"),
        &DisplayName::parse("Eng").expect("name"),
        "$argon2id$never-signs-in",
        StaffRole::Engineer,
        now,
    )
    .expect("staff");
    // No ANALYZE, manual or automatic, from here on.
    for sql in [
        "ALTER TABLE access_requests SET (autovacuum_enabled = false)",
        "ALTER TABLE audit_records SET (autovacuum_enabled = false)",
        "ALTER TABLE audit_chain SET (autovacuum_enabled = false)",
        "ALTER TABLE access_request_events SET (autovacuum_enabled = false)",
    ] {
        diesel::sql_query(sql).execute(conn).expect("no autovacuum");
    }
    waiting_requests(conn, tenant, engineer.0, 10_000);
    // Each request's timeline: filed, manager-approved.
    diesel::sql_query(
        "INSERT INTO access_request_events (request_id, occurred_at, event, to_status, \
            actor_kind, actor_name) \
         SELECT a.id, a.created_at, e.event, e.status, 'engineer', 'Eng' FROM access_requests a \
         CROSS JOIN (VALUES ('filed', 'pending_manager'), \
                            ('manager_approved', 'pending_customer')) AS e(event, status)",
    )
    .execute(conn)
    .expect("timelines");
    diesel::sql_query(format!(
        "INSERT INTO audit_records (tenant_id, occurred_at, actor_id, actor_name, ip, activity, \
            item, parameters) \
         SELECT '{}', now() - i * interval '1 minute', 'a' || (i % 20), 'Approver ' || (i % 20), \
            '10.0.0.1', 'Set-AccessRequest', i::text, '{{}}'::jsonb \
         FROM generate_series(1, 10000) AS i",
        tenant.0
    ))
    .execute(conn)
    .expect("audit records");
    lockbox::audit::seal::seal_pending(conn).expect("sealed");
    tenant
}

#[test]
fn the_request_list_the_audit_search_the_decision_lookup_and_the_timeline_use_their_indexes_unanalysed()
 {
    let db = TestDatabase::new();
    let mut conn = PgConnection::establish(&db.url).expect("connect");
    let tenant = fill(&mut conn);
    #[derive(diesel::QueryableByName)]
    struct Stats {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let analysed = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stats \
         WHERE tablename IN ('access_requests', 'audit_records', 'audit_chain', \
             'access_request_events')",
    )
    .get_result::<Stats>(&mut conn)
    .expect("stats")
    .n;
    assert_eq!(analysed, 0, "nothing was analysed");

    let now = Utc::now();
    let (page, _) = queries::list_for_tenant(&mut conn, tenant, &Default::default(), None, now, 25)
        .expect("list");
    assert_eq!(page.len(), 25);
    // Both shapes: the whole record (API, exports) and the row the Audit
    // page lists (its own function, without the seal).
    two_pages_read_two_pages::<lockbox::audit::Record>(&mut conn, tenant);
    two_pages_read_two_pages::<search::Listed>(&mut conn, tenant);
    let id = page[0].id;
    let found = queries::find(&mut conn, id, Scope::Tenant(tenant))
        .expect("find")
        .expect("found");
    queries::with_approvals(&mut conn, vec![found]).expect("approvals");
    assert_eq!(queries::timeline(&mut conn, id).expect("timeline").len(), 2);

    let t = tenant.0;
    // As PostgreSQL runs a prepared statement from its sixth call on when
    // the generic plan is not dearer than the custom ones (and as it runs
    // the statements below always, see there): its parameters unknown.
    diesel::sql_query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut conn)
        .expect("generic plans");
    let list = plan_of(
        &mut conn,
        "SELECT /* requests list */%",
        &format!("'{t}', now(), NULL, NULL, NULL, NULL, NULL, NULL, 26, NULL"),
    );
    assert!(
        list.contains("Index Scan using access_requests_tenant_open_idx")
            && list.contains("access_requests_tenant_closed_idx")
            && list.contains("access_requests_tenant_due_idx")
            && !list.contains("Seq Scan on access_requests"),
        "each part of the request list reads its own index:\n{list}"
    );
    let lookup = plan_of(
        &mut conn,
        "SELECT /* request */%",
        &format!("'{}', '{t}'", id.0),
    );
    assert!(
        lookup.contains("access_requests_pkey")
            && !lookup.contains("Seq Scan on access_requests")
            && !lookup.contains("Seq Scan on access_request_events"),
        "the decision's lookup reads the primary key, and its approvals an index:\n{lookup}"
    );
    // A request's events, read by its id: its timeline, and its approvals
    // (generic: the event a parameter, so no partial index can serve them).
    let timeline = plan_of(
        &mut conn,
        "%FROM \"access_request_events\" WHERE (\"access_request_events\".\"request_id\" = $1)%",
        &format!("'{}'", id.0),
    );
    let approvals = plan_of(
        &mut conn,
        "%\"access_request_events\".\"request_id\" = ANY($1)%",
        &format!("ARRAY['{}']::uuid[], 'customer_approved'", id.0),
    );
    for (what, plan) in [("timeline", &timeline), ("approvals", &approvals)] {
        assert!(
            plan.contains("access_request_events_request_idx")
                && !plan.contains("Seq Scan on access_request_events"),
            "a request's {what} reads the events' request index:\n{plan}"
        );
    }
}

/// The first two pages of the tenant's log, read as `R`, fetch about two
/// pages of rows from the index and never scan the table.
fn two_pages_read_two_pages<R: search::Found>(conn: &mut PgConnection, tenant: TenantId) {
    let before = reads(conn);
    let (records, next) =
        search::search::<R>(conn, tenant, &Default::default(), None, 50).expect("search");
    assert_eq!(records.len(), 50);
    let (deeper, _) =
        search::search::<R>(conn, tenant, &Default::default(), next, 50).expect("search");
    assert_eq!(deeper.len(), 50);
    let after = reads(conn);
    assert_eq!(after.seq, before.seq, "no audit page scans the table");
    assert!(
        after.fetched - before.fetched <= 2 * 52,
        "two pages read about two pages of rows from the index, not the tenant's 10,000: {}",
        after.fetched - before.fetched
    );
}

#[derive(diesel::QueryableByName)]
struct PlanCounts {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    generic_plans: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    custom_plans: i64,
}

/// How often this session planned the prepared statement matching
/// `pattern` for unknown parameters (once, then kept) and for the call's
/// values (every time).
fn plan_counts(conn: &mut PgConnection, pattern: &str) -> PlanCounts {
    diesel::sql_query(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE $1",
    )
    .bind::<Text, _>(pattern)
    .get_result(conn)
    .expect("one prepared statement")
}

/// The total cost PostgreSQL estimates for a plan (its top node's).
fn top_cost(plan: &str) -> f64 {
    plan.lines()
        .next()
        .and_then(|l| l.split("..").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|cost| cost.parse().ok())
        .unwrap_or_else(|| panic!("no cost in {plan}"))
}

/// Ten more tenants with 1,000 waiting requests each, filed by the
/// engineer of `tenant`'s: `tenant` then holds half of all requests, as
/// the measured tenant of `bench web` does.
fn add_smaller_tenants(conn: &mut PgConnection, tenant: TenantId) {
    use diesel::{ExpressionMethods, QueryDsl};
    use lockbox::schema::access_requests as ar;
    let engineer: uuid::Uuid = ar::table
        .filter(ar::tenant_id.eq(tenant.0))
        .select(ar::engineer_id)
        .first(conn)
        .expect("the engineer");
    for i in 0..10 {
        let other = tenants::create_tenant(
            conn,
            &TenantName::parse(&format!("Plans {i}")).expect("name"),
            true,
            Utc::now(),
            &Actor::command_line(),
        )
        .expect("tenant")
        .id;
        waiting_requests(conn, other, engineer, 1_000);
    }
}

/// The first page of the request list, the page people open most, is
/// planned once per connection and kept: from its sixth call PostgreSQL
/// runs the generic plan, with statistics and without, also for a tenant
/// that holds half of all requests (where the plan for its values looked
/// cheaper than the generic one while it knew the tenant). Planned afresh
/// on every call it cost 0.6–1.4 ms of planning for 0.3 ms of execution.
#[test]
fn the_request_lists_first_page_is_planned_once_and_kept() {
    let db = TestDatabase::new();
    let mut conn = PgConnection::establish(&db.url).expect("connect");
    let tenant = fill(&mut conn);
    add_smaller_tenants(&mut conn, tenant);
    drop(conn);
    for analysed in [false, true] {
        // A new session each time: no plan kept from before.
        let mut conn = PgConnection::establish(&db.url).expect("connect");
        if analysed {
            diesel::sql_query("ANALYZE")
                .execute(&mut conn)
                .expect("analysed");
        }
        for limit in [queries::PORTAL_PAGE, queries::API_PAGE] {
            for _ in 0..7 {
                let (page, _) = queries::list_for_tenant(
                    &mut conn,
                    tenant,
                    &Default::default(),
                    None,
                    Utc::now(),
                    limit,
                )
                .expect("list");
                assert_eq!(page.len() as i64, limit);
            }
            let pattern = format!("SELECT /* requests list */%LIMIT {}) page %", limit + 1);
            let counts = plan_counts(&mut conn, &pattern);
            // The generic plan is kept only while it looks no dearer than
            // the plans for the call's values (give or take PostgreSQL's
            // estimate of planning). Those must not know the tenant: for
            // one with half of all requests, a plan for it looked half as
            // dear (35.9 against 65.5 here, 69 against 126 in `bench web`,
            // where every call was then planned).
            let args = format!(
                "'{}', now(), NULL, NULL, NULL, NULL, NULL, NULL, {}, NULL",
                tenant.0,
                limit + 1
            );
            let [generic, custom] = ["force_generic_plan", "force_custom_plan"].map(|mode| {
                diesel::sql_query(format!("SET plan_cache_mode = {mode}"))
                    .execute(&mut conn)
                    .expect("plan cache mode");
                top_cost(&plan_of(&mut conn, &pattern, &args))
            });
            diesel::sql_query("SET plan_cache_mode = auto")
                .execute(&mut conn)
                .expect("plan cache mode");
            assert!(
                custom >= 0.9 * generic,
                "a plan for the call's values ({custom}) must look no cheaper than the generic plan \
                 ({generic}) (page of {limit}, analysed: {analysed})"
            );
            assert_eq!(
                (counts.custom_plans, counts.generic_plans),
                (5, 2),
                "five calls planned for their values, then the generic plan kept \
                 (page of {limit}, analysed: {analysed})"
            );
        }
    }
}

/// Remembers the subject of every message it is given.
#[derive(Default)]
struct Subjects(std::sync::Mutex<Vec<String>>);

impl lockbox::notify::mailer::Mailer for Subjects {
    fn send(&self, message: &lettre::Message) -> Result<(), String> {
        let subject = message
            .headers()
            .get_raw("Subject")
            .unwrap_or_default()
            .to_owned();
        self.0.lock().map_err(|e| e.to_string())?.push(subject);
        Ok(())
    }
}

/// A backlog of mail (the SMTP server was away) is worked off one claim
/// at a time, each reading the index of due messages up to the first it
/// can lock: no claim sorts the backlog (a lock above a sort cannot stop
/// early, so claiming by creation time sorted every due message, bodies
/// and all, for each message sent). The message due longest goes first.
#[test]
fn the_outbox_claims_the_message_due_longest_without_sorting_the_backlog() {
    let db = TestDatabase::new();
    let mut conn = PgConnection::establish(&db.url).expect("connect");
    // Due longest: message 1; created first: message 5000.
    diesel::sql_query(
        "INSERT INTO outbox (id, message_id, kind, to_address, subject, body_text, body_html, \
            next_attempt_at, created_at) \
         SELECT gen_random_uuid(), '<m' || i || '@lockbox>', 'plans', 'a@customer.example', \
            'message ' || i, repeat('text ', 200), repeat('<p>html</p>', 100), \
            now() - (5001 - i) * interval '1 second' - interval '1 day', \
            now() - i * interval '1 second' - interval '2 days' \
         FROM generate_series(1, 5000) AS i",
    )
    .execute(&mut conn)
    .expect("backlog");
    let mailer = Subjects::default();
    let retry = lockbox::notify::outbox::Retry {
        max_attempts: 5,
        at_least: chrono::Duration::hours(1),
    };
    let sent = lockbox::notify::outbox::deliver_due(
        &mut conn,
        &mailer,
        "lockbox@provider.example",
        retry,
        Utc::now(),
        2,
    )
    .expect("delivered");
    assert_eq!(sent.sent, 2);
    assert_eq!(
        *mailer.0.lock().expect("subjects"),
        ["message 1", "message 2"],
        "the messages due longest, not the ones queued first"
    );

    // Planned for its values, as PostgreSQL keeps doing for this statement
    // (a generic plan, not knowing the limit is 1, costs far more): past
    // the fifth call, where it weighs the generic plan, still none.
    let more = lockbox::notify::outbox::deliver_due(
        &mut conn,
        &mailer,
        "lockbox@provider.example",
        retry,
        Utc::now(),
        10,
    )
    .expect("delivered");
    assert_eq!(more.sent, 10);
    let counts = plan_counts(&mut conn, "%FROM \"outbox\" WHERE%FOR UPDATE SKIP LOCKED%");
    assert!(
        counts.generic_plans == 0 && counts.custom_plans >= 12,
        "every claim planned for its values: {} generic, {} custom",
        counts.generic_plans,
        counts.custom_plans
    );
    let claim = plan_of(
        &mut conn,
        "%FROM \"outbox\" WHERE%FOR UPDATE SKIP LOCKED%",
        "'pending', now(), 1",
    );
    assert!(
        claim.contains("Index Scan using outbox_due_idx")
            && !claim.contains("Sort")
            && !claim.contains("Seq Scan"),
        "a claim reads the due messages' index in order:\n{claim}"
    );
}

/// The webhook worker's claim, for a deployment whose receiver was away:
/// one endpoint with a backlog of thousands, another with one event due,
/// a third resting after a failed attempt (its backoff not over) with
/// never-tried events behind it, a fourth whose rest is over. The claim
/// takes the delivery due longest of each endpoint that is not resting,
/// reading each endpoint's due deliveries from an index in order: it
/// sorts no backlog (a lock above a sort cannot stop early), and a resting
/// endpoint is not tried again, with another of its events, before its
/// backoff ends.
#[test]
fn the_webhook_claim_takes_each_ready_endpoints_oldest_without_sorting_its_backlog() {
    let db = TestDatabase::new();
    let mut conn = PgConnection::establish(&db.url).expect("connect");
    let now = Utc::now();
    diesel::sql_query(
        "INSERT INTO webhook_endpoints (id, url, events, secret, created_at, failures, \
            resting_until) \
         SELECT ('00000000-0000-0000-0000-00000000000' || i)::uuid, \
            'https://hooks.customer.example/' || i, '{decided}', '\\x00', now(), \
            CASE WHEN i >= 3 THEN 1 ELSE 0 END, \
            CASE i WHEN 3 THEN now() + interval '10 minutes' \
                   WHEN 4 THEN now() - interval '1 second' END \
         FROM generate_series(1, 4) AS i",
    )
    .execute(&mut conn)
    .expect("endpoints");
    // Endpoint 1: due longest is event 1, created first is event 5000.
    // Endpoint 2: one event. Endpoint 3: event 0 failed, the endpoint
    // rests; ten never-tried events were queued after it. Endpoint 4:
    // rested, and one event is due.
    diesel::sql_query(
        "INSERT INTO webhook_deliveries (id, message_id, endpoint_id, event_type, payload, \
            attempts, next_attempt_at, created_at) \
         SELECT gen_random_uuid(), 'e1-' || i, '00000000-0000-0000-0000-000000000001'::uuid, \
            'decided', repeat('{}', 500), 0, \
            now() - (5001 - i) * interval '1 second' - interval '1 day', \
            now() - i * interval '1 second' - interval '2 days' \
         FROM generate_series(1, 5000) AS i \
         UNION ALL SELECT gen_random_uuid(), 'e2-1', '00000000-0000-0000-0000-000000000002'::uuid, \
            'decided', '{}', 0, now() - interval '1 hour', now() - interval '1 hour' \
         UNION ALL SELECT gen_random_uuid(), 'e3-0', '00000000-0000-0000-0000-000000000003'::uuid, \
            'decided', '{}', 1, now() + interval '10 minutes', now() - interval '2 hours' \
         UNION ALL SELECT gen_random_uuid(), 'e3-' || i, '00000000-0000-0000-0000-000000000003'::uuid, \
            'decided', '{}', 0, now() - interval '1 hour', now() - interval '1 hour' \
         FROM generate_series(1, 10) AS i \
         UNION ALL SELECT gen_random_uuid(), 'e4-1', '00000000-0000-0000-0000-000000000004'::uuid, \
            'decided', '{}', 0, now() - interval '1 hour', now() - interval '1 hour'",
    )
    .execute(&mut conn)
    .expect("backlog");
    let sealer = lockbox::auth::totp::Sealer::new(&[7; 32]);
    let claimed = lockbox::webhooks::deliver::claim(
        &mut conn,
        &sealer,
        now,
        chrono::Duration::seconds(40),
        20,
    )
    .expect("claimed");
    let mut ids: Vec<&str> = claimed.iter().map(|c| c.message_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["e1-1", "e2-1", "e4-1"],
        "each ready endpoint's delivery due longest; none of the resting endpoint's"
    );

    diesel::sql_query(format!(
        "PREPARE webhook_claim(timestamptz, bigint) AS {}",
        lockbox::webhooks::deliver::DUE
    ))
    .execute(&mut conn)
    .expect("prepared");
    let plan = explain_execute(&mut conn, "webhook_claim", "now(), 20");
    let sorts: Vec<&str> = plan.lines().filter(|l| l.contains("Sort Key")).collect();
    assert!(
        plan.contains("Index Scan using webhook_deliveries_endpoint_due")
            && !plan.contains("Seq Scan on webhook_deliveries")
            && sorts
                .iter()
                .all(|l| l.contains("Sort Key: d.next_attempt_at")),
        "each endpoint's due deliveries read from the index in order; only the \
         endpoints' picks sorted:\n{plan}"
    );
}
