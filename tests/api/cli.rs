//! The `lockbox` binary, run as a person would run it.

use std::{
    io::Write,
    net::TcpListener,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use diesel::{QueryDsl, RunQueryDsl};
use lockbox::schema::tenant_users;

use crate::helpers::TestDatabase;

/// `lockbox` as production runs it: serving as the runtime role, the
/// owner's URL for migrations and the operator's commands.
fn lockbox(db: &TestDatabase) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockbox"));
    cmd.env("DATABASE_URL", &db.app_url)
        .env("LOCKBOX_MIGRATE_DATABASE_URL", &db.url)
        .env("LOCKBOX_LOG", "warn");
    cmd
}

fn run_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lockbox starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    child.wait_with_output().expect("lockbox finishes")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// A refusal: non-zero exit and exactly one line saying why.
fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success(), "should fail: {out:?}");
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.contains(needle), "{err:?} should mention {needle:?}");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(db: &TestDatabase, table: &str) -> i64 {
    use diesel::Connection;
    let mut conn = diesel::PgConnection::establish(&db.url).expect("connect");
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result::<Count>(&mut conn)
        .expect("count")
        .n
}

fn create_tenant(db: &TestDatabase, name: &str) -> Output {
    let mut cmd = lockbox(db);
    cmd.args(["tenant", "create", "--name", name]);
    run_with_stdin(cmd, "")
}

#[test]
fn migrate_applies_the_migrations() {
    let db = TestDatabase::new();
    let out = run_with_stdin(
        {
            let mut c = lockbox(&db);
            c.arg("migrate");
            c
        },
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("database is up to date"));
}

#[test]
fn tenant_create_creates_a_tenant_and_refuses_a_duplicate() {
    let db = TestDatabase::new();
    let out = create_tenant(&db, "Contoso");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(count(&db, "tenants"), 1);

    assert_one_line_error(&create_tenant(&db, "contoso"), "already exists");
    assert_one_line_error(&create_tenant(&db, "   "), "Enter the organization's name.");
    assert_eq!(count(&db, "tenants"), 1);
}

#[test]
fn user_create_reads_the_password_from_stdin() {
    let db = TestDatabase::new();
    create_tenant(&db, "Contoso");
    let mut cmd = lockbox(&db);
    cmd.args([
        "user",
        "create",
        "--tenant",
        "Contoso",
        "--email",
        "ada@contoso.example",
        "--role",
        "global-admin",
        "--display-name",
        "Ada Admin",
        "--password-stdin",
    ]);
    let out = run_with_stdin(cmd, "a long enough password\n");
    assert!(out.status.success(), "{}", stderr(&out));
    use diesel::{Connection, ExpressionMethods};
    let mut conn = diesel::PgConnection::establish(&db.url).expect("connect");
    let (role, hash): (String, String) = tenant_users::table
        .filter(tenant_users::email.eq("ada@contoso.example"))
        .select((tenant_users::role, tenant_users::password_hash))
        .first(&mut conn)
        .expect("user exists");
    assert_eq!(role, "global_admin");
    assert!(lockbox::auth::password::verify_blocking(
        "a long enough password",
        &hash
    ));
}

#[test]
fn user_create_refuses_bad_arguments_with_one_line() {
    let db = TestDatabase::new();
    create_tenant(&db, "Contoso");
    let user = |args: &[&str], stdin: &str| {
        let mut cmd = lockbox(&db);
        cmd.args(["user", "create"]).args(args);
        run_with_stdin(cmd, stdin)
    };
    let base = [
        "--tenant",
        "Contoso",
        "--email",
        "ada@contoso.example",
        "--password-stdin",
    ];

    let out = user(
        &[&base[..], &["--role", "wizard"]].concat(),
        "a long enough password\n",
    );
    assert_one_line_error(&out, "invalid value 'wizard'");
    assert_eq!(out.status.code(), Some(2));

    let out = user(
        &[&base[..], &["--role", "global-admin"]].concat(),
        "short\n",
    );
    assert_one_line_error(&out, "at least 12 characters");

    let out = user(
        &[
            "--tenant",
            "Nowhere",
            "--email",
            "ada@x.example",
            "--role",
            "global-admin",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert_one_line_error(&out, "no tenant named \"Nowhere\"");

    let out = user(
        &[
            "--tenant",
            "Contoso",
            "--email",
            "not-an-email",
            "--role",
            "global-admin",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert_one_line_error(&out, "valid email address");

    let out = user(
        &[
            "--tenant",
            "Contoso",
            "--email",
            "ada@contoso.example",
            "--role",
            "global-admin",
        ],
        "",
    );
    assert_one_line_error(&out, "--password-stdin");

    assert_eq!(count(&db, "tenant_users"), 0, "nothing was created");
}

#[test]
fn a_password_is_never_accepted_on_the_command_line() {
    let db = TestDatabase::new();
    let mut cmd = lockbox(&db);
    cmd.args([
        "staff",
        "create",
        "--email",
        "e@provider.example",
        "--role",
        "engineer",
        "--password",
        "secret12345678",
    ]);
    let out = run_with_stdin(cmd, "");
    assert_one_line_error(&out, "unexpected argument '--password'");
    assert!(!stderr(&out).contains("secret12345678"));
}

#[test]
fn staff_create_creates_engineers_and_managers_once() {
    let db = TestDatabase::new();
    let staff = |email: &str, role: &str| {
        let mut cmd = lockbox(&db);
        cmd.args([
            "staff",
            "create",
            "--email",
            email,
            "--role",
            role,
            "--password-stdin",
        ]);
        run_with_stdin(cmd, "a long enough password\n")
    };
    assert!(staff("eng@provider.example", "engineer").status.success());
    assert!(staff("boss@provider.example", "manager").status.success());
    assert_one_line_error(
        &staff("ENG@provider.example", "engineer"),
        "already has a provider staff account",
    );
    assert_one_line_error(
        &staff("x@provider.example", "admin"),
        "invalid value 'admin'",
    );
    assert_eq!(count(&db, "provider_staff"), 2);
}

/// Two free local ports (bound and released; good enough for a test).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_healthy(child: &mut Child, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let client = reqwest::blocking_free_get;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("poll") {
            panic!("lockbox exited early: {status}");
        }
        if client(port) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("lockbox did not become healthy on port {port}");
}

mod reqwest {
    /// A plain HTTP GET of /healthz over a socket, without an async runtime.
    pub fn blocking_free_get(port: u16) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ =
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.starts_with("HTTP/1.1 200")
    }
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    child.wait().expect("lockbox exits")
}

#[test]
fn serve_answers_on_both_ports_and_stops_gracefully() {
    let db = TestDatabase::new();
    let (admin, engineer) = (free_port(), free_port());
    let mut child = lockbox(&db)
        .arg("serve")
        .env("LOCKBOX_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
        .env("LOCKBOX_ENGINEER_ADDR", format!("127.0.0.1:{engineer}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    wait_healthy(&mut child, admin);
    wait_healthy(&mut child, engineer);
    assert!(terminate(&mut child).success());
}

#[test]
fn serve_refuses_out_of_bounds_configuration() {
    let db = TestDatabase::new();
    let mut cmd = lockbox(&db);
    cmd.arg("serve").env("LOCKBOX_SESSION_IDLE_MINUTES", "0");
    assert_one_line_error(&run_with_stdin(cmd, ""), "LOCKBOX_SESSION_IDLE_MINUTES");
}

#[test]
fn demo_on_the_embedded_default_seeds_serves_and_reuses_its_cluster() {
    let data = tempfile::tempdir().expect("tempdir");
    let demo = |admin: u16, engineer: u16| {
        Command::new(env!("CARGO_BIN_EXE_lockbox"))
            .arg("demo")
            .env_remove("DATABASE_URL")
            .env("LOCKBOX_DATA_DIR", data.path())
            .env("LOCKBOX_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
            .env("LOCKBOX_ENGINEER_ADDR", format!("127.0.0.1:{engineer}"))
            .env("LOCKBOX_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts")
    };
    let (admin, engineer) = (free_port(), free_port());
    let mut first = demo(admin, engineer);
    wait_healthy(&mut first, admin);
    wait_healthy(&mut first, engineer);
    // Two-factor sign-in is on for the demo's Contoso and its staff: after
    // the password, an approver and a manager are sent to enrol.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            for (port, fields) in [
                (
                    admin,
                    vec![
                        ("organization", "Contoso"),
                        ("email", "approver@contoso.example"),
                    ],
                ),
                (engineer, vec![("email", "manager@provider.example")]),
            ] {
                let c = crate::helpers::client();
                let base = format!("http://127.0.0.1:{port}");
                let page = c.get(format!("{base}/signin")).send().await.expect("page");
                let token = crate::helpers::csrf_of(&page.text().await.expect("body"));
                let mut form = fields.clone();
                form.push(("csrf_token", &token));
                form.push(("password", lockbox::cli::demo::DEMO_PASSWORD));
                let resp = c
                    .post(format!("{base}/signin"))
                    .form(&form)
                    .send()
                    .await
                    .expect("sign-in");
                assert_eq!(
                    crate::helpers::location(&resp),
                    "/signin/enrol",
                    "{fields:?}"
                );
            }
        });
    {
        // It serves as the runtime role; the owner owns the tables.
        use diesel::Connection;
        let socket = data.path().join("postgres-socket");
        let mut superuser = diesel::PgConnection::establish(&format!(
            "host='{}' port=5432 user=lockbox dbname=lockbox",
            socket.display()
        ))
        .expect("the cluster's socket");
        assert_eq!(
            connected_roles(&mut superuser, "lockbox", &["lockbox_app"]),
            vec!["lockbox_app".to_owned()]
        );
        let owner: Name = diesel::sql_query(
            "SELECT tableowner::text AS name FROM pg_tables WHERE tablename = 'audit_records'",
        )
        .get_result(&mut superuser)
        .expect("owner");
        assert_eq!(owner.name, "lockbox_owner");
        // One open service request per tenant, for the journey to cite.
        let open: Name = diesel::sql_query(
            "SELECT string_agg(t.name, ',' ORDER BY t.name) AS name FROM service_requests s \
             JOIN tenants t ON t.id = s.tenant_id WHERE s.status = 'open'",
        )
        .get_result(&mut superuser)
        .expect("tickets");
        assert_eq!(open.name, "Contoso,Fabrikam");
        // Issue 19: Contoso has two approvers besides its global
        // administrator, so it can require two approvals.
        let approvers: Name = diesel::sql_query(
            "SELECT string_agg(u.email, ',' ORDER BY u.email) AS name FROM tenant_users u \
             JOIN tenants t ON t.id = u.tenant_id WHERE t.name = 'Contoso' AND u.role = 'approver'",
        )
        .get_result(&mut superuser)
        .expect("approvers");
        assert_eq!(
            approvers.name,
            "approver2@contoso.example,approver@contoso.example"
        );
    }
    assert!(terminate(&mut first).success());
    let mut printed = String::new();
    std::io::Read::read_to_string(&mut first.stdout.take().expect("stdout"), &mut printed)
        .expect("read");
    assert!(
        printed.contains(&format!("http://127.0.0.1:{admin}")),
        "{printed}"
    );
    assert!(printed.contains("admin@contoso.example"));
    assert!(printed.contains("manager@provider.example"));
    assert!(printed.contains("password is: "));
    assert!(
        printed.contains("The demo enrols nobody: after the password you are asked to set up an authenticator app"),
        "{printed}"
    );
    let mail_dir = data.path().join("mail");
    assert!(
        printed.contains(&format!("written as .eml files to: {}", mail_dir.display())),
        "{printed}"
    );

    let cluster = data.path().join("postgres");
    assert!(
        cluster.join("PG_VERSION").exists(),
        "a private cluster under the data dir"
    );
    assert!(
        !cluster.join("postmaster.pid").exists(),
        "stopped when lockbox exited"
    );
    let created = std::fs::metadata(cluster.join("PG_VERSION"))
        .and_then(|m| m.modified())
        .expect("mtime");

    let mut second = demo(admin, engineer);
    wait_healthy(&mut second, admin);
    assert!(terminate(&mut second).success());
    let again = std::fs::metadata(cluster.join("PG_VERSION"))
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(created, again, "the second demo reuses the cluster");
    let conf = std::fs::read_to_string(cluster.join("postgresql.conf")).expect("conf");
    assert!(conf.contains("listen_addresses = ''"), "no TCP port");
}

#[test]
fn user_create_makes_a_tenants_first_global_administrator_and_nobody_else() {
    let db = TestDatabase::new();
    create_tenant(&db, "Contoso");
    let user = |email: &str, role: Option<&str>| {
        let mut cmd = lockbox(&db);
        cmd.args([
            "user",
            "create",
            "--tenant",
            "Contoso",
            "--email",
            email,
            "--password-stdin",
        ]);
        if let Some(role) = role {
            cmd.args(["--role", role]);
        }
        run_with_stdin(cmd, "a long enough password\n")
    };

    // Approvers and plain users are the tenant's own admins' to make, even
    // in a tenant with nobody yet.
    for role in ["approver", "user"] {
        let out = user("someone@contoso.example", Some(role));
        assert_one_line_error(&out, "only a tenant's first global administrator");
        assert!(stderr(&out).contains("admin center"), "{}", stderr(&out));
    }
    assert_eq!(count(&db, "tenant_users"), 0, "nothing was created");

    // The first global administrator (the role it makes by default).
    let out = user("ada@contoso.example", None);
    assert!(out.status.success(), "{}", stderr(&out));

    // After that, not even another global administrator.
    for role in [None, Some("global-admin")] {
        let out = user("eve@contoso.example", role);
        assert_one_line_error(
            &out,
            "tenant \"Contoso\" already has a global administrator",
        );
        assert!(
            stderr(&out).contains("in the admin center, under Roles"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(count(&db, "tenant_users"), 1);
}

/// `lockbox demo` on `db`; it must exit by itself within a minute.
fn demo_on(db: &TestDatabase) -> Output {
    let mut child = lockbox(db)
        .arg("demo")
        .env("LOCKBOX_ADMIN_ADDR", format!("127.0.0.1:{}", free_port()))
        .env(
            "LOCKBOX_ENGINEER_ADDR",
            format!("127.0.0.1:{}", free_port()),
        )
        .env(
            "LOCKBOX_MAIL_DIR",
            std::env::temp_dir().join("lockbox-test-mail"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("poll").is_none() {
        if Instant::now() > deadline {
            terminate(&mut child);
            panic!("lockbox demo seeded and served instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn demo_refuses_a_database_with_tenants_or_staff_that_are_not_the_demos() {
    let db = TestDatabase::new();
    create_tenant(&db, "Northwind");
    let out = demo_on(&db);
    assert_one_line_error(&out, "holds tenants (\"Northwind\") of its own");
    assert_eq!(count(&db, "tenants"), 1, "nothing was seeded");
    assert_eq!(count(&db, "tenant_users"), 0);
    assert_eq!(count(&db, "provider_staff"), 0);

    let db = TestDatabase::new();
    let mut cmd = lockbox(&db);
    cmd.args([
        "staff",
        "create",
        "--email",
        "real@provider.example",
        "--role",
        "manager",
        "--password-stdin",
    ]);
    assert!(
        run_with_stdin(cmd, "a long enough password\n")
            .status
            .success()
    );
    let out = demo_on(&db);
    assert_one_line_error(&out, "holds 1 provider staff account of its own");
    assert_eq!(count(&db, "tenants"), 0, "nothing was seeded");
    assert_eq!(count(&db, "provider_staff"), 1);
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// The roles of the client connections to `database` other than `conn`'s
/// own, once the ones that are closing have gone (within five seconds).
fn connected_roles(
    conn: &mut diesel::PgConnection,
    database: &str,
    expected: &[&str],
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let roles: Vec<String> = diesel::sql_query(format!(
            "SELECT DISTINCT usename::text AS name FROM pg_stat_activity \
             WHERE datname = '{database}' AND backend_type = 'client backend' \
               AND pid <> pg_backend_pid() ORDER BY 1"
        ))
        .load::<Name>(conn)
        .expect("pg_stat_activity")
        .into_iter()
        .map(|n| n.name)
        .collect();
        if roles == expected || Instant::now() > deadline {
            return roles;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serve_migrates_as_the_owner_and_serves_as_the_runtime_role() {
    use diesel::Connection;
    let db = TestDatabase::empty();
    let (admin, engineer) = (free_port(), free_port());
    let mut child = lockbox(&db)
        .arg("serve")
        .env("LOCKBOX_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
        .env("LOCKBOX_ENGINEER_ADDR", format!("127.0.0.1:{engineer}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    wait_healthy(&mut child, admin);

    let mut owner = diesel::PgConnection::establish(&db.url).expect("connect");
    let tables_owner: Name = diesel::sql_query(
        "SELECT tableowner::text AS name FROM pg_tables WHERE tablename = 'audit_records'",
    )
    .get_result(&mut owner)
    .expect("owner");
    let me: Name = diesel::sql_query("SELECT current_user::text AS name")
        .get_result(&mut owner)
        .expect("me");
    assert_eq!(tables_owner.name, me.name, "migrated as the owner");
    assert_eq!(
        connected_roles(&mut owner, &db.name, &[crate::helpers::APP_ROLE]),
        vec![crate::helpers::APP_ROLE.to_owned()],
        "serves as the runtime role, and holds no owner connection"
    );

    assert!(terminate(&mut child).success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("read");
    assert!(!err.contains("audit log"), "no warning: {err}");
}

#[test]
fn serve_warns_when_its_role_could_rewrite_the_audit_log() {
    let db = TestDatabase::new();
    let (admin, engineer) = (free_port(), free_port());
    // DATABASE_URL alone, the owner's (here a superuser): as before the
    // two roles, it migrates and serves, but says what that risks.
    let mut child = lockbox(&db)
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env_remove("LOCKBOX_MIGRATE_DATABASE_URL")
        .env("LOCKBOX_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
        .env("LOCKBOX_ENGINEER_ADDR", format!("127.0.0.1:{engineer}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    wait_healthy(&mut child, admin);
    assert!(terminate(&mut child).success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("read");
    assert!(
        err.contains(
            "which is a superuser: a compromised lockbox process could rewrite the audit log"
        ),
        "{err}"
    );
    assert!(err.contains("LOCKBOX_MIGRATE_DATABASE_URL"), "{err}");
}

/// First start: the signing key is made (mode 0600, its public keyring
/// beside it), and the background task signs a checkpoint for a tenant
/// whose chain moved, at once.
#[test]
fn serve_makes_its_signing_key_and_checkpoints_moved_chains() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDatabase::new();
    assert!(create_tenant(&db, "Contoso").status.success());
    let keys = tempfile::tempdir().expect("tempdir");
    let key_file = keys.path().join("keys").join("signing-key.pem");
    let (admin, engineer) = (free_port(), free_port());
    let mut child = lockbox(&db)
        .arg("serve")
        .env("LOCKBOX_SIGNING_KEY_FILE", &key_file)
        .env("LOCKBOX_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
        .env("LOCKBOX_ENGINEER_ADDR", format!("127.0.0.1:{engineer}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    wait_healthy(&mut child, admin);
    let mode = std::fs::metadata(&key_file)
        .expect("key made")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let ring = lockbox::signing::PublicKeys::load(&key_file).expect("keyring");
    assert_eq!(ring.keys.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&db, "audit_checkpoints") == 0 {
        assert!(Instant::now() < deadline, "no checkpoint written");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(terminate(&mut child).success());
    assert_eq!(count(&db, "audit_checkpoints"), 1);

    let out = run_with_stdin(
        {
            let mut c = lockbox(&db);
            c.args(["audit", "verify"])
                .env("LOCKBOX_SIGNING_KEY_FILE", &key_file);
            c
        },
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 signed checkpoints agree"),
        "{:?}",
        out
    );
}

/// `lockbox bench <args>` against the test server, logging errors only.
fn bench(args: &[&str]) -> Output {
    bench_with(args, &[])
}

/// [`bench`] with more environment variables.
fn bench_with(args: &[&str], vars: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .arg("bench")
        .args(args)
        .env("DATABASE_URL", crate::helpers::server_url())
        .env_remove("LOCKBOX_MIGRATE_DATABASE_URL")
        .env("LOCKBOX_LOG", "error")
        .envs(vars.iter().copied())
        .output()
        .expect("lockbox runs")
}

/// `lockbox bench api`, small: it serves the real application on loopback
/// ports over a scratch database, prints the list latency and the
/// decisions per second it measured through the API, and drops the
/// scratch database.
#[test]
fn bench_api_measures_the_api_and_leaves_no_database_behind() {
    let server = crate::helpers::server_url();
    let out = bench(&[
        "api",
        "--requests",
        "30",
        "--calls",
        "10",
        "--decisions",
        "20",
        "--clients",
        "3",
        "--phase-seconds",
        "60",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", stderr(&out));
    assert!(
        stdout.contains("seeded 30 requests waiting for the customer"),
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains(" p50 ") && l.contains("(10 calls)"))
            .count(),
        3,
        "three lists timed: {stdout}"
    );
    assert!(
        stdout.contains("Approve; 3 clients): 20 in "),
        "every decision taken: {stdout}"
    );
    let name = stdout
        .lines()
        .find_map(|l| l.strip_prefix("scratch database: "))
        .expect("the scratch database is named")
        .trim()
        .to_owned();
    use diesel::Connection;
    let mut conn = diesel::PgConnection::establish(&server).expect("connect");
    let left = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"
    ))
    .get_result::<Count>(&mut conn)
    .expect("count")
    .n;
    assert_eq!(left, 0, "{name} is dropped");
}

/// `lockbox bench web`, small: it seeds, serves the real application and
/// its reference page, prints every page's figures with its ratio to the
/// reference at each connection count, the decisions per second across
/// the tenants and the memory figures, and drops the scratch database.
#[test]
fn bench_web_prints_every_page_beside_the_reference_and_the_memory() {
    let server = crate::helpers::server_url();
    let out = bench_with(
        &[
            "web",
            "--requests",
            "20",
            "--records",
            "2000",
            "--decision-tenants",
            "2",
            "--decision-requests",
            "5",
            "--connections",
            "1,2",
            "--seconds",
            "1",
            "--sign-ins",
            "3",
            "--settle-seconds",
            "0",
        ],
        &[("LOCKBOX_DB_POOL_SIZE", "5")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", stderr(&out));
    assert!(
        stdout.contains("seeded 20 requests and 2000 audit records in the measured tenant, 10 decisions waiting in 2 tenants"),
        "{stdout}"
    );
    // The served pool is sized as `lockbox serve` would size it.
    assert!(
        stdout.contains("serving on 127.0.0.1 with 5 pooled connections"),
        "{stdout}"
    );
    for page in [
        "reference (list SQL + template)",
        "request list",
        "request detail",
        "audit search, first page",
        "audit search, deep keyset page",
        "API list (GET /api/v1/requests)",
    ] {
        for conns in ["   1 conns", "   2 conns"] {
            assert!(
                stdout
                    .lines()
                    .any(|l| l.contains(page) && l.contains(conns) && l.contains(" req/s ")),
                "{page} at {conns}: {stdout}"
            );
        }
    }
    assert_eq!(
        stdout.lines().filter(|l| l.contains("× reference")).count(),
        10,
        "five pages, two connection counts, each with its ratio: {stdout}"
    );
    assert!(
        stdout.contains("Approve; 2 tenants)") && stdout.contains("(10 decisions)"),
        "every decision taken: {stdout}"
    );
    assert!(
        stdout.contains("after 3 concurrent sign-ins") && stdout.contains(" MB; 0 s later "),
        "{stdout}"
    );
    // PostgreSQL runs on this host: its backends' CPU time is read, and
    // this process's is above zero (it did the HTTP, the JSON and the
    // signatures of ten decisions in a debug build).
    let (_, process) = cpu_per(&stdout, "decision")
        .next()
        .unwrap_or_else(|| panic!("no CPU per decision: {stdout}"));
    assert!(process > 0.0, "{stdout}");
    // Every page line, the reference's included, is followed by the CPU
    // time its requests took, read for both.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| l.contains(" req/s ")).count(),
        20,
        "{stdout}"
    );
    let after_pages = lines
        .windows(2)
        .filter(|w| w[0].contains(" req/s "))
        .filter(|w| w[1].trim().starts_with("CPU per request: "))
        .count();
    assert_eq!(after_pages, 20, "ten pairs of pages: {stdout}");
    assert_eq!(cpu_per(&stdout, "request").count(), 20, "{stdout}");
    let name = stdout
        .lines()
        .find_map(|l| l.strip_prefix("scratch database: "))
        .expect("the scratch database is named")
        .trim()
        .to_owned();
    use diesel::Connection;
    let mut conn = diesel::PgConnection::establish(&server).expect("connect");
    let left = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"
    ))
    .get_result::<Count>(&mut conn)
    .expect("count")
    .n;
    assert_eq!(left, 0, "{name} is dropped");
}

/// The CPU times per `unit` that `bench web` printed, PostgreSQL's and
/// this process's, in ms; a line with a figure it could not read panics.
fn cpu_per<'a>(stdout: &'a str, unit: &'a str) -> impl Iterator<Item = (f64, f64)> + 'a {
    let prefix = format!("CPU per {unit}: PostgreSQL (the database's backends) ");
    stdout.lines().filter_map(move |l| {
        let cpu = l.trim().strip_prefix(prefix.as_str())?;
        let ms = |figure: &str| {
            figure
                .strip_suffix(" ms")
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("not a figure in ms: {l}"))
        };
        let (database, process) = cpu
            .split_once("; this process (server and load generator) ")
            .unwrap_or_else(|| panic!("{l}"));
        Some((ms(database), ms(process)))
    })
}

/// `lockbox bench web --keep` keeps its scratch database, and the year of
/// records it seeds lies in the past even where the tenant's requests
/// wrote more records than were seeded (numbered after them, the seeded
/// records' times ran into the next year).
#[test]
fn bench_web_seeds_a_past_year_and_keeps_its_database_when_asked() {
    let server = crate::helpers::server_url();
    let out = bench(&[
        "web",
        "--requests",
        "300",
        "--records",
        "100",
        "--decision-tenants",
        "1",
        "--decision-requests",
        "1",
        "--connections",
        "1",
        "--seconds",
        "1",
        "--sign-ins",
        "1",
        "--settle-seconds",
        "0",
        "--keep",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", stderr(&out));
    let name = stdout
        .lines()
        .find_map(|l| l.strip_prefix("kept "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the kept database is named")
        .to_owned();
    use diesel::Connection;
    let (base, _) = server.rsplit_once('/').expect("a database in the URL");
    let future = diesel::PgConnection::establish(&format!("{base}/{name}"))
        .expect("the kept database")
        .transaction(|conn| {
            diesel::sql_query("SELECT count(*) AS n FROM audit_records WHERE occurred_at > now()")
                .get_result::<Count>(conn)
        })
        .expect("count")
        .n;
    let mut conn = diesel::PgConnection::establish(&server).expect("connect");
    diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut conn)
        .expect("dropped");
    assert_eq!(future, 0, "records dated in the future:\n{stdout}");
}
