//! What a page view and a decision cost the database (issue 20): a
//! signed-in request-list page is at most two statements (the session with
//! its user, then the list), none of them a write and none inside a
//! transaction, the customer approvals of its rows included; so is an API
//! list call (the token with its user, then the list); all of a page's
//! statements go over one pool checkout; a detail page reads each of its
//! parts once and writes nothing; a decision is one transaction that reads
//! the request once; only a sign-in reads a password hash.
//!
//! Every statement sent to the test's database is seen through diesel's
//! instrumentation ([`crate::helpers::statements`]), kept only once the
//! background work's start-up rounds are done; its next rounds wait for
//! minutes, so nothing else sends any in the same moment.

use lockbox::{auth::api_tokens::TokenScope, identity::RequestId};

use crate::helpers::{
    World, call, customer_token, staff_token,
    statements::{database_of, mark, record_statements, since, watch},
    texts, world_with,
};

/// The statements sent to the world's database while `fetch` ran.
async fn statements_of<F: std::future::Future<Output = String>>(
    w: &World,
    fetch: F,
) -> (String, Vec<String>) {
    let database = database_of(&w.app.owner_url);
    let from = mark();
    let page = fetch.await;
    (page, since(from, &database))
}

fn is_write(sql: &str) -> bool {
    let head = sql.trim_start().to_ascii_uppercase();
    [
        "INSERT",
        "UPDATE",
        "DELETE",
        "BEGIN",
        "COMMIT",
        "SELECT PG_ADVISORY",
    ]
    .iter()
    .any(|w| head.starts_with(w))
        || head.contains("FOR UPDATE")
        // A write behind a data-modifying WITH counts too.
        || (head.starts_with("WITH")
            && ["INSERT INTO", "UPDATE ", "DELETE FROM"]
                .iter()
                .any(|w| head.contains(w)))
}

/// No sealer; the gauges' refresh and the sweeper wait for minutes after
/// their start-up rounds.
fn quiet_background(s: &mut lockbox::config::Settings) {
    s.audit_seal_every = None;
    s.metrics.refresh_every = Some(std::time::Duration::from_secs(3600));
    s.resilience.sweep_every = std::time::Duration::from_secs(300);
}

/// The test's world, its database's statements recorded from the moment
/// the background work's start-up rounds are done; its next rounds wait
/// for minutes, so what is recorded is the page's own.
async fn recorded_world() -> World {
    record_statements();
    let w = world_with(quiet_background).await;
    w.app.first_rounds.done().await;
    watch(&database_of(&w.app.owner_url));
    w
}

/// The statements, shortened, one a line (for failure messages).
fn listed(seen: &[String]) -> String {
    seen.iter()
        .map(|s| s.chars().take(160).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `seen` is at most `n` statements and writes nothing; `what` names the
/// call in failure messages.
fn assert_reads(seen: &[String], n: usize, what: &str) {
    assert!(
        seen.len() <= n,
        "{} statements for {what}:\n{}",
        seen.len(),
        listed(seen)
    );
    let writes: Vec<&String> = seen.iter().filter(|s| is_write(s)).collect();
    assert!(writes.is_empty(), "{what} wrote: {writes:#?}");
}

#[tokio::test]
async fn a_request_list_page_is_two_statements_and_writes_nothing() {
    let w = recorded_world().await;
    let c = w.customers();
    crate::quorum::set_quorum(&w.app, w.contoso, 2);
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let approver = w.app.admin_client(&c.approver).await;
    w.app.customer_decide(&approver, id, "approve", "one").await;
    let admin = w.app.admin_client(&c.admin).await;

    const LIST: &str = "/support/lockbox/requests";
    // The first view prepares the connection's statements.
    w.app.admin_page(&admin, LIST).await;
    let (html, seen) = statements_of(&w, w.app.admin_page(&admin, LIST)).await;

    // The page shows the approval its row has, read with the list.
    assert_eq!(texts(&html, ".approvals"), vec!["1 of 2 approvals"]);
    assert!(html.contains("Approved by Contoso approver"), "{html}");
    // The session with its user, then the list.
    assert_reads(&seen, 2, "a list page");
    assert!(
        seen.iter().any(|s| s.contains("/* requests list */")),
        "the list's own statement: {seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|s| s.contains("web_sessions") && s.contains("tenant_users")),
        "the session is read with its user: {seen:#?}"
    );
}

#[tokio::test]
async fn an_api_list_call_is_two_statements_and_writes_nothing() {
    let w = recorded_world().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let token = customer_token(&w.app, &c.admin, TokenScope::Read);
    // Signed in as the page tests are: the world's background work has
    // done its start-up round by then (a call made at once may share the
    // measured moment with it).
    w.app.admin_client(&c.admin).await;
    let list = || {
        let url = format!("{}/api/v1/requests", w.app.admin_url);
        let token = token.clone();
        async move {
            call(reqwest::Method::GET, url, &token)
                .send()
                .await
                .expect("list")
                .text()
                .await
                .expect("body")
        }
    };
    // The first call stamps the token's last use (at most once a minute).
    list().await;
    let (body, seen) = statements_of(&w, list()).await;

    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["Items"].as_array().map(Vec::len), Some(1), "{body}");
    // The token with its user and their tenant, then the list.
    assert_reads(&seen, 2, "an API list call");
    assert!(
        seen.iter()
            .any(|s| s.contains("api_tokens") && s.contains("tenant_users")),
        "the token is read with its user: {seen:#?}"
    );
}

#[tokio::test]
async fn an_audit_page_is_three_statements_and_writes_nothing() {
    let w = recorded_world().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let admin = w.app.admin_client(&c.admin).await;
    w.app.admin_page(&admin, "/audit").await;
    let (html, seen) = statements_of(&w, w.app.admin_page(&admin, "/audit")).await;

    assert!(html.contains("audit-count"), "{html}");
    // The session with its user, the head with the newest checkpoints,
    // the page. (The head and the page as one statement, a UNION ALL, was
    // measured and left out: no cheaper for PostgreSQL, dearer to read.)
    assert_reads(&seen, 3, "an audit page");
    assert!(
        seen.iter().any(|s| s.contains("/* audit head */")),
        "the head and checkpoints in one: {seen:#?}"
    );

    // A filtered search is as many.
    let filtered = "/audit?activity=New-AccessToCustomerDataRequest";
    let (html, seen) = statements_of(&w, w.app.admin_page(&admin, filtered)).await;
    assert!(html.contains("audit-count"), "{html}");
    assert_reads(&seen, 3, "a filtered audit page");
}

#[tokio::test]
async fn a_request_detail_page_reads_each_part_once_and_writes_nothing() {
    let w = recorded_world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let admin = w.app.admin_client(&c.admin).await;
    let detail = format!("/support/lockbox/requests/{id}");
    w.app.admin_page(&admin, &detail).await;
    let (html, seen) = statements_of(&w, w.app.admin_page(&admin, &detail)).await;

    assert!(html.contains(&id.to_string()));
    // The session with its user, the request with its approvals,
    // operator actions, receipts, timeline, questions and answers; a
    // flash message looked for is not a change.
    assert_reads(&seen, 6, "a detail page");
}

#[tokio::test]
async fn a_decision_is_one_transaction_and_reads_the_request_once() {
    let w = recorded_world().await;
    let c = w.customers();
    let ids: Vec<RequestId> = (0..2)
        .map(|_| {
            w.app
                .arrange_request(w.contoso, &w.engineer, Some(&w.manager))
        })
        .collect();
    let token = customer_token(&w.app, &c.admin, TokenScope::Decide);
    let decide = |id: RequestId| {
        let url = format!("{}/api/v1/requests/{id}/decision", w.app.admin_url);
        let token = token.clone();
        async move {
            call(reqwest::Method::POST, url, &token)
                .json(&serde_json::json!({"ApprovalDecision": "Approve", "Comment": "ok"}))
                .send()
                .await
                .expect("decide")
                .text()
                .await
                .expect("body")
        }
    };
    decide(ids[0]).await;
    let (body, seen) = statements_of(&w, decide(ids[1])).await;

    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["ApprovalStatus"], "Approved", "{body}");
    let count = |word: &str| seen.iter().filter(|s| s.trim() == word).count();
    assert_eq!(
        (count("BEGIN"), count("COMMIT")),
        (1, 1),
        "{}",
        listed(&seen)
    );
    let reads = seen
        .iter()
        .filter(|s| s.contains("/* request */") || s.contains("FROM \"access_request_events\""))
        .count();
    assert_eq!(
        reads,
        1,
        "the request is read once, under its lock:\n{}",
        listed(&seen)
    );
    // The token with its user; the transaction (lock, request, state,
    // timeline, audit, receipt, webhooks, the engineer's address with their
    // mail reader, the withdrawn reminder, the mail) with BEGIN and COMMIT.
    assert!(
        seen.len() <= 13,
        "{} statements for a decision:\n{}",
        seen.len(),
        listed(&seen)
    );
}

/// Checkouts the pools of this process have served so far (the test runs
/// in a process of its own: `cargo nextest`).
fn checkouts() -> u64 {
    lockbox::db::watch::checkouts().map_or(0, |c| c.wait.get_sample_count())
}

#[tokio::test]
async fn a_signed_in_page_takes_one_connection_from_the_pool_and_gives_it_back() {
    let w = recorded_world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let admin = w.app.admin_client(&c.admin).await;
    let other = w.app.admin_client(&c.fabrikam_admin).await;
    let detail = format!("/support/lockbox/requests/{id}");
    let pages = [
        (&admin, "/support/lockbox/requests", 200),
        (&admin, detail.as_str(), 200),
        (&admin, "/audit", 200),
        (&admin, "/", 200),
        // Another tenant's request: the handler's query finds nothing.
        (&other, detail.as_str(), 404),
    ];
    for (client, page, status) in pages {
        // The first view prepares the connection's statements.
        w.app.get_admin(client, page).await;
        let before = checkouts();
        let resp = w.app.get_admin(client, page).await;
        assert_eq!(resp.status().as_u16(), status, "{page}");
        assert_eq!(
            checkouts() - before,
            1,
            "{page}: the session read and the page's queries share one checkout"
        );
        let pool = w.app.pool.state();
        assert_eq!(
            pool.idle_connections, pool.connections,
            "{page}: no connection is kept once the page is answered"
        );
    }
}

/// A page stand-in that notes the pool's idle and open connections while
/// it is rendered (a text template: askama's own, no HTML escaper named).
#[derive(askama::Template)]
#[template(source = "{{ self.note() }}", ext = "txt")]
struct Probe {
    pool: lockbox::db::PgPool,
    seen: std::sync::Mutex<Option<(u32, u32)>>,
}

impl Probe {
    fn note(&self) -> &'static str {
        let state = self.pool.state();
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some((state.idle_connections, state.connections));
        }
        "probe"
    }
}

#[tokio::test]
async fn a_page_gives_its_connection_back_before_it_is_rendered() {
    use diesel::RunQueryDsl;
    let w = recorded_world().await;
    let pool = w.app.pool.clone();
    let probe = Probe {
        pool: pool.clone(),
        seen: std::sync::Mutex::new(None),
    };
    let kept = lockbox::db::one_checkout::scope(async {
        let query = lockbox::db::blocking(&pool, |conn| {
            diesel::sql_query("SELECT 1")
                .execute(conn)
                .map_err(lockbox::db::DbError::from)
        });
        query.await.expect("query");
        let kept = pool.state();
        let page = lockbox::web::render(&probe).expect("rendered");
        assert_eq!(page.status().as_u16(), 200);
        kept
    })
    .await;
    assert_eq!(
        kept.idle_connections + 1,
        kept.connections,
        "the query's connection is kept for the request: {kept:?}"
    );
    let seen = probe.seen.lock().map(|s| *s).unwrap_or_default();
    let (idle, open) = seen.expect("rendered");
    assert_eq!(idle, open, "the connection is back before the page renders");
}

#[tokio::test]
async fn a_form_post_holds_no_connection_while_its_body_is_on_the_way() {
    use tokio::io::AsyncWriteExt;
    let w = recorded_world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let (admin, jar) = crate::helpers::client_with_jar();
    w.app.admin_sign_in(&admin, &c.admin).await;
    let cookie = {
        use reqwest::cookie::CookieStore;
        jar.cookies(&reqwest::Url::parse(&w.app.admin_url).expect("url"))
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    };
    let addr = w.app.admin_url.trim_start_matches("http://");
    let before = checkouts();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /support/lockbox/requests/{id}/approve HTTP/1.1\r\nHost: {addr}\r\n\
         Cookie: {cookie}\r\nOrigin: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\ncsrf_token=",
        w.app.admin_url
    );
    stream.write_all(head.as_bytes()).await.expect("sent");
    // The session is read as soon as the head is in; the body never comes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while checkouts() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the session was never read"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // The read's connection is back in the pool while the server waits
    // for the body (a kept one would stay out until the body came).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let pool = w.app.pool.state();
        if pool.idle_connections == pool.connections {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a request waiting for its body holds a connection: {pool:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    drop(stream);
}

/// What [`recorded_world`] waits for: the start-up rounds of the
/// background work (housekeeping's, the sweeper's with its reminders, the
/// gauges' refresh) have sent their statements when it says they are done.
#[tokio::test]
async fn the_start_up_rounds_are_over_when_the_application_says_so() {
    record_statements();
    let db = crate::helpers::TestDatabase::new();
    let database = database_of(&db.app_url);
    watch(&database);
    let app = crate::helpers::spawn_app_on(db, quiet_background).await;
    app.first_rounds.done().await;
    let seen = since(0, &database);
    let sent = |what: &str, part: &str| {
        assert!(
            seen.iter().any(|s| s.contains(part)),
            "{what} is not done:\n{}",
            listed(&seen)
        )
    };
    // Each round's last statement.
    sent("housekeeping", "DELETE FROM sign_in_counters");
    sent("the sweeper's reminders", "NOT (EXISTS (SELECT");
    sent("the gauges' refresh", "AS oldest_mail");
    let opened = seen.iter().filter(|s| s.starts_with("BEGIN")).count();
    let closed = seen.iter().filter(|s| s.trim() == "COMMIT").count();
    assert_eq!(opened, closed, "a transaction is open:\n{}", listed(&seen));
}

#[derive(diesel::QueryableByName)]
struct Kept {
    #[diesel(sql_type = diesel::sql_types::Text)]
    statement: String,
}

/// The statements the connection keeps prepared.
fn kept(conn: &mut diesel::PgConnection) -> Vec<String> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT statement FROM pg_prepared_statements")
        .load::<Kept>(conn)
        .expect("prepared statements")
        .into_iter()
        .map(|k| k.statement)
        .collect()
}

/// `caller` approves the first of `ids` on `conn` (each approval must
/// move its request to `to`), each of `writes` is then found kept
/// prepared; the second approval prepares nothing new. Answers the
/// request as the second approval left it.
fn approvals_keep_their_writes_prepared(
    conn: &mut diesel::PgConnection,
    caller: &lockbox::requests::Caller,
    ids: [RequestId; 2],
    clock: &dyn lockbox::clock::Clock,
    signer: Option<std::sync::Arc<lockbox::signing::Signer>>,
    to: lockbox::requests::Status,
    writes: &[&str],
) -> lockbox::requests::AccessRequest {
    use lockbox::requests::{Action, Comment, Policy, decide_as};
    let approve = |conn: &mut diesel::PgConnection, id: RequestId| {
        let decided = decide_as(
            conn,
            caller,
            id,
            Action::Approve,
            Comment::parse("ok").expect("comment"),
            "192.0.2.7",
            clock,
            &Policy::default(),
            signer.clone(),
        )
        .expect("approved");
        assert_eq!(decided.status, to);
        decided
    };
    approve(conn, ids[0]);
    let first = kept(conn);
    for write in writes {
        assert!(
            first.iter().any(|s| s.starts_with(write)),
            "{write} is not kept prepared:\n{}",
            listed(&first)
        );
    }
    let decided = approve(conn, ids[1]);
    let second = kept(conn);
    assert_eq!(
        second.len(),
        first.len(),
        "the second approval prepared statements of its own:\n{}",
        listed(&second)
    );
    decided
}

/// A customer's approval writes through statements its connection keeps
/// prepared, and the next approval on that connection prepares nothing
/// new: diesel keeps no UPDATE, and no INSERT of a struct or of several
/// rows, unless `db::prepared` vouches for its text and it is run by
/// value. Run with `execute`, the same wrapper keeps nothing (what
/// `db::Prepared`'s comment warns of).
#[tokio::test]
async fn a_decisions_writes_are_kept_prepared() {
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    use lockbox::{
        identity::UserId,
        requests::{Caller, Status, Via},
        schema::access_requests as ar,
        signing::Signer,
        tenants::Role,
    };

    let w = crate::helpers::world().await;
    let admin = w.customers().admin;
    let ids: Vec<RequestId> = (0..2)
        .map(|_| {
            w.app
                .arrange_request(w.contoso, &w.engineer, Some(&w.manager))
        })
        .collect();
    let caller = Caller::Customer {
        id: UserId::from(admin.id),
        tenant: w.contoso,
        name: "Contoso Admin".into(),
        role: Role::GlobalAdmin,
        via: Via::Portal,
    };
    let mut conn = w.app.conn();
    let decided = approvals_keep_their_writes_prepared(
        &mut conn,
        &caller,
        [ids[0], ids[1]],
        &w.app.clock,
        Some(std::sync::Arc::new(Signer::generate())),
        Status::Approved,
        &[
            "UPDATE \"access_requests\" SET \"status\"",
            "INSERT INTO \"audit_records\"",
            "INSERT INTO \"decision_receipts\"",
            "UPDATE \"outbox\" SET \"status\"",
            "INSERT INTO \"outbox\"",
        ],
    );

    // Diesel's own `execute`: `Prepared` refuses `.execute` at compile time.
    RunQueryDsl::execute(
        lockbox::db::prepared(
            diesel::update(ar::table.find(decided.id))
                .set(ar::workload.eq(decided.workload.as_db())),
        ),
        &mut *conn,
    )
    .expect("update");
    assert!(
        !kept(&mut conn)
            .iter()
            .any(|s| s.contains("SET \"workload\"")),
        "execute kept it prepared after all: db::Prepared's comment is out of date"
    );
}

/// A manager's approval writes the quorum the request is decided under
/// and the moment of the manager's decision through statements its
/// connection keeps prepared, and the next one prepares nothing new.
#[tokio::test]
async fn a_managers_approval_writes_are_kept_prepared() {
    use lockbox::{
        requests::{Caller, Status, Via},
        staff::StaffRole,
    };

    let w = crate::helpers::world().await;
    let ids: Vec<RequestId> = (0..2)
        .map(|_| w.app.arrange_request(w.contoso, &w.engineer, None))
        .collect();
    let caller = Caller::Staff {
        id: w.manager.staff_id(),
        name: "Manager".into(),
        role: StaffRole::Manager,
        via: Via::Portal,
    };
    approvals_keep_their_writes_prepared(
        &mut w.app.conn(),
        &caller,
        [ids[0], ids[1]],
        &w.app.clock,
        None,
        Status::PendingCustomer,
        &[
            "UPDATE \"access_requests\" SET \"status\"",
            "INSERT INTO \"audit_records\"",
            "UPDATE \"access_requests\" SET \"approvals_required\"",
            "UPDATE \"access_requests\" SET \"manager_decided_at\"",
        ],
    );
}

/// Whether a statement reads (or names) a password hash.
fn reads_password_hash(seen: &[String]) -> Vec<&String> {
    seen.iter()
        .filter(|s| s.contains("password_hash"))
        .collect()
}

/// Only a sign-in reads a password hash: a signed-in page of either
/// portal, the admin center's list of users and an API call of either
/// kind read their account's row without it. The sign-ins of both portals
/// are recorded too, so the test sees the column where it is read.
#[tokio::test]
async fn only_a_sign_in_reads_a_password_hash() {
    let w = recorded_world().await;
    let c = w.customers();
    let (customer, staff) = (
        customer_token(&w.app, &c.admin, TokenScope::Read),
        staff_token(&w.app, &w.engineer),
    );
    let (_, admin_sign_in) = statements_of(&w, async {
        w.app.admin_client(&c.admin).await;
        String::new()
    })
    .await;
    let (_, engineer_sign_in) = statements_of(&w, async {
        w.app.engineer_client(&w.engineer).await;
        String::new()
    })
    .await;
    for (portal, seen) in [("admin", admin_sign_in), ("engineer", engineer_sign_in)] {
        assert_eq!(
            reads_password_hash(&seen).len(),
            1,
            "the {portal} sign-in reads the hash it checks, once: {}",
            listed(&seen)
        );
    }

    let admin = w.app.admin_client(&c.admin).await;
    let engineer = w.app.engineer_client(&w.engineer).await;
    let (admin_url, engineer_url) = (&w.app.admin_url, &w.app.engineer_url);
    for (what, request) in [
        (
            "the request list",
            admin.get(format!("{admin_url}/support/lockbox/requests")),
        ),
        ("the users", admin.get(format!("{admin_url}/roles"))),
        (
            "the engineer's home",
            engineer.get(format!("{engineer_url}/")),
        ),
        (
            "a customer's API call",
            call(
                reqwest::Method::GET,
                format!("{admin_url}/api/v1/requests"),
                &customer,
            ),
        ),
        (
            "a staff API call",
            call(
                reqwest::Method::GET,
                format!("{engineer_url}/api/v1/requests"),
                &staff,
            ),
        ),
    ] {
        let (status, seen) = statements_of(&w, async {
            let resp = request.send().await.expect(what);
            let status = resp.status();
            resp.bytes().await.expect("body");
            status.to_string()
        })
        .await;
        assert_eq!(status, "200 OK", "{what}");
        assert!(!seen.is_empty(), "{what} read its account");
        let hashes = reads_password_hash(&seen);
        assert!(
            hashes.is_empty(),
            "{what} read a password hash: {hashes:#?}"
        );
    }
}
