//! Bounds that keep a few clients from taking the service from everyone:
//! audit exports that cannot starve the pool, a statement timeout on every
//! pooled connection, a filter box that never scans, sign-in pages that
//! write no session rows, `/metrics` for operators only, and CSV exports
//! that a spreadsheet opens without running anything.

use std::{
    net::SocketAddr,
    time::{Duration as StdDuration, Instant},
};

use diesel::{QueryDsl, RunQueryDsl};
use lockbox::{
    audit,
    auth::api_tokens::TokenScope,
    db,
    identity::{DisplayName, Email, NewPassword, TenantId, UserId},
    tenants::{self, NewTenantUser, Role},
};
use reqwest::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use uuid::Uuid;

use crate::helpers::{
    PASSWORD, TestApp, TestUser, call, client, client_from, client_with_jar, csrf_of,
    customer_token, problem, spawn_app, spawn_app_with, texts, world, world_with,
};

/// The `Cookie` header a jar would send to `base`.
fn cookie_header(jar: &reqwest::cookie::Jar, base: &str) -> String {
    use reqwest::cookie::CookieStore;
    jar.cookies(&reqwest::Url::parse(base).expect("url"))
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_default()
}

fn addr_of(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().expect("address")
}

/// Appends `n` records to the tenant's log in one statement (each about
/// 450 bytes of CSV), a second apart, all before the test's clock. The
/// seeding may take longer than the pool's statement timeout on a busy
/// machine: it is set-up, not what a test measures.
fn seed_bulk(app: &TestApp, tenant: TenantId, n: i64) {
    let mut conn = app.conn();
    db::with_statement_timeout(&mut conn, StdDuration::from_secs(120), |conn| {
        diesel::sql_query(
            "INSERT INTO audit_records \
           (tenant_id, occurred_at, actor_id, actor_name, ip, activity, item, parameters) \
         SELECT $1, $2 - make_interval(secs => g), 'seed', 'Seed User', '10.1.1.1', \
                'UserLoggedIn', 'item-' || g, \
                jsonb_build_object('Comment', repeat('x', 250), 'N', g) \
         FROM generate_series(1, $3) AS g",
        )
        .bind::<diesel::sql_types::Uuid, _>(tenant)
        .bind::<diesel::sql_types::Timestamptz, _>(app.clock_now())
        .bind::<diesel::sql_types::BigInt, _>(n)
        .execute(conn)
    })
    .expect("seeded");
}

/// A download that reads one byte a second: what a slow (or malicious)
/// client does to an export. Its headers are read at once, so the test
/// knows the export started; dropping it ends the connection.
struct SlowDownload {
    status: u16,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for SlowDownload {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Sends `GET path` with `cookie` on a socket with a tiny receive buffer,
/// so the server's writes stall as soon as the buffers are full.
async fn open_tiny(addr: SocketAddr, path: &str, cookie: &str) -> TcpStream {
    open_tiny_with(addr, path, &format!("Cookie: {cookie}")).await
}

/// [`open_tiny`] with any credential header (`Authorization: Bearer …`).
async fn open_tiny_with(addr: SocketAddr, path: &str, credential: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small buffer");
    let mut stream = socket.connect(addr).await.expect("connect");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{credential}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    stream
}

/// Reads up to the end of the response head; the status and the head.
async fn read_head(stream: &mut TcpStream) -> (u16, String) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(StdDuration::from_secs(20), stream.read(&mut byte))
            .await
            .expect("the response starts")
            .expect("read");
        assert_eq!(n, 1, "connection closed in the head: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    (status, head)
}

async fn slow_download(addr: SocketAddr, path: &str, cookie: &str) -> SlowDownload {
    let mut stream = open_tiny(addr, path, cookie).await;
    let (status, _) = read_head(&mut stream).await;
    let reader = tokio::spawn(async move {
        let mut byte = [0u8; 1];
        let mut pace = tokio::time::interval(StdDuration::from_secs(1));
        loop {
            pace.tick().await;
            match stream.read(&mut byte).await {
                Ok(1) => {}
                _ => return,
            }
        }
    });
    SlowDownload { status, reader }
}

/// The whole of a short response.
async fn read_all(addr: SocketAddr, path: &str, cookie: &str) -> (u16, String) {
    let mut stream = open_tiny(addr, path, cookie).await;
    let (status, head) = read_head(&mut stream).await;
    let mut body = Vec::new();
    tokio::time::timeout(StdDuration::from_secs(20), stream.read_to_end(&mut body))
        .await
        .expect("a short answer")
        .expect("read");
    (status, format!("{head}{}", String::from_utf8_lossy(&body)))
}

fn running_exports(metrics: &str) -> i64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("lockbox_audit_exports_running "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no export gauge in {metrics}"))
}

async fn metrics_text(app: &TestApp) -> String {
    client()
        .get(format!("{}/metrics", app.engineer_url))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body")
}

/// Twenty people start a large export each and read it at one byte a
/// second. Nineteen run (the process allows nineteen here), the twentieth
/// is refused with a page that says why, and meanwhile a sign-in and the
/// request list answer within a second. The bound is generous (on a quiet
/// debug build they take about 70 ms and 10 ms, printed): it fails when a
/// page waits for a connection the exports hold, which the pool gives up
/// on after 10 s. Pages are measured once the exports have filled their
/// buffers (the pool is idle), so the figure is the steady state, not the
/// CPU of nineteen exports starting.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_slow_exports_leave_sign_in_and_pages_answering_and_the_twentieth_is_refused() {
    let w = world_with(|s| {
        s.limits.exports_max = 19;
        s.audit_seal_every = None;
        // Twenty people sign in from one address.
        s.sign_in_rate = lockbox::config::RateQuota::UNLIMITED;
    })
    .await;
    let people: Vec<TestUser> = (0..20)
        .map(|i| {
            w.app.create_user(
                "Contoso",
                &format!("admin{i}@contoso.example"),
                Role::GlobalAdmin,
            )
        })
        .collect();
    let approver = w
        .app
        .create_user("Contoso", "approver@contoso.example", Role::Approver);
    seed_bulk(&w.app, w.contoso, 20_000);
    let mut cookies = Vec::new();
    for person in &people {
        let (c, jar) = client_with_jar();
        assert_eq!(
            w.app.admin_sign_in(&c, person).await.status(),
            StatusCode::SEE_OTHER
        );
        cookies.push(cookie_header(&jar, &w.app.admin_url));
    }
    let reader = w.app.admin_client(&approver).await;
    let addr = addr_of(&w.app.admin_url);
    let quiet = Instant::now();
    w.app.admin_client(&approver).await;
    let quiet_sign_in = quiet.elapsed();
    let quiet = Instant::now();
    w.app.get_admin(&reader, "/support/lockbox/requests").await;
    println!(
        "without exports: sign-in {quiet_sign_in:?}, request list {:?}",
        quiet.elapsed()
    );

    let mut downloads = Vec::new();
    for cookie in &cookies[..19] {
        downloads.push(slow_download(addr, "/audit/export.csv", cookie).await);
    }
    assert!(downloads.iter().all(|d| d.status == 200));
    // The exports fill their buffers, then wait for their clients holding
    // no connection: the pool goes (and stays) idle.
    let deadline = Instant::now() + StdDuration::from_secs(60);
    let mut idle_polls = 0;
    while idle_polls < 5 {
        let state = w.app.pool.state();
        idle_polls = if state.idle_connections == state.connections {
            idle_polls + 1
        } else {
            0
        };
        assert!(
            Instant::now() < deadline,
            "exports hold connections: {state:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert_eq!(
        running_exports(&metrics_text(&w.app).await),
        19,
        "every slow export is still running (none finished into buffers)"
    );

    let (status, page) = read_all(addr, "/audit/export.csv", &cookies[19]).await;
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("retry-after: 60"), "{page}");
    assert!(
        page.contains("Too many audit exports are running right now. Try again in a minute."),
        "{page}"
    );
    let (status, page) = read_all(addr, "/audit/export.jsonl", &cookies[0]).await;
    assert_eq!(status, 429, "one export per person");
    assert!(
        page.contains("You already have an export running."),
        "{page}"
    );

    let mut slowest = StdDuration::ZERO;
    for _ in 0..3 {
        let started = Instant::now();
        let fresh = client();
        let resp = w.app.admin_sign_in(&fresh, &approver).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "signed in");
        let signed_in = started.elapsed();
        let started = Instant::now();
        let list = w.app.get_admin(&reader, "/support/lockbox/requests").await;
        assert_eq!(list.status(), StatusCode::OK);
        list.text().await.expect("body");
        let listed = started.elapsed();
        println!("sign-in {signed_in:?}, request list {listed:?} during 19 slow exports");
        slowest = slowest.max(signed_in).max(listed);
    }
    assert!(
        slowest < StdDuration::from_secs(1),
        "pages must not wait for exports: {slowest:?}"
    );
    println!("pool during 19 slow exports: {:?}", w.app.pool.state());

    drop(downloads);
    // A slot comes back when its download goes (the next chunk finds the
    // client gone).
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while running_exports(&metrics_text(&w.app).await) > 0 {
        assert!(Instant::now() < deadline, "slots come back");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let (status, _) = read_all(addr, "/audit/export.jsonl?item=item-1", &cookies[19]).await;
    assert_eq!(status, 200, "exporting again once the others are gone");
}

/// The API's export takes its slot from the same bounds as the page's: a
/// person's second export (through either) is refused 429, an export past
/// the process's bound 503, both as problems with `Retry-After`; and it
/// holds no pooled connection while its client reads slowly.
#[tokio::test]
async fn api_exports_share_the_pages_slots_and_say_why_they_are_refused() {
    let w = world_with(|s| {
        s.limits.exports_max = 1;
        s.audit_seal_every = None;
    })
    .await;
    let c = w.customers();
    seed_bulk(&w.app, w.contoso, 20_000);
    let admin_token = customer_token(&w.app, &c.admin, TokenScope::Read);
    let second = w
        .app
        .create_user("Contoso", "second@contoso.example", Role::GlobalAdmin);
    let second_token = customer_token(&w.app, &second, TokenScope::Read);
    let addr = addr_of(&w.app.admin_url);
    let export = "/api/v1/audit/export?format=csv";

    let mut stream = open_tiny_with(
        addr,
        export,
        &format!("Authorization: Bearer {admin_token}"),
    )
    .await;
    let (status, head) = read_head(&mut stream).await;
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("content-type: text/csv"), "{head}");
    assert!(
        head.contains("attachment; filename=\"audit-Contoso-"),
        "{head}"
    );
    // The export fills its buffers, then waits for its client holding no
    // connection.
    let deadline = Instant::now() + StdDuration::from_secs(60);
    let mut idle_polls = 0;
    while idle_polls < 5 {
        let state = w.app.pool.state();
        idle_polls = if state.idle_connections == state.connections {
            idle_polls + 1
        } else {
            0
        };
        assert!(Instant::now() < deadline, "the export holds a connection");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert_eq!(running_exports(&metrics_text(&w.app).await), 1);

    let url = format!("{}{export}", w.app.admin_url);
    let resp = call(reqwest::Method::GET, url.clone(), &admin_token)
        .send()
        .await
        .expect("call");
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("60")
    );
    let body = problem(resp, StatusCode::TOO_MANY_REQUESTS, "export-busy").await;
    assert_eq!(
        body["detail"],
        "You already have an export running. Wait until its download has finished, then try again."
    );
    let resp = call(reqwest::Method::GET, url.clone(), &second_token)
        .send()
        .await
        .expect("call");
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("60")
    );
    problem(resp, StatusCode::SERVICE_UNAVAILABLE, "export-busy").await;
    // The admin center counts the same slots.
    let admin = w.app.admin_client(&c.admin).await;
    let resp = w.app.get_admin(&admin, "/audit/export.jsonl").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);

    drop(stream);
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while running_exports(&metrics_text(&w.app).await) > 0 {
        assert!(Instant::now() < deadline, "the slot comes back");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let resp = call(
        reqwest::Method::GET,
        format!("{url}&Item=item-1"),
        &second_token,
    )
    .send()
    .await
    .expect("call");
    assert_eq!(resp.status(), StatusCode::OK);
    let csv = resp.text().await.expect("body");
    assert_eq!(csv.lines().count(), 2, "the header and item-1: {csv}");
}

/// An export that outlasts its time limit is cut off (the download breaks
/// instead of ending like a whole file) and frees its slot.
#[tokio::test]
async fn an_export_past_its_time_limit_is_cut_off_and_frees_its_slot() {
    let w = world_with(|s| {
        s.limits.export_time_limit = StdDuration::from_millis(300);
        s.audit_seal_every = None;
    })
    .await;
    let c = w.customers();
    seed_bulk(&w.app, w.contoso, 20_000);
    let (admin, jar) = client_with_jar();
    w.app.admin_sign_in(&admin, &c.admin).await;
    let cookie = cookie_header(&jar, &w.app.admin_url);
    let addr = addr_of(&w.app.admin_url);
    let mut stream = open_tiny(addr, "/audit/export.csv", &cookie).await;
    let (status, _) = read_head(&mut stream).await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while running_exports(&metrics_text(&w.app).await) > 0 {
        assert!(Instant::now() < deadline, "the limit ends the export");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let mut rest = Vec::new();
    let read = tokio::time::timeout(StdDuration::from_secs(30), stream.read_to_end(&mut rest))
        .await
        .expect("the server ends the download");
    let body = String::from_utf8_lossy(&rest);
    assert!(
        read.is_err() || !body.ends_with("0\r\n\r\n"),
        "a cut-off export must not end like a complete chunked body"
    );
}

#[tokio::test]
async fn every_pooled_connection_has_a_statement_timeout() {
    let app = spawn_app().await;
    let show = |conn: &mut diesel::PgConnection| -> String {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "current_setting('statement_timeout')",
        ))
        .get_result(conn)
        .expect("setting")
    };
    assert_eq!(
        show(&mut app.conn()),
        "5s",
        "the default, on the app's pool"
    );

    // The owner's: the last step runs the migrations.
    let url = app.owner_url.as_str();
    let pool = db::build_pool_with(url, 2, Some(StdDuration::from_millis(300))).expect("pool");
    let mut conn = pool.get().expect("connection");
    assert_eq!(show(&mut conn), "300ms");
    let err = diesel::sql_query("SELECT pg_sleep(2)")
        .execute(&mut conn)
        .expect_err("cancelled");
    assert!(err.to_string().contains("statement timeout"), "{err}");
    // A longer limit for one transaction, and the pool's limit after it.
    db::with_statement_timeout(&mut conn, StdDuration::from_secs(5), |conn| {
        diesel::sql_query("SELECT pg_sleep(0.5)").execute(conn)
    })
    .expect("allowed the longer limit");
    assert_eq!(show(&mut conn), "300ms");
    // Migrations lift it while they run, and put it back.
    db::run_migrations(&pool).expect("migrations");
    assert_eq!(show(&mut pool.get().expect("connection")), "300ms");
}

/// Page three holds the only record with "needle"; the filter box works on
/// the page shown, so page one shows none of it (and says the next page
/// may), and page three shows it. Before, the box searched every record
/// with a query of its own, a scan of the tenant's log for a rare term.
#[tokio::test]
async fn the_filter_box_narrows_the_shown_page_only() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    let actor = audit::Actor::customer(UserId(Uuid::from_u128(7)), "Seed User", "10.1.1.1");
    let base = w.app.clock_now() - chrono::Duration::days(1);
    for i in 0..130i64 {
        audit::append(
            &mut w.app.conn(),
            audit::Entry {
                tenant_id: w.contoso,
                occurred_at: base + chrono::Duration::minutes(i),
                actor: &actor,
                activity: audit::activity::SET_REQUEST,
                item: format!("item-{i}"),
                parameters: serde_json::json!({
                    "Comment": if i == 5 { "a NEEDLE here" } else { "hay" }
                }),
                request_id: None,
            },
        )
        .expect("append");
    }
    let page = |path: String| {
        let (app, admin) = (&w.app, &admin);
        async move {
            let resp = app.get_admin(admin, &path).await;
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            resp.text().await.expect("body")
        }
    };
    let activity = "activity=Set-AccessToCustomerDataRequest";
    let first = page(format!("/audit?{activity}&narrow=needle")).await;
    assert!(
        texts(&first, "#audit-results tbody tr").is_empty(),
        "not on the first page"
    );
    assert_eq!(
        texts(&first, ".empty"),
        vec!["No record on this page matches the filter; the next page may have some."]
    );
    let next = |html: &str| {
        let doc = scraper::Html::parse_document(html);
        let sel = scraper::Selector::parse("a[rel=next]").expect("selector");
        doc.select(&sel)
            .next()
            .and_then(|a| a.value().attr("href"))
            .map(str::to_owned)
    };
    let second = page(next(&first).expect("a second page")).await;
    assert!(texts(&second, "#audit-results tbody tr").is_empty());
    let third = page(next(&second).expect("a third page")).await;
    let rows = texts(&third, "#audit-results tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("item-5"));
    assert_eq!(next(&third), None);
    assert_eq!(
        texts(&third, "#narrow-hint"),
        vec!["Filters the records on this page."]
    );
}

fn session_rows(app: &TestApp) -> i64 {
    use lockbox::schema::web_sessions;
    web_sessions::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

#[tokio::test]
async fn sign_in_pages_write_no_session_rows_and_sign_in_keeps_its_csrf_check() {
    let app = spawn_app().await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let engineer = app.create_staff("eng@provider.example", lockbox::staff::StaffRole::Engineer);
    let before = session_rows(&app);

    let browser = client();
    for base in [&app.admin_url, &app.engineer_url] {
        for i in 0..100 {
            // Half from one browser (its cookie comes back), half from new
            // visitors without one.
            let c = if i % 2 == 0 {
                browser.clone()
            } else {
                client()
            };
            let resp = c
                .get(format!("{base}/signin"))
                .send()
                .await
                .expect("request");
            assert_eq!(resp.status(), StatusCode::OK);
        }
    }
    assert_eq!(session_rows(&app), before, "no rows for 200 sign-in pages");

    // A POST without the token, or with another visitor's, is refused.
    let (c, _) = client_with_jar();
    let resp = c
        .post(format!("{}/signin", app.engineer_url))
        .form(&[("email", engineer.email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "no token");
    let other = client()
        .get(format!("{}/signin", app.engineer_url))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    app.get_engineer(&c, "/signin").await;
    let resp = c
        .post(format!("{}/signin", app.engineer_url))
        .form(&[
            ("csrf_token", csrf_of(&other).as_str()),
            ("email", engineer.email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "someone else's token");
    // Nor does a token without its cookie get anyone in.
    let cookieless = crate::helpers::client_builder().build().expect("client");
    let resp = cookieless
        .post(format!("{}/signin", app.engineer_url))
        .form(&[
            ("csrf_token", csrf_of(&other).as_str()),
            ("email", engineer.email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "token without cookie");
    assert_eq!(session_rows(&app), before);

    // The real thing still works, and only it writes a row.
    let staff = app.engineer_client(&engineer).await;
    assert_eq!(app.get_engineer(&staff, "/").await.status(), StatusCode::OK);
    let customer = app.admin_client(&admin).await;
    assert_eq!(app.get_admin(&customer, "/").await.status(), StatusCode::OK);
    assert_eq!(session_rows(&app), before + 2);
    // A wrong password re-renders the form without storing anything.
    let resp = app
        .engineer_sign_in_with(&client(), &engineer.email, "not the password")
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(session_rows(&app), before + 2);
}

#[tokio::test]
async fn an_anonymous_sign_in_form_expires_with_the_session_lifetime() {
    let app = spawn_app().await;
    let engineer = app.create_staff("eng@provider.example", lockbox::staff::StaffRole::Engineer);
    let c = client();
    let page = app
        .get_engineer(&c, "/signin")
        .await
        .text()
        .await
        .expect("body");
    app.clock.advance(chrono::Duration::hours(13));
    let resp = c
        .post(format!("{}/signin", app.engineer_url))
        .form(&[
            ("csrf_token", csrf_of(&page).as_str()),
            ("email", engineer.email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "a day-old form");
}

async fn get_metrics(c: &reqwest::Client, app: &TestApp, token: Option<&str>) -> StatusCode {
    let mut req = c.get(format!("{}/metrics", app.engineer_url));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("request").status()
}

#[tokio::test]
async fn metrics_answer_loopback_by_default_and_nobody_a_proxy_relays() {
    let app = spawn_app().await;
    assert_eq!(get_metrics(&client(), &app, None).await, StatusCode::OK);
    let relayed = client()
        .get(format!("{}/metrics", app.engineer_url))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .expect("request");
    assert_eq!(
        relayed.status(),
        StatusCode::FORBIDDEN,
        "a proxy on this host makes every visitor look local"
    );
    assert_eq!(
        get_metrics(&client(), &app, Some("0123456789abcdef0123")).await,
        StatusCode::UNAUTHORIZED,
        "no token is configured: none is right"
    );
}

#[tokio::test]
async fn metrics_answer_configured_addresses_or_the_bearer_token() {
    let token = "metrics-token-0123456789";
    let app = spawn_app_with(|s| {
        s.metrics.allow =
            lockbox::config::MetricsPeers::Only(vec!["127.0.0.2".parse().expect("ip")]);
        s.metrics.token = Some(lockbox::config::Secret::new(token));
    })
    .await;
    assert_eq!(
        get_metrics(&client(), &app, None).await,
        StatusCode::FORBIDDEN,
        "127.0.0.1 is not the configured address"
    );
    assert_eq!(
        get_metrics(&client_from("127.0.0.2"), &app, None).await,
        StatusCode::OK
    );
    assert_eq!(
        get_metrics(&client(), &app, Some(token)).await,
        StatusCode::OK
    );
    assert_eq!(
        get_metrics(&client(), &app, Some("metrics-token-0123456788")).await,
        StatusCode::UNAUTHORIZED
    );
    let relayed_with_token = client()
        .get(format!("{}/metrics", app.engineer_url))
        .header("x-forwarded-for", "203.0.113.9")
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(relayed_with_token.status(), StatusCode::OK);

    let none = spawn_app_with(|s| s.metrics.allow = lockbox::config::MetricsPeers::None).await;
    assert_eq!(
        get_metrics(&client(), &none, None).await,
        StatusCode::FORBIDDEN
    );
}

/// A person whose display name is a spreadsheet formula signs in; the CSV
/// export writes every such cell with a `'` in front.
#[tokio::test]
async fn csv_exports_neutralise_cells_a_spreadsheet_would_run() {
    let w = world().await;
    let c = w.customers();
    let tenant = tenants::find_tenant_by_name(&mut w.app.conn(), "Contoso")
        .expect("query")
        .expect("tenant");
    let hash = lockbox::auth::password::hash_blocking(&NewPassword::parse(PASSWORD).expect("ok"))
        .expect("hash");
    let names = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
    ];
    for (i, name) in names.iter().enumerate() {
        let email = format!("formula{i}@contoso.example");
        let id = tenants::create_user(
            &mut w.app.conn(),
            NewTenantUser {
                tenant_id: tenant.id,
                email: &Email::parse(&email).expect("email"),
                display_name: &DisplayName::parse(name).expect("a name"),
                password_hash: &hash,
                role: Role::GlobalAdmin,
            },
            w.app.clock_now(),
            &audit::Actor::command_line(),
        )
        .expect("created");
        let person = TestUser {
            id: id.0,
            organization: "Contoso".into(),
            email,
            password: PASSWORD.into(),
        };
        w.app.admin_client(&person).await;
    }
    let admin = w.app.admin_client(&c.admin).await;
    let resp = w
        .app
        .get_admin(&admin, "/audit/export.csv?activity=UserLoggedIn")
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let actors: Vec<String> = reader
        .records()
        .map(|r| r.expect("row")[5].to_owned())
        .collect();
    for name in names {
        assert!(
            actors.contains(&format!("'{name}")),
            "{name} neutralised in {actors:?}"
        );
    }
    assert!(
        actors
            .iter()
            .all(|a| !a.starts_with(['=', '+', '-', '@', '\t', '\r'])),
        "{actors:?}"
    );
    // JSON Lines keep the name as it is (data for programs).
    let jsonl = w
        .app
        .get_admin(&admin, "/audit/export.jsonl?activity=UserLoggedIn")
        .await
        .text()
        .await
        .expect("body");
    assert!(jsonl.contains("\"actor_name\":\"@SUM(A1:A2)\""));
}
