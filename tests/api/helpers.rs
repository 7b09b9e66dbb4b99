//! The test harness: the real application on random ports, a fresh
//! PostgreSQL database per test (cloned from a template migrated once per
//! run), a settable clock, and cookie-aware HTTP clients.

use std::{
    net::IpAddr,
    sync::{Arc, OnceLock},
};

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use lockbox::{
    auth::password,
    clock::{SettableClock, SharedClock},
    config::Settings,
    db::{self, PgPool},
    identity::{DisplayName, Email, NewPassword},
    staff::{self, StaffRole},
    startup::Application,
    tenants::{self, NewTenantUser, Role, TenantName},
};
use reqwest::{Client, Response, cookie::Jar, redirect::Policy};
use uuid::Uuid;

/// The server the tests create their databases on.
pub fn server_url() -> String {
    std::env::var("LOCKBOX_TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `url` with TLS turned off unless it asks for it: on loopback TLS buys
/// nothing, and OpenSSL's clean-up at process exit can crash threads that
/// still hold connections.
fn without_tls(url: &str) -> String {
    if url.contains("sslmode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

/// The server's maintenance database, where databases are created.
fn maintenance_url() -> String {
    without_tls(&server_url())
}

/// `server_url` with another database name.
pub fn database_url(db: &str) -> String {
    let base = server_url();
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h.to_owned(), format!("?{q}")),
        None => (base.clone(), String::new()),
    };
    let prefix = head.rsplit_once('/').map_or(head.as_str(), |(p, _)| p);
    without_tls(&format!("{prefix}/{db}{query}"))
}

/// A digest of the migrations, so a changed migration gets a new template.
fn migrations_digest() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut all = Vec::new();
    for f in files {
        all.extend(f.to_string_lossy().as_bytes());
        all.extend(std::fs::read(&f).expect("migration readable"));
    }
    lockbox::auth::token::hex(&lockbox::auth::token::sha256(&all))[..16].to_owned()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("migrations dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The migrated template, created once per run; concurrent test processes
/// wait for each other on an advisory lock.
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("lockbox_template_{}", migrations_digest());
        let mut admin =
            PgConnection::establish(&maintenance_url()).expect("test PostgreSQL reachable");
        diesel::sql_query("SELECT pg_advisory_lock(7346205002)")
            .execute(&mut admin)
            .expect("lock");
        let exists = diesel::sql_query(format!(
            "SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"
        ))
        .execute(&mut admin)
        .expect("query")
            > 0;
        if !exists {
            let building = format!("{name}_building");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}"))
                .execute(&mut admin)
                .expect("drop stale");
            diesel::sql_query(format!("CREATE DATABASE {building}"))
                .execute(&mut admin)
                .expect("create template");
            {
                let pool = db::build_pool(&database_url(&building), 1).expect("pool");
                db::run_migrations(&pool).expect("migrations apply");
            }
            diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                .execute(&mut admin)
                .expect("publish template");
        }
        diesel::sql_query("SELECT pg_advisory_unlock(7346205002)")
            .execute(&mut admin)
            .expect("unlock");
        name
    })
}

/// A fresh database for one test, dropped when the guard goes.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// A copy of the migrated template.
    pub fn new() -> Self {
        Self::create(&format!("TEMPLATE {}", template()))
    }

    /// A database without migrations, for tests of the migrations.
    pub fn empty() -> Self {
        Self::create("")
    }

    fn create(options: &str) -> Self {
        let name = format!("lockbox_test_{}", Uuid::new_v4().simple());
        let mut admin =
            PgConnection::establish(&maintenance_url()).expect("test PostgreSQL reachable");
        diesel::sql_query(format!("CREATE DATABASE {name} {options}"))
            .execute(&mut admin)
            .expect("create database");
        let url = database_url(&name);
        Self { name, url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&maintenance_url()) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .expect("valid")
        .with_timezone(&Utc)
}

pub struct TestApp {
    pub settings: Settings,
    pub admin_url: String,
    pub engineer_url: String,
    pub pool: PgPool,
    pub clock: SettableClock,
    /// The server's password hasher: its verifications can be counted.
    pub hasher: password::Hasher,
    /// Dropped with the app: the test's database goes with it.
    _db: TestDatabase,
}

/// A person with an account, and the password they sign in with.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: Uuid,
    pub organization: String,
    pub email: String,
    pub password: String,
}

pub const PASSWORD: &str = "correct horse battery staple";

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    // Errors the app logs show up in a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let db = TestDatabase::new();
    let mut settings = Settings::for_tests(&db.url);
    configure(&mut settings);
    let pool = db::build_pool(&db.url, 8).expect("pool");
    let clock = SettableClock::new(start_time());
    let shared: SharedClock = Arc::new(clock.clone());
    let app = Application::build(settings.clone(), pool.clone(), shared).expect("app builds");
    let admin_url = format!("http://127.0.0.1:{}", app.admin_port());
    let engineer_url = format!("http://127.0.0.1:{}", app.engineer_port());
    let hasher = app.hasher().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        settings,
        admin_url,
        engineer_url,
        pool,
        clock,
        hasher,
        _db: db,
    }
}

/// A browser-like client: keeps cookies, does not follow redirects.
pub fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// A client with an inspectable cookie jar.
pub fn client_with_jar() -> (Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .redirect(Policy::none())
        .build()
        .expect("client");
    (client, jar)
}

/// A client whose connections come from another loopback address.
pub fn client_from(ip: &str) -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

/// The `csrf_token` of the first form on the page.
pub fn csrf_of(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("input[name=csrf_token]").expect("selector");
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .expect("page has a CSRF token")
        .to_owned()
}

/// The text of the elements `selector` matches, trimmed.
pub fn texts(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).expect("selector");
    doc.select(&sel)
        .map(|e| {
            e.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

pub fn location(resp: &Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

impl TestApp {
    pub fn conn(&self) -> db::PgConn {
        self.pool.get().expect("connection")
    }

    /// Seals every pending audit record now, as the server's sealer does
    /// within a moment: for assertions about the chain.
    pub fn seal_audit(&self) {
        lockbox::audit::seal::seal_pending(&mut self.conn()).expect("seal");
    }

    pub fn create_tenant(&self, name: &str, lockbox_on: bool) -> Uuid {
        let name = TenantName::parse(name).expect("valid name");
        tenants::create_tenant(
            &mut self.conn(),
            &name,
            lockbox_on,
            self.clock_now(),
            &lockbox::audit::Actor::command_line(),
        )
        .expect("tenant created")
        .id
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use lockbox::clock::Clock;
        self.clock.now()
    }

    pub fn create_user(&self, tenant: &str, email: &str, role: Role) -> TestUser {
        let tenant_row = tenants::find_tenant_by_name(&mut self.conn(), tenant)
            .expect("query")
            .expect("tenant exists");
        let hash =
            password::hash_blocking(&NewPassword::parse(PASSWORD).expect("valid")).expect("hash");
        let email_p = Email::parse(email).expect("valid email");
        let name = DisplayName::parse(&format!(
            "{tenant} {}",
            email.split('@').next().unwrap_or("x")
        ))
        .expect("valid name");
        let id = tenants::create_user(
            &mut self.conn(),
            NewTenantUser {
                tenant_id: tenant_row.id,
                email: &email_p,
                display_name: &name,
                password_hash: &hash,
                role,
            },
            self.clock_now(),
            &lockbox::audit::Actor::command_line(),
        )
        .expect("user created");
        TestUser {
            id,
            organization: tenant.to_owned(),
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
        }
    }

    pub fn create_staff(&self, email: &str, role: StaffRole) -> TestUser {
        let hash =
            password::hash_blocking(&NewPassword::parse(PASSWORD).expect("valid")).expect("hash");
        let email_p = Email::parse(email).expect("valid email");
        let name = DisplayName::parse(email.split('@').next().unwrap_or("x")).expect("valid");
        let id = staff::create_staff(
            &mut self.conn(),
            &email_p,
            &name,
            &hash,
            role,
            self.clock_now(),
        )
        .expect("staff created");
        TestUser {
            id,
            organization: String::new(),
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
        }
    }

    /// GETs the admin sign-in page (for its CSRF token) and signs in.
    pub async fn admin_sign_in(&self, client: &Client, user: &TestUser) -> Response {
        self.admin_sign_in_with(client, &user.organization, &user.email, &user.password)
            .await
    }

    pub async fn admin_sign_in_with(
        &self,
        client: &Client,
        organization: &str,
        email: &str,
        password: &str,
    ) -> Response {
        let page = self
            .get_admin(client, "/signin")
            .await
            .text()
            .await
            .expect("body");
        client
            .post(format!("{}/signin", self.admin_url))
            .form(&[
                ("csrf_token", csrf_of(&page).as_str()),
                ("organization", organization),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .expect("request")
    }

    pub async fn engineer_sign_in(&self, client: &Client, user: &TestUser) -> Response {
        self.engineer_sign_in_with(client, &user.email, &user.password)
            .await
    }

    pub async fn engineer_sign_in_with(
        &self,
        client: &Client,
        email: &str,
        password: &str,
    ) -> Response {
        let page = self
            .get_engineer(client, "/signin")
            .await
            .text()
            .await
            .expect("body");
        client
            .post(format!("{}/signin", self.engineer_url))
            .form(&[
                ("csrf_token", csrf_of(&page).as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .expect("request")
    }

    pub async fn get_admin(&self, client: &Client, path: &str) -> Response {
        client
            .get(format!("{}{path}", self.admin_url))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_engineer(&self, client: &Client, path: &str) -> Response {
        client
            .get(format!("{}{path}", self.engineer_url))
            .send()
            .await
            .expect("request")
    }
}

/// The fields of a valid new request for `tenant_id`.
pub fn request_form(tenant_id: Uuid) -> Vec<(&'static str, String)> {
    vec![
        ("tenant", tenant_id.to_string()),
        ("service_request", "SR-4711".to_owned()),
        ("workload", "exchange".to_owned()),
        ("duration", "240".to_owned()),
        (
            "justification",
            "Mailbox does not sync; need to read its statistics.".to_owned(),
        ),
    ]
}

/// The request id a "303 to /requests/{id}" points at.
pub fn request_id_of(resp: &Response) -> Uuid {
    let loc = location(resp);
    let id = loc
        .strip_prefix("/requests/")
        .unwrap_or_else(|| panic!("not a request location: {loc:?}"));
    Uuid::parse_str(id).expect("a request id")
}

impl TestApp {
    /// Files a request through the engineer portal's form.
    pub async fn file_request(
        &self,
        client: &Client,
        fields: &[(&'static str, String)],
    ) -> Response {
        let page = self
            .get_engineer(client, "/requests/new")
            .await
            .text()
            .await
            .expect("body");
        let mut form = vec![("csrf_token", csrf_of(&page))];
        form.extend(fields.iter().cloned());
        client
            .post(format!("{}/requests", self.engineer_url))
            .form(&form)
            .send()
            .await
            .expect("request")
    }

    /// Files a valid request and returns its id.
    pub async fn filed_request(&self, client: &Client, tenant_id: Uuid) -> Uuid {
        let resp = self.file_request(client, &request_form(tenant_id)).await;
        assert_eq!(resp.status(), reqwest::StatusCode::SEE_OTHER, "filed");
        request_id_of(&resp)
    }

    /// Takes a decision in the engineer portal through its confirmation page.
    pub async fn staff_decide(
        &self,
        client: &Client,
        id: Uuid,
        action: &str,
        comment: &str,
    ) -> Response {
        let confirm = self
            .get_engineer(client, &format!("/requests/{id}/{action}"))
            .await;
        let token = if confirm.status().is_success() {
            csrf_of(&confirm.text().await.expect("body"))
        } else {
            // Refused pages carry no form; take a token from the home page.
            csrf_of(
                &self
                    .get_engineer(client, "/")
                    .await
                    .text()
                    .await
                    .expect("body"),
            )
        };
        client
            .post(format!("{}/requests/{id}/{action}", self.engineer_url))
            .form(&[("csrf_token", token.as_str()), ("comment", comment)])
            .send()
            .await
            .expect("request")
    }

    /// A signed-in engineer-portal client for `user`.
    pub async fn engineer_client(&self, user: &TestUser) -> Client {
        let c = client();
        let resp = self.engineer_sign_in(&c, user).await;
        assert_eq!(resp.status(), reqwest::StatusCode::SEE_OTHER, "signed in");
        c
    }

    /// A signed-in admin-center client for `user`.
    pub async fn admin_client(&self, user: &TestUser) -> Client {
        let c = client();
        let resp = self.admin_sign_in(&c, user).await;
        assert_eq!(resp.status(), reqwest::StatusCode::SEE_OTHER, "signed in");
        c
    }

    /// Counts the timeline entries of `request` that moved it to `status`.
    pub fn events_to(&self, request: Uuid, status: &str) -> i64 {
        use diesel::{ExpressionMethods, QueryDsl};
        use lockbox::schema::access_request_events as ev;
        ev::table
            .filter(ev::request_id.eq(request))
            .filter(ev::to_status.eq(status))
            .count()
            .get_result(&mut self.conn())
            .expect("count")
    }

    pub fn stored_status(&self, request: Uuid) -> String {
        use diesel::{ExpressionMethods, QueryDsl};
        use lockbox::schema::access_requests as ar;
        ar::table
            .filter(ar::id.eq(request))
            .select(ar::status)
            .first(&mut self.conn())
            .expect("request exists")
    }

    pub fn set_lockbox(&self, tenant: Uuid, on: bool) {
        use diesel::{ExpressionMethods, QueryDsl};
        use lockbox::schema::tenants;
        diesel::update(tenants::table.filter(tenants::id.eq(tenant)))
            .set(tenants::lockbox_enabled.eq(on))
            .execute(&mut self.conn())
            .expect("switch set");
    }
}

/// The world most request tests start from: Contoso (Lockbox on),
/// Fabrikam (off), an engineer, a second engineer and a manager.
pub struct World {
    pub app: TestApp,
    pub contoso: Uuid,
    pub fabrikam: Uuid,
    pub engineer: TestUser,
    pub other_engineer: TestUser,
    pub manager: TestUser,
}

pub async fn world() -> World {
    world_with(|_| {}).await
}

pub async fn world_with(configure: impl FnOnce(&mut Settings)) -> World {
    let app = spawn_app_with(configure).await;
    let contoso = app.create_tenant("Contoso", true);
    let fabrikam = app.create_tenant("Fabrikam", false);
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let other_engineer = app.create_staff("eng2@provider.example", StaffRole::Engineer);
    let manager = app.create_staff("boss@provider.example", StaffRole::Manager);
    World {
        app,
        contoso,
        fabrikam,
        engineer,
        other_engineer,
        manager,
    }
}

impl TestApp {
    /// Arranges a request through the domain directly: filed by `engineer`
    /// for `tenant` (Exchange, 4 h) and, if `manager` is given, approved by
    /// them. Returns its id.
    pub fn arrange_request(
        &self,
        tenant: Uuid,
        engineer: &TestUser,
        manager: Option<&TestUser>,
    ) -> Uuid {
        use lockbox::requests::{
            AccessDuration, Actor, Comment, Event, Justification, NewRequest, Policy,
            ServiceRequestNumber, Workload,
            store::{self, Decision, Scope},
        };
        let policy = Policy::default();
        let new = NewRequest {
            tenant_id: tenant,
            service_request: ServiceRequestNumber::parse("SR-1000").expect("valid"),
            workload: Workload::Exchange,
            duration: AccessDuration::parse("240", &policy).expect("valid"),
            justification: Justification::parse("Investigating a support case.").expect("valid"),
        };
        let mut conn = self.conn();
        let id = store::file(
            &mut conn,
            (engineer.id, "engineer", "127.0.0.1"),
            &new,
            self.clock_now(),
        )
        .expect("filed");
        if let Some(manager) = manager {
            let decision = Decision {
                event: Event::ManagerApprove { lockbox_on: true },
                actor: Actor::Manager(manager.id),
                actor_name: "manager".into(),
                ip: "127.0.0.1".into(),
                comment: Comment::default(),
            };
            store::decide(
                &mut conn,
                id,
                Scope::Provider,
                &decision,
                self.clock_now(),
                &policy,
            )
            .expect("approved");
        }
        id
    }

    /// Cancels a request as its engineer, through the domain.
    pub fn arrange_cancel(&self, request: Uuid, engineer: &TestUser) {
        use lockbox::requests::{Actor, Comment, Event, Policy, store};
        let decision = store::Decision {
            event: Event::Cancel,
            actor: Actor::Engineer(engineer.id),
            actor_name: "engineer".into(),
            ip: "127.0.0.1".into(),
            comment: Comment::default(),
        };
        store::decide(
            &mut self.conn(),
            request,
            store::Scope::Provider,
            &decision,
            self.clock_now(),
            &Policy::default(),
        )
        .expect("cancelled");
    }

    /// Takes a customer decision through its confirmation page.
    pub async fn customer_decide(
        &self,
        client: &Client,
        id: Uuid,
        action: &str,
        comment: &str,
    ) -> Response {
        let base = format!("/support/lockbox/requests/{id}");
        let confirm = self.get_admin(client, &format!("{base}/{action}")).await;
        let token = if confirm.status().is_success() {
            csrf_of(&confirm.text().await.expect("body"))
        } else {
            // Refused pages carry no form; the frame's sign-out form has one.
            csrf_of(
                &self
                    .get_admin(client, "/")
                    .await
                    .text()
                    .await
                    .expect("body"),
            )
        };
        client
            .post(format!("{}{base}/{action}", self.admin_url))
            .form(&[("csrf_token", token.as_str()), ("comment", comment)])
            .send()
            .await
            .expect("request")
    }

    /// POSTs `fields` to `action` on the admin center with a CSRF token
    /// taken from `page`.
    pub async fn admin_post(
        &self,
        client: &Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let html = self
            .get_admin(client, page)
            .await
            .text()
            .await
            .expect("body");
        let token = csrf_of(&html);
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        client
            .post(format!("{}{action}", self.admin_url))
            .form(&form)
            .send()
            .await
            .expect("request")
    }
}

/// Contoso's people on top of [`World`]: a global admin, an approver and a
/// plain user, plus Fabrikam's global admin for isolation tests.
pub struct Customers {
    pub admin: TestUser,
    pub approver: TestUser,
    pub user: TestUser,
    pub fabrikam_admin: TestUser,
}

impl World {
    pub fn customers(&self) -> Customers {
        Customers {
            admin: self
                .app
                .create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin),
            approver: self
                .app
                .create_user("Contoso", "approver@contoso.example", Role::Approver),
            user: self
                .app
                .create_user("Contoso", "user@contoso.example", Role::User),
            fabrikam_admin: self.app.create_user(
                "Fabrikam",
                "admin@fabrikam.example",
                Role::GlobalAdmin,
            ),
        }
    }
}

/// Settings that send mail to the test SMTP server on `port`.
pub fn smtp_to(settings: &mut Settings, port: u16) {
    settings.mail.transport = lockbox::config::MailTransport::Smtp(lockbox::config::SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: lockbox::config::SmtpSecurity::None,
        username: None,
        password: None,
    });
}

impl TestApp {
    /// Runs one delivery pass of the outbox worker with this app's mail
    /// settings, on a blocking thread (the SMTP server runs on this one).
    pub async fn deliver_mail(&self) -> lockbox::notify::outbox::Delivery {
        let (pool, settings, now) = (self.pool.clone(), self.settings.clone(), self.clock_now());
        tokio::task::spawn_blocking(move || {
            let mailer =
                lockbox::notify::mailer::from_settings(&settings.mail.transport).expect("mailer");
            lockbox::notify::outbox::deliver_due(
                &mut pool.get().expect("conn"),
                mailer.as_ref(),
                &settings.mail.from,
                settings.mail.max_attempts,
                now,
                100,
            )
            .expect("delivery pass")
        })
        .await
        .expect("delivery thread")
    }
}

impl TestApp {
    /// Files a request for `workload` and takes it all the way to Approved
    /// (manager, then the customer if the tenant's Lockbox is on), through
    /// the domain. Returns its id.
    pub fn approved_request(
        &self,
        tenant: Uuid,
        engineer: &TestUser,
        manager: &TestUser,
        workload: &str,
    ) -> Uuid {
        use lockbox::requests::{
            AccessDuration, Actor, Comment, Event, Justification, NewRequest, Policy,
            ServiceRequestNumber, Status, Workload,
            store::{self, Decision, Scope},
        };
        let policy = Policy::default();
        let new = NewRequest {
            tenant_id: tenant,
            service_request: ServiceRequestNumber::parse("SR-2000").expect("valid"),
            workload: Workload::from_db(workload).expect("workload"),
            duration: AccessDuration::parse("240", &policy).expect("valid"),
            justification: Justification::parse("Investigating a support case.").expect("valid"),
        };
        let mut conn = self.conn();
        let now = self.clock_now();
        let id = store::file(&mut conn, (engineer.id, "engineer", "127.0.0.1"), &new, now)
            .expect("filed");
        let decide = |conn: &mut diesel::PgConnection, event, actor| {
            let decision = Decision {
                event,
                actor,
                actor_name: "someone".into(),
                ip: "127.0.0.1".into(),
                comment: Comment::default(),
            };
            store::decide(conn, id, Scope::Provider, &decision, now, &policy).expect("decided")
        };
        let after = decide(
            &mut conn,
            Event::ManagerApprove { lockbox_on: true },
            Actor::Manager(manager.id),
        );
        if after.status == Status::PendingCustomer {
            decide(
                &mut conn,
                Event::CustomerApprove,
                Actor::Customer(Uuid::from_u128(77)),
            );
        }
        id
    }

    /// Seeds a little content for the tenant (5 messages per mailbox).
    pub fn seed_content(&self, tenant: Uuid, domain: &str) {
        lockbox::content::seed::seed_tenant(&mut self.conn(), tenant, domain, 5, self.clock_now())
            .expect("seeded");
    }

    /// Runs an operation from the request's access session page.
    pub async fn run_operation(
        &self,
        client: &Client,
        request: Uuid,
        fields: &[(&str, &str)],
    ) -> Response {
        let page = self
            .get_engineer(client, &format!("/requests/{request}/session"))
            .await
            .text()
            .await
            .expect("body");
        let token = csrf_of(&page);
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        client
            .post(format!("{}/requests/{request}/session", self.engineer_url))
            .form(&form)
            .send()
            .await
            .expect("request")
    }
}
