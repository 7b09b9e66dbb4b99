//! The least-privilege role the app serves as (SPEC §9): it appends to the
//! audit log and reads it, and can do nothing else to it, even compromised.

use diesel::{PgConnection, RunQueryDsl, sql_types::Text};
use lockbox::{
    audit,
    db::roles::{ServingRole, Verdict},
};

use crate::helpers::{APP_ROLE, spawn_app, world};

/// Runs `sql` and returns the SQLSTATE it failed with, `None` if it
/// succeeded. (Diesel does not expose SQLSTATEs; a DO block passes it on.)
fn sqlstate(conn: &mut PgConnection, sql: &str) -> Option<String> {
    assert!(!sql.contains("$sql$"));
    let wrapped = format!(
        "DO $wrap$ BEGIN EXECUTE $sql${sql}$sql$; \
         EXCEPTION WHEN OTHERS THEN RAISE EXCEPTION 'sqlstate % %', SQLSTATE, SQLERRM; END $wrap$"
    );
    match diesel::sql_query(wrapped).execute(conn) {
        Ok(_) => None,
        Err(diesel::result::Error::DatabaseError(_, info)) => Some(
            info.message()
                .strip_prefix("sqlstate ")
                .unwrap_or(info.message())
                .to_owned(),
        ),
        Err(e) => panic!("{sql}: {e}"),
    }
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Named {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    privileges: String,
}

#[tokio::test]
async fn the_role_the_app_serves_as_cannot_alter_the_audit_log() {
    let w = world().await;
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.seal_audit();
    let before = audit::verify::verify_tenant(&mut w.app.conn(), w.contoso).expect("verify");
    assert!(before.records >= 3, "{before:?}");

    let mut conn = w.app.app_conn();
    for sql in [
        "UPDATE audit_records SET actor_name = 'someone else'",
        "DELETE FROM audit_records",
        "TRUNCATE audit_records",
        "UPDATE audit_chain SET hash = prev_hash",
        "DELETE FROM audit_chain",
        "TRUNCATE audit_chain",
        "ALTER TABLE audit_records DISABLE TRIGGER ALL",
        "ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_no_update_delete",
        "DROP TRIGGER audit_records_no_update_delete ON audit_records",
        "ALTER TABLE audit_records OWNER TO lockbox_app_test",
        // Replica mode would skip every trigger of the session.
        "SET session_replication_role = replica",
        "CREATE FUNCTION rewrite() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
        "CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger \
         LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$",
        "CREATE TABLE audit_records_copy (LIKE audit_records)",
    ] {
        let state = sqlstate(&mut conn, sql);
        assert!(
            state.as_deref().is_some_and(|s| s.starts_with("42501 ")),
            "{sql}: expected a permission error (42501), got {state:?}"
        );
    }
    // Not the triggers' refusal: the role has no such privilege at all.
    let state = sqlstate(&mut conn, "DELETE FROM audit_records").expect("refused");
    assert!(
        state.contains("permission denied for table audit_records"),
        "{state}"
    );

    // What the app does with the log, it still may: append, seal, read.
    w.app.arrange_request(w.contoso, &w.engineer, None);
    w.app.seal_audit();
    let after = audit::verify::verify_tenant(&mut conn, w.contoso).expect("verify");
    assert_eq!((after.broken, after.pending), (None, 0));
    assert!(after.records > before.records);
}

#[tokio::test]
async fn the_app_serves_as_a_least_privilege_role_and_the_owner_would_be_warned_about() {
    let w = world().await;
    let app = ServingRole::of(&mut w.app.app_conn()).expect("role");
    assert_eq!(app.name, APP_ROLE);
    assert_eq!(
        (app.superuser, app.owner, app.runtime, app.can_alter_audit),
        (false, false, true, false)
    );
    assert_eq!(app.verdict(), Verdict::LeastPrivilege);

    // The harness's owner is the server's superuser.
    let owner = ServingRole::of(&mut w.app.owner_conn()).expect("role");
    assert!(matches!(owner.verdict(), Verdict::TooPowerful(ref w) if w.contains("superuser")));

    // It owns nothing at all in the schema.
    let owned: Vec<Named> = diesel::sql_query(
        "SELECT c.relname::text AS name, '' AS privileges FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace \
           AND pg_has_role(current_user, c.relowner, 'MEMBER') \
         UNION ALL \
         SELECT p.proname::text, '' FROM pg_proc p \
         WHERE p.pronamespace = 'public'::regnamespace \
           AND pg_has_role(current_user, p.proowner, 'MEMBER')",
    )
    .load(&mut w.app.app_conn())
    .expect("owned");
    assert_eq!(owned, Vec::new());
}

/// Exactly what the server needs, table by table. A later migration that
/// adds a table grants it to lockbox_app itself (see migration 000008)
/// and extends this list; a table nobody decided about fails here.
#[tokio::test]
async fn the_runtime_role_holds_exactly_the_privileges_the_server_needs() {
    let app = spawn_app().await;
    let actual: Vec<Named> = diesel::sql_query(
        "SELECT c.relname::text AS name, \
                CASE WHEN c.relkind = 'S' THEN concat_ws(',', \
                    CASE WHEN has_sequence_privilege('lockbox_app', c.oid, 'USAGE') THEN 'USAGE' END, \
                    CASE WHEN has_sequence_privilege('lockbox_app', c.oid, 'SELECT') THEN 'SELECT' END, \
                    CASE WHEN has_sequence_privilege('lockbox_app', c.oid, 'UPDATE') THEN 'UPDATE' END) \
                ELSE concat_ws(',', \
                    CASE WHEN has_table_privilege('lockbox_app', c.oid, 'SELECT') THEN 'SELECT' END, \
                    CASE WHEN has_table_privilege('lockbox_app', c.oid, 'INSERT') THEN 'INSERT' END, \
                    CASE WHEN has_table_privilege('lockbox_app', c.oid, 'UPDATE') THEN 'UPDATE' END, \
                    CASE WHEN has_table_privilege('lockbox_app', c.oid, 'DELETE') THEN 'DELETE' END, \
                    CASE WHEN has_table_privilege('lockbox_app', c.oid, 'TRUNCATE') THEN 'TRUNCATE' END, \
                    CASE WHEN has_table_privilege('lockbox_app', c.oid, 'REFERENCES') THEN 'REFERENCES' END, \
                    CASE WHEN has_table_privilege('lockbox_app', c.oid, 'TRIGGER') THEN 'TRIGGER' END) \
                END AS privileges \
         FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') \
         UNION ALL \
         SELECT p.oid::regprocedure::text, \
                CASE WHEN has_function_privilege('lockbox_app', p.oid, 'EXECUTE') THEN 'EXECUTE' ELSE '' END \
         FROM pg_proc p \
         WHERE p.pronamespace = 'public'::regnamespace \
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass \
                           AND d.objid = p.oid AND d.deptype = 'e') \
",
    )
    .load(&mut app.owner_conn())
    .expect("privileges");
    let expected = [
        ("__diesel_schema_migrations", "SELECT"),
        ("access_request_events", "SELECT,INSERT"),
        ("access_request_events_id_seq", "USAGE"),
        ("access_requests", "SELECT,INSERT,UPDATE"),
        ("api_tokens", "SELECT,INSERT,UPDATE"),
        ("app_secrets", "SELECT,INSERT"),
        ("audit_chain", "SELECT,INSERT"),
        ("audit_checkpoints", "SELECT,INSERT"),
        ("audit_log", "SELECT"),
        (
            "audit_page(uuid,timestamp with time zone,bigint,bigint)",
            "EXECUTE",
        ),
        ("audit_records", "SELECT,INSERT"),
        ("audit_records_append_only()", ""),
        ("audit_records_id_seq", "USAGE"),
        ("audit_records_number()", ""),
        (
            "audit_records_page(uuid,timestamp with time zone,bigint,bigint)",
            "EXECUTE",
        ),
        ("audit_watermark(uuid)", "EXECUTE"),
        ("checkpoint_digests", "SELECT,INSERT"),
        ("decision_receipts", "SELECT,INSERT"),
        ("diesel_manage_updated_at(regclass)", ""),
        ("diesel_set_updated_at()", ""),
        ("document_versions", "SELECT"),
        ("documents", "SELECT"),
        ("drive_file_versions", "SELECT"),
        ("drive_files", "SELECT"),
        ("language_preferences", "SELECT,INSERT,UPDATE"),
        ("mail_messages", "SELECT"),
        ("mailboxes", "SELECT"),
        ("outbox", "SELECT,INSERT,UPDATE"),
        ("provider_staff", "SELECT"),
        ("recovery_codes", "SELECT,INSERT,UPDATE,DELETE"),
        (
            "request_effective_status(text,timestamp with time zone,timestamp with time zone,timestamp with time zone)",
            "EXECUTE",
        ),
        ("request_information", "SELECT,INSERT"),
        ("request_information_id_seq", "USAGE"),
        ("request_reminders", "SELECT,INSERT"),
        ("second_factors", "SELECT,INSERT,UPDATE,DELETE"),
        ("service_request_messages", "SELECT,INSERT"),
        ("service_request_messages_id_seq", "USAGE"),
        ("service_request_number_seq", "USAGE"),
        ("service_requests", "SELECT,INSERT,UPDATE"),
        ("sign_in_counters", "SELECT,INSERT,UPDATE,DELETE"),
        ("sign_in_lockouts", "SELECT,INSERT,UPDATE,DELETE"),
        ("sign_in_lockouts_id_seq", "USAGE"),
        ("sites", "SELECT"),
        ("tenant_users", "SELECT,INSERT,UPDATE"),
        ("tenants", "SELECT,UPDATE"),
        ("time_zone_preferences", "SELECT,INSERT,UPDATE"),
        ("web_sessions", "SELECT,INSERT,UPDATE,DELETE"),
        ("webhook_deliveries", "SELECT,INSERT,UPDATE,DELETE"),
        ("webhook_endpoints", "SELECT,INSERT,UPDATE,DELETE"),
    ]
    .map(|(name, privileges)| Named {
        name: name.into(),
        privileges: privileges.into(),
    });
    let mut actual = actual;
    actual.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(actual, expected);

    // And nobody but the owner creates anything in the schema.
    #[derive(diesel::QueryableByName)]
    struct May {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        create: bool,
    }
    let may: May = diesel::sql_query(
        "SELECT has_schema_privilege('lockbox_app', 'public', 'CREATE') AS create",
    )
    .get_result(&mut app.owner_conn())
    .expect("schema privilege");
    assert!(!may.create);
}
