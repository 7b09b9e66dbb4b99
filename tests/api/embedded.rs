//! The embedded PostgreSQL default, on its own.

use diesel::{Connection, PgConnection, RunQueryDsl, sql_types::Integer};
use lockbox::db::embedded::EmbeddedPostgres;

#[derive(diesel::QueryableByName)]
struct One {
    #[diesel(sql_type = Integer)]
    one: i32,
}

#[test]
fn a_private_cluster_starts_answers_queries_over_its_socket_and_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut pg = EmbeddedPostgres::start(dir.path()).expect("embedded PostgreSQL starts");
    let url = pg.database_url();
    assert!(
        url.contains(&dir.path().display().to_string()),
        "socket inside the data dir: {url}"
    );

    let mut conn = PgConnection::establish(&url).expect("connects over the socket");
    let row: One = diesel::sql_query("SELECT 1 AS one")
        .get_result(&mut conn)
        .expect("query");
    assert_eq!(row.one, 1);
    drop(conn);

    pg.stop().expect("stops");
    assert!(!dir.path().join("postgres/postmaster.pid").exists());
    assert!(
        PgConnection::establish(&url).is_err(),
        "nothing listens any more"
    );
}

fn embedded_settings(dir: &std::path::Path) -> lockbox::config::Settings {
    let mut settings = lockbox::config::Settings::for_tests("unused");
    settings.database_url = None;
    settings.data_dir = dir.to_path_buf();
    settings
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

fn owner_of_audit_records(conn: &mut PgConnection) -> String {
    diesel::sql_query(
        "SELECT tableowner::text AS name FROM pg_tables WHERE tablename = 'audit_records'",
    )
    .get_result::<Name>(conn)
    .expect("owner")
    .name
}

#[test]
fn the_embedded_cluster_migrates_as_the_owner_and_serves_as_a_least_privilege_role() {
    use lockbox::db::roles::{ServingRole, Verdict};
    let dir = tempfile::tempdir().expect("tempdir");
    let database = lockbox::db::Database::open(&embedded_settings(dir.path())).expect("opens");

    let mut app = database.app.get().expect("app connection");
    let served = ServingRole::of(&mut app).expect("role");
    assert_eq!(served.name, "lockbox_app");
    assert_eq!(served.verdict(), Verdict::LeastPrivilege);
    assert_eq!(owner_of_audit_records(&mut app), "lockbox_owner");
    assert_ne!(served.name, owner_of_audit_records(&mut app));
    let err = diesel::sql_query("ALTER TABLE audit_records DISABLE TRIGGER ALL")
        .execute(&mut app)
        .expect_err("not the owner");
    assert!(err.to_string().contains("must be owner"), "{err}");

    let owner =
        ServingRole::of(&mut database.owner().expect("pool").get().expect("conn")).expect("role");
    assert_eq!(
        (owner.name.as_str(), owner.owner, owner.superuser),
        ("lockbox_owner", true, false)
    );
}

/// A data directory from before the two roles: the superuser owned the
/// database and everything in it, migrated up to 000007. Opening it hands
/// all of that to the owner, who migrates on; the app serves as before.
#[test]
fn a_cluster_from_before_the_roles_is_handed_to_the_owner() {
    use diesel_migrations::MigrationHarness;
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut pg = EmbeddedPostgres::start(dir.path()).expect("starts");
        let superuser = pg.superuser_url();
        let mut conn = PgConnection::establish(&superuser).expect("superuser");
        for sql in ["DROP DATABASE lockbox", "CREATE DATABASE lockbox"] {
            diesel::sql_query(sql).execute(&mut conn).expect(sql);
        }
        let mut old = PgConnection::establish(&format!("{superuser} dbname=lockbox"))
            .expect("superuser on lockbox");
        while !conn_version(&mut old).ends_with("000007") {
            old.run_next_migration(lockbox::db::MIGRATIONS)
                .expect("migration");
        }
        assert_eq!(owner_of_audit_records(&mut old), "lockbox");
        drop(old);
        pg.stop().expect("stops");
    }

    let database = lockbox::db::Database::open(&embedded_settings(dir.path())).expect("opens");
    let mut app = database.app.get().expect("app connection");
    assert_eq!(owner_of_audit_records(&mut app), "lockbox_owner");
    assert_eq!(
        lockbox::db::pending_migrations(&mut app).expect("pending"),
        Vec::<String>::new()
    );
    let name = lockbox::tenants::TenantName::parse("Contoso").expect("name");
    lockbox::tenants::create_tenant(
        &mut database.owner().expect("pool").get().expect("conn"),
        &name,
        true,
        chrono::Utc::now(),
        &lockbox::audit::Actor::command_line(),
    )
    .expect("the owner creates a tenant");
    assert_eq!(
        lockbox::audit::seal::seal_pending(&mut app).expect("the app seals"),
        1
    );
}

/// The newest migration applied, as diesel records it ("" before any).
fn conn_version(conn: &mut PgConnection) -> String {
    diesel::sql_query("SELECT coalesce(max(version), '') AS name FROM __diesel_schema_migrations")
        .get_result::<Name>(conn)
        .map(|n| n.name)
        .unwrap_or_default()
}
