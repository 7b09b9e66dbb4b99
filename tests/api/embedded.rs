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
