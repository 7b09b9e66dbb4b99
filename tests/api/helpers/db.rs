//! The per-test databases: a template migrated once per run (a new one
//! whenever a migration changes), cloned for each test, dropped after it.
//!
//! Two database roles, as in production: the template is migrated by the
//! server's superuser, the *owner* of every table, and the app serves as
//! [`APP_ROLE`], a login member of the least-privilege `lockbox_app`.

use std::sync::OnceLock;

use diesel::{Connection, PgConnection, RunQueryDsl};
use lockbox::db;
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

/// The login role the app serves as in tests: a member of the
/// `lockbox_app` group role the migrations grant to. Roles are
/// cluster-wide, so it is created once, idempotently.
pub const APP_ROLE: &str = "lockbox_app_test";
/// Its password, for servers that ask for one over TCP.
const APP_ROLE_PASSWORD: &str = "lockbox-app-tests";

/// `url` with another user and password.
fn as_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}{tail}")
}

/// Makes sure of the runtime login role (under the template's lock).
fn ensure_app_role(admin: &mut PgConnection) {
    diesel::sql_query(format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN \
             CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{APP_ROLE_PASSWORD}'; \
           END IF; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
         END $$"
    ))
    .execute(admin)
    .expect("runtime login role");
    diesel::sql_query(format!("GRANT lockbox_app TO {APP_ROLE}"))
        .execute(admin)
        .expect("runtime login role is a member of lockbox_app");
}

/// `server_url` with another database name.
pub fn database_url(db: &str) -> String {
    database_url_on(&server_url(), db)
}

/// The URL of database `db` on the server `server` names.
fn database_url_on(server: &str, db: &str) -> String {
    let base = server.to_owned();
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
    lockbox::digest::hex(&lockbox::digest::sha256(&all))[..16].to_owned()
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
        // The migrations created the group role lockbox_app (if no other
        // database had): its login member for the app.
        ensure_app_role(&mut admin);
        diesel::sql_query("SELECT pg_advisory_unlock(7346205002)")
            .execute(&mut admin)
            .expect("unlock");
        name
    })
}

/// A fresh database for one test, dropped when the guard goes.
pub struct TestDatabase {
    pub name: String,
    /// As the owner (the server's superuser): migrations, arranging.
    pub url: String,
    /// As the runtime role ([`APP_ROLE`]): what the app serves with.
    pub app_url: String,
    /// Its server's maintenance database, where it is dropped.
    maintenance: String,
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

    /// A database on another server (`server`: its superuser's URL, e.g.
    /// a private cluster's), migrated here as the template is, with the
    /// runtime login role made sure of on that server.
    pub fn migrated_on(server: &str) -> Self {
        let db = Self::create_on(&without_tls(server), "");
        {
            let pool = db::build_pool(&db.url, 1).expect("pool");
            db::run_migrations(&pool).expect("migrations apply");
        }
        let mut admin = PgConnection::establish(&db.maintenance).expect("server reachable");
        ensure_app_role(&mut admin);
        db
    }

    fn create(options: &str) -> Self {
        // The template made sure of the runtime role.
        let _ = template();
        Self::create_on(&server_url(), options)
    }

    fn create_on(server: &str, options: &str) -> Self {
        let name = format!("lockbox_test_{}", Uuid::new_v4().simple());
        let maintenance = without_tls(server);
        let mut admin = PgConnection::establish(&maintenance).expect("test PostgreSQL reachable");
        diesel::sql_query(format!("CREATE DATABASE {name} {options}"))
            .execute(&mut admin)
            .expect("create database");
        let url = database_url_on(server, &name);
        let app_url = as_user(&url, APP_ROLE, APP_ROLE_PASSWORD);
        Self {
            name,
            url,
            app_url,
            maintenance,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.maintenance) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}
