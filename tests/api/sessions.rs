use chrono::Duration;
use lockbox::{staff::StaffRole, tenants::Role};
use reqwest::{StatusCode, Url};

use crate::helpers::{client, client_with_jar, csrf_of, location, spawn_app};

fn cookie_header(jar: &reqwest::cookie::Jar, base: &str) -> String {
    use reqwest::cookie::CookieStore;
    jar.cookies(&Url::parse(base).expect("url"))
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_default()
}

#[tokio::test]
async fn sign_out_ends_the_session_on_the_server_and_a_replayed_cookie_is_refused() {
    let app = spawn_app().await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let (client, jar) = client_with_jar();
    app.admin_sign_in(&client, &admin).await;
    let stolen = cookie_header(&jar, &app.admin_url);
    assert!(stolen.contains("lockbox_admin="));

    let home = app.admin_page(&client, "/").await;
    let resp = client
        .post(format!("{}/signout", app.admin_url))
        .form(&[("csrf_token", csrf_of(&home))])
        .send()
        .await
        .expect("request");
    assert_eq!(location(&resp), "/signin");

    let replay = crate::helpers::client_builder()
        .build()
        .expect("client")
        .get(format!("{}/", app.admin_url))
        .header("cookie", stolen)
        .send()
        .await
        .expect("request");
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&replay), "/signin");
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in() {
    let app = spawn_app().await;
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let (client, jar) = client_with_jar();
    app.get_engineer(&client, "/signin").await;
    let before = cookie_header(&jar, &app.engineer_url);
    assert!(
        before.contains("lockbox_engineer="),
        "the sign-in page starts a session for its CSRF token"
    );

    app.engineer_sign_in(&client, &engineer).await;
    let after = cookie_header(&jar, &app.engineer_url);
    assert_ne!(before, after);

    let old = crate::helpers::client_builder()
        .build()
        .expect("client")
        .get(format!("{}/", app.engineer_url))
        .header("cookie", before)
        .send()
        .await
        .expect("request");
    assert_eq!(
        location(&old),
        "/signin",
        "the pre-sign-in id grants nothing"
    );
}

#[tokio::test]
async fn an_idle_session_ends_after_thirty_minutes() {
    let app = spawn_app().await;
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let client = client();
    app.engineer_sign_in(&client, &engineer).await;

    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        app.get_engineer(&client, "/").await.status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        app.get_engineer(&client, "/").await.status(),
        StatusCode::OK,
        "activity keeps the session alive"
    );
    app.clock.advance(Duration::minutes(30));
    let resp = app.get_engineer(&client, "/").await;
    assert_eq!(location(&resp), "/signin", "30 idle minutes end it");
}

/// The engineer portal's session deadline as stored.
fn engineer_deadline(app: &crate::helpers::TestApp) -> chrono::DateTime<chrono::Utc> {
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    use lockbox::schema::web_sessions as ws;
    ws::table
        .filter(ws::realm.eq("engineer"))
        .select(ws::expires_at)
        .first(&mut app.conn())
        .expect("one stored session")
}

#[tokio::test]
async fn reading_pages_moves_the_idle_deadline_at_most_once_a_minute() {
    let app = spawn_app().await;
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let client = client();
    app.engineer_sign_in(&client, &engineer).await;
    let signed_in = engineer_deadline(&app);

    app.clock.advance(Duration::seconds(59));
    for path in ["/", "/healthz", "/static/app.css", "/"] {
        assert_eq!(
            app.get_engineer(&client, path).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        engineer_deadline(&app),
        signed_in,
        "pages within the minute write nothing"
    );

    app.clock.advance(Duration::seconds(1));
    assert_eq!(
        app.get_engineer(&client, "/healthz").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        engineer_deadline(&app),
        signed_in,
        "the health check never moves it"
    );
    assert_eq!(
        app.get_engineer(&client, "/").await.status(),
        StatusCode::OK
    );
    let moved = engineer_deadline(&app);
    assert_eq!(
        moved,
        signed_in + Duration::minutes(1),
        "a minute on: moved"
    );

    // Exact to the minute: a request 59 s after the move leaves the
    // deadline where it is, so the session ends 30 minutes after the move
    // (29 min 1 s after that last request).
    app.clock.advance(Duration::seconds(59));
    assert_eq!(
        app.get_engineer(&client, "/").await.status(),
        StatusCode::OK
    );
    assert_eq!(engineer_deadline(&app), moved);
    app.clock
        .advance(Duration::minutes(30) - Duration::seconds(59));
    let resp = app.get_engineer(&client, "/").await;
    assert_eq!(location(&resp), "/signin", "ended at the stored deadline");
}

#[tokio::test]
async fn a_busy_session_still_ends_after_twelve_hours() {
    let app = spawn_app().await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let client = client();
    app.admin_sign_in(&client, &admin).await;

    // Active every 25 minutes: never idle, but 12 hours end it anyway.
    for _ in 0..28 {
        app.clock.advance(Duration::minutes(25));
        assert_eq!(app.get_admin(&client, "/").await.status(), StatusCode::OK);
    }
    app.clock.advance(Duration::minutes(25)); // 29 × 25 min = 12 h 5 min
    let resp = app.get_admin(&client, "/").await;
    assert_eq!(location(&resp), "/signin");
}

#[tokio::test]
async fn a_session_of_one_portal_is_worthless_on_the_other() {
    let app = spawn_app().await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let (client, jar) = client_with_jar();
    app.admin_sign_in(&client, &admin).await;
    let cookie = cookie_header(&jar, &app.admin_url);
    let value = cookie
        .split("; ")
        .find_map(|c| c.strip_prefix("lockbox_admin="))
        .expect("admin cookie")
        .to_owned();

    let bare = crate::helpers::client_builder().build().expect("client");
    for header in [
        format!("lockbox_admin={value}"),
        format!("lockbox_engineer={value}"),
    ] {
        let resp = bare
            .get(format!("{}/", app.engineer_url))
            .header("cookie", header.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(
            location(&resp),
            "/signin",
            "{header} must not sign anyone in"
        );
    }
}

#[tokio::test]
async fn a_session_ends_when_its_account_is_deleted() {
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    use lockbox::schema::tenant_users;
    let app = spawn_app().await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let client = client();
    app.admin_sign_in(&client, &admin).await;
    assert_eq!(app.get_admin(&client, "/").await.status(), StatusCode::OK);

    diesel::delete(tenant_users::table.filter(tenant_users::id.eq(admin.id)))
        .execute(&mut app.conn())
        .expect("deleted");
    assert_eq!(location(&app.get_admin(&client, "/").await), "/signin");
}

/// A session is stored with the account it is signed in as, which the
/// read joins; sessions stored before that column existed (or with it
/// empty) still reach their account, through the state.
#[tokio::test]
async fn a_session_keeps_its_account_beside_its_state_and_one_without_still_works() {
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    use lockbox::schema::web_sessions as ws;
    let app = spawn_app().await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let client = client();
    app.admin_sign_in(&client, &admin).await;
    let stored: Vec<Option<uuid::Uuid>> = ws::table
        .filter(ws::realm.eq("admin"))
        .select(ws::principal_id)
        .load(&mut app.conn())
        .expect("sessions");
    assert_eq!(stored, vec![Some(admin.id)]);

    diesel::update(ws::table)
        .set(ws::principal_id.eq(None::<uuid::Uuid>))
        .execute(&mut app.conn())
        .expect("emptied");
    // Still signed in (a signed-out visitor is sent to /signin).
    let resp = app.get_admin(&client, "/support/lockbox/requests").await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn housekeeping_deletes_expired_sessions_in_batches_and_keeps_live_ones() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    let now = app.clock_now();
    let mut conn = app.conn();
    // 2,500 sessions past their deadline (three batches) and one live.
    diesel::sql_query(
        "INSERT INTO web_sessions (key_hash, realm, state, created_at, expires_at) \
         SELECT sha256(i::text::bytea), 'admin', '{}'::jsonb, $1 - interval '1 hour', \
                $1 - interval '1 minute' FROM generate_series(1, 2500) AS i \
         UNION ALL SELECT sha256('live'::bytea), 'admin', '{}'::jsonb, $1, \
                $1 + interval '30 minutes'",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(&mut conn)
    .expect("sessions");
    let deleted = lockbox::auth::session_store::prune(&mut conn, now).expect("prune");
    assert_eq!(deleted, 2_500, "all of them, over three batches of 1,000");
    assert_eq!(lockbox::auth::session_store::PRUNE_BATCH, 1_000);
    use diesel::QueryDsl;
    let left: i64 = lockbox::schema::web_sessions::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!(left, 1, "the live session stays");
}
