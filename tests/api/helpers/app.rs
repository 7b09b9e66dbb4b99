//! The running application: spawned on random ports over its own database,
//! with a settable clock; its accounts, clients and pages.

use std::{net::IpAddr, sync::Arc};

use chrono::{DateTime, Utc};
use lockbox::{
    auth::password,
    clock::{SettableClock, SharedClock},
    config::Settings,
    db::{self, PgPool},
    identity::{DisplayName, Email, NewPassword, StaffId, TenantId},
    staff::{self, StaffRole},
    startup::Application,
    tenants::{self, NewTenantUser, Role, TenantName},
};
use reqwest::{Client, Response, cookie::Jar, redirect::Policy};
use uuid::Uuid;

use super::{TestDatabase, csrf_of};

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .expect("valid")
        .with_timezone(&Utc)
}

pub struct TestApp {
    pub settings: Settings,
    pub admin_url: String,
    pub engineer_url: String,
    /// The app's own pool: connected as the runtime role, [`super::APP_ROLE`].
    pub pool: PgPool,
    /// Connected as the owner of the tables, for arranging.
    pub owner_pool: PgPool,
    /// The owner's URL (migrations run as the owner).
    pub owner_url: String,
    pub clock: SettableClock,
    /// The server's password hasher: its verifications can be counted.
    pub hasher: password::Hasher,
    /// Done once the background work's start-up rounds are.
    pub first_rounds: lockbox::startup::FirstRounds,
    /// Dropped with the app (and any [`TestApp::second`] of it): the
    /// test's database goes with it.
    _db: Arc<TestDatabase>,
    /// And its signing key files.
    _keys: Arc<KeyFiles>,
}

/// Removes a test app's signing key and keyring when dropped.
struct KeyFiles(std::path::PathBuf);

impl Drop for KeyFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(lockbox::signing::keyring_path(&self.0));
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A person with an account, and the password they sign in with.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: Uuid,
    pub organization: String,
    pub email: String,
    pub password: String,
}

impl TestUser {
    /// The person as provider staff.
    pub fn staff_id(&self) -> StaffId {
        StaffId(self.id)
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(TestDatabase::new(), configure).await
}

/// [`spawn_app_with`] on a database of the test's choosing (one on a
/// private cluster, say: see [`super::cluster::Solo`]).
pub async fn spawn_app_on(db: TestDatabase, configure: impl FnOnce(&mut Settings)) -> TestApp {
    // Errors the app logs show up in a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let mut settings = Settings::for_tests(&db.app_url);
    // Tests that are not about two-factor sign-in sign staff in with their
    // password alone (the tests of it turn it back on); see also
    // `create_tenant`.
    settings.staff_mfa_required = false;
    configure(&mut settings);
    let keys = Arc::new(KeyFiles(settings.signing_key_file.clone()));
    launch(settings, Arc::new(db), keys).await
}

/// Builds and runs an app with `settings` on `db`, its clock at
/// [`start_time`].
async fn launch(settings: Settings, db: Arc<TestDatabase>, keys: Arc<KeyFiles>) -> TestApp {
    let pool = db::build_pool(&db.app_url, 8).expect("pool");
    let owner_pool = db::build_pool(&db.url, 4).expect("owner pool");
    let clock = SettableClock::new(start_time());
    let shared: SharedClock = Arc::new(clock.clone());
    let app = Application::build(settings.clone(), pool.clone(), shared).expect("app builds");
    let admin_url = format!("http://127.0.0.1:{}", app.admin_port());
    let engineer_url = format!("http://127.0.0.1:{}", app.engineer_port());
    let hasher = app.hasher().clone();
    let first_rounds = app.first_rounds();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        settings,
        admin_url,
        engineer_url,
        pool,
        owner_pool,
        owner_url: db.url.clone(),
        clock,
        hasher,
        first_rounds,
        _keys: keys,
        _db: db,
    }
}

/// How long a test client keeps an idle connection: shorter than the
/// server's keep-alive (actix-web's default, 5 s). A connection reused at
/// the moment the server closes it fails its request ("error sending
/// request"; a POST is not retried): a client idle for about that long
/// between arranging and acting met it.
pub const CLIENT_IDLE: std::time::Duration = std::time::Duration::from_secs(2);

/// What every test client starts from: redirects are not followed, and
/// idle connections are dropped before the server would close them (see
/// [`CLIENT_IDLE`]).
pub fn client_builder() -> reqwest::ClientBuilder {
    Client::builder()
        .pool_idle_timeout(CLIENT_IDLE)
        .redirect(Policy::none())
}

/// A browser-like client: keeps cookies, does not follow redirects.
pub fn client() -> Client {
    client_builder().cookie_store(true).build().expect("client")
}

/// A client with an inspectable cookie jar.
pub fn client_with_jar() -> (Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = client_builder()
        .cookie_provider(jar.clone())
        .build()
        .expect("client");
    (client, jar)
}

/// A client whose connections come from another loopback address.
pub fn client_from(ip: &str) -> Client {
    client_builder()
        .cookie_store(true)
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

impl TestApp {
    /// A second lockbox process's worth on this app's database (as when a
    /// provider runs several): the same settings changed by `configure`,
    /// its own pool, ports and clock (from [`start_time`]). The first
    /// app's background work stays as it was: what the test arranged
    /// through it waits for the second's.
    pub async fn second(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.settings.clone();
        configure(&mut settings);
        launch(settings, self._db.clone(), self._keys.clone()).await
    }

    /// A connection as the owner, for arranging a test's world and
    /// inspecting it: the same as [`TestApp::owner_conn`].
    pub fn conn(&self) -> db::PgConn {
        self.owner_conn()
    }

    /// A connection as the owner of the tables: it may do what the app may
    /// not (tamper with the audit log behind lockbox's back, say).
    pub fn owner_conn(&self) -> db::PgConn {
        self.owner_pool.get().expect("owner connection")
    }

    /// A connection from the app's own pool, as the runtime role.
    pub fn app_conn(&self) -> db::PgConn {
        self.pool.get().expect("app connection")
    }

    /// Seals every pending audit record now, as the server's sealer does
    /// within a moment (and as the role it does it as): for assertions
    /// about the chain.
    pub fn seal_audit(&self) {
        lockbox::audit::seal::seal_pending(&mut self.app_conn()).expect("seal");
    }

    /// A tenant whose rule does not require two-factor sign-in (new
    /// tenants do; tests that are about it turn it on with
    /// [`TestApp::require_two_factor`]).
    pub fn create_tenant(&self, name: &str, lockbox_on: bool) -> TenantId {
        let name = TenantName::parse(name).expect("valid name");
        let id = tenants::create_tenant(
            &mut self.conn(),
            &name,
            lockbox_on,
            self.clock_now(),
            &lockbox::audit::Actor::command_line(),
        )
        .expect("tenant created")
        .id;
        self.require_two_factor(id, false);
        id
    }

    /// The deployment key the app signs receipts and checkpoints with.
    pub fn signer(&self) -> std::sync::Arc<lockbox::signing::Signer> {
        std::sync::Arc::new(
            lockbox::signing::Signer::load(&self.settings.signing_key_file).expect("signing key"),
        )
    }

    /// Its public keyring.
    pub fn public_keys(&self) -> lockbox::signing::PublicKeys {
        lockbox::signing::PublicKeys::load(&self.settings.signing_key_file).expect("keyring")
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
            id: id.0,
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
            id: id.0,
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
        let page = self.admin_page(client, "/signin").await;
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
        let page = self.engineer_page(client, "/signin").await;
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

    /// The HTML of an admin-center page, whatever its status.
    pub async fn admin_page(&self, client: &Client, path: &str) -> String {
        self.get_admin(client, path)
            .await
            .text()
            .await
            .expect("body")
    }

    /// The HTML of an engineer-portal page, whatever its status.
    pub async fn engineer_page(&self, client: &Client, path: &str) -> String {
        self.get_engineer(client, path)
            .await
            .text()
            .await
            .expect("body")
    }

    /// The test's database (its URLs, e.g. for running the binary).
    pub fn database(&self) -> &TestDatabase {
        &self._db
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

    pub fn set_lockbox(&self, tenant: TenantId, on: bool) {
        use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
        use lockbox::schema::tenants;
        diesel::update(tenants::table.filter(tenants::id.eq(tenant)))
            .set(tenants::lockbox_enabled.eq(on))
            .execute(&mut self.conn())
            .expect("switch set");
    }
}
