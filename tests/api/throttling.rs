//! Brute force and floods: sign-in throttling that holds under parallel
//! bursts, per IPv6 /64 and per account; an audit log no flood can fill;
//! the per-address rate limit in front of both sign-in forms.

use chrono::Duration;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use futures::{StreamExt, future::join_all, stream};
use lockbox::identity::TenantId;
use lockbox::{
    audit::{Record, activity, view::audit_log as al},
    config::RateQuota,
    staff::StaffRole,
    tenants::Role,
};
use reqwest::{
    Client, StatusCode,
    header::{HeaderMap, HeaderValue},
};

use crate::helpers::{TestApp, client, client_from, csrf_of, spawn_app_with, texts};

/// A client whose requests reach lockbox through a trusted proxy that
/// says they come from `ip` (the app must trust 127.0.0.1).
fn client_via_proxy(ip: &str) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        HeaderValue::from_str(ip).expect("an address"),
    );
    crate::helpers::client_builder()
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .expect("client")
}

/// An app whose per-address rate limit nobody reaches, so that what lies
/// behind it (the throttling in PostgreSQL) is what is tested.
async fn app_without_rate_limit(trust_local_proxy: bool) -> TestApp {
    spawn_app_with(|s| {
        s.sign_in_rate = RateQuota::UNLIMITED;
        if trust_local_proxy {
            s.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
        }
    })
    .await
}

/// A CSRF token of `client`'s session on the admin center.
async fn admin_token(app: &TestApp, client: &Client) -> String {
    csrf_of(
        &app.get_admin(client, "/signin")
            .await
            .text()
            .await
            .expect("body"),
    )
}

async fn post_admin_sign_in(
    app: &TestApp,
    client: &Client,
    token: &str,
    (organization, email, password): (&str, &str, &str),
) -> reqwest::Response {
    client
        .post(format!("{}/signin", app.admin_url))
        .form(&[
            ("csrf_token", token),
            ("organization", organization),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("request")
}

fn retry_after(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Every audit record of `tenant`, or of all tenants.
fn audit_records(app: &TestApp, tenant: Option<TenantId>) -> i64 {
    use lockbox::schema::audit_records as ar;
    let mut query = ar::table.into_boxed();
    if let Some(tenant) = tenant {
        query = query.filter(ar::tenant_id.eq(tenant));
    }
    query.count().get_result(&mut app.conn()).expect("count")
}

fn login_failures(app: &TestApp, tenant: TenantId) -> Vec<Record> {
    al::table
        .filter(al::tenant_id.eq(tenant))
        .filter(al::activity.eq(activity::USER_LOGIN_FAILED))
        .order(al::id.asc())
        .select(<Record as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .load(&mut app.conn())
        .expect("records")
}

/// What housekeeping does every few minutes: reports ended lock-outs.
fn report_ended_lockouts(app: &TestApp) -> usize {
    lockbox::auth::report_ended_lockouts(&mut app.conn(), app.clock_now()).expect("reported")
}

#[tokio::test]
async fn a_burst_of_200_parallel_guesses_gets_at_most_5_password_checks_and_the_real_user_still_signs_in()
 {
    let app = app_without_rate_limit(false).await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let attacker = client();
    let token = admin_token(&app, &attacker).await;
    let before = app.hasher.verifications();

    let guesses = (0..200).map(|i| {
        let (attacker, token, app, email) = (&attacker, &token, &app, &admin.email);
        async move {
            let guess = format!("guess number {i}");
            let resp = post_admin_sign_in(app, attacker, token, ("Contoso", email, &guess)).await;
            (resp.status(), retry_after(&resp))
        }
    });
    let answers = join_all(guesses).await;

    let checked = app.hasher.verifications() - before;
    println!("password verifications for 200 parallel guesses: {checked}");
    assert!(checked <= 5, "{checked} password checks for one pair");
    let refused: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    let invalid = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(
        (invalid, refused.len()),
        (usize::try_from(checked).expect("small"), 200 - invalid),
        "every guess was either checked or refused"
    );
    assert!(
        refused
            .iter()
            .all(|(_, retry)| retry.as_deref() == Some("900")),
        "a refusal says how long the lock-out lasts"
    );

    let real_user = client_from("127.0.0.2");
    let resp = app.admin_sign_in(&real_user, &admin).await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "the real user elsewhere"
    );
}

#[tokio::test]
async fn guesses_from_one_ipv6_slash_64_count_together() {
    let app = app_without_rate_limit(true).await;
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    for i in 1..=5 {
        let attacker = client_via_proxy(&format!("2001:db8:1:2::{i}"));
        let resp = app
            .engineer_sign_in_with(&attacker, &engineer.email, "guessing the password")
            .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let same_64 = client_via_proxy("2001:db8:1:2:ffff:ffff:ffff:ffff");
    assert_eq!(
        app.engineer_sign_in(&same_64, &engineer).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "another address of the same /64 is the same network"
    );
    let next_64 = client_via_proxy("2001:db8:1:3::1");
    assert_eq!(
        app.engineer_sign_in(&next_64, &engineer).await.status(),
        StatusCode::SEE_OTHER,
        "the neighbouring /64 is another network"
    );
}

#[tokio::test]
async fn an_account_failing_from_many_networks_slows_down_networks_with_failures_but_never_a_clean_one()
 {
    let app = app_without_rate_limit(true).await;
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let app = &app;
    let guess = |network: u8| async move {
        let attacker = client_via_proxy(&format!("198.51.100.{network}"));
        app.engineer_sign_in_with(&attacker, "eng@provider.example", "guessing the password")
            .await
    };
    // 20 failures, two from each of ten networks: no pair is locked out.
    for network in 1..=10 {
        for _ in 0..2 {
            assert_eq!(guess(network).await.status(), StatusCode::UNAUTHORIZED);
        }
    }

    let resp = guess(1).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&resp).as_deref(), Some("1"));
    let html = resp.text().await.expect("body");
    assert_eq!(
        texts(&html, "[role=alert]"),
        vec![
            "Too many failed sign-in attempts for this account. Wait a few seconds and try again."
        ]
    );

    let real_user = client_via_proxy("203.0.113.50");
    assert_eq!(
        app.engineer_sign_in(&real_user, &engineer).await.status(),
        StatusCode::SEE_OTHER,
        "a network without failures is never slowed down"
    );

    app.clock.advance(Duration::seconds(1));
    assert_eq!(guess(1).await.status(), StatusCode::UNAUTHORIZED, "waited");
    let resp = guess(2).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        retry_after(&resp).as_deref(),
        Some("2"),
        "the wait doubles, counted from the account's last attempt"
    );
    app.clock.advance(Duration::seconds(2));
    assert_eq!(guess(2).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_flood_of_1000_throttled_attempts_adds_at_most_2_audit_records() {
    let app = app_without_rate_limit(false).await;
    let contoso = app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let attacker = client();
    let token = admin_token(&app, &attacker).await;
    let typed = ("Contoso", admin.email.as_str(), "guessing the password");
    for _ in 0..5 {
        let resp = post_admin_sign_in(&app, &attacker, &token, typed).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let before = audit_records(&app, Some(contoso));

    let statuses: Vec<StatusCode> = stream::iter(0..1000)
        .map(|_| async {
            post_admin_sign_in(&app, &attacker, &token, typed)
                .await
                .status()
        })
        .buffer_unordered(25)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "every attempt of the flood was throttled"
    );
    let during = audit_records(&app, Some(contoso)) - before;
    assert_eq!(during, 0, "a throttled attempt writes nothing");
    assert_eq!(
        report_ended_lockouts(&app),
        0,
        "the lock-out is still running"
    );

    app.clock.advance(Duration::minutes(15));
    assert_eq!(report_ended_lockouts(&app), 1);
    assert_eq!(report_ended_lockouts(&app), 0, "reported once");
    let added = audit_records(&app, Some(contoso)) - before;
    println!("audit records added by 1,000 throttled attempts: {added}");
    assert!(added <= 2, "{added} records");

    let lockout = login_failures(&app, contoso)
        .pop()
        .expect("the lock-out's record");
    assert_eq!(lockout.parameters["Reason"], "TooManyAttempts");
    assert_eq!(lockout.parameters["RefusedAttempts"], 1000);
    assert_eq!(lockout.parameters["Email"], "admin@contoso.example");
    assert_eq!(lockout.actor_id, admin.id.to_string());
    assert_eq!(lockout.ip, "127.0.0.1");

    assert_eq!(
        app.admin_sign_in(&attacker, &admin).await.status(),
        StatusCode::SEE_OTHER,
        "the lock-out is over"
    );
}

#[tokio::test]
async fn failed_sign_ins_for_unknown_organisations_write_nothing_to_any_tenant() {
    let app = app_without_rate_limit(false).await;
    app.create_tenant("Contoso", true);
    app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    let before = audit_records(&app, None);
    let attacker = client();
    let token = admin_token(&app, &attacker).await;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let typed = (
            "Nowhere Inc",
            "admin@contoso.example",
            "guessing the password",
        );
        statuses.push(
            post_admin_sign_in(&app, &attacker, &token, typed)
                .await
                .status(),
        );
    }
    assert_eq!(statuses[4], StatusCode::UNAUTHORIZED);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);

    app.clock.advance(Duration::minutes(15));
    assert_eq!(report_ended_lockouts(&app), 1, "the lock-out ended");
    assert_eq!(audit_records(&app, None), before, "no tenant's log changed");
}

#[tokio::test]
async fn over_the_per_address_rate_limit_both_sign_in_forms_answer_429_with_retry_after() {
    let app = spawn_app_with(|_| {}).await;
    assert_eq!(
        app.settings.sign_in_rate,
        RateQuota::SIGN_IN,
        "30 a minute, bursts of 10"
    );
    let attacker = client();
    let token = admin_token(&app, &attacker).await;
    // A different account each time: no pair is locked out.
    for i in 0..10 {
        let email = format!("guess{i}@contoso.example");
        let typed = ("Contoso", email.as_str(), "guessing the password");
        let resp = post_admin_sign_in(&app, &attacker, &token, typed).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }

    let typed = (
        "Contoso",
        "guess10@contoso.example",
        "guessing the password",
    );
    let resp = post_admin_sign_in(&app, &attacker, &token, typed).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&resp).as_deref(), Some("2"));
    assert!(
        resp.headers().contains_key("content-security-policy"),
        "the refusal carries the security headers"
    );
    let html = resp.text().await.expect("body");
    assert_eq!(texts(&html, "h1"), vec!["Too many requests"]);
    assert_eq!(
        texts(&html, "main p")[1],
        "Too many requests came from your network. Wait 2 seconds and try again."
    );

    let resp = client()
        .post(format!("{}/signin", app.engineer_url))
        .header("accept-language", "nl")
        .form(&[("email", "eng@provider.example"), ("password", "guessing")])
        .send()
        .await
        .expect("request");
    assert_eq!(
        resp.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "one allowance across both portals' sign-in forms"
    );
    assert!(retry_after(&resp).is_some());
    let html = resp.text().await.expect("body");
    assert_eq!(texts(&html, "h1"), vec!["Te veel verzoeken"]);
    assert!(html.contains("<html lang=\"nl\">"));

    assert_eq!(
        app.get_admin(&attacker, "/signin").await.status(),
        StatusCode::OK,
        "only submissions are limited"
    );
    let elsewhere = client_from("127.0.0.2");
    let token_elsewhere = admin_token(&app, &elsewhere).await;
    let resp = post_admin_sign_in(&app, &elsewhere, &token_elsewhere, typed).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "another address");

    let resp = attacker
        .post(format!("{}/%73ignin", app.admin_url))
        .form(&[("csrf_token", token.as_str()), ("email", "x@y.example")])
        .send()
        .await
        .expect("request");
    assert_eq!(
        resp.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a percent-encoded path is the same form"
    );

    app.clock.advance(Duration::seconds(2));
    let resp = post_admin_sign_in(&app, &attacker, &token, typed).await;
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "one more after 2 s"
    );
    let resp = post_admin_sign_in(&app, &attacker, &token, typed).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_success_is_no_failure_and_forgets_the_mistakes_before_it() {
    let app = app_without_rate_limit(false).await;
    let engineer = app.create_staff("eng@provider.example", StaffRole::Engineer);
    let user = client();
    for _ in 0..4 {
        let resp = app
            .engineer_sign_in_with(&user, &engineer.email, "mistyped password")
            .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.engineer_sign_in(&user, &engineer).await.status(),
        StatusCode::SEE_OTHER
    );
    let again = client();
    for i in 0..4 {
        let resp = app
            .engineer_sign_in_with(&again, &engineer.email, "mistyped password")
            .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "mistake {i}");
    }
    assert_eq!(
        app.engineer_sign_in(&again, &engineer).await.status(),
        StatusCode::SEE_OTHER,
        "four mistakes, not eight"
    );
}

#[tokio::test]
async fn parallel_right_and_wrong_passwords_for_one_account_never_fail_the_server() {
    let app = app_without_rate_limit(false).await;
    app.create_tenant("Contoso", true);
    let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
    // Each its own session: a success renews its client's session.
    let mut clients = Vec::new();
    for _ in 0..30 {
        let c = client();
        let token = admin_token(&app, &c).await;
        clients.push((c, token));
    }
    let attempts = clients.iter().enumerate().map(|(i, (c, token))| {
        let password = if i % 2 == 0 {
            admin.password.as_str()
        } else {
            "guessing the password"
        };
        let (app, email) = (&app, admin.email.as_str());
        async move {
            post_admin_sign_in(app, c, token, ("Contoso", email, password))
                .await
                .status()
        }
    });
    let statuses = join_all(attempts).await;
    assert!(
        statuses.iter().all(|s| [
            StatusCode::SEE_OTHER,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
        .contains(s)),
        "{statuses:?}"
    );
    // Which of the parallel attempts the throttle admits first is up to the
    // scheduler (five wrong ones first lock this network out); the real
    // user from another network signs in either way.
    let elsewhere = crate::helpers::client_from("127.0.0.9");
    let token = admin_token(&app, &elsewhere).await;
    let resp = post_admin_sign_in(
        &app,
        &elsewhere,
        &token,
        ("Contoso", admin.email.as_str(), admin.password.as_str()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_api_has_a_per_address_limit_before_any_token_is_looked_up() {
    let app = spawn_app_with(|s| {
        s.api_address_rate = lockbox::config::RateQuota {
            per_minute: std::num::NonZeroU32::new(60).expect("60"),
            burst: std::num::NonZeroU32::new(5).expect("5"),
        };
    })
    .await;
    let caller = client();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let resp = caller
            .get(format!("{}/api/v1/requests", app.admin_url))
            .bearer_auth("lbx_guess")
            .send()
            .await
            .expect("call");
        statuses.push(resp.status());
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(
                resp.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("application/problem+json"),
                "a problem, never a page"
            );
            assert!(resp.headers().get("retry-after").is_some());
        }
    }
    assert_eq!(
        statuses,
        [
            vec![StatusCode::UNAUTHORIZED; 5],
            vec![StatusCode::TOO_MANY_REQUESTS]
        ]
        .concat()
    );
}

/// Attempts and successes for one account from two networks, straight on
/// the counters, many at once and over and over: a success forgets the
/// (account, network) pair while other attempts for it are being counted,
/// and no interleaving of the two may end in a deadlock.
#[tokio::test]
async fn counting_attempts_and_successes_at_once_never_deadlocks() {
    use lockbox::auth::{Realm, TypedAccount, throttle};
    let app = crate::helpers::spawn_app().await;
    use lockbox::clock::Clock;
    let start = app.clock.now();
    let workers = (0..12).map(|w| {
        let pool = app.pool.clone();
        tokio::task::spawn_blocking(move || {
            let account = TypedAccount::tenant_user("Contoso", "admin@contoso.example");
            let network = throttle::Network::of(if w % 2 == 0 {
                "127.0.0.1".parse().expect("an address")
            } else {
                "127.0.0.2".parse().expect("an address")
            });
            let mut conn = pool.get().expect("a connection");
            for i in 0..60i64 {
                // Minutes apart, so that no lock-out stops the churn.
                let now = start + Duration::minutes(16 * i);
                let admitted = throttle::admit(&mut conn, Realm::Admin, &account, network, now)
                    .map_err(|e| format!("worker {w}, attempt {i}: admit: {e}"))?;
                if let Ok(admitted) = admitted
                    && (i + w) % 2 == 0
                {
                    throttle::succeeded(&mut conn, &admitted, now)
                        .map_err(|e| format!("worker {w}, attempt {i}: success: {e}"))?;
                }
            }
            Ok::<_, String>(())
        })
    });
    let errors: Vec<String> = join_all(workers)
        .await
        .into_iter()
        .filter_map(|r| r.expect("the worker ran").err())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// A success whose clock reading came before the lock-out that its own
/// attempt helped to open (the parallel attempt read the clock later and
/// committed first) ends that lock-out where it began, not before: the
/// correct password is never answered with an error.
#[tokio::test]
async fn a_success_read_before_a_lockout_began_ends_it_where_it_began() {
    use lockbox::auth::{Realm, TypedAccount, throttle};
    use lockbox::clock::Clock;
    use lockbox::schema::sign_in_lockouts as l;
    let app = crate::helpers::spawn_app().await;
    let t0 = app.clock.now();
    let account = TypedAccount::tenant_user("Contoso", "admin@contoso.example");
    let network = throttle::Network::of("127.0.0.1".parse().expect("an address"));
    let mut conn = app.conn();
    let admit = |conn: &mut _, now| {
        throttle::admit(conn, Realm::Admin, &account, network, now).expect("counted")
    };
    let right = admit(&mut conn, t0).expect("the first attempt is admitted");
    let opened = t0 + Duration::minutes(1);
    for _ in 1..throttle::PAIR_LIMIT {
        admit(&mut conn, opened).expect("admitted until the limit");
    }
    assert!(admit(&mut conn, opened + Duration::seconds(1)).is_err());
    throttle::succeeded(&mut conn, &right, t0 + Duration::seconds(30))
        .expect("the success is recorded");
    let (locked_at, locked_until, refused): (_, chrono::DateTime<chrono::Utc>, i32) = l::table
        .select((l::locked_at, l::locked_until, l::refused))
        .first(&mut conn)
        .expect("the lock-out that refused an attempt is kept for its report");
    assert_eq!((locked_at, locked_until, refused), (opened, opened, 1));
    assert!(admit(&mut conn, opened + Duration::seconds(2)).is_ok());
}

/// Housekeeping forgets counters whose window has run out, keeps the rest,
/// and never waits for an attempt in flight: a counter an open
/// transaction has written is left for the next round.
#[tokio::test]
async fn pruning_forgets_run_out_counters_and_skips_those_in_use() {
    use diesel::{Connection, connection::SimpleConnection};
    use lockbox::auth::{Realm, TypedAccount, throttle};
    use lockbox::clock::Clock;
    use lockbox::schema::sign_in_counters as c;
    let app = crate::helpers::spawn_app().await;
    let t0 = app.clock.now();
    let network = throttle::Network::of("127.0.0.1".parse().expect("an address"));
    let other = throttle::Network::of("127.0.0.2".parse().expect("an address"));
    let mut conn = app.conn();
    let mut admit = |account: &str, network, now| {
        let account = TypedAccount::tenant_user("Contoso", account);
        throttle::admit(&mut conn, Realm::Admin, &account, network, now)
            .expect("counted")
            .expect("admitted");
    };
    admit("early@contoso.example", network, t0);
    admit("later@contoso.example", other, t0 + Duration::minutes(10));
    let keys = |conn: &mut _| -> Vec<String> {
        c::table
            .select(c::scope_key)
            .order(c::scope_key)
            .load(conn)
            .expect("counters")
    };
    let mut conn = app.conn();
    assert_eq!(keys(&mut conn).len(), 6);

    let pruned = throttle::prune(&mut conn, t0 + Duration::minutes(16)).expect("pruned");
    assert_eq!(pruned, 3, "the early attempt's window has run out");
    assert!(keys(&mut conn).iter().all(|k| !k.contains("early")));

    // An attempt in flight has written the later account's counter.
    let mut in_flight =
        diesel::PgConnection::establish(&app.owner_url).expect("a second connection");
    in_flight
        .batch_execute(
            "BEGIN; UPDATE sign_in_counters SET attempts = attempts \
             WHERE scope_key LIKE 'account:%later%'",
        )
        .expect("a row written in an open transaction");
    conn.batch_execute("SET lock_timeout = '5s'").expect("set");
    let pruned = throttle::prune(&mut conn, t0 + Duration::minutes(30)).expect("not waiting");
    assert_eq!(pruned, 2, "the two counters nobody holds");
    assert_eq!(keys(&mut conn).len(), 1);
    in_flight.batch_execute("COMMIT").expect("committed");
    let pruned = throttle::prune(&mut conn, t0 + Duration::minutes(30)).expect("pruned");
    assert_eq!(pruned, 1, "the next round takes it");
}
